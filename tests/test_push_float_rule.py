"""One number rule on every fetch and push path (`decode::forced::float_change`; outside trial
18): a number is either kept exactly as written, or refused / warned of naming it, never
changed without a word. Fetches are served raw (the emulator cannot send `1e-400`); pushes go
to the emulator over real HTTP, which holds numbers as Float64, as the API does. A decimal
column is held to its type's digits too: a fraction the float would print back otherwise is
refused there (outside trials 30 F2, 30b F5), where a number in a file is rounded as floats are."""

from __future__ import annotations

import decimal
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hostile_support import RawServer, Request, Responder, response, serving
from hypothesis import HealthCheck, given, settings

import converz
from converz.__main__ import main
from converz.testing import Emulator

# Numbers a Float64 holds as another (and what), and numbers it keeps (0.1 is not exact in
# binary, but prints back as written: kept).
CHANGED = {
    "9007199254740993.0": "9007199254740992",
    "100000000000000000000000.0": "99999999999999991611392",
    "1e-400": "0",
    "2.4703282292062328e-324": "4.9406564584124654e-324",
}
# Subnormals are kept to the digits written (outside trial 18, F8): `4.9e-324` is 4.94e-324, and
# `2.2250738585072011e-308` is rounded by one ulp, as a normal float would be.
KEPT = [
    "0.1",
    "1e23",
    "0.30000000000000004",
    "5e-324",
    "123456789012345678.5",
    "-2.5e-7",
    "4.9e-324",
    "2.2250738585072011e-308",
]


# The tenant of the `emu` and `ids` fixtures (tests/conftest.py).
EMULATOR = {"calls": 100, "reps": 3, "seed": 18}


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


def rows_server(serve: Callable[[Responder], RawServer], numbers: list[str]) -> RawServer:
    """A server whose /calls has one row per number, `x` written exactly as given."""
    body = "[" + ",".join(f'{{"call_id":{i},"x":{n}}}' for i, n in enumerate(numbers)) + "]"

    def respond(request: Request) -> bytes:
        page = urllib.parse.parse_qs(urllib.parse.urlsplit(request.target).query).get("page")
        page_body = body.encode() if page in (None, ["1"]) else b"[]"
        return response("200 OK", page_body, "Content-Type: application/json")

    return serve(respond)


def held(emu: Emulator, ids: list[int], column: str) -> list:
    got = emu.client(progress=False).calls(metric=[column]).to_polars()
    return got.filter(pl.col("call_id").is_in(ids)).sort("call_id")[column].to_list()


def refused_push(emu: Emulator, push: Callable[[], object]) -> str:
    before = emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as info:
        push()
    assert emu.wire_stats()["responses"] == before
    return str(info.value)


@pytest.mark.parametrize(("number", "held_as"), CHANGED.items())
def test_a_fetch_keeps_a_number_float64_would_change_as_text_naming_it(serve, number, held_as):
    """Inference rounded these unsaid (`1e400` was already text with a warning)."""
    client = rows_server(serve, [number, "2"]).client()
    table = client.calls()
    got = table.to_arrow()
    assert got.schema.field("x").type == pa.string()
    assert got["x"].to_pylist() == [number, "2"]
    assert any(
        "column `x`" in w and f"{number} would be held as {held_as}" in w for w in table.warnings
    ), table.warnings
    # `schema=` with float64 refuses it (the same rule); with string keeps it unsaid.
    with pytest.raises(converz.DecodeError, match=number.replace(".", r"\.").replace("+", r"\+")):
        client.calls(schema={"x": "float64"})
    assert client.calls(schema={"x": "str"}).warnings == []


def test_a_fetch_keeps_numbers_float64_keeps_as_floats_without_a_warning(serve):
    table = rows_server(serve, KEPT).client().calls()
    got = table.to_arrow()["x"]
    assert got.type == pa.float64() and table.warnings == []
    assert got.to_pylist() == [float(n) for n in KEPT]


@pytest.mark.parametrize("engine", ["pyarrow", "polars", "pandas"])
def test_a_decimal_float64_would_change_is_refused_before_any_request(emu, ids, engine):
    """A decimal went out as its exact text and the emulator stored it rounded, unsaid, while
    a CSV or NDJSON push of the same number was refused."""
    values = [decimal.Decimal("9007199254740993.0"), decimal.Decimal("1.5")]
    table = pa.table(
        {"call_id": pa.array(ids[:2], pa.int64()), "dx": pa.array(values, pa.decimal128(20, 1))}
    )
    frame: object = table
    if engine == "polars":
        frame = pl.from_arrow(table)
    elif engine == "pandas":
        frame = pd.DataFrame({"call_id": ids[:2], "dx": values})  # Decimal objects
    client = emu.client(progress=False)
    err = refused_push(emu, lambda: client.push_updates(frame))
    assert "`dx`" in err and "9007199254740993.0" in err, err
    assert "would be held as 9007199254740992" in err and "string" in err, err


@pytest.mark.parametrize(
    ("written", "held_as"),
    [
        ("12345678901234567.89", "12345678901234568"),
        ("1234567890.1234567891", "1234567890.1234567"),
        ("1.0000000000000001", "1"),
        ("-99999999999999999999.99", "-100000000000000000000"),
    ],
)
def test_a_decimal_whose_fraction_float64_would_change_is_refused(emu, ids, written, held_as):
    """A decimal's type states its digits: one a Float64 prints back otherwise was stored
    rounded, unsaid (outside trials 30 F2, 30b F5), while a float's rounding is kept."""
    values = pa.array([decimal.Decimal(written)], pa.decimal128(38, 16))
    frame = pa.table({"call_id": pa.array(ids[:1], pa.int64()), "df": values})
    client = emu.client(progress=False)
    err = refused_push(emu, lambda: client.push_updates(frame))
    assert f"would be held as {held_as}" in err and "`df`" in err, err


@pytest.mark.parametrize("written", ["1E+23", "-1E+23", "1.23E+25", "5E+30", "1E+37"])
def test_a_whole_decimal_a_float64_prints_back_as_the_same_number_is_pushed(emu, ids, written):
    """`Decimal("1E+23")` reaches Arrow as 100000000000000000000000 at scale 0 and was refused
    as "would be held as 99999999999999991611392", while the float 1e23 was kept: that Float64
    prints back as the same number (outside trial 30c F3)."""
    value = decimal.Decimal(written)
    frame = pa.table(
        {"call_id": pa.array(ids[:1], pa.int64()), "dw": pa.array([value], pa.decimal256(40, 0))}
    )
    emu.client(progress=False).push_updates(frame)
    assert held(emu, ids[:1], "dw") == [float(written)]
    assert decimal.Decimal(repr(held(emu, ids[:1], "dw")[0])) == value


def test_a_decimal_float64_keeps_is_pushed_as_written(emu, ids):
    values = [decimal.Decimal(v) for v in ("0.10", "1234567890123.45", "-2.50")]
    table = pa.table(
        {"call_id": pa.array(ids, pa.int64()), "dk": pa.array(values, pa.decimal128(20, 2))}
    )
    emu.client(progress=False).push_updates(table)
    assert held(emu, ids, "dk") == [float(v) for v in values]


def test_a_float16_is_pushed_as_its_own_shortest_text(emu, ids):
    """A float16 0.1 went out as 0.099975586 (the f32 digits of the f16). A whole number goes
    out whole: 62592, not 6.26e4 (numpy's shortest), which is another whole number."""
    halves = np.array([0.1, 1 / 3, 6e-08], dtype=np.float16)
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "h": pa.array(halves)})
    emu.client(progress=False).push_updates(table)
    # numpy prints a float16 in the fewest digits that read back as it; a subnormal goes out
    # as close to its value as a normal float16's digits are: its shortest, 6e-08, is 0.7% from
    # the 5.9604645e-08 it holds, and the API would hold 6e-08 (outside trial 18, F8).
    assert [float(str(h)) for h in halves] == [0.1, 0.3333, 6e-08]
    assert held(emu, ids, "h") == [0.1, 0.3333, 5.96e-08]
    whole = np.array([62592, -2050], dtype=np.float16)
    table = pa.table({"call_id": pa.array(ids[:2], pa.int64()), "hw": pa.array(whole)})
    emu.client(progress=False).push_updates(table)
    assert held(emu, ids[:2], "hw") == [62592.0, -2050.0]


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_a_whole_number_written_as_a_float_beside_integers_is_refused_in_either_format(
    emu, ids, tmp_path, capsys, ext
):
    """NDJSON pushed `9007199254740993.0` and `2` as the strings "9007199254740993.0" and
    "2"; CSV refused them. Both refuse, naming the value and the way to keep it."""
    path = write(tmp_path, ext, "wn", ["9007199254740993.0", "2"], ids)
    before = emu.wire_stats()["responses"]
    assert main(["push", str(path), "-q"]) == 1
    err = capsys.readouterr().err
    assert emu.wire_stats()["responses"] == before
    assert "9007199254740993.0 would be rounded" in err and "--schema wn:string" in err, err


@pytest.mark.parametrize("ext", ["csv", "ndjson"])
def test_a_whole_number_written_as_a_float_under_int64_is_treated_alike(
    emu, ids, tmp_path, capsys, ext
):
    """Under `--schema x:int64`, NDJSON sent 9007199254740993.0 as 9007199254740992 while CSV
    sent ...993: both refuse it now (read through a float), and both push it written bare."""
    path = write(tmp_path, ext, f"wi_{ext}", ["9007199254740993.0", "2"], ids)
    assert main(["push", str(path), "-q", "--schema", f"wi_{ext}:int64"]) == 1
    err = capsys.readouterr().err
    assert "9007199254740993 would be held as 9007199254740992" in err, err
    path = write(tmp_path, ext, f"wi_{ext}", ["9007199254740993", "2"], ids)
    assert main(["push", str(path), "-q", "--schema", f"wi_{ext}:int64"]) == 0
    assert held(emu, ids[:2], f"wi_{ext}") == [9007199254740993, 2]


def write(tmp_path: Path, ext: str, column: str, numbers: list[str], ids: list[int]) -> Path:
    path = tmp_path / f"{column}.{ext}"
    if ext == "csv":
        lines = [f"call_id,{column}"] + [f"{i},{n}" for i, n in zip(ids, numbers)]
    else:
        lines = [f'{{"call_id": {i}, "{column}": {n}}}' for i, n in zip(ids, numbers)]
    path.write_text("\n".join(lines) + "\n")
    return path


# Number spellings a server or a file may hold: digits around a point, an exponent, lengths
# past a Float64's 17 digits, near 2^53, near the ends of its range.
digits = st.text("0123456789", min_size=1, max_size=26).map(lambda d: d.lstrip("0") or "0")
spellings = st.builds(
    lambda sign, whole, fraction, exponent: f"{sign}{whole}{fraction}{exponent}",
    st.sampled_from(["", "-"]),
    digits | st.sampled_from(["9007199254740993", "100000000000000000000000"]),
    st.sampled_from(["", ".0", ".5"]) | digits.map(lambda d: "." + d),
    st.sampled_from(["", "e0"])
    | st.integers(-400, 400).map(lambda e: f"e{e}")
    | st.integers(-330, -300).map(lambda e: f"e{e}"),
).filter(lambda n: "." in n or "e" in n)


def plain(text: str) -> str:
    """A number's plain digits without trailing zeros after its point (nor the point)."""
    whole, _, fraction = text.partition(".")
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def fraction_changed(text: str) -> bool:
    """Whether a Float64 prints a decimal with a fraction back as other digits: past 15
    significant digits, its shortest digits differ from the decimal's."""
    written = plain(text)
    whole, _, fraction = written.partition(".")
    if not fraction or len(whole.lstrip("-0")) + len(fraction) <= 15:
        return False
    return plain(format(decimal.Decimal(repr(float(text))), "f")) != written


def whole_in_scientific_form(text: str) -> str | None:
    """A whole decimal ending in zeros as its significant digits and a power of ten
    (`-1500.00` → `-15e2`); None for any other, zero included."""
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, fraction = digits.partition(".")
    significant = whole.lstrip("0").rstrip("0")
    zeros = len(whole) - len(whole.rstrip("0"))
    if fraction.strip("0") or not significant or not zeros:
        return None
    return f"{sign}{significant}e{zeros}"


def exact_float(number: str) -> float:
    return float(number)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(number=spellings)
def test_every_path_keeps_a_number_exactly_or_says_so(emu, ids, serve, tmp_path, number):
    """Fetch inference, forced fetch, frame push (as a decimal) and file push agree: a number
    is held as exactly the float its spelling reads as, or it is text/refused, naming it."""
    client = rows_server(serve, [number]).client()
    table = client.calls()
    inferred = table.to_arrow()["x"]
    kept = inferred.type == pa.float64()
    if kept:
        assert table.warnings == [], table.warnings
        assert inferred.to_pylist() == [exact_float(number)]
        forced = client.calls(schema={"x": "float64"}).to_arrow()["x"].to_pylist()
        assert forced == [exact_float(number)]
    else:
        assert inferred.to_pylist() == [number]
        assert any(number in w for w in table.warnings), table.warnings
        with pytest.raises(converz.DecodeError):
            client.calls(schema={"x": "float64"})
    # A file push: NDJSON, the number as written.
    path = tmp_path / "prop.ndjson"
    path.write_text(json.dumps({"call_id": ids[0]})[:-1] + f', "px": {number}}}\n')
    code = main(["push", str(path), "-q", "--schema", "px:float64"])
    if kept:
        assert code == 0 and held(emu, ids[:1], "px") == [exact_float(number)]
    else:
        assert code == 1
    # A frame push of the number as a decimal (the emulator holds a Float64).
    value = decimal.Decimal(number)
    if value.adjusted() > 60 or value.adjusted() < -60:
        return  # beyond a decimal256's 76 digits at a useful scale
    scale = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    precision = max(scale, value.adjusted() + 1 + scale, 1)
    if precision > 76:
        return
    typ = pa.decimal256(precision, scale)
    frame = pa.table({"call_id": pa.array(ids[:1], pa.int64()), "pd": pa.array([value], typ)})
    pushed = emu.client(progress=False)
    # A decimal states a value, not a spelling: it is kept or refused as that value in a file
    # is, a whole one ending in zeros written with a power of ten (`1e23`, which a Float64
    # prints back as the same number, where 100000000000000000000000 written out is refused),
    # and refused too when it has a fraction the float prints back otherwise.
    text = format(value, "f")
    judged = whole_in_scientific_form(text) or text
    path.write_text(json.dumps({"call_id": ids[0]})[:-1] + f', "pe": {judged}}}\n')
    file_keeps = main(["push", str(path), "-q", "--schema", "pe:float64"]) == 0
    if file_keeps and not fraction_changed(text):
        pushed.push_updates(frame)
        assert held(emu, ids[:1], "pd") == held(emu, ids[:1], "pe") == [float(text)]
    else:
        refused_push(emu, lambda: pushed.push_updates(frame))


def test_a_subnormal_is_judged_by_its_value_on_every_path(emu, ids, serve, tmp_path):
    """Outside trial 18 (F8): `1.4e-45` under float32 (held as 1.4012984e-45) was refused as
    "held as 1e-45" while `1e-45` was kept; `4.9e-324` under float64 was refused. The value to
    the digits written decides now, the same on a fetch and a push; a float32 subnormal goes
    out in digits as close to it as a normal float32's (the API holds a Float64 of them), not
    its shortest spelling `1e-45`."""
    least32 = float(np.float32(1.4e-45))  # 1.401298464324817e-45
    client = rows_server(serve, ["1.4e-45", "1e-45", "1.40e-45"]).client()
    got = client.calls(schema={"x": "float32"}).to_arrow()["x"].to_pylist()
    assert got == [least32] * 3
    for number, held_as in [("1e-46", "held as 0"), ("1.1e-45", "held as 1.4e-45")]:
        with pytest.raises(converz.DecodeError) as info:
            rows_server(serve, [number]).client().calls(schema={"x": "float32"})
        assert number in str(info.value) and held_as in str(info.value), info.value
    # A push: the file's number and a frame's float32 arrive as the float32's value.
    path = tmp_path / "sub.ndjson"
    path.write_text(f'{{"call_id": {ids[0]}, "sx": 1.4e-45}}\n')
    assert main(["push", str(path), "-q", "--schema", "sx:float32"]) == 0
    frame = pa.table(
        {"call_id": pa.array(ids[1:2], pa.int64()), "sx": pa.array([least32], pa.float32())}
    )
    emu.client(progress=False).push_updates(frame)
    for value in held(emu, ids[:2], "sx"):
        assert abs(value - least32) <= least32 * 2**-24, value
    path.write_text(f'{{"call_id": {ids[0]}, "sy": 4.9e-324}}\n')
    assert main(["push", str(path), "-q", "--schema", "sy:float64"]) == 0
    assert held(emu, ids[:1], "sy") == [5e-324]
    # Refused before any request: a number far from the float it would be.
    before = emu.wire_stats()["responses"]
    path.write_text(f'{{"call_id": {ids[0]}, "sz": 3e-324}}\n')
    assert main(["push", str(path), "-q", "--schema", "sz:float64"]) == 1
    assert emu.wire_stats()["responses"] == before


@pytest.mark.parametrize("dtype", [pa.decimal32(9, 2), pa.decimal64(18, 2)])
def test_narrow_decimals_are_pushed_as_the_wide_ones_are(emu, ids, dtype):
    """decimal32 and decimal64 were refused as "not a number" while decimal128 and 256 went out
    as their exact text (outside trial 30): one rule for every decimal width."""
    values = [decimal.Decimal("0.10"), decimal.Decimal("-1234567.89"), None]
    table = pa.table({"call_id": pa.array(ids, pa.int64()), "dn": pa.array(values, dtype)})
    emu.client(progress=False).push_updates(table)
    assert held(emu, ids, "dn") == [0.1, -1234567.89, None]
    if dtype.bit_width == 64:
        changed = pa.array([decimal.Decimal("9007199254740993.00")], dtype)
        client = emu.client(progress=False)
        frame = pa.table({"call_id": pa.array(ids[:1], pa.int64()), "dc": changed})
        err = refused_push(emu, lambda: client.push_updates(frame))
        assert "9007199254740993.00" in err and "would be held as 9007199254740992" in err, err


# float32 values across the ranges that print differently: below 2^24, whole from 2^24 to 10^16
# (where the API's Float64 prints a number written out), and from 10^16 up (with an exponent).
FLOAT32_EDGES = [
    16777216.0,
    -16777218.0,
    123456790528.0,
    7490050375811072.0,
    float(np.float32(1e13)),
    float(np.float32(9.9e15)),
    float(np.float32(1e16)),
    float(np.finfo(np.float32).max),
    -float(np.finfo(np.float32).max),
    0.1,
]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    drawn=st.lists(
        st.floats(width=32, allow_nan=False, allow_infinity=False) | st.sampled_from(FLOAT32_EDGES),
        min_size=1,
        max_size=20,
    )
)
def test_a_float32_pushed_reads_back_the_same_under_float32(emu, drawn):
    """A float32 such as 7490050375811072 went out in its shortest digits, `7.4900504e15`, which
    the API's Float64 prints back written out, `7490050400000000.0`: a whole number the float32
    does not hold, which a fetch under schema={col: "float32"} refused as changed (outside trial
    33 F1). Every float32 pushed reads back as itself, and a float column (`16777216.0`)."""
    values = pa.array(drawn, pa.float32())
    every = emu.client(progress=False).calls(columns=["call_id"]).to_arrow()["call_id"]
    ids = sorted(every.to_pylist())[: len(drawn)]
    frame = pa.table({"call_id": pa.array(ids, pa.int64()), "f32": values})
    emu.client(progress=False).push_updates(frame)
    got = (
        emu.client(progress=False)
        .calls(columns=["call_id", "f32"], schema={"f32": "float32"})
        .to_arrow()
    )
    read = dict(zip(got["call_id"].to_pylist(), got["f32"].to_pylist()))
    assert [read[i] for i in ids] == values.to_pylist()
    # Without a schema the column is a float column (Float64, as the API holds it) whose
    # values are each the float32's, narrowed.
    inferred = emu.client(progress=False).calls(columns=["call_id", "f32"]).to_arrow()
    assert pa.types.is_floating(inferred.schema.field("f32").type)
    wide = dict(zip(inferred["call_id"].to_pylist(), inferred["f32"].to_pylist()))
    narrowed = pa.array([wide[i] for i in ids], pa.float64()).cast(pa.float32())
    assert narrowed.to_pylist() == values.to_pylist()


FLOAT32_FILE_EDGES = [*FLOAT32_EDGES, float(np.float32(1.4e-45)), 1727290368.0]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    drawn=st.lists(
        st.floats(width=32, allow_nan=False, allow_infinity=False)
        | st.sampled_from(FLOAT32_FILE_EDGES),
        min_size=1,
        max_size=20,
    ),
    ext=st.sampled_from(["csv", "ndjson"]),
)
def test_a_fetched_float32_file_pushed_back_changes_nothing(emu, ids, tmp_path_factory, drawn, ext):
    """`fetch -o X.csv --schema f:float32` spelled a float32 1727290368 in its shortest digits,
    `1727290400.0`, another number, which the file pushed back stored; a subnormal 1.4e-45 as
    `1e-45`, 29% away (outside trial 34 F1). Every file converz writes spells a float as a push
    sends it, so the file pushed back sends what the frame did."""
    client = emu.client(progress=False)
    drawn = FLOAT32_FILE_EDGES + drawn
    every = client.calls(columns=["call_id"]).to_arrow()["call_id"]
    ids = sorted(every.to_pylist())[: len(drawn)]  # the fixture's CONVERZ_* for the CLI
    values = pa.array(drawn, pa.float32())
    client.push_updates(pa.table({"call_id": pa.array(ids, pa.int64()), "f32": values}))
    path = tmp_path_factory.mktemp("fetched") / f"calls.{ext}"
    fetch = ["fetch", "calls", "--columns", "call_id,f32", "--schema", "f32:float32"]
    assert main([*fetch, "-o", str(path), "-q"]) == 0
    # Other values in between, so that the push back has something to change.
    client.push_updates(pa.table({"call_id": pa.array(ids, pa.int64()), "f32": [0.5] * len(ids)}))
    assert main(["push", str(path), "-q", "--schema", "f32:float32"]) == 0
    got = client.calls(columns=["call_id", "f32"], schema={"f32": "float32"}).to_arrow()
    read = dict(zip(got["call_id"].to_pylist(), got["f32"].to_pylist()))
    assert [read[i] for i in ids] == values.to_pylist()


def test_a_stopped_float32_csv_push_leaves_a_file_its_resume_pushes(emu, tmp_path):
    """The rows a failed `push_file(..., schema={"f": "float32"})` left were written in the
    float32's shortest digits (`1727290400.0` for 1727290368), which the hint's own resume
    refused as not fitting float32 (outside trial 34 F5). They are written as a push sends
    them, and the resume applies every row as it was in the input."""
    written = ["1727290368.0", "7490050375811072.0", "1.4012985e-45", "16777218.0", "0.1"]
    client = emu.client(progress=False, retries=0)
    ids = sorted(client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist())[:60]
    path = tmp_path / "in.csv"
    rows = "".join(f"{i},{written[k % 5]}\n" for k, i in enumerate(ids))
    path.write_text("call_id,f\n" + rows)
    emu.set_faults(error_rate=0.6)
    try:
        with pytest.raises(converz.PushError):
            client.push_file(path, schema={"f": "float32"}, chunk_rows=5)
    finally:
        emu.set_faults()
    remaining = tmp_path / "in.remaining.csv"
    assert remaining.exists()
    client.push_file(remaining, schema={"f": "float32"}, chunk_rows=5)
    got = client.calls(columns=["call_id", "f"], schema={"f": "float32"}).to_arrow()
    read = dict(zip(got["call_id"].to_pylist(), got["f"].to_pylist()))
    expected = pa.array([float(written[k % 5]) for k in range(len(ids))], pa.float32())
    assert [read[i] for i in ids] == expected.to_pylist()
