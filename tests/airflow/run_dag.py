"""Runs the example DAG against the emulator with real Airflow 3 (in its own venv).

Called by tests/test_airflow.py with ``CONVERZ_BASE_URL``/``CONVERZ_API_KEY`` set. Prints one
JSON line: the provider registration, the dag.test() run, and a task run by Airflow's task
supervisor in a forked worker process (the parent has used converz before forking).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
home = Path(tempfile.mkdtemp(prefix="converz-airflow-"))
atexit.register(shutil.rmtree, home, ignore_errors=True)
os.environ.update(
    AIRFLOW_HOME=str(home),
    AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
    AIRFLOW__CORE__UNIT_TEST_MODE="False",
    CONVERZ_DATA_DIR=str(home / "data"),
    AIRFLOW_CONN_CONVERZ_DEFAULT=json.dumps(
        {
            "conn_type": "converz",
            "host": os.environ.pop("CONVERZ_BASE_URL"),
            "password": os.environ.pop("CONVERZ_API_KEY"),
        }
    ),
)
(home / "dags").mkdir()
(home / "data").mkdir()
shutil.copy(HERE / "converz_dag.py", home / "dags" / "converz_dag.py")

# A migrated metadata DB is cached beside the venv: migrating takes ~40 s, copying none.
template = Path(sys.prefix) / "converz-airflow-template.db"
if not template.exists():
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True)
    shutil.copy(home / "airflow.db", template)
else:
    shutil.copy(template, home / "airflow.db")

sys.path.insert(0, str(home / "dags"))
from airflow.providers_manager import ProvidersManager  # noqa: E402

providers = ProvidersManager()
registered = "converz" in providers.providers and "converz" in providers.hooks

import converz_dag  # noqa: E402

from converz.airflow import ConverzHook  # noqa: E402

hook_ok, hook_message = ConverzHook().test_connection()
run = converz_dag.dag.test()
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
scores_path = run.get_task_instance("talk_ratio").xcom_pull(task_ids="talk_ratio")
fetched = run.get_task_instance("fetch_calls").xcom_pull(task_ids="fetch_calls")
pushed = run.get_task_instance("push_scores").xcom_pull(task_ids="push_scores")


def forked_task_run() -> dict:
    """A second DAG run whose fetch task runs in a worker forked by Airflow's supervisor."""
    from airflow.models.dagrun import DagRun, get_or_create_dagrun
    from airflow.sdk import timezone
    from airflow.sdk.api.datamodels._generated import BundleInfo
    from airflow.sdk.api.datamodels._generated import TaskInstance as TaskInstanceSDK
    from airflow.sdk.execution_time.supervisor import InProcessTestSupervisor, supervise
    from airflow.serialization.serialized_objects import SerializedDAG
    from airflow.settings import Session
    from airflow.utils.state import State
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    session = Session()
    dag = converz_dag.dag
    scheduler_dag = SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))
    now = timezone.utcnow()
    dr = get_or_create_dagrun(
        dag=scheduler_dag,
        start_date=now,
        logical_date=now,
        data_interval=None,
        run_after=now,
        run_id=DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=now, run_after=now),
        session=session,
        conf=None,
        triggered_by=DagRunTriggeredByType.TEST,
        triggering_user_name="converz_test",
    )
    ti = dr.get_task_instance("fetch_calls", session=session)
    ti.try_number += 1
    ti.state = State.QUEUED
    session.commit()
    exit_code = supervise(
        ti=TaskInstanceSDK(
            id=ti.id,
            task_id=ti.task_id,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            try_number=ti.try_number,
            map_index=ti.map_index,
            dag_version_id=ti.dag_version_id,
        ),
        bundle_info=BundleInfo(name="dags-folder"),
        dag_rel_path="converz_dag.py",
        token="",
        client=InProcessTestSupervisor._api_client(dag),
    )
    session.expire_all()
    ti = dr.get_task_instance("fetch_calls", session=session)
    return {
        "exit_code": exit_code,
        "state": str(ti.state),
        "xcom": ti.xcom_pull(task_ids="fetch_calls", session=session),
        "parent_pid": os.getpid(),
    }


print(
    json.dumps(
        {
            "registered": registered,
            "hook_ok": hook_ok,
            "hook_message": hook_message,
            "run_state": str(run.state),
            "states": states,
            "fetched": fetched,
            "scores_path": scores_path,
            "pushed": pushed,
            "forked": forked_task_run(),
        },
        default=str,
    )
)
