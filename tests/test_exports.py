"""The public surface: exports, stubs, typing marker, progress and logging behaviour."""

from __future__ import annotations

import importlib.resources
import logging
import types

import converz
import converz.exceptions
from converz import _core, _progress
from converz.testing import Emulator


def test_all_lists_exactly_the_public_names():
    public = {
        n
        for n, v in vars(converz).items()
        if n.isidentifier() and not n.startswith("_") and not isinstance(v, types.ModuleType)
    }  # submodules (exceptions, testing, dask, ...) are imported by name, not listed
    assert set(converz.__all__) == public | {"__version__"}
    for name in converz.exceptions.__all__:
        assert issubclass(getattr(converz, name), converz.ConverzError)


def test_native_module_matches_its_stub():
    stub = (importlib.resources.files("converz") / "_core.pyi").read_text()
    native = {name for name in vars(_core) if not name.startswith("_")}
    for name in native - {"build_profile"}:
        declared = (f"class {name}", f"def {name}(", f"\n{name}: Final[")
        assert any(form in stub for form in declared), name
    assert (importlib.resources.files("converz") / "py.typed").is_file()


def test_progress_is_off_when_not_a_tty(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(_progress, "_DELAY_SECONDS", 0.0)
    for progress in (None, False):  # pytest captures stderr: not a terminal
        with _progress.progress_bar(progress, "x") as callback:
            assert callback is not None  # the log lines' (see below), drawing nothing
            callback(10, 1, 100, 0)
        assert capsys.readouterr().err == ""


def test_a_long_fetch_logs_its_progress_without_a_bar(read_emulator, caplog, monkeypatch):
    """Airflow and cron logs see a long fetch move (outside trial: a listing that never ended
    said nothing)."""
    monkeypatch.setattr(_progress, "LOG_EVERY_SECONDS", 0.0)
    caplog.set_level(logging.INFO, logger="converz")
    read_emulator.client(progress=False).calls(columns=["call_id"], page_size=1_000)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(line.startswith("calls: ") and " rows, " in line for line in lines), lines
    assert any("30,000 rows" in line for line in lines), lines


def test_forced_progress_draws_and_reports_totals(read_emulator, capsys, monkeypatch):
    monkeypatch.setattr(_progress, "_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(_progress, "_make_tqdm", lambda description: None)
    client = read_emulator.client(progress=True)
    client.calls(columns=["call_id"], page_size=1_000)
    err = capsys.readouterr().err
    assert "calls:" in err
    assert "30,000 rows" in err


def test_the_bar_draws_nothing_before_the_first_rows(monkeypatch, capsys):
    """Outside trial 22: tqdm's scaled count drew "0.00 rows" while the first page was on its
    way."""
    monkeypatch.setattr(_progress, "_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(_progress, "_make_tqdm", lambda description: None)
    with _progress.progress_bar(True, "calls") as callback:
        assert callback is not None
        callback(0, 0, 0, 0)
        assert capsys.readouterr().err == ""
        callback(1, 1, 100, 0)
        callback(5, 2, 100, 1)
    # One of a thing is said in the singular (outside trial 28: "1 pages").
    assert (
        capsys.readouterr().err
        == "\rcalls: 1 row, 1 page, 0 MB\rcalls: 5 rows, 2 pages, 0 MB, 1 retry\n"
    )


def test_retries_are_logged_to_the_converz_logger(caplog):
    from converz.testing import Emulator

    caplog.set_level(logging.WARNING, logger="converz")
    with Emulator(calls=500, reps=5, seed=3, error_rate=0.5) as emu:
        emu.client(retries=20, backoff=0.001, progress=False).calls(page_size=50)
    assert any("retrying" in r.getMessage() and r.name == "converz" for r in caplog.records)


def test_a_level_set_after_the_first_fetch_is_seen_by_the_next(read_emulator, caplog):
    """The log bridge caches the `converz` logger's level on first use; a level lowered later
    (DEBUG in a notebook, to see a slow fetch's per-page timings) was never seen, so those
    records never came. Each operation now sees the level as it is when it starts."""
    client = read_emulator.client(progress=False)
    logger = logging.getLogger("converz")
    old = logger.level
    try:
        logger.setLevel(logging.WARNING)
        client.calls(columns=["call_id"], page_size=10_000)  # the bridge caches WARNING
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger="converz")
        client.calls(columns=["call_id"], page_size=10_000)
        debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
        assert any("into the listing" in line for line in debug), debug
        caplog.clear()
        logger.setLevel(logging.WARNING)  # and raised again: they stop
        client.calls(columns=["call_id"], page_size=10_000)
        assert not [r for r in caplog.records if r.levelno < logging.WARNING]
    finally:
        logger.setLevel(old)


def test_logging_disabled_for_one_fetch_does_not_silence_the_next(read_emulator, caplog):
    """Outside trial 23b: a fetch while `logging.disable()` was on (or the logger `disabled`,
    as `dictConfig` sets) left the bridge silent after logging was enabled again, the level
    unchanged, until a fetch ran at another level."""
    client = read_emulator.client(progress=False)
    caplog.set_level(logging.DEBUG, logger="converz")
    logger = logging.getLogger("converz")
    for off, on in (
        (lambda: logging.disable(logging.CRITICAL), lambda: logging.disable(logging.NOTSET)),
        (lambda: setattr(logger, "disabled", True), lambda: setattr(logger, "disabled", False)),
    ):
        off()
        try:
            client.calls(columns=["call_id"], page_size=10_000)
        finally:
            on()
        caplog.clear()
        client.calls(columns=["call_id"], page_size=10_000)
        debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
        assert any("into the listing" in line for line in debug), debug


def test_a_page_asked_for_again_says_why_in_its_debug_line(caplog):
    """Outside trial 23b F8: the listing's last page is asked for again once every earlier
    page is in (did rows move onto it?), and both lines read "GET /calls page 7": it looked
    like one line logged twice. A page asked for again now says why.

    The last page is read again only when it was asked for before every earlier page was in.
    Every answer here waits 20 ms, so with 4 pages in flight the short last page (page 10 of
    6,650 calls) is asked for while pages before it are still on the wire; without the wait a
    loaded machine could answer each page before the next was asked for (a CI run did)."""
    caplog.set_level(logging.DEBUG, logger="converz")
    with Emulator(calls=6_650, reps=40, seed=7, latency=0.02) as emu:
        emu.client(progress=False, max_concurrency=4).calls(columns=["call_id"], page_size=700)
    lines = [r.getMessage() for r in caplog.records if "into the listing" in r.getMessage()]
    labels = [line.split(": sent")[0] for line in lines]
    assert len(labels) == len(set(labels)), labels
    assert any("(read again: did rows move onto it?)" in label for label in labels), labels
