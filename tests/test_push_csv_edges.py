"""`converz push FILE` of files other tools write, and values a float type would change (outside
trial 16), against the emulator over HTTP: R's `write.csv` (text quoted, a missing value a bare
`NA`, row names), pandas' `csv.QUOTE_NONNUMERIC`, a float type that would hold a number as 0 or
round a whole number written out, a `call_id` that is no integer, and a fetched CSV pushed back
unchanged."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import converz
from converz.__main__ import main
from converz.testing import Emulator

# The tenant of the `emu` and `ids` fixtures (tests/conftest.py).
EMULATOR = {"calls": 60, "reps": 5, "seed": 16}


def held(emu: Emulator, ids: list[int], *columns: str) -> list[tuple[object, ...]]:
    """What the emulator holds in the attributes `columns` for `ids`, as sent (text)."""
    custom = [c for c in columns if c != "campaign"] or None  # a documented one comes unasked
    got = (
        emu.client(progress=False)
        .calls(metric=custom, schema=dict.fromkeys(columns, "string"))
        .to_polars()
    )
    got = got.filter(pl.col("call_id").is_in(ids)).sort("call_id")
    return list(got.select(columns).iter_rows())


def refused(emu: Emulator, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one-line error of a command refused before any request."""
    before = emu.wire_stats()["responses"]
    assert main([*argv, "-q"]) == 1
    err = capsys.readouterr().err
    assert emu.wire_stats()["responses"] == before, err
    return err


R_BODY = '{0},"00050",NA,"a"\n{1},NA,1.5,NA\n{2},"NA",NA,"b"\n'


# Outside trial 37 F9: with CRLF line ends (R on Windows, Python's csv module) every field was
# read as unquoted: "00050" went out as 50 and a bare NA in a text column as the text NA.
# A column the API documents as text (`campaign`) is read as written, and was so with a bare
# NA too, which went out as the text NA (outside trial 70 F5).
@pytest.mark.parametrize("code", ["rcode", "campaign"])
@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
@pytest.mark.parametrize("row_names", [False])  # with row names: refused, test_row_names.py
def test_a_file_as_rs_write_csv_writes_it_keeps_its_text_and_leaves_na_unchanged(
    emu: Emulator, ids: list[int], tmp_path: Path, row_names: bool, line_end: str, code: str
) -> None:
    # Values the bare NAs must leave as they are.
    emu.client(progress=False).push_updates(
        pl.DataFrame({"call_id": ids, code: ["old"] * 3, "rx": [9.5] * 3, "rnote": ["n"] * 3})
    )
    lines = R_BODY.format(*ids).splitlines()
    header = f'"call_id","{code}","rx","rnote"'
    if row_names:  # write.csv's default: a first column "" of quoted row names
        header = '"",' + header
        lines = [f'"{i + 1}",{line}' for i, line in enumerate(lines)]
    path = tmp_path / "r.csv"
    path.write_bytes((line_end.join([header, *lines]) + line_end).encode())
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, code, "rx", "rnote") == [
        ("00050", "9.5", "a"),
        ("old", "1.5", "n"),
        ("NA", "9.5", "b"),
    ]


def test_a_documented_text_column_of_only_r_nas_leaves_every_value_unchanged(
    emu: Emulator, ids: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R's write.csv of a text column that is NA on every row writes it bare throughout: a
    column the API documents as text went out as the text NA, and a reps file's keys as rep
    "NA" (outside trial 71 F3, F4). Such a column is all missing, as any other column is."""
    emu.client(progress=False).push_updates(pl.DataFrame({"call_id": ids[:2], "campaign": "old"}))
    path = tmp_path / "r.csv"
    path.write_text(f'"call_id","campaign","allna"\n{ids[0]},NA,"x"\n{ids[1]},NA,NA\n')
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids[:2], "campaign", "allna") == [("old", "x"), ("old", None)]
    # A type the user gives wins: the words go out as text (outside trial 72 F3).
    assert main(["push", str(path), "--schema", "campaign:string", "-q"]) == 0
    assert held(emu, ids[:2], "campaign") == [("NA",), ("NA",)]
    path.write_text('"rep_id","team"\nNA,"red"\nNA,"blue"\n')
    err = refused(emu, ["push", str(path), "--to", "reps"], capsys)
    assert f"line 2 of {path}: rep_id is missing or blank (2 rows in all)" in err, err


@pytest.mark.parametrize("writer", ["pandas", "polars"])
def test_a_file_that_writes_text_bare_keeps_a_bare_na_as_the_text_it_is(
    emu: Emulator, ids: list[int], tmp_path: Path, writer: str
) -> None:
    """pandas and polars quote a value only where they must and write a missing one as an
    empty field, so a bare `NA` in their files is text, also in a column whose every other
    value needed quotes (`"Sales, EMEA"`): it was read as missing, R's way, and the campaign
    NA was lost (outside trial 72 F2). A file with text written bare anywhere is read so; R's
    files quote every text value, and their bare NA stays missing (the tests above), beside
    bare numbers, booleans and dates too (below)."""
    emu.client(progress=False).push_updates(
        pl.DataFrame({"call_id": ids, "campaign": "old", "note": "old"})
    )
    frame = pl.DataFrame(
        {
            "call_id": ids,
            "campaign": ["Sales, EMEA", "NA", None],
            "note": ["NA", "a, b", "NA"],
            "label": ["good", "bad", "good"],
        }
    )
    path = tmp_path / "minimal.csv"
    if writer == "pandas":
        pytest.importorskip("pandas")
        frame.to_pandas().to_csv(path, index=False)
    else:
        frame.write_csv(path)
    assert 'NA,"a, b"' in path.read_text()  # bare NA, quotes only where needed
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "campaign", "note") == [
        ("Sales, EMEA", "NA"),
        ("NA", "a, b"),
        ("old", "NA"),  # the empty field: missing, so left unchanged
    ]
    # R's way beside bare values that are no text: the bare NAs are missing.
    emu.client(progress=False).push_updates(
        pl.DataFrame({"call_id": ids, "campaign": "old", "note": "old"})
    )
    path.write_text(
        '"call_id","campaign","note","flag","x","day"\n'
        f'{ids[0]},"Sales, EMEA",NA,TRUE,1.5,2025-01-02\n'
        f'{ids[1]},NA,"b",FALSE,NaN,2025-01-03\n'
    )
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids[:2], "campaign", "note") == [("Sales, EMEA", "old"), ("old", "b")]
    # A value written bare with white space around it is text as read, which R would have
    # quoted: it marks such a file too (outside trials 74 F2, 75 F1).
    for padded in [" good", " 5", " TRUE", " NA", " "]:
        emu.client(progress=False).push_updates(pl.DataFrame({"call_id": ids, "campaign": "old"}))
        path.write_text(
            f'call_id,campaign,note\n{ids[0]},"Sales, EMEA",{padded}\n{ids[1]},NA,"b"\n'
        )
        assert main(["push", str(path), "-q"]) == 0
        assert held(emu, ids[:2], "campaign", "note") == [("Sales, EMEA", padded), ("NA", "b")]


@pytest.mark.parametrize("infinity", ["Inf", "-Inf", "+Inf", "INF", "Infinity", "-infinity"])
def test_an_infinity_as_r_writes_it_is_refused_in_a_column_of_numbers(
    emu: Emulator, ids: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str], infinity: str
) -> None:
    """R's write.csv writes an infinite double as a bare `Inf` or `-Inf`, which arrow-csv does
    not read as a number: the column was read as text and its numbers sent as strings, 0.5 as
    "0.5" (outside trial 74 F1). Only `inf` and `-inf` had been refused, naming their line."""
    path = tmp_path / "r.csv"
    path.write_text(f'"call_id","qa"\n{ids[0]},0.5\n{ids[1]},NA\n{ids[2]},{infinity}\n')
    err = refused(emu, ["push", str(path)], capsys)
    assert f"line 4 of {path}: column `qa` holds {infinity}, which is not a finite number" in err
    # No text alternative: pushed as text, `qa` would be text for every call (trial 76 F5).
    assert "--schema" not in err and "leave the field empty (or write NA)" in err, err
    # The file's value is what to fix: the file is the parameter (outside trial 75 F7).
    with pytest.raises(converz.InvalidParameterError) as info:
        emu.client(progress=False).push_file(path)
    assert info.value.parameter == "path"
    # A key's infinity is no call's id: no empty field nor text makes one (trial 75 F5).
    path.write_text(f'"call_id","qa"\n{ids[0]},0.5\n{infinity},0.7\n')
    err = refused(emu, ["push", str(path)], capsys)
    assert f"line 3 of {path}: call_id is {infinity}, which is no call's id" in err, err
    assert "--schema" not in err and "leave the field empty" not in err, err
    # So is a number no float holds but as infinity; its text was offered (trial 76 F3).
    path.write_text(f'"call_id","qa"\n{ids[0]},0.5\n1e999,0.7\n')
    err = refused(emu, ["push", str(path)], capsys)
    assert f"line 3 of {path}: call_id is 1e999, which is no call's id" in err, err
    # NDJSON's "Inf" in a float column is named by its line, as in a CSV file (trial 75 F7).
    lines = tmp_path / "r.ndjson"
    lines.write_text(
        f'{{"call_id": {ids[0]}, "qa": 0.5}}\n{{"call_id": {ids[1]}, "qa": "{infinity}"}}\n'
    )
    err = refused(emu, ["push", str(lines), "--schema", "qa:float64"], capsys)
    assert f'line 2 of {lines}: column `qa` holds "{infinity}", which is not a finite' in err, err
    assert "write null (or leave the key out)" in err, err
    # A word that is no infinity keeps its column text, as written.
    path.write_text(f'"call_id","qa"\n{ids[0]},0.5\n{ids[1]},Infinite\n')
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids[:2], "qa") == [("0.5",), ("Infinite",)]


def test_a_file_as_pandas_writes_it_with_quote_nonnumeric_keeps_its_text(
    emu: Emulator, ids: list[int], tmp_path: Path
) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"call_id": ids, "pcode": ["00050", "NA", "7"], "px": [1.5, None, 2.0]})
    path = tmp_path / "p.csv"
    for line_end in ("\n", "\r\n"):  # the csv module's default is "\r\n" (outside trial 37 F9)
        frame.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator=line_end)
        assert main(["push", str(path), "-q"]) == 0
        assert held(emu, ids, "pcode") == [("00050",), ("NA",), ("7",)]


@pytest.mark.parametrize(
    ("text", "flag", "words"),
    [
        # A nonzero number a float type holds as 0.
        ("1e-50", "f:float32", ["line 3 ", "1e-50", "held as 0", "--schema f:float64"]),
        ("-1e-400", "f:float64", ["line 3 ", "-1e-400", "held as 0", "--schema f:string"]),
        # A subnormal that keeps fewer digits than written.
        ("1.234567e-44", "f:float32", ["line 3 ", "held as 1.261169e-44", "subnormal"]),
        # A whole number written out that the float holds as another (10^23).
        (
            "100000000000000000000000",
            "f:float64",
            ["line 3 ", "held as 99999999999999991611392", "--schema f:string"],
        ),
    ],
)
def test_a_float_type_that_would_change_a_number_is_refused_with_its_line(
    emu: Emulator,
    ids: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    flag: str,
    words: list[str],
) -> None:
    path = tmp_path / "f.csv"
    path.write_text(f"call_id,f\n{ids[0]},1.5\n{ids[1]},{text}\n")
    err = refused(emu, ["push", str(path), "--schema", flag], capsys)
    assert "column `f`" in err, err
    for word in words:
        assert word in err, err


def test_numbers_a_float_holds_as_written_are_pushed(
    emu: Emulator, ids: list[int], tmp_path: Path
) -> None:
    path = tmp_path / "g.csv"
    path.write_text(f"call_id,g\n{ids[0]},1e23\n{ids[1]},1e-40\n{ids[2]},0.1\n")
    assert main(["push", str(path), "--schema", "g:float32", "-q"]) == 0
    path.write_text(f"call_id,g\n{ids[0]},1e23\n{ids[1]},10000000000000000000000\n")
    assert main(["push", str(path), "--schema", "g:float64", "-q"]) == 0
    assert held(emu, ids[:2], "g") == [("1e23",), ("1e22",)]


def test_a_float_column_of_the_files_own_numbers_refuses_what_it_would_change(
    emu: Emulator, ids: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "h.csv"
    for value, words in [
        ("100000000000000000000000.0", ["line 3 ", "rounded"]),
        ("1e-400", ["line 3 ", "held as 0", "h:string"]),
        ("1e400", ["line 3 ", "held as infinity"]),
    ]:
        path.write_text(f"call_id,h\n{ids[0]},1.5\n{ids[1]},{value}\n")
        err = refused(emu, ["push", str(path)], capsys)
        for word in [value, *words]:
            assert word in err, err


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("k.csv", "call_id,v\n{0},1\n{1}.0,2\n", ["line 3 ", "call_id is {1}.0", "int64"]),
        ("k.csv", 'call_id,v\n"{0}",1\n1.5,2\n', ["line 3 ", "call_id is 1.5"]),
        ("k.csv", 'call_id,v\n{0},1\n"x{1}",2\n', ["line 3 ", 'call_id is "x{1}" (quoted)']),
        (
            "k.ndjson",
            '{{"call_id": {0}}}\n{{"call_id": "{1}"}}\n',
            ["line 2 ", 'text "{1}"', "int64"],
        ),
        ("k.ndjson", '{{"call_id": {0}}}\n{{"call_id": 1.5}}\n', ["line 2 ", "call_id is 1.5"]),
    ],
)
def test_a_call_id_that_is_no_integer_is_named_with_its_line(
    emu: Emulator,
    ids: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    words: list[str],
) -> None:
    path = tmp_path / name
    path.write_text(text.format(*ids))
    err = refused(emu, ["push", str(path)], capsys)
    for word in words:
        assert word.format(*ids) in err, err


def test_a_parquet_call_id_that_is_no_integer_is_named_with_its_row(
    emu: Emulator, ids: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fraction is named, with no cast (outside trial 70 F2: the first value, `1000.0`, was
    # named with a cast to int64, which made a later 1010.5 call 1010).
    path = tmp_path / "k.parquet"
    pl.DataFrame({"call_id": [float(ids[0]), 2.5], "v": [1, 2]}).write_parquet(path)
    err = refused(emu, ["push", str(path)], capsys)
    assert "row 1 (counted from 0)" in err and "call_id is 2.5," in err, err
    assert "astype" not in err, err
    # A whole float past a float's exact integers is not said to be "no call's id": it lies
    # within int64 (outside trial 74 F7).
    pl.DataFrame({"call_id": [2.0**53], "v": [1]}).write_parquet(path)
    err = refused(emu, ["push", str(path)], capsys)
    assert "call_id is 9007199254740992.0, which a float column cannot be sure" in err, err
    assert "no call's id" not in err and "astype" not in err, err
    # Whole numbers only: the first is named, and the cast, now exact, is spelled.
    pl.DataFrame({"call_id": [float(ids[0]), float(ids[1])], "v": [1, 2]}).write_parquet(path)
    err = refused(emu, ["push", str(path)], capsys)
    assert "row 0 (counted from 0)" in err and f"call_id is {ids[0]}.0" in err, err
    assert 'astype("int64")' in err, err
    assert "a whole number, but the column's type is Float64" in err, err
    # A decimal of whole ids (a NUMERIC(10,3) column) is an id in the wrong type too, not "no
    # call's id" (outside trial 72 F1).
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    whole = [decimal.Decimal(f"{i}.000") for i in ids[:2]]
    pq.write_table(pa.table({"call_id": pa.array(whole, pa.decimal128(10, 3))}), path)
    err = refused(emu, ["push", str(path)], capsys)
    assert f"call_id is {ids[0]}.000, a whole number" in err, err
    assert "Decimal128(10, 3), not an integer type" in err and "no call's id" not in err, err
    # Types whose every value reads as an id (scale 0, a half float, text) got the frame's
    # message, whose fix named --schema, which a Parquet file does not take (trial 75 F6).
    for column, named in [
        (pa.array([decimal.Decimal(i) for i in ids[:2]], pa.decimal128(12, 0)), "Decimal128"),
        (pa.array([decimal.Decimal(i) for i in ids[:2]], pa.decimal256(40, 0)), "Decimal256"),
        (pa.array([1.0, 2.0], pa.float32()).cast(pa.float16()), "Float16"),
        (pa.array([str(i) for i in ids[:2]]), "Utf8"),
        (pa.array([str(i) for i in ids[:2]]).dictionary_encode(), "Dictionary(Int32, Utf8)"),
        # polars reads a dictionary of numbers as its values' type: the direct cast (trial 77 F2).
        (pa.array([float(i) for i in ids[:2]]).dictionary_encode(), "Dictionary(Int32, Float64)"),
    ]:
        pq.write_table(pa.table({"call_id": column, "v": [1, 2]}), path)
        err = refused(emu, ["push", str(path)], capsys)
        assert "row 0 (counted from 0)" in err and "a whole number" in err, err
        assert f"the column's type is {named}" in err and 'astype("int64")' in err, err
        assert "--schema" not in err, err
        # A categorical's direct cast fails in polars, whose own hint gives its codes (trial
        # 76 F4): through text, the cast the message spells makes the ids.
        through_text = 'pl.col("call_id").cast(pl.String).cast(pl.Int64)'
        assert (through_text in err) == named.endswith("Utf8)"), err
        # The cast the message spells, as polars reads the file, makes the ids it holds.
        spelled = through_text if through_text in err else 'pl.col("call_id").cast(pl.Int64)'
        assert spelled in err, err
        if named != "Decimal256":  # polars reads decimals of precision 38 at most
            fixed = pl.read_parquet(path).with_columns(eval(spelled, {"pl": pl}))
            assert fixed["call_id"].to_list() == [int(v) for v in column.to_pylist()]


# Text values that look like other things: numbers, words for a missing value, dates, the
# server's timestamps, and dates beside timestamps in one column (which the fetch keeps as text).
_NUMBERS = st.from_regex(r"\A-?[0-9]{1,25}(\.[0-9]{1,6})?([eE][-+]?[0-9]{1,3})?\Z")
_WORDS = st.sampled_from(["NA", "null", "NaN", "true", "FALSE", "inf", "", " 1", "00050"])
_DATES = st.dates().map(str)
_TIMES = st.datetimes().map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S"))
LOOKALIKES = st.one_of(
    st.lists(st.one_of(_NUMBERS, _WORDS, _DATES), min_size=3, max_size=3),
    st.lists(st.one_of(_NUMBERS, _WORDS, _TIMES), min_size=3, max_size=3),
    st.lists(st.one_of(_WORDS, _DATES, _TIMES), min_size=3, max_size=3),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=LOOKALIKES)
def test_a_fetched_csv_pushed_back_leaves_every_text_value_as_it_was(
    emu: Emulator, ids: list[int], tmp_path: Path, values: list[str]
) -> None:
    client = emu.client(progress=False)
    client.push_updates(pl.DataFrame({"call_id": ids, "look": values}))
    before = held(emu, ids, "look")
    path = tmp_path / "rt.csv"
    assert main(["fetch", "calls", "--columns", "call_id,look", "-o", str(path), "-q"]) == 0
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "look") == before == [(v,) for v in values]
    # The same file with CRLF line ends, as a Windows editor saves it (outside trial 37 F9).
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    client.push_updates(pl.DataFrame({"call_id": ids, "look": ["x"] * len(ids)}))
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "look") == before


# Outside trial 17 F6: the fetch read these as timestamps, which the CSV and the push print as
# 'YYYY-MM-DD HH:MM:SS[.ffffff]'. Now only spellings converz writes back are dates and times.
@pytest.mark.parametrize(
    "values",
    [["2025-01-01T10:00:00"], ["2025-01-01 10:00:00.5"], ["2025-01-01", "2025-01-01 10:00:00"]],
)
def test_text_spelled_as_another_time_survives_a_csv_round_trip(
    emu: Emulator, ids: list[int], tmp_path: Path, values: list[str]
) -> None:
    client = emu.client(progress=False)
    ids = ids[: len(values)]
    client.push_updates(pl.DataFrame({"call_id": ids, "when": values}))
    path = tmp_path / "rt.csv"
    assert main(["fetch", "calls", "--columns", "call_id,when", "-o", str(path), "-q"]) == 0
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "when") == [(v,) for v in values]


def _canonical(value: object) -> str:
    """How converz writes a fetched date or time back (a push; `fetch -o` in every format):
    chrono's `%.f`, no fraction when it is zero, milliseconds when they are whole, else six
    digits (isoformat pads years below 1000 with zeros, as chrono does; strftime does not)."""
    if isinstance(value, datetime):
        whole_ms = value.microsecond % 1000 == 0 and value.microsecond
        return value.isoformat(sep=" ", timespec="milliseconds" if whole_ms else "auto")
    assert isinstance(value, date), value
    return value.isoformat()


_DIGIT = st.sampled_from("0000123456789")
# No fraction, three and six digits (the spellings that may be times) are drawn often.
_DIGITS = st.one_of(
    st.just(""),
    st.lists(_DIGIT, min_size=3, max_size=3).map("".join),
    st.lists(_DIGIT, min_size=6, max_size=6).map("".join),
    st.lists(_DIGIT, max_size=9).map("".join),
)
TIMELIKE = st.builds(
    lambda day, sep, clock, digits, zone, date_only: (
        str(day)
        if date_only
        else f"{day}{sep}{clock:%H:%M:%S}{'.' if digits else ''}{digits}{zone}"
    ),
    st.dates(min_value=date(1, 1, 1)),
    st.sampled_from([" ", " ", "T"]),
    st.times(),
    _DIGITS,
    st.sampled_from(["", "", "", "Z", "+01:00"]),
    st.sampled_from([False, False, True]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(TIMELIKE, min_size=3, max_size=3))  # every row this module sets
def test_time_like_text_is_fetched_as_sent_or_as_a_time_spelled_as_sent(
    emu: Emulator, ids: list[int], tmp_path: Path, values: list[str]
) -> None:
    """Random spellings of times (with or without a `T`, fractions of 0 to 9 digits, a zone or
    none, dates alone): a fetched value is the text as sent, or a date or time whose spelling as
    converz writes it back is the text; and a fetched CSV pushed back leaves the text as sent."""
    client = emu.client(progress=False)
    client.push_updates(pl.DataFrame({"call_id": ids, "when": values}))
    got = client.calls(columns=["call_id", "when"]).to_polars()
    got = got.filter(pl.col("call_id").is_in(ids)).sort("call_id")["when"]
    event(str(got.dtype))
    if got.dtype == pl.String:
        assert got.to_list() == values
    else:
        assert got.dtype in (pl.Date, pl.Datetime("us")), got.dtype
        assert [_canonical(v) for v in got.to_list()] == values
    path = tmp_path / "tl.csv"
    assert main(["fetch", "calls", "--columns", "call_id,when", "-o", str(path), "-q"]) == 0
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "when") == [(v,) for v in values]


# A value each message names the line of: (the bad row's fields after call_id, --schema, what
# the message says of it). The file's columns are call_id, v and a text column `t`.
LINE_NAMED = [
    ("1e-50", ["--schema", "v:float32"], "held as 0"),
    ("x", ["--schema", "v:int64"], "column `v` at line"),
    ("1.5", [], "call_id is 1.5"),
    ('"never closed', [], "a quoted field opens here and is never closed"),
    # Read errors of the record's shape or bytes (outside trial 34 F2: arrow-csv's and the csv
    # crate's lines, one short with \r\n ends, line 1 with lone \r ends).
    ("1,z,extra", [], "has 4 fields where the header has 3"),
    ("1,\udcff", [], "is not UTF-8 text"),
    ('"1,z', [], "a quoted field opens on line"),
]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(LINE_NAMED),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    # Before the bad row: per good row, blank lines before it and whether its text spans lines.
    before=st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=4),
    blanks_first=st.integers(0, 2),
)
def test_a_refusal_names_the_line_an_editor_shows(
    emu: Emulator,
    ids: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: tuple[str, list[str], str],
    end: str,
    before: list[tuple[int, bool]],
    blanks_first: int,
) -> None:
    """Messages counted the csv crate's record lines, which skip blank lines and count `\\r\\n`
    inside a quoted field as two: a refusal named a line before the value's (outside trial 33
    F3). Every kind of refusal names the line an editor shows the value on, whatever the line
    ends, blank lines and quoted line breaks before it."""
    value, flags, words = kind
    lines = [""] * blanks_first + ["call_id,v,t"]
    for blanks, spans in before:
        text = f'"one{end}two"' if spans else "one"
        lines += [""] * blanks + [f"{ids[0]},1,{text}"]
    bad_line = 1 + sum(line.count(end) for line in lines) + len(lines)
    if value == "1.5":
        lines.append(f"{value},1,z")
    elif value.startswith('"1'):
        # A quote opened mid-row, more rows after it.
        lines += [f"{ids[1]},{value}", f"{ids[2]},1,z"]
    elif value.startswith('"'):
        lines.append(f"{ids[1]},1,{value}")
    elif value.startswith("1,"):
        lines.append(f"{ids[1]},{value}")
    else:
        lines.append(f"{ids[1]},{value},z")
    path = tmp_path / "lines.csv"
    # `\udcff` stands for a byte that is not UTF-8.
    path.write_bytes((end.join(lines) + end).encode("utf-8", "surrogateescape"))
    err = refused(emu, ["push", str(path), *flags], capsys)
    assert words in err, err
    assert f"line {bad_line}" in err, (err, bad_line)


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(
    ("header", "bad_row", "flags", "words"),
    [
        ("call_id,note,v", "{1},{note},x", ["--schema", "v:int64"], "column `v` at line 5"),
        ("call_id,note,v", "{1},{note},1e-50", ["--schema", "v:float32"], "line 5 "),
        ("note,call_id,v", "{note},1.5,1", [], "line 5 of"),
    ],
)
def test_a_value_after_a_field_of_several_lines_is_named_on_its_own_line(
    emu: Emulator,
    ids: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    end: str,
    header: str,
    bad_row: str,
    flags: list[str],
    words: str,
) -> None:
    """A value after a quoted field of three lines was named on the line its record starts on
    (outside trial 34 F4): the value is two lines further down."""
    note = f'"a{end}b{end}c"'
    first = "{0},plain,1" if header.startswith("call_id") else "plain,{0},1"
    rows = [header, first.format(*ids), bad_row.format(*ids, note=note)]
    path = tmp_path / "spans.csv"
    path.write_bytes((end.join(rows) + end).encode())
    err = refused(emu, ["push", str(path), *flags], capsys)
    assert words in err, err


@pytest.mark.parametrize("big", ["100000000000000000000000", "12345678901234567891"])
def test_an_integer_past_int64_beside_numbers_is_judged_as_a_float_not_sent_as_text(
    emu: Emulator, ids: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str], big: str
) -> None:
    """arrow-csv infers text for a column holding an integer past int64, so `1.5` beside
    10^23 written out went out as the text "1.5", silently, where the NDJSON file is refused
    (outside trial 34 F6). The column is a float column, whose rule refuses the whole number it
    would round, naming its line; `--schema v:string` sends every value as written."""
    path = tmp_path / "big.csv"
    path.write_text(f"call_id,big\n{ids[0]},1.5\n{ids[1]},{big}\n")
    err = refused(emu, ["push", str(path)], capsys)
    assert "line 3 " in err and big in err and "would be rounded" in err, err
    assert "--schema big:string" in err, err
    ndjson = tmp_path / "big.ndjson"
    ndjson.write_text(
        f'{{"call_id": {ids[0]}, "big": 1.5}}\n{{"call_id": {ids[1]}, "big": {big}}}\n'
    )
    assert "would be rounded" in refused(emu, ["push", str(ndjson)], capsys)
    assert main(["push", str(path), "--schema", "big:string", "-q"]) == 0
    assert held(emu, ids[:2], "big") == [("1.5",), (big,)]


@pytest.mark.parametrize("missing", ["", "NA", "NaN", "null", '""'])
def test_integers_past_int64_alone_are_text_and_a_missing_value_leaves_its_value(
    emu: Emulator, ids: list[int], tmp_path: Path, missing: str
) -> None:
    """A column of integers alone, one past int64, is pushed as text as written, and its
    missing values leave theirs unchanged: beside `NA` it was refused as if it held a fraction
    (outside trial 35 F7), and `""` (Python's `csv.QUOTE_NONNUMERIC` spelling of a missing
    number) set the value to "" (outside trial 35 F8)."""
    client = emu.client(progress=False)
    client.push_updates(pl.DataFrame({"call_id": ids[:3], "big": ["PRE"] * 3}))
    path = tmp_path / "big.csv"
    path.write_text(
        f"call_id,big\n{ids[0]},100000000000000000000000\n{ids[1]},{missing}\n{ids[2]},-5\n"
    )
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids[:3], "big") == [("100000000000000000000000",), ("PRE",), ("-5",)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # After a quoted field of two lines in the same row (outside trial 35 F10).
        (b'call_id,n,x\n{0},"a\nb",\xff\n', "line 3, field 3 (`x`), is not UTF-8 text"),
        (b'call_id,n,x\n{0},"a\nb",1.5,9\n', "line 3 has 4 fields where the header has 3"),
        # A quote never closed on line 3 runs on to the next one (outside trial 35 F4).
        (
            b'call_id,note,x\n{0},"a",1\n{1},"abc,2\n{2},"d",3\n',
            "line 4: text follows the closing quote of a quoted field that opened on line 3",
        ),
    ],
)
def test_a_malformed_record_is_named_where_its_fault_is(
    emu: Emulator,
    ids: list[int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: bytes,
    words: str,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(
        text.replace(b"{0}", b"%d" % ids[0])
        .replace(b"{1}", b"%d" % ids[1])
        .replace(b"{2}", b"%d" % ids[2])
    )
    err = refused(emu, ["push", str(path)], capsys)
    assert words in err, err


def test_an_ndjson_file_as_json_dumps_writes_it_keeps_characters_past_u_ffff(
    emu: Emulator, ids: list[int], tmp_path: Path
) -> None:
    """Python's json.dumps (and pandas' to_json) escape a character past U+FFFF as a pair of
    surrogates; arrow-json 59 joins half of them wrongly, and a file push sent U+20BB7 as
    U+10BB7, and a column so named as nulls (outside trial 77 F1)."""
    import json

    values = ["\U00020bb7野家", "\U0010ffff and \\ud842 as text", "\U0001f600 and \U000e0047"]
    name = "note_\U00020000"
    path = tmp_path / "astral.ndjson"
    rows = [{"call_id": i, "note": v, name: v} for i, v in zip(ids, values)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert "\\ud842\\udfb7" in path.read_text()  # the pairs, as json.dumps writes them
    assert main(["push", str(path), "-q"]) == 0
    assert held(emu, ids, "note", name) == [(v, v) for v in values]
