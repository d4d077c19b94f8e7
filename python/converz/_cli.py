"""The ``converz fetch``, ``converz push`` and ``converz sync`` commands.

Configuration comes from ``CONVERZ_API_KEY`` and ``CONVERZ_BASE_URL`` (or ``--base-url`` /
``--tenant``); the key is never printed. Progress goes to stderr when it is a terminal. An error
prints one line (the message and its hint) and exits 1; ``--debug`` shows the traceback.
Ctrl-C exits 130 and SIGTERM 143, each after the command cleaned up (no temporary file left;
a stopped push leaves the rows not applied in ``NAME.remaining.EXT`` and says how many were).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shlex
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Union

from converz._cli_words import for_cli
from converz._printable import printable
from converz._progress import PROGRESS_RECORD, _is_terminal, _Log
from converz._push import stop_said
from converz._query import CallsQuery, ReportQuery, RepsQuery, list_filters, split_commas
from converz._remaining import (
    Record,
    check_options,
    identify,
    not_ours,
    record_path,
    same_input,
    same_tenant,
    text_as_one,
)
from converz._remaining import forget as forget_options
from converz._remaining import load as load_record
from converz._remaining import record as record_options
from converz._row_names import check_row_names
from converz._schema_types import check_schema, parse_schema_text, resolve_type, same_type
from converz.exceptions import ConverzError, InvalidParameterError

logger = logging.getLogger("converz")

__all__ = [
    "add_commands",
    "fetch_to_file",
    "push_file",
    "python_call",
    "resume_command",
    "resume_source",
]

_LIST: dict[str, Any] = {"action": "append", "metavar": "VALUE"}
# The temporary folders rows left go to when they cannot be written beside the input.
_FALLBACK_PREFIX = "converz-remaining-"

# Every parameter of the three endpoints: (flag, help), list-valued ones take repeats or commas.
_CALLS_FLAGS = {
    "start_date": "first day (YYYY-MM-DD, inclusive)",
    "end_date": "last day (inclusive)",
    "after": "earliest start_time ('YYYY-MM-DD HH:MM[:SS]')",
    "before": "latest start_time",
}
_CALLS_LISTS = list_filters(CallsQuery)
_REPS_LISTS = list_filters(RepsQuery)
_REPORT_FLAGS = {
    "start_date": "oldest day (default: 30 days ago)",
    "end_date": "last day (default: today)",
}
_REPORT_LISTS = list_filters(ReportQuery)

_FETCH_EXAMPLES = """examples:
  converz fetch calls --start-date 2025-07-01 --campaign sales --campaign support -o calls.parquet
  converz fetch calls --columns call_id,rep_id,duration --start-date 2025-09-01 -o -  # CSV
  converz fetch reps --active 1 -o reps.csv
  converz fetch report --groupby week,campaign --days 90 -o weekly.arrow

The format follows the extension: .parquet (zstd), .csv, .ndjson/.jsonl, .arrow/.feather
(Arrow IPC); '-o -' writes CSV to stdout. Pages are written as they arrive: memory stays
bounded by the pages in flight (and 8 to 16 bytes a row of keys, to write each row once), however
large the result."""

_PUSH_EXAMPLES = """examples:
  converz push scores.parquet --to calls
  converz push fixes.csv --to calls --clear qa_score --dry-run
  converz push reps.ndjson --to reps --on-duplicate last

Reads .parquet, .csv, .ndjson/.jsonl or .arrow/.feather and pushes it exactly like
client.push_updates(). If some chunks fail, or the push is stopped (Ctrl-C, SIGTERM), the rows
not applied are written next to the input as NAME.remaining.EXT; push that file with the same
flags to resume (the error's hint spells the command). The flags are recorded beside it
(NAME.remaining.EXT.json): a push of it with flags that would send other values is refused.
A complete push removes NAME.remaining.EXT and its .json (pushed itself, or beside NAME.EXT
pushed whole when NAME.EXT holds the bytes its rows came from). While it holds rows an earlier
NAME.EXT (other bytes) left, a push of NAME.EXT is refused before any request: push it first,
or delete it and its .json to drop them; rows not applied are never written over. A
NAME.remaining.EXT without its .json (or with one converz did not write for it) is not
converz's: pushed as any file, never removed or written over. A remaining file is pushed only
to the tenant its rows were for (--base-url / CONVERZ_BASE_URL; another is refused before any
request). When NAME.EXT changed while it was pushed, its rows left are the OLD version's: a
push of them is refused unless given --force-old (they would write old values over anything
pushed since).
A column name may hold ':' (--schema r:x:string is column r:x)."""

_SYNC_EXAMPLES = """examples:
  converz sync calls data/calls --start-date 2025-01-01 --campaign sales
  converz sync calls data/calls --campaign sales                # later runs: incremental
  converz sync calls data/calls --campaign support --full-refresh
  converz sync calls data/calls_delta --format delta

Keeps DIR as hive partitions by day (DIR/date=YYYY-MM-DD/part-0.parquet), read with
pl.scan_parquet('DIR/**/*.parquet', hive_partitioning=True), DuckDB or pyarrow.dataset."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection and output")
    group.add_argument("--base-url", help="API base URL (default: $CONVERZ_BASE_URL)")
    group.add_argument("--tenant", help="shorthand for https://TENANT.converz.co/api/v1")
    group.add_argument("--retries", type=int, default=8, help="retries per request (default 8)")
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="seconds for one request, one page or push chunk, body included (default 300)",
    )
    group.add_argument(
        "--max-concurrency",
        type=int,
        metavar="N",
        help="requests in flight at once, 1 to 64 (default 4); lower it when rate limited",
    )
    group.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    group.add_argument("--debug", action="store_true", help="show tracebacks on errors")


def _add_filters(
    parser: argparse.ArgumentParser, flags: dict[str, str], lists: tuple[str, ...]
) -> None:
    group = parser.add_argument_group("filters (list flags repeat or take commas)")
    for name, text in flags.items():
        group.add_argument(_flag(name), dest=name, help=text)
    # "one or more columns": "columns values" read oddly (outside trial 87 A5).
    special = {"columns": "one or more column names", "metric": "one or more metric names"}
    for name in lists:
        text = special.get(name, f"one or more {name} values")
        group.add_argument(_flag(name), dest=name, help=text, **_LIST)


def _schema_flag(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument(
        "--schema",
        action="append",
        default=[],
        metavar="COL:TYPE",
        help=f"{text}; repeats or takes commas (types as schema= spells them: int64, uint64, "
        "string, float64, date, timestamp[ms], ...)",
    )


def _schema(args: argparse.Namespace) -> dict[str, str]:
    """``--schema`` flags as ``schema=``, checked before any request or file is read."""
    given: dict[str, str] = {}
    for text in args.schema:
        for name, kind in parse_schema_text(text, what="--schema").items():
            if not same_type(name, given.get(name, kind), kind):
                raise InvalidParameterError(
                    f"--schema gives column {name!r} two types, {given[name]!r} and {kind!r}",
                    parameter="schema",
                )
            given[name] = kind
    check_schema(given)
    # As spelled (code:string, not its core name): a resume hint repeats it to the user.
    return given


def _fetch_parser(fetch: argparse.ArgumentParser, formatter: Any) -> None:
    what = fetch.add_subparsers(dest="resource", required=True, metavar="{calls,reps,report}")
    specs: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
        "calls": (_CALLS_FLAGS, _CALLS_LISTS),
        "reps": ({}, _REPS_LISTS),
        "report": (_REPORT_FLAGS, _REPORT_LISTS),
    }
    for name, (flags, lists) in specs.items():
        sub = what.add_parser(
            name, help=f"GET /{name}", epilog=_FETCH_EXAMPLES, formatter_class=formatter
        )
        sub.add_argument("-o", "--output", required=True, help="output file, or - for stdout")
        _add_filters(sub, flags, lists)
        if name == "reps":
            sub.add_argument("--active", choices=["0", "1"], help="1: active users; 0: inactive")
        if name == "report":
            sub.add_argument("--days", type=int, help="the last N days through today")
        else:
            sub.add_argument("--page-size", type=int, help="rows per page")
        sub.add_argument(
            "--no-parse-dates", action="store_true", help="keep dates as text (YYYY-MM-DD)"
        )
        _schema_flag(sub, "column types instead of the inferred ones (schema= of the fetch)")
        _common(sub)
        sub.set_defaults(run=_guard(_fetch))


def _push_parser(push: argparse.ArgumentParser, formatter: Any) -> None:
    push.add_argument("path", help="a .parquet, .csv, .ndjson/.jsonl or .arrow/.feather file")
    push.add_argument("--to", choices=["calls", "reps"], help="default: from the key column")
    push.add_argument(
        "--clear",
        nargs="+",
        action="extend",  # `--clear a --clear=-b` is both (the resume hint writes the second)
        default=[],
        metavar="COL",
        help="columns whose nulls clear values (an NDJSON line without the key counts as null)",
    )
    push.add_argument("--dry-run", action="store_true", help="validate and encode, send nothing")
    push.add_argument("--on-duplicate", choices=["error", "last"], default="error")
    push.add_argument("--chunk-rows", type=int, default=100_000, help="rows per request")
    push.add_argument("--timezone", help="the tenant's IANA zone for tz-aware timestamps")
    push.add_argument("--strict", action="store_true", help="fail on unknown keys")
    push.add_argument(
        "--force-old",
        action="store_true",
        help="push a remaining file whose input changed while it was pushed: its rows are the "
        "older version's, and write their values over anything pushed since",
    )
    _schema_flag(
        push,
        "types of CSV/NDJSON columns instead of the inferred ones, e.g. code:string keeps "
        "00123 as text",
    )
    _common(push)
    push.set_defaults(run=_guard(_push))


def _sync_parser(sync: argparse.ArgumentParser, formatter: Any) -> None:
    what = sync.add_subparsers(dest="resource", required=True, metavar="{calls}")
    calls = what.add_parser("calls", epilog=_SYNC_EXAMPLES, formatter_class=formatter)
    calls.add_argument("dir", help="the dataset directory")
    flags = {k: v for k, v in _CALLS_FLAGS.items() if k not in ("after", "before")}
    flags["start_date"] = "first day on the first run (later runs start from the watermark)"
    _add_filters(calls, flags, _CALLS_LISTS)
    calls.add_argument("--overlap-days", type=int, default=3, help="days fetched again")
    calls.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild from --start-date (without it, from the dataset's first day), also with "
        "other filters or in a directory holding other files (the dataset's day directories are "
        "replaced; other files are kept)",
    )
    calls.add_argument("--format", choices=["parquet", "delta"], default="parquet")
    _schema_flag(calls, "column types instead of the inferred ones (schema= of the sync)")
    _common(calls)
    calls.set_defaults(run=_guard(_sync))


# Each command: its line in ``converz --help``, its own --help text and examples, its options.
_COMMANDS: dict[str, tuple[str, str, str, Callable[[argparse.ArgumentParser, Any], None]]] = {
    "fetch": (
        "fetch calls, reps or a report into a file",
        "Fetch calls, reps or a report into a Parquet, CSV, NDJSON or Arrow file.",
        _FETCH_EXAMPLES,
        _fetch_parser,
    ),
    "push": (
        "push a file of updates (push_updates)",
        "Push the rows of a file to conversations or users (push_updates).",
        _PUSH_EXAMPLES,
        _push_parser,
    ),
    "sync": (
        "keep a local day-partitioned dataset of calls up to date",
        "Incrementally sync conversations into DIR (see converz.Client.sync_calls).",
        _SYNC_EXAMPLES,
        _sync_parser,
    ),
}


def add_commands(commands: Any) -> None:
    """Registers ``fetch``, ``push`` and ``sync`` on the ``converz`` command's subparsers."""
    formatter = argparse.RawDescriptionHelpFormatter
    for name, (summary, description, examples, options) in _COMMANDS.items():
        parser = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=examples,
            formatter_class=formatter,
        )
        options(parser, formatter)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where a Ctrl-C would be, so the command stops the same way."""


# The shell's status for a command ended by a signal: 128 + its number.
_EXIT_INTERRUPTED = 128 + signal.SIGINT
_EXIT_TERMINATED = 128 + signal.SIGTERM


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """While the command runs, SIGTERM stops it as Ctrl-C does, and only the first stop counts.

    By default SIGTERM ends the process at once: no ``finally`` runs, and a fetch leaves its
    temporary file behind. Raised as a :class:`KeyboardInterrupt`, it takes Ctrl-C's path
    through the core (requests cancelled, the file's temporary removed, a push's result
    kept). A second signal, of either kind, while the first is handled is ignored: raised
    there, it would cut short the writing of a push's remaining file and its summary (outside
    trial 16: Ctrl-C then SIGTERM 20 ms apart exited 143 with neither; two of one kind
    arrive as one). Ctrl-C ignored when the command started (a background job) stays
    ignored. Signal handlers can only be set in the main thread; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        if stopping:
            return  # the first stop is being handled: it ends the command
        stopping.append(signum)
        raise _Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    kinds = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        kinds.append(signal.SIGINT)
    previous = {kind: signal.signal(kind, stop) for kind in kinds}
    try:
        yield
    finally:
        for kind, handler in previous.items():
            signal.signal(kind, handler)


class _Stderr:
    """The CLI's stderr while a command runs, whose messages cannot fail the command.

    With stderr closed (``2>&-``, where Python's ``sys.stderr`` is ``None``) the command raised
    ``AttributeError`` on ``isatty()`` before doing anything, and ``print(file=None)`` put its
    error line on stdout, the data stream of ``fetch -o -``; with a reader that went away (a
    broken pipe), a fetch that had written its file exited 1 on its last progress line
    (outside trial 37 F3). Now the messages go nowhere then; fd 2 is pointed at the null
    device after a broken pipe, so Python's own flush at exit does not fail either.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                return int(self._stream.write(text))
            except (OSError, ValueError):  # a broken pipe; a closed file
                self._drop()
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._drop()

    def isatty(self) -> bool:
        return _is_terminal(self._stream)

    def _drop(self) -> None:
        self._stream = None
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)


@contextlib.contextmanager
def _messages_that_cannot_fail() -> Iterator[None]:
    """``sys.stderr`` is a :class:`_Stderr` while the command runs."""
    original = sys.stderr
    sys.stderr = _Stderr(original)
    try:
        yield
    finally:
        sys.stderr = original


def _stopped_detail(stop: BaseException) -> str:
    """What a stopped command had done, when it says (a push: rows applied, the file left)."""
    from converz import ConverzError

    cause = stop.__cause__
    if isinstance(cause, ConverzError):
        return ": " + " ".join(str(cause).split("\n"))
    # A stop before the first request says so itself (outside trial 75 F4).
    said = str(stop) if type(stop) is KeyboardInterrupt else ""
    return f": {said}" if said.endswith("nothing was sent") else ""


def _guard(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """One clear line and exit status 1 on errors; the traceback only with ``--debug``.

    Ctrl-C exits 130 and SIGTERM 143 (as the shell reports a command killed by either), each
    with one line, after the command has cleaned up.
    """

    def guarded(args: argparse.Namespace) -> int:
        # The handlers stay while the stop is reported: a second signal then is ignored too
        # (restored first, a late Ctrl-C escaped as a signal death, not 130 or 143).
        with _messages_that_cannot_fail(), _stop_signals():
            try:
                with _progress_lines(args), _warnings_in_cli_words(args):
                    return run(args)
            except _Terminated as err:
                print(f"converz: terminated{_stopped_detail(err)}", file=sys.stderr)
                return _EXIT_TERMINATED
            except KeyboardInterrupt as err:
                print(f"converz: interrupted{_stopped_detail(err)}", file=sys.stderr)
                return _EXIT_INTERRUPTED
            except Exception as err:
                if args.debug:
                    # The traceback, then the same line as without --debug (outside trial 19:
                    # the traceback's message alone gave the Python wording, "retries=").
                    traceback.print_exc()
                # In the command line's words: --max-concurrency, not max_concurrency=.
                message = for_cli(" ".join(str(err).split("\n")), args)
                print(f"converz: error: {type(err).__name__}: {message}", file=sys.stderr)
                return 1

    return guarded


@contextlib.contextmanager
def _warnings_in_cli_words(args: argparse.Namespace) -> Iterator[None]:
    """While the command runs, converz's log lines name its flags as its errors do.

    A warning of the core says ``give the column as "str" in schema=``; here that is
    ``--schema``. A filter on the ``converz`` logger rewrites each record once, before any
    handler (Python's last-resort one included) prints it.
    """

    def reword(record: logging.LogRecord) -> bool:
        record.msg = for_cli(record.getMessage(), args)
        record.args = None
        return True

    logger.addFilter(reword)
    try:
        yield
    finally:
        logger.removeFilter(reword)


@contextlib.contextmanager
def _progress_lines(args: argparse.Namespace) -> Iterator[None]:
    """When stderr is not a terminal (cron, a CI or Airflow log), the 30 s progress lines on it.

    A terminal has the progress line instead; ``--quiet`` has neither. Only those INFO lines
    are shown, and warnings as Python shows them without a handler.
    """
    if getattr(args, "quiet", False) or sys.stderr.isatty():
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(
        lambda record: getattr(record, PROGRESS_RECORD, False) or record.levelno >= logging.WARNING
    )
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _client(args: argparse.Namespace) -> Any:
    from converz import Client

    # Unset flags leave the Client's own defaults (one place says them).
    settings = {
        name: getattr(args, name)
        for name in ("timeout", "max_concurrency")
        if getattr(args, name, None) is not None
    }
    return Client(
        base_url=args.base_url,
        tenant=args.tenant,
        retries=args.retries,
        progress=False,
        **settings,
    )


def _lists(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        values = getattr(args, name, None)
        if values is not None:
            # `--campaign ""` (an unset variable) reaches the query, which refuses it.
            out[name] = split_commas(values)
    return out


def _filters(args: argparse.Namespace, flags: Any, lists: tuple[str, ...]) -> dict[str, Any]:
    out = {name: getattr(args, name) for name in flags if getattr(args, name) is not None}
    out.update(_lists(args, lists))
    return out


class _Progress:
    """Rows so far on one stderr line, when stderr is a terminal and not ``--quiet``."""

    def __init__(self, args: argparse.Namespace, what: str) -> None:
        self.on = not args.quiet and sys.stderr.isatty()
        self.what = what
        self.rows = 0
        self.started = time.monotonic()

    def add(self, rows: int) -> None:
        self.rows += rows
        if self.on:
            elapsed = time.monotonic() - self.started
            print(f"\r{self.what}: {self.rows:,} rows, {elapsed:.1f} s", end="", file=sys.stderr)

    def done(self, text: str) -> None:
        if self.on:
            print("\r\033[K", end="", file=sys.stderr)
        print(text, file=sys.stderr)


def _pages(client: Any, resource: str, query: dict[str, Any]) -> Any:
    """The pages of a fetch: a stream for the paged endpoints, one table for a report."""
    if resource in ("calls", "reps"):
        stream = getattr(client, f"iter_{resource}")(**query)
        # The writer casts each page once at its end, from the page's own types, as calls()
        # casts each page: a stream's widest-so-far types would print an integer page after a
        # float page as `1.0` in a column that ends as text, where calls() has `1`.
        stream._raw.keep_own_types()
        return stream
    if resource == "report":
        return [client.report(**query)]
    raise InvalidParameterError(
        f"{resource!r} is not an endpoint; use calls, reps or report", parameter="endpoint"
    )


def _empty_page(client: Any, resource: str, query: dict[str, Any], last: Any) -> Any:
    """What a fetch that found no rows writes, as ``client.calls()`` returns it.

    The columns of its last page (a report's empty table has them), else the documented columns
    of the query (outside trial 18: an empty fetch made a 0-byte CSV and a Parquet file with no
    columns, which downstream readers refuse or cannot union with the other days' files).
    """
    from converz._client import _query_of, empty_result

    if last is not None and last.column_names:
        return last
    kinds = {"calls": CallsQuery, "reps": RepsQuery, "report": ReportQuery}
    options = ("page_size", "parse_dates", "schema", "query")
    filters = {k: v for k, v in query.items() if k not in options}
    built = _query_of(kinds[resource], query.get("query"), filters)
    parse_dates = query.get("parse_dates", True)
    return empty_result(built, parse_dates, check_schema(query.get("schema")))


def _check_output(path: Path) -> None:
    """Refuses, before any request, a path the file could not be written to once fetched."""
    folder = path.parent
    problem = None
    if path.is_dir():
        problem = "it is a folder"
    elif not folder.exists():
        problem = f"its folder {folder} does not exist"
    elif not folder.is_dir():
        problem = f"{folder} is not a folder"
    if problem is not None:
        raise InvalidParameterError(
            f"cannot write {path}: {problem}",
            parameter="path",
            hint="write to a file in an existing folder (create the folder first)",
        )


def fetch_to_file(
    client: Any,
    resource: str,
    path: Union[str, Path],
    *,
    on_page: Optional[Callable[[int], None]] = None,
    **query: Any,
) -> int:
    """Fetches ``resource`` (``calls``, ``reps``, ``report``) into ``path``, page by page.

    The format follows the extension (``.parquet``, ``.csv``, ``.ndjson``/``.jsonl``,
    ``.arrow``/``.feather``). The file appears under its name only once complete.

    Args:
        client: A :class:`converz.Client`.
        resource: The endpoint.
        path: The output file.
        on_page: Called with each page's row count.
        **query: Keyword arguments of the endpoint's method.

    Returns:
        Rows written.

    Raises:
        InvalidParameterError: ``path`` cannot be written (its folder is missing, say), before
            any request.
    """
    from converz import _core

    _check_output(Path(path))
    writer = _core.FileWriter(str(path))
    # The INFO line every LOG_EVERY_SECONDS an eager fetch logs, so an Airflow or cron log
    # shows a long fetch to a file moving (outside trial: 43 s without a line).
    log = _Log(f"fetch {resource}", "page", None, sized=False)
    rows = pages = 0
    last = None
    try:
        for page in _pages(client, resource, query):
            writer.write(page)
            rows, pages, last = rows + page.num_rows, pages + 1, page
            log(rows, pages, 0, 0)
            if on_page is not None:
                on_page(page.num_rows)
        empty = _empty_page(client, resource, query, last) if rows == 0 else None
    except BaseException:
        writer.abort()
        raise
    written, _ = writer.finish(empty)
    # The stream's warnings said what the fetch decoded; these say what the file holds of a
    # column that turned to text late (earlier values as their first type prints them).
    for note in writer.notes:  # they name the server's columns: redacted as its warnings are
        logger.warning("%s: %s", path, client._shown_warning(note))
    return int(written)


def _fetch_query(args: argparse.Namespace) -> dict[str, Any]:
    parse_dates = not args.no_parse_dates
    if args.resource == "calls":
        query = _filters(args, _CALLS_FLAGS, _CALLS_LISTS)
    elif args.resource == "reps":
        query = _lists(args, _REPS_LISTS)
        if args.active is not None:
            query["active"] = int(args.active)
    else:
        query = _filters(args, _REPORT_FLAGS, _REPORT_LISTS)
        if args.days is not None:
            query["days"] = args.days
        return {**query, "parse_dates": parse_dates, "schema": _schema(args) or None}
    return {
        **query,
        "page_size": args.page_size,
        "parse_dates": parse_dates,
        "schema": _schema(args) or None,
    }


def _fetch(args: argparse.Namespace) -> int:
    from converz import _core

    client = _client(args)
    query = _fetch_query(args)
    progress = _Progress(args, f"fetch {args.resource}")
    if args.output == "-":
        if sys.stdout is None:
            # stdout closed (`1>&-`): nowhere to write, said before any request (outside
            # trial 38 F3: an AttributeError on `sys.stdout.buffer`).
            raise InvalidParameterError(
                "-o - writes the rows to stdout, which is closed",
                parameter="output",
                hint="give a file: -o calls.csv (or .parquet, .arrow, .ndjson)",
            )
        out = sys.stdout.buffer
        columns: Optional[list[str]] = None
        # Columns written bare (not text) so far, and those since found text: stdout cannot
        # be re-quoted as a file is at its end (outside trial 32 F6), so it is said.
        bare: set[str] = set()
        late: set[str] = set()
        try:
            last = None
            for page in _pages(client, args.resource, query):
                if page.num_rows or (columns is None and page.column_names):
                    out.write(_core.csv_bytes(page, columns))
                    columns = columns or list(page.schema)
                    if page.num_rows:
                        _note_late_text(page.schema, bare, late)
                progress.add(page.num_rows)
                last = page
            if columns is None:
                # No rows: the header alone, as the file of the same fetch has it.
                out.write(_core.csv_bytes(_empty_page(client, args.resource, query, last)))
            out.flush()
        except BrokenPipeError:
            # The reader stopped (`| head`): the usual end of a pipe, not an error. stdout is
            # pointed at /dev/null so Python's flush at exit does not fail on it again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    rows = fetch_to_file(client, args.resource, args.output, on_page=progress.add, **query)
    if not args.quiet:
        progress.done(f"wrote {rows:,} rows to {args.output}")
    return 0


def _note_late_text(types: dict[str, str], bare: set[str], late: set[str]) -> None:
    """Warns once per column that turned to text after earlier pages wrote it bare.

    Those values are out on stdout unquoted, where a file is re-quoted at its end.
    """
    for name, kind in types.items():
        if kind not in ("Utf8", "LargeUtf8", "Utf8View"):
            if kind != "Null":
                bare.add(name)
        elif name in bare and name not in late:
            late.add(name)
            logger.warning(
                "-o -: column %r turned to text on a later page; its values on the pages "
                "before were written bare (a file is re-quoted at its end, stdout cannot be): "
                "write a file, or pass --schema %s:string to quote every value",
                name,
                name,
            )


def _remaining_path(path: Path, own: bool = False) -> Path:
    """Where the rows of ``path`` not applied go: ``NAME.remaining.EXT`` beside it.

    ``own``: ``path`` is itself a remaining file converz wrote (it has a record), rewritten in
    place with what is still left. Any other file, ``q3.remaining.csv`` included, is the user's
    and never written over: its rows go to ``q3.remaining.remaining.csv``.
    """
    return path if own else path.with_name(f"{path.stem}.remaining{path.suffix}")


def resume_source(path: Union[str, Path]) -> Path:
    """The file a resuming push sends: ``NAME.remaining.EXT`` while it holds ``path``'s rows.

    A push that did not apply every row leaves those rows in ``NAME.remaining.EXT`` and records
    beside it which input they came from (its bytes' SHA-256). While ``path`` is still that
    input, the remaining file is what is left to send. A ``path`` with other bytes is new input,
    whatever the files' times say (a copy made with ``cp -p`` keeps an older one): ``path`` is
    returned, and its push refused before any request while the other input's rows are left
    (see :func:`_refuse_over_unsent`). A ``NAME.remaining.EXT`` that is not converz's (no
    record, or one not for it) is the user's own file, never taken.
    """
    path = Path(path)
    leftover = _remaining_path(path)
    if not (leftover.is_file() and path.is_file()):  # a missing input is the push's to report
        return path
    try:
        found = load_record(leftover)
    except InvalidParameterError as err:
        logger.warning("%s is not resumed from, %s is pushed: %s", leftover, path, err.message)
        return path
    if found is None:
        return path  # not converz's: the user's own file, left alone
    if not same_input(found.source, path):
        # New input: not resumed from. Its push is refused before any request while that
        # file holds rows never applied (:func:`push_file` says what to do).
        return path
    return leftover


def _read_input(path: Path, schema: Optional[dict[str, Any]], to: Any = None) -> Any:
    """The rows of the file to push (to ``to``, if given); an unreadable file names itself."""
    from converz import ConverzError, Table, _core

    problem = None
    if not path.exists():
        problem = "no such file"
    elif path.is_dir():
        problem = "it is a folder"
    if problem is not None:
        raise InvalidParameterError(
            f"cannot read {path}: {problem}",
            parameter="path",
            hint=f"give the file to push (relative paths start at {Path.cwd()})",
        )
    # Any text type is read as the one the readers take: the same text either way.
    types = text_as_one(check_schema(schema)) or None
    try:
        with stop_said("its file was read"):
            return Table(_core.read_file(str(path), types, to))
    except InvalidParameterError:
        # A file not of its format, or a value a --schema type would change: the core names
        # the file (and the line); nothing was sent.
        raise
    except ConverzError as err:
        # The system's error reading it (a permission, a disk): name the file and the format.
        detail = err.message.removeprefix(f"reading {path}: ")
        kind = _FORMAT_NAMES.get(path.suffix.lower(), path.suffix)
        raise type(err)(
            f"cannot read {path} as {kind}: {detail}",
            hint=f"check that the file holds {kind} (the format follows the extension)",
        ) from err


_FORMAT_NAMES = {
    ".parquet": "Parquet",
    ".csv": "CSV",
    ".ndjson": "NDJSON",
    ".jsonl": "NDJSON",
    ".arrow": "Arrow IPC",
    ".feather": "Arrow IPC",
}


def _write_remaining(
    path: Path,
    result: Any,
    schema: Optional[dict[str, Any]],
    options: dict[str, Any],
    own: Optional[Record],
    before: Optional[os.stat_result],
    base_url: Optional[str] = None,
) -> tuple[Path, dict[str, str], bool]:
    """Writes the rows not applied to ``NAME.remaining.EXT``; returns it, types, ``changed``.

    ``changed``: the input changed while it was pushed (its rows are an older version's).

    Beside it go the options they are to be pushed with, the types of a CSV's text columns
    and the input they came from (``NAME.remaining.EXT.json``, see :mod:`converz._remaining`):
    ``own``'s input when ``path`` is itself a remaining file, else ``path`` as it was read
    (``before``: its stat then).
    """
    from converz import ConverzError

    remaining = result.remaining
    out = _remaining_path(path, own is not None)
    source = own.source if own is not None else identify(path, before)
    changed = own.changed if own is not None else _changed_since(path, before)
    try:
        if own is None:
            _check_replaceable(out, path, base_url)
        _write_rows(out, remaining)
    except (ConverzError, OSError) as err:
        # The folder is read-only, full, or the name is taken by a folder or a file that is
        # not converz's: the rows must still go somewhere (outside trial: the push's counts
        # and rows were lost with this error).
        fallback = Path(tempfile.mkdtemp(prefix=_FALLBACK_PREFIX)) / out.name
        _write_rows(fallback, remaining)
        logger.warning(
            "could not write %s (%s); the rows not applied are in %s", out, err, fallback
        )
        out = fallback
    types = _text_types(path, schema, remaining)
    record_options(
        out,
        result.target,
        schema,
        options,
        types,
        source,
        rows=remaining.num_rows,
        base_url=base_url,
        changed=changed,
    )
    return out, types, changed


def _changed_since(path: Path, before: Optional[os.stat_result]) -> bool:
    """Whether ``path`` is there with another size or time than ``before``, its stat when read.

    Then it was replaced while it was pushed (outside trial 16: a newer version saved and
    pushed meanwhile). Gone is not changed: its rows left are still the newest known.
    """
    now = _stat(path)
    if now is None or before is None:
        return False
    return (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns)


def _check_replaceable(out: Path, path: Path, base_url: Optional[str] = None) -> None:
    """Refuses (``FileExistsError``) to write over a file at ``out`` that is not ``path``'s.

    The user's own ``inventory.remaining.csv`` beside a pushed ``inventory.csv`` is kept, and
    the rows go to a temporary folder instead. So does one converz left for another input: it
    holds rows never applied (outside trial 16: they were replaced, then lost). :func:`push_file`
    refuses such a push before any request; this is for a file that appeared since. One left
    by a push of these same bytes is replaced: its rows were in ``path``, and those this push
    did not apply are in what replaces it.
    """
    if not out.exists():
        return
    try:
        found = load_record(out)
    except InvalidParameterError:
        found = None
    if found is None:
        raise FileExistsError(f"{out} exists and is not a remaining file converz wrote")
    if not same_input(found.source, path):
        raise FileExistsError(
            f"{out} holds rows an earlier push of another {path.name} did not apply"
        )
    if not same_tenant(found.base_url, base_url):
        raise FileExistsError(f"{out} holds rows left for another tenant, {found.base_url}")


def _write_rows(out: Path, rows: Any) -> None:
    from converz import _core

    writer = _core.FileWriter(str(out))
    writer.write(rows)
    writer.finish(rows)


def _text_types(path: Path, schema: Optional[dict[str, Any]], remaining: Any) -> dict[str, str]:
    """``string`` for each text column of a CSV's rows left to push that ``schema`` lacks.

    A CSV has no types: its remaining file would be inferred afresh, and a column that was
    text because of a row already applied (``abc`` beside ``00002``) read as numbers, its
    ``NA`` as a missing value (outside trial: the resumed push stored 2 for "00002"). They are
    recorded beside the file and read so by any push of it
    (:func:`converz._remaining.check_options` returns them).
    """
    if path.suffix.lower() != ".csv":
        return {}
    # Columns the push's schema made text too: a resumed push given that schema (the resume
    # hint's, which repeats these types) leaves a record a retry without it still matches.
    return {
        name: "string"
        for name, kind in remaining.schema.items()
        if kind in ("Utf8", "LargeUtf8", "Utf8View")
    }


def _shell_word(word: str) -> str:
    r"""``word`` quoted for bash, so the command runs as printed.

    shlex's single quotes keep every character as it is, but an error shows a control
    character, a bidirectional override or a line separator escaped (a terminal would act on
    it), and ``'tab\there'`` run from the screen names another file (outside trial). Such a
    word goes in bash's ``$'...'``, which reads those escapes back: ``\t``, ``\n``, and
    ``\xHH`` for each UTF-8 byte of the others (or the byte a file name held that is not UTF-8,
    a surrogate to Python).
    """
    if printable(word) == word:
        return shlex.quote(word)
    out = []
    for ch in word:
        code = ord(ch)
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[ch])
        elif printable(ch) == ch:
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        else:
            # Its UTF-8 bytes: bash reads \u escapes only in a UTF-8 locale, \x in any.
            out.extend(f"\\x{byte:02x}" for byte in ch.encode("utf-8"))
    return "$'" + "".join(out) + "'"


_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _flag_value(flag: str, value: str) -> list[str]:
    """``--flag VALUE``, or ``--flag=VALUE`` when VALUE starts with ``-``.

    argparse would take such a value for a flag (outside trial: ``--schema -x:string`` was a
    usage error).
    """
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def resume_command(
    path: Union[str, Path],
    schema: Optional[dict[str, Any]],
    options: dict[str, Any],
    *,
    base_url: Optional[str] = None,
    force_old: bool = False,
) -> str:
    """The ``converz push`` command that sends ``path`` as the push given these options would.

    Every option that changes what is sent or how is repeated: without ``--clear`` the nulls
    left to clear would mean "leave unchanged", without ``--schema`` a CSV's ``00123`` would be
    read as 123 (``schema`` holds the text columns its rows were read with too, so the command
    alone reads them so, without the record), without ``--timezone`` times would be converted
    to UTC. ``base_url`` (the tenant the push went to) is repeated as ``--base-url``: without
    it the command goes to whatever ``CONVERZ_BASE_URL`` says in the shell it is run from
    (outside trial: another tenant's). The key never is. Quoted for bash (a word with a
    control character in ``$'...'``, see :func:`in_bash`; any POSIX shell otherwise). A
    relative path starting with ``-`` is written ``./-x``: argparse would take it for a flag
    (outside trial 16). ``force_old``: ``--force-old`` (see :func:`push_file`).
    """
    target = str(path)
    words = ["converz", "push", f"./{target}" if target.startswith("-") else target]
    if base_url is not None:
        words += ["--base-url", base_url]
    if options.get("to") is not None:
        words += ["--to", options["to"]]
    for name, kind in _spelled(schema).items():
        words += _flag_value("--schema", f"{name}:{kind}")
    if options.get("timezone") is not None:
        words += _flag_value("--timezone", options["timezone"])
    if options.get("on_duplicate", "error") != "error":
        words += ["--on-duplicate", options["on_duplicate"]]
    if options.get("chunk_rows", _DEFAULT_CHUNK_ROWS) != _DEFAULT_CHUNK_ROWS:
        words += ["--chunk-rows", str(options["chunk_rows"])]
    if options.get("strict"):
        words.append("--strict")
    if force_old:
        words.append("--force-old")
    clear = _clear_names(options.get("clear"))
    if clear:
        # Last: --clear takes every word after it, so nothing may follow its column names.
        # A name starting with `-` would read as a flag: it goes in `--clear=NAME` form
        # (outside trial: `--clear -x` was an argparse error).
        words += [f"--clear={name}" for name in clear if name.startswith("-")]
        plain = [name for name in clear if not name.startswith("-")]
        if plain:
            words += ["--clear", *plain]
    return " ".join(_shell_word(word) for word in words)


def in_bash(command: str) -> str:
    r"""``", in bash (...)"`` when ``command`` has a ``$'...'`` word, else ``""``: for its hint.

    ``$'...'`` is bash's (and zsh's, ksh's): ``sh`` (dash: cron, ``subprocess(shell=True)``)
    reads ``$'tab\there'`` as other words (outside trial 16). The other way, literal control
    characters in single quotes, would be POSIX but is shown escaped, or acted on, by a
    terminal, and copied from it is another name (outside trial 15).
    """
    if " $'" not in command:
        return ""
    return ", in bash (its $'...' quoting is not sh's)"


def _spelled(schema: Optional[dict[str, Any]]) -> dict[str, str]:
    """``schema`` by ``schema=`` names.

    A pyarrow or polars type (from Python) by its name ("timestamp[ms]"): the core's name for
    it can hold a comma, which --schema would split on.
    """
    return {
        name: kind if isinstance(kind, str) else resolve_type(name, kind).name
        for name, kind in (schema or {}).items()
    }


def _clear_names(clear: Any) -> list[str]:
    return [clear] if isinstance(clear, str) else list(clear or [])


def python_call(
    path: Union[str, Path],
    schema: Optional[dict[str, Any]],
    options: dict[str, Any],
    *,
    base_url: Optional[str] = None,
    force_old: bool = False,
) -> str:
    """:meth:`converz.Client.push_file` sending ``path`` as :func:`resume_command` does.

    Python literals (``repr``), so any name or path is valid Python as printed. ``base_url``
    (the tenant the rows are for) follows as a comment naming the client to call it on: any
    client would take the call, and another tenant's would apply the rows there (outside
    trial 16); a push of a remaining file to another tenant is refused, the comment says
    which to use. A comment keeps the call one expression (``eval`` takes it).
    """
    words = [repr(str(path))]
    if options.get("to") is not None:
        words.append(f"to={options['to']!r}")
    spelled = _spelled(schema)
    if spelled:
        words.append(f"schema={spelled!r}")
    clear = _clear_names(options.get("clear"))
    if clear:
        words.append(f"clear={clear!r}")
    if options.get("chunk_rows", _DEFAULT_CHUNK_ROWS) != _DEFAULT_CHUNK_ROWS:
        words.append(f"chunk_rows={options['chunk_rows']!r}")
    if options.get("on_duplicate", "error") != "error":
        words.append(f"on_duplicate={options['on_duplicate']!r}")
    if options.get("timezone") is not None:
        words.append(f"timezone={options['timezone']!r}")
    if options.get("strict"):
        words.append("strict=True")
    if force_old:
        words.append("force_old=True")
    call = f"client.push_file({', '.join(words)})"
    if base_url is not None:
        call += f"  # client = converz.Client(base_url={base_url!r})"
    return call


_DEFAULT_CHUNK_ROWS = 100_000


def _push_again(
    path: Path,
    schema: Optional[dict[str, Any]],
    options: dict[str, Any],
    base_url: Optional[str],
    *,
    force_old: bool = False,
) -> tuple[str, str]:
    """``(where, "COMMAND (in Python: CALL)")``: ``where`` is :func:`in_bash`'s note."""
    command = resume_command(path, schema, options, base_url=base_url, force_old=force_old)
    call = python_call(path, schema, options, base_url=base_url, force_old=force_old)
    return in_bash(command), f"{command} (in Python: {call})"


def old_rows_hint(path: Path, found: Record, base_url: Optional[str], lead: str) -> str:
    """The hint for rows left by a push whose input changed while it was pushed.

    They are the older bytes' rows: pushed after a newer version of the input, they would
    write old values over new (outside trial 16: the hint said to push them again, and 1,200
    of 2,000 calls went back to the old version). So not a plain resume: the command needs
    ``--force-old``, and dropping them is said first.
    """
    where, again = _push_again(
        path, found.read_schema(), found.options, found.base_url or base_url, force_old=True
    )
    return (
        f"{lead}; their input changed while it was pushed, so these are rows of its OLD "
        "version, and pushed now they would write those old values over anything pushed "
        "since (a newer version of it included). If a newer version was pushed, drop them: "
        f"delete {path} and {record_path(path)}; only if nothing newer was pushed since, push "
        f"them with --force-old{where}: {again}"
    )


def _resume_hint(
    err: Any,
    out: Path,
    schema: Optional[dict[str, Any]],
    options: dict[str, Any],
    base_url: str,
    changed: bool = False,
) -> str:
    """Push the rest with the same flags, to the same tenant; after a refused key, fix it first.

    The command and the Python call, each alone enough (``schema`` holds the text types).
    ``changed``: the input changed while it was pushed (see :func:`old_rows_hint`).
    """
    from converz import AuthenticationError

    if changed:
        found = load_record(out)
        if found is not None:
            return old_rows_hint(out, found, base_url, f"{out} holds the rows not applied")
    where, again = _push_again(out, schema, options, base_url)
    if isinstance(err.__cause__, AuthenticationError):
        applied = any(chunk.status == "applied" for chunk in err.result.chunks)
        done = "the rest was not applied" if applied else "nothing was applied"
        return (
            f"the API refused the API key ({done}): check CONVERZ_API_KEY, then push the rest"
            f"{where}: {again}"
        )
    if getattr(err.__cause__, "status_code", None) == 413:
        # The same chunks would be refused again (outside trial 19: the hint said "the same
        # flags"); half the refused chunk's rows each.
        failed = [chunk.rows for chunk in err.result.chunks if chunk.status == "failed"]
        rows = failed[0] if failed else options.get("chunk_rows", _DEFAULT_CHUNK_ROWS)
        if rows == 1:
            return (
                "the server refused a request body of one row as too large (HTTP 413, a limit "
                "of the server or a proxy before it): no smaller chunk can be sent, so shorten "
                f"that row's values (long text, say) or ask the server's operator; {out} holds "
                "the rows not applied"
            )
        smaller = dict(options, chunk_rows=max(1, rows // 2))
        where, again = _push_again(out, schema, smaller, base_url)
        return (
            f"the server refused a request body of {rows:,} rows as too large (HTTP 413, a limit "
            f"of the server or a proxy before it): push them again in smaller chunks{where}: "
            f"{again}"
        )
    if getattr(err.__cause__, "status_code", None) == 400:
        # The data itself was refused: sent again unchanged it fails the same way (outside
        # trial 22: the hint said "the same flags", which failed forever).
        return (
            "the server refused the data (HTTP 400, see the message), and sent unchanged it is "
            f"refused again: fix what it names in {out} (it holds the rows not applied), "
            f"then push it{where}: {again}; or, to push a corrected copy of the whole input "
            f"instead, delete {out} and {record_path(out)} first (rows applied twice are "
            "applied alike)"
        )
    return f"push them again with the same flags{where}: {again}"


def push_file(
    client: Any,
    path: Union[str, Path],
    *,
    schema: Optional[dict[str, Any]] = None,
    on_note: Optional[Callable[[str], None]] = None,
    force_old: bool = False,
    **options: Any,
) -> Any:
    """Pushes the rows of a file with :meth:`converz.Client.push_updates`.

    Rows not applied (a failed or interrupted push) are written to ``NAME.remaining.EXT``
    beside the file (a push of that file rewrites it with what is still left), and the options
    they are to be sent with, and the input they came from, to ``NAME.remaining.EXT.json``: a
    push of ``NAME.remaining.EXT`` with options that would send other values (``clear``,
    ``schema``, ``timezone``, ``to``, ``on_duplicate``, ``strict``) is refused before any
    request. Once a push is complete, ``NAME.remaining.EXT`` and its record are removed:
    pushed itself, it is applied; left beside a file that was just pushed whole and still
    holds the bytes its rows came from, they were in that file. Only a file with its record is
    converz's (see :func:`_after_complete`). While ``NAME.remaining.EXT`` holds rows of other
    bytes (an earlier input), ``path`` is refused before any request: rows never applied are
    never written over.

    Args:
        client: A :class:`converz.Client`.
        path: A ``.parquet``, ``.csv``, ``.ndjson``/``.jsonl`` or ``.arrow``/``.feather`` file.
        schema: Types of CSV or NDJSON columns instead of the inferred ones (spelled as
            ``schema=`` of a fetch), e.g. ``{"code": "string"}`` to keep ``00123`` as text.
            A value its type would change (``1.5`` under ``int64``) is refused, with its line.
            Parquet and Arrow files carry their own types and take none.
        on_note: Called with a line saying a remaining file was removed.
        force_old: Push a remaining file whose input changed while it was pushed (its rows
            are the older version's: see :func:`old_rows_hint`); refused without it.
        **options: Keyword arguments of ``push_updates`` (``to``, ``clear``, ...).

    Returns:
        The :class:`converz.PushResult`.

    Raises:
        InvalidParameterError: Before any request: ``path`` is missing, a folder or not of its
            format (corrupt, cut short), or a value does not fit the type ``schema`` gives it;
            or ``path`` is a remaining file whose recorded options differ from these (or cannot
            be read): the hint gives the command with the recorded ones; or
            ``NAME.remaining.EXT`` beside it holds rows a push of other bytes did not apply
            (see :func:`_refuse_over_unsent`): the hint says how to push or drop them; or
            ``path`` is a remaining file left for another tenant than ``client``'s, or (without
            ``force_old``) by a push whose input changed under it.
        PushError: Some chunks were not applied; the rows not applied were written to
            ``NAME.remaining.EXT`` beside the file, which the message names.
        KeyboardInterrupt: The push was stopped; its ``__cause__`` (a ``PushError``) says how
            many rows were applied and names ``NAME.remaining.EXT``, written as for a failure.
    """
    from converz import PushError

    path = Path(path)
    own = check_options(path, schema, options)
    if own is not None:
        _refuse_elsewhere(path, own, client, force_old)
    if own is None and path.stem.endswith(".remaining") and on_note is not None:
        why = not_ours(path) if path.is_file() else None
        if why is not None:
            on_note(f"{path} is pushed as an ordinary file, and kept: {why}")
    if own is None:
        _refuse_over_unsent(path, client)
    # A remaining file's rows are read with the types they were read with before (recorded),
    # under any the push gives.
    read_schema = ({**own.types, **(schema or {})} if own is not None else None) or schema
    before = _stat(path)
    data = _read_input(path, read_schema, options.get("to"))
    check_row_names(path, data.column_names)
    _check_not_empty(path, data.column_names)
    try:
        result = client.push_updates(data, **options)
    except InvalidParameterError as err:
        if err.parameter == "to" and "neither a call_id nor a rep_id" in err.message:
            raise _no_key(path, err) from err
        _at_line(path, data.column_names, err)
        raise
    except PushError as err:
        remaining = err.result.remaining
        if remaining is None:
            raise
        out, types, changed = _write_remaining(
            path, err.result, schema, options, own, before, client.base_url
        )
        raise PushError(
            f"{err.message}; the {remaining.num_rows:,} rows not applied are in {out}",
            result=err.result,
            hint=_resume_hint(
                err, out, {**types, **(schema or {})}, options, client.base_url, changed
            ),
        ) from err
    except BaseException as stop:
        # Ctrl-C or SIGTERM: the core hands what was applied over as the cause; the rows left
        # are kept as after a failure, so stopping a long push loses no progress.
        cause = stop.__cause__
        remaining = cause.result.remaining if isinstance(cause, PushError) else None
        if remaining is not None and remaining.num_rows == 0:
            remaining = None  # every chunk applied: the core says so with a table without rows
        if isinstance(cause, PushError) and remaining is None:
            # Stopped after every chunk was applied: as complete as a push that ran to its
            # end, so a remaining file it resumed goes (outside trial 21c: it was kept).
            if not cause.result.dry_run:
                _after_complete(path, own, before, on_note, cause.result, client.base_url)
        elif isinstance(cause, PushError) and remaining is not None:
            out, types, changed = _write_remaining(
                path, cause.result, schema, options, own, before, client.base_url
            )
            stop.__cause__ = PushError(
                f"{cause.message}; the {remaining.num_rows:,} rows not known to be applied are "
                f"in {out}",
                result=cause.result,
                hint=_resume_hint(
                    cause, out, {**types, **(schema or {})}, options, client.base_url, changed
                ),
            )
        raise
    if not result.dry_run:
        _after_complete(path, own, before, on_note, result, client.base_url)
    return result


# Where the push of a frame names a row: "(row 3)", "(row 3; ...", "(...; row 3)".
_FRAME_ROW = re.compile(r"(?<=\()row (\d+)(?=[);])|(?<=; )row (\d+)(?=\))")


def _at_line(path: Path, columns: list[str], err: InvalidParameterError) -> None:
    """``err`` with the row it names said as the file's line.

    A push's refusal of a value of the file's column names it as its reader's refusals do: its
    line in a CSV or NDJSON file. The push checks the file's rows as a frame's, naming a
    frame's row (outside trial 94 N6: "after 2099 (row 0)" for line 2 of a CSV).
    """
    from converz import _core

    if err.parameter not in columns:
        return
    found = _FRAME_ROW.search(err.message)
    if found is None:
        return
    row = int(found.group(1) or found.group(2))
    try:
        place = _core.file_place(str(path), row, columns.index(err.parameter))
    except ConverzError:
        return
    said = f"{err.message[: found.start()]}{place} of {path}{err.message[found.end() :]}"
    err.message = said
    err.args = (said,)
    if "finer than a microsecond" in said:
        # The frame's ways out (round it, cast it) are not a file's (outside trial 98 F2).
        column = err.parameter
        err.hint = (
            f'schema={{"{column}": "string"}} (--schema {column}:string) pushes the times as '
            "written, as text; or round them to microseconds in the file. Nothing was sent"
        )


def _check_not_empty(path: Path, columns: list[str]) -> None:
    """Refuses a file with no columns, saying it is empty.

    The core said it had no key column and "pass to=" (outside trial 16).
    """
    if not columns:
        raise InvalidParameterError(
            f"{path} is empty: it has no columns and no rows",
            parameter="path",
            hint="give the file to push (a header line with call_id or rep_id, then rows); "
            "nothing was sent",
        )


def _no_key(path: Path, err: InvalidParameterError) -> InvalidParameterError:
    """The core's "neither a call_id nor a rep_id column" for a file: named, for any user.

    Its "pass to=" was a keyword a command line user does not have, and no endpoint stands in
    for the key (outside trial 16).
    """
    said = err.message.split("the data ", 1)[-1].split("; add the key column", 1)[0]
    return InvalidParameterError(
        f"{path} {said}: each row needs the key of the call or rep it updates",
        parameter="path",
        hint="name the key column call_id (calls) or rep_id (reps) in the file; --to (to= in "
        "Python) picks the endpoint but cannot stand in for the key. Nothing was sent",
    )


def _refuse_elsewhere(path: Path, own: Record, client: Any, force_old: bool) -> None:
    """Refuses, before any request, a remaining file pushed where its rows would do harm.

    To another tenant than the one they were left for (``CONVERZ_BASE_URL`` pointing elsewhere,
    or any client given the Python call): there they are applied to its calls of the same ids
    or not found, and the file was then removed as applied (outside trial 16: 1,400 rows never
    reached their tenant, their only copy gone). And, without ``force_old``, rows whose input
    changed while it was pushed: old values, which would write over newer ones.
    """
    base_url = getattr(client, "base_url", None)
    rows = _row_count(path, own)
    if not same_tenant(own.base_url, base_url):
        where, again = _push_again(
            path, own.read_schema(), own.options, own.base_url, force_old=own.changed
        )
        raise InvalidParameterError(
            f"{path} holds {rows} left for the tenant {own.base_url}, and this push goes to "
            f"{base_url}: there they would be applied to its rows of the same keys, or not "
            "found. Nothing was sent",
            parameter="base_url",
            hint=f"push them to {own.base_url}{where}: {again}",
        )
    if own.changed and not force_old:
        raise InvalidParameterError(
            f"{path} holds {rows} of an OLD version of its input (it changed while it was "
            "pushed), refused without --force-old (force_old=True). Nothing was sent",
            parameter="force_old",
            hint=old_rows_hint(path, own, base_url, f"{path} holds rows not applied"),
        )


def _refuse_over_unsent(path: Path, client: Any) -> None:
    """Refuses, before any request, to push ``path`` while another input's rows are left.

    ``NAME.remaining.EXT`` beside ``path`` may hold rows a push of an earlier ``NAME.EXT``
    (other bytes) did not apply. Were this push to stop partway too, its own rows left would
    go to that name: written over, those rows would be lost (outside trial 16), and written
    elsewhere, two files of rows left would wait, to be pushed in the right order. Refusing
    before anything is sent is the one simple guarantee, and it also gets the order right: the
    older rows pushed first, then ``path``, whose values are newer (pushed the other way round,
    the old values would write over the new). A dry run is refused too: the push it checks
    would be. The same bytes are no other input: a push of them sends every row the file holds
    again, and may replace it (see :func:`_check_replaceable`).
    """
    leftover = _remaining_path(path)
    if not (path.is_file() and leftover.is_file()):
        return  # a missing input is named by its read
    try:
        found = load_record(leftover)
    except InvalidParameterError:
        found = None  # a damaged record: never written over (_check_replaceable), so no risk
    client_url = getattr(client, "base_url", None)
    same = same_input(found.source, path) if found is not None else True
    if found is None or (same and same_tenant(found.base_url, client_url)):
        return
    rows = _row_count(leftover, found)
    came_from = (found.source or {}).get("name")
    if same:
        origin = f"a push of these same bytes to another tenant, {found.base_url}"
    elif found.changed:
        origin = f"a push of an older {path.name}, which changed while it was pushed"
    elif came_from:
        origin = f"an earlier push of {came_from} when it held other bytes"
    else:
        origin = "an earlier push of an input not recorded"
    message = (
        f"{path} was not pushed: {leftover} holds {rows} not yet applied, left by {origin}; "
        "were this push to stop partway too, its own rows left would have to go where those "
        "are. Nothing was sent"
    )
    if found.changed:
        lead = f"{path} is newer than those rows, so they are most likely to be dropped"
        hint = old_rows_hint(leftover, found, client_url, lead) + f"; then push {path} again"
        raise InvalidParameterError(message, parameter="path", hint=hint)
    where, again = _push_again(
        leftover, found.read_schema(), found.options, found.base_url or client_url
    )
    raise InvalidParameterError(
        message,
        parameter="path",
        hint=f"push those rows first, with the options they were left with{where}: {again}, "
        f"then push {path} again (in that order: pushed after it, the older values would "
        f"write over the newer); or, to drop those rows, delete {leftover} and "
        f"{record_path(leftover)}",
    )


def _row_count(remaining: Path, found: Record) -> str:
    """``"1,234 rows"``: as recorded, else counted (a record of an older converz)."""
    from converz import ConverzError, _core

    rows = found.rows
    if rows is None:
        try:
            rows = int(_core.read_file(str(remaining), None).num_rows)
        except (ConverzError, OSError):
            return "rows"
    return f"{rows:,} row" + ("" if rows == 1 else "s")


def _stat(path: Path) -> Optional[os.stat_result]:
    try:
        return path.stat()
    except OSError:
        return None  # the read names the problem


def _after_complete(
    path: Path,
    own: Optional[Record],
    before: Optional[os.stat_result],
    on_note: Optional[Callable[[str], None]],
    result: Any = None,
    base_url: Optional[str] = None,
) -> None:
    """After a complete push of ``path``: the remaining file it was, or one beside it, goes.

    Only a file converz wrote (with its record) is removed: ``path`` itself when it was one
    (every row of it is applied), or ``NAME.remaining.EXT`` left by a push of these same bytes
    (its rows were in ``path``, pushed whole). One left by a push of another input holds rows
    never applied: kept, with a warning. A remaining file whose rows came back not found
    (strict off) is removed too, its rows are as applied as they can be there, but the note
    says how many were not found rather than "every row applied" (outside trial 16).
    """
    if own is not None:
        missing = len(result.not_found) if result is not None else 0
        if missing:
            said = (
                f"{path}: every row of it was sent, but {missing:,} of them were not found at "
                f"{base_url} (keys it does not know: nothing changed for them; the push's "
                "not_found lists them)"
            )
        else:
            said = f"{path} (every row of it is applied)"
        _remove(path, said, on_note)
        return
    leftover = _remaining_path(path)
    if not leftover.is_file():
        return
    try:
        found = load_record(leftover)
    except InvalidParameterError:
        found = None  # unreadable: not known to be converz's, so left alone
    if found is None:
        return
    # The bytes pushed: ``path`` as read (``before``), unless it changed since.
    now = _stat(path)
    unchanged = (
        now is not None
        and before is not None
        and (now.st_size, now.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    )
    if unchanged and same_input(found.source, path) and same_tenant(found.base_url, base_url):
        said = f"{leftover} (left by an earlier push of {path.name}, now pushed whole)"
        _remove(leftover, said, on_note)
        return
    logger.warning(
        "%s holds rows an earlier push of another %s did not apply: kept (push it with its "
        "resume hint, or remove it and %s)",
        leftover,
        path.name,
        record_path(leftover).name,
    )


def _remove(remaining: Path, said: str, on_note: Optional[Callable[[str], None]]) -> None:
    forget_options(remaining)
    remaining.unlink(missing_ok=True)
    _remove_empty_fallback_folder(remaining.parent)
    if on_note is not None:
        on_note(f"removed {said}")


def _remove_empty_fallback_folder(folder: Path) -> None:
    """Removes ``folder`` when it is a temporary folder of rows left, now empty.

    :func:`_write_remaining` makes one when ``NAME.remaining.EXT`` cannot be written beside the
    input; once its file is pushed whole it held nothing (outside trial 23d: 87 empty
    ``converz-remaining-*`` folders in /tmp). Only converz's own (its prefix, directly in the
    temporary directory) and only empty: ``rmdir`` leaves one with anything else in it.
    """
    try:
        ours = folder.name.startswith(_FALLBACK_PREFIX) and os.path.samefile(
            folder.parent, tempfile.gettempdir()
        )
        if ours:
            folder.rmdir()
    except OSError:
        pass  # not empty, gone, or not ours to remove: left as it is


def _push(args: argparse.Namespace) -> int:
    from converz import InvalidParameterError, InvalidRequestError, PushError

    try:
        result = push_file(
            _client(args),
            args.path,
            to=args.to,
            clear=args.clear,
            chunk_rows=args.chunk_rows,
            on_duplicate=args.on_duplicate,
            timezone=args.timezone,
            dry_run=args.dry_run,
            strict=args.strict,
            force_old=args.force_old,
            schema=_schema(args),
            on_note=lambda line: print(line, file=sys.stderr),
            progress=not args.quiet and sys.stderr.isatty(),
        )
    except InvalidParameterError as err:
        # `--clear a,b` names one column `a,b` (a name may hold a comma): say how to give two
        # (outside trial 92 F6: `--schema` takes commas, `--clear` spaces).
        listed = [name for name in args.clear if "," in name]
        if err.parameter == "clear" and listed:
            spaced = " ".join(shlex.quote(part) for part in listed[0].split(","))
            raise InvalidParameterError(
                f"{err.message} (--clear takes columns separated by spaces: --clear {spaced})",
                hint=err.hint,
                parameter="clear",
            ) from None
        raise
    except PushError as err:
        print(err.result.report(), file=sys.stderr)
        raise
    except InvalidRequestError as err:
        # --strict and keys the server does not know: which ones, since the command line has
        # no err.result.not_found to read (outside trial 18: only "e.g. 999999999").
        keys = list(err.result.not_found) if err.result is not None else []
        if keys:
            # One a line, so a long list can be read, counted and grepped (it was one line).
            said = f"{len(keys):,} key" + ("" if len(keys) == 1 else "s")
            lines = "".join(f"\n  {key}" for key in keys)
            print(f"converz: {said} not found:{lines}", file=sys.stderr)
        raise
    print(result)
    return 0


def _sync(args: argparse.Namespace) -> int:
    from converz._sync import sync_calls

    flags = {k: v for k, v in _CALLS_FLAGS.items() if k not in ("after", "before", "start_date")}
    filters = _filters(args, flags, _CALLS_LISTS)
    result = sync_calls(
        _client(args),
        args.dir,
        start_date=args.start_date,
        overlap_days=args.overlap_days,
        format=args.format,
        full_refresh=args.full_refresh,
        schema=_schema(args) or None,
        **filters,
    )
    print(result)
    return 0
