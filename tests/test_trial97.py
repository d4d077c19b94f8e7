"""Outside trial 97: a hostile server on the read path.

R1: `report()` answered with a gzip bomb of one endless row held 2 GB before it failed: a
report has no page size to bound its body, so it was read up to the 2 GiB ceiling.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib

import pytest
from hostile_support import KEY, response, serving

import converz


@pytest.fixture
def serve():
    yield from serving()


def bomb(inflated_mib: int) -> bytes:
    """A gzip body that inflates to one report row whose text never ends."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'[{"date":"2025-01-01","summary":"')]
    block = b"a" * (1 << 20)
    parts += [packer.compress(block) for _ in range(inflated_mib)]
    parts.append(packer.flush())
    return b"".join(parts)


def test_a_report_of_one_endless_row_stops_at_the_row_limit(serve):
    body = bomb(256)
    server = serve(
        lambda request: response(
            "200 OK", body, "Content-Type: application/json", "Content-Encoding: gzip"
        )
    )
    script = textwrap.dedent(
        f"""
        import resource, converz
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        client = converz.Client(base_url={server.url!r}, api_key={KEY!r}, progress=False)
        try:
            client.report(start_date="2025-01-01", end_date="2025-01-31")
        except converz.DecodeError as err:
            print(type(err).__name__, "|", err.hint, "|", str(err).splitlines()[0])
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((peak - start) // 1024)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    said, grown = done.stdout.strip().splitlines()
    assert said.startswith("DecodeError"), done.stdout + done.stderr
    assert "limit of one row" in said and "page_size" not in said, said
    # Before: the body was read to 2 GiB (~2 GB resident); a 256 MiB bomb held ~512 MB.
    assert int(grown) < 150, said + f" {grown} MiB"


def test_a_report_of_many_rows_is_read_whole(serve):
    """The row limit leaves a large report of small rows alone."""
    rows = b",".join(b'{"date":"2025-01-%02d","calls":%d}' % (1 + i % 28, i) for i in range(50_000))
    body = b"[" + rows + b"]"
    server = serve(lambda request: response("200 OK", body, "Content-Type: application/json"))
    client = converz.Client(base_url=server.url, api_key=KEY, progress=False)
    table = client.report(start_date="2025-01-01", end_date="2025-01-31").to_arrow()
    assert table.num_rows == 50_000 and table["calls"].to_pylist()[-1] == 49_999
