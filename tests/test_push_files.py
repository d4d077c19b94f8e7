"""`converz push FILE`: the types a user gives (`--schema`) never change a value, times with a
UTC offset keep their instant, and a file that is not of its format is refused alike in every
format, before any request (each found by the outside trial)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

import converz
from converz.__main__ import main
from converz.testing import Emulator

# The tenant of the `emu` and `ids` fixtures (tests/conftest.py).
EMULATOR = {"calls": 300, "reps": 5, "seed": 8}


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
    # The type to use, as the command line says it (tests/test_cli_words.py).
    [
        # arrow-csv kept 10:30:15 of 10:30:15.123456.
        (
            "at.csv",
            "call_id,at\n{0},2026-01-05T10:30:15\n{1},2026-01-05T10:30:15.123456\n",
            "at:timestamp[s]",
            ['"2026-01-05T10:30:15.123456"', "fraction of a second", "--schema 'at:timestamp[ns]'"],
        ),
        # arrow-json kept 1 of 1.5.
        (
            "n.ndjson",
            '{{"call_id": {0}, "n": 2}}\n{{"call_id": {1}, "n": 1.5}}\n',
            "n:int64",
            ["1.5", "its fraction", "--schema n:float64"],
        ),
        (
            "n.csv",
            "call_id,n\n{0},2\n{1},1.5\n",
            "n:int64",
            ["1.5", "its fraction", "--schema n:float64"],
        ),
        # A float column held infinity.
        (
            "f.csv",
            "call_id,f\n{0},1\n{1},-1e400\n",
            "f:float64",
            ["-1e400", "its magnitude", "--schema f:string"],
        ),
        # A float column rounded a whole number past 2^53 (outside trial 14).
        (
            "w.csv",
            "call_id,w\n{0},1.5\n{1},9007199254740993\n",
            "w:float64",
            ["9007199254740993", "its last digits", "--schema w:int64"],
        ),
        (
            "w.ndjson",
            '{{"call_id": {0}, "w": 2.5}}\n{{"call_id": {1}, "w": 9007199254740993}}\n',
            "w:float64",
            ["9007199254740993", "its last digits", "--schema w:int64"],
        ),
        # Text read into a float column was rounded (outside trial 15; CSV refused it).
        (
            "t.ndjson",
            '{{"call_id": {0}, "t": 2.5}}\n{{"call_id": {1}, "t": "9007199254740993"}}\n',
            "t:float64",
            [
                '"9007199254740993"',
                "its last digits",
                "held as 9007199254740992",
                "--schema t:int64",
            ],
        ),
        # Past 20 digits a whole number was rounded (outside trial 15).
        (
            "l.csv",
            "call_id,l\n{0},1.5\n{1},123456789012345678901\n",
            "l:float64",
            ["123456789012345678901", "held as 123456789012345683968", "--schema l:string"],
        ),
        # A date column kept the day of a time.
        (
            "d.ndjson",
            '{{"call_id": {0}, "d": "2026-01-05"}}\n'
            '\n{{"call_id": {1}, "d": "2026-01-05 10:00:00"}}\n',
            "d:date32",
            ['"2026-01-05 10:00:00"', "time of day", "--schema d:timestamp"],
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
    assert "InvalidParameterError" in err and f"invalid column `{column}`" in err, err
    # The second row's line: after the header (CSV), after a blank line (the NDJSON date file).
    line = 3 if name.endswith(".csv") or name.startswith("d.") else 2
    assert f"line {line} of {path}" in err, err
    for word in words:
        assert word in err, err


def test_text_fetched_into_a_float_type_is_refused_if_the_float_would_change_it(emu, ids):
    """A custom column pushed as text, fetched with `schema=` float64/float32: the text of a
    whole number the float would hold as another was read rounded, without a word (outside
    trial 15); it is refused as the same number sent as a JSON number is."""
    client = emu.client(progress=False)
    for forced, value, words in [
        ("float64", "9007199254740993", ["its last digits", "held as 9007199254740992"]),
        ("float32", "16777217", ["its last digits", "held as 16777216"]),
        ("float64", "123456789012345678901", ["held as 123456789012345683968"]),
        ("float64", "1e400", ["its magnitude", "infinity"]),
    ]:
        pushed = client.push_updates(pl.DataFrame({"call_id": ids[:1], "ftext": [value]}))
        assert pushed.updated == 1, pushed
        with pytest.raises(converz.DecodeError) as caught:
            client.calls(metric=["ftext"], schema={"ftext": forced})
        err = str(caught.value)
        assert f'"{value}"' in err, err
        for word in words:
            assert word in err, err
    client.push_updates(pl.DataFrame({"call_id": ids, "ftext": ["1.5", "-0.25", "NaN"]}))
    got = client.calls(metric=["ftext"], schema={"ftext": "float64"}).to_polars()
    values = got.filter(pl.col("call_id").is_in(ids)).sort("call_id")["ftext"].to_list()
    assert values[:2] == [1.5, -0.25] and values[2] != values[2]  # NaN text is NaN


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
    # Times a push would spell otherwise (`.25` as `.250`, the `T`) are sent as written
    # (outside trial 18, F6): the fetch keeps such a column as the text sent.
    assert held(emu, ids, "na_at") == [
        "2026-01-05 10:00:00.25",
        "2026-01-01 00:00:00",
        "2026-01-06T11:30:00",
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


@pytest.mark.parametrize("bom_crlf", [False, True])
def test_a_semicolon_csv_with_decimal_commas_is_refused_naming_the_separator(
    emu, ids, tmp_path, capsys, bom_crlf
):
    """Excel's export where the comma is the decimal mark (outside trial 16): its rows read as
    two fields against a header of one, and the error was arrow-csv's "unequal lengths"."""
    text = f"call_id;x_note;x_val\n{ids[0]};hello;1,5\n{ids[1]};bye;2\n"
    if bom_crlf:
        text = "\ufeff" + text.replace("\n", "\r\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode())
    err = refused(emu, ["push", str(path)], capsys)
    assert 'one column named "call_id;x_note;x_val"' in err, err
    assert "separated by ';'" in err and "decimal mark" in err, err


def test_an_ndjson_column_of_numbers_and_text_is_refused_naming_lines(emu, ids, tmp_path, capsys):
    """It was read as text ("1" pushed for 1) or, before, refused as "not NDJSON"."""
    path = tmp_path / "nj.ndjson"
    path.write_text(f'{{"call_id": {ids[0]}, "nj": 1}}\n{{"call_id": {ids[1]}, "nj": "x"}}\n')
    err = refused(emu, ["push", str(path)], capsys)
    assert '(line 2: "x")' in err and "(line 1: 1)" in err, err
    assert "--schema nj:string" in err, err
    assert main(["push", str(path), "-q", "--schema", "nj:string"]) == 0
    assert held(emu, ids[:2], "nj") == ["1", "x"]


@pytest.mark.parametrize(
    ("kind", "values", "word", "expected"),
    [
        ("int64", ("1", "3"), "NA", [1, 5, 3]),
        ("int8", ("1", "3"), "null", [1, 5, 3]),
        ("float32", ("1.5", "3"), "NaN", [1.5, 5.0, 3.0]),
        ("float64", ("1.5", "3"), "N/A", [1.5, 5.0, 3.0]),
        ("bool", ("true", "FALSE"), "None", [True, False, False]),
        ("date32", ("2026-01-05", "2026-01-07"), "#N/A", None),
        ("timestamp[s]", ("2026-01-05T10:00:00", "2026-01-07 10:00:00"), "<NA>", None),
    ],
)
def test_csv_words_for_a_missing_value_leave_it_under_a_declared_type(
    emu, ids, tmp_path, kind, values, word, expected
):
    """`--schema n:int64` over `1,NA,3` got arrow-csv's parser error (outside trial 15): a
    declared column takes the words an undeclared one does, each leaving the value as it is."""
    column = "dw_" + kind.replace("[", "_").rstrip("]")
    before = tmp_path / "before.csv"
    kept = {"int64": "5", "int8": "5", "float32": "5", "float64": "5", "bool": "false"}
    kept_value = kept.get(kind, values[0])
    before.write_text(f"call_id,{column}\n{ids[1]},{kept_value}\n")
    assert main(["push", str(before), "-q", "--schema", f"{column}:{kind}"]) == 0
    path = tmp_path / "words.csv"
    path.write_text(
        f"call_id,{column}\n{ids[0]},{values[0]}\n{ids[1]},{word}\n{ids[2]},{values[1]}\n"
    )
    assert main(["push", str(path), "-q", "--schema", f"{column}:{kind}"]) == 0
    got = held(emu, ids, column)
    if expected is None:  # dates and times: the first value kept in the middle row
        assert got[1] == got[0] and got[2] != got[0], got
        assert str(got[0]).startswith("2026-01-05") and str(got[2]).startswith("2026-01-07")
    else:
        assert got == expected


def test_csv_words_under_a_declared_text_type_are_text(emu, ids, tmp_path):
    path = tmp_path / "text.csv"
    path.write_text(f"call_id,dw_text\n{ids[0]},1\n{ids[1]},NA\n{ids[2]},null\n")
    assert main(["push", str(path), "-q", "--schema", "dw_text:string"]) == 0
    assert held(emu, ids, "dw_text") == ["1", "NA", "null"]


@pytest.mark.parametrize(
    ("rows", "flag", "line", "value"),
    [
        # arrow-csv's own parse: it said line 2, counting records from 0 with the header.
        (["1", "x", "3"], "n:int64", 3, "x"),
        (["1", "300"], "n:int8", 3, "300"),
        # A column read as text for its word, then typed.
        (["NA", "1", "x"], "n:int64", 4, "x"),
        (["true", "NA", "yes"], "n:bool", 4, "yes"),
        # Past arrow-csv's first batch (8,192 rows).
        (["1"] * 9000 + ["NA", "x"], "n:int64", 9003, "x"),
        # An inferred column of dates with one that is none.
        (["2026-01-05", "2026-02-30"], None, 3, "2026-02-30"),
    ],
)
def test_a_value_its_type_does_not_hold_is_named_with_its_line_and_column(
    emu, ids, tmp_path, capsys, rows, flag, line, value
):
    path = tmp_path / "bad.csv"
    path.write_text("call_id,n\n" + "".join(f"{ids[0]},{v}\n" for v in rows))
    argv = ["push", str(path)] + (["--schema", flag] if flag else [])
    err = refused(emu, argv, capsys)
    assert f"'{value}'" in err and f"column `n` at line {line}" in err, err
    assert "Row data" not in err, err


def test_a_record_spanning_lines_moves_the_line_named(emu, ids, tmp_path, capsys):
    path = tmp_path / "multi.csv"
    path.write_text(f'call_id,note,n\n{ids[0]},"two\nlines",1\n{ids[1]},ok,x\n')
    err = refused(emu, ["push", str(path), "--schema", "n:int64"], capsys)
    assert "'x'" in err and "column `n` at line 4" in err, err


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_whole_numbers_spelled_as_floats_are_integers_in_either_format(
    emu, ids, tmp_path, capsys, ext
):
    """`1e2` under `--schema n:int64` was pushed as 100 from NDJSON and refused from CSV
    (outside trial 15): both push the integer, as the fetch side reads one, and both refuse a
    fraction alike."""
    column = f"wf_{ext}"

    def write(name: str, numbers: list[str]) -> Path:
        path = tmp_path / f"{name}.{ext}"
        if ext == "csv":
            lines = [f"call_id,{column}"] + [f"{i},{n}" for i, n in zip(ids, numbers)]
        else:
            lines = [f'{{"call_id": {i}, "{column}": {n}}}' for i, n in zip(ids, numbers)]
        path.write_text("\n".join(lines) + "\n")
        return path

    whole = write("whole", ["1e2", "-2.50e1", "7.0"])
    assert main(["push", str(whole), "-q", "--schema", f"{column}:int64"]) == 0
    got = held(emu, ids, column)
    assert got == [100, -25, 7] and all(type(v) is int for v in got), got
    fraction = write("fraction", ["1", "2.5e-1"])
    err = refused(emu, ["push", str(fraction), "--schema", f"{column}:int64"], capsys)
    assert f"line {3 if ext == 'csv' else 2} of {fraction}" in err, err
    assert "2.5e-1 does not fit Int64 without losing its fraction" in err, err


def test_csv_nan_in_a_column_of_integers_keeps_it_integers(emu, ids, tmp_path):
    """arrow-csv reads `NaN` as a float: `7` beside it was pushed as 7.0, and beside an integer
    past 2^53 the push was refused for a float column the file does not have (outside trial
    15). `NaN` is a word for a missing value like `NA`: the column is integers with nulls."""
    before = tmp_path / "before.csv"
    before.write_text(f"call_id,ni_a,ni_big\n{ids[1]},5,6\n")
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "nan_int.csv"
    path.write_text(
        f"call_id,ni_a,ni_big\n{ids[0]},7,9007199254740993\n{ids[1]},NaN,nan\n{ids[2]},9,1\n"
    )
    assert main(["push", str(path), "-q"]) == 0
    for column, expected in [("ni_a", [7, 5, 9]), ("ni_big", [9007199254740993, 6, 1])]:
        got = held(emu, ids, column)
        assert got == expected and all(type(v) is int for v in got), (column, got)


@pytest.mark.parametrize(
    ("rows", "flag", "value"),
    [
        (["7", "inf"], None, "inf"),
        (["1.5", "-inf"], None, "-inf"),
        (["7", "NA", "-inf"], None, "-inf"),
        (["1.5", "Infinity"], "x:float64", "Infinity"),
        (["1.5", "NaN", "-inf"], "x:float32", "-inf"),
    ],
)
def test_an_infinity_in_a_csv_number_column_is_refused_naming_its_line(
    emu, ids, tmp_path, capsys, rows, flag, value
):
    """`inf` in a column of integers was refused by the push as "has an infinite value (row 1)"
    with polars' advice (outside trial 15): a file's user is told its line and column."""
    path = tmp_path / "inf.csv"
    path.write_text("call_id,x\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, rows)))
    err = refused(emu, ["push", str(path)] + (["--schema", flag] if flag else []), capsys)
    line = len(rows) + 1
    assert f"line {line} of {path}: column `x` holds {value}," in err, err
    assert "polars" not in err and "row " not in err, err


MISSING_WORDS = ["NA", "N/A", "NaN", "nan", "null", "NULL", "None", "<NA>", "#N/A"]


def test_a_csv_column_of_only_words_for_a_missing_value_leaves_every_value(emu, ids, tmp_path):
    """A column holding only `NA` (R's write.csv of a column with no value) was pushed as the
    text "NA" on every row, overwriting what was stored; a column of only `NaN` left it
    (outside trial 15). Both are all missing, as a column of numbers and words is; `""` beside
    the words changes nothing."""
    columns = [f"ow_{k}" for k in range(len(MISSING_WORDS))]
    before = tmp_path / "before.csv"
    before.write_text(
        "call_id,"
        + ",".join(columns)
        + "\n"
        + "".join(f"{i}" + ",PRE" * len(columns) + "\n" for i in ids)
    )
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "words.csv"
    rows = [
        ",".join(MISSING_WORDS),
        ",".join([""] * len(MISSING_WORDS)),
        ",".join(['""', *MISSING_WORDS[1:]]),
    ]
    path.write_text(
        "call_id," + ",".join(columns) + "\n" + "".join(f"{i},{r}\n" for i, r in zip(ids, rows))
    )
    assert main(["push", str(path), "-q"]) == 0
    for column, word in zip(columns, MISSING_WORDS):
        assert held(emu, ids, column) == ["PRE"] * 3, (word, held(emu, ids, column))


def test_a_csv_column_of_only_words_is_text_under_a_declared_string(emu, ids, tmp_path):
    path = tmp_path / "words.csv"
    path.write_text(f"call_id,ow_text\n{ids[0]},NA\n{ids[1]},\n{ids[2]},null\n")
    assert main(["push", str(path), "-q", "--schema", "ow_text:string"]) == 0
    assert held(emu, ids, "ow_text")[::2] == ["NA", "null"]


@pytest.mark.parametrize("flag", [None, "eq_n:int64"])
def test_a_csv_quoted_empty_field_in_a_column_of_numbers_booleans_or_dates_is_missing(
    emu, ids, tmp_path, flag
):
    """`""` is the empty string in a text column; a column of numbers, booleans or dates holds
    none, and writers quoting every field (Python's csv.QUOTE_ALL and QUOTE_NONNUMERIC, pandas'
    `quoting=`) write a missing value so: it leaves the value, as an empty field does (the
    README said so of text columns only: outside trial 15)."""
    before = tmp_path / "before.csv"
    before.write_text(f"call_id,eq_n,eq_b,eq_d\n{ids[1]},5,true,2026-01-01\n")
    assert main(["push", str(before), "-q"]) == 0
    path = tmp_path / "eq.csv"
    path.write_text(
        f"call_id,eq_n,eq_b,eq_d\n{ids[0]},7,false,2026-01-05\n"
        f'{ids[1]},"","",""\n{ids[2]},9,false,2026-01-07\n'
    )
    assert main(["push", str(path), "-q"] + (["--schema", flag] if flag else [])) == 0
    got = held(emu, ids, "eq_n")
    assert got == [7, 5, 9] and all(type(v) is int for v in got), got
    assert held(emu, ids, "eq_b") == [False, True, False]
    assert [str(d)[:10] for d in held(emu, ids, "eq_d")] == [
        "2026-01-05",
        "2026-01-01",
        "2026-01-07",
    ]


def raw_rows(emu: Emulator, ids: list[int], columns: list[str]) -> list[dict]:
    """The emulator's JSON rows for `ids` (values and their JSON types, as stored)."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{emu.url}/calls?n_per_page=100000&columns=call_id,{','.join(columns)}",
        headers={"X-API-Key": emu.api_key},
    )
    with urllib.request.urlopen(request) as answer:
        rows = json.loads(answer.read())
    return sorted((r for r in rows if r["call_id"] in ids), key=lambda r: r["call_id"])


def test_a_csv_fetched_and_pushed_back_unchanged_sets_the_same_values(emu, ids, tmp_path):
    """`converz fetch -o x.csv` wrote the text `00050` bare, and `converz push x.csv` pushed it
    back as the integer 50 ("5" as 5; the text "NA" as a null: outside trial 15). Text is
    written quoted, and a column whose every value is quoted is read as text."""
    import pyarrow as pa

    columns = ["rt_code", "rt_tag", "rt_f", "rt_n", "rt_flag", "rt_day"]
    data = pa.table(
        {
            "call_id": ids,
            "rt_code": ["00050", None, "7"],
            "rt_tag": ["NA", "null", ""],
            "rt_f": [1.0, None, 2.5],
            "rt_n": [5, 6, None],
            "rt_flag": [True, None, False],
            "rt_day": pa.array([0, None, 3], pa.date32()),
        }
    )
    client = emu.client(progress=False)
    client.push_updates(data)
    before = raw_rows(emu, ids, columns)
    path = tmp_path / "rt.csv"
    cols = "call_id," + ",".join(columns)
    assert main(["fetch", "calls", "--columns", cols, "-o", str(path), "-q"]) == 0
    text = path.read_text()
    assert '"00050"' in text and '"NA"' in text, text
    # Other values stored since: the push must set each value back, as it was.
    changed = {c: ["x", "x", "x"] for c in columns}
    client.push_updates(pa.table({"call_id": ids, **changed}))
    assert main(["push", str(path), "-q"]) == 0
    after = raw_rows(emu, ids, columns)
    # Nulls leave the changed values; every other value is as it was, of its JSON type.
    for old, new in zip(before, after):
        for column in columns:
            if old.get(column) is None:
                assert new[column] == "x", (column, old, new)
            else:
                value = new[column]
                assert (value, type(value)) == (old[column], type(old[column])), (column, old, new)


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_a_leap_second_under_a_timestamp_type_is_refused(emu, ids, tmp_path, capsys, ext):
    """`23:59:60` under `--schema at:timestamp[s]` was pushed as :59, and under `[ms]` as the
    next minute, without a word (outside trial 18)."""
    path = tmp_path / f"leap.{ext}"
    if ext == "csv":
        path.write_text(f"call_id,at\n{ids[0]},2016-12-31 23:59:60\n")
    else:
        path.write_text(f'{{"call_id": {ids[0]}, "at": "2016-12-31 23:59:60"}}\n')
    for unit in ["s", "ms"]:
        err = refused(emu, ["push", str(path), "--schema", f"at:timestamp[{unit}]"], capsys)
        assert "2016-12-31 23:59:60" in err and "leap second" in err, err


def test_the_advice_for_an_infinity_in_a_frame_removes_it(emu, ids):
    """Outside trial 21b, F10: the advice for an infinite value was polars' `.fill_nan(None)`,
    which leaves an infinity as it is, so the push was refused again."""
    client = emu.client(progress=False)
    frame = pl.DataFrame({"call_id": ids[:3], "inf_x": [1.5, float("inf"), -float("inf")]})
    with pytest.raises(converz.ConverzError, match="infinite value") as info:
        client.push_updates(frame)
    assert '.replace([float("inf"), -float("inf")], None)' in str(info.value)
    assert "np.inf" in str(info.value)
    fixed = frame.with_columns(pl.col("inf_x").replace([float("inf"), -float("inf")], None))
    assert client.push_updates(fixed).updated == 3
    pandas = frame.to_pandas()
    import numpy as np

    pandas["inf_x"] = pandas["inf_x"].replace([np.inf, -np.inf], np.nan)
    assert client.push_updates(pandas).updated == 3


def test_files_of_other_writers_are_read_or_refused_saying_what_to_do(emu, ids, tmp_path):
    """Outside trial 21b, F13: an Arrow IPC stream named .arrow ("does not contain correct
    footer"), a brotli Parquet ("Disabled feature at compile time") and an NDJSON file with a
    UTF-8 BOM ("expected value at line 1 column 1") gave errors that said nothing to do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    client = emu.client(progress=False)
    table = pa.table({"call_id": pa.array(ids[:2], pa.int64()), "f13": ["a", "b"]})
    stream = tmp_path / "stream.arrow"
    with pa.OSFile(str(stream), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as out:
        out.write_table(table)
    assert client.push_file(stream).updated == 2
    got = client.calls(columns=["call_id", "f13"]).to_polars().drop_nulls()
    assert sorted(got["f13"].to_list()) == ["a", "b"]

    brotli = tmp_path / "brotli.parquet"
    pq.write_table(table, brotli, compression="brotli")
    with pytest.raises(converz.InvalidParameterError, match=r"brotli.*zstd"):
        client.push_file(brotli)

    bom = tmp_path / "bom.ndjson"
    bom.write_bytes(b"\xef\xbb\xbf" + f'{{"call_id": {ids[0]}, "f13": "c"}}\n'.encode())
    with pytest.raises(converz.InvalidParameterError, match="byte order mark") as err:
        client.push_file(bom)
    assert "1252" not in str(err.value)  # the note for text that is not UTF-8 (trial 21c)


def test_the_advice_for_an_infinity_inside_a_list_removes_it(emu, ids):
    """Outside trial 21c: the flat column's advice failed for a list column (polars refuses
    `.replace` on a list; pandas leaves the value inside), so the push was refused again."""
    client = emu.client(progress=False)
    frame = pl.DataFrame({"call_id": ids[:2], "inf_l": [[1.5, float("inf")], [2.0]]})
    with pytest.raises(converz.ConverzError, match="inside the column's lists") as info:
        client.push_updates(frame)
    assert "list.eval(pl.element().replace(" in str(info.value)
    c = "inf_l"
    fixed = frame.with_columns(
        pl.col(c).list.eval(pl.element().replace([float("inf"), -float("inf")], None))
    )
    assert client.push_updates(fixed).updated == 2
    # A NaN gets the advice that removes a NaN.
    nan = pl.DataFrame({"call_id": ids[:2], "nan_l": [[1.5, float("nan")], [2.0]]})
    with pytest.raises(converz.ConverzError, match="inside the column's lists") as info:
        client.push_updates(nan)
    assert "list.eval(pl.element().fill_nan(None))" in str(info.value)
    fixed = nan.with_columns(pl.col("nan_l").list.eval(pl.element().fill_nan(None)))
    assert client.push_updates(fixed).updated == 2


@pytest.mark.parametrize("blanks", [0, 2])
@pytest.mark.parametrize(
    ("bad", "flags", "words"),
    [
        ('{{"call_id": {1}, "v": "x"}}', ["--schema", "v:int64"], 'failed to parse "x" as Int64'),
        ('{{"call_id": {1}, "v": 300}}', ["--schema", "v:int8"], "failed to parse 300 as Int8"),
        ('{{"call_id": {1}, "v": 2', [], "not one JSON value"),
        # Outside trial 36: a number out of range (F1) and a line that is no object (F2).
        ('{{"call_id": {1}, "v": 1e999}}', [], "not one JSON value: number out of range"),
        ("[1, 2]", [], "not a JSON object"),
        # Python's json.dumps writes a float NaN or infinity as a bare word (outside trial 76
        # F8: "not one JSON value: expected value").
        ('{{"call_id": {1}, "v": NaN}}', [], "NaN is no JSON value (Python's json.dumps"),
        ('{{"call_id": {1}, "v": Infinity}}', [], "Infinity is no JSON value"),
        ('{{"call_id": {1}, "v":-Infinity}}', [], "-Infinity is no JSON value"),
        # Past serde's 128 levels, told as the push's own limit (trial 78 F3).
        ('{{"call_id": {1}, "v": ' + "[" * 200 + "]" * 200 + "}}", [], "more than 127 levels"),
        # A key has no null that leaves it unchanged (trial 77 F6).
        ('{{"v": 1, "call_id" : NaN}}', [], "call_id is NaN, which is no call's id"),
        # F2's second case: values arrow-json's inference refuses, here or beside line 1's.
        ('{{"call_id": {1}, "v": [1, {{"a": 2}}]}}', [], "Expected scalar value for scalar array"),
        ('{{"call_id": {1}, "v": {{"a": 2}}}}', [], "Expected object json type"),
    ],
)
def test_an_ndjson_line_arrow_json_refuses_is_named(
    emu, ids, tmp_path, capsys, blanks, bad, flags, words
):
    """arrow-json's errors name a field but no line, and its inference said `at line 1` of
    any line that is not JSON (outside trial 34 F3): the line an editor shows is named."""
    lines = [f'{{"call_id": {ids[0]}, "v": 1}}'] + [""] * blanks + [bad.format(*ids)]
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(lines) + "\n")
    err = refused(emu, ["push", str(path), *flags], capsys)
    assert f"line {2 + blanks}: " in err and words in err, err
    assert "line 1 column" not in err, err


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("m.csv", "call_id,v\n{0},1\n\n,2\n{1},3\n", 4),
        ("m.csv", 'call_id,v\n{0},"a\nb"\nNA,2\n', 4),
        ("m.ndjson", '{{"call_id": {0}, "v": 1}}\n\n{{"call_id": null, "v": 2}}\n', 3),
        ("m.ndjson", '{{"call_id": {0}, "v": 1}}\n{{"v": 2}}\n', 2),
    ],
)
@pytest.mark.parametrize("key", ["call_id", "rep_id"])
def test_a_row_without_its_key_is_named_by_its_line(
    emu, ids, tmp_path, capsys, name, text, line, key
):
    """A file's row without a call_id was told as `rows [2]`, counted from 0 among the rows,
    where every other message of a file names its line (outside trial 34 F7), and a reps
    file's row without a rep_id still was (outside trial 69 F5)."""
    path = tmp_path / name
    text = text.format(*ids)
    if key == "rep_id":
        # A rep_id column is text, where `NA` is a rep's id like any other word.
        text = text.replace("call_id", key).replace("\nNA,", "\n,")
    path.write_text(text)
    flags = ["--to", "reps"] if key == "rep_id" else []
    err = refused(emu, ["push", str(path), *flags], capsys)
    assert f"line {line} of {path}: {key} is missing" in err, err


def test_a_reps_push_of_a_file_with_both_keys_names_its_rows_without_a_rep_id(
    emu, ids, tmp_path, capsys
):
    """With `--to reps`, a file's `call_id` is an attribute: a row without one was refused as
    a call's, and a row without a `rep_id` named as `rows [2]` (outside trial 70 F6)."""
    rep = emu.client(progress=False).reps().to_polars()["rep_id"][0]
    path = tmp_path / "both.csv"
    path.write_text(f'call_id,rep_id,note\n1,{rep},"a\nb"\n,{rep},c\n2,,d\n')
    err = refused(emu, ["push", str(path), "--to", "reps"], capsys)
    assert f"line 5 of {path}: rep_id is missing" in err, err
    path.write_text(f"call_id,rep_id,note\n,{rep},c\n")
    assert main(["push", str(path), "--to", "reps", "-q"]) == 0


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("e.csv", 'rep_id,note\n"a\nb",x\n"",y\n', 4),
        ("e.csv", "rep_id,note\nanna,x\n   ,y\n", 3),
        ("e.ndjson", '{"rep_id": "anna"}\n\n{"rep_id": "  "}\n', 3),
    ],
)
def test_an_empty_rep_id_in_a_file_is_named_by_its_line(
    emu, ids, tmp_path, capsys, name, text, line
):
    """An empty or blank rep_id was refused by its row, counted from 0 among the rows, where a
    missing one is named by its line (outside trial 71 F5)."""
    path = tmp_path / name
    path.write_text(text)
    err = refused(emu, ["push", str(path), "--to", "reps"], capsys)
    assert f"line {line} of {path}: rep_id is missing" in err, err


def test_a_call_id_a_float_would_round_is_told_the_fix_that_reads_it_exactly(
    emu, ids, tmp_path, capsys
):
    """An id past 2^53 beside ids written `1010.0` was told `--schema call_id:string`, which is
    refused as no call's id, whose own hint led back (outside trial 70 F11)."""
    path = tmp_path / "big.csv"
    path.write_text(f"call_id,v\n{ids[0]}.0,1\n9007199254740993,2\n")
    err = refused(emu, ["push", str(path)], capsys)
    assert "--schema call_id:int64" in err and "call_id:string" not in err, err
    assert main(["push", str(path), "--schema", "call_id:int64", "-q"]) == 0  # the fix works


def test_an_ndjson_line_not_utf8_is_named_without_csv_advice(emu, ids, tmp_path, capsys):
    """Bytes not UTF-8 in an NDJSON file got serde's message, no line, and Excel's CSV advice
    (outside trial 35 F3)."""
    path = tmp_path / "u.ndjson"
    path.write_bytes(
        b'{"call_id": %d, "x": "a"}\n\n{"call_id": %d, "x": "b\xffc"}\n' % tuple(ids[:2])
    )
    err = refused(emu, ["push", str(path)], capsys)
    assert "line 3: not UTF-8 text" in err and "CSV" not in err, err


def test_an_arrow_file_with_text_not_utf8_says_how_to_push_what_is_sent(emu, ids, tmp_path, capsys):
    """arrow's IPC reader checks every byte of a file's text, under nulls too, and named
    neither column nor row (outside trial 59 F2): the refusal now says that, and how to push
    the values that are sent (push_updates checks only those)."""
    import pyarrow as pa

    # "a" and, under a null, the bytes FF FE: nothing of the second row would be sent.
    offsets = pa.py_buffer(b"\0\0\0\0\1\0\0\0\3\0\0\0")
    validity = pa.array([True, False]).buffers()[1]
    text = pa.Array.from_buffers(pa.string(), 2, [validity, offsets, pa.py_buffer(b"a\xff\xfe")])
    table = pa.table({"call_id": pa.array(ids[:2], pa.int64()), "x": text})
    path = tmp_path / "t.arrow"
    with pa.ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)
    err = refused(emu, ["push", str(path)], capsys)
    # One sentence, spaced as written (a line break in the source once left runs of spaces).
    assert (
        "an Arrow file's text is checked whole as it is read (bytes under nulls and dictionary "
        "entries no row uses too): read it with pyarrow and push the table with push_updates"
    ) in err, err
