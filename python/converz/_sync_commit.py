"""A sync run's commit as one plan: written before the first file moves, finished by the next run.

A Parquet run moves its days into place one rename at a time. Killed half-way, some days were
new and some old; the next run fetched its own window again, which mends only the days in that
window. When the killed run's window was larger (a back-fill with a large ``overlap_days``,
then the scheduled run), the days between the two windows stayed half-moved: a call whose
``date`` a push had changed was in its old day and its new one, or in neither (outside trial
23: calls lost or repeated for good). So the run writes its plan (every rename, every day
removed, the format whose files go, the new state) into the staging directory, atomically,
before it moves anything; the moves are done from the plan, and the state is saved last. A
run that finds a plan there first finishes it (:func:`finish_stopped_commit`): every step can
be done again, so a plan stopped at any point, even while being finished, ends the same.

:func:`prepare_parquet` writes a Parquet run's days (and the kept days a widened schema
changes) into the staging directory and says the renames that put them in place.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from pathlib import Path, PurePath
from typing import Any, Optional

from converz import _core, _sync_carry, _sync_delta
from converz._log import logger
from converz._sync_state import FORMATS, STAGING_DIR, damaged, save_state, write_durably

PLAN_FILE = "_commit_plan.json"


def partition(root: Path, day: _dt.date) -> Path:
    return root / f"date={day.isoformat()}"


def existing_days(root: Path) -> dict[_dt.date, Path]:
    days = {}
    for path in root.glob("date=*/part-0.parquet"):
        try:
            days[_dt.date.fromisoformat(path.parent.name[5:])] = path
        except ValueError:
            continue
    return days


def prepare_parquet(
    run: _sync_carry.RunFiles,
) -> tuple[list[_dt.date], list[_dt.date], list[tuple[Path, Path]], list[Path]]:
    """Writes the days of a Parquet run into ``staging``; moves nothing.

    Each day is written under the schema all days add up to, with the kept days that schema
    changes. Returns the days written and removed, the (staged file, its place) renames that
    put them in place, and the day folders to remove: the run's commit plan (:func:`commit`).
    """
    root, staging, staged, window = run.root, run.staging, run.staged, run.window
    existing = existing_days(root)
    replaced = [d for d in existing if run.replaces(d)]
    if not run.replace_all:
        inside = {d: [str(p)] for d, p in existing.items() if _sync_carry.in_range(d, *window)}
        outside = {d: [str(p)] for d, p in existing.items() if d not in inside}
        merged, rewritten_outside = _sync_carry.merge_run(
            root, staging, staged, inside, outside, window, with_date=False, filtered=run.filtered
        )
        staged = merged
        replaced += rewritten_outside
    gone = sorted(d for d in replaced if d not in staged)
    kept = {d: p for d, p in existing.items() if d not in staged and d not in gone}
    written = sorted(staged)
    jobs = [([str(p) for p in staged[d]], str(staging / f"day-{d}.parquet.part")) for d in written]
    keep_jobs = [(str(p), str(staging / f"keep-{d}.parquet.part")) for d, p in kept.items()]
    _, rewritten = _core.conform_days(jobs, keep_jobs)
    moves = [
        (staging / f"day-{day}.parquet.part", partition(root, day) / "part-0.parquet")
        for day in written
    ]
    for path in map(Path, rewritten):
        day = _dt.date.fromisoformat(path.parent.name[5:])
        moves.append((staging / f"keep-{day}.parquet.part", path))
    return written, gone, moves, [partition(root, day) for day in gone]


def commit(
    root: Path,
    moves: list[tuple[Path, Path]],
    removed_days: list[Path],
    previous_format: Optional[str],
    state: dict[str, Any],
) -> None:
    """Writes the plan into ``root``'s staging directory, then carries it out.

    ``moves``: (staged file, its place) pairs; ``removed_days``: day folders whose file goes;
    ``previous_format``: the other format whose files go; ``state``: saved last.
    """
    plan = {
        "moves": [[_relative(root, src), _relative(root, dst)] for src, dst in moves],
        "removed_days": [_relative(root, day) for day in removed_days],
        "previous_format": previous_format,
        "state": state,
    }
    write_durably(root / STAGING_DIR / PLAN_FILE, json.dumps(plan, default=str).encode("utf-8"))
    _carry_out(root, plan)


def finish_stopped_commit(root: Path, full_refresh: bool) -> bool:
    """Finishes the plan a killed run left in ``root``'s staging directory, if any.

    Returns whether a plan was finished. A plan that cannot be read, or names a path outside
    ``root``, was not written by a run (its plans are written whole, then renamed into place)
    or was damaged since: its run may have moved part of its days, so going on would keep a
    half-moved dataset for good (outside trial 23c: a call in two days, another in none). It
    is refused, saying how to rebuild; a full refresh, which replaces every day, goes on over
    it (with a warning).
    """
    path = root / STAGING_DIR / PLAN_FILE
    if not path.exists() and not path.is_symlink():
        return False
    try:
        plan = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, UnicodeDecodeError, ValueError):
        plan = None
    if plan is None or not _well_formed(plan):
        problem = "is not a commit plan converz can carry out (damaged, or not converz's)"
        if not full_refresh:
            raise damaged(path, problem, rebuild=True)
        logger.warning(
            "%s %s; the full refresh replaces every day, so it is not needed", path, problem
        )
        return False
    logger.info(
        "%s: the previous run was stopped while it moved its days into place; finishing its "
        "commit (%d files, %d days removed) before this run",
        root,
        len(plan["moves"]),
        len(plan["removed_days"]),
    )
    _carry_out(root, plan)
    path.unlink()
    return True


def _carry_out(root: Path, plan: dict[str, Any]) -> None:
    """Every step of ``plan``, each one a no-op when it was done already."""
    for src, dst in plan["moves"]:
        source, target = root / src, root / dst
        if source.exists():  # else it moved before the run was stopped
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    for day in plan["removed_days"]:
        (root / day / "part-0.parquet").unlink(missing_ok=True)
        shutil.rmtree(root / day, ignore_errors=True)
    if plan["previous_format"] is not None:
        remove_format(root, plan["previous_format"])
    save_state(root, plan["state"])


def remove_format(root: Path, fmt: str) -> None:
    """Removes the files a dataset of format ``fmt`` kept in ``root``, once the other's are in.

    A full refresh into the other format left them, so the ``**/*.parquet`` glob read every
    row twice and ``read_delta`` a stale table (outside trial 21b).
    """
    days = [day for day in root.glob("date=*") if day.is_dir()]
    if fmt == "delta":
        # Every data file the table's log ever added (earlier versions' too, never vacuumed),
        # and no other: files of the user's in the day folders are kept (outside trial 21c:
        # every `*.parquet` but `part-0.parquet` was removed).
        stale = [root / name for name in _sync_delta.logged_files(root)]
        shutil.rmtree(root / "_delta_log", ignore_errors=True)
    else:
        stale = [day / "part-0.parquet" for day in days]
    for path in stale:
        if path.is_file():
            path.unlink()
    for day in days:
        if not any(day.iterdir()):
            day.rmdir()


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _inside(text: Any) -> bool:
    """Whether ``text`` is a relative path that stays inside the dataset."""
    if not isinstance(text, str) or not text:
        return False
    path = PurePath(text)
    return not path.is_absolute() and ".." not in path.parts


def _well_formed(plan: Any) -> bool:
    """Whether ``plan`` has the shape :func:`commit` writes, every path inside the dataset."""
    if not isinstance(plan, dict) or not isinstance(plan.get("state"), dict):
        return False
    moves, days = plan.get("moves"), plan.get("removed_days")
    if not isinstance(moves, list) or not isinstance(days, list):
        return False
    pairs_ok = all(
        isinstance(pair, list) and len(pair) == 2 and all(map(_inside, pair)) for pair in moves
    )
    return pairs_ok and all(map(_inside, days)) and plan.get("previous_format") in (None, *FORMATS)
