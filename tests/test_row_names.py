"""A CSV whose first column is R's row names or pandas' index is refused saying so.

Outside trial 16 (F2): R's ``write.csv`` (``row.names = TRUE`` by default: a first header field
``""``) and pandas' ``to_csv`` (its index under an empty header) got the core's "rename the
column" advice, and a file read back by pandas and written again (``Unnamed: 0``) pushed the
row numbers as an attribute of every call. Now each is refused before any request, naming what
the column is and how to write the file without it; the file is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import converz
from converz.__main__ import main
from converz.testing import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(calls=20, reps=3, seed=4) as emulator:
        yield emulator


@pytest.fixture
def ids(emu: Emulator) -> list[int]:
    got = emu.client(progress=False).calls(columns=["call_id"]).to_polars()
    return sorted(got["call_id"].to_list())[:3]


def _r_csv(path: Path, ids: list[int], newline: str = "\n") -> Path:
    """As R's write.csv(df, path) writes it: every field quoted, row names first."""
    lines = ['"","call_id","rowscore"']
    lines += [f'"{n}",{i},{n * 10}' for n, i in enumerate(ids, start=1)]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def _frame(ids: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"call_id": ids, "rowscore": [10 * n for n in range(1, len(ids) + 1)]})


def _pushed(emu: Emulator) -> bool:
    """Whether any push has set ``rowscore`` (or an ``Unnamed: 0``) on the tenant."""
    try:
        emu.client(progress=False).calls(metric=["rowscore"])
    except converz.InvalidRequestError:  # "unknown metric": never sent
        return False
    return True


@pytest.mark.parametrize(
    ("writer", "says", "fix"),
    [
        ("R", "R's row names", "write.csv(df, path, row.names = FALSE)"),
        ("R-windows", "R's row names", "write.csv(df, path, row.names = FALSE)"),
        ("pandas", "pandas' index", "df.to_csv(path, index=False)"),
        ("pandas-again", "'Unnamed: 0', the name pandas gives", "index=False"),
    ],
)
def test_row_names_or_an_index_are_refused_saying_what_they_are(
    emu, ids, tmp_path, monkeypatch, capsys, writer, says, fix
):
    path = tmp_path / "scores.csv"
    if writer.startswith("R"):
        _r_csv(path, ids, "\r\n" if writer == "R-windows" else "\n")
    elif writer == "pandas":
        _frame(ids).to_csv(path)  # the default: index=True
    else:  # read back (the index becomes "Unnamed: 0") and written without an index
        _frame(ids).to_csv(path)
        pd.read_csv(path).to_csv(path, index=False)
        assert path.read_text().startswith("Unnamed: 0,call_id")
    data = path.read_bytes()
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    sent = emu.wire_stats()["responses"]
    assert main(["push", str(path), "--quiet"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("converz: error: InvalidParameterError: ") and said.count("\n") == 1
    assert says in said and fix in said and "Nothing was sent" in said
    assert "rename the column" not in said
    with pytest.raises(converz.InvalidParameterError, match=says.replace("(", r"\(")):
        emu.client(progress=False).push_file(path)
    assert emu.wire_stats()["responses"] == sent and not _pushed(emu)
    assert path.read_bytes() == data  # nothing lost: the file is as it was


def test_the_file_written_as_the_advice_says_is_pushed(emu, ids, tmp_path):
    path = tmp_path / "scores.csv"
    _frame(ids).to_csv(path, index=False)
    result = emu.client(progress=False).push_file(path)
    assert result.rows == result.updated == 3
    got = emu.client(progress=False).calls(metric=["rowscore"]).to_polars()
    held = dict(zip(got["call_id"].to_list(), got["rowscore"].to_list()))
    assert [held[i] for i in ids] == [10, 20, 30]


def test_an_empty_name_elsewhere_keeps_the_cores_message(emu, ids, tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(f"call_id,,x\n{ids[0]},1,2\n", encoding="utf-8")
    with pytest.raises(converz.InvalidParameterError, match="an empty column name"):
        emu.client(progress=False).push_file(path)
