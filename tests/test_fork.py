"""A client used before `fork()` works in the child and still in the parent.

Airflow's LocalExecutor, Celery's prefork pool and multiprocessing's 'fork' context fork a
process that has already used converz. The child must not reuse the parent's pooled
connections (their driver threads do not exist in the child): with ``retries=0`` nothing could
hide a request stuck on one.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from typing import Callable

import pytest

import converz
from converz.testing import Emulator

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only"),
    # Python 3.12+ warns that forking a multi-threaded process may deadlock; that is the
    # situation under test.
    pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(calls=3_000, reps=30, seed=11) as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> converz.Client:
    # A short timeout bounds the failure mode: a request stuck on an inherited connection.
    return emulator.client(retries=0, timeout=10, progress=False)


def fingerprint(client: converz.Client) -> tuple[int, int, list[str]]:
    calls = client.calls(campaign=["sales"])
    reps = client.reps().to_polars()
    return len(calls), len(reps), sorted(reps["rep_id"].to_list())


# The 'fork' pool's workers inherit this module global: the client the parent already used.
_inherited: converz.Client | None = None


def _fetch_in_worker(_: int) -> tuple[int, int, list[str]]:
    assert _inherited is not None
    return fingerprint(_inherited)


def in_child(work: Callable[[], tuple[bool, str]]) -> tuple[int, str]:
    """Runs ``work`` in a forked child; its exit code (0: ``work`` said ok) and what it said.

    The child leaves with ``os._exit``, without running the parent's cleanup.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            ok, said = work()
            code = 0 if ok else 2
        except BaseException as err:
            said = f"{type(err).__name__}: {err}"
        finally:
            os.write(write_end, said.encode())
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), report


def test_os_fork_child_and_parent_both_fetch(client):
    expected = fingerprint(client)  # warms the pool: connections stay open in the parent
    assert expected[0] > 0 and expected[1] == 30

    def fetch() -> tuple[bool, str]:
        got = fingerprint(client)
        return got == expected, repr(got)

    code, report = in_child(fetch)
    assert code == 0, report
    assert fingerprint(client) == expected  # the parent's pool is untouched


def test_multiprocessing_fork_pool(client):
    global _inherited
    expected = fingerprint(client)
    _inherited = client
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(2) as pool:
            results = pool.map_async(_fetch_in_worker, range(4)).get(timeout=120)
    finally:
        _inherited = None
    assert results == [expected] * 4
    assert fingerprint(client) == expected


def test_a_closed_client_stays_closed_in_the_child(client):
    client.close()
    pid = os.fork()
    if pid == 0:
        try:
            client.reps()
            code = 1
        except converz.ConverzError as err:
            code = 0 if "closed" in str(err) else 2
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_emulator_started_before_fork_refuses_to_set_faults_in_the_child(emulator):
    """Outside trial 22: set_faults() in a forked child returned, but the server (in the
    parent) never saw it, so a test believed its faults were on."""

    def set_faults() -> tuple[bool, str]:
        try:
            emulator.set_faults(error_rate=1.0)
        except RuntimeError as err:
            return True, str(err)
        return False, "set_faults returned"

    code, report = in_child(set_faults)
    assert code == 0, report
    assert "forked process" in report and str(os.getpid()) in report, report
    # In the parent it still works: the faults it sets are served.
    emulator.set_faults(error_rate=1.0)
    try:
        with pytest.raises(converz.ServerError):
            emulator.client(retries=0, progress=False).reps()
    finally:
        emulator.set_faults()
