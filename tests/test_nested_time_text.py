"""A column that turns text keeps the timestamps inside its earlier lists and objects as the
API wrote them, whatever the page size (outside trial 21b: `["2024-01-01T10:00:00"]` at
`page_size=2`, `["2024-01-01 10:00:00"]` in one page, and the `T` form in `fetch -o x.parquet`
and in synced datasets)."""

from __future__ import annotations

import polars as pl
import pytest

from converz._cli import fetch_to_file
from converz.testing import Emulator


@pytest.fixture(scope="module")
def client():
    with Emulator(calls=12, reps=2, seed=7) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id", "start_time"]).to_polars()
        ids = ids.sort("start_time")["call_id"].to_list()
        client.push_updates(
            pl.DataFrame(
                {
                    "call_id": [ids[0], ids[-1]],
                    "l": [["2024-01-01 10:00:00", "2024-01-01 10:00:00.250"], None],
                    "o": [{"t": "2024-01-02 11:00:00"}, None],
                }
            )
        )
        # Later, text: each column ends as text holding the earlier values' JSON.
        client.push_updates(pl.DataFrame({"call_id": [ids[-1]], "l": ["x"], "o": ["y"]}))
        yield client


@pytest.mark.parametrize("page_size", [2, 5])
def test_the_page_size_does_not_respell_nested_times(client, tmp_path, page_size):
    one_page = client.calls(columns=["call_id", "l", "o"]).to_polars().sort("call_id")
    held = one_page.filter(pl.col("l").str.starts_with("["))
    assert held["l"].to_list() == ['["2024-01-01 10:00:00","2024-01-01 10:00:00.250"]']
    assert held["o"].to_list() == ['{"t":"2024-01-02 11:00:00"}']
    paged = client.calls(columns=["call_id", "l", "o"], page_size=page_size).to_polars()
    assert paged.sort("call_id").equals(one_page)
    path = tmp_path / "calls.parquet"
    fetch_to_file(client, "calls", path, columns=["call_id", "l", "o"], page_size=page_size)
    assert pl.read_parquet(path).sort("call_id").equals(one_page)
