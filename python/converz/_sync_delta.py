"""The Delta Lake side of ``sync_calls`` (``format="delta"``): one transaction per run.

The staged days replace the run's window with a predicate overwrite; a run whose days widen a
column's type writes the table again, since deltalake would cast the new values down to the
table's types. Values are cast here, by converz's own rules (as one fetch casts them), before
deltalake sees them.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Optional

from converz import _core, _sync_carry
from converz._log import logger
from converz.exceptions import ConverzError

# How a hint names a rebuild, in the Python API's words and the CLI's flag.
REBUILD = "full_refresh=True (--full-refresh)"


def check_delta_names(root: Path, columns: list[str], replace_all: bool) -> None:
    """Refuses column names that differ only in case, which a Delta table cannot hold.

    deltalake refused them with a bare ``Exception`` (outside trial 21b); a table the run keeps
    counts too, its columns merging with the fetched ones.
    """
    names = list(columns)
    if not replace_all and (root / "_delta_log").is_dir():
        from deltalake import DeltaTable

        names += [field.name for field in DeltaTable(str(root)).schema().fields]
    seen: dict[str, str] = {}
    for name in dict.fromkeys(names):
        # Lower case, as deltalake compares them: casefold() also made `straße` `STRASSE`,
        # which deltalake accepts (outside trial 21c).
        other = seen.setdefault(name.lower(), name)
        if other != name:
            raise ConverzError(
                f"columns `{other}` and `{name}` differ only in case, which a Delta table "
                "cannot hold (its column names are case-insensitive); nothing was written",
                hint=f"leave one out: columns= (--columns) naming the others, with "
                f"{REBUILD} since that changes the query; or sync as format='parquet' "
                "(--format parquet), which holds both",
            )


def commit_delta(run: _sync_carry.RunFiles) -> tuple[list[_dt.date], list[_dt.date]]:
    """One Delta transaction: the window's rows replaced by the staged days.

    Returns the days written and the days removed (held before, in the window, not written).
    """
    try:
        from deltalake.exceptions import DeltaError
    except ImportError as err:
        raise ImportError("format='delta' needs deltalake: pip install 'converz[delta]'") from err
    root = run.root
    try:
        return _write(run)
    except DeltaError as err:
        # deltalake's words for an OS error (a read-only day folder, a full disk) end with
        # "(os error N)"; they reached the caller as a bare DeltaError (outside trial 21b), as
        # did any other refusal (a CHECK constraint the user added: trial 21c).
        os_error = "(os error" in str(err)
        what = (
            f"the Delta write to {root} stopped on a file system error: {err}"
            if os_error
            else f"deltalake refused the write to {root}: {err}"
        )
        raise ConverzError(
            f"{what}; nothing was committed (a run is one Delta transaction), so the table is "
            "as it was",
            hint="fix the cause (permissions, a read-only mount, disk space), then run again"
            if os_error
            else "fix what deltalake names (a constraint, a property of the table), then run again",
        ) from err


def _write(run: _sync_carry.RunFiles) -> tuple[list[_dt.date], list[_dt.date]]:
    """The body of :func:`commit_delta`."""
    from deltalake import write_deltalake

    root, staging, staged, replace_all, window = (
        run.root,
        run.staging,
        run.staged,
        run.replace_all,
        run.window,
    )

    held: dict[_dt.date, list[str]] = {}
    others: dict[_dt.date, list[str]] = {}
    existing = _files(root) if (root / "_delta_log").is_dir() else []
    for path in existing:
        day = _partition_day(path)
        if day is not None and run.replaces(day):
            held.setdefault(day, []).append(path)
        elif day is not None:
            others.setdefault(day, []).append(path)
    touched: list[_dt.date] = []
    if not replace_all:
        fetched = staged
        staged, rest = _sync_carry.merge_run(
            root, staging, fetched, held, others, window, with_date=True, filtered=run.filtered
        )
        touched = sorted({*rest, *(d for d in fetched if not _sync_carry.in_range(d, *window))})
    paths = [str(p) for day in sorted(staged) for p in staged[day]]
    if not paths:
        return [], []
    # A Delta result said "0 deleted" where Parquet's said 1 (outside trial 22b).
    done = sorted(staged), sorted(d for d in [*held, *touched] if d not in staged)
    if replace_all:
        table = _core.read_parquet_files(paths)
        write_deltalake(
            str(root), table, mode="overwrite", partition_by=["date"], schema_mode="overwrite"
        )
        return done
    start, end = window
    clauses = [f"date >= '{start.isoformat()}'"] if start else []
    if end:
        clauses.append(f"date <= '{end.isoformat()}'")
    predicate = " AND ".join(clauses) or None
    if predicate is not None and touched:
        days = " OR ".join(f"date = '{day.isoformat()}'" for day in touched)
        predicate = f"({predicate}) OR {days}"
    if predicate is not None and _core.widened_columns(existing, paths):
        # deltalake would cast the fetched days' values down to the table's types (2.5 to
        # 2, "t" to true: outside trial 20b), and refuses only the casts it cannot do.
        logger.info(
            "%s: the fetched days widen a column's type (ints now floats or text, a struct "
            "with a new key); the Delta table is written again with every day at the wider "
            "types",
            root,
        )
        _rewrite(root, paths, predicate)
        return done
    # A refusal here is not a widening (none was found above): it reaches the caller, with
    # nothing committed, rather than a full rewrite that would hide it.
    write_deltalake(
        str(root),
        _core.read_parquet_files(paths, existing),
        mode="overwrite",
        partition_by=["date"],
        predicate=predicate,
        schema_mode="merge",
    )
    return done


def _partition_day(path: str) -> Optional[_dt.date]:
    """The day of a Delta data file's ``date=YYYY-MM-DD`` folder, if it is in one."""
    for part in reversed(Path(path).parts[:-1]):
        if part.startswith("date="):
            try:
                return _dt.date.fromisoformat(part[5:])
            except ValueError:
                return None
    return None


def _files(root: Path) -> list[str]:
    """The Parquet files of the Delta table at ``root``, as local paths where they are local."""
    from urllib.parse import unquote, urlsplit

    from deltalake import DeltaTable

    files = []
    for uri in DeltaTable(str(root)).file_uris():
        parts = urlsplit(uri)
        files.append(unquote(parts.path) if parts.scheme == "file" else uri)
    return files


def _rewrite(root: Path, paths: list[str], predicate: str) -> None:
    """Writes the Delta table again, in one transaction.

    Its rows outside ``predicate`` and the staged days, under the types one fetch of all of
    them gives.
    """
    from deltalake import DeltaTable, QueryBuilder, write_deltalake

    kept = Path(paths[0]).parent / "kept.parquet.part"
    query = QueryBuilder().register("t", DeltaTable(str(root)))
    writer = _core.FileWriter(str(kept), "parquet")
    try:
        writer.write(query.execute(f"SELECT * FROM t WHERE NOT ({predicate})"))
    except BaseException:
        writer.abort()
        raise
    rows, _ = writer.finish()
    table = _core.read_parquet_files([str(kept), *paths] if rows else paths)
    write_deltalake(
        str(root), table, mode="overwrite", partition_by=["date"], schema_mode="overwrite"
    )


def logged_files(root: Path) -> list[str]:
    """The data files (paths relative to ``root``) every commit in ``root/_delta_log`` added."""
    from urllib.parse import unquote

    names: dict[str, None] = {}
    for commit in sorted((root / "_delta_log").glob("*.json")):
        for line in commit.read_text(encoding="utf-8").splitlines():
            try:
                action = json.loads(line)
            except ValueError:
                continue
            added = action.get("add") if isinstance(action, dict) else None
            path = added.get("path") if isinstance(added, dict) else None
            if isinstance(path, str) and "://" not in path and not path.startswith("/"):
                names[unquote(path)] = None
    return list(names)
