"""A stopped push's ``NAME.remaining.EXT`` carries its options (``NAME.remaining.EXT.json``).

Outside session 14: the file held only rows, so pushed by hand (or by an Airflow task whose
options changed) without the resume hint's flags it sent other values: ``00000`` read as 0, the
clears not sent, times moved by the zone. A push of it with options that would send other values
is now refused before any request, naming them and giving the command with the recorded ones.
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_push_resume import CALLS, SEED, _control, _held, _prepared, _stopping_bar, _write_input

import converz
from converz.__main__ import main
from converz._cli import push_file
from converz._remaining import check_options, record, record_path
from converz.testing import Emulator

FLAGS = ["--schema", "code:string", "--clear", "note"]


@pytest.fixture
def stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Iterator[Any]:
    """An emulator where ``in.csv`` was pushed with FLAGS and stopped after 3 chunks."""
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        path = _write_input(_prepared(emu), tmp_path, "csv")
        with monkeypatch.context() as patch:
            patch.setattr("converz._client.progress_bar", _stopping_bar(3))
            emu.set_faults(latency=0.1)
            assert main(["push", str(path), *FLAGS, "--chunk-rows", "50", "--quiet"]) == 130
            emu.set_faults()
        capsys.readouterr()
        yield emu, tmp_path / "in.remaining.csv"


def _expected(tmp_path: Path) -> pl.DataFrame:
    """What one uninterrupted push of in.csv with FLAGS gives."""
    (tmp_path / "control").mkdir()
    return _control(
        lambda client, ids: push_file(
            client,
            _write_input(ids, tmp_path / "control", "csv"),
            schema={"code": "string"},
            clear=["note"],
            chunk_rows=50,
        )
    )


def test_pushed_by_hand_without_its_flags_it_is_refused_naming_them_then_works_with_them(
    stopped, tmp_path, capsys
):
    emu, remaining = stopped
    assert record_path(remaining).is_file()
    before = _held(emu)
    assert main(["push", str(remaining), "--quiet"]) == 1
    said = capsys.readouterr().err
    assert "InvalidParameterError" in said and "clear (left with ['note'], given [])" in said
    # Not schema: its rows are read with the recorded text types (code among them) anyway.
    assert "schema (left with" not in said
    call = f"client.push_file({str(remaining)!r}, to='calls', schema={{'code': 'string'}}"
    assert f"(in Python: {call}, clear=['note'], chunk_rows=50)" in said
    assert emu.api_key not in said
    assert _held(emu).equals(before)  # nothing was sent
    command = re.search(r"left with: (converz push .*?) \(in Python", said)
    assert command is not None, said
    words = shlex.split(command.group(1))
    assert words[2:] == [
        str(remaining),
        "--base-url",  # the tenant its rows are for (outside trial 16)
        emu.url,
        "--to",
        "calls",
        "--schema",
        "code:string",
        "--chunk-rows",
        "50",
        "--clear",
        "note",
    ]
    # Another --chunk-rows only sizes the requests: taken.
    assert main([*words[1:9], "--chunk-rows", "70", *words[11:]]) == 0
    assert "every row of it is applied" in capsys.readouterr().err
    assert not remaining.exists() and not record_path(remaining).exists()
    resumed = _held(emu)
    assert resumed["code"].to_list()[:2] == ["00000", "00001"]
    assert resumed.equals(_expected(tmp_path))


def test_a_corrupt_record_is_refused_saying_what_to_do(stopped, capsys):
    emu, remaining = stopped
    before = _held(emu)
    record_path(remaining).write_text('{"kind": "converz push opt', encoding="utf-8")
    assert main(["push", str(remaining), *FLAGS, "--quiet"]) == 1
    said = capsys.readouterr().err
    assert f"cannot read the push options recorded for {remaining}" in said
    assert f"move {record_path(remaining)} aside, then run the resume hint" in said
    assert _held(emu).equals(before)
    record_path(remaining).unlink()  # as the hint says
    assert main(["push", str(remaining), *FLAGS, "--quiet"]) == 0
    # Without its record it is not converz's file: pushed as any file, and kept.
    assert "pushed as an ordinary file, and kept" in capsys.readouterr().err
    assert remaining.exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"kind": "converz push opt', "Unterminated string"),  # cut short
        ('{"kind": "converz push options", "version": 1}', "it has no options"),
        ('{"kind": "converz push options", "version": 9, "options": {}}', "version 9, not 2"),
        ('{"kind": "converz push options", "version": 1, "options": {"clear": "a"}}', "clear"),
        (
            '{"kind": "converz push options", "version": 1, "options": {"schema": {"a": "z"}}}',
            "schema: schema['a']: 'z' is not a type schema= takes",
        ),
    ],
)
def test_each_kind_of_corrupt_record_is_named(tmp_path, text, says):
    remaining = tmp_path / "in.remaining.parquet"
    remaining.write_bytes(b"rows")
    record_path(remaining).write_text(text, encoding="utf-8")
    with pytest.raises(converz.InvalidParameterError) as info:
        check_options(remaining, None, {})
    assert says in info.value.message and "Nothing was sent" in info.value.hint


@pytest.mark.parametrize(
    ("given", "differ"),
    [
        ({"clear": ["b", "a"], "timezone": "Europe/Amsterdam"}, []),  # the same, in any order
        ({"to": None, "clear": ("a", "b"), "timezone": "Europe/Amsterdam"}, []),
        ({"clear": ["a"], "timezone": "Europe/Amsterdam"}, ["clear"]),
        ({"clear": ["a", "b"]}, ["timezone"]),
        ({"clear": ["a", "b"], "timezone": "Europe/Amsterdam", "to": "reps"}, ["to"]),
        (
            {"clear": ["a", "b"], "timezone": "Europe/Amsterdam", "on_duplicate": "last"},
            ["on_duplicate"],
        ),
        ({"clear": ["a", "b"], "timezone": "Europe/Amsterdam", "strict": True}, ["strict"]),
        ({"clear": ["a", "b"], "timezone": "Europe/Amsterdam", "chunk_rows": 7}, []),
    ],
)
def test_only_options_that_change_what_is_sent_are_compared(tmp_path, given, differ):
    remaining = tmp_path / "in.remaining.parquet"
    remaining.write_bytes(b"rows")
    record(remaining, "calls", None, {"clear": ["a", "b"], "timezone": "Europe/Amsterdam"})
    if not differ:
        check_options(remaining, None, given)
        return
    with pytest.raises(converz.InvalidParameterError) as info:
        check_options(remaining, None, given)
    named = re.findall(r"(\w+) \(left with", info.value.message)
    assert named == differ


def test_a_schema_given_as_a_polars_type_matches_its_recorded_spelling(tmp_path):
    remaining = tmp_path / "in.remaining.csv"
    remaining.write_bytes(b"rows")
    record(remaining, "calls", {"when": pl.Datetime("ms")}, {})
    check_options(remaining, {"when": "timestamp[ms]"}, {})
    with pytest.raises(converz.InvalidParameterError, match="schema"):
        check_options(remaining, {"when": "timestamp[s]"}, {})


@pytest.fixture
def operator_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[type]:
    """``ConverzPushOperator`` over stand-ins of Airflow's base classes (tests/test_airflow.py
    runs it in Airflow); only ``execute`` is under test."""

    class BaseOperator:
        def __init__(self, **kwargs: Any) -> None:
            self.log = logging.getLogger("test.operator")

    sdk = types.ModuleType("airflow.sdk")
    exceptions = types.ModuleType("airflow.exceptions")
    sdk.BaseHook = type("BaseHook", (), {})  # type: ignore[attr-defined]
    sdk.BaseOperator = BaseOperator  # type: ignore[attr-defined]
    exceptions.AirflowException = type("AirflowException", (Exception,), {})  # type: ignore[attr-defined]
    modules = {"airflow": types.ModuleType("airflow"), "airflow.sdk": sdk}
    for name, module in {**modules, "airflow.exceptions": exceptions}.items():
        monkeypatch.setitem(sys.modules, name, module)
    for name in [n for n in sys.modules if n.startswith("converz.airflow.")]:
        monkeypatch.delitem(sys.modules, name)
    from converz.airflow.operators import ConverzPushOperator

    yield ConverzPushOperator
    for name in [n for n in sys.modules if n.startswith("converz.airflow.")]:
        del sys.modules[name]


def test_the_airflow_operator_refuses_a_remaining_file_left_with_other_options(
    stopped, operator_type, monkeypatch
):
    emu, remaining = stopped
    monkeypatch.setattr(
        "converz.airflow.hooks.ConverzHook.__init__", lambda self, conn_id: None, raising=False
    )
    monkeypatch.setattr(
        "converz.airflow.hooks.ConverzHook.get_client",
        lambda self: emu.client(progress=False),
    )
    path = remaining.with_name("in.csv")
    before = _held(emu)
    edited = operator_type(task_id="push", path=str(path), schema={"code": "string"})
    with pytest.raises(converz.InvalidParameterError, match=r"clear \(left with \['note'\]"):
        edited.execute(context={})
    assert _held(emu).equals(before) and remaining.exists()
    same = operator_type(
        task_id="push", path=str(path), schema={"code": "string"}, clear=["note"], chunk_rows=50
    )
    out = same.execute(context={})
    assert out["pushed"] == str(remaining)
    assert not remaining.exists() and not record_path(remaining).exists()
    assert _held(emu)["note"].null_count() == CALLS


def test_the_record_is_read_once_per_push_of_its_file(stopped, monkeypatch):
    """Its options (checked) and its types (read with) came from two reads and parses of it."""
    _, remaining = stopped
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == record_path(remaining):
            reads.append(self)
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    assert main(["push", str(remaining), *FLAGS, "--chunk-rows", "50", "--quiet"]) == 0
    assert len(reads) == 1
    assert not remaining.exists()
