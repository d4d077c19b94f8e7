"""Outside trial 18, the command line, queries and arguments: an empty fetch's file has the
documented columns (F5); a bare date is refused as a time bound (F15) and an ``after=`` that
rounds past year 9999 when the query is built (F3); a misspelt keyword of a push or the client
is a converz error (F14); ``--schema`` keeps a type's own commas (F18); the CLI names its flags
and the keys a ``--strict`` push did not find (F13)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

import converz
from converz.__main__ import main
from converz._cli import fetch_to_file
from converz._schema_types import parse_schema_text
from converz.testing import Emulator

DEAD = "http://127.0.0.1:9/api/v1"  # nothing listens: any request would fail loudly


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=60, reps=4, seed=18) as emu:
        yield emu


@pytest.fixture
def env(emu, monkeypatch):
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    return emu


def read(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path)
    return pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_ipc(path)


# --- F5: an empty fetch into a file ---------------------------------------------------------

EMPTY = [
    ("calls", {"start_date": "2030-01-01"}),
    ("calls", {"start_date": "2030-01-01", "schema": {"duration": "float64"}}),
    ("calls", {"start_date": "2030-01-01", "columns": ["call_id", "sentiment"]}),
    ("reps", {"department": "nosuch"}),
    ("report", {"start_date": "2030-01-01", "end_date": "2030-01-31", "groupby": "date"}),
]


@pytest.mark.parametrize(("resource", "query"), EMPTY)
@pytest.mark.parametrize("ext", ["parquet", "arrow", "csv"])
def test_an_empty_fetch_writes_the_columns_client_calls_returns(
    emu, tmp_path, resource, query, ext
):
    client = emu.client(progress=False)
    eager = getattr(client, resource)(**query).to_polars()
    assert eager.height == 0 and eager.width > 1
    path = tmp_path / f"empty.{ext}"
    assert fetch_to_file(client, resource, path, **query) == 0
    if ext == "csv":
        # The header line: read back, the same names (CSV holds no types).
        assert path.read_text().splitlines() == [",".join(eager.columns)]
        assert read(path).columns == eager.columns
    else:
        assert read(path).schema == eager.schema


def test_an_empty_fetch_on_the_command_line_writes_the_header(env, tmp_path, capsys):
    out = tmp_path / "e.csv"
    assert main(["fetch", "calls", "--start-date", "2030-01-01", "-q", "-o", str(out)]) == 0
    header = out.read_text()
    assert header.startswith("call_id,") and header.count("\n") == 1, header
    # To stdout too: the header alone, as the file has it.
    assert main(["fetch", "calls", "--start-date", "2030-01-01", "-q", "-o", "-"]) == 0
    assert capsys.readouterr().out == header
    nd = tmp_path / "e.ndjson"
    assert main(["fetch", "reps", "--department", "nosuch", "-q", "-o", str(nd)]) == 0
    assert nd.read_bytes() == b""


# --- F15 and F3: time bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "whole_days", "spelled"),
    [
        ("before", "2025-09-30", "end_date='2025-09-30'", "before='2025-09-30 23:59:59'"),
        ("before", dt.date(2025, 9, 30), "end_date='2025-09-30'", "23:59:59"),
        ("after", "2025-09-29", "start_date='2025-09-29'", "after='2025-09-29 00:00:00'"),
    ],
)
def test_a_date_without_a_time_is_refused_as_a_time_bound(name, value, whole_days, spelled):
    with pytest.raises(converz.InvalidParameterError) as caught:
        converz.CallsQuery(**{name: value})
    assert caught.value.parameter == name
    assert whole_days in str(caught.value) and spelled in str(caught.value), caught.value
    # The same day with its time spelled out is a time bound as before.
    converz.CallsQuery(**{name: dt.datetime(2025, 9, 30)})
    converz.CallsQuery(**{name: "2025-09-30 00:00"})


def test_a_bare_date_on_the_command_line_names_the_flags(env, tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["fetch", "calls", "--before", "2025-09-30", "-q", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "invalid parameter `--before`" in err and "--end-date 2025-09-30" in err, err
    assert "end_date=" not in err and not out.exists(), err


def test_an_after_rounding_past_year_9999_is_refused_when_built():
    with pytest.raises(converz.InvalidParameterError) as caught:
        converz.CallsQuery(after="9999-12-31 23:59:59.5")
    assert caught.value.parameter == "after"
    assert "9999-12-31 23:59:59" in str(caught.value) and "+10000" not in str(caught.value)
    converz.CallsQuery(after="9999-12-31 23:59:59", before="9999-12-31 23:59:59.5")


# --- F14: keywords of a push and of the client ----------------------------------------------


@pytest.mark.parametrize(
    ("call", "parameter", "said"),
    [
        (lambda c, df: c.push_updates(df, cleer=["v"]), "cleer", "did you mean clear=?"),
        (lambda c, df: c.push_updates(df, "reps"), "df", "by position"),
        (lambda c, df: c.push_updates(), "df", "missing its argument df"),
        (lambda c, df: c.push_file("x.csv", shema={"v": "int64"}), "shema", "schema="),
        (
            lambda c, df: converz.Client(api_key="k", base_url=DEAD, max_concurency=2),
            "max_concurency",
            "did you mean max_concurrency=?",
        ),
        (lambda c, df: converz.Client("k"), "api_key", "keyword"),
    ],
)
def test_a_wrong_keyword_is_a_converz_error_naming_it(call, parameter, said):
    client = converz.Client(api_key="k", base_url=DEAD, retries=0)
    frame = pl.DataFrame({"call_id": [1], "v": [1]})
    with pytest.raises(converz.InvalidParameterTypeError) as caught:
        call(client, frame)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, converz.ConverzError)
    assert caught.value.parameter == parameter and said in str(caught.value), caught.value


def test_the_checked_methods_keep_their_signature_and_docs():
    import inspect

    assert "df" in inspect.signature(converz.Client.push_updates).parameters
    assert converz.Client.push_file.__doc__.startswith("Push the rows of a file")


# --- F18: --schema and a type's own commas --------------------------------------------------


def test_schema_text_splits_only_at_commas_between_pairs():
    text = "start_time:Datetime(time_unit='ms', time_zone=None), code:string"
    assert parse_schema_text(text) == {
        "start_time": "Datetime(time_unit='ms', time_zone=None)",
        "code": "string",
    }
    assert parse_schema_text("a:Timestamp(Millisecond, None),b:int64") == {
        "a": "Timestamp(Millisecond, None)",
        "b": "int64",
    }
    with pytest.raises(converz.InvalidParameterError, match="name:type"):
        parse_schema_text("a:int64,b")


def test_a_documented_spelling_with_a_comma_is_taken_by_the_flag(env, tmp_path, capsys):
    out = tmp_path / "c.parquet"
    argv = ["fetch", "calls", "-q", "-o", str(out), "--columns", "call_id,start_time"]
    assert main([*argv, "--schema", "start_time:Timestamp(Millisecond, None)"]) == 0, (
        capsys.readouterr().err
    )
    assert read(out).schema["start_time"] == pl.Datetime("ms")


# --- F13: the command line's words ----------------------------------------------------------


def test_sync_refusals_name_the_flags_and_say_what_full_refresh_does(env, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    assert main(["sync", "calls", str(folder), "--start-date", "2025-09-01"]) == 1
    err = capsys.readouterr().err
    assert "--full-refresh" in err and "full_refresh=" not in err, err
    assert "kept" in err and "replace it" not in err, err
    assert main(["sync", "calls", str(folder), "--full-refresh", "--start-date", "2025-09-01"]) == 0
    assert (folder / "notes.txt").read_text() == "keep me"  # as the hint says
    capsys.readouterr()
    assert main(["sync", "calls", str(tmp_path / "new"), "--overlap-days", "-1"]) == 1
    err = capsys.readouterr().err
    assert "invalid parameter `--overlap-days`: must be between 0 and 36500, got -1" in err, err


def test_a_strict_push_lists_the_keys_not_found(env, tmp_path, capsys):
    client = env.client(progress=False)
    known = client.calls(columns=["call_id"]).to_polars()["call_id"][0]
    path = tmp_path / "s.csv"
    path.write_text(f"call_id,stv\n{known},1\n999999999,2\n999999998,3\n")
    assert main(["push", str(path), "--strict", "-q"]) == 1
    err = capsys.readouterr().err
    assert "converz: 2 keys not found:\n" in err, err
    listed = err.split("2 keys not found:\n", 1)[1].splitlines()[:2]
    assert sorted(line.strip() for line in listed) == ["999999998", "999999999"], err
    assert all(line.startswith("  ") for line in listed), err
    assert "err.result" not in err and "strict=True" not in err and "--strict" in err, err
