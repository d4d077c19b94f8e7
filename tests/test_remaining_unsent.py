"""Rows a push did not apply are never written over, and a file is converz's only with its record.

Outside trial 16 (F9): a push of ``rep.csv`` stopped partway left its rows in
``rep.remaining.csv``; a new ``rep.csv`` (other bytes) was pushed and stopped partway too, and its
rows replaced the first ones, which were lost (the warning came after). Now a push of other
bytes is refused before any request while that file holds rows never applied, saying how many,
the command that pushes them first and how to drop them instead. (F7): a ``rep.remaining.csv``
of the user's beside a JSON of theirs was refused with advice about converz's resume hint.

End to end against the emulator: pushes stopped partway by Ctrl-C (the progress callback) or
by server errors, and a property test over sequences of pushes, resumes, new inputs and drops
that counts every row applied.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import shlex
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import converz
from converz.__main__ import main
from converz._cli import push_file, resume_source
from converz._remaining import load, record, record_path
from converz.testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(calls=80, reps=5, seed=16) as emulator:
        yield emulator


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    emu.set_faults()
    return emu


_VALUES = itertools.count(1000)  # each input's score: unique, so each row is (call_id, score)


def _ids(emu: Emulator, n: int = 12) -> list[int]:
    got = emu.client(progress=False).calls(columns=["call_id"]).to_polars()
    return sorted(got["call_id"].to_list())[:n]


def _held(emu: Emulator, ids: list[int]) -> dict[int, Optional[int]]:
    try:
        got = emu.client(progress=False).calls(metric=["score"]).to_polars()
    except converz.InvalidRequestError:  # never sent: "unknown metric"
        return dict.fromkeys(ids)
    held = dict(zip(got["call_id"].to_list(), got["score"].to_list()))
    return {i: held.get(i) for i in ids}


def _input(path: Path, ids: list[int], value: Optional[int] = None) -> int:
    value = next(_VALUES) if value is None else value
    frame = pl.DataFrame({"call_id": ids, "score": [value] * len(ids)})
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return value


def _rows(path: Path) -> set[tuple[int, int]]:
    frame = pl.read_csv(path) if path.suffix == ".csv" else pl.read_parquet(path)
    return set(zip(frame["call_id"].to_list(), frame["score"].to_list()))


def _stopping_bar(after_chunks: int) -> Any:
    """converz's progress bar, stand-in: its callback stops the push (Ctrl-C) mid-way."""

    @contextlib.contextmanager
    def bar(*args: Any, **kwargs: Any) -> Iterator[Any]:
        def callback(rows: int, chunks: int, *rest: int) -> None:
            if chunks >= after_chunks:
                raise KeyboardInterrupt

        yield callback

    return bar


def _stop_partway(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, path: Path, after_chunks: int = 2
) -> Path:
    """Pushes ``path`` in chunks of 2 rows, stopped by Ctrl-C after ``after_chunks``."""
    client = emu.client(progress=False, max_concurrency=1, retries=0)
    with monkeypatch.context() as patch:
        patch.setattr("converz._client.progress_bar", _stopping_bar(after_chunks))
        emu.set_faults(latency=0.05)  # one chunk at a time, slow enough to stop between
        try:
            with pytest.raises(KeyboardInterrupt) as info:
                push_file(client, path, chunk_rows=2)
        finally:
            emu.set_faults()
    cause = info.value.__cause__
    assert isinstance(cause, converz.PushError), info.value
    remaining = Path(cause.message.rsplit(" are in ", 1)[1])
    assert remaining.is_file() and load(remaining) is not None
    return remaining


def _requests(emu: Emulator) -> int:
    return emu.wire_stats()["responses"]


def test_a_new_input_is_refused_before_any_request_while_the_old_rows_are_left(
    env, tmp_path, monkeypatch, capsys
):
    """The trial's sequence through the command: v1 stopped partway, then v2 pushed while the
    server fails. v2 is refused (nothing sent, v1's rows kept as they were); the hint's command
    pushes them, then v2 goes. In the end every row holds the newest value sent for it."""
    ids = _ids(env)
    path = tmp_path / "rep.csv"
    v1 = _input(path, ids[:10])
    remaining = _stop_partway(env, monkeypatch, path)
    left = _rows(remaining)
    assert 0 < len(left) < 10
    kept = remaining.read_bytes()
    v2 = _input(path, ids[2:])
    env.set_faults(error_rate=1.0)
    sent = _requests(env)
    assert main(["push", str(path), "--quiet"]) == 1
    said = capsys.readouterr().err
    env.set_faults()
    assert _requests(env) == sent  # nothing was sent
    assert remaining.read_bytes() == kept and load(remaining) is not None
    assert said.startswith("converz: error: InvalidParameterError: ")
    assert f"{remaining} holds {len(left)} rows not yet applied" in said
    assert "an earlier push of rep.csv" in said and "Nothing was sent" in said
    assert f"delete {remaining} and {record_path(remaining)}" in said
    command = re.search(r"with the options they were left with: (.*?) \(in Python", said)
    assert command is not None, said
    words = shlex.split(command.group(1))
    assert words[:3] == ["converz", "push", str(remaining)]
    assert words[3:5] == ["--base-url", env.url]  # the tenant they were for
    assert main([*words[1:], "--quiet"]) == 0  # as printed
    assert "every row of it is applied" in capsys.readouterr().err
    assert not remaining.exists() and not record_path(remaining).exists()
    assert main(["push", str(path), "--quiet"]) == 0
    held = _held(env, ids)
    assert [held[i] for i in ids] == [v1, v1] + [v2] * 10


def test_client_push_file_refuses_too_and_its_python_call_pushes_the_rows_left(
    env, tmp_path, monkeypatch
):
    ids = _ids(env)
    path = tmp_path / "rep.parquet"
    v1 = _input(path, ids[:8])
    remaining = _stop_partway(env, monkeypatch, path, after_chunks=1)
    kept = remaining.read_bytes()
    v2 = _input(path, ids[4:])
    client = env.client(progress=False)
    for dry_run in (True, False):  # a dry run checks the push it stands for
        with pytest.raises(converz.InvalidParameterError) as info:
            client.push_file(path, dry_run=dry_run)
        assert info.value.parameter == "path"
        assert str(remaining) in info.value.message and remaining.read_bytes() == kept
    call = re.search(r"\(in Python: (client\.push_file\(.*?\))\)", info.value.hint or "")
    assert call is not None, info.value.hint
    eval(call.group(1), {"client": client})  # the hint, verbatim
    assert not remaining.exists()
    client.push_file(path)
    held = _held(env, ids)
    assert [held[i] for i in ids] == [v1] * 4 + [v2] * 8


def test_a_resume_stopped_again_keeps_what_is_still_left(env, tmp_path, monkeypatch):
    """Pushing the remaining file itself is never refused; stopped again, it is rewritten with
    the rows it still holds, still converz's, and still refuses a new input's push."""
    ids = _ids(env)
    path = tmp_path / "rep.csv"
    v1 = _input(path, ids)
    remaining = _stop_partway(env, monkeypatch, path, after_chunks=1)
    first = _rows(remaining)
    again = _stop_partway(env, monkeypatch, remaining, after_chunks=1)
    assert again == remaining
    second = _rows(remaining)
    assert second < first and second
    found = load(remaining)
    assert found is not None and found.rows == len(second)
    held = _held(env, ids)
    applied = {(i, v) for i, v in held.items() if v == v1}
    # Every row is applied or still left; a row in both is one of the chunk in flight when
    # Ctrl-C came (one at a time, 2 rows): the server may have applied it unseen, so it stays
    # left, and pushing it again is idempotent (this failed under load when the stop landed
    # mid-chunk).
    assert applied | second == {(i, v1) for i in ids}
    assert len(applied & second) <= 2, applied & second
    _input(path, ids[:3])
    with pytest.raises(converz.InvalidParameterError, match=f"holds {len(second)} rows"):
        push_file(env.client(progress=False), path)
    push_file(env.client(progress=False), resume_source(remaining))
    assert not remaining.exists()
    assert _held(env, ids) == dict.fromkeys(ids, v1)


def test_rows_left_are_not_written_over_by_a_push_that_was_not_refused(
    env, tmp_path, monkeypatch, caplog, temp_folder
):
    """A remaining file that appears after the check (another process) is still kept: the
    failed push's rows go to a new temporary folder instead."""
    ids = _ids(env)
    path = tmp_path / "rep.csv"
    _input(path, ids[:6])
    remaining = _stop_partway(env, monkeypatch, path, after_chunks=1)
    kept = remaining.read_bytes()
    v2 = _input(path, ids[6:])
    monkeypatch.setattr("converz._cli._refuse_over_unsent", lambda path, client: None)
    env.set_faults(error_rate=1.0)
    with (
        caplog.at_level(logging.WARNING, logger="converz"),
        pytest.raises(converz.PushError) as info,
    ):
        push_file(env.client(progress=False, retries=0), path)
    env.set_faults()
    assert remaining.read_bytes() == kept and load(remaining) is not None
    assert "did not apply" in caplog.text
    elsewhere = Path(info.value.message.rsplit(" are in ", 1)[1])
    assert elsewhere.parent != tmp_path and _rows(elsewhere) == {(i, v2) for i in ids[6:]}


def test_an_older_record_without_a_count_is_counted(env, tmp_path):
    ids = _ids(env)
    path = tmp_path / "rep.csv"
    _input(path, ids[:3])
    remaining = tmp_path / "rep.remaining.csv"
    _input(remaining, ids[:3], 7)
    record(remaining, "calls", None, {}, source={"name": "rep.csv", "size": 1, "sha256": "0"})
    text = json.loads(record_path(remaining).read_text())
    assert text["rows"] is None
    with pytest.raises(converz.InvalidParameterError, match="holds 3 rows not yet applied"):
        push_file(env.client(progress=False), path)


# F7: a file is converz's only with a converz record that is its own.


@pytest.mark.parametrize(
    ("beside", "why"),
    [
        ('{"report": "Q3", "owner": "finance"}', "is not a record converz wrote"),
        ("[1, 2, 3]", "is not a record converz wrote"),
        ("notes, not JSON", "is not a record converz wrote"),
        (None, "it has no converz record beside it"),
    ],
)
def test_a_users_remaining_named_file_beside_a_json_of_theirs_is_an_ordinary_file(
    env, tmp_path, capsys, beside, why, temp_folder
):
    ids = _ids(env)
    theirs = tmp_path / "rep.remaining.csv"
    value = _input(theirs, ids[:3])
    json_path = record_path(theirs)  # rep.remaining.csv.json
    loose = tmp_path / "rep.remaining.json"  # the name the trial used: not a record's
    loose.write_text('{"kind": "converz push options"}', encoding="utf-8")
    if beside is not None:
        json_path.write_text(beside, encoding="utf-8")
    files = {p: p.read_bytes() for p in (theirs, json_path, loose) if p.exists()}
    assert main(["push", str(theirs), "--quiet"]) == 0
    said = capsys.readouterr().err
    assert f"{theirs} is pushed as an ordinary file, and kept: " in said and why in said
    assert "resume hint" not in said and "cannot read" not in said
    assert {p: p.read_bytes() for p in files} == files
    assert _held(env, ids[:3]) == dict.fromkeys(ids[:3], value)
    # Nor does it hold up, or get written over by, a push of rep.csv.
    path = tmp_path / "rep.csv"
    _input(path, ids[3:6])
    env.set_faults(error_rate=1.0)
    with pytest.raises(converz.PushError) as info:
        push_file(env.client(progress=False, retries=0), path)
    env.set_faults()
    assert str(tmp_path) not in info.value.message.rsplit(" are in ", 1)[1]
    assert {p: p.read_bytes() for p in files} == files


def test_a_record_of_other_bytes_is_not_the_files(env, tmp_path, capsys):
    """The user wrote their own rows over a remaining file converz wrote: the record left
    beside it describes other rows, so it neither checks nor stands in for this file."""
    ids = _ids(env)
    path = tmp_path / "rep.csv"
    _input(path, ids[:3])
    remaining = tmp_path / "rep.remaining.csv"
    _input(remaining, ids[:3], 5)
    record(remaining, "calls", None, {"clear": ["score"]}, source=None, rows=3)
    assert load(remaining) is not None
    value = _input(remaining, ids[3:5])  # other bytes
    assert load(remaining) is None
    assert resume_source(path) == path
    # Pushed without the recorded --clear: not refused, as the record is not its own.
    assert main(["push", str(remaining), "--quiet"]) == 0
    said = capsys.readouterr().err
    assert "is pushed as an ordinary file, and kept: " in said
    assert "rep.remaining.csv.json beside it is converz's record of other bytes" in said
    assert remaining.exists() and _held(env, ids[3:5]) == dict.fromkeys(ids[3:5], value)
    push_file(env.client(progress=False), path)  # nor does it hold up rep.csv


# The property: any sequence of pushes (failing partway or not), resumes, new inputs and drops
# applies every row of every input that was pushed exactly once, or keeps it in the remaining
# file, or it was dropped on purpose; none is ever lost or applied twice.


class _Spy:
    """A client whose pushes count the rows (call_id, score) the API applied."""

    def __init__(self, client: converz.Client) -> None:
        self.client = client
        self.base_url = client.base_url
        self.applied: Counter[tuple[int, int]] = Counter()
        self.last: dict[int, int] = {}
        self.calls = 0

    def push_updates(self, data: Any, **options: Any) -> Any:
        self.calls += 1
        sent = data.to_polars()
        try:
            result = self.client.push_updates(data, **options)
        except converz.PushError as err:
            left = err.result.remaining
            left_ids = set() if left is None else set(left.to_polars()["call_id"].to_list())
            self._count(sent.filter(~pl.col("call_id").is_in(list(left_ids))))
            raise
        self._count(sent)
        return result

    def _count(self, frame: pl.DataFrame) -> None:
        for key, value in zip(frame["call_id"].to_list(), frame["score"].to_list()):
            self.applied[(key, value)] += 1
            self.last[key] = value


_STEPS = st.lists(
    st.one_of(
        # A new input, then pushed as a user would (failing or not).
        st.tuples(st.just("new"), st.sets(st.integers(0, 9), min_size=1), st.booleans()),
        st.tuples(st.sampled_from(["push", "resume"]), st.booleans()),
        st.just(("drop",)),
    ),
    min_size=1,
    max_size=10,
)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@PROPERTY
@given(first=st.sets(st.integers(0, 9), min_size=1), steps=_STEPS)
def test_no_row_is_lost_or_applied_twice_in_any_sequence(emu, suffix, first, steps):
    ids = _ids(emu, 10)
    spy = _Spy(emu.client(progress=False, retries=0, max_concurrency=1))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"rep{suffix}"
        remaining = Path(folder) / f"rep.remaining{suffix}"
        pushed: set[tuple[int, int]] = set()  # rows of every input a push started
        dropped: set[tuple[int, int]] = set()
        chosen = [ids[i] for i in sorted(first)]
        value = _input(path, chosen)
        current = {(key, value) for key in chosen}
        started = False

        def push(target: Path, fails: bool) -> None:
            emu.set_faults(error_rate=0.5 if fails else 0.0)
            try:
                push_file(spy, target, chunk_rows=3)
            except converz.PushError:
                event("a push failed partway or whole")
                assert remaining.is_file()
            else:
                assert not remaining.exists()
            finally:
                emu.set_faults()

        def check() -> None:
            left = _rows(remaining) if remaining.exists() else set()
            applied = {row for row, n in spy.applied.items() if n}
            assert all(n == 1 for n in spy.applied.values()), spy.applied
            assert not (left & applied) and not (left & dropped) and not (applied & dropped)
            assert left | applied | dropped == pushed

        # Each new input is pushed at once; at the end, the rows left are pushed.
        for step in itertools.chain.from_iterable(
            [s, ("push", s[2])] if s[0] == "new" else [s]
            for s in [*steps, ("push", False), ("resume", False), ("push", False)]
        ):
            if step[0] == "new":
                value = next(_VALUES)
                chosen = [ids[i] for i in sorted(step[1])]
                current = {(key, _input(path, chosen, value)) for key in chosen}
                started = False
            elif step[0] == "drop":
                if remaining.exists():
                    dropped |= _rows(remaining)
                    event("rows left were dropped")
                    remaining.unlink()
                    record_path(remaining).unlink()
            elif step[0] == "resume":
                if remaining.exists():
                    push(remaining, step[1])
            elif step[0] == "push" and not (started and not remaining.exists()):
                # An Airflow retry, or the user pushing rep.* again; not once it is applied.
                source = resume_source(path)
                stale = source == path and remaining.exists()
                if stale:  # rows of an earlier input: refused before any request
                    calls, kept = spy.calls, remaining.read_bytes()
                    with pytest.raises(converz.InvalidParameterError, match="push those rows"):
                        push_file(spy, source, chunk_rows=3)
                    assert spy.calls == calls and remaining.read_bytes() == kept
                    event("a new input was refused")
                else:
                    pushed |= current
                    started = True
                    push(source, step[1])
            check()
        assert started and not remaining.exists()
        assert set(spy.applied) | dropped == pushed
        held = _held(emu, list(spy.last))
        assert held == spy.last  # the API holds the last value applied to each row
