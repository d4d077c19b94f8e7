"""Lazy polars scans of the listing endpoints: ``scan_calls``, ``scan_reps``, ``scan_report``.

Each returns a ``polars.LazyFrame`` backed by ``polars.io.plugins.register_io_source``
(unstable in polars, hence the exact pin in requirements-dev.txt). When polars runs the plan,
the scan turns what it can of the plan into request parameters (see
:mod:`converz._pushdown`): the projection becomes ``columns=``, simple filters become the
API's filters, ``head(n)`` stops paging once ``n`` rows arrived. It then streams pages through
the one listing engine (``iter_calls`` / ``iter_reps``), so every row arrives exactly once, and
applies the whole predicate to every batch: the result is always exactly the eager fetch
followed by the same polars query.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Optional

from converz._args import check_flag, check_int, wrong_type
from converz._log import logger
from converz._pushdown import Pushdown, narrow_lists, push_predicate
from converz._query import CallsQuery, ReportQuery, RepsQuery, _Query, list_filters
from converz._schema import (
    CALL_KEY,
    REP_KEY,
    align,
    calls_schema,
    guessed_columns,
    report_schema,
    reps_schema,
)
from converz._schema_types import override_types, resolve_type
from converz.exceptions import InvalidParameterError, InvalidParameterTypeError

if TYPE_CHECKING:
    import polars as pl

    from converz._client import Client

__all__ = ["scan_calls", "scan_report", "scan_reps"]


# The list filters that name a column, which a pushed-down filter on that column narrows.
# Not vendor_call_id: the API matches the generated id, and a push may have changed the
# column (see converz._pushdown); nor, on /reps, active.
_CALLS_LISTS = tuple(
    f for f in list_filters(CallsQuery) if f not in ("metric", "columns", "vendor_call_id")
)
_REPORT_LISTS = tuple(f for f in list_filters(ReportQuery) if f not in ("metric", "groupby"))
_REPS_LISTS = ("rep_id", "department")
# Rows of the probe that finds custom metrics and the types `schema=` forces.
_PROBE_ROWS = 100
_DEFAULT_PAGE_SIZE = 20_000

# (request kwargs, or None when no row can match) from the base filters and a pushdown.
Plan = Callable[[dict[str, Any], Pushdown], Optional[dict[str, Any]]]


def scan_calls(
    client: Client,
    query: Any = None,
    /,
    *,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    batch_size: Optional[int] = None,
    **filters: Any,
) -> pl.LazyFrame:
    """Conversations as a lazy polars frame, with projection, filter and limit pushdown.

    One small request (the first rows of the query) runs now, to learn custom metric columns
    and the types ``schema=`` forces; the rest runs when the frame is collected. Then
    ``select`` becomes ``columns=``, filters with ``==``, ``is_in`` and ``&`` on ``rep_id``,
    ``vendor``, ``campaign``, ``subcampaign`` and ``department`` become those filters, and
    ``head(n)`` stops paging once ``n`` rows arrived. Filters that cannot be pushed run in
    polars on each batch, so the result is exactly ``client.calls(...)`` followed by the same
    query. Filters on ``date``, ``start_time`` and ``vendor_call_id`` run in polars: the
    API's ``start_date``/``after``/``vendor_call_id`` match the call's recorded start and
    id, not a value a push changed; give ``start_date=`` etc. to the scan itself to narrow
    the request, as in ``client.calls(...)``. Pages stream: ``collect(engine="streaming")``
    and ``sink_*`` never hold the whole result.

    The schema is fixed before the rows are read: a later page whose values the probe's
    types cannot hold as sent (fractions in an integer column, a struct field or text the
    probe did not see, a value in a column null on the probe's rows) raises
    :class:`converz.DecodeError` naming the column and the fix (a ``schema=`` type, or the
    eager fetch for a list or struct), never a value changed. A custom column that first
    appears after the probed rows is left out, with a warning; a ``select()`` naming it fails
    in polars (``ColumnNotFoundError``): name it in ``schema=`` to have it.

    Args:
        client: The :class:`converz.Client` to fetch with.
        query: A :class:`converz.CallsQuery`, or None to use the keyword filters.
        page_size: Rows per page; None uses the client's setting.
        parse_dates: Turn ``YYYY-MM-DD`` into ``pl.Date`` and ``YYYY-MM-DD HH:MM:SS``
            (``.fff`` or ``.ffffff`` after it) into ``pl.Datetime("us")``; other spellings
            stay text, as sent.
        schema: Force column types, e.g. ``{"qa_score": "float64"}``.
        batch_size: Rows per batch handed to polars; None: one batch per page (or polars'
            own hint when it gives one).
        **filters: The filters of :meth:`converz.Client.calls` (``start_date``, ``campaign``,
            ``columns``, ...), when ``query`` is None.

    Returns:
        A ``polars.LazyFrame`` whose schema is the query's documented columns plus custom
        metrics.

    Example:
        >>> import polars as pl
        >>> lf = client.scan_calls(start_date="2025-07-01")  # doctest: +SKIP
        >>> (
        ...     lf.filter(pl.col("campaign") == "sales")  # sent as campaign=sales
        ...     .select("call_id", "duration")  # sent as columns=call_id,duration
        ...     .collect()
        ... )  # doctest: +SKIP
    """
    base = _base_filters(query, filters, CallsQuery, "scan_calls")
    page_size, batch_size = _check_options(page_size, parse_dates, batch_size)
    fetch = {
        "page_size": _page_size(client, page_size),
        "parse_dates": parse_dates,
        "schema": schema,
    }
    _check_fetch(client.iter_calls, base, fetch)
    probe = _probe(client.iter_calls, base, fetch)
    full = calls_schema(base, probe, parse_dates, override_types(schema))
    lists: dict[str, Any] = {c: full[c] for c in _CALLS_LISTS if c in full}
    guessed = guessed_columns("calls", full, probe, schema)

    def plan(request: dict[str, Any], pushed: Pushdown) -> Optional[dict[str, Any]]:
        return request if narrow_lists(request, pushed, lists) else None

    return _register(
        client.iter_calls,
        "/calls",
        base,
        fetch,
        full,
        plan,
        lists,
        guessed,
        batch_size,
        CALL_KEY,
        shown=client._shown_warning,
    )


def scan_reps(
    client: Client,
    query: Any = None,
    /,
    *,
    page_size: Optional[int] = None,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    batch_size: Optional[int] = None,
    **filters: Any,
) -> pl.LazyFrame:
    """Users (reps) as a lazy polars frame, with filter and limit pushdown.

    Like :func:`scan_calls`: filters with ``==``, ``is_in`` and ``&`` on ``rep_id`` and
    ``department`` are sent as the API's filters; ``head(n)`` stops paging early; everything
    else runs in polars on each page (``active`` too: the API filters the original flag, not
    one a push set). ``/reps`` has no column selection, so projections run in polars.

    Args:
        client: The :class:`converz.Client` to fetch with.
        query: A :class:`converz.RepsQuery`, or None to use the keyword filters.
        page_size: Rows per page; None uses the client's setting.
        parse_dates: Turn ISO dates into ``pl.Date``.
        schema: Force column types.
        batch_size: Rows per batch handed to polars; None: one batch per page.
        **filters: ``rep_id``, ``department``, ``active``, when ``query`` is None.

    Returns:
        A ``polars.LazyFrame``.

    Example:
        >>> import polars as pl
        >>> lf = client.scan_reps()  # doctest: +SKIP
        >>> lf.filter(pl.col("active") == 1).group_by("team").len().collect()  # doctest: +SKIP
    """
    base = _base_filters(query, filters, RepsQuery, "scan_reps")
    page_size, batch_size = _check_options(page_size, parse_dates, batch_size)
    fetch = {
        "page_size": _page_size(client, page_size),
        "parse_dates": parse_dates,
        "schema": schema,
    }
    _check_fetch(client.iter_reps, base, fetch)
    probe = _probe(client.iter_reps, base, fetch)
    full = reps_schema(probe, parse_dates, override_types(schema))
    lists: dict[str, Any] = {c: full[c] for c in _REPS_LISTS if c in full}
    guessed = guessed_columns("reps", full, probe, schema)

    def plan(request: dict[str, Any], pushed: Pushdown) -> Optional[dict[str, Any]]:
        return request if narrow_lists(request, pushed, lists) else None

    return _register(
        client.iter_reps,
        "/reps",
        base,
        fetch,
        full,
        plan,
        lists,
        guessed,
        batch_size,
        REP_KEY,
        shown=client._shown_warning,
    )


def scan_report(
    client: Client,
    query: Any = None,
    /,
    *,
    parse_dates: bool = True,
    schema: Optional[dict[str, Any]] = None,
    batch_size: Optional[int] = None,
    **filters: Any,
) -> pl.LazyFrame:
    """Aggregated analytics as a lazy polars frame; filters on grouped dimensions are pushed.

    ``/report`` is one request, made when the frame is collected (none before). Its schema
    follows from ``groupby`` and ``metric``. A filter with ``==``/``is_in`` on a grouped
    dimension (``rep_id``, ``vendor``, ``campaign``, ``subcampaign``, ``department``) is sent
    as the API's filter: it keeps exactly the same groups with the same values. Dates are not
    pushed (they would change the reporting period and ``half``).

    Args:
        client: The :class:`converz.Client` to fetch with.
        query: A :class:`converz.ReportQuery`, or None to use the keyword filters.
        parse_dates: Turn ISO dates into ``pl.Date``.
        schema: Force column types: type names such as ``"float64"`` or Arrow types.
        batch_size: Rows per batch handed to polars.
        **filters: The parameters of :meth:`converz.Client.report`, when ``query`` is None.

    Returns:
        A ``polars.LazyFrame``.

    Example:
        >>> import polars as pl
        >>> lf = client.scan_report(groupby=["date", "campaign"], days=90)  # doctest: +SKIP
        >>> lf.filter(pl.col("campaign") == "sales").collect()  # doctest: +SKIP
    """
    base = _base_filters(query, filters, ReportQuery, "scan_report")
    _, batch_size = _check_options(None, parse_dates, batch_size)
    full = report_schema(base, override_types(schema), parse_dates)
    lists: dict[str, Any] = {c: full[c] for c in _REPORT_LISTS if c in full}

    def fetch_report(**request: Any) -> Iterator[Any]:
        request.pop("page_size", None)
        yield client.report(**request)

    def plan(request: dict[str, Any], pushed: Pushdown) -> Optional[dict[str, Any]]:
        return request if narrow_lists(request, pushed, lists) else None

    fetch = {"parse_dates": parse_dates, "schema": schema}
    return _register(
        fetch_report,
        "/report",
        base,
        fetch,
        full,
        plan,
        lists,
        frozenset(),
        batch_size,
        None,
        shown=client._shown_warning,
    )


def _register(
    fetch_pages: Callable[..., Any],
    endpoint: str,
    base: dict[str, Any],
    fetch: dict[str, Any],
    full: dict[str, pl.DataType],
    plan: Plan,
    lists: Mapping[str, Any],
    guessed: frozenset[str],
    batch_size: Optional[int],
    key: Optional[str],
    *,
    shown: Callable[[str], str],
) -> pl.LazyFrame:
    import polars as pl
    from polars.io.plugins import register_io_source

    def source(
        with_columns: Optional[list[str]],
        predicate: Optional[pl.Expr],
        n_rows: Optional[int],
        hint: Optional[int],
    ) -> Iterator[pl.DataFrame]:
        # polars passes a row limit beside a predicate for `head(n).filter(...)` only, meaning
        # the first n rows of the source, then the predicate (for `filter(...).head(n)` it
        # passes no limit). The API's filters would pick other rows, so under a limit the
        # predicate runs here, on the first n rows (outside trial 31 F3: the filter was sent
        # and n matching rows returned, most of them past the first n).
        pushed = push_predicate(None if n_rows is not None else predicate, lists)
        request = plan(dict(base), pushed)
        wanted = list(full) if with_columns is None else list(with_columns)
        if request is None or n_rows == 0:
            yield pl.DataFrame(schema={c: full[c] for c in wanted})
            return
        if endpoint == "/calls" and with_columns is not None:
            _project(request, full, wanted, predicate, key)
        # The pages go to polars: their text columns become polars' views on the threads that
        # decode them, while later pages download, instead of here, one page at a time.
        options = {**fetch, "frame": "polars"}
        if n_rows is not None and endpoint != "/report":
            size = options.get("page_size") or _DEFAULT_PAGE_SIZE
            options["page_size"] = max(1, min(size, n_rows))
        logger.debug("scan GET %s %s", endpoint, request)
        size = batch_size or hint
        remaining = n_rows
        unseen: set[str] = set()
        for table in fetch_pages(**request, **options):
            page = table.to_polars()
            late = [c for c in page.columns if c not in full and c not in unseen]
            if late:
                # The frame's schema was fixed by the probe; polars cannot take a new column.
                unseen.update(late)
                # It names the server's columns: redacted of the key as its warnings are.
                left_out = _left_out(endpoint, {c: page.schema[c] for c in late})
                logger.warning("%s", shown(left_out))
            frame = align(page, full, guessed, f"client.{endpoint.strip('/')}()")
            if remaining is not None:
                frame = frame.head(remaining)
                remaining -= frame.height
            if predicate is not None:
                frame = frame.filter(predicate)
            frame = frame.select(wanted)
            yield from frame.iter_slices(size) if size else (frame,)
            if remaining == 0:
                return  # the stream is dropped here: pages still in flight are cancelled

    labels = {
        "explain_name": f"converz {endpoint}",
        "explain_detail": ", ".join(f"{k}={v!r}" for k, v in base.items()) or None,
    }
    # Older polars (the `polars` extra allows 1.x) has no explain labels.
    accepted = inspect.signature(register_io_source).parameters
    return register_io_source(
        source,
        schema=pl.Schema(full),
        **{k: v for k, v in labels.items() if k in accepted},  # type: ignore[arg-type]
    )


def _left_out(endpoint: str, late: Mapping[str, pl.DataType]) -> str:
    """The warning for custom columns first seen after the probed rows, left out of the frame.

    It names the fix, ``schema=`` with each column's type: a ``select()`` or filter naming such
    a column fails in polars (``ColumnNotFoundError``) before the scan runs, where converz
    cannot add a word (outside trial 23d: only the README said ``schema=`` has them).
    """

    def kind(name: str, dtype: pl.DataType) -> str:
        try:
            return resolve_type(name, dtype).name
        except InvalidParameterError:  # a list or struct, kept as its JSON text; or nulls
            return "str"

    names = ", ".join(map(repr, late))
    example = ", ".join(f"{name!r}: {kind(name, dtype)!r}" for name, dtype in late.items())
    return (
        f"scan of {endpoint}: column(s) {names} first appear after the rows the scan's schema "
        "was probed on, so the frame leaves them out, and a select() or filter naming them "
        "fails in polars (ColumnNotFoundError); name them in the scan's schema= to have them, "
        f"e.g. schema={{{example}}}, or read every column with client.{endpoint.strip('/')}()"
    )


def _page_size(client: Client, page_size: Optional[int]) -> Optional[int]:
    # The client's own setting, so head(n) can shrink pages below it (never above).
    return page_size if page_size is not None else getattr(client, "_page_size", None)


def _project(
    request: dict[str, Any],
    full: Mapping[str, Any],
    wanted: list[str],
    predicate: Optional[pl.Expr],
    key: Optional[str],
) -> None:
    """Ask only for the columns the plan reads (and the key, which de-duplicates rows)."""
    needed = set(wanted) | set(predicate.meta.root_names() if predicate is not None else ())
    if key is not None:
        needed.add(key)
    columns = [c for c in full if c in needed]
    if len(columns) < len(full):
        request["columns"] = columns


def _base_filters(
    query: Any, filters: dict[str, Any], query_type: type[_Query], name: str
) -> dict[str, Any]:
    """The scan's filters as keyword arguments, from a query value or keywords (not both).

    The filters are checked now, by building the query (a scan of ``/report`` sends nothing
    before it is collected, so nothing else would check them before then). The query's own
    normalised values are returned, not the ones given: a filter given as a generator was
    consumed by that check, and would otherwise reach the fetch empty.
    """
    if query is not None:
        if filters:
            raise InvalidParameterTypeError(
                f"{name}() takes a query value or keyword filters, not both", parameter="query"
            )
        # A query value, or anything that offers one; not a query of another endpoint, whose
        # fields were scanned as this one's (outside trial 21: scan_reps(CallsQuery()) read
        # every rep, scan_calls(ReportQuery(days=7)) blamed `days`), as calls() refuses it.
        other = isinstance(query, _Query) and not isinstance(query, query_type)
        if other or not hasattr(query, "to_kwargs"):
            raise wrong_type("query", f"a converz.{query_type.__name__}", query)
        filters = dict(query.to_kwargs())
    for key in filters:
        if key not in query_type._kinds:
            raise InvalidParameterTypeError(
                f"{name}() got an unexpected keyword argument {key!r}", parameter=key
            )
    return query_type(**filters).to_kwargs()


def _check_options(
    page_size: object, parse_dates: object, batch_size: object
) -> tuple[Optional[int], Optional[int]]:
    """Checks the scan's own arguments when it is built rather than when it is collected.

    Returns ``page_size`` and ``batch_size`` as plain ints (or None).
    """
    page_size = check_int("page_size", page_size, optional=True)
    check_flag("parse_dates", parse_dates)
    batch_size = check_int("batch_size", batch_size, optional=True)
    # Up to what a row count can be (polars and pyarrow count rows in 64 bits): past it, an
    # OverflowError naming nothing came out of collect() (outside trial 19).
    if batch_size is not None and not 1 <= batch_size <= sys.maxsize:
        raise InvalidParameterError(
            f"invalid parameter `batch_size`: must be between 1 and {sys.maxsize}, "
            f"got {batch_size}",
            parameter="batch_size",
        )
    return page_size, batch_size


def _check_fetch(
    fetch_pages: Callable[..., Any], base: dict[str, Any], fetch: dict[str, Any]
) -> None:
    """Checks every option as the fetch at ``collect()`` will, before the probe; sends nothing.

    The probe asks for its own page size, so a bad ``page_size`` (0, -1, over 1,000,000)
    would pass it, after its requests, and fail only when the frame is collected. A stream
    sends its first request when it is first read; this one is never read.
    """
    fetch_pages(**base, **fetch)


def _probe(
    fetch_pages: Callable[..., Any], base: dict[str, Any], fetch: dict[str, Any]
) -> Optional[pl.Schema]:
    """The schema of the query's first few rows (custom columns, forced types), or None.

    It also checks every parameter the way the fetch will, so a bad one fails here.
    """
    import polars as pl

    options = {**fetch, "page_size": _PROBE_ROWS}
    first = next(iter(fetch_pages(**base, **options)), None)
    # Leaving the loop drops the stream, which cancels the probe's other pages.
    return None if first is None else pl.DataFrame(first).schema
