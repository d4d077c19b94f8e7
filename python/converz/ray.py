"""Ray Data: calls and reps as a ``ray.data.Dataset`` whose read tasks are the fetch plan.

Needs ``pip install 'converz[ray]'``.

Example:
    >>> import converz.ray
    >>> ds = converz.ray.read_calls(  # doctest: +SKIP
    ...     start_date="2025-01-01", end_date="2025-03-31", partition="week"
    ... )
    >>> ds.write_parquet("/data/calls")  # doctest: +SKIP

Columns: every read task returns the columns planned before any was fetched, the documented
ones and those ``schema=`` declares (with those types: a value that does not fit one raises
:class:`converz.DecodeError`). A custom column (a pushed attribute) that ``schema=`` does not
declare is left out, and the task logs a warning on the ``converz`` logger naming it.

Politeness: each read task keeps at most ``max_concurrency`` page requests in flight (default
2); ``concurrency=`` caps the read tasks running at once (default: as many as Ray schedules, one
per CPU), so the job's load on the API is at most their product.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Optional

import ray.data
from ray.data.block import BlockMetadata
from ray.data.context import DataContext
from ray.data.datasource import Datasource, ReadTask

from converz._args import is_int, wrong_type
from converz._plan import (
    DEFAULT_TASK_CONCURRENCY,
    DEFAULT_TASK_RETRIES,
    FetchTask,
    Partition,
    plan_calls,
    plan_reps,
    query_from,
    reader_config,
    remember,
)
from converz._schema_types import check_schema
from converz.exceptions import InvalidParameterError

__all__ = ["ConverzDatasource", "read_calls", "read_reps"]


def _concurrency(value: Any) -> Optional[int]:
    """``concurrency=`` checked on the driver, as every other setting is.

    Ray's own errors for 0 or ``"2"`` named no parameter, and ``2.5`` or ``True`` ran (outside
    trial 86 N1).
    """
    if value is None:
        return None
    if not is_int(value):
        raise wrong_type("concurrency", "an int or None", value)
    if int(value) < 1:
        raise InvalidParameterError(
            f"concurrency must be at least 1 (or None for Ray's default), got {int(value)}",
            parameter="concurrency",
        )
    return int(value)


def _read(task: FetchTask) -> Iterable[Any]:
    return [task.fetch()]


class ConverzDatasource(Datasource):
    """A Ray Data source over fetch tasks: one read task per partition of the plan."""

    def __init__(self, tasks: list[FetchTask]) -> None:
        super().__init__()
        self._tasks = tasks

    def get_name(self) -> str:
        """Names Ray's read operator: ``ReadConverz``."""
        return "Converz"

    def estimate_inmemory_data_size(self) -> Optional[int]:
        """Unknown until fetched: the API has no row count."""
        return None

    def get_read_tasks(
        self,
        parallelism: int,
        per_task_row_limit: Optional[int] = None,
        data_context: Optional[DataContext] = None,
    ) -> list[ReadTask]:
        """One read task per partition (``parallelism`` does not change the plan)."""
        schema = self._tasks[0].schema
        return [
            ReadTask(
                functools.partial(_read, task),
                BlockMetadata(num_rows=None, size_bytes=None, input_files=None, exec_stats=None),
                schema=schema,
                per_task_row_limit=per_task_row_limit,
            )
            for task in self._tasks
        ]

    def __repr__(self) -> str:
        return f"converz.ray.ConverzDatasource({len(self._tasks)} partitions)"


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
    concurrency: Optional[int] = None,
    **filters: Any,
) -> ray.data.Dataset:
    """Conversations as a Ray Dataset, one read task per day, week, month or time slice.

    Takes the arguments of :func:`converz.dask.read_calls` but ``divisions``, plus
    ``concurrency``: the most read tasks running at once (None: Ray's default). Rows keep their
    Arrow types; custom columns need ``schema=`` (undeclared ones are left out, with a warning).
    """
    remember(api_key)  # before any check that may quote it
    calls_query = query_from("calls", query, filters, reader=read_calls)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    concurrency = _concurrency(concurrency)
    tasks = plan_calls(calls_query, config, partition=partition, schema=types)
    return ray.data.read_datasource(ConverzDatasource(tasks), concurrency=concurrency)


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
    concurrency: Optional[int] = None,
    **filters: Any,
) -> ray.data.Dataset:
    """Users as a Ray Dataset; ``parts=N`` splits the ``rep_id`` list into N read tasks."""
    remember(api_key)  # before any check that may quote it
    reps_query = query_from("reps", query, filters, reader=read_reps)
    types = check_schema(schema, names_only=True)
    config = reader_config(
        base_url, api_key, tenant, max_concurrency, retries, page_size, timeout, compression
    )
    concurrency = _concurrency(concurrency)
    tasks = plan_reps(reps_query, config, parts=parts, schema=types)
    return ray.data.read_datasource(ConverzDatasource(tasks), concurrency=concurrency)
