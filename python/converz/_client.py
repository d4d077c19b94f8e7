"""`converz.Client`: keyword-only configuration, environment defaults, fetch and push.

Thin: every check and all network and decode work happen in the Rust core.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Optional, TypeVar, Union, cast

from converz import _core
from converz._args import (
    check_arguments,
    check_client_settings,
    check_flag,
    check_int,
    check_path,
    frame_form,
    wrong_type,
)
from converz._log import logger
from converz._printable import printable as _printable
from converz._progress import progress_bar
from converz._push import (
    PushResult,
    arrow_input,
    push_arguments,
    stop_said,
    warn_empty_stream,
)
from converz._query import (
    CallsFilters,
    CallsQuery,
    ReportFilters,
    ReportQuery,
    RepsFilters,
    RepsQuery,
    _Query,
)
from converz._schema import documented_columns, unknown_schema_keys, unseen_schema_warnings
from converz._schema_types import check_key_type, check_schema
from converz._table import Table, TableStream, listing_of
from converz.exceptions import InvalidParameterError, InvalidParameterTypeError, PushError

if TYPE_CHECKING:
    from datetime import date as _date

    import polars as pl
    from typing_extensions import Unpack

    from converz._core import _PushOptions
    from converz._sync import SyncResult

__all__ = ["Client"]


Target = Literal["calls", "reps"]
# The library a table is for (`frame=`): how its text columns are laid out.
Frame = Literal["arrow", "polars", "pandas"]

_ENV_KEY = "CONVERZ_API_KEY"
_ENV_URL = "CONVERZ_BASE_URL"


Q = TypeVar("Q", bound=_Query)


def empty_result(query: _Query, parse_dates: bool, schema: Mapping[str, Any]) -> Any:
    """The table of a fetch of ``query`` that found no rows.

    Its documented columns, typed as a full result would be (``schema`` overrides included),
    so an empty day's file or frame has the columns every other day's has.

    Shared by the eager fetch and :func:`converz.fetch_to_file` (outside trial 18: an empty
    fetch to a CSV file was 0 bytes, to Parquet a file with no columns).
    """
    columns = documented_columns(query.endpoint, query.to_kwargs(), parse_dates)
    overrides = {n: t for n, t in schema.items() if n in columns}
    return _core.empty_table({**columns, **overrides})


def _query_of(cls: type[Q], query: Optional[Q], filters: Mapping[str, Any]) -> Q:
    """The query a method was given: a query value, or one built from keyword filters.

    Raises:
        InvalidParameterTypeError: Both were given, or ``query`` is not a ``cls``
            (``parameter="query"``), or a filter has the wrong type or is unknown.
    """
    if "progress" in filters:
        # Only eager fetches draw a bar: a stream hands over each page as it comes.
        raise InvalidParameterTypeError(
            "progress= is taken by the eager fetches (calls, reps, report); a stream or scan "
            "has no bar: count its pages as they arrive",
            parameter="progress",
        )
    if query is None:
        return cls(**filters)
    if filters:
        raise InvalidParameterTypeError(
            f"query: give a converz.{cls.__name__} or keyword filters, not both (got "
            f"{sorted(filters)} too)",
            parameter="query",
        )
    if not isinstance(query, cls):
        raise wrong_type("query", f"a converz.{cls.__name__}", query)
    return query


# A tenant is one DNS label: it becomes the subdomain in https://<tenant>.converz.co, so a
# '/', ':', '#', '@' or '.' in it would send the requests (and the key) to another host.
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _eager_form(frame: Optional[Frame]) -> str:
    """The core's text layout for an eager fetch's ``frame=`` (None: no library named).

    With no library named the table is Arrow's Utf8, but while the fetch's decode has waited
    for the link at least half as long as it worked, each page it finishes is laid out as
    polars' views on that decode thread, and the table takes the layout most of its rows came
    in ("auto"): ``to_polars()`` after a slow fetch then hands the table over instead of
    building the views after the last page, and ``to_arrow()``/``to_pandas()`` convert it back
    once, sharing the long strings.

    Example:
        >>> _eager_form(None), _eager_form("arrow"), _eager_form("polars")
        ('auto', 'utf8', 'utf8_view')
    """
    return "auto" if frame is None else frame_form(frame)


def tenant_url(tenant: object) -> str:
    """The base URL of ``tenant``, which must be a ``str`` that is one DNS label.

    Raises:
        InvalidParameterError: ``tenant`` is not letters, digits and ``-`` (1 to 63 characters,
            not starting or ending with ``-``); nothing was sent.

    Example:
        >>> tenant_url("acme")
        'https://acme.converz.co/api/v1'
    """
    if not isinstance(tenant, str):
        raise wrong_type("tenant", "a str (a subdomain name)", tenant)
    if _TENANT.fullmatch(tenant) is None:
        raise InvalidParameterError(
            f"tenant: expected a subdomain name (letters, digits and '-', 1 to 63 characters, "
            f"not starting or ending with '-'), got {tenant[:80]!r}",
            parameter="tenant",
            hint="pass the <tenant> of https://<tenant>.converz.co, e.g. tenant='acme', "
            "or the whole URL as base_url=",
        )
    return f"https://{tenant}.converz.co/api/v1"


def _resolve_base_url(base_url: Optional[str], tenant: Optional[str]) -> str:
    if base_url is not None and tenant is not None:
        raise InvalidParameterError(
            "give base_url= or tenant=, not both", parameter="base_url", hint=None
        )
    if tenant is not None:
        return tenant_url(tenant)
    url = base_url if base_url is not None else os.environ.get(_ENV_URL)
    if not url:
        raise InvalidParameterError(
            "no base URL",
            parameter="base_url",
            hint=f"pass base_url=... or tenant='acme', or set {_ENV_URL}",
        )
    return url


class Client:
    """A client of the Converz Data API.

    Args:
        api_key: The key sent as ``X-API-Key``. None reads ``CONVERZ_API_KEY``. Never shown in
            reprs, logs or errors.
        base_url: ``https://<tenant>.converz.co/api/v1``. None reads ``CONVERZ_BASE_URL``.
            Plain ``http://`` is accepted only for loopback (the emulator).
        tenant: Shorthand for ``base_url=https://<tenant>.converz.co/api/v1``: one subdomain
            name (letters, digits and ``-``).
        timeout: Seconds for one request (one page or one push chunk), body included.
        connect_timeout: Seconds to establish a connection.
        retries: Retries per request on connection errors, cut bodies, 429 and transient 5xx
            (500, 502, 503, 504; other 5xx such as 501 describe the request and are not
            retried), with exponential backoff and jitter, honouring ``Retry-After`` (on a 429
            or a 5xx); one wait is at most 30 s (or ``backoff``, if larger) and at most
            ``timeout``. A ``Retry-After`` longer than the retries left could wait in all
            (that many waits of that most), or of a day or more, is not waited for: the request
            fails at once (:class:`~converz.RateLimitError` for a 429), with the server's
            ``retry_after``. 0 turns retrying off; at most 1000.
        backoff: First backoff in seconds; it doubles per attempt.
        max_concurrency: Page requests (or push chunks) in flight at once, 1 to 64.
        page_size: Rows per page (``n_per_page``), 1 to 1,000,000; None uses the benchmarked
            default. It also bounds what one page's body may take (16 KiB a row, at least
            64 MiB, at most 2 GiB, after gzip): a server sending more fails the fetch with a
            :class:`~converz.DecodeError` instead of filling memory. Each page in flight may
            take that much, so a server that misbehaves can hold up to ``max_concurrency``
            times it before the fetch fails.
        progress: Progress bars: True/False to force; None shows them in notebooks and
            terminals and hides them in CI and logs.
        compression: How response bodies travel. ``"auto"`` (the default) asks for gzip
            (``Accept-Encoding: gzip``) except from a loopback host such as the emulator, where
            compressing costs more CPU than it saves; ``"gzip"`` always asks for it (a slow
            link, or the emulator's WAN profile); None never does (plain JSON). Like pandas'
            ``compression=``, None means uncompressed.
        frame: The DataFrame library this client's tables are mostly for: ``"polars"`` or
            ``"pandas"`` lays each table's text columns out as that library stores them
            while the pages decode, so ``to_polars()`` / ``to_pandas()`` has nothing left to
            convert after the last page; ``"arrow"`` keeps Arrow's Utf8, which pyarrow and
            DuckDB read as it is. None (the default, no library named) keeps Utf8 too, but
            over a link slower than the decode the pages are laid out for polars on the
            threads the link leaves idle. Every table still converts to every library, with
            the same values, but a read in another form converts the table to that form (in
            place, once: ``to_arrow()`` or a DuckDB query of a ``"polars"`` table copies the
            short strings back, and a later ``to_polars()`` builds the views again), so name
            the library the tables mostly go to. A fetch's own
            ``frame=`` overrides this; a stream's pages (``iter_calls``) are Utf8 unless the
            stream is given its own ``frame=``.

    Raises:
        InvalidParameterError: A setting is out of range (its ``parameter`` names it),
            ``tenant`` is not a subdomain name, or ``base_url`` is not an ``https://`` URL (or
            ``http://`` to loopback) without whitespace, query or fragment. A setting of the
            wrong type is its subclass :class:`~converz.InvalidParameterTypeError`, also a
            ``TypeError``. Checked here, before any request.

    Example:
        >>> import converz
        >>> client = converz.Client(api_key="...", tenant="acme")
        >>> client
        converz.Client(base_url='https://acme.converz.co/api/v1')
    """

    @check_arguments
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
        compression: Optional[Literal["auto", "gzip"]] = "auto",
        frame: Optional[Frame] = None,
    ) -> None:
        # One dict of the settings the core takes. Their types (and those of `tenant` and
        # `progress`, which it does not take) are checked here, before base_url and api_key are
        # resolved (a wrong type is also a TypeError); ranges and formats in the core.
        settings: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "retries": retries,
            "backoff": backoff,
            "max_concurrency": max_concurrency,
            "page_size": page_size,
            "compression": compression,
        }
        check_client_settings({**settings, "tenant": tenant, "progress": progress})
        # The settings read from the environment, each with its variable.
        from_env = {
            name: variable
            for name, variable, given in (
                ("api_key", _ENV_KEY, api_key),
                ("base_url", _ENV_URL, base_url if tenant is None else tenant),
            )
            if given is None and os.environ.get(variable)
        }
        settings["base_url"] = _resolve_base_url(base_url, tenant)
        if api_key is None:
            settings["api_key"] = os.environ.get(_ENV_KEY, "")
        try:
            self._raw = _core.RawClient(cast("_core._ClientSettings", settings))
        except InvalidParameterError as err:
            variable = from_env.get(err.parameter or "")
            if variable is None:
                raise
            # Outside trials 18 (F9) and 19: a bad key or URL read from the environment (a
            # trailing newline from `export CONVERZ_API_KEY=$(cat key.txt)`) was blamed on the
            # argument `api_key`/`base_url`, which the user never passed.
            reason = err.message.split(f"`{err.parameter}`: ", 1)[-1]
            raise InvalidParameterError(
                f"invalid environment variable {variable} (read because {err.parameter}= was "
                f"not given): {reason}",
                parameter=err.parameter,
                hint=f"fix {variable} (a newline or space around the value, as $(cat key.txt) "
                f"or a CRLF file leaves, is the usual cause), or pass {err.parameter}=...",
            ) from None
        self._page_size: Optional[int] = self._raw.page_size
        self._progress = None if progress is None else bool(progress)
        if frame is not None:
            frame_form(frame)  # checked here, before any request
        # None: no library named, so the table's text is Arrow's Utf8, laid out for polars
        # where a slow link leaves the decode idle (`_eager_form`).
        self._frame: Optional[Frame] = frame
        # What must live as long as this client: the emulator that made it (testing.Emulator).
        self._keep_alive: object = None

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return str(self._raw.base_url)

    @property
    def compression(self) -> Optional[Literal["auto", "gzip"]]:
        """How response bodies travel: ``"auto"``, ``"gzip"`` or None (see the class)."""
        return self._raw.compression

    def __repr__(self) -> str:
        # Through the one redaction of everything shown: a key pasted into the URL's path (as
        # some proxies take tokens) was printed whole (outside trial 87 A0).
        return _printable(f"converz.Client(base_url={self.base_url!r})")

    def __reduce__(self) -> Any:
        # Without this, pickle fails deep inside on the core's client, naming no way out. A
        # client is a connection pool of this process; what crosses to a worker is how to
        # build one. The message names no setting's value: one of them is the key.
        raise TypeError(
            "a converz.Client cannot be pickled: it holds this process's connections. Send "
            "its settings to the worker instead (base_url= or tenant=, and the key through "
            "CONVERZ_API_KEY in the worker's environment) and create a converz.Client there, "
            "or use converz.dask, converz.ray or converz.spark, whose tasks do that"
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _shown_warning(self, text: str) -> str:
        """``text``, which names the server's data, as a warning shows it.

        This client's key is redacted as from the server's own text (pieces of it too), then the
        text is made printable.
        """
        return _printable(self._raw.redacted(text))

    def close(self) -> None:
        """Close the pooled connections; the client cannot be used afterwards.

        Idle connections close at once (requests already in flight finish). Any later request,
        including the next batch of an open :meth:`iter_calls` stream, raises
        :class:`~converz.ConverzError` ("the client is closed"): create a new client instead.
        ``with converz.Client(...) as client:`` calls this at the end of the block. Closing
        twice is harmless; connections also close when the client is garbage collected.
        """
        self._raw.close()

    def _table(self, raw: tuple[Any, list[str], int], started: float, listing: str) -> Table:
        table, warnings, pages = raw
        result = Table(table, warnings, elapsed=time.perf_counter() - started, pages=pages)
        result._listing = listing
        for warning in result.warnings:  # as Table escaped them
            logger.warning(warning)
        return result

    def _fetch(
        self,
        query: _Query,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        progress: Optional[bool] = None,
        frame: Optional[Frame] = None,
    ) -> Table:
        started = time.perf_counter()
        check_flag("progress", progress, optional=True)
        form = _eager_form(self._frame if frame is None else frame)
        schema = check_schema(schema)
        unknown = unknown_schema_keys(query.endpoint, query.to_kwargs(), schema)
        with progress_bar(self._pick(progress), query.endpoint) as callback:
            options = self._options(query, page_size, parse_dates, schema, stream=False)
            raw = _core.fetch(self._raw, query, {**options, "form": form, "progress": callback})
        table, warnings, pages = cast("tuple[Any, list[str], int]", raw)
        if table.num_rows == 0 and not table.column_types():
            table = empty_result(query, parse_dates, schema)
        seen = [name for name, _ in table.column_types()]
        warnings += unseen_schema_warnings(query.endpoint, query.to_kwargs(), unknown, seen)
        return self._table((table, warnings, pages), started, listing_of(query))

    def _stream(
        self,
        query: _Query,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        frame: Optional[Frame] = None,
    ) -> TableStream:
        form = frame_form("arrow" if frame is None else frame)
        options = self._options(query, page_size, parse_dates, schema, stream=True)
        filters = query.to_kwargs()
        unknown = unknown_schema_keys(query.endpoint, filters, check_schema(schema))
        raw = _core.fetch(self._raw, query, {**options, "form": form, "progress": None})
        # The eager fetch's warnings for schema= keys the data never had, over the stream's
        # columns, given at its end.
        unseen = functools.partial(unseen_schema_warnings, query.endpoint, filters, unknown)
        shown = ", ".join(f"{name}={value!r}" for name, value in filters.items())
        empty = functools.partial(empty_result, query, parse_dates, check_schema(schema))
        return TableStream(
            raw,
            unseen=unseen,
            query=f"{query.endpoint}({shown})",
            empty=empty,
            listing=listing_of(query),
        )

    def _options(
        self,
        query: _Query,
        page_size: Optional[int],
        parse_dates: bool,
        schema: Optional[dict[str, Any]],
        *,
        stream: bool,
    ) -> dict[str, Any]:
        schema = check_schema(schema) or None
        check_key_type(query.endpoint, schema or {})
        page_size = check_int("page_size", page_size, optional=True)
        check_flag("parse_dates", parse_dates)
        return {
            "page_size": self._page_size if page_size is None else page_size,
            "parse_dates": bool(parse_dates),
            "schema": schema,
            # The decoder's first pages start on the fast path with these; never the result.
            "hint": documented_columns(query.endpoint, query.to_kwargs(), bool(parse_dates)),
            "stream": stream,
        }

    def reps(
        self,
        query: Optional[RepsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        progress: Optional[bool] = None,
        frame: Optional[Frame] = None,
        **filters: Unpack[RepsFilters],
    ) -> Table:
        """Fetch users (reps), every page, into one Arrow table.

        Args:
            query: A :class:`converz.RepsQuery`, or None to use the keyword filters.
            page_size: Rows per page; None uses the client's setting.
            parse_dates: Turn ``YYYY-MM-DD`` strings into Date32 and ``YYYY-MM-DD HH:MM:SS``
                (``.fff`` or ``.ffffff`` after it, as converz writes a fraction) into
                Timestamp(us) columns; any other spelling (a ``T``, a zone, ``.5``,
                ``.500000``) stays text, as sent.
            schema: Force column types, e.g. ``{"team": "string"}`` (as in :meth:`calls`).
            progress: Override the client's progress setting.
            frame: ``"polars"``, ``"pandas"`` or ``"arrow"``: the library the table is for
                (see :class:`Client`); None uses the client's setting.
            **filters: ``rep_id``, ``department``, ``active`` (see :class:`converz.RepsFilters`).

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> reps = client.reps(active=True, department=["support"])  # doctest: +SKIP
            >>> reps.to_polars().select("rep_id", "campaign")  # doctest: +SKIP
        """
        q = _query_of(RepsQuery, query, filters)
        return self._fetch(
            q,
            page_size=page_size,
            parse_dates=parse_dates,
            schema=schema,
            progress=progress,
            frame=frame,
        )

    def calls(
        self,
        query: Optional[CallsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        progress: Optional[bool] = None,
        frame: Optional[Frame] = None,
        **filters: Unpack[CallsFilters],
    ) -> Table:
        """Fetch conversations, every page concurrently, into one Arrow table.

        Every row arrives exactly once: pages are fetched concurrently and decoded as they
        stream in; a server that caps the page size is detected and re-paged, and rows that
        move between pages while paging are kept once (a warning says so).

        Args:
            query: A :class:`converz.CallsQuery`, or None to use the keyword filters.
            page_size: Rows per page; None uses the client's setting.
            parse_dates: Turn ``YYYY-MM-DD`` strings into Date32 and ``YYYY-MM-DD HH:MM:SS``
                (``.fff`` or ``.ffffff`` after it, as converz writes a fraction) into
                Timestamp(us) columns; any other spelling (a ``T``, a zone, ``.5``,
                ``.500000``) stays text, as sent.
            schema: Force column types, e.g. ``{"sentiment": "float64"}``: a type name
                (``"int8"``, ``"timestamp[ms]"``, polars' ``"i8"``) or a pyarrow or polars
                type (README § Forcing types). A key naming no column is warned of; under
                ``columns=``, only one close to a fetched column's name (a typo), so one dict
                serves queries of different columns.
            progress: Override the client's progress setting.
            frame: ``"polars"``, ``"pandas"`` or ``"arrow"``: the library the table is for.
                ``"polars"`` builds polars' string views while later pages download, so
                ``to_polars()`` is a hand-over; None uses the client's setting (see
                :class:`Client`).
            **filters: ``start_date``, ``end_date``, ``after``, ``before``, ``metric``,
                ``rep_id``, ``vendor``, ``campaign``, ``subcampaign``, ``department``,
                ``vendor_call_id``, ``columns`` (see :class:`converz.CallsFilters`).

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> from datetime import date
            >>> calls = client.calls(  # doctest: +SKIP
            ...     start_date="2025-07-01", end_date=date(2025, 9, 30),
            ...     campaign=["sales"], columns=["call_id", "rep_id", "duration", "summary"],
            ... )
            >>> calls.to_polars().group_by("rep_id").len()  # doctest: +SKIP
            >>> calls = client.calls(start_date="2025-07-01", frame="polars")  # doctest: +SKIP
            >>> df = calls.to_polars()  # views built while pages decoded  # doctest: +SKIP
            >>> q = converz.CallsQuery(start_date="2025-07-01", end_date="2025-07-31")
            >>> july = client.calls(q)  # doctest: +SKIP
        """
        q = _query_of(CallsQuery, query, filters)
        return self._fetch(
            q,
            page_size=page_size,
            parse_dates=parse_dates,
            schema=schema,
            progress=progress,
            frame=frame,
        )

    def iter_calls(
        self,
        query: Optional[CallsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        frame: Optional[Frame] = None,
        **filters: Unpack[CallsFilters],
    ) -> TableStream:
        """Stream conversations page by page, with memory bounded by the pages in flight.

        It also keeps the key of every row it handed out, to hand out each row once: 8 to 16
        bytes a call (4 to 8 MB for 500,000 calls; ids out of order take the more), which grows
        with the listing's length.

        The same listing as :meth:`calls` (every row once, the repair pass when rows move,
        the same warnings in ``stream.warnings`` once it ends); each item is a
        :class:`converz.Table` of one page. A page has every column the pages so far have
        shown (null where it lacks one), at the widest type so far, so pages concatenate;
        the schema changes only when a column first appears or widens (a column null on
        every page so far, typed Null, to the type of its first values; ``int`` to ``float``;
        anything to text, named in ``stream.warnings``); pages handed out before that keep
        the narrower type, so join them with ``converz.Table.concat`` (or polars'
        ``how="diagonal_relaxed"``, which also takes a column that first appears on a later
        page), not a plain concatenation. For values identical to
        :meth:`calls`, pass ``schema=`` to fix the types from the start (a column that turns
        to text reads as the eager table's text only then).

        ``frame="polars"`` (or ``"pandas"``) lays each page's text columns out as that library
        stores them on the threads that decode the pages, so ``page.to_polars()`` (or
        ``to_pandas()``) takes them without converting; ``"arrow"`` (None, the default,
        whatever the client's ``frame=``) keeps Arrow's Utf8, for writers and other engines.
        The values are the same in every form.

        Example:
            >>> total = 0
            >>> for page in client.iter_calls(start_date="2025-01-01"):  # doctest: +SKIP
            ...     total += page.num_rows
        """
        q = _query_of(CallsQuery, query, filters)
        return self._stream(
            q, page_size=page_size, parse_dates=parse_dates, schema=schema, frame=frame
        )

    def iter_reps(
        self,
        query: Optional[RepsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        frame: Optional[Frame] = None,
        **filters: Unpack[RepsFilters],
    ) -> TableStream:
        """Stream users page by page; the arguments of :meth:`reps` (without ``progress``).

        ``frame=`` lays out each page's text columns as in :meth:`iter_calls`.

        Example:
            >>> for page in client.iter_reps(active=True):  # doctest: +SKIP
            ...     print(page.num_rows)
        """
        q = _query_of(RepsQuery, query, filters)
        return self._stream(
            q, page_size=page_size, parse_dates=parse_dates, schema=schema, frame=frame
        )

    def report(
        self,
        query: Optional[ReportQuery] = None,
        /,
        *,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        frame: Optional[Frame] = None,
        **filters: Unpack[ReportFilters],
    ) -> Table:
        """Fetch aggregated analytics (one request, not paged).

        Args:
            query: A :class:`converz.ReportQuery`, or None to use the keyword filters.
            parse_dates: Turn ISO date strings into Date32 columns.
            schema: Force column types (as in :meth:`calls`); a key that is not one of the
                report's columns raises :class:`converz.InvalidParameterError` before the request.
            frame: The library the table is for (as in :meth:`calls`).
            **filters: ``start_date``, ``end_date``, ``days``, ``metric``, ``groupby``,
                ``rep_id``, ``vendor``, ``campaign``, ``subcampaign``, ``department`` (see
                :class:`converz.ReportFilters`).

        Returns:
            A :class:`converz.Table`.

        Example:
            >>> rep = client.report(  # doctest: +SKIP
            ...     groupby=["week", "campaign"], metric=["n_calls", "duration"], days=90
            ... )
        """
        if "page_size" in filters:
            # Named as report()'s, not as the query value's unknown field (outside trial 73 F2).
            raise InvalidParameterTypeError(
                "report() takes no page_size: the report comes in one response, not in pages",
                parameter="page_size",
            )
        q = _query_of(ReportQuery, query, filters)
        return self._fetch(q, parse_dates=parse_dates, schema=schema, progress=False, frame=frame)

    def scan_calls(
        self,
        query: Optional[CallsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        batch_size: Optional[int] = None,
        **filters: Unpack[CallsFilters],
    ) -> pl.LazyFrame:
        """Conversations as a lazy ``polars.LazyFrame`` with pushdown; see :func:`converz._scan.scan_calls`.

        Example:
            >>> import polars as pl
            >>> lf = client.scan_calls(start_date="2025-07-01")  # doctest: +SKIP
            >>> lf.filter(pl.col("campaign") == "sales").select("call_id").collect()  # doctest: +SKIP
        """  # noqa: E501
        return self._lazy("calls", query, filters, page_size, parse_dates, schema, batch_size)

    def scan_reps(
        self,
        query: Optional[RepsQuery] = None,
        /,
        *,
        page_size: Optional[int] = None,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        batch_size: Optional[int] = None,
        **filters: Unpack[RepsFilters],
    ) -> pl.LazyFrame:
        """Users as a lazy ``polars.LazyFrame`` with filter pushdown.

        Example:
            >>> client.scan_reps(active=True).select("rep_id").collect()  # doctest: +SKIP
        """
        return self._lazy("reps", query, filters, page_size, parse_dates, schema, batch_size)

    def _lazy(
        self,
        endpoint: Literal["calls", "reps"],
        query: Optional[_Query],
        filters: Mapping[str, Any],
        page_size: Optional[int],
        parse_dates: bool,
        schema: Optional[dict[str, Any]],
        batch_size: Optional[int],
    ) -> pl.LazyFrame:
        """:meth:`scan_calls` or :meth:`scan_reps`: the lazy scan of ``converz._scan``."""
        from converz import _scan

        scan = _scan.scan_calls if endpoint == "calls" else _scan.scan_reps
        return scan(
            self,
            query,
            page_size=page_size,
            parse_dates=parse_dates,
            schema=schema,
            batch_size=batch_size,
            **filters,
        )

    def scan_report(
        self,
        query: Optional[ReportQuery] = None,
        /,
        *,
        parse_dates: bool = True,
        schema: Optional[dict[str, Any]] = None,
        batch_size: Optional[int] = None,
        **filters: Unpack[ReportFilters],
    ) -> pl.LazyFrame:
        """A report as a lazy ``polars.LazyFrame`` (filters on grouped columns are pushed).

        Example:
            >>> client.scan_report(groupby="campaign", days=30).collect()  # doctest: +SKIP
        """
        from converz import _scan

        return _scan.scan_report(
            self, query, parse_dates=parse_dates, schema=schema, batch_size=batch_size, **filters
        )

    def sync_calls(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        start_date: Optional[Union[str, _date]] = None,
        overlap_days: int = 3,
        format: Literal["parquet", "delta"] = "parquet",
        full_refresh: bool = False,
        schema: Optional[Mapping[str, Any]] = None,
        **filters: Any,
    ) -> SyncResult:
        """Keep a local day-partitioned dataset of conversations up to date.

        Each run fetches whole days from (watermark - ``overlap_days``) on and replaces every
        day it fetched atomically; see the README's "Incremental sync".

        Args:
            path: The dataset's directory.
            start_date: First day of the dataset (first run, or with ``full_refresh``; a
                full refresh without it rebuilds from the beginning). On a later run, a day
                before the dataset's first fetches the days in between too (a backfill;
                ``fetched_from`` in the result says from when).
            overlap_days: Days before the watermark fetched again, so late and updated rows land.
            format: ``"parquet"`` (hive partitions by day) or ``"delta"`` (needs ``deltalake``).
            full_refresh: Rebuild from ``start_date``, also when the filters changed.
            schema: Column types instead of the inferred ones, as :meth:`calls` takes them;
                part of what defines the dataset, like the filters (not ``call_id``,
                ``date``, ``start_time``).
            **filters: Filters of :meth:`calls` (not ``after``/``before``).

        Returns:
            A ``SyncResult``: rows fetched, partitions written, the new watermark.

        Example:
            >>> res = client.sync_calls("data/calls", start_date="2025-01-01")  # doctest: +SKIP
        """
        from converz._sync import sync_calls

        return sync_calls(
            self,
            path,
            start_date=start_date,
            overlap_days=overlap_days,
            format=format,
            full_refresh=full_refresh,
            schema=schema,
            **filters,
        )

    @check_arguments
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
        keys, key type, no NaN or inf, supported types); bad input raises
        :class:`~converz.InvalidParameterError` and sends nothing. Chunks of at most
        ``chunk_rows`` rows are sent concurrently and retried on 429/5xx/connection loss
        (updates are idempotent). If a chunk still fails, :class:`~converz.PushError` says
        exactly which key ranges were applied, and ``err.result.remaining`` holds the rest.

        Args:
            df: A polars or pandas DataFrame, a pyarrow Table/RecordBatch/RecordBatchReader
                (an IPC file reader, a dataset or scanner too), a :class:`converz.Table`, or
                any Arrow PyCapsule exporter.
            to: ``"calls"`` or ``"reps"``; None infers it (``call_id`` → calls, else
                ``rep_id`` → reps).
            clear: Columns whose nulls mean "clear this value". The API clears values only
                in a body of its own (row-wise), so they go after the values, in separate
                requests (one per value request holding such a null, however the nulls
                fall), each once the values of its rows are applied (never when they failed:
                those rows stay in ``remaining``): a reader in between may see a row with its
                new values and its old value where a clear is still to come.
            chunk_rows: Rows per request, at most 100000 (the API's limit).
            on_duplicate: ``"error"`` refuses repeated keys; ``"last"`` keeps each key's last
                row (the rows it drops are neither sent nor checked).
            timezone: The tenant's IANA time zone; time-zone-aware timestamps are converted to
                it and sent naive. None means UTC.
            dry_run: Validate and encode everything, send nothing. A stream is read by it,
                and gives its rows only once: pushing the same pyarrow ``RecordBatchReader``
                after it is refused, and another stream exporter that then gives no rows is
                pushed as nothing, with a warning. Pass a table to check, then push.
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
        clear = push_arguments(
            to,
            clear,
            chunk_rows,
            on_duplicate,
            timezone,
            dry_run=dry_run,
            strict=strict,
            progress=progress,
        )
        options: _PushOptions = {
            "to": to,
            "clear": clear,
            "chunk_rows": check_int("chunk_rows", chunk_rows),
            "on_duplicate": on_duplicate,
            "timezone": timezone,
            "dry_run": bool(dry_run),
            "strict": bool(strict),
            "progress": None,
        }
        # Before a row is read: a reader is read once (outside trial 61 F4).
        _core.check_push_options(options)
        with stop_said("its data was read"):
            data, stream = arrow_input(df, to)
        with progress_bar(self._pick(progress), "push", unit="chunk") as callback:
            result = _core.push(self._raw, data, {**options, "progress": callback})
        if stream is not None and result.rows == 0:
            warn_empty_stream(stream)
        _log_pushed(result)
        return result

    @check_arguments
    def push_file(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        to: Optional[Target] = None,
        schema: Optional[Mapping[str, Any]] = None,
        clear: Optional[Sequence[str]] = None,
        chunk_rows: int = 100_000,
        on_duplicate: Literal["error", "last"] = "error",
        timezone: Optional[str] = None,
        dry_run: bool = False,
        strict: bool = False,
        progress: Optional[bool] = None,
        force_old: bool = False,
    ) -> PushResult:
        """Push the rows of a file, as ``converz push`` does: :meth:`push_updates` of a file.

        A CSV or NDJSON file's types are inferred, so ``schema=`` gives a column its type
        instead (``{"code": "string"}`` keeps ``00050`` as text; types as a fetch's ``schema=``
        spells them); a value its type would change is refused, naming its line. If some
        chunks fail, or the push is stopped, the rows not applied are written beside the file
        as ``NAME.remaining.EXT`` with the options they are to be sent with
        (``NAME.remaining.EXT.json``), and the error's hint is the call that resumes: a push
        of that file with options that would send other values is refused before any request.
        A complete push removes a remaining file converz wrote: the one pushed, or one left by
        an earlier push of these same bytes; never a ``*.remaining.*`` without its record.
        While one left by a push of other bytes (an earlier input) is there, the file is
        refused before any request: its rows were never applied, and a push of the file that
        stopped too would have to write its own there.

        Args:
            path: A ``.parquet``, ``.csv``, ``.ndjson``/``.jsonl`` or ``.arrow``/``.feather``
                file.
            to: ``"calls"`` or ``"reps"``; None infers it from the key column.
            schema: Types of CSV or NDJSON columns instead of the inferred ones (Parquet and
                Arrow files carry their own).
            clear: Columns whose nulls mean "clear this value" (sent after the values, in
                requests of their own, as with :meth:`push_updates`).
            chunk_rows: Rows per request, at most 100000.
            on_duplicate: ``"error"`` refuses repeated keys; ``"last"`` keeps each key's last
                row (the rows it drops are neither sent nor checked).
            timezone: The tenant's IANA time zone, for time-zone-aware timestamps.
            dry_run: Validate and encode everything, send nothing (no file is removed).
            strict: Raise if the API reports keys it does not know.
            progress: Override the client's progress setting.
            force_old: Push a remaining file whose input changed while it was pushed: its
                rows are the older version's, and write over anything pushed since.

        Returns:
            A :class:`converz.PushResult`.

        Raises:
            InvalidParameterError: Before any request: the file is missing or not of its
                format, a value does not fit its ``schema=`` type, it is a remaining file
                whose recorded options differ from these, left for another tenant than this
                client's, or (without ``force_old``) of an input that changed while pushed; or
                ``NAME.remaining.EXT`` beside it holds rows a push of other bytes did not apply
                (the hint: push them first, or delete them).
            PushError: Some chunks were not applied; the message names the remaining file,
                the hint the call (and the command) that pushes it.

        Example:
            >>> res = client.push_file("codes.csv", schema={"code": "string"})  # doctest: +SKIP
            >>> # after a PushError, its hint, e.g.:
            >>> res = client.push_file(  # doctest: +SKIP
            ...     "codes.remaining.csv", to="calls", schema={"code": "string"}
            ... )
        """
        from converz._cli import push_file

        if not isinstance(path, (str, os.PathLike)):
            raise wrong_type("path", "a str or path", path)
        if schema is not None and not isinstance(schema, Mapping):
            raise wrong_type("schema", "a mapping of column to type, or None", schema)
        if isinstance(path, (str, os.PathLike)):
            check_path("path", path)
        # Before a remaining file's record is compared with them (push_updates checks them
        # again): a wrong type is named, not a TypeError from the comparison.
        clear = push_arguments(
            to,
            clear,
            chunk_rows,
            on_duplicate,
            timezone,
            dry_run=dry_run,
            strict=strict,
            progress=progress,
        )
        return cast(
            PushResult,
            push_file(
                self,
                os.fspath(path),
                schema=dict(schema) if schema is not None else None,
                on_note=logger.info,
                to=to,
                clear=clear,
                chunk_rows=chunk_rows,
                on_duplicate=on_duplicate,
                timezone=timezone,
                dry_run=dry_run,
                strict=strict,
                progress=progress,
                force_old=bool(force_old),
            ),
        )

    def update_calls(self, df: Any, **kwargs: Any) -> PushResult:
        """:meth:`push_updates` to conversations (``to="calls"``)."""
        return self.push_updates(df, to="calls", **kwargs)

    def update_reps(self, df: Any, **kwargs: Any) -> PushResult:
        """:meth:`push_updates` to users (``to="reps"``)."""
        return self.push_updates(df, to="reps", **kwargs)

    def _pick(self, progress: Optional[bool]) -> Optional[bool]:
        return self._progress if progress is None else bool(progress)


def _log_pushed(result: PushResult) -> None:
    """Logs a push's result at INFO.

    A stop raised there (Ctrl-C while a logging handler runs, the CLI's SIGTERM) comes after
    the push ended: it is raised with a ``PushError`` cause that carries the result, as a stop
    during the push is, so what was applied is not lost (outside trial 37 F1: the stop came
    bare, and the result with it was gone).
    """
    try:
        logger.info("%s", result)
    except BaseException as stop:
        said = type(stop).__name__.lstrip("_")
        # Its `remaining` a table without rows, as after any stop once every chunk was
        # applied, so the documented resume sends nothing (outside trial 67 F4).
        raise stop from PushError(
            f"the push was stopped ({said}) after it ended: {result}",
            result=result._ended(),
            hint="the push ended before the stop; its result says what it did",
        )
