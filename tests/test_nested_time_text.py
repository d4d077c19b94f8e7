"""A column that turns text keeps the timestamps inside its earlier lists and objects as the
API wrote them, whatever the page size (outside trial 21b: `["2024-01-01T10:00:00"]` at
`page_size=2`, `["2024-01-01 10:00:00"]` in one page, and the `T` form in `fetch -o x.parquet`
and in synced datasets)."""

from __future__ import annotations

import polars as pl
import pytest

import converz
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


@pytest.mark.parametrize("page_size", [2, 5, 1000])
def test_a_csv_file_holds_the_text_such_a_column_ends_as(client, tmp_path, page_size):
    """Outside trial 21c: `fetch -o x.csv` refused such a column ("holds lists, which a CSV
    file cannot hold") when a page of its lists came before its text, so the file depended
    on the page size; calls() and the other formats give the column as text."""
    columns = ["call_id", "l", "o"]
    one_page = client.calls(columns=columns).to_polars().sort("call_id")
    path = tmp_path / "calls.csv"
    fetch_to_file(client, "calls", path, columns=columns, page_size=page_size)
    got = pl.read_csv(path, infer_schema=False).sort(pl.col("call_id").cast(pl.Int64))
    for name in ("l", "o"):
        assert got[name].to_list() == one_page[name].to_list(), name


def test_a_column_of_lists_throughout_is_still_refused_by_csv(client, tmp_path):
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()
    client.push_updates(pl.DataFrame({"call_id": ids[:1], "pl_only": [[1, 2]]}))
    path = tmp_path / "lists.csv"
    with pytest.raises(converz.InvalidParameterError, match="CSV file cannot hold"):
        fetch_to_file(client, "calls", path, columns=["call_id", "pl_only"], page_size=2)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left
