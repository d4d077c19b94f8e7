"""bench/methods.py sizes a polars frame by the buffers it holds, views included.

`estimated_size()` counts a string column's string bytes, not the 16-byte view polars stores
for every value; the benchmark's peak RSS target (1.25 times the frame) is judged against the
frame's buffers, which is what the frame keeps resident.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "methods.py"


def frame_bytes(result: object) -> tuple[int, int | None]:
    spec = importlib.util.spec_from_file_location("bench_methods", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._frame_bytes(result)


def test_a_string_column_is_sized_with_its_views():
    rows = 100_000
    frame = pl.DataFrame({"short": ["abcdefgh"] * rows, "n": list(range(rows))})
    size, estimated = frame_bytes(frame)
    # 8 bytes of text inlined in a 16-byte view, and 8 bytes an integer.
    assert estimated == 8 * rows + 8 * rows
    assert 16 * rows + 8 * rows <= size <= 16 * rows + 8 * rows + 4096


def test_a_count_is_its_own_size_and_other_results_are_refused():
    assert frame_bytes(1234) == (1234, None)
    with pytest.raises(TypeError):
        frame_bytes("not a frame")
