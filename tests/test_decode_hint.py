"""The documented columns start a fetch's first pages on the fast decoder, over real HTTP.

Each fetch passes its query's documented columns to the core as a hint; pages that start
before any page has finished decode under it. If the documented columns ever drift from what
the API sends (order, a type), those pages silently take the slower reference path: the result
stays right (the Rust differential tests check that), so only the core's debug log line
("decoded N pages, M by the schema-specialised path") shows it. These tests read that line in a
fresh process, where the log level is set before the core first logs.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s|%(message)s")
    import converz
    client = converz.Client(api_key=sys.argv[2], base_url=sys.argv[1], max_concurrency=4,
                            progress=False)
    kwargs = eval(sys.argv[4])
    table = getattr(client, sys.argv[3])(**kwargs)
    print("rows|", table.num_rows)
    """
)


def _decoded(emulator, method: str, **kwargs) -> tuple[int, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, emulator.url, emulator.api_key, method, repr(kwargs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    match = re.search(r"converz\|decoded (\d+) pages, (\d+) by the schema-specialised path", out)
    assert match, out
    rows = int(re.search(r"rows\| (\d+)", out).group(1))
    return int(match.group(1)), int(match.group(2)), rows


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("calls", {"page_size": 500}),
        ("calls", {"page_size": 500, "parse_dates": False}),
        ("calls", {"page_size": 500, "columns": ["call_id", "duration", "start_time"]}),
        ("reps", {"page_size": 20}),
    ],
)
def test_every_page_of_a_plain_fetch_takes_the_fast_path(converz_emulator, method, kwargs):
    pages, fast, rows = _decoded(converz_emulator, method, **kwargs)
    assert rows > 0
    # Four pages start before any finishes: without the hint they would all be slow ones.
    assert pages >= 5
    assert fast == pages


def test_a_schema_override_keeps_the_reference_path_and_the_result(converz_emulator):
    # Overrides take the reference path by design (the fast path decodes inferred types only).
    pages, fast, rows = _decoded(
        converz_emulator, "calls", page_size=500, schema={"duration": "float"}
    )
    assert rows > 0 and pages >= 5
    assert fast == 0


def test_rows_leaving_a_custom_attribute_out_take_the_fast_path():
    """A custom attribute pushed to some calls only: the other rows leave its key out.

    Those rows used to send every page after the first to the reference path (all but 7 of 57
    pages of a 1M-call fetch, 2-3x slower); a left-out key now reads as null on the fast path,
    as the reference reads it.
    """
    import polars as pl

    from converz.testing import Emulator

    with Emulator(calls=6000, reps=5, seed=3) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars().with_row_index("i")
        # Every tenth call goes without it; the others get a value their id gives.
        scored = ids.filter(pl.col("i") % 10 != 0).select(
            "call_id", score=(pl.col("call_id") // 10 % 7).cast(pl.Float64) / 4
        )
        assert client.push_updates(scored).updated == len(scored)
        pages, fast, rows = _decoded(emu, "calls", page_size=500)
        frame = client.calls().to_polars()
    assert rows == len(ids) and pages >= 12
    # The pages that start on the documented columns alone (before the first page with the
    # attribute finishes) take the reference path; every later one the fast path.
    assert fast >= pages - 5, (pages, fast)
    got = frame.select("call_id", "score").join(scored, on="call_id", how="left")
    assert got["score"].null_count() == len(ids) - len(scored)
    assert got["score"].eq_missing(got["score_right"]).all()
