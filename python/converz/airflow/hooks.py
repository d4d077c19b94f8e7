"""`ConverzHook`: a :class:`converz.Client` from an Airflow connection of type ``converz``."""

from __future__ import annotations

from typing import Any

from converz.airflow._compat import BaseHook


class ConverzHook(BaseHook):
    """Builds a :class:`converz.Client` from a ``converz`` connection.

    The connection's host is the base URL (``https://acme.converz.co/api/v1``), its password
    the API key, and its extra may name a ``tenant`` instead of a host
    (``{"tenant": "acme"}``) and client options (``timeout``, ``retries``,
    ``max_concurrency``, ``page_size``).

    Args:
        converz_conn_id: The connection id; ``converz_default`` unless given.

    Example:
        >>> client = ConverzHook("converz_default").get_client()  # doctest: +SKIP
        >>> client.calls(start_date="2025-07-01").num_rows  # doctest: +SKIP
    """

    conn_name_attr = "converz_conn_id"
    default_conn_name = "converz_default"
    conn_type = "converz"
    hook_name = "Converz"

    _CLIENT_OPTIONS = ("timeout", "connect_timeout", "retries", "max_concurrency", "page_size")

    def __init__(self, converz_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.converz_conn_id = converz_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """How the connection form labels its fields."""
        return {
            "hidden_fields": ["schema", "port", "login"],
            "relabeling": {"host": "Base URL", "password": "API key"},
            "placeholders": {
                "host": "https://acme.converz.co/api/v1",
                "extra": '{"tenant": "acme"}',
            },
        }

    def get_client(self) -> Any:
        """A :class:`converz.Client` for the connection (the key is never logged)."""
        from converz import Client

        conn = self.get_connection(self.converz_conn_id)
        extra = dict(conn.extra_dejson or {})
        tenant = extra.pop("tenant", None)
        options = {k: extra[k] for k in self._CLIENT_OPTIONS if k in extra}
        base_url = conn.host or None
        if base_url and conn.port and "://" not in base_url:
            base_url = f"{base_url}:{conn.port}"
        return Client(
            api_key=conn.password or None,
            base_url=None if tenant else base_url,
            tenant=tenant,
            progress=False,
            **options,
        )

    def test_connection(self) -> tuple[bool, str]:
        """Reads the first page of users to check the URL and key (the Test button).

        At the page size the connection's fetches ask for, so a server that refuses that size
        fails the test, and after one page. ``reps(page_size=1)`` (found by the outside trial)
        read every user, one request each, and passed where every fetch then failed.
        """
        try:
            next(iter(self.get_client().iter_reps()), None)
        except Exception as err:
            return False, str(err)
        return True, "connected"
