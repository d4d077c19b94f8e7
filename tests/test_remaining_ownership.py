"""Only a remaining file converz wrote, for the input it came from, stands in for it or goes.

Outside trial 15: any ``NAME.remaining.EXT`` was deleted after a push, even one converz never
wrote (the user's ``q3.remaining.csv`` pushed itself; an ``inventory.remaining.csv`` beside a
pushed ``inventory.csv``), and the Airflow operator would push it instead of ``path``. And a new
input older (mtime: ``cp -p``, ``rsync -t``) than a stale remaining file was never pushed: the
stale rows were sent instead. A remaining file is converz's only with its record, which names
the input's bytes (SHA-256); it stands in for the input only while the input holds them.
Each property end to end against the emulator.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import converz
from converz.__main__ import main
from converz._cli import push_file, resume_source
from converz._remaining import record_path
from converz.testing import Emulator


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(calls=60, reps=5, seed=3) as emulator:
        monkeypatch.setenv("CONVERZ_BASE_URL", emulator.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emulator.api_key)
        yield emulator


def _ids(emu: Emulator) -> list[int]:
    got = emu.client(progress=False).calls(columns=["call_id"]).to_polars()
    return sorted(got["call_id"].to_list())[:3]


def _held(emu: Emulator, column: str) -> dict[int, Any]:
    """The calls' values of ``column``; none when the API has never been sent it."""
    try:
        got = emu.client(progress=False).calls(metric=[column]).to_polars()
    except converz.InvalidRequestError:  # "unknown metric"
        return {}
    return dict(zip(got["call_id"].to_list(), got[column].to_list()))


def _csv(path: Path, ids: list[int], column: str, value: int) -> Path:
    pl.DataFrame({"call_id": ids, column: [value] * len(ids)}).write_csv(path)
    return path


def test_files_named_remaining_that_converz_did_not_write_survive_a_push(emu, tmp_path, capsys):
    ids = _ids(emu)
    own = _csv(tmp_path / "q3.remaining.csv", ids[:1], "score", 5)  # the user's input
    inventory = _csv(tmp_path / "inventory.csv", ids[1:2], "score", 6)
    unrelated = _csv(tmp_path / "inventory.remaining.csv", ids[2:], "stock", 7)
    kept = {own: own.read_bytes(), unrelated: unrelated.read_bytes()}

    assert main(["push", str(own), "--quiet"]) == 0
    assert "has no converz record beside it" in capsys.readouterr().err
    assert main(["push", str(inventory), "--quiet"]) == 0
    said = capsys.readouterr().err
    assert "removed" not in said, said
    for path, data in kept.items():
        assert path.read_bytes() == data
    held = _held(emu, "score")
    assert (held[ids[0]], held[ids[1]]) == (5, 6)
    assert _held(emu, "stock") == {}  # the unrelated file was neither pushed nor taken


def test_a_failed_push_of_such_a_file_does_not_write_over_it(emu, tmp_path):
    ids = _ids(emu)
    own = _csv(tmp_path / "q3.remaining.csv", ids, "score", 5)
    data = own.read_bytes()
    emu.set_faults(error_rate=1.0)
    client = emu.client(progress=False, retries=0)
    with pytest.raises(converz.PushError) as info:
        push_file(client, own)
    assert own.read_bytes() == data
    left = tmp_path / "q3.remaining.remaining.csv"
    assert str(left) in info.value.message and record_path(left).is_file()
    emu.set_faults()
    push_file(client, left)  # the rows left resume, and that file, converz's, goes
    assert not left.exists() and not record_path(left).exists() and own.exists()
    assert {k: v for k, v in _held(emu, "score").items() if k in ids} == dict.fromkeys(ids, 5)


def _stopped(emu: Emulator, path: Path, **options: Any) -> Path:
    """Pushes ``path`` while every request fails: its rows are left in NAME.remaining.EXT."""
    emu.set_faults(error_rate=1.0)
    with pytest.raises(converz.PushError):
        push_file(emu.client(progress=False, retries=0), path, **options)
    emu.set_faults()
    remaining = path.with_name(f"{path.stem}.remaining{path.suffix}")
    assert remaining.is_file() and record_path(remaining).is_file()
    return remaining


def test_a_new_input_older_than_a_stale_remaining_file_is_not_mistaken_for_it(emu, tmp_path):
    """The stale rows are not sent in its place; and while they are left, the new input is
    refused before any request (outside trial 16: a failed push of it replaced them), then
    pushed once they are."""
    ids = _ids(emu)
    path = _csv(tmp_path / "in.csv", ids[:2], "score", 1)
    remaining = _stopped(emu, path)
    stale = remaining.read_bytes()
    # The next input, copied keeping its (older) time, as cp -p or rsync -t do.
    new = _csv(tmp_path / "new.csv", ids, "score", 2)
    an_hour_ago = remaining.stat().st_mtime_ns - 3600 * 10**9
    os.utime(new, ns=(an_hour_ago, an_hour_ago))
    new.replace(path)
    source = resume_source(path)
    assert source == path
    with pytest.raises(converz.InvalidParameterError) as info:
        push_file(emu.client(progress=False), source)
    assert f"{remaining} holds 2 rows not yet applied" in info.value.message
    assert _held(emu, "score") == {}  # nothing was sent
    assert remaining.read_bytes() == stale
    push_file(emu.client(progress=False), remaining)  # as the hint says: those rows first
    assert [_held(emu, "score")[i] for i in ids[:2]] == [1, 1]
    result = push_file(emu.client(progress=False), resume_source(path))
    assert result.rows == 3
    held = _held(emu, "score")
    assert [held[i] for i in ids] == [2, 2, 2]
    assert not remaining.exists() and not record_path(remaining).exists()


def test_the_same_input_is_resumed_from_whatever_its_time(emu, tmp_path):
    ids = _ids(emu)
    path = _csv(tmp_path / "in.csv", ids, "score", 1)
    remaining = _stopped(emu, path)
    later = remaining.stat().st_mtime_ns + 10**9
    os.utime(path, ns=(later, later))  # touched, the same bytes
    assert resume_source(path) == remaining
    record = json.loads(record_path(remaining).read_text())
    assert record["source"]["name"] == "in.csv" and len(record["source"]["sha256"]) == 64
    # Pushed whole instead, the same bytes: the remaining rows were in it, so it goes.
    notes: list[str] = []
    push_file(emu.client(progress=False), path, on_note=notes.append)
    assert not remaining.exists() and not record_path(remaining).exists()
    assert notes == [f"removed {remaining} (left by an earlier push of in.csv, now pushed whole)"]


@pytest.fixture
def operator_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """``ConverzPushOperator`` on stub Airflow base classes (tests/test_airflow.py runs it in
    Airflow); its hook's client is the test's."""
    sdk = types.ModuleType("airflow.sdk")
    exceptions = types.ModuleType("airflow.exceptions")

    def init(self: Any, **kwargs: Any) -> None:
        self.log = logging.getLogger("converz.test.operator")

    sdk.BaseHook = type("BaseHook", (), {"__init__": lambda self, **kwargs: None})  # type: ignore[attr-defined]
    sdk.BaseOperator = type("BaseOperator", (), {"__init__": init})  # type: ignore[attr-defined]
    exceptions.AirflowException = type("AirflowException", (Exception,), {})  # type: ignore[attr-defined]
    for name, module in {
        "airflow": types.ModuleType("airflow"),
        "airflow.sdk": sdk,
        "airflow.exceptions": exceptions,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in [n for n in sys.modules if n.startswith("converz.airflow")]:
        monkeypatch.delitem(sys.modules, name)
    from converz.airflow.operators import ConverzPushOperator

    yield ConverzPushOperator
    for name in [n for n in sys.modules if n.startswith("converz.airflow")]:
        del sys.modules[name]


def test_an_operator_retry_without_a_record_pushes_path(emu, tmp_path, operator_type, monkeypatch):
    from converz.airflow.hooks import ConverzHook

    monkeypatch.setattr(ConverzHook, "get_client", lambda self: emu.client(progress=False))
    ids = _ids(emu)
    path = _csv(tmp_path / "in.csv", ids, "score", 1)
    other = _csv(tmp_path / "in.remaining.csv", ids[:1], "score", 9)  # newer, no record
    data = other.read_bytes()
    done = operator_type(task_id="push", path=str(path)).execute(context={})
    assert done["pushed"] == str(path) and done["rows"] == 3
    assert other.read_bytes() == data
    held = _held(emu, "score")
    assert [held[i] for i in ids] == [1, 1, 1]


def test_a_failed_push_beside_a_users_remaining_file_writes_elsewhere(
    emu, tmp_path, caplog, temp_folder
):
    ids = _ids(emu)
    path = _csv(tmp_path / "inventory.csv", ids, "score", 1)
    theirs = _csv(tmp_path / "inventory.remaining.csv", ids[:1], "stock", 7)  # no record
    data = theirs.read_bytes()
    emu.set_faults(error_rate=1.0)
    with (
        caplog.at_level(logging.WARNING, logger="converz"),
        pytest.raises(converz.PushError) as info,
    ):
        push_file(emu.client(progress=False, retries=0), path)
    emu.set_faults()
    assert theirs.read_bytes() == data and not record_path(theirs).exists()
    assert "is not a remaining file converz wrote" in caplog.text
    left = Path(info.value.message.rsplit(" are in ", 1)[1])
    assert left.parent != tmp_path and left.name == "inventory.remaining.csv"
    assert record_path(left).is_file()
    push_file(emu.client(progress=False), left)
    held = _held(emu, "score")
    assert [held[i] for i in ids] == [1, 1, 1]
    assert list(temp_folder.iterdir()) == []  # its temporary folder went with it


def test_an_operator_run_on_new_input_fails_before_any_request_while_old_rows_are_left(
    emu, tmp_path, operator_type, monkeypatch
):
    """A later run whose ``path`` holds other bytes is not resumed from the old rows, nor
    pushed over them: the task fails with the CLI's refusal, and the rows are kept."""
    from converz.airflow.hooks import ConverzHook

    monkeypatch.setattr(ConverzHook, "get_client", lambda self: emu.client(progress=False))
    ids = _ids(emu)
    path = _csv(tmp_path / "in.csv", ids[:2], "score", 1)
    remaining = _stopped(emu, path)
    stale = remaining.read_bytes()
    _csv(path, ids, "score", 2)
    op = operator_type(task_id="push", path=str(path))
    with pytest.raises(converz.InvalidParameterError, match="push those rows first"):
        op.execute(context={})
    assert remaining.read_bytes() == stale and _held(emu, "score") == {}
    remaining.unlink()  # the operator's user drops them, as the hint says
    record_path(remaining).unlink()
    done = op.execute(context={})
    assert done["pushed"] == str(path) and done["rows"] == 3
