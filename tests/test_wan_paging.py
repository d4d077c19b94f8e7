"""Paging over a slow link (the emulator's `latency=` and `bandwidth=`): the pager keeps pages
beyond `max_concurrency` waiting for the wire while others decode, and spaces its requests;
whatever it does, every row arrives exactly once, under faults too, and the window stays
bounded. (That no more than `max_concurrency` requests are ever on the wire is checked in
`src/http/window_tests.rs`, where the server counts them.) Speed is measured in bench/.
"""

from __future__ import annotations

import time

import pytest

from converz.testing import Emulator

CALLS = 12_000
PAGE = 1_000


@pytest.fixture(scope="module")
def reference() -> list[int]:
    with Emulator(calls=CALLS, reps=30, seed=3) as emu:
        ids = emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"]
    return ids.to_list()


def _wan(**faults) -> Emulator:
    return Emulator(calls=CALLS, reps=30, seed=3, latency=0.02, bandwidth=4e6, **faults)


@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.parametrize("compression", [None, "gzip"])
def test_every_row_once_over_a_slow_link(reference, concurrency, compression):
    with _wan() as emu:
        client = emu.client(progress=False, max_concurrency=concurrency, compression=compression)
        before = emu.wire_stats()
        eager = client.calls(page_size=PAGE).to_polars()["call_id"].to_list()
        eager_wire = emu.wire_stats()
        streamed = []
        for page in client.iter_calls(page_size=PAGE):
            streamed.extend(page.to_polars()["call_id"].to_list())
    assert eager == reference
    assert streamed == reference
    # The pages, the empty one that ends the listing, and at most the pages fetched ahead of
    # it: the window is bounded, however the pacing or the extra pages behave.
    pages = CALLS // PAGE
    responses = eager_wire["responses"] - before["responses"]
    assert pages + 1 <= responses <= pages + 1 + concurrency + 2
    if compression:
        assert eager_wire["gzip_responses"] - before["gzip_responses"] == responses


@pytest.mark.parametrize("faults", [{"drop_rate": 0.3}, {"error_rate": 0.3}, {"page_cap": 700}])
def test_faults_over_a_slow_link_lose_no_row(reference, faults):
    with _wan(**faults) as emu:
        client = emu.client(progress=False, max_concurrency=4, compression="gzip", backoff=0.01)
        ids = client.calls(page_size=PAGE).to_polars()["call_id"].to_list()
    assert sorted(ids) == sorted(reference)
    assert len(ids) == len(set(ids))


def test_a_consumer_that_stops_after_one_page_causes_no_extra_requests():
    with _wan() as emu:
        client = emu.client(progress=False, max_concurrency=4, compression="gzip")
        before = emu.wire_stats()["responses"]
        stream = client.iter_calls(page_size=PAGE)
        first = next(iter(stream))
        time.sleep(0.3)  # time for any request the pager would wrongly send
        sent = emu.wire_stats()["responses"] - before
    assert 0 < first.num_rows <= PAGE
    assert sent <= 4
