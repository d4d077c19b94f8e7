"""A CSV converz writes keeps an empty string apart from a null, so pushing it back is lossless.

Outside session 14: converz's CSV writer (arrow-csv's) wrote both as an empty field, which every
CSV reader (converz's own, polars, pandas) reads as a null, and a push sends a null as "leave
unchanged" (or, with ``--clear``, as "clear"): a fetched file pushed back never set its "".
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from converz.__main__ import main
from converz.testing import Emulator

CALLS = 90


def _notes(n: int) -> list[str | None]:
    """An empty string, a null and a text in turn."""
    return [("" if i % 3 == 0 else None if i % 3 == 1 else f"n{i}") for i in range(n)]


def _held(emu: Emulator) -> pl.DataFrame:
    return emu.client(progress=False).calls(columns=["call_id", "note"]).to_polars().sort("call_id")


def test_a_fetched_csv_pushed_back_sets_its_empty_strings_and_clears_its_nulls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    with Emulator(calls=CALLS, reps=5, seed=14) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        client.push_updates(pl.DataFrame({"call_id": ids, "note": _notes(len(ids))}))
        fetched = _held(emu)
        assert fetched["note"].to_list()[:3] == ["", None, "n2"]

        out = tmp_path / "x.csv"
        argv = ["fetch", "calls", "--columns", "call_id,note", "--page-size", "40", "-o"]
        assert main([*argv, str(out), "--quiet"]) == 0
        # Read back by another reader: "" and null apart, as fetched.
        assert pl.read_csv(out, schema_overrides={"note": pl.String}).equals(fetched)
        # Stdout is written by the same writer.
        assert main([*argv, "-"]) == 0
        lines = capsysbinary.readouterr().out.decode().splitlines()
        assert lines[:4] == ["call_id,note", f'{ids[0]},""', f"{ids[1]},", f'{ids[2]},"n2"']

        # Every note changed, then the file pushed back (nulls clearing) restores them exactly.
        client.push_updates(pl.DataFrame({"call_id": ids, "note": ["changed"] * len(ids)}))
        assert main(["push", str(out), "--clear", "note", "--quiet"]) == 0
        assert _held(emu).equals(fetched)


def test_a_csv_column_holding_only_empty_strings_sets_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(calls=20, reps=3, seed=14) as emu:
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().to_list()
        client.push_updates(pl.DataFrame({"call_id": ids, "note": ["old"] * len(ids)}))
        path = tmp_path / "empty.csv"
        pl.DataFrame({"call_id": ids[:3], "note": ["", None, ""]}).write_csv(path)
        assert main(["push", str(path), "--quiet"]) == 0
        assert _held(emu)["note"].to_list()[:4] == ["", "old", "", "old"]
