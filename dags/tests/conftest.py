"""
Fixtures of the DAG tests: a throwaway AIRFLOW_HOME (set before Airflow is imported), a DAGs folder
holding the committed DAG files with a deployment config for the MWAA one, the definition they were
generated from, and for the run tests the standing local stack (`trips local up`) with the sample
batch landed, a migrated Airflow database and a webhook receiver.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
DEFINITION = json.loads((DAGS / "trips_pipeline.definition.json").read_text())
SAMPLE = REPO / "libs" / "testing" / "fixtures" / "sample" / "trips-sample.csv"
SAMPLE_DS = "2018-05-28"

MWAA_CONFIG = {
    "cluster": "trips-test",
    "subnets": ["subnet-0a", "subnet-0b"],
    "security_groups": ["sg-0c"],
    "egress_security_groups": ["sg-0e"],
    "log_group": "/trips/ecs",
    "region": "eu-central-1",
    "sns_topic_arn": "arn:aws:sns:eu-central-1:123456789012:trips-notifications",
    "raw_bucket": "trips-raw-test",
    "raw_events_queue_url": "https://sqs.eu-central-1.amazonaws.com/123456789012/trips-raw-events",
}

_HOME = Path(tempfile.mkdtemp(prefix="trips-airflow-"))
DAGS_FOLDER = _HOME / "dags"
DAGS_FOLDER.mkdir()
for name in ("trips_pipeline.py", "trips_pipeline_local.py"):
    shutil.copy(DAGS / name, DAGS_FOLDER / name)
(DAGS_FOLDER / "trips_pipeline_config.json").write_text(json.dumps(MWAA_CONFIG))
# A cluster policy for the failure test only: retries without their delay (see test_local_run.py).
(_HOME / "config").mkdir()
(_HOME / "config" / "airflow_local_settings.py").write_text(
    "import os\n"
    "from datetime import timedelta\n\n\n"
    "def task_policy(task):\n"
    "    if os.environ.get('TRIPS_TEST_IMMEDIATE_RETRIES') == '1':\n"
    "        task.retry_delay = timedelta(0)\n"
)
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_HOME, ignore_errors=True)


def airflow(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs the airflow CLI of this virtual environment; output kept for the assertion message."""
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    result = subprocess.run(cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    return result


def trips(*args: str, env: dict[str, str]) -> str:
    """Runs `npx trips` (bin/trips.cjs from source) and returns its stdout."""
    result = subprocess.run(["node", str(REPO / "bin" / "trips.cjs"), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise AssertionError(f"trips {' '.join(args)} exited {result.returncode}\n{result.stderr[-4000:]}")
    return result.stdout


class Webhook:
    """An HTTP receiver on a free port that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/trips"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def connection(self) -> str:
        """The Airflow connection (JSON form) the local DAG's notifiers post to."""
        return json.dumps({"conn_type": "http", "host": self.url})


@pytest.fixture(scope="session")
def webhook():
    hook = Webhook()
    yield hook
    hook.server.shutdown()


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """`trips local up` on a fresh state folder with the sample delivered to its SFTP folder; yields the apps' env."""
    for app in {t["app"] for t in DEFINITION["tasks"]}:
        bundle = REPO / "dist" / "apps" / app / "main.js"
        if not bundle.exists():
            pytest.fail(f"{bundle} is missing: the local DAG runs the bundles; run `npx nx run-many -t build` (nx test dags does)")
    state_dir = tmp_path_factory.mktemp("trips-state")
    state = {"TRIPS_STATE_DIR": str(state_dir)}
    trips("local", "up", env=state)
    try:
        env = {**state, **json.loads(trips("local", "env", "--json", env=state))}
        # The partner delivers the sample to the SFTP folder; the DAG's ingest_sftp task lands it.
        delivered = state_dir / "sftp" / "inbox" / SAMPLE.name
        shutil.copy(SAMPLE, delivered)
        os.utime(delivered, (1_527_465_600, 1_527_465_600))
        yield env
    finally:
        trips("local", "down", env=state)


@pytest.fixture(scope="session")
def airflow_db():
    airflow("db", "migrate")
