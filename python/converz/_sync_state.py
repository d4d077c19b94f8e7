"""The sync dataset's state file and the checks of its directory, run before any fetch.

The state (``_converz_sync.json``) says what defines the dataset (the query's fingerprint, the
format) and how far it is synced (the watermark). A damaged or foreign state, layout or
directory is refused here, saying how to go on, before anything is fetched or written.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from converz._log import logger
from converz._sync_delta import REBUILD
from converz.exceptions import InvalidParameterError

STATE_FILE = "_converz_sync.json"
STAGING_DIR = "_converz_staging"
# What a state file's fields may be; one written by a later converz says a higher version.
STATE_VERSION = 1
FORMATS = ("parquet", "delta")
# Days a SyncResult's repr or a refusal lists one by one; more are summed up.
DAYS_SHOWN = 3
# Values of a long list (ids, metrics) a refusal shows before it sums up the rest.
VALUES_SHOWN = 3


def query_fingerprint(filters: dict[str, Any], fmt: str) -> str:
    """A hash of what defines the dataset's rows and columns (not its time range)."""
    query = {k: v for k, v in filters.items() if k != "end_date"}
    text = json.dumps({"format": fmt, "query": query}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_state(root: Path, full_refresh: bool) -> Optional[dict[str, Any]]:
    """The state file's contents, checked once here (None: there is none).

    A damaged or hand-edited one failed later as a bare ``JSONDecodeError``, ``ValueError`` or
    ``AttributeError`` (outside trial 21b). A full refresh rebuilds the state, so it goes on
    over a damaged one (with a warning); the state path being a directory stops it too, since
    the new state could not be written there.
    """
    path = root / STATE_FILE
    if path.is_dir():
        raise damaged(path, "is a directory, not the sync state file", rebuild=False)
    try:
        with open(path, "rb") as f:
            state = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        problem: Optional[str] = f"is not JSON ({err})"
    else:
        problem = _state_problem(state)
    if problem is None:
        return dict(state)
    if not full_refresh:
        raise damaged(path, problem, rebuild=True)
    logger.warning("%s %s; the full refresh rebuilds it", path, problem)
    return None


def _state_problem(state: Any) -> Optional[str]:
    """What is wrong with a state file's parsed JSON, or None."""
    if not isinstance(state, dict):
        return f"holds a JSON {type(state).__name__}, not the sync state's object"
    version = state.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > STATE_VERSION:
        return (
            f"was written by a later converz (state version {version}; this one reads "
            f"version {STATE_VERSION})"
        )
    if version != STATE_VERSION or isinstance(version, bool):
        return f'has "version" {version!r}, not {STATE_VERSION}'
    if state.get("format") not in FORMATS:
        return f'has "format" {state.get("format")!r}, not "parquet" or "delta"'
    if state.get("previous_format", "parquet") not in FORMATS:
        return f'has "previous_format" {state.get("previous_format")!r}'
    if not isinstance(state.get("fingerprint"), str) or not isinstance(state.get("query"), dict):
        return 'lacks the "fingerprint" or "query" of the filters'
    for name, parse in (
        ("watermark", _dt.datetime.fromisoformat),
        ("start_date", _dt.date.fromisoformat),
    ):
        value = state.get(name)
        what = "date" if name == "start_date" else "time"
        try:
            parsed = None if value is None else parse(value)
        except (TypeError, ValueError):
            return f"has {name!r} {value!r}, not a {what}"
        # A zone, or a year the overlap would take before year 1: later a bare TypeError or
        # OverflowError (outside trial 21c). A watermark in the future is pulled back to the
        # present when used (`_fetch_start`).
        if isinstance(parsed, _dt.datetime) and parsed.tzinfo is not None:
            return f"has {name!r} {value!r}, a time with a zone (the state's times have none)"
        if parsed is not None and parsed.year < 1000:
            return f"has {name!r} {value!r}, before year 1000"
    return None


def damaged(path: Path, problem: str, rebuild: bool) -> InvalidParameterError:
    """The refusal of a damaged dataset file or directory, saying how to go on.

    ``rebuild``: a full refresh mends it as it is (a state file's contents); else the entry
    must be moved aside first, and a full refresh then fetches any day it held again.
    """
    if rebuild:
        hint = f"rebuild the dataset with {REBUILD}, which writes a new state"
    elif path.name == STAGING_DIR:
        hint = f"move {path.name} aside (or remove it), then run again"
    else:
        hint = f"move {path.name} aside (or remove it), then rebuild with {REBUILD}"
    return InvalidParameterError(
        f"{path} {problem}; this run stopped before fetching or writing anything",
        parameter="path",
        hint=hint,
    )


def write_durably(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` whole or not at all.

    Into ``.<name>.tmp`` beside it, synced to disk, then renamed over it: a run killed
    mid-write leaves the old file or the new one.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_state(root: Path, state: dict[str, Any]) -> None:
    text = json.dumps(state, indent=2, sort_keys=True, default=str)
    write_durably(root / STATE_FILE, text.encode("utf-8"))


def check_state(
    root: Path,
    state: Optional[dict[str, Any]],
    fingerprint: str,
    fmt: str,
    full_refresh: bool,
    query: Optional[dict[str, Any]] = None,
) -> None:
    if state is None and not (root / STATE_FILE).exists():  # a damaged state is still ours
        _refuse_foreign_days(root)
    if full_refresh:
        return
    if state is None:
        # Converz's own entries do not make the directory another's: the staging directory,
        # and the state's temporary file a first run killed before its first rename leaves
        # (outside trial 23c: every later run was refused, its hint speaking of user files).
        ours = {STAGING_DIR, f".{STATE_FILE}.tmp"}
        if root.exists() and any(p.name not in ours for p in root.iterdir()):
            raise InvalidParameterError(
                f"{root} is not empty and holds no converz sync state",
                parameter="path",
                hint="sync into a new or empty directory, or pass full_refresh=True to write "
                "the dataset in it anyway, beside the files already there (they are kept, and a "
                "**/*.parquet glob would read them too)",
            )
        return
    if state["format"] != fmt:
        # Said as such: "a different query ({})" named the filters, which had not changed
        # (outside trial 21b).
        held = state["format"]
        raise InvalidParameterError(
            f"{root} holds a {held} dataset and this run writes {fmt}: the format changed "
            f"(from {held} to {fmt}), and one directory holds one format",
            parameter="format",
            hint=f"pass format={held!r} (--format {held}) to keep syncing it, or "
            f"{REBUILD} to rebuild it as "
            f"{fmt} (its {held} files are then removed)",
        )
    if state["fingerprint"] != fingerprint:
        changed = query_changes(state["query"], query) if query is not None else ""
        raise InvalidParameterError(
            f"{root} was synced with a different query ({changed or shown_query(state['query'])}"
            "); refusing to mix rows of two queries",
            parameter="filters",
            hint="use the same filters and schema= (--schema), or full_refresh=True "
            "(--full-refresh) to rebuild",
        )


def query_changes(held: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """What differs between the query a dataset was synced with and this run's, or "".

    The whole stored query hid which filter or ``schema=`` column changed (outside trial 94
    N3: ``{'schema': {'cnt': 'int16'}}`` for a run that added ``cntt``). ``end_date`` is no
    part of a dataset's query.
    """
    changes = []
    for name in dict.fromkeys([*held, *now]):
        if name == "end_date":
            continue
        then, here = held.get(name), now.get(name)
        if isinstance(then, dict) or isinstance(here, dict):
            then, here = then or {}, here or {}
            for column in dict.fromkeys([*then, *here]):
                if then.get(column) != here.get(column):
                    changes.append(
                        f"{name} {column!r}: {_as_was(then.get(column))} then, "
                        f"{_as_was(here.get(column))} now"
                    )
        elif isinstance(then, list) and isinstance(here, list):
            # A long list's change is its values added and removed, not the two lists cut.
            before, after = set(then), set(here)
            moved = [
                f"{what} {_shown(sorted(values))}"
                for what, values in (("added", after - before), ("removed", before - after))
                if values
            ]
            changes.append(f"{name}: {', '.join(moved)}")
        elif then != here:
            changes.append(f"{name}: {_as_was(then)} then, {_as_was(here)} now")
    return "; ".join(changes)


def _as_was(value: Any) -> str:
    return "none" if value is None else _shown(value)


def shown_query(query: dict[str, Any]) -> str:
    """``query`` as a refusal shows it: a long list as its first values and its count.

    The whole of it repeated 1,400 ids of 32 characters, a 50 KB message (outside trial 50).
    """
    return "{" + ", ".join(f"{name!r}: {_shown(value)}" for name, value in query.items()) + "}"


def _shown(value: Any) -> str:
    """One value of a query as a refusal shows it (:func:`shown_query`)."""
    if isinstance(value, list) and len(value) > VALUES_SHOWN:
        head = ", ".join(repr(v) for v in value[:VALUES_SHOWN])
        text = f"[{head}, ... ({len(value):,} values)]"
    else:
        text = repr(value)
    if len(text) > 200:
        text = f"{text[:200]}... ({len(text):,} characters)"
    return text


def _refuse_foreign_days(root: Path) -> None:
    """Refuses a directory of no converz dataset that holds ``date=.../part-0.parquet`` files.

    A run writes its days under those names, and a full refresh removes days the fetch does not
    have: another writer's dataset of that layout (pyarrow's ``write_dataset``) lost its days,
    where the README says a full refresh keeps the files it finds (outside trial 21c).
    """
    taken = sorted(str(p.relative_to(root)) for p in root.glob("date=*/part-0.parquet"))
    if taken:
        raise InvalidParameterError(
            f"{root} holds no converz sync state but holds {', '.join(taken[:DAYS_SHOWN])}"
            f"{' ...' if len(taken) > DAYS_SHOWN else ''}: files named as a synced dataset's "
            "days, which a run would replace or remove",
            parameter="path",
            hint="sync into a new or empty directory (or move those files away first)",
        )


def check_layout(root: Path) -> None:
    """No file where the dataset keeps a directory, and no directory where it keeps a file.

    Each failed later as a bare ``FileExistsError`` or ``IsADirectoryError`` (outside trial
    21b), after the fetch.
    """
    staging = root / STAGING_DIR
    if staging.is_symlink() or (staging.exists() and not staging.is_dir()):
        raise damaged(staging, "is not a directory (sync stages its files there)", False)
    for entry in root.glob("date=*"):
        try:
            _dt.date.fromisoformat(entry.name[5:])
        except ValueError:
            continue
        if not entry.is_dir():
            raise damaged(entry, "is not a directory (sync keeps that day's rows in one)", False)
        part = entry / "part-0.parquet"
        if part.is_dir():
            raise damaged(part, "is a directory, not the day's Parquet file", False)
