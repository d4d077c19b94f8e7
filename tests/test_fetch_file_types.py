"""A fetch into a file (`converz fetch -o`, the Airflow operator) of a column whose type changes
across pages holds what `client.calls()` returns, in every format, and says what it holds
(outside trial 15: Parquet held "9007199254740992.0" for 9007199254740993, which the CSV file
and `client.calls()` kept, and the warning said only "decoded as strings")."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from converz._cli import fetch_to_file
from converz.testing import Emulator

EXPECTED = ["101", "9007199254740993", "1.5", "2.0", "abc"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=40, reps=3, seed=15) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        # Pages of two rows, one at a time: integers, then floats, then text.
        client.push_updates(pl.DataFrame({"call_id": ids[:2], "mix": [101, 2**53 + 1]}))
        client.push_updates(pl.DataFrame({"call_id": ids[2:4], "mix": [1.5, 2.0]}))
        client.push_updates(pl.DataFrame({"call_id": ids[4:5], "mix": ["abc"]}))
        yield emu


def read(path: Path) -> list[str]:
    if path.suffix == ".csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ipc(path)
    return frame.sort(pl.col("call_id").cast(pl.Int64))["mix"].head(5).to_list()


@pytest.mark.parametrize("name", ["x.parquet", "x.arrow", "x.csv"])
def test_a_file_holds_what_calls_returns_and_says_so(emu, tmp_path, caplog, name):
    client = emu.client(progress=False, page_size=2, max_concurrency=1)
    eager = client.calls(columns=["call_id", "mix"]).to_polars().sort("call_id")
    assert eager["mix"].head(5).to_list() == EXPECTED
    path = tmp_path / name
    with caplog.at_level(logging.WARNING, logger="converz"):
        fetch_to_file(client, "calls", path, columns=["call_id", "mix"])
    assert read(path) == EXPECTED
    said = [r.getMessage() for r in caplog.records if "ends as text" in r.getMessage()]
    assert len(said) == 1 and "column `mix`" in said[0], said
    assert "as Float64 prints them" in said[0] and str(path) in said[0], said
