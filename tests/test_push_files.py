"""`converz push FILE`: the types a user gives (`--schema`) never change a value, times with a
UTC offset keep their instant, and a file that is not of its format is refused alike in every
format, before any request (each found by the outside trial)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from converz.__main__ import main
from converz.testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=300, reps=5, seed=8) as emu:
        yield emu


@pytest.fixture
def ids(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    calls = emu.client(progress=False).calls(columns=["call_id"]).to_polars()
    return calls["call_id"].sort().head(3).to_list()


def held(emu: Emulator, ids: list[int], column: str, *, builtin: bool = False) -> list:
    """What the emulator holds in `column` (an attribute a push set, or a `builtin` one) for
    `ids`, in order."""
    client = emu.client(progress=False)
    if builtin:
        got = client.calls(columns=["call_id", column]).to_polars()
    else:
        got = client.calls(metric=[column]).to_polars()
    return got.filter(pl.col("call_id").is_in(ids)).sort("call_id")[column].to_list()


def refused(emu: Emulator, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line error of a command refused before any request."""
    before = emu.wire_stats()["responses"]
    assert main([*argv, "-q"]) == 1
    err = capsys.readouterr().err
    assert emu.wire_stats()["responses"] == before, err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("name", "text", "flag", "words"),
    [
        # arrow-csv kept 10:30:15 of 10:30:15.123456.
        (
            "at.csv",
            "call_id,at\n{0},2026-01-05T10:30:15\n{1},2026-01-05T10:30:15.123456\n",
            "at:timestamp[s]",
            ['"2026-01-05T10:30:15.123456"', "fraction of a second", '"timestamp[ns]"'],
        ),
        # arrow-json kept 1 of 1.5.
        (
            "n.ndjson",
            '{{"call_id": {0}, "n": 2}}\n{{"call_id": {1}, "n": 1.5}}\n',
            "n:int64",
            ["1.5", "its fraction", '"float64"'],
        ),
        (
            "n.csv",
            "call_id,n\n{0},2\n{1},1.5\n",
            "n:int64",
            ["1.5", "its fraction", '"float64"'],
        ),
        # A float column held infinity.
        (
            "f.csv",
            "call_id,f\n{0},1\n{1},-1e400\n",
            "f:float64",
            ["-1e400", "its magnitude", '"string"'],
        ),
        # A float column rounded a whole number past 2^53 (outside trial 14).
        (
            "w.csv",
            "call_id,w\n{0},1.5\n{1},9007199254740993\n",
            "w:float64",
            ["9007199254740993", "its last digits", '"int64"'],
        ),
        (
            "w.ndjson",
            '{{"call_id": {0}, "w": 2.5}}\n{{"call_id": {1}, "w": 9007199254740993}}\n',
            "w:float64",
            ["9007199254740993", "its last digits", '"int64"'],
        ),
        # A date column kept the day of a time.
        (
            "d.ndjson",
            '{{"call_id": {0}, "d": "2026-01-05"}}\n'
            '\n{{"call_id": {1}, "d": "2026-01-05 10:00:00"}}\n',
            "d:date32",
            ['"2026-01-05 10:00:00"', "time of day", '"timestamp"'],
        ),
    ],
)
def test_a_type_that_would_change_a_value_is_refused_naming_it(
    emu, ids, tmp_path, capsys, name, text, flag, words
):
    path = tmp_path / name
    path.write_text(text.format(*ids))
    column = flag.split(":")[0]
    err = refused(emu, ["push", str(path), "--schema", flag], capsys)
    assert "InvalidParameterError" in err and f'schema["{column}"]' in err, err
    # The second row's line: after the header (CSV), after a blank line (the NDJSON date file).
    line = 3 if name.endswith(".csv") or name.startswith("d.") else 2
    assert f"line {line} of {path}" in err, err
    for word in words:
        assert word in err, err


def test_a_type_that_holds_every_value_pushes_them_exactly(emu, ids, tmp_path):
    path = tmp_path / "exact.csv"
    path.write_text(
        "call_id,exact_at,exact_n\n"
        f"{ids[0]},2026-01-05T10:30:15,2\n{ids[1]},2026-01-05T10:30:15.123456,1.5\n"
    )
    argv = ["push", str(path), "-q", "--schema", "exact_at:timestamp[us],exact_n:float64"]
    assert main(argv) == 0
    assert held(emu, ids[:2], "exact_at") == [
        dt.datetime(2026, 1, 5, 10, 30, 15),
        dt.datetime(2026, 1, 5, 10, 30, 15, 123456),
    ]
    assert held(emu, ids[:2], "exact_n") == [2.0, 1.5]


def test_ndjson_numbers_in_a_text_column_are_pushed_as_written(emu, ids, tmp_path):
    """`--schema code:string` refused `{"code": 123}`; the number's text is kept as written."""
    path = tmp_path / "codes.ndjson"
    codes = ["123", "1.50", "-0.0e3"]
    path.write_text("".join(f'{{"call_id": {i}, "code": {c}}}\n' for i, c in zip(ids, codes)))
    assert main(["push", str(path), "-q", "--schema", "code:string"]) == 0
    assert held(emu, ids, "code") == codes


def test_csv_times_with_an_offset_are_pushed_as_the_instants_they_name(emu, ids, tmp_path):
    """Read as naive UTC wall clock, `10:00+02:00` was pushed as 08:00 of the tenant's clock
    whatever --timezone said. The emulator must hold what a zone-aware frame pushes."""
    zone = "America/New_York"
    times = ["2026-01-05T10:00:00+02:00", "2026-01-05T08:00:00Z", "2026-07-01 23:30:00.5-05:30"]
    path = tmp_path / "times.csv"
    path.write_text("call_id,seen_at\n" + "".join(f"{i},{t}\n" for i, t in zip(ids, times)))
    assert main(["push", str(path), "-q", "--timezone", zone]) == 0
    instants = [dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times]
    frame = pl.DataFrame({"call_id": ids, "framed_at": instants})
    assert frame.schema["framed_at"].time_zone == "UTC"  # type: ignore[attr-defined]
    emu.client(progress=False).push_updates(frame, timezone=zone)
    wall = held(emu, ids, "seen_at")
    assert wall == held(emu, ids, "framed_at")
    assert wall[0] == dt.datetime(2026, 1, 5, 3, 0)  # 08:00 UTC in New York

    # The same under a --schema timestamp type, and in NDJSON.
    ndjson = tmp_path / "times.ndjson"
    ndjson.write_text(
        "".join(f'{{"call_id": {i}, "typed_at": "{t}"}}\n' for i, t in zip(ids, times))
    )
    argv = ["push", str(ndjson), "-q", "--timezone", zone, "--schema", "typed_at:timestamp[ms]"]
    assert main(argv) == 0
    assert held(emu, ids, "typed_at") == wall


def test_times_with_and_without_an_offset_in_one_column_are_refused(emu, ids, tmp_path, capsys):
    path = tmp_path / "mixed.csv"
    path.write_text(f"call_id,at\n{ids[0]},2026-01-05T10:00:00Z\n{ids[1]},2026-01-05T10:00:00\n")
    err = refused(emu, ["push", str(path)], capsys)
    assert "InvalidParameterError" in err and "column `at`" in err, err
    assert "(line 2: 2026-01-05T10:00:00Z)" in err and "(line 3: 2026-01-05T10:00:00)" in err


def corrupt(path: Path) -> None:
    """A file of `path`'s format cut short (or, for CSV, a row longer than its header)."""
    frame = pl.DataFrame({"call_id": [1, 2, 3], "qa_score": [0.5, 1.0, 1.5]})
    suffix = path.suffix
    if suffix == ".csv":
        path.write_text("call_id,qa_score\n1,0.5\n2,1.0,7\n")
        return
    if suffix == ".parquet":
        frame.write_parquet(path)
    elif suffix == ".arrow":
        frame.write_ipc(path)
    else:
        frame.write_ndjson(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 12])


@pytest.mark.parametrize(
    ("ext", "kind"),
    [("parquet", "Parquet"), ("arrow", "Arrow IPC"), ("csv", "CSV"), ("ndjson", "NDJSON")],
)
def test_a_corrupt_file_is_refused_alike_in_every_format(emu, ids, tmp_path, capsys, ext, kind):
    """Corrupt Parquet raised ConverzError "writing PATH", the other formats DecodeError (an
    answer of the API): each is bad input to the push, refused before any request."""
    path = tmp_path / f"scores.{ext}"
    corrupt(path)
    err = refused(emu, ["push", str(path)], capsys)
    assert f"InvalidParameterError: invalid parameter `path`: cannot read {path} as {kind}: " in err
    assert "writing" not in err and "nothing was sent" in err, err


@pytest.mark.parametrize(
    ("encoding", "says"),
    [("latin-1", "not UTF-8"), ("utf-16", "UTF-16 text"), ("cp1252", "not UTF-8")],
)
def test_a_csv_not_in_utf8_is_named_with_how_to_save_it(emu, ids, tmp_path, capsys, encoding, says):
    """Excel's "CSV" (Windows-1252) and "Unicode Text" files got arrow's bare UTF-8 error
    (outside trial 14)."""
    path = tmp_path / "excel.csv"
    path.write_bytes(f"call_id,name\n{ids[0]},café €\n".encode(encoding, errors="replace"))
    err = refused(emu, ["push", str(path)], capsys)
    assert "InvalidParameterError" in err and says in err and "CSV UTF-8" in err, err


def test_a_feather_v1_file_is_named_as_such(emu, ids, tmp_path, capsys):
    """arrow says only "does not contain correct footer" (outside trial)."""
    path = tmp_path / "old.feather"
    path.write_bytes(b"FEA1" + bytes(64))
    err = refused(emu, ["push", str(path)], capsys)
    assert "Feather V1 file" in err and "write_feather" in err, err


def test_ndjson_integers_beyond_int64_are_pushed_as_written(emu, ids, tmp_path):
    """arrow-json read the column as Float64: 12345678901234567891 arrived as
    1.2345678901234567e19. A column of integers is read as text, as CSV reads it."""
    path = tmp_path / "big.ndjson"
    values = ["12345678901234567891", "1", "-7"]
    path.write_text("".join(f'{{"call_id": {i}, "big_nd": {v}}}\n' for i, v in zip(ids, values)))
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "big_nd") == values


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "mixed.ndjson",
            '{{"call_id": {0}, "m": 1.5}}\n{{"call_id": {1}, "m": 9007199254740993}}\n',
        ),
        ("mixed.csv", "call_id,m\n{0},1.5\n{1},9007199254740993\n"),
    ],
)
def test_an_integer_a_float_column_would_round_is_refused(emu, ids, tmp_path, capsys, name, text):
    """A column of fractions and 2^53 + 1 was pushed as Float64, 9007199254740992."""
    path = tmp_path / name
    path.write_text(text.format(*ids))
    err = refused(emu, ["push", str(path)], capsys)
    line = 3 if name.endswith(".csv") else 2
    assert "InvalidParameterError" in err and f"line {line} of {path}" in err, err
    assert "9007199254740993" in err and "--schema m:string" in err, err


def test_a_csv_empty_string_is_pushed_and_an_empty_field_leaves_the_value(emu, ids, tmp_path):
    """polars writes "" for an empty string and nothing for a null; both were read as null
    (leave unchanged), so the empty string was never set."""
    before = tmp_path / "before.csv"
    before.write_text("call_id,es\n" + "".join(f"{i},old\n" for i in ids))
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "es.csv"
    pl.DataFrame({"call_id": ids, "es": ["", None, 'a ""q"" ,']}).write_csv(path)
    assert '""' in path.read_text()
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "es") == ["", "old", 'a ""q"" ,']


@pytest.mark.parametrize(
    ("ext", "codes"), [("csv", ["00123", "7", "0.50"]), ("ndjson", ["123", "7", "0.50"])]
)
def test_documented_text_columns_are_pushed_as_written(emu, ids, tmp_path, ext, codes):
    """A CSV `00123` in vendor_call_id was read as the integer 123 (rep ids `007` as 7), an
    NDJSON number as a number: the API documents the column as text."""
    path = tmp_path / f"vendor.{ext}"
    if ext == "csv":
        rows = "".join(f"{i},{c}\n" for i, c in zip(ids, codes))
        path.write_text("call_id,vendor_call_id\n" + rows)
    else:
        path.write_text(
            "".join(f'{{"call_id": {i}, "vendor_call_id": {c}}}\n' for i, c in zip(ids, codes))
        )
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "vendor_call_id", builtin=True) == codes


def test_csv_words_for_a_missing_number_leave_the_value_and_keep_the_column_numeric(
    emu, ids, tmp_path
):
    """R writes NA, pandas NaN or null: the column became text ("1.5" pushed as a string)."""
    path = tmp_path / "na.csv"
    path.write_text(f"call_id,na_f,na_t\n{ids[0]},NA,NA\n{ids[1]},1.5,x\n{ids[2]},NaN,null\n")
    before = tmp_path / "before.csv"
    before.write_text(f"call_id,na_f\n{ids[0]},2.5\n{ids[2]},3\n")
    assert main(["push", str(before), "-q"]) == 0
    assert main(["push", str(path), "-q"]) == 0
    # Each word leaves the value unchanged; 1.5 is a number.
    assert held(emu, ids, "na_f") == [2.5, 1.5, 3.0]
    # A column with other text keeps its words as text.
    assert held(emu, ids, "na_t") == ["NA", "x", "null"]


def test_csv_nan_as_the_only_word_leaves_the_value(emu, ids, tmp_path):
    """`NaN` alone beside numbers makes arrow-csv's column Float64 with float NaNs, which a push
    refuses (outside trial 14: refused with a DataFrame hint, where the README says NaN is read
    as a missing number)."""
    before = tmp_path / "before.csv"
    before.write_text(f"call_id,nan_f\n{ids[0]},2.5\n{ids[1]},4\n{ids[2]},3\n")
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "nan.csv"
    path.write_text(f"call_id,nan_f\n{ids[0]},NaN\n{ids[1]},1.5\n{ids[2]},nan\n")
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "nan_f") == [2.5, 1.5, 3.0]


def test_csv_words_for_a_missing_boolean_date_or_time_leave_the_value_and_keep_the_type(
    emu, ids, tmp_path
):
    """`true,NA` and `2026-01-05,NA` were read as text: "true" and "2026-01-05" were pushed
    as strings. Each word leaves the value unchanged; times with an offset keep their instant."""
    zone = "America/New_York"
    before = tmp_path / "before.csv"
    old = "true,2026-01-01,2026-01-01 00:00:00,2026-01-01 00:00:00"
    before.write_text("call_id,na_b,na_d,na_at,na_z\n" + "".join(f"{i},{old}\n" for i in ids))
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "na.csv"
    path.write_text(
        "call_id,na_b,na_d,na_at,na_z\n"
        f"{ids[0]},True,2026-01-05,2026-01-05 10:00:00.25,2026-01-05T10:00:00+02:00\n"
        f"{ids[1]},NA,null,N/A,NA\n"
        f"{ids[2]},false,2026-02-28,2026-01-06T11:30:00,2026-01-05T08:00:00Z\n"
    )
    assert main(["push", str(path), "-q", "--timezone", zone]) == 0
    assert held(emu, ids, "na_b") == [True, True, False]
    assert held(emu, ids, "na_d") == [
        dt.date(2026, 1, 5),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 28),
    ]
    assert held(emu, ids, "na_at") == [
        dt.datetime(2026, 1, 5, 10, 0, 0, 250000),
        dt.datetime(2026, 1, 1),
        dt.datetime(2026, 1, 6, 11, 30),
    ]
    # 08:00 UTC in New York, and the value left as it was.
    three = dt.datetime(2026, 1, 5, 3, 0)
    assert held(emu, ids, "na_z") == [three, dt.datetime(2026, 1, 1), three]


def test_csv_booleans_or_dates_with_other_text_stay_text(emu, ids, tmp_path):
    """A column with any other text keeps every value as written, words and all."""
    path = tmp_path / "text.csv"
    path.write_text(
        "call_id,tx_b,tx_d\n"
        f"{ids[0]},true,2026-01-05\n{ids[1]},NA,NA\n{ids[2]},yes,2026-01-05 soon\n"
    )
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "tx_b") == ["true", "NA", "yes"]
    assert held(emu, ids, "tx_d") == ["2026-01-05", "NA", "2026-01-05 soon"]


def test_a_csv_of_another_separator_is_refused_naming_its_one_column(emu, ids, tmp_path, capsys):
    """It was "the data has neither a call_id nor a rep_id column"."""
    path = tmp_path / "semi.csv"
    path.write_text("call_id;s\n1000;2\n")
    err = refused(emu, ["push", str(path)], capsys)
    assert 'one column named "call_id;s"' in err and "separated by ';'" in err, err


def test_an_ndjson_column_of_numbers_and_text_is_refused_naming_lines(emu, ids, tmp_path, capsys):
    """It was read as text ("1" pushed for 1) or, before, refused as "not NDJSON"."""
    path = tmp_path / "nj.ndjson"
    path.write_text(f'{{"call_id": {ids[0]}, "nj": 1}}\n{{"call_id": {ids[1]}, "nj": "x"}}\n')
    err = refused(emu, ["push", str(path)], capsys)
    assert '(line 2: "x")' in err and "(line 1: 1)" in err, err
    assert "--schema nj:string" in err, err
    assert main(["push", str(path), "-q", "--schema", "nj:string"]) == 0
    assert held(emu, ids[:2], "nj") == ["1", "x"]
