"""Dask: calls and reps as a ``dask.dataframe``, one partition per day, week, month or slice.

Needs ``pip install 'converz[dask]'``. Each partition is a :class:`converz._plan.FetchTask`
run by ``dd.from_map``: the worker builds its own client from the task's configuration and
fetches its slice through converz's listing engine. Columns keep their Arrow types
(``pd.ArrowDtype``), so nothing is lost on the way (nullable ints stay ints).

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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional

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
)
from converz._schema_types import check_schema

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
    task: FetchTask, index: Optional[str] = None, columns: Optional[Sequence[str]] = None
) -> pandas.DataFrame:
    """Fetch one partition (runs on a worker); ``columns`` is Dask's projection."""
    if columns is not None:
        wanted = list(columns) if index is None else [index, *columns]
        task = task.project(list(dict.fromkeys(wanted)))
    return _frame(task.fetch(), index)


def _collection(
    tasks: list[FetchTask], index: Optional[str], divisions: Optional[tuple[Any, ...]]
) -> dask.dataframe.DataFrame:
    dd = _require()
    meta = _frame(tasks[0].schema.empty_table(), index)
    return dd.from_map(
        _read_partition,
        tasks,
        index=index,
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
    max_concurrency: int = DEFAULT_TASK_CONCURRENCY,
    retries: int = DEFAULT_TASK_RETRIES,
    page_size: Optional[int] = None,
    timeout: float = 300.0,
    compression: Optional[Literal["auto", "gzip"]] = "auto",
    **filters: Any,
) -> dask.dataframe.DataFrame:
    """Conversations as a Dask DataFrame, one partition per day, week, month or time slice.

    Partitioned by date, the index is ``date`` with known divisions (the partitions' first days
    and the last day), so ``.loc`` on dates and date-aligned joins skip partitions. Otherwise
    the index is a per-partition range. Selecting columns (``ddf[["call_id", "rep_id"]]``) is
    pushed down to the API's ``columns=``.

    Args:
        query: A :class:`converz.CallsQuery`, or None to build one from ``**filters``.
        base_url: The API's base URL; None: ``CONVERZ_BASE_URL`` here, else each worker's.
        api_key: The key, shipped inside the task payload only; None: each worker reads
            ``CONVERZ_API_KEY`` from its own environment.
        tenant: Shorthand for ``base_url=https://<tenant>.converz.co/api/v1``.
        partition: ``"day"``, ``"week"``, ``"month"`` (needs ``start_date`` and ``end_date``),
            an int N for N equal time slices, or None for a single partition.
        schema: Types of custom columns (pushed attributes), e.g. ``{"qa_score": "float64"}``.
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
    """
    calls_query = query_from("calls", query, filters)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    tasks = plan_calls(calls_query, config, partition=partition, schema=types)
    divisions = date_divisions(tasks) if isinstance(partition, str) else None
    if divisions is None or "date" not in tasks[0].schema.names:
        return _collection(tasks, None, None)
    return _collection(tasks, "date", divisions)


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
    reps_query = query_from("reps", query, filters)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    tasks = plan_reps(reps_query, config, parts=parts, schema=types)
    return _collection(tasks, None, None)
