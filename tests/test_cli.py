"""`converz fetch` / `converz push`: every format round-trips, push from a file equals
push_updates, partial failures leave a file to resume from, errors are one line."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import converz
from converz.__main__ import main
from converz._cli import fetch_to_file, push_file, resume_source
from converz._remaining import identify, record, record_path
from converz.testing import Emulator

FORMATS = ["parquet", "csv", "ndjson", "jsonl", "arrow", "feather"]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    """A tenant where late rows carry an attribute earlier ones lack (pushed once, below)."""
    with Emulator(calls=6_000, reps=30, seed=11, days=60) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort()
        late = ids.tail(40)
        client.push_updates(pl.DataFrame({"call_id": late, "qa_score": [0.5] * len(late)}))
        yield emu


@pytest.fixture
def env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
    monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
    return {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}


def read_back(path: Path, expected: pl.DataFrame) -> pl.DataFrame:
    """The file as polars reads it; text formats parsed with the expected column types."""
    suffix = path.suffix
    if suffix == ".parquet":
        return pl.read_parquet(path)
    if suffix in (".arrow", ".feather"):
        return pl.read_ipc(path)
    temporal = {c for c, t in expected.schema.items() if t.is_temporal()}
    text = {c: (pl.String if c in temporal else t) for c, t in expected.schema.items()}
    if suffix == ".csv":
        frame = pl.read_csv(path, schema=text)
    else:
        frame = pl.read_ndjson(path, schema=text)
    return frame.with_columns(
        pl.col(c).str.strptime(expected.schema[c], "%Y-%m-%d %H:%M:%S")
        if expected.schema[c] != pl.Date
        else pl.col(c).str.to_date("%Y-%m-%d")
        for c in temporal
    )


@pytest.mark.parametrize("ext", FORMATS)
def test_fetch_calls_round_trips_each_format(env, emu, tmp_path, ext):
    path = tmp_path / f"calls.{ext}"
    # Small pages: `qa_score` first appears pages after the file was started.
    argv = ["fetch", "calls", "--start-date", "2025-08-01", "--page-size", "500", "-o", str(path)]
    assert main(argv) == 0
    expected = emu.client(progress=False).calls(start_date="2025-08-01", page_size=500).to_polars()
    assert "qa_score" in expected.columns and expected.height > 2_000
    assert_frame_equal(read_back(path, expected), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary files left


def test_fetch_calls_filters_as_flags(env, emu, tmp_path):
    path = tmp_path / "sales.parquet"
    argv = ["fetch", "calls", "--campaign", "sales", "--campaign", "support", "-o", str(path)]
    argv += ["--columns", "call_id,campaign,duration", "--end-date", "2025-09-15", "-q"]
    assert main(argv) == 0
    expected = (
        emu.client(progress=False)
        .calls(
            campaign=["sales", "support"],
            columns=["call_id", "campaign", "duration"],
            end_date="2025-09-15",
        )
        .to_polars()
    )
    got = pl.read_parquet(path)
    assert set(got["campaign"].unique()) <= {"sales", "support"} and got.height > 0
    assert_frame_equal(got, expected)


@pytest.mark.parametrize("ext", ["parquet", "csv"])
def test_fetch_reps_and_report(env, emu, tmp_path, ext):
    client = emu.client(progress=False)
    reps = tmp_path / f"reps.{ext}"
    assert main(["fetch", "reps", "--active", "1", "-o", str(reps)]) == 0
    expected = client.reps(active=True).to_polars()
    assert_frame_equal(read_back(reps, expected), expected)
    report = tmp_path / f"report.{ext}"
    argv = ["fetch", "report", "--groupby", "week,campaign", "--metric", "n_calls", "--days", "90"]
    assert main([*argv, "-o", str(report)]) == 0
    expected = client.report(groupby=["week", "campaign"], metric=["n_calls"], days=90).to_polars()
    assert expected.height > 10
    assert_frame_equal(read_back(report, expected), expected)


def test_fetch_to_stdout_is_csv(env, emu, capsysbinary, tmp_path):
    argv = ["fetch", "calls", "--end-date", "2025-08-15", "--page-size", "700", "-o", "-"]
    assert main(argv) == 0
    out = capsysbinary.readouterr().out
    expected = emu.client(progress=False).calls(end_date="2025-08-15").to_polars()
    assert out.startswith(b"call_id,") and out.count(b"\ncall_id,") == 0  # one header
    (tmp_path / "out.csv").write_bytes(out)
    assert_frame_equal(read_back(tmp_path / "out.csv", expected), expected)


@pytest.mark.parametrize(
    ("flags", "filters"),
    [
        (["calls", "--campaign", ""], {"campaign": [""]}),  # --campaign "$UNSET"
        (["calls", "--campaign", ","], {"campaign": [""]}),
        (["calls", "--campaign", "sales", "--campaign", ""], {"campaign": ["sales", ""]}),
        (["calls", "--columns", ""], {"columns": [""]}),
        (["reps", "--department", ""], {"department": [""]}),
        (["report", "--groupby", "week,"], {"groupby": ["week", ""]}),
    ],
)
def test_an_empty_list_flag_fails_like_the_python_api(env, emu, tmp_path, capsys, flags, filters):
    (name,) = filters
    with pytest.raises(converz.InvalidParameterError) as api:
        getattr(emu.client(progress=False), flags[0])(**filters)
    out = tmp_path / "out.csv"
    assert main(["fetch", *flags, "-o", str(out)]) == 1
    # The same error, its parameter named as the flag (tests/test_cli_words.py).
    message = " ".join(str(api.value).split("\n"))
    message = message.replace(f"`{name}`", f"`--{name.replace('_', '-')}`")
    assert capsys.readouterr().err == f"converz: error: InvalidParameterError: {message}\n"
    assert not out.exists()


def _ids(emu: Emulator, n: int) -> list[int]:
    ids = emu.client(progress=False).calls(columns=["call_id"]).to_polars()["call_id"]
    return ids.sort().head(n).to_list()


@pytest.mark.parametrize("ext", ["parquet", "csv", "ndjson", "arrow"])
def test_push_file_equals_push_updates(env, tmp_path, monkeypatch, ext):
    with Emulator(calls=4_000, reps=20, seed=5) as a, Emulator(calls=4_000, reps=20, seed=5) as b:
        ids = _ids(a, 3_000)[::3]
        frame = pl.DataFrame(
            {
                "call_id": ids,
                "qa_score": [i / 7 for i in range(len(ids))],
                "qa_flag": ["ok" if i % 2 else None for i in range(len(ids))],
            }
        )
        path = tmp_path / f"scores.{ext}"
        {
            "parquet": frame.write_parquet,
            "csv": frame.write_csv,
            "ndjson": frame.write_ndjson,
            "arrow": frame.write_ipc,
        }[ext](path)
        monkeypatch.setenv("CONVERZ_BASE_URL", a.url)
        assert main(["push", str(path), "--to", "calls", "-q"]) == 0
        reference = b.client(progress=False).push_updates(frame, to="calls")
        assert reference.updated == len(ids) == 1_000
        columns = ["call_id", "qa_score", "qa_flag"]
        after_file = a.client(progress=False).calls(metric=["qa_score", "qa_flag"]).to_polars()
        after_api = b.client(progress=False).calls(metric=["qa_score", "qa_flag"]).to_polars()
        assert after_file.filter(pl.col("qa_flag") == "ok").height == 500
        assert_frame_equal(after_file.select(columns), after_api.select(columns))


def test_push_partial_failure_writes_the_rest_to_resume(tmp_path, monkeypatch, capsys):
    with Emulator(calls=3_000, reps=20, seed=5) as emu:
        frame = pl.DataFrame({"call_id": _ids(emu, 2_500), "qa_score": 1.0})
        path = tmp_path / "scores.parquet"
        frame.write_parquet(path)
        emu.set_faults(error_rate=1.0)
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        argv = ["push", str(path), "--chunk-rows", "1000", "--retries", "0", "-q"]
        assert main(argv) == 1
        err = capsys.readouterr().err
        remaining = tmp_path / "scores.remaining.parquet"
        assert str(remaining) in err and "PushError" in err
        assert_frame_equal(pl.read_parquet(remaining).sort("call_id"), frame)
        emu.set_faults()
        assert main(["push", str(remaining), "-q"]) == 0
        got = emu.client(progress=False).calls(metric=["qa_score"]).to_polars()
        assert got.filter(pl.col("qa_score") == 1.0).height == 2_500
        # Found by the outside trial: the applied file stayed, inviting a later push of old
        # values over newer ones.
        assert not remaining.exists()
        assert f"removed {remaining}" in capsys.readouterr().err


def test_a_resumed_push_sends_only_the_rows_left_then_removes_their_file(tmp_path):
    """Found by the outside trial: a retry pushed the whole file again, overwriting rows
    changed since they were applied, and left the remaining file behind."""
    with Emulator(calls=3_000, reps=20, seed=5) as emu:
        ids = _ids(emu, 2_500)
        path = tmp_path / "scores.parquet"
        pl.DataFrame({"call_id": ids, "qa_score": 1.0}).write_parquet(path)
        remaining = tmp_path / "scores.remaining.parquet"
        # One request at a time: the emulator's seeded faults then fail the same chunks each run.
        client = emu.client(progress=False, retries=0, max_concurrency=1)
        emu.set_faults(error_rate=0.3)
        with pytest.raises(converz.PushError, match=r"scores\.remaining\.parquet"):
            push_file(client, path, chunk_rows=250)
        left = pl.read_parquet(remaining)["call_id"].to_list()
        assert 0 < len(left) < len(ids)
        emu.set_faults()
        applied = sorted(set(ids) - set(left))
        # Changed after the failed run: resuming must not write the file's old value over it.
        client.push_updates(pl.DataFrame({"call_id": [applied[0]], "qa_score": 2.0}))

        assert resume_source(path) == remaining
        notes: list[str] = []
        result = push_file(client, resume_source(path), on_note=notes.append)
        assert result.rows == result.updated == len(left)
        assert not remaining.exists() and notes == [
            f"removed {remaining} (every row of it is applied)"
        ]
        assert resume_source(path) == path
        got = client.calls(metric=["qa_score"]).to_polars().filter(pl.col("call_id").is_in(ids))
        scores = dict(zip(got["call_id"], got["qa_score"]))
        assert scores[applied[0]] == 2.0
        assert all(scores[i] == 1.0 for i in ids if i != applied[0])


def test_a_remaining_file_stands_in_for_its_input_whatever_the_times_and_goes_once_pushed_whole(
    tmp_path, monkeypatch, capsys
):
    """The input's bytes decide, not the files' times (outside trial 15: a new input older
    than a stale remaining file was never pushed; tests/test_remaining_ownership.py)."""
    with Emulator(calls=1_000, reps=10, seed=5) as emu:
        ids = _ids(emu, 300)
        path = tmp_path / "scores.parquet"
        remaining = tmp_path / "scores.remaining.parquet"
        pl.DataFrame({"call_id": ids, "qa_score": 1.0}).write_parquet(path)
        pl.DataFrame({"call_id": ids[:10], "qa_score": 9.0}).write_parquet(remaining)
        # Its options and input, recorded with it by the push that left it: options other
        # than this push's.
        record(remaining, "calls", None, {"clear": ["qa_score"]}, source=identify(path))
        stamp = remaining.stat().st_mtime_ns
        for moved in (-(10**9), 10**9):  # written before or after the input: the same
            os.utime(remaining, ns=(stamp + moved, stamp + moved))
            assert resume_source(path) == remaining
        # The command pushes the file it is given; a complete push of the same bytes removes
        # the remaining file (its rows were in it).
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        assert main(["push", str(path), "--dry-run", "-q"]) == 0
        assert remaining.exists() and record_path(remaining).exists()  # a dry run removes nothing
        assert main(["push", str(path), "-q"]) == 0
        assert not remaining.exists() and not record_path(remaining).exists()
        err = capsys.readouterr().err
        assert f"removed {remaining} (left by an earlier push of scores.parquet, now pushed" in err
        got = emu.client(progress=False).calls(metric=["qa_score"]).to_polars()
        assert got.filter(pl.col("qa_score") == 1.0)["call_id"].sort().to_list() == ids


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "converz", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_errors_are_one_line_and_never_show_the_key(env, tmp_path):
    secret = "sk-do-not-print-9f8e7d"
    bad = {**env, "CONVERZ_API_KEY": secret}
    done = run_cli("fetch", "calls", "-o", str(tmp_path / "x.parquet"), env=bad)
    assert done.returncode == 1
    assert done.stderr.startswith("converz: error: AuthenticationError: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert secret not in done.stderr + done.stdout
    assert not (tmp_path / "x.parquet").exists()
    done = run_cli("fetch", "calls", "-o", str(tmp_path / "x.xlsx"), env=env)
    assert done.returncode == 1 and "InvalidParameterError" in done.stderr
    assert "Traceback" not in done.stderr
    assert "invalid parameter `-o`" in done.stderr, done.stderr
    done = run_cli("fetch", "calls", "--debug", "-o", str(tmp_path / "x.xlsx"), env=env)
    assert done.returncode == 1 and "Traceback" in done.stderr
    # Then the same line as without --debug, in the command's words (outside trial 19).
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("converz: error: InvalidParameterError: invalid parameter `-o`"), last
    done = run_cli("fetch", "calls", "--start-date", "2025-02-30", "-o", "-", env=env)
    assert done.returncode == 1 and "invalid parameter `--start-date`" in done.stderr


@pytest.fixture(scope="module")
def slow_emu() -> Iterator[Emulator]:
    """A tenant whose fetch takes seconds: time to stop the command mid-way."""
    with Emulator(calls=40_000, reps=10, seed=3, latency=0.2) as emu:
        yield emu


@pytest.mark.parametrize(
    ("signum", "status", "says"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
@pytest.mark.parametrize("ext", ["parquet", "csv", "arrow"])
def test_a_stopped_fetch_leaves_no_file_and_says_so(slow_emu, tmp_path, ext, signum, status, says):
    """Found by the outside trial: SIGTERM ended the process at once and left
    ``.calls.parquet.converz-tmp*`` behind, where Ctrl-C cleaned up."""
    env = {**os.environ, "CONVERZ_BASE_URL": slow_emu.url, "CONVERZ_API_KEY": slow_emu.api_key}
    out = tmp_path / f"calls.{ext}"
    command = [sys.executable, "-m", "converz", "fetch", "calls", "--page-size", "200", "-q"]
    with subprocess.Popen(
        [*command, "-o", str(out)], env=env, stderr=subprocess.PIPE, text=True
    ) as child:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".*converz-tmp*")):  # pages are being written
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signum)
        _, stderr = child.communicate(timeout=30)
    assert child.returncode == status, stderr
    assert stderr.strip().splitlines() == [f"converz: {says}"]
    assert list(tmp_path.iterdir()) == []


def test_the_sigterm_handler_is_the_commands_only_while_it_runs(env, tmp_path):
    seen = []

    def spy(_args):
        seen.append(signal.getsignal(signal.SIGTERM))
        return 0

    before = signal.getsignal(signal.SIGTERM)
    from converz._cli import _guard

    assert _guard(spy)(None) == 0
    assert seen[0] not in (before, signal.SIG_DFL, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_emulator_command_still_stops_on_sigterm():
    with subprocess.Popen(
        [sys.executable, "-m", "converz", "emulator", "--calls", "100", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        assert any(line.startswith("Ctrl-C to stop") for line in server.stdout)
        server.terminate()
        assert server.wait(timeout=30) == 0


def test_an_output_path_that_cannot_be_written_fails_before_any_request(
    tmp_path, monkeypatch, capsys
):
    # Nothing listens at this address: a request would fail with a TransportError instead.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("CONVERZ_BASE_URL", f"http://127.0.0.1:{closed.getsockname()[1]}/api/v1")
        monkeypatch.setenv("CONVERZ_API_KEY", "k")
        (tmp_path / "a_file").write_text("")
        cases = {
            tmp_path / "missing" / "calls.parquet": f"its folder {tmp_path / 'missing'} does not",
            tmp_path / "a_file" / "calls.csv": f"{tmp_path / 'a_file'} is not a folder",
            tmp_path: "it is a folder",
        }
        for path, why in cases.items():
            assert main(["fetch", "calls", "--retries", "0", "-o", str(path)]) == 1
            err = capsys.readouterr().err
            assert err.startswith(f"converz: error: InvalidParameterError: cannot write {path}: ")
            assert why in err
        with pytest.raises(converz.InvalidParameterError) as raised:
            fetch_to_file(converz.Client(retries=0), "calls", tmp_path / "missing" / "x.csv")
        assert raised.value.parameter == "path"
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    "command", [["fetch"], ["fetch", "calls"], ["fetch", "report"], ["push"], ["sync", "calls"]]
)
def test_every_command_has_help_with_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_emulator_command_still_parses(capsys):
    with pytest.raises(SystemExit):
        main(["emulator", "--help"])
    out = capsys.readouterr().out
    assert "--insert-every" in out
    # Plain text, in the command's own terms (outside trial 28: reST quotes, and "None sends
    # no header" where only --no-retry-after can say that).
    assert "``" not in out and "None sends" not in out
    assert "--no-retry-after sends none" in " ".join(out.split())


@pytest.mark.slow
def test_a_2m_row_fetch_to_parquet_stays_under_300_mb(tmp_path):
    """Peak RSS of a process fetching 2,000,000 calls into Parquet (the emulator runs apart)."""
    env = {**os.environ, "CONVERZ_API_KEY": "converz-emulator-key"}
    server = subprocess.Popen(
        [sys.executable, "-m", "converz", "emulator", "--calls", "2000000", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        url = next(
            line.split("=", 1)[1].strip()
            for line in server.stdout
            if line.strip().startswith("CONVERZ_BASE_URL=")
        )
        path = tmp_path / "big.parquet"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child of a
        # large pytest process would report the parent's peak instead of its own.
        script = (
            "import sys; from converz.__main__ import main; "
            f"rc = main(['fetch', 'calls', '-q', '-o', {str(path)!r}]); "
            "print(next(l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith('VmHWM:'))); sys.exit(rc)"
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**env, "CONVERZ_BASE_URL": url},
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        peak_mb = int(done.stdout.strip()) / 1024
        print(f"peak RSS of a 2M-row fetch to Parquet: {peak_mb:.0f} MB")
        assert pl.scan_parquet(path).select(pl.len()).collect().item() == 2_000_000
        assert peak_mb < 300
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_push_schema_types_csv_columns_instead_of_inference(tmp_path, monkeypatch, capsys):
    """Found by the outside trial: a CSV's `00123` was inferred as the integer 123, and the
    command had no way to say otherwise. `--schema code:string` keeps the text."""
    with Emulator(calls=500, reps=10, seed=3) as emu:
        ids = _ids(emu, 4)
        path = tmp_path / "codes.csv"
        path.write_text(
            "call_id,code,score\n" + "".join(f"{i},00{n}7,{n}\n" for n, i in enumerate(ids))
        )
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        client = emu.client(progress=False)

        def pushed() -> list:
            got = client.calls(metric=["code", "score"]).to_polars()
            return got.filter(pl.col("call_id").is_in(ids)).sort("call_id")["code"].to_list()

        assert main(["push", str(path), "-q"]) == 0
        assert pushed() == [7, 17, 27, 37]  # inferred: integers, as the file's text allows
        argv = ["push", str(path), "-q", "--schema", "code:string", "--schema=score:float64"]
        assert main(argv) == 0
        assert pushed() == ["0007", "0017", "0027", "0037"]
        capsys.readouterr()

        # A column the file lacks, a bad pair, a typed file: refused before any request.
        before = emu.wire_stats()["responses"]
        parquet = tmp_path / "codes.parquet"
        pl.read_csv(path).write_parquet(parquet)
        for argv, words in [
            (["push", str(path), "--schema", "cdoe:string"], "has no column `cdoe`"),
            (["push", str(path), "--schema", "code"], "'name:type,name:type'"),
            (["push", str(path), "--schema", "code:strng"], "strng"),
            (["push", str(parquet), "--schema", "code:string"], "carries its own column types"),
        ]:
            assert main([*argv, "-q"]) == 1
            err = capsys.readouterr().err
            assert "InvalidParameterError" in err and words in err, err
        assert emu.wire_stats()["responses"] == before


def test_fetch_schema_forces_column_types(env, emu, tmp_path):
    out = tmp_path / "calls.parquet"
    argv = ["fetch", "calls", "-q", "-o", str(out), "--schema", "call_id:uint64,rep_id:string"]
    assert main(argv) == 0
    frame = pl.read_parquet(out)
    assert frame.schema["call_id"] == pl.UInt64 and frame.schema["rep_id"] == pl.String
    reference = emu.client(progress=False).calls().to_polars()
    assert frame["call_id"].cast(pl.Int64).sort().to_list() == reference["call_id"].sort().to_list()


@pytest.mark.parametrize(
    ("signum", "status", "says"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_stopped_push_keeps_the_rows_left_and_says_what_was_applied(
    tmp_path, monkeypatch, signum, status, says
):
    """Found by the outside trial: Ctrl-C during a push exited 130 with no remaining file and
    no count of rows applied, although the core hands both over."""
    with Emulator(calls=30_000, reps=10, seed=3, latency=0.05) as emu:
        ids = _ids(emu, 20_000)
        path = tmp_path / "p.parquet"
        pl.DataFrame({"call_id": ids, "qa_score": 1.5}).write_parquet(path)
        env = {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
        command = [sys.executable, "-m", "converz", "push", str(path), "--chunk-rows", "100", "-q"]
        before = emu.wire_stats()["responses"]
        with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as child:
            deadline = time.monotonic() + 60
            while emu.wire_stats()["responses"] < before + 10:  # some chunks applied
                assert child.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            child.send_signal(signum)
            _, stderr = child.communicate(timeout=30)
        assert child.returncode == status, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"converz: {says}: the push was stopped")
        assert "(_" not in lines[0], lines[0]  # no private class name (was "(_Terminated)")
        remaining = tmp_path / "p.remaining.parquet"
        left = pl.read_parquet(remaining)["call_id"].to_list()
        applied = re.search(r"chunks were applied \(([\d,]+) of 20,000 rows\)", lines[0])
        assert applied, lines[0]
        assert 0 < int(applied[1].replace(",", "")) == len(ids) - len(left)
        assert f"rows not known to be applied are in {remaining}" in lines[0]
        assert f"converz push {remaining}" in lines[0]
        # Every row not in the file was applied; pushing the file completes the push.
        client = emu.client(progress=False)
        got = client.calls(metric=["qa_score"]).to_polars().filter(pl.col("call_id").is_in(ids))
        done = set(got.filter(pl.col("qa_score") == 1.5)["call_id"])
        assert set(ids) - set(left) <= done
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        assert main(["push", str(remaining), "-q"]) == 0
        got = client.calls(metric=["qa_score"]).to_polars().filter(pl.col("call_id").is_in(ids))
        assert got["qa_score"].to_list() == [1.5] * len(ids)
        assert not remaining.exists()


def test_a_push_of_a_missing_or_unreadable_file_names_it(tmp_path, monkeypatch, capsys):
    """Found by the outside trial: "No such file or directory (os error 2)" named no path, and
    a file that is not Parquet was reported as "writing" it."""
    monkeypatch.setenv("CONVERZ_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CONVERZ_API_KEY", "k")
    missing = tmp_path / "nope.csv"
    assert main(["push", str(missing)]) == 1
    err = capsys.readouterr().err
    assert f"InvalidParameterError: cannot read {missing}: no such file" in err, err
    assert main(["push", str(tmp_path)]) == 1
    assert "it is a folder" in capsys.readouterr().err
    bad = tmp_path / "bad.parquet"
    bad.write_text("call_id,qa\n1,2\n")
    assert main(["push", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"cannot read {bad} as Parquet: " in err and "writing" not in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_reader_that_stops_early_ends_a_fetch_to_stdout_quietly(env):
    """Found by the outside trial: the README's `converz fetch ... -o - | head` ended with
    "BrokenPipeError" on stderr and exit status 1."""
    command = f"{sys.executable} -m converz fetch calls --page-size 500 -o - | head -2"
    done = subprocess.run(
        ["bash", "-c", command + "; echo status=${PIPESTATUS[0]} >&2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr.strip() == "status=0", done.stderr


def test_schema_giving_one_column_two_types_is_refused(env, tmp_path, capsys):
    out = tmp_path / "calls.parquet"
    for flags in (
        ["--schema", "rep_id:string,rep_id:int64"],
        ["--schema", "a:int8", "--schema=a:int16"],
    ):
        assert main(["fetch", "calls", "-q", "-o", str(out), *flags]) == 1
        assert "two types" in capsys.readouterr().err
    assert not out.exists()
    # One type in two spellings is one type (outside trial 14: refused as "two types").
    for flags in (
        ["--schema", "rep_id:string", "--schema", "rep_id:str"],
        ["--schema", "rep_id:string,rep_id:utf8"],
    ):
        assert main(["fetch", "calls", "-q", "-o", str(out), "--page-size", "500", *flags]) == 0
        assert "two types" not in capsys.readouterr().err


@pytest.mark.parametrize("writer", ["pandas", "gzip", "feather", "feather-zstd"])
def test_push_reads_other_writers_default_files_and_leaves_the_pandas_index_out(
    tmp_path, monkeypatch, writer
):
    """Found by the outside trial: Parquet from pandas/pyarrow/DuckDB (snappy) and Feather from
    pyarrow (lz4) could not be read ("Disabled feature at compile time"), and a filtered pandas
    frame's file pushed its index as an attribute, `__index_level_0__`, on every call."""
    pa = pytest.importorskip("pyarrow")
    pd = pytest.importorskip("pandas")
    from pyarrow import feather, parquet

    with Emulator(calls=300, reps=5, seed=4) as emu:
        ids = _ids(emu, 20)
        frame = pd.DataFrame({"call_id": ids, "qa_score": [0.5] * len(ids)}).iloc[
            [0, 2, 3, 5, 8, 13]
        ]
        table = pa.Table.from_pandas(frame)  # keeps the (non-range) index, as pandas does
        assert "__index_level_0__" in table.column_names
        path = tmp_path / ("scores.parquet" if writer in ("pandas", "gzip") else "scores.arrow")
        if writer == "pandas":
            frame.to_parquet(path)  # snappy
        elif writer == "gzip":
            parquet.write_table(table, path, compression="gzip")
        else:
            feather.write_feather(table, path, compression="zstd" if "zstd" in writer else "lz4")
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        assert main(["push", str(path), "-q"]) == 0
        got = emu.client(progress=False).calls().to_polars()
        assert "__index_level_0__" not in got.columns
        scored = got.filter(pl.col("qa_score") == 0.5)["call_id"].sort().to_list()
        assert scored == sorted(frame["call_id"].tolist())


@pytest.mark.parametrize(
    ("key", "then"),
    [
        # Text, or a whole number beyond int64: no call's; --schema then names the value.
        ("99999999999999999999", "'99999999999999999999'"),
        ("abc", "'abc'"),
    ],
)
def test_a_file_key_column_that_is_text_is_told_its_value_is_no_calls(
    env, tmp_path, capsys, key, then
):
    """Outside trial 15: a 20-digit key was told ``--schema call_id:int64``, as if a cast
    would do; the message now says such a value is no call's, and that flag names it."""
    path = tmp_path / "keys.csv"
    path.write_text(f"call_id,x\n1000,1\n{key},2\n", encoding="utf-8")
    assert main(["push", str(path), "--dry-run", "-q"]) == 1
    said = capsys.readouterr().err
    assert f"line 3 of {path}: call_id is {key}, which is no call's id" in said, said
    assert "fix or drop that row" in said and "--schema" not in said, said
    assert main(["push", str(path), "--dry-run", "-q", "--schema", "call_id:int64"]) == 1
    said = capsys.readouterr().err
    assert then in said and "line 3" in said, said


def test_a_column_turning_to_text_on_stdout_is_warned_of(capsysbinary, caplog, monkeypatch):
    """A file is re-quoted at its end when a column turns to text on a late page; stdout
    cannot be, and said nothing (outside trial 32 F6). It warns now, naming the column."""
    with Emulator(calls=1_200, reps=5, seed=14) as emu:
        client = emu.client(progress=False)
        ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort()
        client.push_updates(pl.DataFrame({"call_id": ids[:1_100], "lt": list(range(1_100))}))
        client.push_updates(pl.DataFrame({"call_id": ids[1_100:], "lt": ["0042"] * 100}))
        monkeypatch.setenv("CONVERZ_BASE_URL", emu.url)
        monkeypatch.setenv("CONVERZ_API_KEY", emu.api_key)
        argv = ["fetch", "calls", "--columns", "call_id,lt", "--page-size", "500", "-o", "-"]
        with caplog.at_level(logging.WARNING, logger="converz"):
            assert main([*argv, "-q"]) == 0
        said = [r.getMessage() for r in caplog.records if "turned to text" in r.getMessage()]
        assert len(said) == 1 and "'lt'" in said[0] and "--schema lt:string" in said[0], said
        out = capsysbinary.readouterr().out.decode()
        assert out.splitlines()[1].split(",")[1] == "0"  # the first page's value, bare
        assert out.rstrip().endswith('"0042"')
        # Quoted from the first page with the schema it names; no warning then.
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="converz"):
            assert main([*argv, "-q", "--schema", "lt:string"]) == 0
        assert not [r for r in caplog.records if "turned to text" in r.getMessage()]
        assert capsysbinary.readouterr().out.decode().splitlines()[1].split(",")[1] == '"0"'
