"""`converz.Client`: keyword-only configuration, environment defaults, fetch and push.

Thin: every check and all network and decode work happen in the Rust core.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Sequence
from typing import Any, Literal, Optional, Union

from converz import _core
from converz._progress import progress_bar
from converz._push import PushResult
from converz._table import Table, TableStream
from converz.exceptions import InvalidParameterError, PushError

__all__ = ["Client"]

logger = logging.getLogger("converz")

DateLike = Union[_dt.date, str]
DateTimeLike = Union[_dt.datetime, _dt.date, str]
StrOrList = Union[str, Sequence[str]]
IdList = Union[str, int, Sequence[Union[str, int]]]
Target = Literal["calls", "reps"]

_ENV_KEY = "CONVERZ_API_KEY"
_ENV_URL = "CONVERZ_BASE_URL"


def _resolve_base_url(base_url: Optional[str], tenant: Optional[str]) -> str:
    if base_url is not None and tenant is not None:
        raise InvalidParameterError(
            "give base_url= or tenant=, not both", parameter="base_url", hint=None
        )
    if tenant is not None:
        return f"https://{tenant}.converz.co/api/v1"
    url = base_url if base_url is not None else os.environ.get(_ENV_URL)
    if not url:
        raise InvalidParameterError(
            "no base URL",
            parameter="base_url",
            hint=f"pass base_url=... or tenant='acme', or set {_ENV_URL}",
        )
    return url


def _arrow_input(data: Any) -> Any:
    """Anything Arrow-compatible, as an object with ``__arrow_c_stream__``."""
    module = type(data).__module__.split(".")[0]
    if module == "pandas":
        # pandas' own export keeps the index; ours must not push it as a column.
        try:
            import pyarrow as pa
        except ImportError as err:
            raise ImportError(
                "pushing a pandas DataFrame needs pyarrow: pip install 'converz[pandas]'"
            ) from err
        return pa.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        return data
    raise InvalidParameterError(
        f"cannot push a {type(data).__name__}: expected a polars or pandas DataFrame, a pyarrow "
        "Table/RecordBatch/RecordBatchReader, a converz.Table, or any Arrow PyCapsule exporter",
        parameter="df",
    )


class Client:
    """A client of the Converz Data API.

    Args:
        api_key: The key sent as ``X-API-Key``. None reads ``CONVERZ_API_KEY``. Never shown in
            reprs, logs or errors.
        base_url: ``https://<tenant>.converz.co/api/v1``. None reads ``CONVERZ_BASE_URL``.
            Plain ``http://`` is accepted only for loopback (the emulator).
        tenant: Shorthand for ``base_url=https://<tenant>.converz.co/api/v1``.
        timeout: Seconds for one request (one page or one push chunk), body included.
        connect_timeout: Seconds to establish a connection.
        retries: Retries per request on connection errors, cut bodies, 429 and 5xx (with
            exponential backoff and jitter, honouring ``Retry-After``). 0 turns retrying off.
        backoff: First backoff in seconds; it doubles per attempt.
        max_concurrency: Page requests (or push chunks) in flight at once.
        page_size: Rows per page (``n_per_page``); None uses the benchmarked default.
        progress: Progress bars: True/False to force; None shows them in notebooks and
            terminals and hides them in CI and logs.

    Example:
        >>> import converz
        >>> client = converz.Client(api_key="...", tenant="acme")
        >>> client
        converz.Client(base_url='https://acme.converz.co/api/v1')
    """

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        tenant: Optional[str] = None,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        retries: int = 8,
        backoff: float = 0.1,
        max_concurrency: int = 4,
        page_size: Optional[int] = None,
        progress: Optional[bool] = None,
    ) -> None:
        self._raw = _core.RawClient(
            base_url=_resolve_base_url(base_url, tenant),
            api_key=api_key if api_key is not None else os.environ.get(_ENV_KEY, ""),
            timeout=timeout,
            connect_timeout=connect_timeout,
            retries=retries,
            backoff=backoff,
            max_concurrency=max_concurrency,
        )
        self._page_size = page_size
        self._progress = progress

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._raw.base_url)

    def __repr__(self) -> str:
        return f"converz.Client(base_url={self.base_url!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release pooled connections (they also close when the client is garbage collected)."""

    def _table(self, raw: tuple[Any, list[str]]) -> Table:
        table, warnings = raw
        for warning in warnings:
            logger.warning(warning)
        return Table(table, warnings)

    def reps(
        self,
        *,
        rep_id: Optional[StrOrList] = None,
        department: Optional[StrOrList] = None,
        active: Optional[Union[bool, int]] = None,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        progress: Optional[bool] = None,
    ) -> Table:
        """Fetch users (reps), every page, into one Arrow table.

        Args:
            rep_id: One id or a list of ids.
            department: One department or a list.
            active: 1/True for active users only, 0/False for inactive ones.
            page_size: Rows per page; None uses the client's setting.
            parse_dates: Turn ISO date and timestamp strings into Date32/Timestamp columns.
            schema: Force column types, e.g. ``{"team": "string"}``.
            progress: Override the client's progress setting.

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> reps = client.reps(active=True, department=["support"])  # doctest: +SKIP
            >>> reps.to_polars().select("rep_id", "campaign")  # doctest: +SKIP
        """
        with progress_bar(self._pick(progress), "reps") as callback:
            return self._table(
                _core.reps(
                    self._raw,
                    rep_id=rep_id,
                    department=department,
                    active=None if active is None else int(active),
                    page_size=self._page_size if page_size is None else page_size,
                    parse_dates=parse_dates,
                    schema=schema,
                    progress=callback,
                )
            )

    def calls(
        self,
        *,
        start_date: Optional[DateLike] = None,
        end_date: Optional[DateLike] = None,
        after: Optional[DateTimeLike] = None,
        before: Optional[DateTimeLike] = None,
        metric: Optional[StrOrList] = None,
        rep_id: Optional[StrOrList] = None,
        vendor: Optional[StrOrList] = None,
        campaign: Optional[StrOrList] = None,
        subcampaign: Optional[StrOrList] = None,
        department: Optional[StrOrList] = None,
        vendor_call_id: Optional[IdList] = None,
        columns: Optional[StrOrList] = None,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        progress: Optional[bool] = None,
    ) -> Table:
        """Fetch conversations, every page concurrently, into one Arrow table.

        Every row arrives exactly once: pages are fetched concurrently and decoded as they
        stream in; a server that caps the page size is detected and re-paged, and rows that
        move between pages while paging are kept once (a warning says so).

        Args:
            start_date: First day (inclusive), a ``date`` or ``"YYYY-MM-DD"``.
            end_date: Last day (inclusive).
            after: Earliest ``start_time`` (inclusive), a naive ``datetime`` or
                ``"YYYY-MM-DD HH:MM[:SS]"`` in the tenant's local time.
            before: Latest ``start_time`` (inclusive).
            metric: Metric columns to include (behavioural or pushed custom metrics).
            rep_id: One user id or a list.
            vendor: One vendor or a list.
            campaign: One campaign or a list.
            subcampaign: One subcampaign or a list.
            department: One department or a list.
            vendor_call_id: One vendor call id or a list.
            columns: Include only these columns.
            page_size: Rows per page; None uses the client's setting.
            parse_dates: Turn ISO date and timestamp strings into Date32/Timestamp columns.
            schema: Force column types, e.g. ``{"sentiment": "float64"}``.
            progress: Override the client's progress setting.

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> from datetime import date
            >>> calls = client.calls(  # doctest: +SKIP
            ...     start_date="2025-07-01", end_date=date(2025, 9, 30),
            ...     campaign=["sales"], columns=["call_id", "rep_id", "duration", "summary"],
            ... )
            >>> calls.to_polars().group_by("rep_id").len()  # doctest: +SKIP
        """
        with progress_bar(self._pick(progress), "calls") as callback:
            return self._table(
                _core.calls(
                    self._raw,
                    **self._calls_args(locals()),
                    progress=callback,
                )
            )

    def iter_calls(self, **kwargs: Any) -> TableStream:
        """Stream conversations page by page, with memory bounded by the pages in flight.

        Takes the same keyword arguments as :meth:`calls` (except ``progress``). Each item is
        a :class:`converz.Table` of one page; every row arrives once.

        Example:
            >>> total = 0
            >>> for page in client.iter_calls(start_date="2025-01-01"):  # doctest: +SKIP
            ...     total += page.num_rows
        """
        args = self._calls_args({"self": self, "page_size": None, **kwargs})
        return TableStream(_core.calls(self._raw, **args, stream=True))

    def iter_reps(self, **kwargs: Any) -> TableStream:
        """Stream users page by page; takes the keyword arguments of :meth:`reps`."""
        kwargs.setdefault("page_size", self._page_size)
        if "active" in kwargs and kwargs["active"] is not None:
            kwargs["active"] = int(kwargs["active"])
        return TableStream(_core.reps(self._raw, **kwargs, stream=True))

    def _calls_args(self, given: dict[str, Any]) -> dict[str, Any]:
        args = {k: v for k, v in given.items() if k not in ("self", "progress", "callback")}
        if args.get("page_size") is None:
            args["page_size"] = self._page_size
        return args

    def report(
        self,
        *,
        start_date: Optional[DateLike] = None,
        end_date: Optional[DateLike] = None,
        days: Optional[int] = None,
        metric: Optional[StrOrList] = None,
        groupby: Optional[StrOrList] = None,
        rep_id: Optional[StrOrList] = None,
        vendor: Optional[StrOrList] = None,
        campaign: Optional[StrOrList] = None,
        subcampaign: Optional[StrOrList] = None,
        department: Optional[StrOrList] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
    ) -> Table:
        """Fetch aggregated analytics (one request, not paged).

        Args:
            start_date: Oldest day (inclusive); the API's default is 30 days ago.
            end_date: Last day (inclusive); the API's default is today.
            days: The last ``days`` days through today; not together with dates.
            metric: Metrics to compute; None gives the API's default set.
            groupby: ``date``, ``week``, ``month``, ``quarter``, ``year``, ``half``, ``rep_id``,
                ``vendor``, ``campaign``, ``subcampaign``, ``department`` (one or a list);
                ``week``/``month``/``quarter`` add a ``year`` column.
            rep_id: One user id or a list.
            vendor: One vendor or a list.
            campaign: One campaign or a list.
            subcampaign: One subcampaign or a list.
            department: One department or a list.
            parse_dates: Turn ISO date strings into Date32 columns.
            schema: Force column types.

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> rep = client.report(  # doctest: +SKIP
            ...     groupby=["week", "campaign"], metric=["n_calls", "duration"], days=90
            ... )
        """
        args = {k: v for k, v in locals().items() if k != "self"}
        return self._table(_core.report(self._raw, **args))

    def push_updates(
        self,
        df: Any,
        *,
        to: Optional[Target] = None,
        clear: Optional[Sequence[str]] = None,
        chunk_rows: int = 100_000,
        on_duplicate: Literal["error", "last"] = "error",
        timezone: Optional[str] = None,
        dry_run: bool = False,
        strict: bool = False,
        progress: Optional[bool] = None,
    ) -> PushResult:
        """Write columns of a DataFrame back to conversations or users.

        The key column (``call_id`` for conversations, ``rep_id`` for users) picks the rows;
        every other column is a value to set. **A null means "leave unchanged"**, so a sparse
        frame never wipes data. To *clear* values, name the columns in ``clear=``: their nulls
        are then sent as explicit nulls, only for those cells, and no other field is touched.

        Everything is checked before the first request (key present, no null or duplicate
        keys, key type, no inf, supported types); bad input raises
        :class:`~converz.InvalidParameterError` and sends nothing. Chunks of at most
        ``chunk_rows`` rows are sent concurrently and retried on 429/5xx/connection loss
        (updates are idempotent). If a chunk still fails, :class:`~converz.PushError` says
        exactly which key ranges were applied, and ``err.result.remaining`` holds the rest.

        Args:
            df: A polars or pandas DataFrame, a pyarrow Table/RecordBatch/RecordBatchReader,
                a :class:`converz.Table`, or any Arrow PyCapsule exporter.
            to: ``"calls"`` or ``"reps"``; None infers it (``call_id`` → calls, else
                ``rep_id`` → reps).
            clear: Columns whose nulls mean "clear this value".
            chunk_rows: Rows per request, at most 100000 (the API's limit).
            on_duplicate: ``"error"`` refuses repeated keys; ``"last"`` keeps the last row.
            timezone: The tenant's IANA time zone; time-zone-aware timestamps are converted to
                it and sent naive. None means UTC.
            dry_run: Validate and encode everything, send nothing.
            strict: Raise :class:`~converz.InvalidRequestError` if the API reports keys it
                does not know (``not_found``).
            progress: Override the client's progress setting.

        Returns:
            A :class:`converz.PushResult`.

        Example:
            >>> import polars as pl
            >>> scores = pl.DataFrame({"call_id": [10, 20], "qa_score": [0.9, None]})
            >>> res = client.push_updates(scores)  # doctest: +SKIP
            >>> # qa_score of call 20 is untouched; to clear it instead:
            >>> res = client.push_updates(scores, clear=["qa_score"])  # doctest: +SKIP
        """
        data = _arrow_input(df)
        with progress_bar(self._pick(progress), "push", unit="chunks") as callback:
            raw = _core.push(
                self._raw,
                data,
                to=to,
                clear=list(clear or ()),
                chunk_rows=chunk_rows,
                on_duplicate=on_duplicate,
                timezone=timezone,
                dry_run=dry_run,
                progress=callback,
            )
        result = PushResult._from_core(raw)
        error = raw.get("error")
        if error is not None:
            applied = sum(c.rows for c in result.chunks if c.status == "applied")
            raise PushError(
                f"{len(result.failed)} of {len(result.chunks)} chunks were not applied "
                f"({applied:,} of {result.rows:,} rows were); first failure: {error}",
                result=result,
                hint="push err.result.remaining again to apply only the rest",
            ) from error
        if strict and result.not_found:
            from converz.exceptions import InvalidRequestError

            shown = ", ".join(map(str, result.not_found[:5]))
            raise InvalidRequestError(
                f"{len(result.not_found)} keys do not exist (e.g. {shown}); the other rows "
                "were applied",
                code="not_found",
                hint="drop the unknown keys, or call without strict=True",
            )
        logger.info("%s", result)
        return result

    def update_calls(self, df: Any, **kwargs: Any) -> PushResult:
        """:meth:`push_updates` to conversations (``to="calls"``)."""
        return self.push_updates(df, to="calls", **kwargs)

    def update_reps(self, df: Any, **kwargs: Any) -> PushResult:
        """:meth:`push_updates` to users (``to="reps"``)."""
        return self.push_updates(df, to="reps", **kwargs)

    def _pick(self, progress: Optional[bool]) -> Optional[bool]:
        return self._progress if progress is None else progress
