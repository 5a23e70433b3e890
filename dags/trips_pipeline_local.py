"""
### trips_pipeline_local: the trips_pipeline DAG on a laptop

Vehicle trips: raw CSV batches of a day to validated, clean, modelled data in the warehouse.

Generated from the pipeline definition (libs/pipeline) by `npx nx run dag-generator:generate`.
Do not edit: a test fails when this file differs from what the generator writes.

The same tasks, ids, order, retries and timeouts as the MWAA DAG (`trips_pipeline`); each task runs
the app's bundled CLI (`node $TRIPS_HOME/dist/apps/<app>/main.js --ds <date> --run-id <run_id>`,
built by `npm run build`) against the local stand-ins. Start those and get their environment with
`npx trips local up` and `eval "$(npx trips local env)"` before starting Airflow
(`npm run local:airflow` does all of it). Every app is idempotent per ds, so any task can be cleared
and rerun alone. The run's tasks share the day's lock; `release_lock`, a teardown, frees it
at the end of every run.

Notifications: a POST of a JSON object (dag, run, ds, task, state, manifest key, and the app's
summary line or the error) to the Airflow connection `trips_webhook`
(`AIRFLOW_CONN_TRIPS_WEBHOOK=http://host:port/path`) on every task's success and failure.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.http.notifications.http import HttpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain
from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = "trips_pipeline_local"

# The run's date (YYYY-MM-DD): the logical date, or for asset-triggered runs the day of run_after.
DS_EXPR = "(dag_run.logical_date or dag_run.run_after) | ds"
DS = "{{ " + DS_EXPR + " }}"
# The Airflow run: every task of a run passes it, so they share the day's lock.
RUN_ID = "{{ run_id }}"

# Notification messages (JSON): ds, task, state, the key of the task manifest in the lake bucket, and
# the app's summary line (row counts) on success or the error on failure.
SUCCEEDED = '{{ {"dag_id": dag.dag_id, "run_id": run_id, "ds": ' + DS_EXPR + ', "task": ti.task_id, "try_number": ti.try_number, "manifest": "manifests/" ~ ti.task_id ~ "/ds=" ~ (' + DS_EXPR + ') ~ "/manifest.json", "state": "succeeded", "summary": ti.xcom_pull(task_ids=ti.task_id)} | tojson }}'
FAILED = '{{ {"dag_id": dag.dag_id, "run_id": run_id, "ds": ' + DS_EXPR + ', "task": ti.task_id, "try_number": ti.try_number, "manifest": "manifests/" ~ ti.task_id ~ "/ds=" ~ (' + DS_EXPR + ') ~ "/manifest.json", "state": "failed", "error": exception | string} | tojson }}'
JSON_HEADERS = {"Content-Type": "application/json"}

with DAG(
    dag_id=DAG_ID,
    description="Vehicle trips: raw CSV batches of a day to validated, clean, modelled data in the warehouse.",
    doc_md=__doc__,
    schedule=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2018, 5, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["trips"],
):
    ingest_sftp = BashOperator(
        task_id="ingest_sftp",
        params={"app": "ingest-sftp"},
        doc_md="Land every new or changed file of the partner's SFTP folder in the raw bucket, exactly once.\n\nReads: sftp:TRIPS_SFTP_DIR. Writes: raw:trips/ingest_date={{ ds }}/, lake:state/ingest-sftp/.",
        retries=3,
        retry_delay=timedelta(minutes=2),
        execution_timeout=timedelta(minutes=120),
        bash_command='exec node "$TRIPS_HOME/dist/apps/ingest-sftp/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    validate_raw = BashOperator(
        task_id="validate_raw",
        params={"app": "validate-raw"},
        doc_md="Check the day's raw files; split rows into validated and quarantined.\n\nReads: raw:trips/ingest_date={{ ds }}/. Writes: lake:validated/trips/ds={{ ds }}/, lake:quarantine/trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        bash_command='exec node "$TRIPS_HOME/dist/apps/validate-raw/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    clean_stage = BashOperator(
        task_id="clean_stage",
        params={"app": "clean-stage"},
        doc_md="Type, normalise and deduplicate validated rows into clean Parquet.\n\nReads: lake:validated/trips/ds={{ ds }}/. Writes: lake:clean/trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        bash_command='exec node "$TRIPS_HOME/dist/apps/clean-stage/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    build_dimensions = BashOperator(
        task_id="build_dimensions",
        params={"app": "build-dimensions"},
        doc_md="Derive the dimension members the day's trips need, with deterministic keys.\n\nReads: lake:clean/trips/ds={{ ds }}/. Writes: lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        bash_command='exec node "$TRIPS_HOME/dist/apps/build-dimensions/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    build_facts = BashOperator(
        task_id="build_facts",
        params={"app": "build-facts"},
        doc_md="Build the day's facts, keyed to the dimensions.\n\nReads: lake:clean/trips/ds={{ ds }}/, lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/. Writes: lake:model/fact_trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        bash_command='exec node "$TRIPS_HOME/dist/apps/build-facts/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    load_redshift = BashOperator(
        task_id="load_redshift",
        params={"app": "load-redshift"},
        doc_md="Load the day's dimensions and facts into the warehouse, one transaction per table.\n\nReads: lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/, lake:model/fact_trips/ds={{ ds }}/. Writes: warehouse:trips.*.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        bash_command='exec node "$TRIPS_HOME/dist/apps/load-redshift/main.js" --ds ' + DS + " --run-id " + RUN_ID,
        on_success_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=SUCCEEDED, headers=JSON_HEADERS),
        on_failure_callback=HttpNotifier(http_conn_id="trips_webhook", method="POST", data=FAILED, headers=JSON_HEADERS),
    )

    release_lock = BashOperator(
        task_id="release_lock",
        params={"app": "load-redshift"},
        doc_md="Free the day's lock at the end of the run, whatever became of its tasks.",
        retries=3,
        retry_delay=timedelta(minutes=1),
        execution_timeout=timedelta(minutes=10),
        bash_command='exec node "$TRIPS_HOME/dist/apps/load-redshift/main.js" --ds ' + DS + " --run-id " + RUN_ID + " --release-lock",
    )

    chain(ingest_sftp, validate_raw, clean_stage, build_dimensions, build_facts, load_redshift, release_lock.as_teardown())
