"""PushResult and ChunkResult come typed from Rust; PushError reads a chunk error once; all three
pickle (a push in a worker process hands its record back)."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle

import polars as pl
import pytest

import converz
from converz import _core
from converz.testing import Emulator


def test_results_are_frozen_native_objects(write_emulator):
    client = write_emulator.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"][:30]
    frame = pl.DataFrame({"call_id": ids, "note": ["a" if i % 2 else None for i in range(30)]})
    result = client.push_updates(frame, chunk_rows=20, clear=["note"])
    assert converz.PushResult is _core.PushResult
    assert converz.ChunkResult is _core.ChunkResult
    assert type(result) is converz.PushResult
    assert not dataclasses.is_dataclass(result)
    with pytest.raises(AttributeError):
        result.rows = 0  # type: ignore[misc]
    first = result.chunks[0]
    with pytest.raises(AttributeError):
        first.status = "failed"  # type: ignore[misc]
    assert (result.target, result.rows, result.requests, result.updated) == ("calls", 30, 4, 30)
    # A clear body for each value body's clearing rows (outside trial 68).
    assert [(c.kind, c.rows, c.status) for c in result.chunks] == [
        ("update", 20, "applied"),
        ("update", 10, "applied"),
        ("clear", 10, "applied"),
        ("clear", 5, "applied"),
    ]
    assert (first.first_key, first.last_key) == (ids[0], ids[19])
    assert result.chunks[2].columns == ("note",)
    assert first.not_found == () and first.error is None
    assert result.ok and result.failed == [] and result.remaining is None
    assert first == result.chunks[0] and hash(first) == hash(result.chunks[0])
    assert first != result.chunks[1]
    assert repr(first).startswith("ChunkResult(index=0, kind='update', rows=20,")
    assert str(result).startswith("PushResult(to='calls': sent 30 rows in 4 requests")
    one = client.push_updates(frame.head(1), dry_run=True)
    assert str(one).startswith("PushResult(to='calls': would send 1 row in 1 request,")
    # The first and last key in the frame's order, said as such (outside trial: "1000 .. 7"
    # under a "keys" header read as a range).
    assert "first .. last key" in result.report().splitlines()[0]
    assert result.report().splitlines()[1].split()[:6] == [
        "0",
        "update",
        str(ids[0]),
        "..",
        str(ids[19]),
        "20",
    ]


def _options(**given):
    """Every key `_core.push` reads, with push_updates' defaults."""
    defaults = {
        "to": None,
        "clear": [],
        "chunk_rows": 100_000,
        "on_duplicate": "error",
        "timezone": None,
        "dry_run": False,
        "strict": False,
        "progress": None,
    }
    return {**defaults, **given}


def test_strict_is_decided_in_the_core(write_emulator):
    client = write_emulator.client(progress=False)
    frame = pl.DataFrame({"call_id": [-5, -6, -5], "qa_score": [1.0, 2.0, 3.0]})
    with pytest.raises(converz.InvalidRequestError) as info:
        _core.push(client._raw, frame, _options(strict=True, on_duplicate="last"))
    assert info.value.code == "not_found"
    assert info.value.endpoint == "POST /calls"
    assert "2 keys do not exist" in str(info.value)
    # The API answered 200 and applied the rest: the error says so and carries the result.
    assert info.value.status_code == 200
    assert sorted(info.value.result.not_found) == [-6, -5]
    assert info.value.result.chunks[0].status == "applied"
    result = _core.push(client._raw, frame, _options(on_duplicate="last"))
    assert sorted(result.not_found) == [-6, -5]


@pytest.mark.parametrize(
    ("faults", "base_url", "error_class", "text"),
    [
        ({"rate_limit_rate": 1.0}, None, converz.RateLimitError, "rate limited"),
        ({}, "http://127.0.0.1:9/api/v1", converz.TransportError, "could not connect"),
    ],
)
def test_a_failed_chunk_keeps_its_endpoint_and_reads_once(faults, base_url, error_class, text):
    with Emulator(calls=100, reps=2, **faults) as emu:
        client = converz.Client(
            base_url=base_url or emu.url, api_key=emu.api_key, retries=0, progress=False
        )
        with pytest.raises(converz.PushError) as info:
            client.push_updates(pl.DataFrame({"call_id": [10, 20], "qa_score": [1.0, 2.0]}))
    err = info.value
    cause = err.__cause__
    assert isinstance(cause, error_class)
    assert cause.endpoint == "POST /calls"
    message = str(err)
    assert message.count(text) == 1, message
    assert message.count("hint:") == 1, message
    assert message.count("POST /calls") == 1, message
    assert err.result.chunks[0].status == "failed"
    assert err.result.chunks[0].error.count(text) == 1
    assert err.result.remaining.num_rows == 2


def _fields(result: converz.PushResult) -> tuple[object, ...]:
    remaining = None if result.remaining is None else result.remaining.to_polars().to_dicts()
    return (
        result.target,
        result.rows,
        result.chunks,
        result.bytes,
        result.elapsed,
        result.dry_run,
        result.ok,
        result.updated,
        result.not_found,
        result.report(),
        str(result),
        remaining,
    )


def _failed_push(url: str, api_key: str) -> None:
    """A push whose first chunk fails (the emulator answers 5xx to everything): one at a time,
    so the later chunks are not sent."""
    client = converz.Client(
        base_url=url, api_key=api_key, retries=0, max_concurrency=1, progress=False
    )
    frame = pl.DataFrame({"call_id": [10, 20, 30], "note": ["a", None, "é"]})
    client.push_updates(frame, clear=["note"], chunk_rows=2)


def test_results_and_push_errors_pickle_round_trip(write_emulator):
    client = write_emulator.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"][:2].to_list()
    frame = pl.DataFrame({"call_id": [*ids, -7], "note": ["a", None, "b"]})
    applied = client.push_updates(frame, clear=["note"], chunk_rows=2)
    assert applied.not_found == [-7] and applied.remaining is None
    back = pickle.loads(pickle.dumps(applied))
    assert type(back) is converz.PushResult
    assert _fields(back) == _fields(applied)
    for chunk in applied.chunks:
        assert pickle.loads(pickle.dumps(chunk)) == chunk

    with (
        Emulator(calls=100, reps=2, error_rate=1.0) as emu,
        pytest.raises(converz.PushError) as info,
    ):
        _failed_push(emu.url, emu.api_key)
    err = info.value
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is converz.PushError
    assert (str(again), again.hint, again.endpoint) == (str(err), err.hint, err.endpoint)
    assert _fields(again.result) == _fields(err.result)
    assert again.result.remaining.num_rows == 3
    # One chunk at a time: the first sent fails, the others are never sent (which one goes
    # first is the runtime's choice).
    assert sorted(c.status for c in again.result.chunks) == ["failed", "not_sent", "not_sent"]


def test_restore_refuses_states_no_result_has():
    with pytest.raises(ValueError, match="status"):
        converz.ChunkResult._restore(0, "update", 1, 1, 1, "done", 0, [], [], None)
    with pytest.raises(ValueError, match="target"):
        converz.PushResult._restore("users", 0, [], 0, 0.0, False, None)


def _worker(args: tuple[str, str]) -> str:
    _failed_push(*args)
    return "applied"


def test_a_push_error_reaches_the_parent_of_a_multiprocessing_pool():
    with (
        Emulator(calls=100, reps=2, error_rate=1.0) as emu,
        multiprocessing.get_context("fork").Pool(1) as pool,
        pytest.raises(converz.PushError) as info,
    ):
        pool.map(_worker, [(emu.url, emu.api_key)])
    result = info.value.result
    assert sorted(c.status for c in result.chunks) == ["failed", "not_sent", "not_sent"]
    assert result.remaining.to_polars()["call_id"].to_list() == [10, 20, 30]
    assert info.value.result.chunks[0].error.startswith("POST /calls answered HTTP 5")


def test_the_summary_of_a_stopped_push_says_what_was_applied_not_what_was_to_be_sent():
    with Emulator(calls=600, reps=5, seed=2) as emu:
        client = emu.client(progress=False, retries=0, max_concurrency=1)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        frame = pl.DataFrame({"call_id": ids, "mark": 1})
        applied = client.push_updates(frame.head(200), chunk_rows=100)
        assert str(applied).startswith("PushResult(to='calls': sent 200 rows in 2 requests,")
        emu.set_faults(error_rate=1.0)
        with pytest.raises(converz.PushError) as info:
            client.push_updates(frame, chunk_rows=100)
    result = info.value.result
    summary = str(result)
    assert summary.startswith(f"PushResult(to='calls': 0 of {len(ids)} rows applied; "), summary
    assert "chunks: 0 applied, 1 failed, 0 interrupted, 5 not sent;" in summary, summary
    assert "sent" not in summary.replace("not sent", "")
    assert repr(result) == summary
