"""A fetch to a file logs the 30 s progress line an eager fetch logs, and the CLI shows it.

Outside trial 15: ``converz fetch -o`` and the Airflow fetch operator (``fetch_to_file``) said
nothing for 43 s, so a long fetch in an Airflow or cron log looked hung. The interval is
made 0 here, so every page logs.
"""

from __future__ import annotations

import logging

import pytest

from converz import _progress
from converz.__main__ import main
from converz._cli import fetch_to_file
from converz.testing import Emulator


@pytest.fixture
def every_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_progress, "LOG_EVERY_SECONDS", 0.0)


def test_fetch_to_file_logs_progress_at_info(every_page, read_emulator, tmp_path, caplog):
    client = read_emulator.client(progress=False)
    with caplog.at_level(logging.INFO, logger="converz"):
        rows = fetch_to_file(client, "calls", tmp_path / "c.parquet", page_size=100)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fetch calls:")]
    assert lines, caplog.text
    assert lines[-1].startswith(f"fetch calls: {rows:,} rows, ") and "so far" in lines[-1]
    assert all(r.levelno == logging.INFO for r in caplog.records if "so far" in r.getMessage())


def test_fetch_to_file_is_quiet_before_the_interval(read_emulator, tmp_path, caplog):
    client = read_emulator.client(progress=False)
    with caplog.at_level(logging.INFO, logger="converz"):
        fetch_to_file(client, "calls", tmp_path / "c.parquet", page_size=100)
    assert not [r for r in caplog.records if "so far" in r.getMessage()]


@pytest.mark.parametrize("quiet", [False, True])
def test_the_cli_prints_the_lines_when_stderr_is_not_a_terminal(
    every_page, quiet, tmp_path, monkeypatch, capsys
):
    with Emulator(calls=300, reps=5, seed=4) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        out = tmp_path / "c.csv"
        argv = ["fetch", "calls", "-o", str(out), "--page-size", "50"]
        assert main([*argv, "--quiet"] if quiet else argv) == 0
    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if line.startswith("fetch calls:")]
    if quiet:
        assert progress == [], err
    else:
        assert progress and progress[-1].startswith("fetch calls: 300 rows, "), err
        assert "wrote 300 rows" in err
    # The handler is the command's only: gone once it returns.
    assert not logging.getLogger("converz").handlers
