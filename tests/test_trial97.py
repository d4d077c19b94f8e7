"""Outside trial 97: a hostile server on the read path.

R1: `report()` answered with a gzip bomb of one endless row held 2 GB before it failed: a
report has no page size to bound its body, so it was read up to the 2 GiB ceiling.
"""

from __future__ import annotations

import itertools
import json
import logging
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


def spellings(key: str) -> list[str]:
    chars = list(key)
    return [
        "-".join(chars),
        " ".join(chars),
        ", ".join(chars),
        "\t".join(chars),
        " ".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        " ".join("".join(chars[i : i + 2]) for i in range(0, len(chars), 2)),
        json.dumps(chars),
        ":".join(f"{b:02x}" for b in key.encode()),
        # Trial 98 K2: spaces and dashes outside ASCII, raw or escaped.
        "&nbsp;".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        "%C2%A0".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        "\u00a0".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        "\u2014".join(chars),
        "\u00b7".join(chars),
        "\u3000".join(chars),
        # Trial 99 K3, K4: without its first characters, one short, broken by markup.
        " ".join("".join(chars[i : i + 4]) for i in range(3, len(chars), 4)),
        " ".join("".join(chars[i : i + 4]) for i in range(0, len(chars) - 1, 4))[:-1],
        "<br>".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        "&NoBreak;".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        # Trial 100 K5, K2: slashes and ellipses.
        "/".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
        "\u2026".join("".join(chars[i : i + 4]) for i in range(0, len(chars), 4)),
    ]


@pytest.mark.parametrize("status", ["400 Bad Request", "503 Service Unavailable"])
def test_a_key_spelt_apart_by_the_server_is_never_shown(serve, caplog, status):
    """K1: a server echoing the key letter by letter with separators, or in groups, had it
    shown in the error and in the retry log lines."""
    for written, ascii_only in itertools.product(spellings(KEY), [True, False]):
        said = {"error": f"bad key {written}"}
        body = json.dumps(said, ensure_ascii=ascii_only).encode()
        server = serve(
            lambda request, body=body: response(
                status, body, "Content-Type: application/json", "Retry-After: 0"
            )
        )
        client = converz.Client(base_url=server.url, api_key=KEY, progress=False, retries=1)
        caplog.clear()
        with (
            caplog.at_level(logging.DEBUG, logger="converz"),
            pytest.raises(converz.ConverzError) as caught,
        ):
            client.calls()
        shown = [str(caught.value), repr(caught.value), *(r.getMessage() for r in caplog.records)]
        joined = KEY.replace("-", "")
        for text in shown:
            together = "".join(c for c in text if c.isalnum())
            assert joined not in together and KEY.encode().hex() not in together, (
                written,
                text,
            )
        assert any("***" in text for text in shown), shown


def test_nan_and_bad_utf8_are_told_as_damaged_data_not_a_wrong_base_url(serve):
    """L2: both got the hint for a body that is not the API's JSON (a login page)."""
    for body, said in [
        (b'[{"call_id": 1, "duration": NaN}]', "NaN or Infinity"),
        (b'[{"call_id": 1, "duration": -Infinity}]', "NaN or Infinity"),
        (b'[{"call_id": 1, "rep_id": "r\xff\xfe1"}]', "not UTF-8"),
    ]:
        server = serve(
            lambda request, body=body: response("200 OK", body, "Content-Type: application/json")
        )
        client = converz.Client(base_url=server.url, api_key=KEY, progress=False)
        with pytest.raises(converz.DecodeError) as caught:
            client.calls()
        hint = caught.value.hint or ""
        assert "login page" not in hint and said in hint, (body, str(caught.value))


def test_a_timeout_names_its_limit(serve):
    """L3: "timed out: operation timed out" said neither which limit nor how long."""

    def silent(request):
        def never_answer(conn):
            import time

            time.sleep(3)

        return never_answer

    server = serve(silent)
    client = converz.Client(
        base_url=server.url, api_key=KEY, progress=False, timeout=0.5, retries=0
    )
    with pytest.raises(converz.TransportError) as caught:
        client.calls()
    assert "timeout=0.5 s" in str(caught.value), str(caught.value)


def test_a_push_whose_answer_does_not_account_for_its_rows_is_not_called_unapplied(serve):
    """L4: the summary said "not applied" where the server most likely applied the chunk."""
    import polars as pl

    server = serve(
        lambda request: response(
            "200 OK", b'{"updated": 3, "not_found": []}', "Content-Type: application/json"
        )
    )
    client = converz.Client(base_url=server.url, api_key=KEY, progress=False, retries=0)
    with pytest.raises(converz.PushError) as caught:
        client.push_updates(pl.DataFrame({"call_id": [1, 2], "x": [1, 2]}))
    first = str(caught.value).split(";")[0]
    assert "not known to be applied" in first, str(caught.value)
