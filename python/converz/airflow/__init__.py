"""Apache Airflow provider for converz: a ``converz`` connection, a hook and two operators.

Registered through the ``apache_airflow_provider`` entry point, so Airflow lists the connection
type ``converz`` (host = base URL, password = API key, extra ``{"tenant": "acme"}``).

Example:
    >>> from converz.airflow import ConverzFetchOperator, ConverzPushOperator  # doctest: +SKIP
    >>> fetch = ConverzFetchOperator(  # doctest: +SKIP
    ...     task_id="fetch", endpoint="calls", path="/data/calls-{{ ds }}.parquet",
    ...     query={"start_date": "{{ ds }}", "end_date": "{{ ds }}"},
    ... )
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConverzFetchOperator", "ConverzHook", "ConverzPushOperator", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """What Airflow's provider manager reads from the ``apache_airflow_provider`` entry point."""
    from converz import __version__

    return {
        "package-name": "converz",
        "name": "Converz",
        "description": "Fetch Converz Data API rows into files and datasets; push updates back.",
        "versions": [__version__],
        "connection-types": [
            {"connection-type": "converz", "hook-class-name": "converz.airflow.ConverzHook"}
        ],
        "hooks": [{"integration-name": "Converz", "python-modules": ["converz.airflow.hooks"]}],
        "operators": [
            {"integration-name": "Converz", "python-modules": ["converz.airflow.operators"]}
        ],
    }


def __getattr__(name: str) -> Any:
    # Airflow is imported only when a hook or operator is used: importing converz.airflow for
    # get_provider_info must stay cheap and work without Airflow installed.
    if name == "ConverzHook":
        from converz.airflow.hooks import ConverzHook

        return ConverzHook
    if name in ("ConverzFetchOperator", "ConverzPushOperator"):
        from converz.airflow import operators

        return getattr(operators, name)
    raise AttributeError(f"module 'converz.airflow' has no attribute {name!r}")
