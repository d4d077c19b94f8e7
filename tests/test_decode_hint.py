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
