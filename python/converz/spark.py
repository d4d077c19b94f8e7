"""Spark: a Python Data Source (PySpark 4) named ``converz``, partitioned by the fetch plan.

Needs ``pip install 'converz[spark]'`` (PySpark ≥ 4.0, Java 17+).

Example:
    >>> from converz.spark import ConverzDataSource
    >>> spark.dataSource.register(ConverzDataSource)  # doctest: +SKIP
    >>> df = (  # doctest: +SKIP
    ...     spark.read.format("converz")
    ...     .option("endpoint", "calls")
    ...     .option("start_date", "2025-01-01").option("end_date", "2025-03-31")
    ...     .option("partition", "week")
    ...     .option("campaign", "sales,support")
    ...     .load()
    ... )

Options (all strings): ``endpoint`` (``calls``, the default, or ``reps``); every filter of
:meth:`converz.Client.calls` / :meth:`converz.Client.reps` (lists comma-separated); ``partition``
(``day``, the default for calls with both dates, ``week``, ``month``, ``none`` or a number of
slices; for reps a number of ``rep_id`` slices); ``schema`` (custom column types,
``"qa_score:float64,label:string"``: each task decodes with them, so a value that does not fit
raises :class:`converz.DecodeError`; a custom column not declared is left out, and the executor
logs a warning on the ``converz`` logger naming it); ``base_url`` and ``api_key`` (absent: each
executor's ``CONVERZ_BASE_URL`` / ``CONVERZ_API_KEY``); ``max_concurrency`` (page requests per task,
default 2: the job's load on the API is at most that times the executors' cores), ``retries``,
``page_size``, ``timeout``; ``compression`` (``auto``, the default: gzip except from loopback;
``gzip``: always, for a slow link; ``none``: plain JSON), as :class:`converz.Client` takes it.
Every option is checked on the driver, when Spark asks for the schema, before any request.

Each partition is fetched on an executor, in one task, through converz's listing engine, and
yielded as Arrow record batches. The key reaches executors only inside the pickled reader and is
shown nowhere (not in ``explain()``, reprs or logs): Spark prints a Python data source's name
and schema, never its options.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import StructType

from converz._plan import ClientConfig, FetchTask, plan_calls, plan_reps, query_from, remember
from converz._query import CallsQuery, list_filters, split_commas
from converz._schema_types import parse_schema_text
from converz.exceptions import InvalidParameterError

__all__ = ["ConverzDataSource"]

_CONFIG = {
    "base_url",
    "api_key",
    "tenant",
    "max_concurrency",
    "retries",
    "page_size",
    "timeout",
    "compression",
}
_OPTIONS = _CONFIG | {"endpoint", "partition", "schema", "path"}
# Comma-separated options: the calls filters that take lists (the reps ones are among them).
_LISTS = frozenset(list_filters(CallsQuery))
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_NUMBERS = {"max_concurrency": int, "retries": int, "page_size": int, "timeout": float}


def _config(options: Mapping[str, str]) -> ClientConfig:
    settings: dict[str, Any] = {}
    for name, convert in _NUMBERS.items():
        if name in options:
            try:
                settings[name] = convert(options[name])
            except ValueError:
                raise InvalidParameterError(
                    f"option {name} must be a number, not {options[name]!r}", parameter=name
                ) from None
    if "compression" in options:
        # Options are text: "none" spells Python's None (plain JSON); the client checks the rest.
        value = options["compression"]
        settings["compression"] = None if value.lower() == "none" else value
    return ClientConfig.resolve(
        base_url=options.get("base_url"),
        api_key=options.get("api_key"),
        tenant=options.get("tenant"),
        **settings,
    )


def _boolean(name: str, value: str) -> bool:
    spelled = value.strip().lower()
    if spelled not in _BOOLEANS:
        raise InvalidParameterError(
            f"option {name} must be true or false (or 1/0, yes/no), not {value!r}",
            parameter=name,
        )
    return _BOOLEANS[spelled]


def _filters(options: Mapping[str, str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name, value in options.items():
        if name in _OPTIONS:
            continue
        if name in _LISTS:
            # An empty option (an unset variable) reaches the query, which refuses it.
            filters[name] = split_commas([value])
        elif name == "active":
            filters[name] = _boolean(name, value)
        else:
            filters[name] = value
    return filters


def _types(options: Mapping[str, str]) -> dict[str, str]:
    return parse_schema_text(options.get("schema", ""), what="option schema")


def _partition(options: Mapping[str, str], endpoint: str, query: Any) -> Any:
    value = options.get("partition")
    if value is None:
        has_dates = getattr(query, "start_date", None) and getattr(query, "end_date", None)
        return "day" if endpoint == "calls" and has_dates else None
    if value.lower() == "none":
        return None
    if value.strip().lstrip("+-").isdigit():
        # Negative too, so -1 is refused as out of range, not as a wrong type.
        return int(value)
    return value


def _tasks(options: Mapping[str, str]) -> list[FetchTask]:
    # Spark lower-cases option names; values keep their case.
    options = {k.lower(): v for k, v in options.items()}
    remember(options.get("api_key"))  # before any check that may quote it
    endpoint = options.get("endpoint", "calls")
    if endpoint not in ("calls", "reps"):
        raise InvalidParameterError(
            f"option endpoint must be 'calls' or 'reps', not {endpoint!r}", parameter="endpoint"
        )
    query = query_from(
        endpoint,  # type: ignore[arg-type]
        None,
        _filters(options),
        reader="spark.read.format('converz')",
        options=_OPTIONS,
    )
    config = _config(options)
    partition = _partition(options, endpoint, query)
    if endpoint == "calls":
        return plan_calls(query, config, partition=partition, schema=_types(options))
    return plan_reps(query, config, parts=partition, schema=_types(options), option="partition")


class _TaskPartition(InputPartition):
    """One fetch task, shipped to an executor."""

    def __init__(self, task: FetchTask) -> None:
        super().__init__(task.label)
        self.task = task

    def __repr__(self) -> str:
        return f"converz.spark partition({self.task.label})"


class _Reader(DataSourceReader):
    def __init__(self, tasks: list[FetchTask]) -> None:
        self._tasks = tasks

    def partitions(self) -> list[InputPartition]:
        return [_TaskPartition(task) for task in self._tasks]

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, _TaskPartition)
        table = partition.task.fetch()
        yield from table.to_batches()


class ConverzDataSource(DataSource):
    """``spark.read.format("converz")``: calls or reps from the Converz Data API.

    Register once per session with ``spark.dataSource.register(ConverzDataSource)``; see the
    module documentation for the options.
    """

    def __init__(self, options: Mapping[str, str]) -> None:
        super().__init__(dict(options))
        self._plan: Optional[list[FetchTask]] = None

    @classmethod
    def name(cls) -> str:
        """The format name: ``converz``."""
        return "converz"

    def _tasks(self) -> list[FetchTask]:
        if self._plan is None:
            self._plan = _tasks(self.options)
        return self._plan

    def schema(self) -> StructType:
        """The known columns of the query, as Spark types (timestamps without time zone)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        return from_arrow_schema(self._tasks()[0].schema, prefer_timestamp_ntz=True)

    def reader(self, schema: StructType) -> DataSourceReader:
        """A reader whose partitions are the fetch plan's tasks."""
        return _Reader(self._tasks())

    def __repr__(self) -> str:
        return "converz.spark.ConverzDataSource(...)"
