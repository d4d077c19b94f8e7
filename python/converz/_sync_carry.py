"""Rows a sync run keeps although its fetch did not return them.

The API lists a call by its recorded start; a synced dataset keeps it under its ``date``, which
a push can move. A run fetches the days from its first day on, and replaces those days: a call
started before that day but dated inside the window is not fetched again, and replacing its
day dropped it (outside trial 22b). Every row of a replaced day whose ``call_id`` the fetch did
not return is kept as it was, unless the sync's filters may have dropped it (see
:func:`carry_unseen`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Optional

from converz import _core
from converz._log import logger

_EPOCH = _dt.date(1970, 1, 1)


@dataclasses.dataclass(frozen=True)
class RunFiles:
    """What one run commits: its dataset, staging directory and staged days, and its window.

    ``staged``: the fetched rows' files per day; ``replace_all``: a full refresh (every day of
    the dataset is replaced); ``window``: the first and last day the run fetched (either open);
    ``filtered``: the sync's query has list filters (``rep_id=``, ``campaign=``, ...), so a
    call can leave it.
    """

    root: Path
    staging: Path
    staged: dict[_dt.date, list[Path]]
    replace_all: bool
    window: tuple[Optional[_dt.date], Optional[_dt.date]]
    filtered: bool

    def replaces(self, day: _dt.date) -> bool:
        """Whether the run replaces ``day`` of the dataset as it was."""
        return self.replace_all or in_range(day, *self.window)


def in_range(day: _dt.date, start: Optional[_dt.date], end: Optional[_dt.date]) -> bool:
    """Whether ``day`` is in ``start``..``end`` (either open when None)."""
    return (start is None or day >= start) and (end is None or day <= end)


def merge_run(
    root: Path,
    staging: Path,
    fetched: dict[_dt.date, list[Path]],
    inside: dict[_dt.date, list[str]],
    outside: dict[_dt.date, list[str]],
    window: tuple[Optional[_dt.date], Optional[_dt.date]],
    with_date: bool,
    filtered: bool,
) -> tuple[dict[_dt.date, list[Path]], list[_dt.date]]:
    """What an incremental run writes, per day, and the days outside its window it rewrites.

    ``fetched``: the run's staged files per day; ``inside``/``outside``: the dataset's files of
    the days in and out of the ``window``. The run writes, per day, its fetched rows, then the
    rows of the window's days its fetch could not see (:func:`carry_unseen`), then the rows
    of each day outside the window it touches that it did not fetch (:func:`without_fetched`):
    rows the fetch returned dated outside the window (a push moved a call's ``date`` back) go
    to their day beside its other rows, and every copy of a fetched call elsewhere goes
    (:func:`touched_outside`). The fetched files' ``call_id``s are read once for all three.
    ``with_date``: carried files get a ``date`` column (a Delta table's files have none).
    ``filtered``: see :class:`RunFiles`.
    """
    seen = _core.KeySet([str(p) for parts in fetched.values() for p in parts], "call_id")
    carried = carry_unseen(root, staging, seen, inside, window[0], with_date, filtered)
    touched = touched_outside(seen, fetched, outside, window)
    rest = without_fetched(staging, seen, fetched, touched, with_date)
    days = {*fetched, *carried, *rest}
    merged = {d: fetched.get(d, []) + carried.get(d, []) + rest.get(d, []) for d in sorted(days)}
    return {d: parts for d, parts in merged.items() if parts}, list(rest)


def carry_unseen(
    root: Path,
    staging: Path,
    seen: _core.KeySet,
    days: dict[_dt.date, list[str]],
    since: Optional[_dt.date],
    with_date: bool,
    filtered: bool,
) -> dict[_dt.date, list[Path]]:
    """Files of the rows of the dataset's ``days`` (their files each) the fetch did not return.

    The API lists a call by its recorded start, and the dataset keeps it under its ``date``,
    which a push can move: a call started before the run's window but dated inside it is not
    fetched again, and replacing its day dropped it (outside trial 22b). Such rows are kept
    as they were (a full refresh fetches them again), in files staged beside the fetched
    ones. ``seen``: the fetched ``call_id``s.

    Without list filters every such row is kept: the API deletes no call and lists each by
    the start it was recorded with, which no push changes, so a call once in the query stays
    in it (outside trial 28b: a push that moved a call's ``start_time`` into the window as
    well as its ``date`` made it look like a call that had left, and it was dropped). With
    list filters a call leaves the query when a push changes the filtered value; then only
    rows whose ``start_time`` is before ``since`` (the fetch's first day) are kept, as one
    started on or after it that the fetch did not return has left the query, or had its
    ``start_time`` pushed into the window (a full refresh fetches it again).
    """
    if since is None:  # the fetch started at the beginning: it saw every call
        return {}
    before = (since - _EPOCH).days * 86_400_000_000 if filtered else None
    carried = _carry(staging, seen, days, before, with_date, "carry")
    kept = {day: [path for path, n, _ in parts if n] for day, parts in carried.items()}
    kept = {day: paths for day, paths in kept.items() if paths}
    if kept:
        logger.info(
            "%s: %s rows of the days %s to %s were not returned by this run's fetch (calls "
            "started before its first day, dated inside it by a push); they are kept as they "
            "were, and a full refresh fetches them again",
            root,
            f"{sum(n for parts in carried.values() for _, n, _ in parts):,}",
            min(kept),
            max(kept),
        )
    return kept


def touched_outside(
    seen: _core.KeySet,
    fetched: dict[_dt.date, list[Path]],
    outside: dict[_dt.date, list[str]],
    window: tuple[Optional[_dt.date], Optional[_dt.date]],
) -> dict[_dt.date, list[str]]:
    """The days of ``outside`` (those before or after the window) a run must rewrite.

    Those it has rows for (a push moved a call's ``date`` back), and those holding a copy of a
    call it fetched (``seen``): a call's date moved out of the window and back in again left
    its copy behind. Reads every such day's ``call_id``s, the price of holding each call once.
    """
    paths = [(day, path) for day in sorted(outside) for path in outside[day]]
    holding = seen.files_holding([path for _, path in paths]) if paths else []
    days = {day for (day, _), held in zip(paths, holding) if held}
    days |= {day for day in fetched if not in_range(day, *window)}
    return {day: outside[day] for day in sorted(days) if day in outside}


def without_fetched(
    staging: Path,
    seen: _core.KeySet,
    fetched: dict[_dt.date, list[Path]],
    days: dict[_dt.date, list[str]],
    with_date: bool,
) -> dict[_dt.date, list[Path]]:
    """The days of ``days`` the fetch touches, each as the files of its rows not fetched.

    Touched: it holds a row the fetch returned (``seen``), or the fetch has rows dated on it.
    For the days outside a run's window when the fetch returned rows dated there (a push moved
    a call's ``date`` back): the call's row goes to its day beside the day's other rows, and
    its copy in whatever day held it before must go, or the dataset would hold it twice. A day
    listed with no file holds nothing else (it is removed); other days are left out.
    """
    carried = _carry(staging, seen, days, None, with_date, "rest")
    return {
        day: [path for path, kept, _ in parts if kept]
        for day, parts in carried.items()
        if day in fetched or any(kept < total for _, kept, total in parts)
    }


def _carry(
    staging: Path,
    seen: _core.KeySet,
    days: dict[_dt.date, list[str]],
    before: Optional[int],
    with_date: bool,
    tag: str,
) -> dict[_dt.date, list[tuple[Path, int, int]]]:
    """Per day of ``days``: (file, rows kept, rows) of each of its files.

    Kept: the rows whose ``call_id`` is not in ``seen`` (``KeySet.carry_unseen``).
    """
    owners = [(day, path) for day in sorted(days) for path in days[day]]
    jobs = [
        (path, str(staging / f"{tag}-{k}.parquet"), (day - _EPOCH).days if with_date else None)
        for k, (day, path) in enumerate(owners)
    ]
    if not jobs:
        return {}
    counts = seen.carry_unseen(jobs, before)
    carried: dict[_dt.date, list[tuple[Path, int, int]]] = {}
    for (day, _), (_, out, _), (kept, total) in zip(owners, jobs, counts):
        carried.setdefault(day, []).append((Path(out), kept, total))
    return carried
