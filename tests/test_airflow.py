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

    assert out["registered"] and out["hook_ok"]
    assert out["run_state"] == "success", out
    assert set(out["states"].values()) == {"success"}, out["states"]
    assert out["fetched"]["rows"] == expected.height > 100
    assert out["pushed"]["updated"] == expected.height
    ratio = (pl.col("talk_time") / pl.col("duration")).round(4)
    assert after.select(pl.col("talk_ratio") == ratio).to_series().all()
    forked = out["forked"]
    assert forked["exit_code"] == 0 and forked["state"] == "success", forked
    assert forked["xcom"]["rows"] == expected.height
