"""Outside trial 37: logging handlers that stop, log from converz's threads or call converz back;
the CLI without a stderr; a pandas column of booleans beside numbers."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import polars as pl
import pytest

import converz
from converz.testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=2_000, reps=20, seed=37) as emu:
        yield emu


class Seen(logging.Handler):
    """Keeps each record's message and thread; raises `error` on the first whose message starts
    with `prefix`, when given."""

    def __init__(self, error: Any = None, prefix: str = "") -> None:
        super().__init__()
        self.records: list[tuple[str, str]] = []
        self.error = error
        self.prefix = prefix

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.threadName, record.getMessage()))
        if self.error is not None and record.getMessage().startswith(self.prefix):
            error, self.error = self.error, None
            raise error


def ids(client: converz.Client, n: int) -> list[int]:
    return sorted(client.calls(columns=["call_id"]).to_polars()["call_id"].to_list())[:n]


def test_records_of_converzs_threads_are_emitted_on_the_calling_thread(emu, only_handler) -> None:
    """F2, F5, F6: page lines and retries were emitted on converz's own threads, where a
    handler's stop was lost, a handler calling converz back deadlocked, and a record at
    interpreter shutdown crashed the process. Every record now comes on the calling thread,
    before the call returns."""
    seen = Seen()
    only_handler(seen)
    client = emu.client(progress=False, page_size=300)

    def fetch() -> None:
        client.calls()

    worker = threading.Thread(target=fetch, name="caller")
    worker.start()
    worker.join()
    pages = [m for t, m in seen.records if m.startswith("GET /calls page")]
    assert len(pages) >= 7, seen.records
    assert {t for t, _ in seen.records} == {"caller"}, seen.records


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_a_stop_a_handler_raises_on_a_page_line_stops_a_sync(emu, only_handler, tmp_path, stop):
    """F2: a stop raised on a page line (logged on converz's threads) vanished: sync_calls
    returned as if nothing happened, while calls() raised it."""
    only_handler(Seen(stop(), prefix="GET /calls page"))
    client = emu.client(progress=False, page_size=300)
    with pytest.raises(stop):
        client.sync_calls(tmp_path / "data", start_date="2000-01-01")


def test_a_stop_while_the_push_result_is_logged_keeps_the_result(emu, only_handler) -> None:
    """F1: a stop raised by a handler on the push's result line (after every chunk was
    applied) came bare: the result, and what was applied, were lost."""
    client = emu.client(progress=False)
    keys = ids(client, 5)
    only_handler(Seen(KeyboardInterrupt(), prefix="PushResult"))
    with pytest.raises(KeyboardInterrupt) as stopped:
        client.push_updates(pl.DataFrame({"call_id": keys, "label": ["t37"] * 5}))
    cause = stopped.value.__cause__
    assert isinstance(cause, converz.PushError), cause
    assert cause.result.updated == 5 and cause.result.ok
    assert "after it ended" in str(cause)
    fetched = client.calls(columns=["call_id", "label"]).to_polars()
    assert fetched.filter(pl.col("call_id").is_in(keys))["label"].to_list() == ["t37"] * 5
    # Outside trial 67 F4: `remaining` was None, and the documented resume failed ("cannot
    # push a NoneType"). A table without rows, kept through pickling, which sends nothing.
    only_handler(Seen(None, prefix="PushResult"))
    for result in (cause.result, pickle.loads(pickle.dumps(cause.result))):
        assert result.remaining is not None and result.remaining.num_rows == 0
        assert result.remaining.column_names == ["call_id", "label"]
        assert client.push_updates(result.remaining).rows == 0


CALLS_BACK = textwrap.dedent(
    """
    import logging, sys, threading, polars as pl, converz
    from converz.testing import Emulator
    inside = threading.local()
    errors = []

    class CallsBack(logging.Handler):
        def emit(self, record):
            if getattr(inside, "on", False):
                return
            inside.on = True
            try:
                client.reps()
            except converz.ConverzError as err:
                errors.append(str(err))
            finally:
                inside.on = False

    sys.unraisablehook = lambda report: errors.append(repr(report.exc_value))
    with Emulator(calls=500, reps=5) as emu:
        client = emu.client(progress=False, page_size=100)
        logger = logging.getLogger("converz")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(CallsBack())
        print("calls", client.calls().num_rows, flush=True)
        keys = client.calls(columns=["call_id"]).to_polars()["call_id"].head(3)
        print("push", client.push_updates(pl.DataFrame({"call_id": keys, "label": "x"})).updated)
    print("inside another", sum("inside another converz call" in e for e in errors) > 0)
    """
)


def test_a_handler_that_calls_converz_back_neither_panics_nor_hangs() -> None:
    """F5: a handler calling the client from inside a fetch panicked (a runtime started inside
    the runtime, `PanicException`, not even an `Exception`); from the push's result line it
    hung (its lock held while converz's threads waited for it to log). Now a call from inside
    a running one is a `ConverzError` saying so, and one made after it works."""
    done = subprocess.run(
        [sys.executable, "-c", CALLS_BACK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split("\n")[:3] == ["calls 500", "push 3", "inside another True"], (
        done.stdout,
        done.stderr[-3000:],
    )
    assert "panicked" not in done.stderr


def cli(emu: Emulator, *args: str, **run: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
    return subprocess.run(
        [sys.executable, "-m", "converz", *args], env=env, timeout=120, check=False, **run
    )


def test_the_cli_runs_with_stderr_closed(emu) -> None:
    """F3: with fd 2 closed (`2>&-`) every command failed with `AttributeError` on
    `sys.stderr.isatty()`, and the error line went to stdout, the CSV of `fetch -o -`."""
    done = cli(
        emu,
        "fetch",
        "calls",
        "--columns",
        "call_id",
        "-o",
        "-",
        stdout=subprocess.PIPE,
        preexec_fn=lambda: os.close(2),
    )
    assert done.returncode == 0
    lines = done.stdout.decode().splitlines()
    assert lines[0] == "call_id" and len(lines) == 2_001, lines[:3]


def test_a_fetch_whose_stderr_reader_went_away_ends_0_with_its_file(emu, tmp_path) -> None:
    """F3: with stderr a pipe whose reader had gone, a fetch that wrote its whole file exited 1
    on its last progress line (`BrokenPipeError`)."""
    read, write = os.pipe()
    os.close(read)
    out = tmp_path / "calls.csv"
    done = cli(emu, "fetch", "calls", "-o", str(out), stderr=write)
    os.close(write)
    assert done.returncode == 0
    assert len(out.read_text().splitlines()) == 2_001


@pytest.mark.parametrize(
    "values",
    [[1.5, True, False], [2, 2.5, True], [True, 1.5, 0], [0, None, True]],
)
def test_a_pandas_column_of_booleans_beside_numbers_is_refused(emu, values) -> None:
    """F4: pyarrow sent `[1.5, True, False]` as `[1.5, 1.0, 0.0]`, silently, and refused the
    same values when a boolean came first; a file push refuses the mix."""
    client = emu.client(progress=False)
    keys = ids(client, 3)
    before = emu.wire_stats()["responses"]
    frame = pd.DataFrame({"call_id": keys, "flag": pd.Series(values, dtype=object)})
    with pytest.raises(converz.InvalidParameterError, match="holds booleans and numbers"):
        client.push_updates(frame)
    assert emu.wire_stats()["responses"] == before


def test_a_pandas_column_of_one_kind_with_nulls_is_pushed(emu) -> None:
    client = emu.client(progress=False)
    keys = ids(client, 3)
    frame = pd.DataFrame(
        {
            "call_id": keys,
            "flag": pd.Series([True, None, False], dtype=object),
            "score": pd.Series([1, 2.5, None], dtype=object),
        }
    )
    assert client.push_updates(frame).updated == 3


class NoTerminal:
    """A stderr some IDE hosts install: it writes, and has no `isatty`."""

    def __init__(self) -> None:
        self.text: list[str] = []

    def write(self, text: str) -> int:
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("stderr", [None, NoTerminal()], ids=["none", "no-isatty"])
@pytest.mark.parametrize("progress", [None, True])
def test_a_fetch_and_a_push_run_without_a_usable_stderr(emu, monkeypatch, stderr, progress):
    """F3: with `sys.stderr` None (pythonw, fd 2 closed) or a writer without `isatty`, a fetch
    and a push with the default `progress` raised `AttributeError` before sending anything."""
    client = emu.client()
    keys = ids(client, 2)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("CONVERZ_NO_PROGRESS", raising=False)
    monkeypatch.setattr(sys, "stderr", stderr)
    assert client.calls(progress=progress).num_rows == 2_000
    pushed = client.push_updates(
        pl.DataFrame({"call_id": keys, "label": ["e", "f"]}), progress=progress
    )
    assert pushed.updated == 2


EXITING = textwrap.dedent(
    """
    import atexit, logging, threading, time, converz
    from converz.testing import Emulator

    records = []

    class Count(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("converz")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Count())
    with Emulator(calls=3000, reps=5, latency=0.15) as emu:
        client = emu.client(progress=False, page_size=100, max_concurrency=1)
        fetch = threading.Thread(target=client.calls, daemon=True)
        fetch.start()
        while not records:
            time.sleep(0.01)
        atexit._run_exitfuncs()  # what the interpreter's exit runs first
        time.sleep(0.3)  # a tick under way when the flag was set ends
        seen = len(records)
        time.sleep(1.0)
        print("still fetching", fetch.is_alive(), flush=True)
        print("entered Python while exiting", len(records) != seen, flush=True)
        fetch.join()
        print("emitted at the end", len(records) > seen, flush=True)
    """
)


def test_once_the_interpreter_exits_a_daemon_threads_fetch_no_longer_enters_python() -> None:
    """Trials 37 F6 and 38 F2: a script ending while a daemon thread fetched crashed now and
    then (exit 139): the fetch's thread attached to the interpreter being torn down, at its
    0.1 s tick. Once the interpreter's `atexit` callbacks run, the tick enters Python no more
    (seen here by its log records stopping while the fetch goes on)."""
    done = subprocess.run(
        [sys.executable, "-c", EXITING], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [
        "still fetching True",
        "entered Python while exiting False",
        "emitted at the end True",
    ], (done.stdout, done.stderr[-2000:])


def test_fetch_to_stdout_with_stdout_closed_is_refused_before_any_request(emu) -> None:
    """Trial 38 F3: `fetch -o -` with stdout closed (`1>&-`) exited 1 with an untyped
    `AttributeError` on `sys.stdout.buffer`."""
    before = emu.wire_stats()["responses"]
    done = cli(
        emu, "fetch", "calls", "-o", "-", stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1)
    )
    assert done.returncode == 1
    said = done.stderr.decode()
    assert "InvalidParameterError" in said and "stdout, which is closed" in said, said
    assert emu.wire_stats()["responses"] == before
