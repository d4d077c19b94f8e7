"""Ctrl-C stops a fetch or a push that is waiting on the network, in a notebook or a script."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow as pa
import pytest

import converz
from converz.testing import Emulator

CHILD = textwrap.dedent(
    """
    import signal, sys, polars as pl, converz
    # As in a terminal or notebook: a process started with SIGINT ignored (a background job
    # of a non-interactive shell) would not raise KeyboardInterrupt at all.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    client = converz.Client(base_url=sys.argv[1], api_key=sys.argv[2], progress=False)
    print("started", flush=True)
    try:
        if sys.argv[3] == "fetch":
            client.calls()
        else:
            client.push_updates(pl.DataFrame({"call_id": [1000], "label": ["x"]}))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(0)
    print("finished", flush=True)
    sys.exit(1)
    """
)


@pytest.mark.parametrize("action", ["fetch", "push"])
def test_ctrl_c_interrupts_a_request_in_flight(action):
    # Every answer waits 60 s, so only the interrupt can end the call early.
    with Emulator(calls=100, reps=2, latency=60.0) as emu:
        command = [sys.executable, "-c", CHILD, emu.url, emu.api_key, action]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "started"
            time.sleep(0.5)  # let the request reach the server
            sent = time.monotonic()
            child.send_signal(signal.SIGINT)
            assert child.stdout.readline().strip() == "interrupted"
            assert child.wait(timeout=30) == 0
            # Well before the 60 s answer: the call noticed the signal, it did not run out.
            assert time.monotonic() - sent < 30


STREAM_CHILD = textwrap.dedent(
    """
    import signal, sys, converz
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in CHILD
    client = converz.Client(base_url=sys.argv[1], api_key=sys.argv[2], progress=False)
    stream = client.iter_calls(page_size=10)
    print("started", flush=True)
    try:
        next(stream)
    except KeyboardInterrupt:
        pass
    try:
        next(stream)  # the interrupted page may count as handed out: going on would skip it
    except RuntimeError as err:
        print("refused" if "stopped at KeyboardInterrupt" in str(err) else str(err), flush=True)
        sys.exit(0)
    print("went on", flush=True)
    sys.exit(1)
    """
)


def test_a_stream_interrupted_mid_page_refuses_to_go_on():
    with Emulator(calls=100, reps=2, latency=60.0) as emu:
        command = [sys.executable, "-c", STREAM_CHILD, emu.url, emu.api_key]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "started"
            time.sleep(0.5)
            child.send_signal(signal.SIGINT)
            assert child.stdout.readline().strip() == "refused"
            assert child.wait(timeout=30) == 0


def test_a_stream_started_before_fork_refuses_in_the_child():
    with Emulator(calls=500, reps=2) as emu:
        stream = emu.client(progress=False).iter_calls(page_size=50)
        first = next(stream).num_rows
        pid = os.fork()
        if pid == 0:  # the child: a clear error, at once, never a hang on the parent's pages
            try:
                next(stream)
                code = 1
            except RuntimeError as err:
                code = 0 if "fork()" in str(err) else 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        rest = sum(page.num_rows for page in stream)
    assert os.waitstatus_to_exitcode(status) == 0
    assert first + rest == 500  # the parent's stream is untouched


def test_a_signal_pending_at_hand_out_keeps_the_page_for_the_next_call():
    # The signal is made pending and the stream asked for its next page in one C call chain
    # (map over C iterators), so no Python bytecode runs between the two: the only place the
    # signal can be raised is inside the stream, before it hands the page out. Raised after the
    # page left (as Python does once a call returns), the page would be lost with the exception.
    import _thread

    import pyarrow as pa

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with Emulator(calls=20_000, reps=5) as emu:
            # What a `for` loop drives: iter(stream), so no bytecode of ours runs in between.
            # A forced type decodes the reference way, in batches of 4,096 rows (the fast path
            # makes a page one batch), so a page of 10,000 rows is handed out in three.
            stream = emu.client(progress=False).iter_calls(
                page_size=10_000, schema={"call_id": "int64"}
            )
            pages = iter(stream)
            seen = pa.table(next(pages)).column("call_id").to_pylist()
            assert len(seen) < 10_000  # the rest of the page waits in the stream: no fetch next
            interrupt_then_next = map(next, [iter(_thread.interrupt_main, object()), pages])
            with pytest.raises(KeyboardInterrupt):
                list(interrupt_then_next)
            for page in stream:
                assert isinstance(page, converz.Table)
                seen.extend(pa.table(page).column("call_id").to_pylist())
            everything = emu.client(progress=False).calls(columns=["call_id"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(seen) == sorted(pa.table(everything).column("call_id").to_pylist())


def _signal_as_the_stream_returns(signum: int):
    # A signal arriving just as TableStream.__next__'s call into the Rust stream returns: Python
    # runs its handler there, after the page left the stream and before the frame could bind it.
    def hook(frame, event, arg):
        if (
            event == "c_return"
            and frame.f_code.co_name == "__next__"
            and "_table" in frame.f_code.co_filename
        ):
            import _thread

            sys.setprofile(None)
            _thread.interrupt_main(signum)

    return hook


def _raise_timeout(signum, frame):
    raise TimeoutError("the task's time is up")


# A Ctrl-C, and a handler of another signal raising its own exception (a SIGALRM timeout, an
# Airflow task's SIGTERM): either loses the page unless the stream takes it back.
SIGNALS = {
    "ctrl-c": (signal.SIGINT, signal.default_int_handler, KeyboardInterrupt),
    "handler-raising": (signal.SIGUSR1, _raise_timeout, TimeoutError),
}


@pytest.mark.parametrize("case", list(SIGNALS))
def test_a_signal_raised_as_next_returns_keeps_the_page(case):
    import pyarrow as pa

    signum, handler, raised = SIGNALS[case]
    previous = signal.signal(signum, handler)
    try:
        with Emulator(calls=20_000, reps=5) as emu:
            stream = emu.client(progress=False).iter_calls(page_size=10_000)
            seen = pa.table(next(stream)).column("call_id").to_pylist()
            sys.setprofile(_signal_as_the_stream_returns(signum))
            try:
                with pytest.raises(raised):
                    next(stream)
            finally:
                sys.setprofile(None)
            # Partly read with next(), the stream goes on in a for loop (it is not "consumed").
            for page in stream:
                seen.extend(pa.table(page).column("call_id").to_pylist())
            everything = emu.client(progress=False).calls(columns=["call_id"])
    finally:
        signal.signal(signum, previous)
    assert sorted(seen) == sorted(pa.table(everything).column("call_id").to_pylist())


@pytest.mark.parametrize("action", ["calls", "iter_calls", "push"])
def test_a_stop_raised_while_the_logger_is_asked_stops_the_operation(monkeypatch, action):
    """Each operation asks the `converz` logger which levels it takes, in Python; a signal
    handler that ran there (Ctrl-C, the CLI's SIGTERM) raised into a call whose error was
    dropped: the stop was lost, and the CLI, which takes one stop only, let a fetch sent
    SIGTERM run to its end and exit 0 (a flaky CLI test). Such an exception now stops the
    operation, before any request."""
    import logging

    with Emulator(calls=20, reps=2) as emu:
        client = emu.client(progress=False)
        # A first operation, so the log bridge is set up and asks the logger from now on.
        client.reps()
        logger = logging.getLogger("converz")
        before = emu.wire_stats()["responses"]

        def operation() -> object:
            if action == "calls":
                return client.calls()
            if action == "iter_calls":
                return next(iter(client.iter_calls()))
            return client.push_updates(pa.table({"call_id": [1], "label": ["x"]}))

        def stopped(level: int) -> bool:
            raise KeyboardInterrupt

        monkeypatch.setattr(logger, "isEnabledFor", stopped, raising=False)
        with pytest.raises(KeyboardInterrupt):
            operation()
        assert emu.wire_stats()["responses"] == before
        monkeypatch.undo()
        assert operation() is not None


SCAN_CHILD = textwrap.dedent(
    """
    import signal, sys, converz
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in CHILD
    client = converz.Client(
        base_url=sys.argv[1], api_key=sys.argv[2], progress=False, max_concurrency=2
    )
    rows = 0
    print("started", flush=True)
    try:
        for batch in client.scan_calls(page_size=200).collect_batches():
            rows += batch.height
        # polars (2.1) may end the batches of a query that a Ctrl-C cancelled as if they were
        # all, and raise the KeyboardInterrupt as the next statement runs: here.
        print(f"ended normally with {rows} rows", flush=True)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"interrupted after {rows} rows", flush=True)
        sys.exit(0)
    """
)


@pytest.mark.parametrize("after", [0.5, 1.0])
def test_ctrl_c_while_iterating_a_scans_batches_is_raised(after):
    # The README's way to stop a long lazy read promptly. The signal used to be handled inside
    # the callback of a weak dictionary of converz's (a stream's objects dying inside polars),
    # where Python reports and drops it: the loop then ended normally with part of the rows
    # (outside trial 50 F1: 5 of 6 signals). 100 pages of 200 rows, each answered after 0.1 s.
    with Emulator(calls=20_000, reps=5, seed=11, latency=0.1) as emu:
        command = [sys.executable, "-c", SCAN_CHILD, emu.url, emu.api_key]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "started"
            time.sleep(after)
            child.send_signal(signal.SIGINT)
            said = child.stdout.readline().strip()
            assert said.startswith("interrupted"), said
            assert child.wait(timeout=30) == 0
