"""Resuming a stopped push the way its hint says sends exactly what the first push would have.

Each push is stopped after a few chunks (the progress callback raises, as Ctrl-C would), then
the hinted call or command is run verbatim; the emulator must then hold what one uninterrupted
push gives a control emulator of the same seed (outside trial 13: the hint dropped ``--clear``,
``--schema`` and ``--timezone``, so the resume cleared nothing and read "00000" as 0).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import pickle
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import converz
from converz.__main__ import main
from converz._cli import push_file
from converz.testing import Emulator

CALLS = 600
SEED = 13
COLUMNS = ["call_id", "code", "note", "seen"]


def _stopping_bar(after_chunks: int):
    """A stand-in for converz's progress bar whose callback stops the push mid-way."""

    @contextlib.contextmanager
    def bar(*args: Any, **kwargs: Any) -> Iterator[Any]:
        def callback(rows: int, chunks: int, *rest: int) -> None:
            if chunks >= after_chunks:
                raise KeyboardInterrupt

        yield callback

    return bar


def _prepared(emu: Emulator) -> list[int]:
    """Every call gets note 'old' (to be cleared) and returns the ids."""
    client = emu.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()
    client.push_updates(pl.DataFrame({"call_id": ids, "note": ["old"] * len(ids)}))
    return ids


def _updates(ids: list[int]) -> pl.DataFrame:
    ten_utc = dt.datetime(2025, 9, 1, 10, tzinfo=dt.timezone.utc)
    return pl.DataFrame(
        {
            "call_id": ids,
            "code": [f"{i:05d}" for i in range(len(ids))],
            "note": pl.Series([None] * len(ids), dtype=pl.String),
            "seen": [ten_utc] * len(ids),
        }
    )


def _held(emu: Emulator) -> pl.DataFrame:
    got = emu.client(progress=False).calls().to_polars()
    return got.select([name for name in COLUMNS if name in got.columns]).sort("call_id")


def _control(push: Any) -> pl.DataFrame:
    """What one uninterrupted push (``push(client, ids)``) leaves on a fresh emulator."""
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        push(emu.client(progress=False, max_concurrency=1), _prepared(emu))
        return _held(emu)


def test_the_python_hint_repeats_clear_and_timezone_and_the_resume_matches(monkeypatch):
    options = {"clear": ["note"], "timezone": "Europe/Amsterdam", "chunk_rows": 50}
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        ids = _prepared(emu)
        client = emu.client(progress=False, max_concurrency=1)
        with monkeypatch.context() as patch:
            patch.setattr("converz._client.progress_bar", _stopping_bar(3))
            emu.set_faults(latency=0.1)  # slow enough to stop mid-way
            with pytest.raises(KeyboardInterrupt) as info:
                client.push_updates(_updates(ids), **options)
            emu.set_faults()
        err = info.value.__cause__
        assert isinstance(err, converz.PushError)
        call = re.search(r"push_updates\(err\.result\.remaining[^)]*\)", err.hint)
        assert call is not None, err.hint
        assert call.group(0) == (
            "push_updates(err.result.remaining, clear=['note'], chunk_rows=50, "
            "timezone='Europe/Amsterdam')"
        )
        assert emu.api_key not in err.hint
        # The counts agree: rows applied in full plus the rows left are every row.
        full = re.search(
            r"\(([\d,]+) of ([\d,]+) rows in full: the update and every clear\)", err.message
        )
        assert full is not None, err.message
        applied, total = (int(n.replace(",", "")) for n in full.groups())
        assert total == CALLS
        assert applied + err.result.remaining.num_rows == total
        statuses = {chunk.status for chunk in err.result.chunks}
        assert {"applied", "not_sent"} <= statuses  # it did stop mid-way
        eval("client." + call.group(0), {"client": client, "err": err})  # the hint, verbatim
        resumed = _held(emu)
    expected = _control(lambda c, ids: c.push_updates(_updates(ids), **options))
    assert resumed["note"].null_count() == CALLS  # every clear was sent
    assert resumed.equals(expected)


def _write_input(ids: list[int], folder: Path, kind: str) -> Path:
    frame = _updates(ids)
    if kind == "csv":
        path = folder / "in.csv"
        frame.drop("seen").write_csv(path)
    else:
        path = folder / "in.parquet"
        frame.write_parquet(path)
    return path


# Flags that change what is sent: CSV text kept as text (--schema), nulls that clear
# (--clear), tz-aware times converted to the tenant's zone (--timezone).
CLI_CASES = {
    "csv": ["--schema", "code:string", "--clear", "note"],
    "parquet": ["--timezone", "Europe/Amsterdam", "--clear", "note"],
}


def _stopped_cli_push(
    emu: Emulator, argv: list[str], monkeypatch: Any, capsys: Any, after_chunks: int = 3
) -> tuple[list[str], str]:
    """Runs ``converz push ARGV`` against ``emu`` until it is stopped after ``after_chunks``
    chunks, as Ctrl-C would; the words of the command its hint gives, and what it said."""
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    with monkeypatch.context() as patch:
        patch.setattr("converz._client.progress_bar", _stopping_bar(after_chunks))
        emu.set_faults(latency=0.1)  # slow enough to stop mid-way
        assert main(["push", *argv]) == 130
        emu.set_faults()
    said = capsys.readouterr().err
    command = re.search(r"same flags: (converz push .*?) \(in Python: ", said.strip())
    assert command is not None, said
    return shlex.split(command.group(1)), said


@pytest.mark.parametrize("kind", list(CLI_CASES))
def test_the_cli_hint_repeats_the_flags_and_the_resume_matches(kind, tmp_path, monkeypatch, capsys):
    flags = [*CLI_CASES[kind], "--chunk-rows", "50", "--quiet"]
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        path = _write_input(_prepared(emu), tmp_path, kind)
        words, said = _stopped_cli_push(emu, [str(path), *flags], monkeypatch, capsys)
        for flag in CLI_CASES[kind]:
            assert flag in words, said
        assert emu.api_key not in said
        assert words[words.index("--base-url") + 1] == emu.url
        # Run from a shell whose CONVERZ_BASE_URL is another tenant (outside trial 14: the
        # hint had no --base-url, so the rest went there).
        monkeypatch.setenv("CONVERZ_BASE_URL", "http://127.0.0.1:9/api/v1")
        assert main(words[1:]) == 0  # the hint, verbatim
        assert "every row of it is applied" in capsys.readouterr().err
        resumed = _held(emu)

    def uninterrupted(client: converz.Client, ids: list[int]) -> None:
        push_file(
            client,
            _write_input(ids, tmp_path / "control", kind),
            schema={"code": "string"} if kind == "csv" else None,
            clear=["note"],
            timezone="Europe/Amsterdam" if kind == "parquet" else None,
            chunk_rows=50,
        )

    (tmp_path / "control").mkdir()
    expected = _control(uninterrupted)
    assert resumed["note"].null_count() == CALLS
    if kind == "csv":
        assert resumed["code"].to_list()[:2] == ["00000", "00001"]
    assert resumed.equals(expected)


def test_a_refused_key_says_to_check_it_not_to_push_again(tmp_path):
    with Emulator(calls=50, reps=5, seed=SEED) as emu:
        ids = emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"]
        path = tmp_path / "in.parquet"
        pl.DataFrame({"call_id": ids, "x": 1}).write_parquet(path)
        wrong = converz.Client(base_url=emu.url, api_key="not-the-key", retries=0, progress=False)
        with pytest.raises(converz.PushError) as from_cli:
            push_file(wrong, path, clear=["x"])
        with pytest.raises(converz.PushError) as from_python:
            wrong.push_updates(pl.DataFrame({"call_id": ids, "x": 1}))
    assert from_cli.value.hint.startswith(
        "the API refused the API key (nothing was applied): check CONVERZ_API_KEY"
    )
    assert "converz push" in from_cli.value.hint and "--clear x" in from_cli.value.hint
    assert from_python.value.hint.startswith("the API refused the API key: check it")
    for err in (from_cli.value, from_python.value):
        assert "not-the-key" not in str(err) + repr(err)


def test_the_resume_command_is_quoted_for_the_shell_and_parses_back():
    from converz._cli import resume_command

    command = resume_command(
        Path("my files/in.remaining.csv"),
        {"code": "string", "when": pl.Datetime("ms")},
        {"to": "calls", "clear": ["note", "a b"], "on_duplicate": "last", "chunk_rows": 100_000},
    )
    words = shlex.split(command)
    assert words[:3] == ["converz", "push", "my files/in.remaining.csv"]
    assert words[-3:] == ["--clear", "note", "a b"]  # last: --clear takes every word after it
    assert words[5:7] == ["--schema", "code:string"]
    assert "--on-duplicate" in words and "--chunk-rows" not in words  # the default is left out
    # A polars type is spelled as the core parses it, which --schema takes back.
    from converz._schema_types import check_schema, parse_schema_text

    when = words[words.index("--schema", 7) + 1]
    assert check_schema(parse_schema_text(when, what="--schema")) == check_schema(
        {"when": pl.Datetime("ms")}
    )


def test_the_resume_command_parses_back_to_the_same_clear_names(monkeypatch):
    """Names that start with `-` (outside trial 14: `--clear -x` was an argparse error)."""
    from converz._cli import resume_command

    names = ["note", "-x", "--y", "a b", "-"]
    command = resume_command(Path("in.remaining.csv"), None, {"clear": names})
    seen: dict[str, object] = {}
    monkeypatch.setattr("converz._cli._push", lambda args: seen.update(clear=args.clear) or 0)
    assert main(shlex.split(command)[1:]) == 0
    assert sorted(seen["clear"]) == sorted(names)


def test_the_python_hint_is_python_for_any_column_name(monkeypatch):
    """Control characters, quotes and backslashes in a ``clear=`` name are spelled as Python
    spells them (outside trial 14: ``'tab\\u{9}here'`` was a SyntaxError)."""
    import ast

    names = ["tab\there", "new\nline", "esc\x1b[2J", "q'uote\\back", "c\x85x", "é\u202e"]
    with Emulator(calls=60, reps=5, seed=SEED) as emu:
        client = emu.client(progress=False, max_concurrency=1)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()
        frame = pl.DataFrame(
            {"call_id": ids, **{n: pl.Series([None] * 60, dtype=pl.String) for n in names}}
        )
        with monkeypatch.context() as patch:
            patch.setattr("converz._client.progress_bar", _stopping_bar(1))
            emu.set_faults(latency=0.05)
            with pytest.raises(KeyboardInterrupt) as info:
                client.push_updates(frame, clear=names, chunk_rows=20)
            emu.set_faults()
    err = info.value.__cause__
    assert isinstance(err, converz.PushError)
    call = re.search(
        r"push_updates\(err\.result\.remaining, clear=(\[.*\]), chunk_rows=20\)", err.hint
    )
    assert call is not None, err.hint
    assert ast.literal_eval(call.group(1)) == names


def test_a_resumed_csv_push_sets_the_empty_strings_of_the_rows_left(tmp_path, monkeypatch, capsys):
    """The rows left are written to ``in.remaining.csv`` with "" quoted (outside session 14:
    written as empty fields, read back as nulls, so the resume left those notes unchanged)."""

    def updates(ids: list[int]) -> pl.DataFrame:
        notes = ["" if i % 2 == 0 else f"n{i}" for i in range(len(ids))]
        return pl.DataFrame({"call_id": ids, "note": notes})

    def write(ids: list[int], folder: Path) -> Path:
        path = folder / "in.csv"
        updates(ids).write_csv(path)  # polars writes "" quoted and a null as an empty field
        return path

    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        path = write(_prepared(emu), tmp_path)
        argv = [str(path), "--chunk-rows", "50", "--quiet"]
        words, _ = _stopped_cli_push(emu, argv, monkeypatch, capsys)
        left = pl.read_csv(tmp_path / "in.remaining.csv")
        assert 0 < left.height < CALLS and "" in left["note"].to_list()
        assert main(words[1:]) == 0  # the hint, verbatim
        resumed = _held(emu)

    (tmp_path / "control").mkdir()
    expected = _control(lambda c, ids: push_file(c, write(ids, tmp_path / "control")))
    assert resumed["note"].to_list().count("") == CALLS // 2
    assert resumed.equals(expected)


@pytest.mark.parametrize("record", ["kept", "deleted", "moved"])
def test_a_resumed_csv_keeps_text_columns_text_without_schema(
    record, tmp_path, monkeypatch, capsys
):
    """A CSV column is text because of rows already applied (``abc``); the rows left are
    ``00002``-like and ``NA``: resumed verbatim, they stay text (outside trial 14: the
    remaining file was inferred afresh, so "00002" was stored as 2 and "NA" left unchanged).
    The hint itself carries their types, so it is enough without the record too: deleted, or
    the file moved to another folder (outside trial 15: "00050" was pushed as 50)."""

    def write(ids: list[int], path: Path) -> Path:
        codes = ["abc" if i < 50 else f"{i:05d}" for i in range(len(ids))]
        tags = ["x" if i < 50 else "NA" for i in range(len(ids))]
        pl.DataFrame({"call_id": ids, "code": codes, "tag": tags}).write_csv(path)
        return path

    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        path = write(_prepared(emu), tmp_path / "in.csv")
        argv = [str(path), "--chunk-rows", "50", "--quiet"]
        words, _ = _stopped_cli_push(emu, argv, monkeypatch, capsys, after_chunks=2)
        assert words[5:9] == ["--schema", "code:string", "--schema", "tag:string"], words
        remaining = tmp_path / "in.remaining.csv"
        record_file = tmp_path / "in.remaining.csv.json"
        assert json.loads(record_file.read_text())["types"] == {
            "code": "string",
            "tag": "string",
        }
        if record == "deleted":
            record_file.unlink()
        elif record == "moved":
            (tmp_path / "elsewhere").mkdir()
            remaining = remaining.rename(tmp_path / "elsewhere" / remaining.name)
            words[2] = str(remaining)
        assert main(words[1:]) == 0  # the hint, verbatim
        # Without its record the file is the user's: kept, saying so.
        assert remaining.exists() == (record != "kept"), capsys.readouterr().err
        got = emu.client(progress=False).calls(metric=["code", "tag"]).to_polars()
    got = got.sort("call_id")
    assert got["code"].to_list()[-1] == f"{CALLS - 1:05d}"
    assert got["tag"].to_list()[-1] == "NA"

    with Emulator(calls=CALLS, reps=5, seed=SEED) as control:
        client = control.client(progress=False)
        push_file(client, write(_prepared(control), tmp_path / "control.csv"), chunk_rows=50)
        expected = client.calls(metric=["code", "tag"]).to_polars().sort("call_id")
    assert got.select("call_id", "code", "tag").equals(expected.select("call_id", "code", "tag"))


def test_rows_left_go_to_a_temporary_folder_when_the_remaining_file_cannot_be_written(
    tmp_path, caplog, monkeypatch, temp_folder
):
    """``NAME.remaining.EXT`` cannot be written (here a folder has its name): the rows left
    still go to a file, named in the error with the counts (outside trial 14: only "could not
    move the finished file" was said, and the rows were nowhere). Once pushed, the file goes,
    and its temporary folder with it (outside trial 23d: the empty folders were left)."""
    with Emulator(calls=40, reps=5, seed=SEED) as emu:
        client = emu.client(progress=False, retries=0)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()
        path = tmp_path / "in.csv"
        pl.DataFrame({"call_id": ids, "v": list(range(40))}).write_csv(path)
        (tmp_path / "in.remaining.csv").mkdir()
        emu.set_faults(error_rate=1.0)
        with pytest.raises(converz.PushError) as info:
            push_file(client, path, chunk_rows=10)
        emu.set_faults()
        err = info.value
        assert err.result.remaining.num_rows == 40
        written = re.search(r"the 40 rows not applied are in (\S+remaining\.csv)", err.message)
        assert written is not None, err.message
        fallback = Path(written.group(1))
        assert fallback.parent.parent == temp_folder and fallback.is_file()
        assert any("could not write" in r.getMessage() for r in caplog.records)
        words = shlex.split(re.search(r"(converz push .*?) \(in Python: ", err.hint).group(1))
        assert words[2] == str(fallback)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        assert main(words[1:]) == 0  # the hint, verbatim, pushes the rows left
        got = emu.client(progress=False).calls(metric=["v"]).to_polars().sort("call_id")
    assert got["v"].to_list() == list(range(40))
    assert not fallback.parent.exists() and list(temp_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "where", "other_file"),
    [
        ("converz-remaining-abc", "temp", False),  # converz's, empty: goes
        ("converz-remaining-abc", "temp", True),  # something else in it: kept
        ("converz-remaining-abc", "elsewhere", False),  # not in the temporary directory
        ("my-files", "temp", False),  # not converz's
    ],
)
def test_only_an_empty_temporary_folder_of_converz_goes_with_its_file(
    tmp_path, temp_folder, name, where, other_file
):
    from converz._cli import _remove
    from converz._remaining import record, record_path

    folder = (temp_folder if where == "temp" else tmp_path) / name
    folder.mkdir()
    remaining = folder / "in.remaining.csv"
    remaining.write_text("call_id\n1\n")
    record(remaining, "calls", None, {}, source=None, rows=1)
    if other_file:
        (folder / "notes.txt").write_text("mine")
    _remove(remaining, str(remaining), None)
    assert not remaining.exists() and not record_path(remaining).exists()
    goes = name.startswith("converz-remaining-") and where == "temp" and not other_file
    assert folder.exists() != goes


def test_a_stop_after_the_last_chunk_says_nothing_is_left(monkeypatch):
    """Outside trial 21: a Ctrl-C landing as the last chunk was answered gave the hint "push
    the rest: push_updates(err.result.remaining, ...)", and `remaining` is None then, so the
    hinted call failed. Trial 66 F5: a resume loop pushing `err.result.remaining` then failed
    ("cannot push a NoneType"): it is a table without rows, and pushing it sends nothing."""
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"]
        chunks = -(-len(ids) // 200)
        frame = pl.DataFrame({"call_id": ids, "g": 1})
        with monkeypatch.context() as patch:
            patch.setattr("converz._client.progress_bar", _stopping_bar(chunks))
            with pytest.raises(KeyboardInterrupt) as stop:
                client.push_updates(frame, chunk_rows=200)
        err = stop.value.__cause__
        assert isinstance(err, converz.PushError)
        left = err.result.remaining
        assert left is not None and left.num_rows == 0
        assert left.column_names == ["call_id", "g"]
        # Pickled too (a table without batches has its schema still).
        assert pickle.loads(pickle.dumps(err.result)).remaining.column_names == ["call_id", "g"]
        assert [c.status for c in err.result.chunks] == ["applied"] * chunks
        before = emu.wire_stats()["responses"]
        assert client.push_updates(left, chunk_rows=200).rows == 0
        assert emu.wire_stats()["responses"] == before
        assert "nothing is left to push" in err.hint and "push_updates(" not in err.hint
        assert "err.result" not in err.hint  # the CLI shows it too (outside trial 21c)
        assert client.calls(columns=["call_id", "g"]).to_polars()["g"].to_list() == [1] * len(ids)


def test_a_resumed_push_stopped_after_its_last_chunk_removes_the_remaining_file(
    tmp_path, monkeypatch, capsys
):
    """Outside trial 21c: a resume of NAME.remaining.csv stopped by Ctrl-C after every chunk
    was applied said "nothing is left to push" and kept the remaining file and its record."""
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        ids = _prepared(emu)
        path = tmp_path / "in.csv"
        pl.DataFrame({"call_id": ids, "code": [f"c{i}" for i in range(len(ids))]}).write_csv(path)
        words, _ = _stopped_cli_push(
            emu, [str(path), "--chunk-rows", "100", "-q"], monkeypatch, capsys, after_chunks=2
        )
        remaining = tmp_path / "in.remaining.csv"
        left = pl.read_csv(remaining).height
        chunks = -(-left // 100)
        with monkeypatch.context() as patch:
            patch.setattr("converz._client.progress_bar", _stopping_bar(chunks))
            assert main(words[1:]) == 130
        assert "nothing is left to push" in capsys.readouterr().err
        assert not remaining.exists() and not (tmp_path / "in.remaining.csv.json").exists()
        got = emu.client(progress=False).calls(metric=["code"]).to_polars().sort("call_id")
        assert got["code"].to_list() == [f"c{i}" for i in range(len(ids))]


@settings(max_examples=8, deadline=None, database=None, derandomize=True)
@given(
    chunk_rows=st.sampled_from([23, 97, 600]),
    concurrency=st.integers(1, 6),
    error_rate=st.sampled_from([0.2, 0.4]),
)
def test_no_row_is_cleared_while_its_values_are_not_applied(chunk_rows, concurrency, error_rate):
    """Outside trial 66 F4: clears went out beside the values, so a row could be cleared while
    its new values were refused. Under failing requests (each push with retries=1), after every
    failed push no row is cleared without its values, and resuming from ``remaining`` until a
    push succeeds leaves exactly what one push without faults does."""
    options = {"clear": ["note"], "chunk_rows": chunk_rows}
    with Emulator(calls=CALLS, reps=5, seed=SEED) as emu:
        ids = _prepared(emu)
        updates = _updates(ids)
        code_of = dict(zip(ids, updates["code"]))
        client = emu.client(progress=False, retries=1, backoff=0.001, max_concurrency=concurrency)
        emu.set_faults(error_rate=error_rate)
        data: Any = updates
        for _ in range(200):
            try:
                client.push_updates(data, **options)
                break
            except converz.PushError as err:
                emu.set_faults()
                held = _held(emu)
                emu.set_faults(error_rate=error_rate)
                cleared = held.filter(pl.col("note").is_null())
                wrong = [k for k, c in cleared.select("call_id", "code").rows() if c != code_of[k]]
                assert not wrong, f"cleared without their values: {wrong[:5]}"
                data = err.result.remaining
        else:
            pytest.fail("200 pushes did not finish")
        emu.set_faults()
        resumed = _held(emu)
    expected = _control(lambda c, ids: c.push_updates(_updates(ids), **options))
    assert resumed.equals(expected)
