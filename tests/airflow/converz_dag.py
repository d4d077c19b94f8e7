"""The README's example DAG: fetch calls → score them with polars → push the scores back."""

from __future__ import annotations

import os

import pendulum
import polars as pl
from airflow.sdk import DAG, task

from converz.airflow import ConverzFetchOperator, ConverzPushOperator

DATA = os.environ.get("CONVERZ_DATA_DIR", "/tmp/converz")

with DAG(
    dag_id="converz_talk_ratio",
    schedule=None,
    start_date=pendulum.datetime(2025, 9, 1, tz="UTC"),
    params={"start_date": "2025-09-01"},
    catchup=False,
) as dag:
    fetch = ConverzFetchOperator(
        task_id="fetch_calls",
        endpoint="calls",
        query={
            "start_date": "{{ params.start_date }}",
            "campaign": ["sales", "support"],
            "columns": ["call_id", "duration", "talk_time"],
        },
        path=DATA + "/calls-{{ run_id | replace(':', '_') }}.parquet",
    )

    @task
    def talk_ratio(fetched: dict) -> str:
        calls = pl.read_parquet(fetched["path"])
        scores = calls.select(
            "call_id", (pl.col("talk_time") / pl.col("duration")).round(4).alias("talk_ratio")
        )
        out = fetched["path"].replace(".parquet", "-scores.parquet")
        scores.write_parquet(out)
        return out

    push = ConverzPushOperator(
        task_id="push_scores",
        path="{{ ti.xcom_pull(task_ids='talk_ratio') }}",
        to="calls",
    )

    talk_ratio(fetch.output) >> push
