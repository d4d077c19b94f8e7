"""Outside trial 96: a file push's warning for a column of dates and times a fetch would read
back as text.

B1: a date beside times was pushed as text without a word. B2: 7 fraction digits were told to
use `timestamp`, which refuses them. B4: a date column pandas wrote as midnight times was told
`timestamp`, not `date`.

The class test pushes columns of dates and times in many spellings to the emulator over HTTP
and holds the warning to what a fetch then reads: warned exactly when the column reads back as
text, and the way out it names reads back typed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import converz
from converz.testing import Emulator

CALLS = 6


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_date_beside_times_is_warned_of_and_its_way_out_works(tmp_path, caplog):
    """B1: `2025-01-01` beside `2025-01-02 10:00:00` was pushed as text, silently."""
    with Emulator(calls=CALLS, reps=2, seed=96, days=2) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:3]
        path = tmp_path / "d.csv"
        lines = [f"{ids[0]},2025-01-01", f"{ids[1]},2025-01-02 10:00:00", f"{ids[2]},2025-01-03"]
        path.write_text("call_id,x\n" + "\n".join(lines) + "\n")
        with caplog.at_level(logging.WARNING, logger="converz"):
            client.push_file(path, dry_run=True)
        said = warnings_of(caplog)
        assert len(said) == 1, said
        assert "line 2 of" in said[0] and '"2025-01-01"' in said[0], said
        assert 'schema={"x": "timestamp"}' in said[0] and "midnight" in said[0], said
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="converz"):
            client.push_file(path, schema={"x": "timestamp"})
        assert not warnings_of(caplog)
        held = client.calls(columns=["call_id", "x"]).to_arrow()
        assert str(held.schema.field("x").type).startswith("timestamp"), held.schema
        by_id = dict(zip(held["call_id"].to_pylist(), held["x"].to_pylist()))
        assert by_id[ids[0]] == dt.datetime(2025, 1, 1)
        assert by_id[ids[1]] == dt.datetime(2025, 1, 2, 10)


def test_times_finer_than_a_microsecond_are_not_told_to_use_timestamp(tmp_path, caplog):
    """B2: the warning named `--schema x:timestamp`, whose refusal named `timestamp[ns]`, which
    was refused in turn; the warning now says to round them or keep the text."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    path = tmp_path / "f7.csv"
    path.write_text("call_id,x\n1,2025-01-01 10:00:00.1234567\n")
    with caplog.at_level(logging.WARNING, logger="converz"):
        client.push_file(path, dry_run=True)
    said = warnings_of(caplog)
    assert len(said) == 1 and "finer than a microsecond" in said[0], said
    assert '"timestamp"' not in said[0] and 'schema={"x": "string"}' in said[0], said
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="converz"):
        client.push_file(path, dry_run=True, schema={"x": "string"})
    assert not warnings_of(caplog)


def test_midnight_times_are_told_to_be_dates(tmp_path, caplog):
    """B4: pandas' NDJSON of a date column (`2025-09-05T00:00:00.000000`) was told
    `timestamp`, which stores times at midnight instead of the dates."""
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    path = tmp_path / "d.ndjson"
    path.write_text(
        '{"call_id": 1, "d2": "2025-09-05T00:00:00.000000"}\n'
        '{"call_id": 2, "d2": "2025-09-06T00:00:00.000000"}\n'
    )
    with caplog.at_level(logging.WARNING, logger="converz"):
        client.push_file(path, dry_run=True)
    said = warnings_of(caplog)
    assert len(said) == 1 and 'schema={"d2": "date"}' in said[0], said


# Spellings of one wall-clock time: the API's, and other writers'.
def spelt(moment: dt.datetime, how: str) -> str:
    day = moment.strftime("%Y-%m-%d")
    clock = moment.strftime("%H:%M:%S")
    micros = f"{moment.microsecond:06d}"
    return {
        "date": day,
        "api": f"{day} {clock}",
        "api_ms": f"{day} {clock}.{micros[:3]}",
        "api_us": f"{day} {clock}.{micros}",
        "t": f"{day}T{clock}",
        "t_us": f"{day}T{clock}.{micros}",
        "frac1": f"{day} {clock}.{micros[:1]}",
        "frac5": f"{day} {clock}.{micros[:5]}",
        "frac7": f"{day} {clock}.{micros}1",
        "zone": f"{day}T{clock}+02:00",
        "lower_t": f"{day}t{clock}",
    }[how]


moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 12, 31))
midnights = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)).map(
    lambda day: dt.datetime(day.year, day.month, day.day)
)
hows = st.sampled_from(
    ["date", "api", "api_ms", "api_us", "t", "t_us", "frac1", "frac5", "frac7", "zone", "lower_t"]
)
cells = st.tuples(st.one_of(moments, midnights), hows)

counter = itertools.count()


@pytest.fixture(scope="module")
def emulator():
    with Emulator(calls=CALLS, reps=2, seed=961, days=2) as emu:
        yield emu


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(column=st.lists(cells, min_size=1, max_size=CALLS))
def test_the_warning_names_exactly_the_columns_read_back_as_text(
    emulator, tmp_path, caplog, column
):
    """Pushed as written to a column of its own, a column of dates and times is warned of
    exactly when a fetch reads it back as text; the type the warning names reads back typed."""
    client = emulator.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()
    name = f"c{next(counter)}"
    values = [spelt(moment, how) for moment, how in column]
    path = tmp_path / f"{name}.csv"
    path.write_text(f"call_id,{name}\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, values)))
    caplog.clear()
    finer = any(how == "frac7" for _, how in column)
    with caplog.at_level(logging.WARNING, logger="converz"):
        try:
            client.push_file(path)
            refused = None
        except converz.InvalidParameterError as err:
            refused = err
    if refused is not None:
        # Only a fraction no time type holds is refused (a file reader typed it), or times
        # with an offset beside others without one, which name no instant (README).
        zoned = [how == "zone" for _, how in column]
        assert finer or (any(zoned) and not all(zoned)), (values, refused)
        return
    said = [m for m in warnings_of(caplog) if f"`{name}`" in m]
    read = client.calls(columns=["call_id", name]).to_arrow().schema.field(name).type
    assert bool(said) == (str(read) in ("string", "large_string")), (values, said, read)
    if not said:
        return
    if "mix UTC offsets with none" in said[0]:
        # No type reads offsets beside times or dates without one: none is named.
        zoned = [how == "zone" for _, how in column]
        assert any(zoned) and not all(zoned), (values, said)
        return
    kind = re.search(r'schema=\{"' + name + r'": "(\w+)"\}', said[0])
    assert kind, said
    if kind.group(1) == "string":
        assert any(how == "frac7" for _, how in column), (values, said)
        return
    typed = f"{name}t"
    path.write_text(path.read_text().replace(f",{name}\n", f",{typed}\n", 1))
    client.push_file(path, schema={typed: kind.group(1)})
    again = client.calls(columns=["call_id", typed]).to_arrow().schema.field(typed).type
    assert str(again) not in ("string", "large_string"), (values, kind.group(1), again)


def test_a_sync_refused_for_another_query_names_what_changed(tmp_path):
    """Trial 94 N3: the refusal showed the whole stored query, not which filter or schema=
    column differed."""
    from converz._sync import sync_calls

    with Emulator(calls=60, reps=3, seed=94, days=4) as emu:
        client = emu.client(progress=False)
        path = tmp_path / "calls"
        sync_calls(client, path, schema={"cnt": "int16"}, campaign=["a"])
        cases = [
            ({"schema": {"cnt": "int16", "cntt": "int16"}, "campaign": ["a"]}, "schema 'cntt'"),
            ({"schema": {"cnt": "int32"}, "campaign": ["a"]}, "'int16' then, 'int32' now"),
            (
                {"schema": {"cnt": "int16"}, "campaign": ["b"]},
                "campaign: added ['b'], removed ['a']",
            ),
        ]
        for kwargs, named in cases:
            with pytest.raises(converz.InvalidParameterError) as caught:
                sync_calls(client, path, **kwargs)
            said = str(caught.value)
            assert named in said, said
            assert said.count("then,") + said.count("added") == 1, said


def test_a_delta_sync_of_times_finer_than_a_microsecond_names_a_way_delta_takes(tmp_path):
    """Trial 96 (95 A1 in part): a Delta sync's fetch refused 9-digit times under
    `timestamp[us]` naming `timestamp[ns]`, which a Delta sync refuses in turn."""
    import json
    import urllib.request

    from converz._sync import sync_calls

    with Emulator(calls=30, reps=3, seed=961, days=3) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()
        body = json.dumps({"call_id": ids, "tsn": ["2025-01-01 10:00:00.123456789"] * len(ids)})
        headers = {"X-API-Key": emu.api_key, "Content-Type": "application/json"}
        request = urllib.request.Request(f"{emu.url}/calls", body.encode(), headers, method="POST")
        urllib.request.urlopen(request, timeout=30).read()
        with pytest.raises(converz.DecodeError) as caught:
            sync_calls(client, tmp_path / "d", format="delta", schema={"tsn": "timestamp[us]"})
        said = str(caught.value)
        assert 'schema={"tsn": "string"}' in said and "format='parquet'" in said, said
        sync_calls(client, tmp_path / "d", format="delta", schema={"tsn": "string"})


@pytest.mark.parametrize(
    ("text", "line", "args"),
    [
        # Trial 94 N6: checked by the push plan, these named the row of a frame.
        (
            "call_id,start_time\n1,2100-07-01T10:00:00+02:00\n",
            2,
            ["--timezone", "Europe/Amsterdam"],
        ),
        ("call_id,start_time\n1,2025-07-01T10:00:00+02:00\n2,9999-12-31T23:30:00-02:00\n", 3, []),
        (
            "call_id,x\n1,2025-01-01 10:00:00\n\n2,2025-01-01 10:00:00.1234567\n",
            4,
            ["--schema", "x:timestamp[ns]"],
        ),
        ('{"call_id": 1, "date": "2025-01-01"}\n\n{"call_id": 2, "date": "2025/01/02"}\n', 3, []),
    ],
)
def test_a_file_push_refusal_names_the_line(tmp_path, text, line, args):
    """A value the push refuses is named by its line in a CSV or NDJSON file, wherever the
    check runs (the file's reader or the push of its rows)."""
    suffix = ".ndjson" if text.startswith("{") else ".csv"
    path = tmp_path / f"f{suffix}"
    path.write_text(text)
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    schema = dict([args[1].split(":", 1)]) if args[:1] == ["--schema"] else None
    timezone = args[1] if args[:1] == ["--timezone"] else None
    with pytest.raises(converz.InvalidParameterError) as caught:
        client.push_file(path, dry_run=True, schema=schema, timezone=timezone)
    said = str(caught.value)
    assert f"line {line} of {path}" in said and not re.search(r"row \d", said), said


def test_times_with_a_utc_offset_kept_as_text_are_warned_of(tmp_path, caplog):
    """Trial 98 F1: an NDJSON column of times with offsets was pushed as text without a word;
    the `schema=` the warning names reads them as instants."""
    with Emulator(calls=CALLS, reps=2, seed=98, days=2) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()[:2]
        path = tmp_path / "z.ndjson"
        path.write_text(
            f'{{"call_id": {ids[0]}, "c": "2026-01-05T10:00:00+02:00"}}\n'
            f'{{"call_id": {ids[1]}, "c": "2026-01-05T11:00:00Z"}}\n'
        )
        with caplog.at_level(logging.WARNING, logger="converz"):
            client.push_file(path, dry_run=True)
        said = warnings_of(caplog)
        assert len(said) == 1 and 'schema={"c": "timestamp"}' in said[0], said
        assert "UTC offset" in said[0], said
        client.push_file(path, schema={"c": "timestamp"}, timezone="UTC")
        held = client.calls(columns=["call_id", "c"]).to_arrow()
        assert str(held.schema.field("c").type).startswith("timestamp"), held.schema
        by_id = dict(zip(held["call_id"].to_pylist(), held["c"].to_pylist()))
        assert by_id[ids[0]] == dt.datetime(2026, 1, 5, 8) and by_id[ids[1]] == dt.datetime(
            2026, 1, 5, 11
        )


def test_a_file_time_finer_than_a_microsecond_is_told_the_files_way_out(tmp_path):
    """Trial 98 F2: the refusal named only a frame's ways out (round it in polars or pandas)."""
    path = tmp_path / "f9.csv"
    path.write_text("call_id,x\n1,2025-01-01 10:00:00.123456789\n")
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    with pytest.raises(converz.InvalidParameterError) as caught:
        client.push_file(path, dry_run=True)
    assert 'schema={"x": "string"}' in (caught.value.hint or ""), str(caught.value)


def test_a_start_time_without_seconds_is_not_told_to_use_schema(tmp_path):
    """Trial 100 F3: the refusal named a file's schema=, which cannot read such a time either."""
    path = tmp_path / "ns.csv"
    path.write_text("call_id,start_time\n1,2025-01-01 10:00\n")
    client = converz.Client(base_url="http://127.0.0.1:9", api_key="k", progress=False)
    with pytest.raises(converz.InvalidParameterError) as caught:
        client.push_file(path, dry_run=True)
    said = str(caught.value)
    assert "write its seconds too" in said and "line 2 of" in said, said
