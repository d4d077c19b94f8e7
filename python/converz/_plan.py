"""Fetch plans: a query split into small, picklable tasks that cluster engines run anywhere.

A :class:`FetchTask` carries a :class:`ClientConfig` (how to build a client: URL, key, retry
and concurrency settings), one partition of the query and the column types. Run on a worker, it
builds (or reuses) a client in that process, fetches its partition through the one listing
engine (every row once, retries, ``Retry-After``) and returns an Arrow table with exactly the
planned columns. Partitions come from the query's own ``split()``, so they are disjoint and
their union is the query; fetching a partition again gives the same rows, so engines may retry
a failed task.

The key travels only inside the pickled task payload (or not at all: ``api_key=None`` makes
each worker read ``CONVERZ_API_KEY`` from its own environment). It is left out of every repr
and of the Dask token, so it never appears in task names, graphs, plans or logs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import difflib
import functools
import hashlib
import inspect
import logging
import operator
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

from converz._args import check_client_settings, is_int, wrong_type
from converz._arrow_schema import arrow_schema, conform, misspelt_warnings, undeclared_warning
from converz._client import tenant_url
from converz._core import remember_key
from converz._log import logger
from converz._printable import printable
from converz._words import count
from converz.exceptions import DecodeError, InvalidParameterError, InvalidParameterTypeError

if TYPE_CHECKING:
    import pyarrow

    from converz import CallsQuery, Client, RepsQuery

__all__ = ["ClientConfig", "FetchTask", "Partition", "plan_calls", "plan_reps"]

Partition = Union[Literal["day", "week", "month"], int, None]
Endpoint = Literal["calls", "reps"]

# Page requests one task keeps in flight. The whole job's load on the API is at most this
# times the tasks the engine runs at once (Dask worker threads, Spark cores, Ray CPUs).
DEFAULT_TASK_CONCURRENCY = 2
# More retries than the single-machine client: many tasks share one rate limit, so a 429 storm
# is expected at scale and must back off (honouring Retry-After), not fail the job.
DEFAULT_TASK_RETRIES = 12
# Stands in for a URL left to each worker's environment while the driver checks the settings:
# a client is built with it (which sends nothing), never used.
_UNSENT_URL = "http://127.0.0.1:9/api/v1"


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """How each task builds its client: picklable, and the key is never shown.

    Args:
        base_url: The API's base URL; None makes each worker read ``CONVERZ_BASE_URL``.
        api_key: The key; None makes each worker read ``CONVERZ_API_KEY``, so the key need
            not travel with the tasks at all.
        timeout: Seconds for one page request.
        connect_timeout: Seconds to connect.
        retries: Retries per page (connection loss, 429 with ``Retry-After``, 5xx).
        backoff: First backoff in seconds, doubling per attempt.
        max_concurrency: Page requests one task keeps in flight.
        page_size: Rows per page; None uses the client's default.
        compression: ``"auto"``, ``"gzip"`` or None, as :class:`converz.Client` takes it.
    """

    base_url: Optional[str] = None
    api_key: Optional[str] = dataclasses.field(default=None, repr=False)
    timeout: float = 300.0
    connect_timeout: float = 10.0
    retries: int = DEFAULT_TASK_RETRIES
    backoff: float = 0.2
    max_concurrency: int = DEFAULT_TASK_CONCURRENCY
    page_size: Optional[int] = None
    compression: Optional[Literal["auto", "gzip"]] = "auto"

    @classmethod
    def resolve(
        cls,
        *,
        base_url: Optional[str] = None,
        api_key: Optional[str] = None,
        tenant: Optional[str] = None,
        **settings: Any,
    ) -> ClientConfig:
        """A configuration from a driver's arguments, checked before any task runs.

        ``tenant`` becomes its URL; a missing base URL is taken from this process's
        ``CONVERZ_BASE_URL`` if set, else left for each worker's environment. The key is
        kept as given (None: each worker's ``CONVERZ_API_KEY``). Every setting is checked
        here, on the driver, also when the URL is left to the workers.

        Raises:
            InvalidParameterError: A setting is out of range or not one of its values
                (``compression="brotli"``); :class:`~converz.InvalidParameterTypeError` when it
                has the wrong type. Nothing was sent.
        """
        remember(api_key)
        check_client_settings(
            {"base_url": base_url, "api_key": api_key, "tenant": tenant, **settings}
        )
        if base_url is not None and tenant is not None:
            raise InvalidParameterError("give base_url= or tenant=, not both", parameter="base_url")
        if tenant is not None:
            base_url = tenant_url(tenant)
        elif base_url is None:
            base_url = os.environ.get("CONVERZ_BASE_URL") or None
        config = cls(base_url=base_url, api_key=api_key, **settings)
        if base_url is not None:
            config.client()  # checks the URL and settings here, on the driver; sends nothing
        else:
            # The same checks of the other settings, with a stand-in URL (and key, when each
            # worker reads its own): building a client sends nothing.
            stand_in = dataclasses.replace(
                config, base_url=_UNSENT_URL, api_key=api_key if api_key is not None else "-"
            )
            _build_client(stand_in)
        return config

    def __repr__(self) -> str:
        key = "<hidden>" if self.api_key is not None else "<worker env>"
        url = self.base_url if self.base_url is not None else "<worker env>"
        return printable(
            f"ClientConfig(base_url={url!r}, api_key={key}, retries={self.retries}, "
            f"max_concurrency={self.max_concurrency}, page_size={self.page_size}, "
            f"compression={self.compression!r})"
        )

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        # Dask names tasks by a hash of their arguments: a digest keeps different keys apart
        # without the key itself ever entering the hash input that Dask may log.
        digest = hashlib.sha256((self.api_key or "").encode()).hexdigest()[:16]
        fields = dataclasses.astuple(dataclasses.replace(self, api_key=None))
        return ("converz.ClientConfig", fields, digest)

    def client(self) -> Client:
        """This process's client for this configuration (one connection pool per process)."""
        return _client_for(self)


def remember(api_key: object) -> None:
    """Hides ``api_key`` from every text shown from here on, as a client made with it would.

    A reader checks its filters before it makes a client on the driver, and its errors may
    quote a setting the key was pasted into (outside trial 86 N8: `start_date=KEY` was shown
    whole by Dask, Ray and Spark). Called first by each reader.
    """
    if isinstance(api_key, str):
        remember_key(api_key)


def reader_config(
    base_url: Optional[str],
    api_key: Optional[str],
    tenant: Optional[str],
    max_concurrency: int,
    retries: int,
    page_size: Optional[int],
    timeout: float,
    compression: Optional[Literal["auto", "gzip"]],
    /,
) -> ClientConfig:
    """:meth:`ClientConfig.resolve` of a Dask or Ray reader's settings, in their parameter order.

    Those readers all take these eight settings; one positional call keeps each reader's body
    from spelling out the eight keywords again.
    """
    return ClientConfig.resolve(
        base_url=base_url,
        api_key=api_key,
        tenant=tenant,
        max_concurrency=max_concurrency,
        retries=retries,
        page_size=page_size,
        timeout=timeout,
        compression=compression,
    )


@functools.lru_cache(maxsize=8)
def _client_for(config: ClientConfig) -> Client:
    return _build_client(config)


def _build_client(config: ClientConfig) -> Client:
    from converz import Client

    return Client(
        base_url=config.base_url,
        api_key=config.api_key,
        timeout=config.timeout,
        connect_timeout=config.connect_timeout,
        retries=config.retries,
        backoff=config.backoff,
        max_concurrency=config.max_concurrency,
        page_size=config.page_size,
        compression=config.compression,
        progress=False,
    )


@dataclasses.dataclass(frozen=True)
class FetchTask:
    """One partition of a query: picklable, idempotent, returns Arrow.

    Attributes:
        config: How to build the client.
        endpoint: ``"calls"`` or ``"reps"``.
        query: This partition's :class:`converz.CallsQuery` or :class:`converz.RepsQuery`.
        types: Column types beyond the documented ones (``schema=``), as (name, type) pairs.
    """

    config: ClientConfig
    endpoint: Endpoint
    query: Any
    types: tuple[tuple[str, str], ...] = ()

    @property
    def schema(self) -> pyarrow.Schema:
        """The columns this task returns, known before it runs."""
        return arrow_schema(
            self.endpoint,
            columns=getattr(self.query, "columns", ()),
            metric=getattr(self.query, "metric", ()),
            schema=dict(self.types),
        )

    def project(self, columns: Optional[Sequence[str]]) -> FetchTask:
        """The same partition reading only ``columns`` (sent to the API as ``columns=``)."""
        if columns is None or self.endpoint != "calls":
            return self
        return dataclasses.replace(self, query=self.query.replace(columns=tuple(columns)))

    def fetch(self, *, outside: Optional[OutsideRows] = None) -> pyarrow.Table:
        """Fetch this partition (in the calling process) as a ``pyarrow.Table``.

        The declared types (``schema=``) are the fetch's own, so a value that does not fit one
        fails as the client's :class:`~converz.DecodeError` with its hint. A custom column the
        plan does not declare is left out (every partition has the planned columns), with a
        warning on the ``converz`` logger naming it.

        Rows whose ``date`` is outside the partition's days, or whose ``start_time`` is outside
        its ``after``..``before``, are warned of (:func:`rows_outside`), or handed to
        ``outside`` (the column and those rows) when given: Dask's date divisions refuse them.

        Raises:
            DecodeError: A value does not fit its declared or planned type, or the body is not
                the API's.
        """
        import pyarrow as pa

        client = self.config.client()
        fetch = client.calls if self.endpoint == "calls" else client.reps
        query = _with_bounds(self.query)
        with _in_task():
            table = pa.table(fetch(query, schema=dict(self.types), progress=False))
        found = rows_outside(self.query, table)
        for column, rows in found:
            self._refuse_ignored_bounds(client, column, rows)
        if found:  # said once, by the first bound broken (a pushed call breaks both)
            (outside or self.warn_outside)(*found[0])
        # The columns fetched only to check the bounds are no custom columns to warn of.
        asked = getattr(self.query, "columns", ())
        added = [c for c in getattr(query, "columns", ()) if asked and c not in asked]
        schema = self.schema
        warning = undeclared_warning(self.label, table.drop_columns(added), schema)
        if warning is not None:
            logger.warning(warning)
        return conform(table, schema, self.label)

    def warn_outside(self, column: str, rows: pyarrow.Table) -> None:
        """Says that ``rows`` break this partition's bounds on ``column``: a push set it.

        The API lists a call by the start it recorded, whatever a push later writes into its
        ``date`` or ``start_time``, so such rows are the API's, once (a server that sent them
        against the bounds was refused first: :meth:`_refuse_ignored_bounds`). Said, since Dask's
        ``.loc`` on dates and a user's own filters would read them by the pushed value.
        """
        first = rows.slice(0, 1).to_pylist()[0]
        call = f", call_id {first['call_id']}" if "call_id" in first else ""
        bounds = "days" if column == "date" else "after..before"
        said = count(rows.num_rows, "row")
        logger.warning(
            f"{self.label}: {said} whose {column} is outside the partition's "
            f"{bounds} (e.g. {first[column]}{call}): a push set it, and the API lists a call "
            "by the start it recorded, so each is in the result once"
        )

    def _refuse_ignored_bounds(self, client: Client, column: str, rows: pyarrow.Table) -> None:
        """Raise when the server ignores this partition's bounds, which ``rows`` break.

        A row that started outside the partition's days (or its ``after``..``before``) is either
        a call a push moved (the API lists it by the start it recorded, not where it now claims
        to be) or one a server that ignores the bounds hands every partition, whose result would
        repeat it (outside trials 86 N3, 87 A1). A listing of where a row claims it started
        tells them apart: a server that ignores the bounds lists it there too (outside trial 88
        B2: a start_time test alone refused every partitioning after an ordinary push).
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        if "call_id" not in rows.column_names or "start_time" not in rows.column_names:
            return
        starts = rows.column("start_time")
        if not pa.types.is_timestamp(starts.type):
            return
        if column == "date":
            # Only a row that started outside the days too can have been sent against them.
            days = pc.cast(starts, pa.date32())
            q = self.query
            rows = rows.filter(_outside_mask(days, q.start_date, q.end_date))
        rows = rows.filter(pc.is_valid(rows.column("start_time")))
        # A few rows, spread over them: a server that ignores the bounds sends every row of
        # other days, of which a push explains only some (outside trial 89 C1: the one row
        # checked was a pushed call, and a slice's 20 repeated rows were taken as pushed too).
        places = sorted({0, rows.num_rows // 2, rows.num_rows - 1}) if rows.num_rows else []
        for place in places:
            row = rows.slice(place, 1).to_pylist()[0]
            if self._listed_where_it_started(client, column, row):
                which = "start_date/end_date" if column == "date" else "after/before"
                raise DecodeError(
                    f"{self.label}: the server sent call_id {row['call_id']}, which started "
                    f"{row['start_time']}, outside this partition, and lists it where it started "
                    f"too: it does not keep to {which}, so a read by parts would hold such rows "
                    "more than once; nothing of this partition was returned",
                    hint="check that base_url is the Converz API: a server that ignores these "
                    "filters cannot be read by parts (read it whole, without them, and filter "
                    "the rows yourself)",
                )

    def _listed_where_it_started(self, client: Client, column: str, row: dict[str, Any]) -> bool:
        """Whether the server lists ``row``'s call where its ``start_time`` says it started.

        On that day, or for a time slice at that second, with the partition's other filters.
        """
        started = row["start_time"]
        moment = started if column == "start_time" else None
        probe = self.query.replace(
            start_date=started.date(),
            end_date=started.date(),
            after=moment,
            before=moment,
            columns=("call_id",),
        )
        with _in_task():
            listed = client.calls(probe, progress=False).to_arrow().column("call_id")
        return row["call_id"] in listed.to_pylist()

    @property
    def label(self) -> str:
        """A short name for task lists and dashboards: the endpoint and the partition."""
        query = self.query
        spans = []
        # Both, when both are given: a day plan of a query with `after=` named every task by
        # the `after=` span alone (outside trial 82 F3).
        if getattr(query, "start_date", None) is not None:
            spans.append(_span(query.start_date, query.end_date))
        if getattr(query, "after", None) is not None or getattr(query, "before", None) is not None:
            spans.append(_span(query.after, query.before))
        return " ".join([self.endpoint, ", ".join(spans)]) if spans else self.endpoint

    def __repr__(self) -> str:
        return f"converz.FetchTask({self.label})"

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        query = (type(self.query).__name__, repr(self.query))
        return ("converz.FetchTask", self.config.__dask_tokenize__(), self.endpoint, query)


# The columns a task's rows are checked against, and the bounds of its query on each.
_BOUNDS = (("date", "start_date", "end_date"), ("start_time", "after", "before"))


def _with_bounds(query: Any) -> Any:
    """``query`` also fetching the columns its bounds are checked on (:func:`rows_outside`).

    Only when ``columns=`` leaves them out; the planned schema leaves them out of the result.
    """
    columns = getattr(query, "columns", ())
    if not columns:
        return query
    bounded = [
        name
        for name, low, high in _BOUNDS
        if getattr(query, low, None) is not None or getattr(query, high, None) is not None
    ]
    # A row's start_time and call_id tell a push from a server that ignored the bounds.
    wanted = [*(["date"] if "date" in bounded else []), "start_time", "call_id"] if bounded else []
    needed = [name for name in wanted if name not in columns]
    return query.replace(columns=(*columns, *needed)) if needed else query


# What a task does with rows outside its bounds: given the column and those rows.
OutsideRows = Callable[[str, "pyarrow.Table"], None]


def rows_outside(query: Any, table: pyarrow.Table) -> list[tuple[str, pyarrow.Table]]:
    """Each of ``query``'s bounds that rows of ``table`` break, with those rows.

    ``date`` against ``start_date``..``end_date`` and ``start_time`` against
    ``after``..``before``, each only when the query bounds it and the column has its documented
    type (``schema=`` may retype it). Null values are not compared: no bound selects them.
    """
    import pyarrow as pa

    typed_as = {"date": pa.types.is_date, "start_time": pa.types.is_timestamp}
    found = []
    for name, low_name, high_name in _BOUNDS:
        typed = typed_as[name]
        low, high = getattr(query, low_name, None), getattr(query, high_name, None)
        if (low is None and high is None) or name not in table.column_names:
            continue
        column = table.column(name)
        if not typed(column.type):
            continue
        rows = table.filter(_outside_mask(column, low, high))
        if rows.num_rows:
            found.append((name, rows))
    return found


def _outside_mask(column: Any, low: Any, high: Any) -> Any:
    """Where ``column`` is below ``low`` or above ``high`` (either may be None, not both)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    breaks = [
        compare(column, pa.scalar(bound, column.type))
        for compare, bound in ((pc.less, low), (pc.greater, high))
        if bound is not None
    ]
    return breaks[0] if len(breaks) == 1 else pc.or_(*breaks)


_IN_TASK = threading.local()


@contextlib.contextmanager
def _in_task() -> Iterator[None]:
    """While a task's client fetches: :class:`_TaskWarnings` drops what each task would repeat."""
    _IN_TASK.active = True
    try:
        yield
    finally:
        _IN_TASK.active = False


class _TaskWarnings(logging.Filter):
    """Drops, while a task fetches, warnings that each partition would repeat.

    The client's warning that a ``schema=`` key is not in the data, and repeats of its warning
    that the server caps the page size.
    A partition often lacks a declared custom column (a day nobody pushed it); the client warns
    of that once per fetch, which across a plan is one warning per partition. The plan warned of
    keys that look misspelt once, on the driver (:func:`_checked`), so in a task it is noise.
    A capped page size is the server's, the same for every partition: said once per process
    (outside trial 87 A6: 130 identical lines for one day-partitioned job).
    """

    def __init__(self) -> None:
        super().__init__()
        self._said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_IN_TASK, "active", False):
            return True
        message = record.getMessage()
        if "caps the page size" in message:
            if message in self._said:
                return False
            self._said.add(message)
            return True
        return not (message.startswith("schema names ") and "not in the data fetched" in message)


logging.getLogger("converz").addFilter(_TaskWarnings())


def _span(first: Any, last: Any) -> str:
    if first == last:
        return str(first)
    return f"{'' if first is None else first}..{'' if last is None else last}"


def _types(schema: Optional[Mapping[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((schema or {}).items()))


# More tasks than this in a day, week or month plan are warned of: ~27 years of days.
_MANY_TASKS = 10_000


def plan_calls(
    query: CallsQuery,
    config: ClientConfig,
    *,
    partition: Partition = "day",
    schema: Optional[Mapping[str, str]] = None,
) -> list[FetchTask]:
    """Split a calls query into tasks: one per day, ISO week or month, or N time slices.

    Args:
        query: The whole query.
        config: How each task builds its client.
        partition: ``"day"``, ``"week"``, ``"month"`` (needs ``start_date`` and ``end_date``),
            an int N (N time slices; needs a bounded range), or None (one task).
        schema: Types of custom columns (see :func:`converz._arrow_schema.arrow_schema`).

    Raises:
        InvalidParameterError: ``partition`` is not one of those, or the query cannot be split.
    """
    if is_int(partition):
        partition = operator.index(partition)  # type: ignore[arg-type]  # numpy's ints too
    if partition is None:
        parts = [query]
    elif isinstance(partition, bool) or not isinstance(partition, (str, int)):
        raise InvalidParameterTypeError(
            f"partition must be 'day', 'week', 'month', an int or None, not {partition!r}",
            parameter="partition",
        )
    elif isinstance(partition, int):
        if partition < 1:
            raise InvalidParameterError("partition must be at least 1", parameter="partition")
        parts = query._sliced(partition, option="partition")
    elif partition in ("day", "week", "month"):
        if query.start_date is None or query.end_date is None:
            # In the reader's words, not `split(by=...)`'s, which no Dask, Ray or Spark user
            # wrote (outside trial 40 F5).
            raise InvalidParameterError(
                f"partition={partition!r} needs start_date and end_date (both dates; or "
                "partition=None for one task, or an int N for N slices of a bounded after/before "
                "range); nothing was fetched",
                parameter="partition",
            )
        parts = query.split(by=partition)
        if len(parts) > _MANY_TASKS:
            # A typo'd year (1970 for 2025) builds tens of thousands of tasks, each a task the
            # engine schedules and a client it builds; said once, on the driver (outside trial
            # 82 F7: 47,847 day tasks, 130 s, without a word).
            logger.warning(
                f"partition={partition!r} splits {query.start_date}..{query.end_date} into "
                f"{len(parts):,} tasks; check the dates, or take a longer partition "
                "('week', 'month') or an int N for N slices"
            )
    else:
        raise InvalidParameterError(
            f"partition must be 'day', 'week', 'month', an int or None, not {partition!r}",
            parameter="partition",
        )
    return _checked([FetchTask(config, "calls", part, _types(schema)) for part in parts])


def plan_reps(
    query: RepsQuery,
    config: ClientConfig,
    *,
    parts: Optional[int] = None,
    schema: Optional[Mapping[str, str]] = None,
    option: str = "parts",
) -> list[FetchTask]:
    """Split a reps query into tasks: N slices of its ``rep_id`` list, or one task.

    ``option`` is what the reader calls ``parts`` (Spark's ``partition``), for its errors: they
    are said in the reader's words, not ``split(parts=...)``'s, which its user never wrote
    (outside trial 41 F5).

    Raises:
        InvalidParameterTypeError: ``parts`` is not an int or None (``"day"`` is for calls).
        InvalidParameterError: ``parts`` is given without ``rep_id``, or is out of range.
    """
    pieces = [query] if parts is None else query._sliced(parts, option=option, reader=True)
    return _checked([FetchTask(config, "reps", piece, _types(schema)) for piece in pieces])


def _checked(tasks: list[FetchTask]) -> list[FetchTask]:
    """``tasks``, once their ``schema=`` is known good.

    A custom column without a type fails here, before any task runs, and a key that looks
    misspelt is warned of, once, on the driver.
    """
    first = tasks[0]
    first.schema  # noqa: B018 -- raises on a bad schema=
    for warning in misspelt_warnings(first.endpoint, dict(first.types)):
        logger.warning(warning)
    return tasks


def date_divisions(tasks: Sequence[FetchTask]) -> Optional[tuple[_dt.date, ...]]:
    """Partition boundaries by day when every task is a date range, else None."""
    starts = [getattr(t.query, "start_date", None) for t in tasks]
    ends = [getattr(t.query, "end_date", None) for t in tasks]
    if any(d is None for d in starts + ends) or any(
        getattr(t.query, "after", None) or getattr(t.query, "before", None) for t in tasks
    ):
        return None
    return tuple(d for d in (*starts, ends[-1]) if d is not None)


# Each reader splits with its own option: Dask's and Ray's read_reps take ``parts=``, Spark's
# reps and every read_calls ``partition=``. A user moving between readers writes the other's
# name, and is told the one this reader takes (outside trial 42 F7).
_SPLIT_OPTIONS = {"parts": "partition", "partition": "parts"}


def query_from(
    endpoint: Endpoint,
    query: Any,
    filters: Mapping[str, Any],
    *,
    reader: Union[str, Callable[..., Any]] = "",
    options: Collection[str] = (),
) -> Any:
    """The query value of a reader call: the one given, or one built from keyword filters.

    ``reader`` is the reader function (its keyword-only arguments are its options), or the name
    of a reader that takes text ``options`` (Spark's data source). A name that is neither a
    filter nor an option is refused in the reader's words, pointing to its own option when the
    name is another reader's.

    Raises:
        InvalidParameterTypeError: Both were given, or ``query`` is not the endpoint's query
            type (``parameter="query"``), or a filter has the wrong type or is unknown.
        InvalidParameterError: A filter is invalid (checked when the query is built).
    """
    from converz import CallsQuery, RepsQuery

    cls = CallsQuery if endpoint == "calls" else RepsQuery
    unknown = [name for name in filters if name not in cls._kinds]
    if reader and unknown:
        if callable(reader):
            options = [
                p.name
                for p in inspect.signature(reader).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY
            ]
            call = f"{reader.__module__}.{reader.__qualname__}()"
            refusal = f"{call} got an unexpected keyword argument"
        else:
            refusal = f"{reader} got an unknown option"
        raise _unknown_option(refusal, unknown[0], [*cls._kinds], options)
    if query is None:
        return cls(**filters)
    if filters:
        raise InvalidParameterTypeError(
            f"query: pass a converz.{cls.__name__} or keyword filters, not both",
            parameter="query",
        )
    if not isinstance(query, cls):
        raise wrong_type("query", f"a converz.{cls.__name__}", query)
    return query


def _unknown_option(
    refusal: str, name: str, filters: Sequence[str], options: Collection[str]
) -> InvalidParameterTypeError:
    own = _SPLIT_OPTIONS.get(name)
    if own in options:
        hint = f" (this reader splits with {own}=)"
    else:
        close = difflib.get_close_matches(name, [*filters, *options], n=1)
        hint = f" (did you mean {close[0]}=?)" if close else ""
    return InvalidParameterTypeError(
        f"{refusal} {name!r}{hint}; it takes the filters "
        f"{', '.join(filters)} and the options {', '.join(sorted(options))}; nothing was fetched",
        parameter=name,
    )
