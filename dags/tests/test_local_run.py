"""
The local DAG in a real Airflow (`airflow dags test`, each task running its app's bundle against the
standing local stack): the whole chain for one day, a middle task rerun alone and then with its
downstream tasks (the warehouse unchanged), and a failing task pushing its failure notification.

The tests run in file order and share one warehouse: the first run builds what the reruns must leave
unchanged.
"""

from __future__ import annotations

import json
import re

import pytest

from conftest import DEFINITION, SAMPLE, SAMPLE_DS, airflow, trips

LOCAL_DAG_ID = f"{DEFINITION['dagId']}_local"
ORDER = [t["id"] for t in DEFINITION["tasks"]]
pytestmark = pytest.mark.usefixtures("airflow_db")

# The committed sample (libs/testing/fixtures/sample/README.md): 2,000 rows, 16 malformed, 16 duplicates.
SAMPLE_ROWS, SAMPLE_BAD, SAMPLE_DUPLICATES = 2000, 16, 16


def run_env(local_stack, webhook, **extra: str) -> dict[str, str]:
    return {**local_stack, "AIRFLOW_CONN_TRIPS_WEBHOOK": webhook.connection(), **extra}


def sql(local_stack, query: str) -> list[dict]:
    return json.loads(trips("sql", "--json", query, env=local_stack))


def fingerprint(local_stack) -> dict[str, tuple[int, str]]:
    """Row count and md5 of the ordered rows of every warehouse table."""
    tables = [r["table_name"] for r in sql(local_stack, "select table_name from information_schema.tables where table_schema = 'trips' order by 1")]
    assert "fact_trips" in tables
    union = " union all ".join(
        f"select '{t}' as t, count(*) as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from trips.{t} x" for t in tables
    )
    return {r["t"]: (int(r["n"]), r["h"]) for r in sql(local_stack, union)}


def aws_client(local_stack, service: str, endpoint: str):
    """A boto3 client (boto3 comes with the amazon provider) of the stack's stand-in for `service`."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=local_stack[endpoint],
        region_name=local_stack["AWS_REGION"],
        aws_access_key_id=local_stack["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=local_stack["AWS_SECRET_ACCESS_KEY"],
    )


def lake_json(local_stack, key: str) -> dict:
    """A JSON object of the lake bucket, read through the same S3 API the apps use."""
    s3 = aws_client(local_stack, "s3", "AWS_ENDPOINT_URL_S3")
    return json.loads(s3.get_object(Bucket=local_stack["TRIPS_LAKE_BUCKET"], Key=key)["Body"].read())


def manifest_started(local_stack, task: str) -> str:
    return lake_json(local_stack, f"manifests/{task}/ds={SAMPLE_DS}/manifest.json")["startedAt"]


def kms_ciphertext(local_stack, plaintext: str) -> str:
    """`kms:<base64>` of `plaintext` under a new key of the stack's moto server."""
    import base64

    kms = aws_client(local_stack, "kms", "AWS_ENDPOINT_URL")
    key = kms.create_key(Description="trips local test")["KeyMetadata"]["KeyId"]
    return "kms:" + base64.b64encode(kms.encrypt(KeyId=key, Plaintext=plaintext.encode())["CiphertextBlob"]).decode()


@pytest.fixture(scope="module")
def first_run(local_stack, webhook):
    webhook.received.clear()
    # The SFTP password reaches ingest_sftp as KMS ciphertext, decrypted on the stack's moto server.
    password = kms_ciphertext(local_stack, local_stack["TRIPS_SFTP_PASSWORD"])
    airflow("dags", "test", LOCAL_DAG_ID, SAMPLE_DS, env=run_env(local_stack, webhook, TRIPS_SFTP_PASSWORD=password))
    return {"notices": list(webhook.received), "fingerprint": fingerprint(local_stack)}


def test_the_local_dag_runs_the_whole_chain_into_the_warehouse(local_stack, first_run):
    counts = {t: n for t, (n, _) in first_run["fingerprint"].items()}
    assert counts["fact_trips"] == SAMPLE_ROWS - SAMPLE_BAD - SAMPLE_DUPLICATES
    [row] = sql(
        local_stack,
        "select min(ds)::text as lo, max(ds)::text as hi, count(distinct region_key) as regions,"
        " count(distinct datasource_key) as datasources from trips.fact_trips",
    )
    assert (row["lo"], row["hi"]) == (SAMPLE_DS, SAMPLE_DS)
    assert counts["dim_region"] == int(row["regions"]) > 0
    assert counts["dim_datasource"] == int(row["datasources"]) > 0


def test_every_task_pushes_a_success_notice_with_its_counts(first_run):
    notices = first_run["notices"]
    assert [n["task"] for n in notices] == ORDER
    ingest = json.loads(notices[0]["summary"])
    assert ingest["counts"] == {"seen": 1, "landed": 1, "skipped": 0, "failed": 0, "bytes": SAMPLE.stat().st_size}
    notices = notices[1:]
    for n in notices:
        assert n["state"] == "succeeded" and n["ds"] == SAMPLE_DS and n["dag_id"] == LOCAL_DAG_ID
        assert n["manifest"] == f"manifests/{n['task']}/ds={SAMPLE_DS}/manifest.json"
    validate = json.loads(notices[0]["summary"])
    assert validate["rows"] == {"read": SAMPLE_ROWS, "passed": SAMPLE_ROWS - SAMPLE_BAD, "rejected": SAMPLE_BAD, "duplicates": 0}
    assert sum(validate["rejectedByReason"].values()) == SAMPLE_BAD
    clean = json.loads(notices[1]["summary"])
    assert clean["rows"]["duplicates"] == SAMPLE_DUPLICATES


def test_a_middle_task_rerun_alone_leaves_the_warehouse_unchanged(local_stack, webhook, first_run):
    before = manifest_started(local_stack, "clean_stage")
    webhook.received.clear()
    # Every other task is marked successful without running: clean_stage alone runs, in a real DAG run.
    airflow("dags", "test", LOCAL_DAG_ID, SAMPLE_DS, "--mark-success-pattern", "(?!clean_stage$|release_lock$).*", env=run_env(local_stack, webhook))
    assert [n["task"] for n in webhook.received] == ["clean_stage"]
    assert manifest_started(local_stack, "clean_stage") > before
    assert fingerprint(local_stack) == first_run["fingerprint"]


def test_a_middle_task_rerun_with_its_downstream_tasks_leaves_the_warehouse_unchanged(local_stack, webhook, first_run):
    webhook.received.clear()
    airflow("dags", "test", LOCAL_DAG_ID, SAMPLE_DS, "--mark-success-pattern", "ingest_sftp|validate_raw", env=run_env(local_stack, webhook))
    assert [n["task"] for n in webhook.received] == ORDER[ORDER.index("clean_stage") :]
    assert all(n["state"] == "succeeded" for n in webhook.received)
    assert fingerprint(local_stack) == first_run["fingerprint"]


def test_a_failing_task_pushes_the_failure_notification(local_stack, webhook, first_run):
    webhook.received.clear()
    # The sample has 16 bad rows: a zero reject threshold fails validate_raw (exit 65). The retries
    # happen without their 5-minute delay (a cluster policy of the test Airflow, conftest.py).
    env = run_env(local_stack, webhook, TRIPS_MAX_REJECT_RATIO="0", TRIPS_TEST_IMMEDIATE_RETRIES="1")
    result = airflow("dags", "test", LOCAL_DAG_ID, SAMPLE_DS, env=env, check=False)
    assert result.returncode != 0
    ingested, notice = webhook.received
    # ingest_sftp finds the sample already landed and lands nothing.
    assert ingested["task"] == "ingest_sftp" and json.loads(ingested["summary"])["counts"]["landed"] == 0
    assert notice["task"] == "validate_raw" and notice["state"] == "failed" and notice["ds"] == SAMPLE_DS
    assert notice["try_number"] == next(t["retries"] for t in DEFINITION["tasks"] if t["id"] == "validate_raw") + 1
    assert re.search(r"exit code 65\b", notice["error"])
    assert notice["manifest"] == f"manifests/validate_raw/ds={SAMPLE_DS}/manifest.json"
    # The failed run stopped before the warehouse: it holds what the first run loaded.
    assert fingerprint(local_stack) == first_run["fingerprint"]
    # Its closing step freed the day's lock all the same, for the next run.
    assert lake_json(local_stack, f"locks/ds={SAMPLE_DS}.json")["released"] is True
