"""The generated DAG files import in a real Airflow and match the pipeline definition they came from."""

from __future__ import annotations

import ast
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import CronTriggerTimetable

from conftest import DAGS, DAGS_FOLDER, DEFINITION, MWAA_CONFIG
from mwaa_compat import (
    AIRFLOW_SDK_1_0_6,
    BASE_OPERATOR_USED,
    ECS_RUN_TASK_9_12,
    MESSAGE_QUEUE_TRIGGER_1_0_5,
    SNS_NOTIFIER_9_12,
)

DAG_ID = DEFINITION["dagId"]
LOCAL_DAG_ID = f"{DAG_ID}_local"
RELEASE = DEFINITION["lockRelease"]
# Every task of the definition, and the run's closing step that frees the day's lock.
TASKS = {t["id"]: t for t in [*DEFINITION["tasks"], RELEASE]}
INGEST = DEFINITION["ingestTask"]


def expected_tasks(dag_id: str, events: bool) -> dict[str, dict]:
    """The tasks a DAG has: with a raw-events queue the MWAA DAG leaves out the ingest task (the watcher lands files)."""
    if not (dag_id == DAG_ID and events):
        return TASKS
    return {k: {**t, "dependsOn": [d for d in t["dependsOn"] if d != INGEST]} for k, t in TASKS.items() if k != INGEST}


def mwaa_dagbag(tmp_path: Path, config: dict) -> DagBag:
    shutil.copy(DAGS / "trips_pipeline.py", tmp_path / "trips_pipeline.py")
    (tmp_path / "trips_pipeline_config.json").write_text(json.dumps(config))
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    return bag


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_both_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {DAG_ID, LOCAL_DAG_ID} <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", [DAG_ID, LOCAL_DAG_ID])
def test_tasks_dependencies_retries_and_timeouts_follow_the_definition(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    tasks = expected_tasks(dag_id, events=True)
    assert set(dag.task_ids) == set(tasks)
    for task in dag.tasks:
        spec = tasks[task.task_id]
        assert task.upstream_task_ids == set(spec["dependsOn"]), task.task_id
        assert task.retries == spec["retries"]
        assert task.retry_delay == timedelta(minutes=spec["retryDelayMinutes"])
        assert task.execution_timeout == timedelta(minutes=spec["timeoutMinutes"])
        assert task.params["app"] == spec["app"]
        if task.task_id == RELEASE["id"]:
            # A teardown: runs whatever became of the others, leaves the run's state to them, notifies nobody.
            assert task.is_teardown and task.trigger_rule == "all_done_setup_success"
            assert not task.on_success_callback and not task.on_failure_callback
        else:
            assert not task.is_teardown and task.trigger_rule == "all_success"
            assert task.on_success_callback and task.on_failure_callback
    assert dag.catchup is DEFINITION["catchup"]
    assert dag.max_active_runs == DEFINITION["maxActiveRuns"]
    assert dag.start_date.date().isoformat() == DEFINITION["startDate"]


def test_the_local_dag_runs_each_apps_bundle_with_the_logical_date(dagbag):
    for task in dagbag.dags[LOCAL_DAG_ID].tasks:
        assert isinstance(task, BashOperator)
        app = TASKS[task.task_id]["app"]
        assert task.bash_command.startswith(f'exec node "$TRIPS_HOME/dist/apps/{app}/main.js" --ds {{{{ ')
        assert "(dag_run.logical_date or dag_run.run_after) | ds" in task.bash_command


def test_the_mwaa_dag_runs_each_app_on_fargate_with_settings_from_the_config(dagbag):
    ecs = DEFINITION["ecs"]
    for task in dagbag.dags[DAG_ID].tasks:
        app = TASKS[task.task_id]["app"]
        assert isinstance(task, EcsRunTaskOperator)
        assert task.task_definition == f"{ecs['taskFamilyPrefix']}{app}"
        assert task.container_name == app
        assert task.cluster == MWAA_CONFIG["cluster"]
        assert task.launch_type == "FARGATE"
        [container] = task.overrides["containerOverrides"]
        assert container["name"] == app
        expected = ["--ds", "{{ (dag_run.logical_date or dag_run.run_after) | ds }}", "--run-id", "{{ run_id }}"]
        assert container["command"] == expected + (["--release-lock"] if task.task_id == RELEASE["id"] else [])
        vpc = task.network_configuration["awsvpcConfiguration"]
        # Only the task reading the partner's SFTP server gets the security group that may leave the VPC.
        reads_sftp = any(r["store"] == "sftp" for r in TASKS[task.task_id]["reads"])
        expected_groups = MWAA_CONFIG["egress_security_groups" if reads_sftp else "security_groups"]
        assert vpc["subnets"] == MWAA_CONFIG["subnets"] and vpc["securityGroups"] == expected_groups
        assert task.awslogs_group == MWAA_CONFIG["log_group"]
        assert task.awslogs_stream_prefix == f"{ecs['logStreamPrefix']}/{app}"
        assert task.reattach is True
        assert task.do_xcom_push is True


def test_file_arrivals_schedule_the_mwaa_dag_through_an_sqs_asset_watcher_when_a_queue_is_configured(dagbag):
    timetable = dagbag.dags[DAG_ID].timetable
    assert isinstance(timetable, AssetOrTimeSchedule)
    assert timetable.timetable._expression == DEFINITION["schedule"]
    [(_, asset)] = list(timetable.asset_condition.iter_assets())
    assert asset.uri.rstrip("/") == f"s3://{MWAA_CONFIG['raw_bucket']}/trips"
    [watcher] = asset.watchers
    # The common MessageQueueTrigger resolves an SQS URL to the amazon provider's SQS trigger.
    assert watcher.trigger["classpath"].endswith(".SqsSensorTrigger")
    assert watcher.trigger["kwargs"]["sqs_queue"] == MWAA_CONFIG["raw_events_queue_url"]


def test_with_a_queue_the_mwaa_dag_leaves_landing_to_the_watcher_so_no_run_starts_another(dagbag):
    dag = dagbag.dags[DAG_ID]
    assert INGEST not in dag.task_ids
    first = [t for t in dag.tasks if not t.upstream_task_ids]
    assert [t.task_id for t in first] == [d["id"] for d in DEFINITION["tasks"] if d["dependsOn"] == [INGEST]]


def test_without_a_queue_the_mwaa_dag_runs_on_its_cron_schedule_only_and_lands_the_files_itself(tmp_path):
    config = {k: v for k, v in MWAA_CONFIG.items() if k != "raw_events_queue_url"}
    dag = mwaa_dagbag(tmp_path, config).dags[DAG_ID]
    timetable = dag.timetable
    assert isinstance(timetable, CronTriggerTimetable)
    assert timetable._expression == DEFINITION["schedule"]
    assert set(dag.task_ids) == set(TASKS)
    for task in dag.tasks:
        assert task.upstream_task_ids == set(TASKS[task.task_id]["dependsOn"]), task.task_id
    ingest = dag.get_task(INGEST)
    assert isinstance(ingest, EcsRunTaskOperator) and ingest.container_name == TASKS[INGEST]["app"]
    assert ingest.network_configuration["awsvpcConfiguration"]["securityGroups"] == config["egress_security_groups"]


def test_without_its_config_file_the_mwaa_dag_fails_to_import_naming_it(tmp_path):
    shutil.copy(DAGS / "trips_pipeline.py", tmp_path / "trips_pipeline.py")
    bag = DagBag(dag_folder=str(tmp_path))
    [error] = bag.import_errors.values()
    assert "trips_pipeline_config.json" in error


def _calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def test_the_mwaa_dag_uses_only_what_mwaa_3_0_6_ships():
    path = DAGS / "trips_pipeline.py"
    source = path.read_text()
    ecs_calls = _calls(path, "EcsRunTaskOperator")
    assert len(ecs_calls) == len(TASKS)
    for call in ecs_calls:
        used = {k.arg for k in call.keywords}
        assert used <= ECS_RUN_TASK_9_12 | BASE_OPERATOR_USED, used - ECS_RUN_TASK_9_12 - BASE_OPERATOR_USED
    for call in _calls(path, "SnsNotifier"):
        assert {k.arg for k in call.keywords} <= SNS_NOTIFIER_9_12
    for call in _calls(path, "MessageQueueTrigger"):
        assert {k.arg for k in call.keywords} <= MESSAGE_QUEUE_TRIGGER_1_0_5
    sdk_imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom) and n.module == "airflow.sdk"]
    assert sdk_imports and all(a.name in AIRFLOW_SDK_1_0_6 for n in sdk_imports for a in n.names)


@pytest.mark.parametrize("name", ["trips_pipeline.py", "trips_pipeline_local.py"])
def test_the_dags_use_airflow_3_names_and_hold_no_logic(name):
    source = (DAGS / name).read_text()
    for legacy in ("schedule_interval", "execution_date", "airflow.operators.bash", "airflow.models.dag", "from airflow import DAG"):
        assert legacy not in source, legacy
    tree = ast.parse(source)
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.Lambda))]
