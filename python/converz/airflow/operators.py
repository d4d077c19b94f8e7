"""`ConverzFetchOperator` and `ConverzPushOperator`: Converz rows into files, files back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Optional

from converz.airflow._compat import AirflowException, BaseOperator
from converz.airflow.hooks import ConverzHook


class ConverzFetchOperator(BaseOperator):
    """Fetches calls, reps or a report into a file, or syncs calls into a dataset.

    Pages are written as they arrive (memory bounded by the pages in flight). The return value
    (pushed to XCom) is ``{"path": ..., "rows": ...}``.

    Args:
        endpoint: ``"calls"``, ``"reps"`` or ``"report"``.
        path: The file to write (format from the extension: ``.parquet``, ``.csv``,
            ``.ndjson``/``.jsonl``, ``.arrow``/``.feather``), or with ``sync=True`` the
            dataset directory. Templated.
        query: Keyword arguments of the endpoint (``{"start_date": "{{ ds }}", "campaign":
            ["sales"]}``). Templated.
        sync: Keep ``path`` as an incremental day-partitioned dataset of calls
            (:func:`converz.Client.sync_calls`); ``query`` may then hold ``start_date``,
            ``overlap_days``, ``format`` and ``full_refresh`` too.
        converz_conn_id: The ``converz`` connection.
    """

    template_fields: Sequence[str] = ("path", "query")
    template_fields_renderers: ClassVar[dict[str, str]] = {"query": "json"}
    ui_color = "#d7ecff"

    def __init__(
        self,
        *,
        endpoint: str = "calls",
        path: str,
        query: Optional[dict[str, Any]] = None,
        sync: bool = False,
        converz_conn_id: str = ConverzHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if endpoint not in ("calls", "reps", "report"):
            raise ValueError(f"endpoint must be calls, reps or report, not {endpoint!r}")
        if sync and endpoint != "calls":
            raise ValueError("sync=True keeps a dataset of calls; use endpoint='calls'")
        self.endpoint = endpoint
        self.path = path
        self.query = query or {}
        self.sync = sync
        self.converz_conn_id = converz_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        """Runs the fetch; returns ``{"path", "rows"}`` (and the sync summary when syncing)."""
        from converz._cli import fetch_to_file

        client = ConverzHook(self.converz_conn_id).get_client()
        if self.sync:
            from converz._sync import sync_calls

            result = sync_calls(client, self.path, **self.query)
            self.log.info("%s", result)
            return {
                "path": result.path,
                "rows": result.rows,
                "partitions_written": [d.isoformat() for d in result.partitions_written],
                "watermark": str(result.watermark) if result.watermark else None,
            }
        rows = fetch_to_file(client, self.endpoint, self.path, **self.query)
        self.log.info("wrote %d rows to %s", rows, self.path)
        return {"path": self.path, "rows": rows}


class ConverzPushOperator(BaseOperator):
    """Pushes a file of updates to conversations or users (``push_updates``).

    A partial failure (or a stopped task) fails the task with the push summary and writes the
    rows not applied to ``NAME.remaining.EXT`` beside the file. A retry, or any later run of
    the task, pushes only that file while ``path`` still holds the bytes its rows came from
    (recorded beside it; the files' times do not matter), and removes it once every row of it
    is applied; a ``path`` with other bytes is new input, pushed whole, and the stale remaining
    file is kept with a warning (its rows were never applied). A ``NAME.remaining.EXT``
    without its record is the user's, never taken. The options the rows were left with are
    recorded beside them (``NAME.remaining.EXT.json``): a retry whose options would send other
    values (the DAG edited since: ``clear``, ``schema``, ``timezone``, ``to``,
    ``on_duplicate``, ``strict``) fails before any request with an ``InvalidParameterError``
    naming them. The return value
    (pushed to XCom) summarises the push and names the file sent (``"pushed"``).

    Args:
        path: A ``.parquet``, ``.csv``, ``.ndjson``/``.jsonl`` or ``.arrow`` file. Templated.
        to: ``"calls"`` or ``"reps"``; None infers it from the key column.
        clear: Columns whose nulls clear values.
        on_duplicate: ``"error"`` or ``"last"``.
        dry_run: Validate and encode only (no file is removed).
        schema: Types of CSV or NDJSON columns instead of the inferred ones, as ``schema=`` of a
            fetch spells them (``{"code": "string"}`` keeps ``00123`` as text).
        chunk_rows: Rows per request.
        timezone: The tenant's IANA zone, for time-zone-aware timestamps.
        strict: Fail on keys the API does not know.
        resume: Push ``NAME.remaining.EXT`` instead of ``path`` while ``path`` is the input
            its rows came from; False always pushes ``path``.
        force_old: Push a remaining file whose input changed while it was pushed: its rows
            are the older version's, and write over anything pushed since (without it such a
            file is refused before any request).
        converz_conn_id: The ``converz`` connection.
    """

    template_fields: Sequence[str] = ("path",)
    ui_color = "#ffe3c7"

    def __init__(
        self,
        *,
        path: str,
        to: Optional[str] = None,
        clear: Optional[Sequence[str]] = None,
        on_duplicate: str = "error",
        dry_run: bool = False,
        schema: Optional[dict[str, Any]] = None,
        chunk_rows: int = 100_000,
        timezone: Optional[str] = None,
        strict: bool = False,
        resume: bool = True,
        force_old: bool = False,
        converz_conn_id: str = ConverzHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.to = to
        self.clear = list(clear or ())
        self.on_duplicate = on_duplicate
        self.dry_run = dry_run
        self.schema = dict(schema) if schema else None
        self.chunk_rows = chunk_rows
        self.timezone = timezone
        self.strict = strict
        self.resume = resume
        self.force_old = force_old
        self.converz_conn_id = converz_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        """Pushes the file; raises ``AirflowException`` when some chunk was not applied."""
        from converz import PushError
        from converz._cli import push_file, resume_source

        path = Path(self.path)
        source = resume_source(path) if self.resume else path
        if source != path:
            self.log.info("resuming: pushing %s (rows an earlier run did not apply)", source)
        client = ConverzHook(self.converz_conn_id).get_client()
        try:
            result = push_file(
                client,
                source,
                to=self.to,
                clear=self.clear,
                on_duplicate=self.on_duplicate,
                dry_run=self.dry_run,
                schema=self.schema,
                chunk_rows=self.chunk_rows,
                timezone=self.timezone,
                strict=self.strict,
                on_note=self.log.info,
                force_old=bool(self.force_old),
            )
        except PushError as err:
            raise AirflowException(f"{err}\n{err.result.report()}") from err
        self.log.info("%s", result)
        return {
            "path": self.path,
            "pushed": str(source),
            "rows": result.rows,
            "updated": result.updated,
            "not_found": len(result.not_found),
            "requests": result.requests,
        }
