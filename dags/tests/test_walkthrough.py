"""
docs/airflow.md, "Running locally: the walkthrough", followed step by step on a fresh state folder:
`npm run local:airflow`, unpause the DAG (through Airflow's REST API, as the UI does), today's run
lands the sample from the SFTP folder and loads it, another day delivered and triggered with the
`airflow` command of `.state/airflow/env.sh`, then Ctrl-C and `npx trips local down`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import REPO

DAG_ID = "trips_pipeline_local"
SAMPLE_FACTS = 2000 - 16 - 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """A user's shell: none of the test session's Airflow settings, their own state folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {**env, "TRIPS_STATE_DIR": str(state_dir), **extra}


def trips(env: dict[str, str], *args: str) -> str:
    r = subprocess.run(["node", str(REPO / "bin" / "trips.cjs"), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"trips {' '.join(args)} exited {r.returncode}\n{r.stderr[-3000:]}"
    return r.stdout


class LocalAirflow:
    """`npm run local:airflow` in the background, its output collected line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(["npm", "run", "local:airflow"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.lines:
                m = re.search(pattern, line)
                if m:
                    return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"no line matching {pattern!r} (exit {self.proc.poll()}):\n" + "\n".join(self.lines[-60:]))


class Api:
    """Airflow's REST API as the UI uses it: a token for the printed user and password."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        body = json.dumps({"username": user, "password": password}).encode()
        req = urllib.request.Request(f"{url}/auth/token", data=body, headers={"content-type": "application/json"}, method="POST")
        self.token = json.load(urllib.request.urlopen(req, timeout=30))["access_token"]

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/api/v2{path}", data=data, method=method, headers={"authorization": f"Bearer {self.token}", "content-type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=30))

    def wait_for_run(self, predicate, timeout: float = 300) -> dict:
        deadline = time.time() + timeout
        runs: list[dict] = []
        while time.time() < deadline:
            runs = self.call("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
            done = [r for r in runs if predicate(r) and r["state"] in ("success", "failed")]
            if done:
                return done[0]
            time.sleep(2)
        raise AssertionError(f"no finished run within {timeout} s: {runs}")


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = user_env(tmp_path / "state", TRIPS_AIRFLOW_PORT=str(port))
        r = subprocess.run(["npm", "run", "--silent", "local:airflow"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert f"port {port} (TRIPS_AIRFLOW_PORT) is in use on 127.0.0.1" in r.stderr
    assert not (tmp_path / "state" / "stack.json").exists()  # nothing started


def test_the_documented_walkthrough_ends_green_with_the_warehouse_filled(tmp_path):
    state = tmp_path / "state"
    port = free_port()
    env = user_env(state, TRIPS_AIRFLOW_PORT=str(port))
    # 1. npm run local:airflow
    airflow = LocalAirflow(env)
    pids: list[int] = []
    try:
        ready = airflow.wait_for(r"Airflow is ready: (http://127\.0\.0\.1:\d+) \(user (\w+), password (\S+)\)", timeout=420)
        url, user, password = ready.groups()
        assert url == f"http://127.0.0.1:{port}"
        assert (state / "sftp" / "inbox" / "trips-sample.csv").exists()
        assert (state / "airflow" / "airflow.cfg").exists()  # AIRFLOW_HOME follows TRIPS_STATE_DIR
        pids = json.loads((state / "airflow" / "airflow.json").read_text())["pids"]

        # 2. Unpause the DAG: the run of its latest schedule (today) lands the sample and loads it.
        api = Api(url, user, password)
        assert api.call("PATCH", f"/dags/{DAG_ID}", {"is_paused": False})["is_paused"] is False
        run = api.wait_for_run(lambda r: r["run_type"] == "scheduled")
        assert run["state"] == "success", run
        today = run["logical_date"][:10]
        now = datetime.now(timezone.utc)
        assert today in (now.strftime("%Y-%m-%d"), (now - timedelta(days=1)).strftime("%Y-%m-%d"))  # the last 03:00 UTC

        # 3. The warehouse holds the sample as the run's day.
        facts = json.loads(trips(env, "sql", "--json", "select ds, count(*) as trips from trips.fact_trips group by ds order by ds"))
        assert facts == [{"ds": today, "trips": SAMPLE_FACTS}]
        assert (state / "notices.jsonl").exists()

        # 4. Another day: a file in the SFTP folder, a run triggered with its logical date.
        generated = json.loads(trips(env, "generate", "--seed", "2", "--rows", "3000", "--start", "2018-06-04", "--days", "7", "--bad-ratio", "0.01", "--out", str(state / "sftp" / "inbox" / "trips-2018-06-04.csv"), "--json"))
        trigger = subprocess.run(
            ["bash", "-c", f". {state / 'airflow' / 'env.sh'} && airflow dags trigger {DAG_ID} --logical-date 2018-06-04T03:00:00+00:00"],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=180,
        )
        assert trigger.returncode == 0, trigger.stderr[-3000:]
        second = api.wait_for_run(lambda r: r["logical_date"].startswith("2018-06-04"))
        assert second["state"] == "success", second
        facts = json.loads(trips(env, "sql", "--json", "select ds, count(*) as trips from trips.fact_trips group by ds order by ds"))
        assert facts == [{"ds": "2018-06-04", "trips": generated["goodRows"]}, {"ds": today, "trips": SAMPLE_FACTS}]

        # Every task of both runs sent its notice to the set-up's own receiver, and no task logged a
        # missing connection.
        notices = [json.loads(line) for line in (state / "notices.jsonl").read_text().splitlines()]
        assert sorted((n["ds"], n["task"], n["state"]) for n in notices) == sorted(
            (ds, t, "succeeded") for ds in (today, "2018-06-04") for t in ("ingest_sftp", "validate_raw", "clean_stage", "build_dimensions", "build_facts", "load_redshift")
        )
        task_logs = "\n".join(p.read_text(errors="replace") for p in (state / "airflow" / "logs").rglob("*.log") if "dag_id=" in str(p))
        assert "isn't defined" not in task_logs
    finally:
        # 5. Ctrl-C, then trips local down.
        if airflow.proc.poll() is None:
            os.killpg(airflow.proc.pid, signal.SIGINT)
            try:
                airflow.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(airflow.proc.pid, signal.SIGKILL)
        trips(env, "local", "down")
    assert not (state / "airflow" / "airflow.json").exists()
    for pid in pids:  # Airflow's processes, with their workers (process groups)
        try:
            os.killpg(pid, 0)
            raise AssertionError(f"Airflow process group {pid} still runs after Ctrl-C")
        except ProcessLookupError:
            pass
