"""A sync run SIGKILLed while its days move into place, then run again with a smaller window.

Outside trial 23: a back-fill (`overlap_days=40`) killed half-way through its renames, then the
scheduled run (`overlap_days=3`), left calls whose `date` a push had moved in two days or in
none, for good: the second run fetched only its own window. The killed run's commit plan
(`converz._sync_commit`) is now finished by the next run first. Each case kills a real
process (SIGKILL) after a given number of renames, in the run and in the finishing of it.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
from converz._sync import sync_calls
from converz._sync_commit import PLAN_FILE
from converz._sync_state import STAGING_DIR
from converz.testing import Emulator

# Runs a sync in a child process and SIGKILLs it at its rename number `kill_at` (1 is the
# commit plan's own; the state's is the last). Every rename of the process is counted.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import converz
    url, key, path, fmt, overlap, kill_at, start = sys.argv[1:]
    real, count = os.replace, [0]

    def replace(src, dst):
        count[0] += 1
        if count[0] == int(kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    os.replace = replace
    client = converz.Client(api_key=key, base_url=url, progress=False)
    client.sync_calls(path, format=fmt, overlap_days=int(overlap), start_date=start or None)
    """
)


def killed_run(
    emu: Emulator, path: Path, fmt: str, overlap: int, kill_at: int, start: str = ""
) -> int:
    args = [emu.url, emu.api_key, str(path), fmt, str(overlap), str(kill_at), start]
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    return done.returncode


def dataset(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "delta":
        return pl.read_delta(str(path)).sort("call_id")
    glob = f"{path}/**/*.parquet"
    return pl.scan_parquet(glob, hive_partitioning=True).collect().sort("call_id")


# Parquet: rename 1 writes the plan, the next ones move days. Delta: deltalake's transaction
# is committed before the plan is written (its renames are not Python's), rename 2 is the state.
CASES = [
    *[("parquet", at, None) for at in (1, 2, 3, 12)],
    ("parquet", 5, 3),
    ("parquet", 9, 2),
    ("delta", 1, None),
    ("delta", 2, None),
    ("delta", 2, 1),
]


@pytest.mark.parametrize(("fmt", "kill_at", "kill_finishing_at"), CASES)
def test_a_back_fill_killed_mid_commit_is_finished_by_the_next_run(
    tmp_path, fmt, kill_at, kill_finishing_at
):
    with Emulator(calls=900, reps=6, seed=23, days=30) as emu:
        client = emu.client(progress=False)
        calls = client.calls(columns=["call_id", "date"]).to_polars().sort("date")
        start = calls["date"][0]
        path = tmp_path / "calls"
        sync_calls(client, path, start_date=start, format=fmt)
        before = dataset(path, fmt)
        # Calls started long before the default window, dated elsewhere by a push: into a day
        # near the start, and into one in the middle of the back-fill's window.
        old = calls.filter(pl.col("date") < start + dt.timedelta(days=20))["call_id"][:30]
        days = [start + dt.timedelta(days=1 if i % 2 else 15) for i in range(len(old))]
        client.push_updates(pl.DataFrame({"call_id": old, "date": days}))
        assert killed_run(emu, path, fmt, 40, kill_at) == -signal.SIGKILL
        if kill_finishing_at is not None:
            # Killed again while the next run finishes the plan.
            assert (path / STAGING_DIR / PLAN_FILE).is_file()
            assert killed_run(emu, path, fmt, 3, kill_finishing_at) == -signal.SIGKILL
        result = sync_calls(client, path, format=fmt)  # the scheduled run: 3 days
        assert not (path / STAGING_DIR).exists()
        # A Parquet run killed at its plan's own rename committed nothing, and the scheduled
        # run's window holds none of the moved calls: the dataset is as it was. Killed later
        # (or a Delta run, committed by then), the back-fill is finished: what the API holds.
        api = client.calls(start_date=start).to_polars().sort("call_id")
        nothing_committed = fmt == "parquet" and kill_at == 1
        expected = before if nothing_committed else api.select(before.columns)
        got = dataset(path, fmt)
        assert got["call_id"].is_unique().all()
        assert_frame_equal(got.select(expected.columns), expected)
        if fmt == "parquet":  # each call in the folder of its date
            for day in path.glob("date=*"):
                held = pl.read_parquet(day / "part-0.parquet")["call_id"]
                on_day = expected.filter(pl.col("date") == dt.date.fromisoformat(day.name[5:]))
                assert sorted(held) == sorted(on_day["call_id"]), day
        state = json.loads((path / "_converz_sync.json").read_text())
        assert state["watermark"] is not None and result.watermark is not None


@pytest.mark.parametrize(
    "damage",
    [
        lambda plan: plan.write_text('{"moves": [["day-1.parq'),  # torn
        lambda plan: plan.write_text("[]"),
        lambda plan: plan.mkdir(),
        lambda plan: plan.write_text(
            json.dumps(
                {
                    "moves": [["../victim.txt", "date=2000-01-01/part-0.parquet"]],
                    "removed_days": [],
                    "previous_format": None,
                    "state": {"version": 1},
                }
            )
        ),
    ],
    ids=["torn", "not-a-plan", "a-directory", "a-path-outside"],
)
def test_a_damaged_plan_is_refused_and_a_full_refresh_rebuilds(tmp_path, damage):
    """Outside trial 23c: a plan that could not be read was dropped without a word, and the
    half-moved dataset it was to finish stayed so for good. It is refused, nothing is changed,
    and the hint's full refresh rebuilds. A path outside the dataset is never followed."""
    with Emulator(calls=200, reps=5, seed=4, days=5) as emu:
        client = emu.client(progress=False)
        start = client.calls(columns=["date"]).to_polars()["date"].min()
        path = tmp_path / "calls"
        sync_calls(client, path, start_date=start)
        victim = tmp_path / "victim.txt"
        victim.write_text("keep me")
        (path / STAGING_DIR).mkdir()
        damage(path / STAGING_DIR / PLAN_FILE)
        before = sorted((p, p.stat().st_mtime_ns) for p in path.rglob("*.parquet"))
        with pytest.raises(converz.InvalidParameterError) as err:
            sync_calls(client, path)
        assert PLAN_FILE in str(err.value) and "full_refresh=True" in str(err.value.hint)
        assert sorted((p, p.stat().st_mtime_ns) for p in path.rglob("*.parquet")) == before
        sync_calls(client, path, start_date=start, full_refresh=True)
        assert victim.read_text() == "keep me"
        assert not (path / "date=2000-01-01").exists() and not (path / STAGING_DIR).exists()
        expected = client.calls(start_date=start).to_polars().sort("call_id")
        assert_frame_equal(dataset(path, "parquet").select(expected.columns), expected)


def test_a_first_run_killed_before_its_first_rename_leaves_the_directory_usable(tmp_path):
    """Outside trial 23c: the state's temporary file a first run killed mid-write leaves made
    every later run refuse the directory as another's ("not empty ... no converz sync state")."""
    with Emulator(calls=200, reps=5, seed=4, days=5) as emu:
        client = emu.client(progress=False)
        path = tmp_path / "calls"
        path.mkdir()
        (path / "._converz_sync.json.tmp").write_text('{"version": 1, "form')
        sync_calls(client, path)
        expected = client.calls().to_polars().sort("call_id")
        assert_frame_equal(dataset(path, "parquet").select(expected.columns), expected)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_first_run_killed_after_its_claim_keeps_its_start_date(tmp_path, fmt):
    """Outside trial 23c: a first run with start_date= killed after it claimed the directory
    (its state saved, no watermark yet) made the next run, without start_date=, fetch every
    day from the beginning: days before the dataset's first."""
    with Emulator(calls=600, reps=5, seed=5, days=20) as emu:
        client = emu.client(progress=False)
        days = client.calls(columns=["date"]).to_polars()["date"]
        start = days.min() + dt.timedelta(days=10)
        path = tmp_path / "calls"
        # Rename 1 claims the directory (the state, no watermark); rename 2 is the plan's.
        assert killed_run(emu, path, fmt, 3, 2, start.isoformat()) == -signal.SIGKILL
        assert json.loads((path / "_converz_sync.json").read_text())["watermark"] is None
        result = sync_calls(client, path, format=fmt)
        assert result.fetched_from == start
        expected = client.calls(start_date=start).to_polars().sort("call_id")
        assert_frame_equal(dataset(path, fmt).select(expected.columns), expected)
