"""A named pandas index is data the user chose; an unnamed one is row numbering.

Outside trial 13: ``df.set_index("call_id")``, pushed as a frame or as a Parquet file pandas
wrote, was dropped as "the pandas index", and the push said the data had no key column.
"""

from __future__ import annotations

import pytest

from converz._cli import push_file
from converz.testing import Emulator

pd = pytest.importorskip("pandas")


def _ids(emu: Emulator, spacing: str) -> list[int]:
    ids = sorted(emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"])
    if spacing == "even":
        # Evenly spaced ids: pandas may keep them as a RangeIndex, stored only as metadata.
        step = ids[1] - ids[0]
        even = list(range(ids[0], ids[0] + 40 * step, step))
        assert set(even) <= set(ids), "the emulator's first ids are evenly spaced"
        return even
    return ids[:40:3]


def _marked(emu: Emulator) -> dict[int, int]:
    got = emu.client(progress=False).calls(columns=["call_id", "mark"]).to_polars()
    return dict(got.drop_nulls("mark").iter_rows())


@pytest.mark.parametrize("spacing", ["irregular", "even"])
@pytest.mark.parametrize("how", ["frame", "parquet"])
def test_an_index_named_call_id_is_pushed_as_the_key(how, spacing, tmp_path):
    with Emulator(calls=200, reps=5, seed=9) as emu:
        ids = _ids(emu, spacing)
        frame = pd.DataFrame({"call_id": ids, "mark": range(len(ids))}).set_index("call_id")
        if spacing == "even":
            frame.index = pd.RangeIndex(ids[0], ids[-1] + 1, ids[1] - ids[0], name="call_id")
        client = emu.client(progress=False)
        if how == "frame":
            result = client.push_updates(frame)
        else:
            path = tmp_path / "scores.parquet"
            frame.to_parquet(path)
            result = push_file(client, path)
        assert result.updated == len(ids)
        assert _marked(emu) == dict(zip(ids, range(len(ids))))


def test_an_unnamed_index_is_not_pushed(tmp_path):
    with Emulator(calls=200, reps=5, seed=9) as emu:
        ids = _ids(emu, "irregular")
        frame = pd.DataFrame({"call_id": ids, "mark": 1}).iloc[1:]  # index 1, 2, ...: unnamed
        path = tmp_path / "filtered.parquet"
        frame.to_parquet(path)
        client = emu.client(progress=False)
        client.push_updates(frame)
        push_file(client, path)
        got = client.calls().to_polars()
    assert not any(name.startswith("__index_level") for name in got.columns)
    assert "index" not in got.columns
