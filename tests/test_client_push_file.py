"""``Client.push_file``: a file pushed from Python as ``converz push`` pushes it.

Outside trial 15: the refusal hint offered Python keywords (``schema={...}``) that no public
function took; ``push_updates(pl.read_csv(...))`` without them stored "00050" as 50.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import converz
from converz._remaining import record, record_path
from converz.testing import Emulator


def _write(path: Path, ids: list[int]) -> Path:
    pl.DataFrame({"call_id": ids, "code": [f"{50 + i:05d}" for i in range(len(ids))]}).write_csv(
        path
    )
    return path


def _codes(client: converz.Client, ids: list[int]) -> list[str]:
    got = client.calls(metric=["code"]).to_polars().filter(pl.col("call_id").is_in(ids))
    return got.sort("call_id")["code"].to_list()


def test_a_csv_pushed_with_schema_keeps_its_text(tmp_path):
    with Emulator(calls=40, reps=5, seed=2) as emu:
        client = emu.client(progress=False)
        ids = sorted(client.calls(columns=["call_id"]).to_polars()["call_id"].to_list())[:20]
        path = _write(tmp_path / "codes.csv", ids)
        result = client.push_file(path, schema={"code": "string"})
        assert isinstance(result, converz.PushResult) and result.rows == 20
        assert _codes(client, ids) == [f"{50 + i:05d}" for i in range(20)]


def test_a_stopped_push_resumes_with_the_python_hint(tmp_path):
    with Emulator(calls=60, reps=5, seed=2) as emu:
        client = emu.client(progress=False, retries=0)
        ids = sorted(client.calls(columns=["call_id"]).to_polars()["call_id"].to_list())[:40]
        path = _write(tmp_path / "codes.csv", ids)
        emu.set_faults(error_rate=1.0)
        with pytest.raises(converz.PushError) as info:
            client.push_file(path, schema={"code": "string"}, chunk_rows=10)
        emu.set_faults()
        remaining = tmp_path / "codes.remaining.csv"
        assert remaining.is_file() and record_path(remaining).is_file()
        call = re.search(r"\(in Python: (client\.push_file\(.*\))\)$", info.value.hint)
        assert call is not None, info.value.hint
        assert "schema={'code': 'string'}" in call.group(1)
        # The hint, verbatim: a public method, the same options; the record's file then goes.
        result = eval(call.group(1), {"client": client})
        assert result.rows == 40
        assert not remaining.exists() and not record_path(remaining).exists()
        assert _codes(client, ids) == [f"{50 + i:05d}" for i in range(40)]


@pytest.mark.parametrize("remaining", [False, True])
@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"path": 3}, "path"),
        ({"schema": ["code"]}, "schema"),
        ({"clear": 5}, "clear"),
        ({"chunk_rows": "x"}, "chunk_rows"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"on_duplicate": 3}, "on_duplicate"),
    ],
)
def test_wrong_argument_types_name_the_parameter(arguments, parameter, remaining, tmp_path):
    """Also for a remaining file, whose record is compared with them (``clear=5`` was a bare
    TypeError there)."""
    client = converz.Client(base_url="http://127.0.0.1:9/api/v1", api_key="k", progress=False)
    path = _write(tmp_path / ("in.remaining.csv" if remaining else "in.csv"), [1, 2])
    if remaining:
        record(path, "calls", None, {})
    given = dict(arguments)  # the parameter sets are shared between the cases
    target = given.pop("path", path)
    with pytest.raises(converz.InvalidParameterTypeError) as info:
        client.push_file(target, **given)
    assert info.value.parameter == parameter
