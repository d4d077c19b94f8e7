"""Shared fixtures: emulators on loopback, started once per session where tests only read."""

from __future__ import annotations

import gzip
import json
import logging
import signal
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import converz
from converz.testing import Emulator

READ_CALLS = 30_000
READ_REPS = 120


@pytest.fixture(scope="session")
def read_emulator() -> Iterator[Emulator]:
    """A tenant that no test writes to: read tests compare against it."""
    with Emulator(calls=READ_CALLS, reps=READ_REPS, seed=7) as emu:
        yield emu


@pytest.fixture(scope="session")
def client(read_emulator: Emulator) -> converz.Client:
    return read_emulator.client(progress=False)


@pytest.fixture
def python_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C handler for the test: a process started with SIGINT ignored (a
    background job of a shell without job control, as a CI script may be) would otherwise
    ignore the SIGINT a test sends, rightly."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def write_emulator() -> Iterator[Emulator]:
    """A fresh small tenant per test, for tests that push."""
    with Emulator(calls=5_000, reps=40, seed=3) as emu:
        yield emu


@pytest.fixture(scope="module")
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A small tenant per test module that pushes over the command line (`ids`). The module
    sizes it with ``EMULATOR = {"calls": ..., "reps": ..., "seed": ...}``; a module's own
    ``emu`` fixture replaces this one."""
    size = getattr(request.module, "EMULATOR", {"calls": 100, "reps": 3, "seed": 0})
    with Emulator(**size) as emu:
        yield emu


@pytest.fixture
def temp_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory (``tempfile``'s and a child's ``TMPDIR``) for this test only.

    For tests whose rows left go to a ``converz-remaining-*`` folder there: they stay in
    pytest's own folders, not the machine's /tmp (87 of them were left there).
    """
    folder = tmp_path_factory.mktemp("tempdir")
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture
def ids(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first three call ids of `emu`, with `CONVERZ_BASE_URL`/`CONVERZ_API_KEY` naming it
    for the test (`converz push` and the `Client()` of a test read them)."""
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    calls = emu.client(progress=False).calls(columns=["call_id"]).to_polars()
    return calls["call_id"].sort().head(3).to_list()


def raw_get(emu: Emulator, path: str, **params: Any) -> Any:
    """One plain request, parsed by Python's json: the reference the client is checked against."""
    query = urllib.parse.urlencode(params, doseq=True)
    request = urllib.request.Request(
        f"{emu.url}{path}?{query}",
        headers={"X-API-Key": emu.api_key, "Accept-Encoding": "gzip"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    return json.loads(body)


def all_rows(emu: Emulator, path: str, **params: Any) -> list[dict[str, Any]]:
    return raw_get(emu, path, n_per_page=1_000_000, page=1, **params)


@pytest.fixture
def only_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[logging.Handler], None]]:
    """Makes a handler the `converz` logger's only one, at DEBUG; all undone at the end (and by
    `monkeypatch.undo()`, but for the level, which `setLevel` sets so that logging's cache of
    levels is cleared too)."""
    logger = logging.getLogger("converz")
    level = logger.level

    def put(handler: logging.Handler) -> None:
        monkeypatch.setattr(logger, "propagate", False)
        monkeypatch.setattr(logger, "handlers", [handler])
        logger.setLevel(logging.DEBUG)

    yield put
    logger.setLevel(level)
