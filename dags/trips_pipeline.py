"""
### trips_pipeline on Amazon MWAA

Vehicle trips: raw CSV batches of a day to validated, clean, modelled data in the warehouse.

Generated from the pipeline definition (libs/pipeline) by `npx nx run dag-generator:generate`.
Do not edit: a test fails when this file differs from what the generator writes.

Each task runs one app as an ECS Fargate task (task definition `trips-<app>`,
container `<app>`) with `--ds <date> --run-id <run_id>` (the run's tasks share the day's lock;
`release_lock`, a teardown, frees it at the end of every run); its CloudWatch log streams (`trips/<app>/<ECS task id>`)
show in the Airflow task log. `reattach` makes a retried Airflow task wait for an ECS task still
running instead of starting a second one; a retry after the ECS task ended runs the app again,
which is safe because every app replaces its outputs for the ds.

Deployment settings come from `trips_pipeline_config.json` beside this file, written by the
stacks: `cluster`, `subnets`, `security_groups`, `egress_security_groups`, `log_group`, `region`, `sns_topic_arn`, `raw_bucket`, `raw_events_queue_url` (the last one optional). Only the
`ingest_sftp` task runs with `egress_security_groups`, which may reach the partner's SFTP server.

Schedule: `0 3 * * *` (UTC); catchup off (backfill deliberately with `airflow backfill create`); at most
1 run at a time. When `raw_events_queue_url` is set, a file landing in the raw bucket
under `trips/` (an S3 object-created event on that SQS queue; the bucket notification's filter is
RAW_EVENTS in libs/pipeline) also starts a run, and the DAG has no `ingest_sftp` task: the
ingest-sftp watcher service lands the files, as their arrival starts the runs (a run that landed
files would start runs in turn). Such runs have no logical date: DS derives the ds from the run's
run_after instead, the one place this is done.

Notifications: SNS (`sns_topic_arn`) on every task's success and failure, a JSON message with the
dag, run, ds, task, state, the task's manifest key in the lake bucket and, on success, the app's
summary line (row counts), on failure the error.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pendulum
from airflow.providers.amazon.aws.notifications.sns import SnsNotifier
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
from airflow.sdk import DAG, Asset, AssetWatcher, chain
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

DAG_ID = "trips_pipeline"
CONFIG = json.loads(Path(__file__).with_name("trips_pipeline_config.json").read_text())

# The run's date (YYYY-MM-DD): the logical date, or for asset-triggered runs the day of run_after.
DS_EXPR = "(dag_run.logical_date or dag_run.run_after) | ds"
DS = "{{ " + DS_EXPR + " }}"
# The Airflow run: every task of a run passes it, so they share the day's lock.
RUN_ID = "{{ run_id }}"

# Notification messages (JSON): ds, task, state, the key of the task manifest in the lake bucket, and
# the app's summary line (row counts) on success or the error on failure.
SUCCEEDED = '{{ {"dag_id": dag.dag_id, "run_id": run_id, "ds": ' + DS_EXPR + ', "task": ti.task_id, "try_number": ti.try_number, "manifest": "manifests/" ~ ti.task_id ~ "/ds=" ~ (' + DS_EXPR + ') ~ "/manifest.json", "state": "succeeded", "summary": ti.xcom_pull(task_ids=ti.task_id)} | tojson }}'
FAILED = '{{ {"dag_id": dag.dag_id, "run_id": run_id, "ds": ' + DS_EXPR + ', "task": ti.task_id, "try_number": ti.try_number, "manifest": "manifests/" ~ ti.task_id ~ "/ds=" ~ (' + DS_EXPR + ') ~ "/manifest.json", "state": "failed", "error": exception | string} | tojson }}'

NETWORK = {
    "awsvpcConfiguration": {
        "subnets": CONFIG["subnets"],
        "securityGroups": CONFIG["security_groups"],
        "assignPublicIp": "DISABLED",
    }
}
NETWORK_EGRESS = {
    "awsvpcConfiguration": {
        "subnets": CONFIG["subnets"],
        "securityGroups": CONFIG["egress_security_groups"],
        "assignPublicIp": "DISABLED",
    }
}

CRON = CronTriggerTimetable("0 3 * * *", timezone="UTC")
RAW_EVENTS_QUEUE_URL = CONFIG.get("raw_events_queue_url")
SCHEDULE = (
    AssetOrTimeSchedule(
        timetable=CRON,
        assets=[
            Asset(
                name="trips_raw_batch",
                uri="s3://" + CONFIG["raw_bucket"] + "/trips/",
                watchers=[AssetWatcher(name="trips_raw_object_created", trigger=MessageQueueTrigger(queue=RAW_EVENTS_QUEUE_URL))],
            )
        ],
    )
    if RAW_EVENTS_QUEUE_URL
    else CRON
)

with DAG(
    dag_id=DAG_ID,
    description="Vehicle trips: raw CSV batches of a day to validated, clean, modelled data in the warehouse.",
    doc_md=__doc__,
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2018, 5, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["trips"],
):
    if not RAW_EVENTS_QUEUE_URL:
        ingest_sftp = EcsRunTaskOperator(
            task_id="ingest_sftp",
            params={"app": "ingest-sftp"},
            doc_md="Land every new or changed file of the partner's SFTP folder in the raw bucket, exactly once.\n\nReads: sftp:TRIPS_SFTP_DIR. Writes: raw:trips/ingest_date={{ ds }}/, lake:state/ingest-sftp/.",
            retries=3,
            retry_delay=timedelta(minutes=2),
            execution_timeout=timedelta(minutes=120),
            task_definition="trips-ingest-sftp",
            container_name="ingest-sftp",
            cluster=CONFIG["cluster"],
            launch_type="FARGATE",
            overrides={"containerOverrides": [{"name": "ingest-sftp", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
            network_configuration=NETWORK_EGRESS,
            awslogs_group=CONFIG["log_group"],
            awslogs_region=CONFIG["region"],
            awslogs_stream_prefix="trips/ingest-sftp",
            region_name=CONFIG["region"],
            propagate_tags="TASK_DEFINITION",
            reattach=True,
            wait_for_completion=True,
            do_xcom_push=True,
            on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: ingest_sftp succeeded", message=SUCCEEDED),
            on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: ingest_sftp failed", message=FAILED),
        )

    validate_raw = EcsRunTaskOperator(
        task_id="validate_raw",
        params={"app": "validate-raw"},
        doc_md="Check the day's raw files; split rows into validated and quarantined.\n\nReads: raw:trips/ingest_date={{ ds }}/. Writes: lake:validated/trips/ds={{ ds }}/, lake:quarantine/trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        task_definition="trips-validate-raw",
        container_name="validate-raw",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "validate-raw", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/validate-raw",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
        on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: validate_raw succeeded", message=SUCCEEDED),
        on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: validate_raw failed", message=FAILED),
    )

    clean_stage = EcsRunTaskOperator(
        task_id="clean_stage",
        params={"app": "clean-stage"},
        doc_md="Type, normalise and deduplicate validated rows into clean Parquet.\n\nReads: lake:validated/trips/ds={{ ds }}/. Writes: lake:clean/trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        task_definition="trips-clean-stage",
        container_name="clean-stage",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "clean-stage", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/clean-stage",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
        on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: clean_stage succeeded", message=SUCCEEDED),
        on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: clean_stage failed", message=FAILED),
    )

    build_dimensions = EcsRunTaskOperator(
        task_id="build_dimensions",
        params={"app": "build-dimensions"},
        doc_md="Derive the dimension members the day's trips need, with deterministic keys.\n\nReads: lake:clean/trips/ds={{ ds }}/. Writes: lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        task_definition="trips-build-dimensions",
        container_name="build-dimensions",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "build-dimensions", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/build-dimensions",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
        on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: build_dimensions succeeded", message=SUCCEEDED),
        on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: build_dimensions failed", message=FAILED),
    )

    build_facts = EcsRunTaskOperator(
        task_id="build_facts",
        params={"app": "build-facts"},
        doc_md="Build the day's facts, keyed to the dimensions.\n\nReads: lake:clean/trips/ds={{ ds }}/, lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/. Writes: lake:model/fact_trips/ds={{ ds }}/.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        task_definition="trips-build-facts",
        container_name="build-facts",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "build-facts", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/build-facts",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
        on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: build_facts succeeded", message=SUCCEEDED),
        on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: build_facts failed", message=FAILED),
    )

    load_redshift = EcsRunTaskOperator(
        task_id="load_redshift",
        params={"app": "load-redshift"},
        doc_md="Load the day's dimensions and facts into the warehouse, one transaction per table.\n\nReads: lake:model/dim_region/ds={{ ds }}/, lake:model/dim_datasource/ds={{ ds }}/, lake:model/dim_date/ds={{ ds }}/, lake:model/dim_time_of_day/ds={{ ds }}/, lake:model/dim_trip_group/ds={{ ds }}/, lake:model/fact_trips/ds={{ ds }}/. Writes: warehouse:trips.*.",
        retries=2,
        retry_delay=timedelta(minutes=5),
        execution_timeout=timedelta(minutes=60),
        task_definition="trips-load-redshift",
        container_name="load-redshift",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "load-redshift", "command": ["--ds", DS, "--run-id", RUN_ID]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/load-redshift",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
        on_success_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: load_redshift succeeded", message=SUCCEEDED),
        on_failure_callback=SnsNotifier(target_arn=CONFIG["sns_topic_arn"], region_name=CONFIG["region"], subject="trips_pipeline: load_redshift failed", message=FAILED),
    )

    release_lock = EcsRunTaskOperator(
        task_id="release_lock",
        params={"app": "load-redshift"},
        doc_md="Free the day's lock at the end of the run, whatever became of its tasks.",
        retries=3,
        retry_delay=timedelta(minutes=1),
        execution_timeout=timedelta(minutes=10),
        task_definition="trips-load-redshift",
        container_name="load-redshift",
        cluster=CONFIG["cluster"],
        launch_type="FARGATE",
        overrides={"containerOverrides": [{"name": "load-redshift", "command": ["--ds", DS, "--run-id", RUN_ID, "--release-lock"]}]},
        network_configuration=NETWORK,
        awslogs_group=CONFIG["log_group"],
        awslogs_region=CONFIG["region"],
        awslogs_stream_prefix="trips/load-redshift",
        region_name=CONFIG["region"],
        propagate_tags="TASK_DEFINITION",
        reattach=True,
        wait_for_completion=True,
        do_xcom_push=True,
    )

    chain(validate_raw, clean_stage, build_dimensions, build_facts, load_redshift, release_lock.as_teardown())
    if not RAW_EVENTS_QUEUE_URL:
        chain(ingest_sftp, validate_raw)
