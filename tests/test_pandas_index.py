"""A named pandas index is data the user chose; an unnamed one is row numbering.

Row numbering turned into a column by ``reset_index()`` is refused, as is an index that shares
a column's name and holds other values (outside trial 18, F17).

Outside trial 13: ``df.set_index("call_id")``, pushed as a frame or as a Parquet file pandas
wrote, was dropped as "the pandas index", and the push said the data had no key column.
"""

from __future__ import annotations

import pytest

import converz
from converz._cli import push_file
from converz.testing import Emulator

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")


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


def _refused(emu: Emulator, frame: object) -> str:
    """The push's error; asserts it sent nothing (no response counted) and created nothing."""
    client = emu.client(progress=False)
    before = emu.wire_stats()["responses"]
    with pytest.raises(converz.InvalidParameterError) as info:
        client.push_updates(frame)
    assert emu.wire_stats()["responses"] == before, "a request was sent"
    # dry_run refuses it too: the check is of the frame, before any encoding.
    with pytest.raises(converz.InvalidParameterError):
        client.push_updates(frame, dry_run=True)
    return str(info.value)


def test_reset_index_row_positions_are_refused_before_any_request():
    """Outside trial 18 (F17a): this common line pushed `{"index": [2, 3, 1], ...}`, creating
    an attribute `index` of old row positions on every call sent, unsaid."""
    with Emulator(calls=200, reps=5, seed=9) as emu:
        ids = _ids(emu, "irregular")[:4]
        scores = pd.DataFrame({"call_id": ids, "qa": [0.2, 0.9, 0.5, 0.7]})
        common = scores[scores.qa > 0.4].sort_values("qa").reset_index()
        assert list(common.columns) == ["index", "call_id", "qa"]
        twice = common.reset_index()  # `index` taken: pandas names the next one level_0
        multi = scores.set_index([pd.Index([0, 1, 2, 3]), pd.Index([5, 6, 7, 8])]).reset_index()
        for frame, column in [(common, "index"), (twice, "level_0"), (multi, "level_0")]:
            err = _refused(emu, frame)
            assert f"column {column!r}" in err and "reset_index()" in err, err
            assert f"df.drop(columns={column!r})" in err and "reset_index(drop=True)" in err
            assert "preserve_index=False" in err and "Nothing was sent" in err, err
        got = emu.client(progress=False).calls().to_polars()
        assert "index" not in got.columns and "level_0" not in got.columns


def test_a_column_really_named_index_is_pushed_as_given():
    """The rule is a name and an integer type: a text column `index` is data, and a frame
    passed as Arrow (the documented way to mean it) is taken as given."""
    with Emulator(calls=200, reps=5, seed=9) as emu:
        ids = _ids(emu, "irregular")[:3]
        client = emu.client(progress=False)
        frame = pd.DataFrame({"call_id": ids, "index": [7, 8, 9]})
        assert client.push_updates(pa.Table.from_pandas(frame, preserve_index=False)).updated == 3
        text = pd.DataFrame({"call_id": ids, "level_0": ["a", "b", "c"]})
        assert client.push_updates(text).updated == 3
        got = client.calls(columns=["call_id", "index", "level_0"]).to_polars()
        got = got.filter(got["call_id"].is_in(ids)).sort("call_id")
        assert got["index"].to_list() == [7, 8, 9]
        assert got["level_0"].to_list() == ["a", "b", "c"]


def test_an_index_and_a_column_of_one_name_that_differ_are_refused():
    """Outside trial 18 (F17b): index `call_id` [2] and column `call_id` [1] pushed the
    column and dropped the index without a word."""
    with Emulator(calls=200, reps=5, seed=9) as emu:
        a, b = _ids(emu, "irregular")[:2]
        frame = pd.DataFrame({"call_id": [a], "mark": [5]}, index=pd.Index([b], name="call_id"))
        err = _refused(emu, frame)
        assert "both the index and a column are named 'call_id'" in err, err
        assert "df.reset_index(drop=True)" in err and "df.drop(columns='call_id')" in err, err
        # Any shared name, not only the key's.
        frame = pd.DataFrame({"call_id": [a], "mark": [5]}, index=pd.Index([6], name="mark"))
        assert "named 'mark'" in _refused(emu, frame)
        assert "mark" not in emu.client(progress=False).calls().to_polars().columns


def test_set_index_without_drop_is_one_field_pushed_once():
    """`set_index("call_id", drop=False)` keeps the same values in both: no ambiguity."""
    with Emulator(calls=200, reps=5, seed=9) as emu:
        ids = _ids(emu, "irregular")[:3]
        frame = pd.DataFrame({"call_id": ids, "mark": [1, 2, 3]}).set_index("call_id", drop=False)
        assert emu.client(progress=False).push_updates(frame).updated == 3
        assert _marked(emu) == dict(zip(ids, [1, 2, 3]))


@pytest.mark.parametrize("zone", [None, "Europe/Amsterdam"])
def test_an_object_column_mixing_zoned_and_naive_times_is_refused(zone):
    """Outside trial 19: pyarrow made the mix one naive column, so 09:00Z was sent as 09:00
    wall clock (10:00 in Amsterdam). Refused as the file push refuses it; one kind alone goes."""
    import datetime as dt

    with Emulator(calls=20, reps=2, seed=19) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].to_list()[:3]
        naive, aware = dt.datetime(2025, 1, 1, 9), dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC)
        day = dt.date(2025, 1, 1)
        zones = "mixes date-times with a time zone and without one"
        dates = "mixes dates with date-times"
        # Outside trial 19b: inside lists and dicts, and a date before a time (whose time was
        # cut to its day, whichever came first after a None).
        cases = [
            ([naive, aware], "'x' " + zones),
            ([[naive, aware], [aware]], "'x' (inside it, at items) " + zones),
            ([{"t": naive}, {"t": aware}], "'x' (inside it, at t) " + zones),
            ([day, dt.datetime(2025, 1, 2, 9, 30)], "'x' " + dates),
            ([None, day, pd.Timestamp("2025-01-02 09:30")], "'x' " + dates),
            ([[day], [naive]], "'x' (inside it, at items) " + dates),
        ]
        for values, said in cases:
            keys = ids[: len(values)]
            mixed = pd.DataFrame({"call_id": keys, "x": pd.Series(values, dtype=object)})
            before = emu.wire_stats()["responses"]
            with pytest.raises(converz.InvalidParameterError) as info:
                client.push_updates(mixed, timezone=zone)
            assert said in str(info.value), str(info.value)
            assert emu.wire_stats()["responses"] == before, "a request was sent"
        # Different places may hold different kinds: a date in one key, a time in another.
        apart = pd.DataFrame(
            {"call_id": ids[:2], "x": pd.Series([{"d": day, "t": naive}] * 2, dtype=object)}
        )
        assert client.push_updates(apart, timezone=zone).updated == 2
        one_kind = pd.DataFrame({"call_id": ids[:2], "x": pd.Series([aware, aware], dtype=object)})
        assert client.push_updates(one_kind, timezone=zone).updated == 2
