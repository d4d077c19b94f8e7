"""1,000,000 calls over real HTTP, with each fault mode of the emulator: every row arrives
exactly once with every value, or the fetch says exactly what happened."""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pyarrow as pa
import pytest
from conftest import raw_get

import converz
from converz.testing import Emulator

N = 1_000_000
FAULTS = {
    "server_errors": {"error_rate": 0.2},
    "html_errors": {"error_rate": 0.2, "html_errors": True},
    "rate_limited": {"rate_limit_rate": 0.2, "retry_after": 0.01},
    "rate_limited_no_header": {"rate_limit_rate": 0.2, "retry_after": None},
    "latency": {"latency": 0.05},
    "dropped_bodies": {"drop_rate": 0.2},
    "capped_pages": {"page_cap": 7_000},
    "everything": {
        "error_rate": 0.1,
        "rate_limit_rate": 0.1,
        "retry_after": 0.01,
        "drop_rate": 0.1,
    },
}
# The form of a table's text columns for each frame=.
_TEXT_FORM = {"arrow": "Utf8", "polars": "Utf8View", "pandas": "LargeUtf8"}


@pytest.fixture(scope="module")
def big() -> Iterator[Emulator]:
    with Emulator(calls=N, reps=2_000, seed=0) as emu:
        yield emu


@pytest.fixture(scope="module")
def reference(big: Emulator) -> pa.Table:
    """All rows in one request, no paging and no faults."""
    client = big.client(progress=False)
    return client.calls(page_size=N).to_arrow()


def test_reference_matches_the_raw_json(big, reference):
    raw = pl.DataFrame(raw_get(big, "/calls", n_per_page=200_000, page=3))
    got = pl.from_arrow(reference).slice(400_000, 200_000)
    for column in ("call_id", "rep_id", "duration", "sentiment", "summary", "vendor_call_id"):
        assert got[column].to_list() == raw[column].to_list(), column
    assert reference.num_rows == N
    assert pl.from_arrow(reference)["call_id"].is_unique().all()


def test_paged_fetch_equals_the_reference(big, reference):
    table = big.client(progress=False).calls(page_size=20_000)
    assert table.warnings == []
    assert table.to_arrow().equals(reference)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_every_row_once_under_faults(big, reference, fault):
    big.set_faults(**FAULTS[fault])
    try:
        client = big.client(retries=30, backoff=0.01, progress=False)
        table = client.calls(page_size=20_000)
    finally:
        big.set_faults()
    assert table.to_arrow().equals(reference)
    if fault == "capped_pages":
        assert any("caps the page size" in w for w in table.warnings)


@pytest.mark.parametrize("frame", ["polars", "pandas"])
@pytest.mark.parametrize("fault", ["everything", "capped_pages"])
def test_a_table_laid_out_for_a_frame_keeps_every_row_once_under_faults(
    big, reference, fault, frame
):
    # frame= converts each page's text columns on the decode threads: the same rows and values
    # as the Arrow table, through every reader.
    big.set_faults(**FAULTS[fault])
    try:
        client = big.client(retries=30, backoff=0.01, progress=False, frame=frame)
        table = client.calls(page_size=20_000)
    finally:
        big.set_faults()
    stored = {t for batch in table._raw.stored_types() for t in batch}
    assert stored == {"Int64", "Float64", "Date32", "Timestamp(µs)", _TEXT_FORM[frame]}
    assert table.to_arrow().equals(reference)
    assert table.to_polars().equals(pl.from_arrow(reference))


def test_streaming_under_faults_keeps_every_row_once(big, reference):
    big.set_faults(error_rate=0.1, drop_rate=0.1)
    try:
        client = big.client(retries=30, backoff=0.01, progress=False)
        ids = [page.to_arrow()["call_id"] for page in client.iter_calls(columns=["call_id"])]
    finally:
        big.set_faults()
    got = pa.chunked_array([c for chunk in ids for c in chunk.chunks])
    assert got.equals(reference["call_id"])


def test_rows_inserted_while_paging_are_not_duplicated(reference):
    with Emulator(calls=N, reps=2_000, seed=0, insert_every=3) as emu:
        client = emu.client(retries=5, progress=False)
        table = client.calls(columns=["call_id", "summary"], page_size=20_000, frame="polars")
    ids = table.to_polars()["call_id"]
    assert ids.is_unique().all()
    original = pl.from_arrow(reference)["call_id"]
    assert original.is_in(ids.implode()).all()
    assert any("moved between pages" in w for w in table.warnings)


def test_a_big_push_under_faults_applies_every_value_exactly(big):
    n = N
    ids = big.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"]
    row = pl.int_range(n, eager=True)
    frame = pl.DataFrame({"call_id": ids}).with_columns(
        qa=pl.when(row % 10 == 0).then(None).otherwise(row.cast(pl.Float64)),
        tag=pl.when(row % 3 == 0).then(pl.lit("vip")).otherwise(None),
    )
    before = big.client(progress=False).calls(columns=["call_id", "topic", "duration"]).to_polars()
    big.set_faults(error_rate=0.1, rate_limit_rate=0.05, retry_after=0.01, drop_rate=0.05)
    try:
        result = big.client(retries=30, backoff=0.01, progress=False).push_updates(frame)
    finally:
        big.set_faults()
    assert result.ok
    assert result.updated == n
    after = big.client(progress=False).calls(columns=["call_id", "topic", "duration", "qa", "tag"])
    after = after.to_polars()
    assert after["qa"].to_list() == frame["qa"].to_list()
    assert after["tag"].to_list() == frame["tag"].to_list()
    assert after.select("call_id", "topic", "duration").equals(before)


def test_push_from_pandas_at_scale(big):
    client = big.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_pandas()["call_id"]
    frame = ids.to_frame().assign(pd_score=ids % 97 / 7.0)
    frame.loc[frame.index % 11 == 0, "pd_score"] = float("nan")
    result = client.push_updates(frame)
    assert result.ok
    got = client.calls(columns=["call_id", "pd_score"]).to_pandas()
    assert got["pd_score"].isna().sum() == (frame.index % 11 == 0).sum()
    assert (got["pd_score"].fillna(-1) == frame["pd_score"].fillna(-1).to_numpy()).all()


def test_metrics_metric_parameter_is_unknown_safe(big):
    with pytest.raises(converz.InvalidRequestError):
        big.client(progress=False).report(metric=["nope"])
