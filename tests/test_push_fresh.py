"""Pushes into a fresh emulator (the first push gives every row its attribute storage) and
concurrent pushes touching the same rows: every value applied exactly once, read back over HTTP.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.request

import numpy as np
import polars as pl

from converz.testing import Emulator

ROWS = 12_000


def _frame(ids: pl.Series, seed: int) -> pl.DataFrame:
    """The bench's frame shape: string, float with nulls, date, bool, categorical."""
    rng = np.random.default_rng(seed)
    start, days = dt.date(2025, 1, 1), rng.integers(0, 365, len(ids))
    score = rng.random(len(ids))
    score[rng.random(len(ids)) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "call_id": ids,
            "label": rng.choice(["good", "bad", "neutral", f"s{seed}"], len(ids)),
            "score": pl.Series(score).fill_nan(None),
            "follow_up": pl.Series([start + dt.timedelta(days=int(d)) for d in days]),
            "flag": rng.random(len(ids)) < 0.5,
            "bucket": pl.Series(rng.choice(["a", "b", "c"], len(ids))).cast(pl.Categorical),
        }
    )


def _raw_rows(emu: Emulator) -> list[list[tuple[str, object]]]:
    """Every call as its JSON key/value pairs, repeated keys kept (a dict would hide them)."""
    request = urllib.request.Request(
        f"{emu.url}/calls?n_per_page=1000000", headers={"X-API-Key": emu.api_key}
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read(), object_pairs_hook=list)


def _check(rows: list[list[tuple[str, object]]], expected: dict[int, dict[str, object]]) -> None:
    assert len(rows) == ROWS
    for pairs in rows:
        names = [name for name, _ in pairs]
        assert len(names) == len(set(names)), names  # each attribute once
        row = dict(pairs)
        assert {k: row.get(k) for k in expected[row["call_id"]]} == expected[row["call_id"]]


def _expected(frame: pl.DataFrame) -> dict[int, dict[str, object]]:
    """What each row must read back as: a null cell left the value unset (never set: null)."""
    out = {}
    for row in frame.with_columns(pl.col("follow_up").cast(pl.String)).iter_rows(named=True):
        out[row.pop("call_id")] = row
    return out


def test_first_push_into_a_fresh_emulator_applies_every_value_once():
    with Emulator(calls=ROWS, reps=20, seed=11) as emu:
        client = emu.client(max_concurrency=4, progress=False)
        ids = client.calls(columns=["call_id"], page_size=5_000).to_polars()["call_id"]
        first = _frame(ids, 1)
        result = client.push_updates(first, chunk_rows=2_500)
        assert result.ok and sum(c.rows for c in result.chunks) == ROWS
        _check(_raw_rows(emu), _expected(first))
        # Again on the same rows: the nulls of the second frame leave the first one's values.
        second = _frame(ids, 2)
        assert client.push_updates(second, chunk_rows=2_500).ok
        merged = _expected(second)
        for key, values in _expected(first).items():
            if merged[key]["score"] is None:
                merged[key]["score"] = values["score"]
        _check(_raw_rows(emu), merged)


def test_concurrent_pushes_to_the_same_rows_each_apply_whole():
    with Emulator(calls=ROWS, reps=20, seed=12) as emu:
        ids = emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"]
        # Same rows, different columns: both pushes must land in full on every row.
        left = pl.DataFrame({"call_id": ids, "left": pl.Series(range(ROWS)) * 3})
        right = pl.DataFrame({"call_id": ids.reverse(), "right": [f"r{i}" for i in range(ROWS)]})
        errors: list[BaseException] = []

        def push(frame: pl.DataFrame) -> None:
            try:
                client = emu.client(max_concurrency=4, progress=False)
                assert client.push_updates(frame, chunk_rows=1_000).ok
            except BaseException as err:  # re-raised in the main thread
                errors.append(err)

        threads = [threading.Thread(target=push, args=(f,)) for f in (left, right)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        expected = {
            key: {"left": left_value, "right": right_value}
            for key, left_value, right_value in zip(
                ids, left["left"], right.sort("call_id")["right"]
            )
        }
        _check(_raw_rows(emu), expected)
