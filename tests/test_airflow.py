"""The Airflow provider against real Apache Airflow 3 (its own venv, `make airflow-env`): the
example DAG runs with dag.test() against the emulator (fetch → polars → push), and a task runs
in a worker process forked by Airflow's task supervisor."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from converz.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = Path(os.environ.get("CONVERZ_AIRFLOW_PYTHON", ROOT / ".venv-airflow/bin/python"))


def test_provider_dag_and_forked_worker():
    if not AIRFLOW_PYTHON.exists():
        pytest.fail(f"no Airflow environment at {AIRFLOW_PYTHON}: run `make airflow-env`")
    with Emulator(calls=8_000, reps=30, seed=4) as emu:
        env = {**os.environ, "CONVERZ_BASE_URL": emu.url, "CONVERZ_API_KEY": emu.api_key}
        done = subprocess.run(
            [str(AIRFLOW_PYTHON), str(ROOT / "tests/airflow/run_dag.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert emu.api_key not in done.stdout + done.stderr
        client = emu.client(progress=False)
        query = {
            "start_date": "2025-09-01",
            "campaign": ["sales", "support"],
            "columns": ["call_id", "duration", "talk_time"],
        }
        expected = client.calls(**query).to_polars()
        columns = [*query["columns"], "talk_ratio"]
        after = client.calls(**{**query, "columns": columns}).to_polars()

    assert out["registered"]
    assert out["hook_ok"], out["hook_message"]
    assert out["run_state"] == "success", out
    assert set(out["states"].values()) == {"success"}, out["states"]
    assert out["fetched"]["rows"] == expected.height > 100
    assert out["pushed"]["updated"] == expected.height
    ratio = (pl.col("talk_time") / pl.col("duration")).round(4)
    assert after.select(pl.col("talk_ratio") == ratio).to_series().all()
    forked = out["forked"]
    assert forked["exit_code"] == 0 and forked["state"] == "success", forked
    assert forked["xcom"]["rows"] == expected.height


# Runs in the Airflow venv: the operator's execute() as an Airflow try runs it, three times.
_PUSH_RETRY = r"""
import json, os, sys
from pathlib import Path

import polars as pl

from converz.testing import Emulator

work = Path(sys.argv[1])
with Emulator(calls=3_000, reps=20, seed=5) as emu:
    os.environ["AIRFLOW_CONN_CONVERZ_DEFAULT"] = json.dumps(
        {"conn_type": "converz", "host": emu.url, "password": emu.api_key,
         "extra": {"retries": 0, "max_concurrency": 1}}
    )
    from converz.airflow import ConverzPushOperator

    client = emu.client(progress=False)
    ids = client.calls(columns=["call_id"]).to_polars()["call_id"].sort().head(2_500).to_list()
    path = work / "scores.csv"
    # The CSV's code 007 stays text only through schema=, passed on as `converz push --schema`.
    pl.DataFrame({"call_id": ids, "qa_score": 1.0, "code": "007"}).write_csv(path)
    op = ConverzPushOperator(
        task_id="push", path=str(path), to="calls", chunk_rows=250, schema={"code": "string"}
    )
    out = {"ids": ids}
    emu.set_faults(error_rate=0.3)  # one request at a time: the same chunks fail each run
    try:
        op.execute(context={})
    except Exception as err:
        out["try1"] = f"{type(err).__name__}: {err}"
    remaining = work / "scores.remaining.csv"
    out["left"] = pl.read_csv(remaining)["call_id"].to_list()
    emu.set_faults()
    applied = sorted(set(ids) - set(out["left"]))
    out["changed"] = applied[0]
    client.push_updates(pl.DataFrame({"call_id": [applied[0]], "qa_score": 2.0}))
    # As if scores.csv had changed while try 1 pushed it: its rows left are the old version's,
    # pushed only with force_old (the CLI's --force-old; the operator lacked it).
    from converz._remaining import record_path
    record = record_path(remaining)
    kept = record.read_text()
    record.write_text(json.dumps({**json.loads(kept), "changed": True}))
    try:
        op.execute(context={})
    except Exception as err:
        out["try2_old"] = f"{type(err).__name__}: {err}"
    out["remaining_after_old"] = remaining.exists()
    op.force_old = True
    out["try2"] = op.execute(context={})
    out["remaining_after_try2"] = remaining.exists()
    got = client.calls(metric=["qa_score", "code"]).to_polars()
    got = got.filter(pl.col("call_id").is_in(ids)).sort("call_id")
    out["scores"] = got["qa_score"].to_list()
    out["codes"] = sorted(set(got["code"].to_list()))
    # New input beside a remaining file converz did not write (no record): the new file is
    # pushed whole, and the other file is left alone (outside trial 15: it was deleted).
    pl.DataFrame({"call_id": ids[:5], "qa_score": 9.0, "code": "9"}).write_csv(remaining)
    pl.DataFrame({"call_id": ids, "qa_score": 1.0, "code": "007"}).write_csv(path)
    stamp = remaining.stat().st_mtime_ns + 10**9  # a clock tick may hold both writes
    os.utime(path, ns=(stamp, stamp))
    out["try3"] = op.execute(context={})
    out["remaining_after_try3"] = remaining.exists()
    got = client.calls(metric=["qa_score"]).to_polars().filter(pl.col("call_id").is_in(ids))
    out["scores3"] = sorted(set(got["qa_score"].to_list()))
print(json.dumps(out))
"""


def test_push_operator_retry_pushes_only_the_rows_left(tmp_path):
    """Found by the outside trial: the docstring said a retry pushes only the rows not applied,
    but it pushed the whole file again (undoing changes made since) and left the remaining file.
    The operator also lacked the CLI's push options (schema, chunk_rows, timezone, strict)."""
    if not AIRFLOW_PYTHON.exists():
        pytest.fail(f"no Airflow environment at {AIRFLOW_PYTHON}: run `make airflow-env`")
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", _PUSH_RETRY, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    ids, left = out["ids"], out["left"]
    assert "AirflowException" in out["try1"] and "scores.remaining.csv" in out["try1"]
    assert "InvalidParameterError" in out["try2_old"], out["try2_old"]
    assert "changed while it was pushed" in out["try2_old"] and out["remaining_after_old"]
    assert 0 < len(left) < len(ids)
    retry = out["try2"]
    assert retry["pushed"] == str(tmp_path / "scores.remaining.csv")
    assert retry["rows"] == retry["updated"] == len(left)
    assert not out["remaining_after_try2"]
    # The row changed after try 1 kept its new value; every other row holds the file's.
    changed = ids.index(out["changed"])
    assert out["scores"][changed] == 2.0
    assert out["scores"][:changed] + out["scores"][changed + 1 :] == [1.0] * (len(ids) - 1)
    assert out["codes"] == ["007"]
    fresh = out["try3"]
    assert fresh["pushed"] == str(tmp_path / "scores.csv") and fresh["rows"] == len(ids)
    assert out["remaining_after_try3"] and out["scores3"] == [1.0]
