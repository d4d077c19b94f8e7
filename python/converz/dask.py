"""Dask: calls and reps as a ``dask.dataframe``, one partition per day, week, month or slice.

Needs ``pip install 'converz[dask]'``. Each partition is a :class:`converz._plan.FetchTask`
run by ``dd.from_map``: the worker builds its own client from the task's configuration and
fetches its slice through converz's listing engine. Columns keep their Arrow types
(``pd.ArrowDtype``), so nothing is lost on the way (nullable ints stay ints).

Custom columns (pushed attributes) are kept when ``schema=`` declares their types, and left
out, with a warning on the ``converz`` logger, when it does not: Dask fixes every partition's
columns (``meta``) before any is fetched. Date divisions are checked as each partition is
computed: a row whose ``date`` is outside its partition's days raises rather than hide from
``.loc`` (``divisions=False`` reads such data).

Politeness: each task keeps at most ``max_concurrency`` page requests in flight (default 2), so
the job's load on the API is at most ``max_concurrency`` times the worker threads of the cluster.

Example:
    >>> import converz.dask
    >>> ddf = converz.dask.read_calls(  # doctest: +SKIP
    ...     start_date="2025-01-01", end_date="2025-06-30", partition="week", campaign="sales"
    ... )
    >>> ddf.groupby("rep_id").duration.sum().compute()  # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional

from converz._args import check_flag
from converz._plan import (
    DEFAULT_TASK_CONCURRENCY,
    DEFAULT_TASK_RETRIES,
    FetchTask,
    Partition,
    date_divisions,
    plan_calls,
    plan_reps,
    query_from,
    reader_config,
    remember,
)
from converz._schema_types import check_schema
from converz.exceptions import ConverzError, InvalidParameterError

if TYPE_CHECKING:
    import dask.dataframe
    import pandas

__all__ = ["read_calls", "read_reps"]


def _require() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError as err:
        raise ImportError("converz.dask needs dask: pip install 'converz[dask]'") from err
    return dd


def _frame(table: Any, index: Optional[str]) -> pandas.DataFrame:
    import pandas as pd

    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame.set_index(index) if index is not None else frame


def _read_partition(
    task: FetchTask,
    number: int,
    index: Optional[str] = None,
    columns: Optional[Sequence[str]] = None,
    divided: bool = False,
) -> pandas.DataFrame:
    """Fetch one partition (runs on a worker); ``columns`` is Dask's projection.

    ``divided``: the collection declared date divisions, so every ``date`` must be within this
    partition's days (:func:`_check_days`).
    """
    if columns is not None:
        wanted = list(columns) if index is None else [index, *columns]
        task = task.project(list(dict.fromkeys(wanted)))
    outside = functools.partial(_outside_days, task, number) if divided else None
    return _frame(task.fetch(outside=outside), index)


def _outside_days(task: FetchTask, number: int, column: str, rows: Any) -> None:
    """Raise for ``rows`` whose ``date`` is outside ``task``'s days; other bounds are warned of.

    Dask trusts declared divisions: a row whose ``date`` lies outside its partition's days (a
    push can change a call's ``date``; the API still files it under the old day) would be
    missed by ``.loc`` and joins on dates, silently. Without divisions such rows are warned of
    by the task, as on every engine (:meth:`FetchTask.warn_outside`).
    """
    if column != "date":
        task.warn_outside(column, rows)
        return
    row = rows.slice(0, 1).to_pylist()[0]
    call = f" (call_id {row['call_id']})" if "call_id" in row else ""
    raise ConverzError(
        f"Dask partition {number} ({task.label}) holds {rows.num_rows} row(s) whose date is "
        f"outside its days, e.g. {row['date']}{call}: the frame's date divisions would make "
        ".loc and joins on dates miss them",
        hint="read with divisions=False (the date index, divisions unknown: Dask then looks "
        "in every partition), or partition=N / None; a push that sets a call's date does not "
        "move it to that day's listing",
        partition=number,
        value=row["date"],
    )


def _collection(
    tasks: list[FetchTask], index: Optional[str], divisions: Optional[tuple[Any, ...]]
) -> dask.dataframe.DataFrame:
    dd = _require()
    meta = _frame(tasks[0].schema.empty_table(), index)
    return dd.from_map(
        _read_partition,
        tasks,
        list(range(len(tasks))),
        index=index,
        divided=divisions is not None,
        meta=meta,
        divisions=divisions,
        label=f"converz-{tasks[0].endpoint}",
        enforce_metadata=False,
    )


def read_calls(
    query: Any = None,
    /,
    *,
    base_url: Optional[str] = None,
    api_key: Optional[str] = None,
    tenant: Optional[str] = None,
    partition: Partition = "day",
    schema: Optional[Mapping[str, str]] = None,
    divisions: bool = True,
    max_concurrency: int = DEFAULT_TASK_CONCURRENCY,
    retries: int = DEFAULT_TASK_RETRIES,
    page_size: Optional[int] = None,
    timeout: float = 300.0,
    compression: Optional[Literal["auto", "gzip"]] = "auto",
    **filters: Any,
) -> dask.dataframe.DataFrame:
    """Conversations as a Dask DataFrame, one partition per day, week, month or time slice.

    Partitioned by date, the index is ``date`` with known divisions (the partitions' first days
    and the last day), so ``.loc`` on dates and date-aligned joins skip partitions. Each
    partition checks, when computed, that its rows' dates are within its days (a push can set
    a call's ``date`` to another day): one that is not raises :class:`~converz.ConverzError`
    naming the partition and the date, rather than let ``.loc`` miss the row; read such data
    with ``divisions=False``. Otherwise the index is a per-partition range. Selecting columns
    (``ddf[["call_id", "rep_id"]]``) is pushed down to the API's ``columns=``; partitioned by
    date, ``date`` is fetched whatever ``columns=`` names (it is the index), and ``schema=``
    cannot retype it. Every partition's rows are checked against its bounds, as on every
    engine (README, "Scaling out"): rows that started on other days are a
    :class:`~converz.DecodeError`, a pushed ``date`` is warned of.

    Every partition has the same columns, fixed before any is fetched: the documented ones and
    those ``schema=`` declares. A custom column (a pushed attribute) that ``schema=`` does not
    declare is left out, and the task that saw it logs a warning on the ``converz`` logger
    naming it and the ``schema=`` that keeps it.

    Args:
        query: A :class:`converz.CallsQuery`, or None to build one from ``**filters``.
        base_url: The API's base URL; None: ``CONVERZ_BASE_URL`` here, else each worker's.
        api_key: The key, shipped inside the task payload only; None: each worker reads
            ``CONVERZ_API_KEY`` from its own environment.
        tenant: Shorthand for ``base_url=https://<tenant>.converz.co/api/v1``.
        partition: ``"day"``, ``"week"``, ``"month"`` (needs ``start_date`` and ``end_date``),
            an int N for N equal time slices, or None for a single partition.
        schema: Types of custom columns (pushed attributes), e.g. ``{"qa_score": "float64"}``;
            undeclared ones are left out (with a warning). Each task's fetch decodes with these
            types: a value that does not fit one raises :class:`~converz.DecodeError`.
        divisions: Declare the date divisions of a date-partitioned read (True), or keep the
            ``date`` index with divisions unknown (False), for data whose dates were pushed.
        max_concurrency: Page requests in flight per task.
        retries: Retries per page request (429 storms back off with ``Retry-After``).
        page_size: Rows per page; None uses the client's default.
        timeout: Seconds per page request.
        compression: How response bodies travel, as :class:`converz.Client` takes it:
            ``"auto"`` (gzip except from loopback), ``"gzip"`` (always; a slow link) or None
            (plain JSON). Checked here, before any task is built.
        **filters: The filters of :meth:`converz.Client.calls` (``start_date``, ``end_date``,
            ``after``, ``before``, ``metric``, ``rep_id``, ``vendor``, ``campaign``,
            ``subcampaign``, ``department``, ``vendor_call_id``, ``columns``).

    Returns:
        A lazy ``dask.dataframe.DataFrame`` with ``pd.ArrowDtype`` columns.

    Raises:
        InvalidParameterError: A filter or setting is invalid (before anything is sent);
            :class:`~converz.InvalidParameterTypeError` (also a ``TypeError``) when it has the
            wrong type, is an unknown filter, or a query value and filters were both given.
        ConverzError: On compute, with divisions, a row's date outside its partition's days.
    """
    check_flag("divisions", divisions)
    remember(api_key)  # before any check that may quote it
    calls_query = query_from("calls", query, filters, reader=read_calls)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    if isinstance(partition, str):
        # By date, `date` is the index and what each partition's rows are checked against:
        # fetched whatever `columns=` names, as a projection does, and kept a date (outside
        # trial 86 N6: without it the index, the divisions and the check were gone silently).
        if calls_query.columns and "date" not in calls_query.columns:
            calls_query = calls_query.replace(columns=(*calls_query.columns, "date"))
        if "date" in (types or {}):
            raise InvalidParameterError(
                f"schema= cannot retype `date` in a read partitioned by {partition}: it is the "
                "index, compared with the partitions' days (pass partition=N or None to read it "
                "as another type)",
                parameter="schema",
            )
    tasks = plan_calls(calls_query, config, partition=partition, schema=types)
    days = date_divisions(tasks) if isinstance(partition, str) else None
    if days is None or "date" not in tasks[0].schema.names:
        return _collection(tasks, None, None)
    return _collection(tasks, "date", days if divisions else None)


def read_reps(
    query: Any = None,
    /,
    *,
    base_url: Optional[str] = None,
    api_key: Optional[str] = None,
    tenant: Optional[str] = None,
    parts: Optional[int] = None,
    schema: Optional[Mapping[str, str]] = None,
    max_concurrency: int = DEFAULT_TASK_CONCURRENCY,
    retries: int = DEFAULT_TASK_RETRIES,
    page_size: Optional[int] = None,
    timeout: float = 300.0,
    compression: Optional[Literal["auto", "gzip"]] = "auto",
    **filters: Any,
) -> dask.dataframe.DataFrame:
    """Users as a Dask DataFrame; ``parts=N`` splits the ``rep_id`` list into N partitions.

    Takes the configuration arguments of :func:`read_calls` and the filters of
    :meth:`converz.Client.reps` (``rep_id``, ``department``, ``active``).
    """
    remember(api_key)  # before any check that may quote it
    reps_query = query_from("reps", query, filters, reader=read_reps)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    tasks = plan_reps(reps_query, config, parts=parts, schema=types)
    return _collection(tasks, None, None)
