"""A sync run's fetch, staged: the rows of each day it fetched, in Parquet parts.

Both formats stage the same way (a Delta run writes the parts into its table); rows arrive in
time order, so each day's writer stays open while its rows come, up to ``OPEN_DAYS`` at once.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from converz import _core
from converz._sync_delta import REBUILD
from converz.exceptions import ConverzError, InvalidParameterError

if TYPE_CHECKING:
    from converz._client import Client

_EPOCH = _dt.date(1970, 1, 1)
# Day writers kept open at once; rows arrive in time order, so a day rarely reopens.
OPEN_DAYS = 8


class DayWriters:
    """Staged Parquet parts per day, with at most ``OPEN_DAYS`` files open at once."""

    def __init__(self, staging: Path, drop_date: bool) -> None:
        self.staging = staging
        self.drop_date = drop_date
        self.open: collections.OrderedDict[int, Any] = collections.OrderedDict()
        self.parts: dict[int, list[Path]] = collections.defaultdict(list)

    def write(self, day: int, table: Any) -> None:
        writer = self.open.get(day)
        if writer is None:
            if len(self.open) >= OPEN_DAYS:
                _, oldest = self.open.popitem(last=False)
                oldest.finish()
            # Not `*.parquet`: a killed run's leftovers must not match readers' globs.
            path = self.staging / f"{day}-{len(self.parts[day])}.parquet.part"
            self.parts[day].append(path)
            writer = self.open[day] = _core.FileWriter(str(path), "parquet")
        self.open.move_to_end(day)
        writer.write(table)

    def finish(self) -> dict[int, list[Path]]:
        for writer in self.open.values():
            writer.finish()
        self.open.clear()
        return dict(self.parts)

    def abort(self) -> None:
        for writer in self.open.values():
            writer.abort()


@dataclasses.dataclass
class Staged:
    """What :func:`stage` fetched: per-day Parquet parts, rows, watermark, column names."""

    days: dict[_dt.date, list[Path]]
    rows: int
    watermark: Optional[_dt.datetime]
    columns: list[str]


def open_pages(client: Client, query: dict[str, Any]) -> Iterator[Any]:
    """The pages of `query`, its first one already fetched.

    A run opens its fetch before it claims the directory or stages a file: a filter the client
    cannot send (a list too long for one URL) or one the API answers with a 400 (an unknown
    ``metric=`` or column) then fails with nothing written (outside trial 50, F2: the refused
    run's state blocked the corrected run).
    """
    pages = iter(client.iter_calls(**query))
    first = next(pages, None)
    return iter(()) if first is None else itertools.chain((first,), pages)


def stage(staging: Path, pages: Iterator[Any], drop_date: bool) -> Staged:
    """Writes a query's `pages` as per-day Parquet parts under `staging`.

    ``pages``: the query's pages, already opened by :func:`open_pages`.
    """
    writers = DayWriters(staging, drop_date)
    latest: Optional[int] = None
    rows = 0
    columns: dict[str, None] = {}
    try:
        for page in pages:
            columns.update(dict.fromkeys(page.column_names))
            days, page_latest = _core.split_days(page, "date", "start_time", writers.drop_date)
            if page_latest is not None:
                latest = page_latest if latest is None else max(latest, page_latest)
            for day, table in days:
                writers.write(day, table)
                rows += table.num_rows
        parts = writers.finish()
    except InvalidParameterError as err:
        writers.abort()
        if err.parameter != "output":
            raise
        shutil.rmtree(staging, ignore_errors=True)
        raise empty_objects(err) from None
    except BaseException:
        writers.abort()
        raise
    watermark = None
    if latest is not None:
        watermark = _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=latest)
    staged = {_EPOCH + _dt.timedelta(days=day): paths for day, paths in parts.items()}
    return Staged(staged, rows, watermark, list(columns))


def empty_objects(err: InvalidParameterError) -> ConverzError:
    """The file writer's refusal of a column of empty objects, in sync's words.

    Its own words are for ``fetch -o`` (write .arrow or .ndjson, fetch again), neither of
    which a sync can do (outside trial 21b: one ``{}`` pushed to one call stopped every run).
    """
    found = re.search(r"column `(.*)` (holds (only )?empty objects[^,]*)", str(err))
    column, what = (found.group(1), found.group(2)) if found else ("?", "holds empty objects")
    return ConverzError(
        f"column `{column}` {what} in the days this run fetched; neither Parquet nor Delta can "
        "hold an object with no fields, so nothing was written and the dataset is as it was",
        hint=f"leave the column out: columns= (--columns) naming the others, "
        f"with {REBUILD} since that changes the query; or give `{column}` another value on "
        "the server (null, or an object with a field)",
    )
