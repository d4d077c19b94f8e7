"""The resume hint runs as printed, whatever the names: run through bash, it pushes the rest.

Outside trial 15: ``--schema -x:string`` was an argparse error (``--clear`` already had the
``--clear=-x`` form); a column name holding ``:`` could not be given ``--schema`` at all
(``r:x:string`` was column ``r``, type ``x:string``); and a tab or newline in the path or a
``--clear`` name was shown escaped inside single quotes, where the shell keeps ``\\t`` as two
characters (the command named another file).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import converz
from converz.__main__ import main
from converz._cli import push_file, resume_command
from converz._schema_types import check_schema, parse_schema_text
from converz.testing import Emulator

BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="the hint's $'...' quoting is bash's")


def _bash_words(command: str) -> list[str]:
    """The words bash makes of ``command``, in the C locale (no UTF-8 assumed)."""
    assert BASH is not None
    done = subprocess.run(
        [BASH, "-c", f"printf '%s\\0' {command}"],
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    return [os.fsdecode(word) for word in done.stdout.split(b"\0")[:-1]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("r:x:string", {"r:x": "string"}),
        ("a:b:c:int64, -x:string", {"a:b:c": "int64", "-x": "string"}),
        ("t:timestamp[ms]", {"t": "timestamp[ms]"}),
        ("code:string", {"code": "string"}),
    ],
)
def test_a_schema_pair_splits_before_its_type(text, expected):
    assert parse_schema_text(text, what="--schema") == expected


def test_a_pair_with_no_type_on_its_right_names_the_type_given():
    pairs = parse_schema_text("r:x:strin", what="--schema")
    with pytest.raises(converz.InvalidParameterError, match="'x:strin'"):
        check_schema(pairs)


@needs_bash
def test_the_command_parses_back_for_any_name(monkeypatch):
    path = Path("dir\twith tab/new\nline/it's $HOME/latin1 \udce9/in.remaining.csv")
    schema = {"-x": "string", "r:x": "string", "tab\there": "int64", "\u202ebidi": "string"}
    clear = ["-y", "nl\nname", "plain", "bell\x07", "c1\x85"]
    command = resume_command(path, schema, {"clear": clear, "timezone": "Europe/Amsterdam"})
    # Nothing a terminal acts on is left in it, so it is shown as it is.
    assert command.isprintable(), command
    words = _bash_words(command)
    assert words[:3] == ["converz", "push", str(path)]
    assert "--schema=-x:string" in words
    seen: dict[str, object] = {}

    def spy(args: object) -> int:
        seen.update(vars(args))
        return 0

    monkeypatch.setattr("converz._cli._push", spy)
    assert main(words[1:]) == 0
    assert seen["path"] == str(path) and sorted(seen["clear"]) == sorted(clear)
    from converz._cli import _schema

    assert _schema(type("Args", (), {"schema": seen["schema"]})()) == schema


@needs_bash
def test_a_stopped_push_resumes_with_its_hint_run_by_bash(tmp_path):
    """A folder with a tab and a newline, columns ``-x`` and ``r:x`` kept as text, a ``--clear``
    column with a tab: the printed command, run by bash, pushes the rest as the first push
    would have."""
    folder = tmp_path / "a\ttab" / "a\nnewline"
    folder.mkdir(parents=True)
    with Emulator(calls=80, reps=5, seed=7) as emu:
        client = emu.client(progress=False, retries=0)
        ids = sorted(client.calls(columns=["call_id"]).to_polars()["call_id"].to_list())[:40]
        path = folder / "in.csv"
        pl.DataFrame(
            {
                "call_id": ids,
                "-x": [f"{i:05d}" for i in range(40)],
                "r:x": [f"{i:04d}" for i in range(40)],
                "t\tb": [None] * 40,
            }
        ).write_csv(path)
        client.push_updates(pl.DataFrame({"call_id": ids, "t\tb": ["set"] * 40}))
        emu.set_faults(error_rate=1.0)
        with pytest.raises(converz.PushError) as info:
            push_file(
                client,
                path,
                schema={"-x": "string", "r:x": "string"},
                clear=["t\tb"],
                chunk_rows=10,
            )
        emu.set_faults()
        hint = info.value.hint
        # Its $'...' words are bash's, and the hint says so (outside trial 16: run in sh).
        assert "same flags, in bash (its $'...' quoting is not sh's): " in hint
        command = re.search(r"not sh's\): (converz push .*?) \(in Python: ", hint)
        assert command is not None, hint
        env = {
            **os.environ,
            "CONVERZ_API_KEY": emu.api_key,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        assert BASH is not None
        done = subprocess.run(
            [BASH, "-c", command.group(1)], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert not (folder / "in.remaining.csv").exists()  # converz's, every row applied
        got = emu.client(progress=False).calls(metric=["-x", "r:x", "t\tb"]).to_polars()
    got = got.filter(pl.col("call_id").is_in(ids)).sort("call_id")
    assert got["-x"].to_list() == [f"{i:05d}" for i in range(40)]
    assert got["r:x"].to_list() == [f"{i:04d}" for i in range(40)]
    assert got["t\tb"].to_list() == [None] * 40  # cleared


def test_a_colon_in_a_column_name_takes_a_type_from_the_cli(tmp_path, monkeypatch, capsys):
    with Emulator(calls=20, reps=5, seed=7) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        first = emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"][0]
        path = tmp_path / "in.csv"
        path.write_text(f"call_id,r:x\n{first},00050\n", encoding="utf-8")
        assert main(["push", str(path), "--schema", "r:x:string", "--quiet"]) == 0, (
            capsys.readouterr().err
        )
        got = emu.client(progress=False).calls(metric=["r:x"]).to_polars()
    assert got.filter(pl.col("call_id") == first)["r:x"].to_list() == ["00050"]
