"""Outside trials 91 (L1, L2) and 89 (C3, C4), and 87 A5's key message in the command line.

L1: a read took a non-standard `HTTP 299` as a page, where a push refuses any answer but the
documented 200. L2: a single filter value too long for a URL was told to be split "about 1
values at a time". C3, C4: a push took any text for the calls' `date` and `start_time`, after
which a typed read of those days read the column as text or missed the call.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from typing import Callable

import pyarrow as pa
import pytest
from hostile_support import KEY, RawServer, Responder, good_body, response, serving

import converz
from converz.testing import Emulator


@pytest.fixture
def serve() -> Iterator[Callable[[Responder], RawServer]]:
    yield from serving()


@pytest.mark.parametrize("status", ["299 Fine", "206 Partial Content", "203 Non-Authoritative"])
def test_a_read_takes_only_the_documented_200_as_a_page(serve, status):
    """L1: a 2xx other than 200 was read as a page; it is refused as a push's is, naming it."""
    server = serve(lambda request: response(status, good_body(request)))
    client = server.client(retries=0)
    for read in (client.calls, client.reps, lambda: list(client.iter_calls())):
        with pytest.raises(converz.DecodeError) as caught:
            read()
        text = str(caught.value)
        assert f"HTTP {status.split()[0]}" in text and "not the documented 200" in text, text
        assert KEY not in text


def test_an_answer_of_200_is_still_a_page(serve):
    """The control: the same server answering 200 is read."""
    server = serve(lambda request: response("200 OK", good_body(request)))
    assert server.client(retries=0).calls().num_rows > 0


def test_one_value_too_long_for_a_url_is_not_told_to_be_split(serve):
    """L2: one value longer than a URL can carry was told "fetch about 1 values at a time"."""
    server = serve(lambda request: response("200 OK", good_body(request)))
    with pytest.raises(converz.InvalidParameterError) as caught:
        server.client().calls(vendor_call_id=["x" * 70_000])
    text = str(caught.value)
    assert "its value gives a request URL of" in text, text
    assert "values at a time" not in text and "filter the rows yourself" in text, text
    assert caught.value.hint is not None and "split the list filter" not in caught.value.hint
    assert server.requests == []
    # A list is still told how many values fit.
    with pytest.raises(converz.InvalidParameterError) as listed:
        server.client().calls(vendor_call_id=[f"v{i:07d}-{'x' * 30}" for i in range(3_000)])
    assert "values at a time" in str(listed.value), str(listed.value)


@pytest.fixture(scope="module")
def pushed() -> Iterator[Emulator]:
    with Emulator(calls=50, reps=5, seed=91, days=3) as emu:
        yield emu


def call_ids(emu: Emulator) -> list[int]:
    return emu.client(progress=False).calls(columns=["call_id"]).to_arrow()["call_id"].to_pylist()


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("date", "10/02/2024", "YYYY-MM-DD"),
        ("date", "2024-10-02 00:00:00", "YYYY-MM-DD"),
        ("date", "2024-02-30", "YYYY-MM-DD"),
        ("date", "", "send a null"),
        ("start_time", "2024-10-02", "a date without a time of day"),
        ("start_time", "2024-10-02T09:00:00", "a space, not `T`"),
        ("start_time", "2024-10-02 09:00", "YYYY-MM-DD HH:MM:SS"),
        ("start_time", "2024-10-02 09:00:00+02:00", "YYYY-MM-DD HH:MM:SS"),
    ],
)
def test_text_outside_the_apis_form_is_refused_before_any_request(pushed, column, value, said):
    """C3, C4: text that a read would not take as the column's type is refused, naming the row
    and the value; nothing is sent (the emulator's rows are unchanged)."""
    ids = call_ids(pushed)[:3]
    before = pushed.client(progress=False).calls().to_arrow()
    frame = pa.table(
        {
            "call_id": ids,
            column: pa.array(
                ["2024-10-01 08:00:00"[: 10 if column == "date" else 19], None, value]
            ),
        }
    )
    with pytest.raises(converz.InvalidParameterError) as caught:
        pushed.client(progress=False).push_updates(frame)
    text = str(caught.value)
    assert f"`{column}`" in text and "(row 2)" in text and said in text, text
    assert pushed.client(progress=False).calls().to_arrow().equals(before)


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("start_time", pa.array([dt.date(2024, 10, 2)] * 3)),
        ("start_time", pa.array([1, 2, 3])),
        ("date", pa.array([20241002] * 3)),
        ("date", pa.array([True] * 3)),
    ],
)
def test_a_type_that_cannot_hold_the_form_is_refused(pushed, column, values):
    """C3: a date column pushed as `start_time` (a time of no hour), or numbers for either."""
    frame = pa.table({"call_id": call_ids(pushed)[:3], column: values})
    with pytest.raises(converz.InvalidParameterError) as caught:
        pushed.client(progress=False).push_updates(frame)
    text = str(caught.value)
    # From dates or times a conversion is named; from anything else, the form to make.
    temporal = pa.types.is_temporal(values.type)
    assert f"`{column}`" in text and ("convert it first" if temporal else "make it") in text, text


def test_the_apis_forms_are_pushed_and_read_back_as_their_types(pushed):
    """The control: text in the API's forms, dictionary-encoded too, typed values and nulls are
    pushed, and read back as dates and times."""
    ids = call_ids(pushed)[-3:]
    client = pushed.client(progress=False)
    dates = pa.array(["2024-10-02", None, "2024-10-03"]).dictionary_encode()
    starts = pa.array(["2024-10-02 09:00:00", None, "2024-10-03 10:30:00.250"])
    result = client.push_updates(pa.table({"call_id": ids, "date": dates, "start_time": starts}))
    assert result.updated == 3
    typed = pa.table(
        {
            "call_id": ids[:1],
            "date": pa.array([dt.date(2024, 10, 4)]),
            "start_time": pa.array([dt.datetime(2024, 10, 4, 11)], pa.timestamp("us")),
        }
    )
    assert client.push_updates(typed).updated == 1
    back = client.calls().to_arrow()
    assert back.schema.field("date").type == pa.date32()
    assert pa.types.is_timestamp(back.schema.field("start_time").type)
    rows = {row["call_id"]: row for row in back.to_pylist()}
    assert rows[ids[0]]["date"] == dt.date(2024, 10, 4)
    assert rows[ids[0]]["start_time"] == dt.datetime(2024, 10, 4, 11)
    assert rows[ids[2]]["start_time"] == dt.datetime(2024, 10, 3, 10, 30, 0, 250_000)


def test_a_dropped_duplicates_text_refuses_nothing(pushed):
    """What `on_duplicate="last"` drops is never sent, so its text is not checked."""
    call = call_ids(pushed)[5]
    frame = pa.table({"call_id": [call, call], "date": ["not a date", "2024-10-05"]})
    result = pushed.client(progress=False).push_updates(frame, on_duplicate="last")
    assert result.updated == 1


def test_the_command_lines_no_key_error_names_the_variable():
    """87 A5: the command has no key flag, and its error named the Python parameter `api_key`."""
    env = {"PATH": "/usr/bin:/bin", "CONVERZ_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "converz", "fetch", "reps", "-o", "-"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no API key" in done.stderr and "set CONVERZ_API_KEY" in done.stderr, done.stderr
    assert "api_key" not in done.stderr, done.stderr
