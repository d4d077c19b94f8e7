"""client.reps(): users, every row once, filters honoured."""

from __future__ import annotations

import polars as pl
from conftest import READ_REPS, all_rows


def test_all_reps_match_the_api(read_emulator, client):
    got = client.reps(page_size=7).to_polars()
    ref = pl.DataFrame(all_rows(read_emulator, "/reps"), infer_schema_length=None)
    assert len(got) == READ_REPS
    assert got["rep_id"].to_list() == ref["rep_id"].to_list()
    assert got["rep_id"].is_unique().all()
    assert set(got.columns) == set(ref.columns)


def test_filters(read_emulator, client):
    ref = pl.DataFrame(all_rows(read_emulator, "/reps"), infer_schema_length=None)
    departments = sorted(ref["department"].unique().to_list())[:2]
    got = client.reps(department=departments).to_polars()
    assert set(got["department"].unique().to_list()) == set(departments)
    assert len(got) == ref.filter(pl.col("department").is_in(departments)).height
    active = client.reps(active=True).to_polars()
    assert len(active) == ref.filter(pl.col("active") == 1).height
    assert set(active["active"].to_list()) == {1}
    inactive = client.reps(active=0).to_polars()
    assert len(inactive) + len(active) == READ_REPS
    two = ref["rep_id"][:2].to_list()
    assert sorted(client.reps(rep_id=two).to_polars()["rep_id"].to_list()) == sorted(two)


def test_iter_reps(client):
    pages = list(client.iter_reps(page_size=50))
    assert sum(len(p) for p in pages) == READ_REPS
    assert len(pages) == -(-READ_REPS // 50)
