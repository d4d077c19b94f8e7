"""Incremental sync of conversations into a local dataset partitioned by day.

Layout (``format="parquet"``)::

    DIR/date=2025-07-01/part-0.parquet     one file per day, one schema across the dataset
    DIR/_converz_sync.json                 state: query fingerprint and watermark

Each run fetches from (watermark - ``overlap_days``) on, in whole days, so late and updated
rows land, and replaces every day it fetched. A run is crash-safe: new files are written under
``DIR/_converz_staging`` (``_sync_stage``), then the run's commit plan, and each day is moved
into place with one atomic rename; the state is replaced (also atomically) only after every day
is in place. A run killed before its plan was written moved nothing, and the next run starts
from the old watermark; one killed later leaves its plan, which the next run finishes first
(``_sync_commit``). Re-running gives the same dataset.

``format="delta"`` writes a Delta Lake table (``pip install 'converz[delta]'``): the fetched
days replace the table's rows for those days with one predicate overwrite, one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import importlib
import operator
import os
import re
import shutil
import signal
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from converz import _sync_carry, _sync_commit, _sync_delta, _sync_stage
from converz._args import check_flag, check_int, check_path, wrong_type
from converz._log import logger
from converz._plan import _in_task
from converz._query import CallsQuery, list_filters
from converz._schema import unknown_schema_keys, unseen_schema_warnings
from converz._schema_types import check_schema, resolve_type
from converz._sync_state import (
    DAYS_SHOWN,
    STAGING_DIR,
    STATE_FILE,
    STATE_VERSION,
    check_layout,
    check_state,
    load_state,
    query_fingerprint,
    save_state,
    write_durably,
)
from converz.exceptions import (
    ConverzError,
    DecodeError,
    InvalidParameterError,
    InvalidParameterTypeError,
)

if TYPE_CHECKING:
    from converz._client import Client

__all__ = ["SyncResult", "sync_calls"]

# What defines a synced dataset: its last day and the list filters (it manages the start).
_FILTERS = ("end_date", *list_filters(CallsQuery))
# Columns the dataset needs whatever `columns=` says: the key, the partition and the watermark.
_REQUIRED_COLUMNS = ("call_id", "date", "start_time")


# The largest overlap_days: a century, far more than any dataset needs fetched again.
_MAX_OVERLAP_DAYS = 36_500
# How hints name a full refresh (the CLI shows the flag once).
_REBUILD = _sync_delta.REBUILD


class _DayRange:
    """``<365 days: 2025-01-01 .. 2025-12-31>``, in a repr."""

    def __init__(self, days: tuple[_dt.date, ...]) -> None:
        self._days = days

    def __repr__(self) -> str:
        first, last = min(self._days), max(self._days)
        return f"<{len(self._days)} days: {first.isoformat()} .. {last.isoformat()}>"


@dataclasses.dataclass(frozen=True, repr=False)
class SyncResult:
    """What one sync run did.

    Attributes:
        path: The dataset directory.
        format: ``"parquet"`` or ``"delta"``.
        rows: Rows fetched (and written) by this run.
        fetched_from: First day fetched (None: from the beginning of the data).
        partitions_written: Days written (replaced or new), ascending.
        partitions_deleted: Days removed because the fetch found no rows for them any more.
        watermark: The latest ``start_time`` in the dataset after the run.
        full_refresh: True when the run rebuilt the dataset from ``fetched_from``.
    """

    path: str
    format: str
    rows: int
    fetched_from: Optional[_dt.date]
    partitions_written: tuple[_dt.date, ...]
    partitions_deleted: tuple[_dt.date, ...]
    watermark: Optional[_dt.datetime]
    full_refresh: bool

    def __repr__(self) -> str:
        """Every field; a long list of days as its count and range.

        Outside trial 15: a year's sync printed 365 ``datetime.date(...)``.
        """
        fields = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple) and len(value) > DAYS_SHOWN:
                value = _DayRange(value)
            fields.append(f"{field.name}={value!r}")
        return f"SyncResult({', '.join(fields)})"

    def __str__(self) -> str:
        since = self.fetched_from.isoformat() if self.fetched_from else "the beginning"
        return (
            f"synced {self.rows:,} rows since {since} into {self.path} ({self.format}): "
            f"{len(self.partitions_written)} day partitions written, "
            f"{len(self.partitions_deleted)} deleted, watermark {self.watermark}"
        )


def _normalise(
    start_date: Any, filters: dict[str, Any]
) -> tuple[Optional[_dt.date], dict[str, Any]]:
    """The first day and the filters, checked as ``calls()`` checks them, in a canonical form.

    They are built into a :class:`~converz.CallsQuery`, so a wrong type is the same
    :class:`~converz.InvalidParameterTypeError` (``campaign=5``, ``campaign=["sales", 5]``) and
    a bad value the same error as a fetch's (an empty value, a comma inside one), before the
    directory is touched: a run that would fail must not claim or change the dataset first.
    Lists become sorted lists of strings (the fingerprint must not depend on their order),
    ``end_date`` a date.
    """
    for name in ("after", "before"):
        if filters.get(name) is not None:
            raise InvalidParameterError(
                f"sync fetches whole days and manages the time range itself; `{name}` is not "
                "supported",
                parameter=name,
                hint="use start_date= (first sync) and end_date=",
            )
    unknown = sorted(set(filters) - set(_FILTERS) - {"after", "before"})
    if unknown:
        raise InvalidParameterTypeError(
            f"sync_calls() got an unexpected keyword argument {unknown[0]!r}; sync takes "
            f"{', '.join(_FILTERS)}",
            parameter=unknown[0],
        )
    given = {name: value for name, value in filters.items() if name in _FILTERS}
    try:
        query = CallsQuery(start_date=start_date, **given)
    except InvalidParameterError as err:
        raise _whole_days(err) from None
    out: dict[str, Any] = {}
    for name in _FILTERS:
        if given.get(name) is None:
            continue  # (a filter given as [] stays in the fingerprint, as it always has)
        value = getattr(query, name)
        out[name] = value if name == "end_date" else sorted(value)
    if "columns" in out:
        out["columns"] = sorted(set(out["columns"]) | set(_REQUIRED_COLUMNS))
    return query.start_date, out


def _whole_days(err: InvalidParameterError) -> InvalidParameterError:
    """``err``, or for a date with a time of day, the same refusal in sync's words.

    The query's own advice, "use after=/before= for times", sends the caller to filters sync
    refuses (outside trial 21b): sync fetches whole days, so the date alone is the way.
    """
    found = re.search(r'"([^"]*)" has a time of day', str(err))
    if found is None or "after=/before=" not in str(err):
        return err
    return InvalidParameterError(
        f"{err.parameter}={found.group(1)!r} has a time of day; sync fetches whole days",
        parameter=err.parameter,
        hint=f"pass the date alone, {found.group(1)[:10]!r} (a datetime's .date())",
    )


def _check_options(overlap_days: object, format: object, full_refresh: object) -> int:
    """The run's own options (a wrong type is also a ``TypeError``); ``overlap_days`` as an int."""
    check_int("overlap_days", overlap_days)
    days = operator.index(overlap_days)  # type: ignore[arg-type]
    if days < 0:
        raise InvalidParameterError(
            f"invalid parameter `overlap_days`: must be between 0 and {_MAX_OVERLAP_DAYS}, "
            f"got {days!r}",
            parameter="overlap_days",
        )
    if days > _MAX_OVERLAP_DAYS:
        # A larger one overflowed the date arithmetic after the checks (outside trial 21b).
        raise InvalidParameterError(
            f"invalid parameter `overlap_days`: must be between 0 and {_MAX_OVERLAP_DAYS} "
            f"(a century), got {days!r}",
            parameter="overlap_days",
            hint=f"to fetch every day again, rebuild with {_REBUILD}",
        )
    if not isinstance(format, str):
        raise wrong_type("format", "'parquet' or 'delta'", format)
    if format not in ("parquet", "delta"):
        raise InvalidParameterError(
            f"{format!r} is not a sync format; use 'parquet' or 'delta'", parameter="format"
        )
    check_flag("full_refresh", full_refresh)
    if format == "delta":
        # Here, not when the run commits: found only then, the whole range had been fetched and
        # staged first (outside trial 82 F0).
        try:
            importlib.import_module("deltalake")
        except ImportError as err:
            raise ImportError(
                "format='delta' needs deltalake: pip install 'converz[delta]' (nothing was sent "
                "or written)"
            ) from err
    return days


def _check_directory(root: Path) -> None:
    """``root`` is a directory or can become one: no file where a directory must be."""
    dangling = next((p for p in (root, *root.parents) if p.is_symlink() and not p.exists()), None)
    if dangling is not None:
        raise InvalidParameterError(
            f"{dangling} is a symbolic link to {os.readlink(dangling)}, which does not exist; "
            "sync keeps its dataset in a directory",
            parameter="path",
            hint="create the directory the link points to, or pass another path",
        )
    blocker = next((p for p in (root, *root.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        where = "is a file" if blocker == root else f"is inside {blocker}, which is a file"
        raise InvalidParameterError(
            f"{root} {where}; sync keeps its dataset in a directory",
            parameter="path",
            hint="pass the path of a new or existing directory",
        )


def _held_from(state: Optional[dict[str, Any]]) -> Optional[_dt.date]:
    """The first day the dataset was synced from (None: from the beginning of the data)."""
    first = (state or {}).get("start_date")
    return _dt.date.fromisoformat(first) if first else None


def _first_partition(root: Path, format: str) -> Optional[_dt.date]:
    """The first day directory of a Parquet dataset whose state could not be read.

    None: there is none, or the dataset is a Delta table.
    """
    if format != "parquet":
        return None
    days = []
    for entry in root.glob("date=*"):
        with contextlib.suppress(ValueError):
            if (entry / "part-0.parquet").is_file():
                days.append(_dt.date.fromisoformat(entry.name[5:]))
    return min(days, default=None)


def _fetch_start(
    state: Optional[dict[str, Any]], start_date: Optional[_dt.date], overlap_days: int, full: bool
) -> Optional[_dt.date]:
    """The first day this run fetches: the watermark less ``overlap_days``, or earlier.

    A ``start_date`` before the first day the dataset was synced from asks for days it never
    had: the run fetches from there (found by the outside trial: they were silently never
    fetched).
    """
    watermark = None if (full or state is None) else state.get("watermark")
    if watermark is None:
        return start_date
    # Not after the present: a state's watermark in the future (hand-edited, or saved before
    # the watermark was capped) would skip the overlap's days (outside trial 21c).
    now = _utc_now()
    mark = min(_dt.datetime.fromisoformat(watermark), now)
    since = mark.date() - _dt.timedelta(days=overlap_days)
    held = _held_from(state)
    if start_date is not None and held is not None and start_date < held:
        return start_date
    # Never before the first day the dataset holds: a run without start_date= fetched the
    # overlap's days before it, which the dataset was never asked for (outside trial 22b).
    floor = start_date if start_date is not None else held
    return max(since, floor) if floor is not None else since


def _dataset_start(
    state: Optional[dict[str, Any]], start_date: Optional[_dt.date], replace_all: bool
) -> Optional[_dt.date]:
    """The first day the dataset holds after this run.

    An incremental run keeps the days before a later ``start_date``, so that one does not
    move it.
    """
    if replace_all:
        return start_date
    held = _held_from(state)
    if held is None or start_date is None:
        return held
    return min(held, start_date)


def _check_end(
    state: Optional[dict[str, Any]],
    since: Optional[_dt.date],
    end_date: Optional[_dt.date],
    overlap_days: int,
) -> None:
    """Refuses an ``end_date`` before the first day a later run fetches, saying why.

    That day is not the caller's ``start_date`` but the dataset's watermark less
    ``overlap_days``, so the query's own "start_date is after end_date" would name a date
    the caller never gave. (A first run's start_date and end_date are checked by the query.)
    """
    if state is None or since is None or end_date is None or since <= end_date:
        return
    raise InvalidParameterError(
        f"end_date={end_date} is before {since}, the first day this run fetches: an "
        f"incremental run starts at the dataset's watermark ({state.get('watermark')}, the "
        f"latest start_time synced) less overlap_days={overlap_days}, not at the first day "
        "synced",
        parameter="end_date",
        # `name=` forms, which the CLI says as its flags (outside trial 21b, F16).
        hint=f"give end_date= on or after {since}, or full_refresh=True (--full-refresh) to "
        "rebuild the dataset from start_date= up to end_date=",
    )


@contextlib.contextmanager
def _one_run_at_a_time(root: Path) -> Iterator[None]:
    """Holds an exclusive lock on the directory ``root`` for one run.

    Released when the process ends, also by SIGKILL. Two runs at once (an overlapping cron)
    moved each other's staged files away and failed with bare file errors (outside trial 20).
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; runs are not guarded against each other
        yield
        return
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConverzError(
                f"another sync run is writing {root} (an overlapping schedule?); this run "
                "stopped before fetching or writing anything",
                hint="let the other run finish, then run again (it fetches from the watermark "
                "the other run leaves)",
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(root))
        except FileNotFoundError:
            same = False
        if not same:
            # Another run removed the directory after this one opened it (and may have made it
            # again): the lock held is not the dataset's.
            raise ConverzError(
                f"another sync run removed or replaced {root} while this run started; this run "
                "stopped before fetching or writing anything",
                hint="run again",
            )
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """A Ctrl-C (SIGINT) or SIGTERM during the block is acted on once it ends.

    The block moves the fetched days into place one rename at a time; stopped half-way, a
    column the run widened was at two types across the days, and a scan of the dataset failed
    until the next run (outside trials 20 and 20b: SIGTERM is what `timeout`, systemd, docker
    and Airflow send). A SIGKILL can still do that; the next run mends it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = [signal.SIGINT, *([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])]
    previous: dict[int, Any] = {
        int(signum): signal.signal(signum, lambda got, _frame: caught.append(got))
        for signum in wanted
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    for signum in dict.fromkeys(caught):
        handler = previous[signum]
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL and signum == signal.SIGINT:
            raise KeyboardInterrupt
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)  # the default action: the process ends


def sync_calls(
    client: Client,
    path: Union[str, os.PathLike[str]],
    *,
    start_date: Union[_dt.date, str, None] = None,
    overlap_days: int = 3,
    format: str = "parquet",
    full_refresh: bool = False,
    schema: Optional[Mapping[str, Any]] = None,
    **filters: Any,
) -> SyncResult:
    """Keep a local dataset of conversations up to date; see the module docs.

    Args:
        client: The client to fetch with.
        path: The dataset directory (created if missing).
        start_date: First day of data on the first run (None: all the API has). Later runs
            start from the watermark, or from a ``start_date`` before the first day the
            dataset was synced from (those days are fetched too).
        overlap_days: Days before the watermark fetched again, so late and updated rows land.
        format: ``"parquet"`` (hive partitions by day) or ``"delta"`` (a Delta Lake table).
        full_refresh: Rebuild from ``start_date``, also when the query changed; without
            ``start_date``, from the first day the dataset was synced from (from the
            beginning of the data for one synced without it).
        schema: Column types instead of the inferred ones, as :meth:`converz.Client.calls`
            takes them (``{"qa_score": "float64"}``): part of what defines the dataset, like
            the filters, so every run passes the same (another needs ``full_refresh``).
            ``call_id``, ``date`` and ``start_time`` keep their own types (the key, the
            partition and the watermark).
        **filters: Filters of :meth:`converz.Client.calls` (``campaign=``, ``columns=``,
            ``end_date=``, ...). ``after``/``before`` are not supported (sync works in days).

    Returns:
        A :class:`SyncResult`.

    Raises:
        InvalidParameterError: The directory holds another query's dataset (or something that
            is not a converz dataset), and ``full_refresh`` was not given; or ``end_date`` is
            before the day an incremental run starts (the watermark less ``overlap_days``); or a
            bad argument.
            An argument of the wrong type is :class:`~converz.InvalidParameterTypeError`, also
            a ``TypeError``. Every argument is checked before anything is sent or written,
            and the first page fetched before the directory is claimed; a run that fails
            before its days move puts the directory's state back as it was.

    Example:
        >>> from converz._sync import sync_calls
        >>> res = sync_calls(client, "calls/", start_date="2025-07-01")  # doctest: +SKIP
        >>> import polars as pl  # doctest: +SKIP
        >>> pl.scan_parquet("calls/**/*.parquet", hive_partitioning=True)  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)):
        raise wrong_type("path", "a str or os.PathLike directory", path)
    overlap_days = _check_options(overlap_days, format, full_refresh)
    full_refresh = bool(full_refresh)
    first_day, query = _normalise(start_date, filters)
    types = _sync_schema(schema, format)
    if types:
        # Only when given: the fingerprint of every dataset synced without one stays as it was.
        query["schema"] = types
    fingerprint = query_fingerprint(query, format)
    # `~` is the home directory, as in a shell (outside trial 21c: a folder named `~` was
    # made in the working directory); a NUL or a name too long for the system is refused by
    # name, not as a bare ValueError or OSError.
    check_path("path", path)
    if not os.fspath(path).strip():
        # Path("") is the working directory (outside trial 22b: `converz sync calls ""`).
        raise InvalidParameterError(
            f"path={os.fspath(path)!r} names no directory",
            parameter="path",
            hint="give the dataset's directory, e.g. path='calls' (or '.' for this one)",
        )
    root = Path(path).expanduser()
    if "\0" in str(root):
        raise InvalidParameterError(
            f"{str(root)!r} holds a NUL character, which no file name can", parameter="path"
        )
    try:
        _check_directory(root)
    except OSError as err:
        raise InvalidParameterError(
            f"cannot use {root}: {err.strerror or err}", parameter="path"
        ) from err
    try:
        made = not root.exists()
        root.mkdir(parents=True, exist_ok=True)
        with _one_run_at_a_time(root):
            try:
                return _run(
                    client, root, format, fingerprint, first_day, query, overlap_days, full_refresh
                )
            except BaseException:
                # Refused before anything was written: no directory left behind. Only by the
                # run holding the lock: a run refused by it removed the directory from under
                # the run that held it (outside trial 21b: two runs at once on a new directory).
                with contextlib.suppress(OSError):
                    if made and not any(root.iterdir()):
                        root.rmdir()
                raise
    except ConverzError:
        raise  # (a TransportError is also an OSError: it says what to do already)
    except OSError as err:
        raise _file_error(root, err) from err


def _said_once(first: bool) -> contextlib.AbstractContextManager[None]:
    """While a run fetches; on a later run, without the warning that a column is not fetched.

    The fetch's warning that a ``schema=`` column is not in its days is said by the run that
    set the schema, not by each later one (outside trial 95 A2: every scheduled run warned of a
    column its few days lacked), as a partitioned read's tasks leave it to the driver.
    """
    return contextlib.nullcontext() if first else _in_task()


def _schema_seen(
    root: Path, state: Optional[dict[str, Any]], query: Mapping[str, Any], columns: list[str]
) -> list[str]:
    """The ``schema=`` columns some run's data held, kept in the state (``schema_seen``).

    A later run is quiet about a column only its own days lack (outside trial 95 A2), but a
    column no run's data ever held is most likely misspelt, and a later run warns of it as the
    first run's fetch did (outside trial 96 B5: only the first run said so). ``state``: the
    state of the run before, None for a run that replaces everything (its fetch warns itself).
    A dataset synced before this was kept takes every key as seen.
    """
    keys = list(query["schema"])
    held = set(columns)
    if state is not None and "schema_seen" not in state:
        return keys
    before = set((state or {}).get("schema_seen") or ())
    seen = [key for key in keys if key in held or key in before]
    if state is not None:
        unknown = unknown_schema_keys("calls", query, query["schema"])
        for warning in unseen_schema_warnings("calls", query, unknown, [*columns, *seen]):
            logger.warning("%s: %s", root, warning)
    return seen


def _sync_schema(schema: Any, format: str) -> dict[str, str]:
    """``schema=`` checked as a fetch checks it, each type by its name, sorted by column.

    The fingerprint must not depend on how a type was written, and a refusal shows the names
    ``schema=`` takes (outside trial 94 N3: ``Utf8``). The fetch's warning for a column Float64
    rounds says to give it a type in ``schema=``, which sync did not take (outside trial 93 F2).
    """
    types = {name: resolve_type(name, core).name for name, core in check_schema(schema).items()}
    own = sorted(set(types) & set(_REQUIRED_COLUMNS))
    if own:
        raise InvalidParameterError(
            f"schema names `{own[0]}`, which sync reads as its own type: the key, the day "
            "partitions and the watermark are read from call_id, date and start_time",
            parameter="schema",
            hint="leave call_id, date and start_time out of schema=",
        )
    # Delta Lake has no unsigned integers and keeps times in microseconds: such a column was
    # cut to microseconds on the first run and made text on the next (outside trial 94 N8, N10).
    not_delta = [
        (name, kind)
        for name, kind in sorted(types.items())
        if kind.startswith("uint") or (kind.startswith("timestamp[") and kind != "timestamp[us]")
    ]
    if format == "delta" and not_delta:
        name, kind = not_delta[0]
        # Each kind its own way out (outside trial 95 A1: a time was told of integers).
        if kind.startswith("uint"):
            what, instead = "integers signed", "a wider signed integer (int16, int32, int64)"
        else:
            what = "times in microseconds"
            instead = "timestamp[us] (or string, for values with finer digits kept as written)"
        raise InvalidParameterError(
            f"schema gives `{name}` the type {kind}, which a Delta table cannot hold: it keeps "
            f"{what}",
            parameter="schema",
            hint=f"use {instead}, or format='parquet' (--format parquet), which keeps every type",
        )
    return dict(sorted(types.items()))


_NANOSECONDS = re.compile(
    r'(?:use a finer timestamp type to keep it, )?e\.g\. schema=\{"((?:[^"\\]|\\.)*)": '
    r'"timestamp\[ns\]"\}'
)


@contextlib.contextmanager
def _said_for(format: str) -> Iterator[None]:
    """While a run fetches: a fetch's refusal said for the dataset's format."""
    try:
        yield
    except DecodeError as err:
        if format == "delta":
            _said_for_delta(err)
        raise


def _said_for_delta(err: DecodeError) -> None:
    """``err`` with its way out for times finer than ``timestamp[us]`` said for a Delta table.

    A fetch names ``timestamp[ns]`` for digits finer than a microsecond, which a Delta sync
    refuses before anything is sent (outside trial 96: following the one sent the user to the
    other). A Delta table holds microseconds at most: text keeps the digits, or Parquet the
    type.
    """
    said = _NANOSECONDS.sub(
        lambda m: (
            "a Delta table holds times to the microsecond: keep the digits as text with "
            f'schema={{"{m.group(1)}": "string"}}, or sync format=\'parquet\' (--format '
            f'parquet) with schema={{"{m.group(1)}": "timestamp[ns]"}}'
        ),
        err.message,
    )
    if said != err.message:
        err.message = said
        err.args = (said,)


def _file_error(root: Path, err: OSError) -> ConverzError:
    """An OS error of a run (a read-only directory, a full disk, a rename refused), said so.

    They surfaced as bare ``PermissionError`` or ``OSError`` (outside trial 21b). Once a run's
    commit plan is written, the next run first finishes it (``_sync_commit``), as after a
    SIGKILL; before that, nothing moved, and the state still holds the old watermark.
    """
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    cause = err.strerror or str(err) or type(err).__name__
    return ConverzError(
        f"sync of {root} stopped on a file system error: {cause}"
        + (f" ({where})" if where else "")
        + "; the next run first finishes moving this run's days into place (or, if none had "
        "begun to move, fetches them again), which mends the dataset",
        hint="fix the cause (permissions, a read-only mount, disk space), then run again",
    )


def _utc_now() -> _dt.datetime:
    """The present in UTC, naive, as the state's watermark is kept."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)


def _not_after_end(
    root: Path, watermark: Optional[_dt.datetime], end_date: Optional[_dt.date]
) -> Optional[_dt.datetime]:
    """``watermark``, at most the end of ``end_date`` (the last day this run listed).

    The API lists a call by the start it recorded, whatever a push later writes into its
    ``start_time``: a row of the run's days holding a later ``start_time`` was pushed, and taken
    for the watermark it made the next run start after days nobody fetched (outside trial 88
    B1: a call corrected to a later day cost the next incremental run 851 calls, silently).
    """
    if watermark is None or end_date is None:
        return watermark
    end = _dt.datetime.combine(end_date, _dt.time(23, 59, 59))
    if watermark <= end:
        return watermark
    logger.info(
        "%s: a row of this run's days holds start_time %s, after end_date (a push set it); "
        "the watermark is the end of %s, the last day listed",
        root,
        watermark,
        end_date,
    )
    return end


def _not_after_now(root: Path, watermark: Optional[_dt.datetime]) -> Optional[_dt.datetime]:
    """``watermark``, at most the present (UTC).

    A call dated in the future (a typo in a pushed ``date`` and ``start_time``) would move the
    watermark there for good, and every later run would fetch from then on and never see the
    updates of the days it should fetch again (outside trial 21b). A watermark ahead only by a
    time zone (the API's times are the tenant's) is pulled back too: the next run then starts a
    few hours earlier, which loses nothing.
    """
    now = _utc_now()
    if watermark is None or watermark <= now:
        return watermark
    if watermark - now > _dt.timedelta(days=1):
        logger.warning(
            "%s: the latest start_time the API returned (%s) is in the future; the watermark "
            "is the present instead, so later runs still fetch the days since",
            root,
            watermark,
        )
    return now


def _read_state_bytes(root: Path) -> Optional[bytes]:
    """The state file's bytes as they are (None: there is none), for :func:`_undo_claim`."""
    try:
        return (root / STATE_FILE).read_bytes()
    except FileNotFoundError:
        return None


def _undo_claim(root: Path, staging: Path, replace_all: bool, claimed: Optional[bytes]) -> None:
    """Undoes what a run that failed before its commit wrote.

    Its staged files are removed and, if it claimed the directory (``replace_all``), the state
    it replaced, ``claimed``, is put back (None: there was none, and the claim is removed).
    """
    with contextlib.suppress(OSError):
        shutil.rmtree(staging, ignore_errors=True)
        if not replace_all:
            return
        if claimed is None:
            (root / STATE_FILE).unlink(missing_ok=True)
            (root / f".{STATE_FILE}.tmp").unlink(missing_ok=True)
            return
        write_durably(root / STATE_FILE, claimed)


def _run(
    client: Client,
    root: Path,
    format: str,
    fingerprint: str,
    first_day: Optional[_dt.date],
    query: dict[str, Any],
    overlap_days: int,
    full_refresh: bool,
) -> SyncResult:
    """One run of :func:`sync_calls` into the existing directory ``root``, locked."""
    _sync_commit.finish_stopped_commit(root, full_refresh)
    state = load_state(root, full_refresh)
    if first_day is None and not full_refresh and state and state.get("watermark") is None:
        # A first run killed after it claimed the directory: the next one starts where it
        # was asked to (outside trial 23c: it fetched every day from the beginning instead).
        first_day = _held_from(state)
    if first_day is None and full_refresh:
        # A rebuild keeps the dataset's first day: without start_date= it fetched every day
        # the API has, days the dataset was never asked for (outside trial 50, F4).
        first_day = _held_from(state) if state is not None else _first_partition(root, format)
        if first_day is not None:
            logger.info(
                "%s: full refresh without start_date=: rebuilding from the dataset's first "
                "day, %s (pass start_date= to rebuild from another)",
                root,
                first_day,
            )
    shown = {k: (v.isoformat() if isinstance(v, _dt.date) else v) for k, v in query.items()}
    check_state(root, state, fingerprint, format, full_refresh, shown)
    check_layout(root)
    replace_all = full_refresh or state is None or state.get("watermark") is None
    since = _fetch_start(state, first_day, overlap_days, replace_all)
    held = _dataset_start(state, first_day, replace_all)
    _check_end(state if not replace_all else None, since, query.get("end_date"), overlap_days)
    new_state: dict[str, Any] = {
        "version": STATE_VERSION,
        "format": format,
        "fingerprint": fingerprint,
        "query": {k: (v.isoformat() if isinstance(v, _dt.date) else v) for k, v in query.items()},
        "start_date": held.isoformat() if held else None,
        "watermark": None if replace_all else state and state.get("watermark"),
    }
    # The other format whose files the directory holds (a switch of format, or one a killed
    # run claimed but did not finish): they are removed once this run's days are in place.
    other = {(state or {}).get("format"), (state or {}).get("previous_format")} - {None, format}
    if other:
        new_state["previous_format"] = other.pop()
    fetch = {**query, "start_date": since}
    # Before anything is written: a filter the client cannot send or the API refuses fails here.
    with _said_once(replace_all), _said_for(format):
        pages = _sync_stage.open_pages(client, fetch)
    staging = root / STAGING_DIR
    claimed = _read_state_bytes(root) if replace_all else None
    try:
        if replace_all:
            # Claims the directory first, so a killed first run is recognised as ours.
            save_state(root, new_state)
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        with _said_once(replace_all), _said_for(format):
            staged = _sync_stage.stage(staging, pages, drop_date=format == "parquet")
        if query.get("schema"):
            new_state["schema_seen"] = _schema_seen(
                root, None if replace_all else state, query, staged.columns
            )
        if format == "delta":
            _sync_delta.check_delta_names(root, staged.columns, replace_all)
    except Exception:
        # Nothing was committed: the state is put back as it was (none, for a first run), so a
        # failed run's filters do not claim the directory (outside trial 50, F2: the corrected
        # run was refused as "a different query"). A stop (Ctrl-C, SIGTERM) or a SIGKILL
        # leaves the claim, as before: the next run without start_date= starts where this one
        # was asked to (outside trial 23c).
        _undo_claim(root, staging, replace_all, claimed)
        raise
    window = (since, query.get("end_date"))
    old = new_state["watermark"]
    watermark = _not_after_end(root, staged.watermark, query.get("end_date"))
    if old is not None:
        old_dt = _dt.datetime.fromisoformat(old)
        watermark = old_dt if watermark is None else max(old_dt, watermark)
    watermark = _not_after_now(root, watermark)
    new_state["watermark"] = watermark.isoformat(sep=" ") if watermark else None
    with _uninterrupted():
        previous = new_state.pop("previous_format", None)
        moves: list[tuple[Path, Path]] = []
        removed: list[Path] = []
        filtered = any(query.get(name) for name in list_filters(CallsQuery))
        run = _sync_carry.RunFiles(root, staging, staged.days, replace_all, window, filtered)
        if format == "delta":
            written, gone = _sync_delta.commit_delta(run)
        else:
            written, gone, moves, removed = _sync_commit.prepare_parquet(run)
        _sync_commit.commit(root, moves, removed, previous, new_state)
    shutil.rmtree(staging, ignore_errors=True)
    return SyncResult(
        path=str(root),
        format=format,
        rows=staged.rows,
        fetched_from=since,
        partitions_written=tuple(written),
        partitions_deleted=tuple(gone),
        watermark=watermark,
        full_refresh=replace_all,
    )
