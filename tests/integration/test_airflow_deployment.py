"""`make airflow` as a deployment: api-server + UI, scheduler (LocalExecutor), dag-processor, PostgreSQL metadata.

One deployment is started for the module (as `make airflow` starts it: python -m
konvergensi.airflow_deployment run) on a scratch warehouse, a scratch metadata database and a tiny
simulated city whose services API and public-works endpoint refuse the token at first:
1. the DAG is registered unpaused, and the scheduler starts the latest scheduled night on its own;
   that night fails on the rejected sources, and each failed extract raises an alert (ops.alerts
   and the webhook receiver on 127.0.0.1) naming the run, the task and the reason;
2. with the sources answering again, a night triggered through the REST API (/api/v2, JWT from the
   generated credentials) succeeds and publishes the marts (ops.publish_log names that run);
3. headless Chromium logs in to the UI and renders the DAG's grid view with its task groups; the
   screenshot is kept in <data dir>/test-artefacts/ (its path is printed).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from konvergensi.airflow_deployment import access_token, request
from konvergensi.settings import dbt_env
from tests.alert_receiver import AlertReceiver
from tests.service_output import Output, free_port

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
DAG_ID = "konvergensi_nightly"
AS_OF = "2026-11-02T00:00:00+07:00"
TOKEN = "deployment-test-token"
HTTP_SOURCE_TASKS = {"extract_services", "extract_pregnancies", "extract_pupr_surveys", "extract_pupr_projects"}


def run_deployment_expecting_failure(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, KONVERGENSI_DATA_DIR=str(tmp_path / "data"), AIRFLOW_HOME=str(tmp_path / "airflow"),
                       PYTHONPATH=str(PROJECT / "include"), **settings)
    return subprocess.run([sys.executable, "-m", "konvergensi.airflow_deployment", "run", "--port", str(free_port())],
                          env=environment, capture_output=True, text=True, timeout=120)


def test_an_unreachable_warehouse_is_named(tmp_path: Path) -> None:
    result = run_deployment_expecting_failure(tmp_path, WAREHOUSE_URL=f"postgresql://konvergensi:secret@127.0.0.1:{free_port()}/wh")
    assert result.returncode == 2
    assert "make airflow: the warehouse is unreachable at postgresql://konvergensi:***@127.0.0.1:" in result.stderr
    assert "secret" not in result.stderr + result.stdout


def test_an_unreachable_metadata_database_is_named(tmp_path: Path, test_database_url: str) -> None:
    result = run_deployment_expecting_failure(tmp_path, WAREHOUSE_URL=test_database_url,
                                              KONVERGENSI_AIRFLOW_DB_URL=f"postgresql://airflow@127.0.0.1:{free_port()}/airflow")
    assert result.returncode == 2 and "make airflow: Airflow's metadata database is unreachable at" in result.stderr


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environment = dict(os.environ, KONVERGENSI_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(PROJECT / "include"))
        result = subprocess.run([sys.executable, "-m", "konvergensi.airflow_deployment", "run", "--port", str(port)],
                                env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and f"port {port} on 127.0.0.1 is taken" in result.stderr


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[dict]:
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("deployment")
    landing, store, data = root / "landing", root / "store", root / "data"
    landing.mkdir()
    started = time.monotonic()
    # a warehouse of its own: the session database is shared with other modules
    with _scratch_database(server_url) as test_database_url, _scratch_database(server_url) as dtsen_url, \
            _scratch_database(server_url) as metadata_url:
        truth = write_city_sources(landing, store, dtsen_url, seed=5, children=80, months=1, end_month="2026-10",
                                   as_of=AS_OF, progress=False)
        with SourceServer(store, token=TOKEN, as_of=AS_OF, seed=1) as sources, AlertReceiver() as receiver:
            sources.fail_next(100_000, status=401)  # every HTTP source refuses the token, until the test says
            port = free_port()
            environment = dict(
                os.environ,
                WAREHOUSE_URL=test_database_url,
                KONVERGENSI_AIRFLOW_DB_URL=metadata_url,
                KONVERGENSI_DATA_DIR=str(data),
                KONVERGENSI_LANDING_DIR=str(landing),
                KONVERGENSI_SERVICES_API_URL=sources.services_url,
                KONVERGENSI_SERVICES_API_TOKEN=TOKEN,
                KONVERGENSI_PUPR_API_URL=sources.pupr_url,
                KONVERGENSI_DTSEN_URL=dtsen_url,
                KONVERGENSI_HTTP_BACKOFF_SECONDS="0.2",
                KONVERGENSI_HTTP_TIMEOUT_SECONDS="10",
                KONVERGENSI_ALERT_WEBHOOK=receiver.url,
                AIRFLOW_HOME=str(root / "airflow"),
                AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT / "dags"),
                AIRFLOW__CORE__LOAD_EXAMPLES="False",
                PYTHONPATH=str(PROJECT / "include"),
                **dbt_env(test_database_url),
            )
            process = subprocess.Popen(
                [sys.executable, "-m", "konvergensi.airflow_deployment", "run", "--port", str(port)],
                env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            output = Output(process)
            try:
                output.wait_for("Stop with Ctrl-C", process, timeout=300)
                print(f"deployment up in {time.monotonic() - started:.0f} s", flush=True)
                base = f"http://127.0.0.1:{port}"
                yield {"process": process, "output": output, "base": base, "port": port, "url": test_database_url,
                       "metadata_url": metadata_url, "data": data, "root": root, "sources": sources,
                       "receiver": receiver, "truth": truth}
            finally:
                stopping = time.monotonic()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill()
                print(f"deployment stopped in {time.monotonic() - stopping:.0f} s", flush=True)


def token(deployment: dict) -> str:
    """A JWT from the generated credentials (fetched once per deployment)."""
    if "token" not in deployment:
        import json

        password = json.loads((deployment["data"] / "airflow-deployment" / "passwords.json").read_text())["admin"]
        deployment["token"] = access_token(deployment["base"], "admin", password)
    return deployment["token"]


def api(deployment: dict, path: str, **arguments: object) -> dict:
    """A REST call; on a loaded machine the api-server may be slow, so a timed-out read is tried again."""
    for attempt in range(5):
        try:
            return request(f"{deployment['base']}/api/v2/{path}", token=token(deployment), timeout=60, **arguments)
        except (TimeoutError, urllib.error.URLError) as error:
            assert deployment["process"].poll() is None, "\n".join(deployment["output"].lines[-30:])
            if attempt == 4 or isinstance(error, urllib.error.HTTPError):
                raise
            time.sleep(5)
    raise AssertionError("unreachable")


def wait_for_run(deployment: dict, run_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        run = api(deployment, f"dags/{DAG_ID}/dagRuns/{run_id}")
        if run["state"] in ("success", "failed") or time.monotonic() > deadline:
            return run
        time.sleep(3)


def task_states(deployment: dict, run_id: str) -> dict[str, str]:
    found = api(deployment, f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=500")
    return {ti["task_id"]: ti["state"] for ti in found["task_instances"]}


def rows(url: str, sql: str, parameters: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql, parameters).fetchall()


def test_deployment_is_up_with_postgres_metadata_and_private_login(deployment: dict) -> None:
    printed = "\n".join(deployment["output"].lines)
    print(printed)
    assert f"Airflow is running: {deployment['base']}" in printed and "log in as 'admin'" in printed
    passwords = deployment["data"] / "airflow-deployment" / "passwords.json"
    assert str(passwords) in printed and stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert stat.S_IMODE((deployment["data"] / "airflow-deployment" / "secrets.json").stat().st_mode) == 0o600
    with pytest.raises(urllib.error.HTTPError) as refused:
        access_token(deployment["base"], "admin", "not-the-password")
    assert refused.value.code == 401
    dag = api(deployment, f"dags/{DAG_ID}")
    assert dag["is_paused"] is False and dag["timetable_summary"] == "0 19 * * *"
    # the metadata lives in the PostgreSQL database given, and the DAG with it
    assert rows(deployment["metadata_url"], "select is_paused from dag where dag_id = %s", (DAG_ID,)) == [(False,)]
    health = request(f"{deployment['base']}/api/v2/monitor/health", timeout=60)
    assert health["scheduler"]["status"] == "healthy" and health["dag_processor"]["status"] == "healthy"
    import psutil

    listening = {c.laddr.ip for c in psutil.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == deployment["port"]}
    assert listening == {"127.0.0.1"}  # the UI and API listen on the loopback interface only


@pytest.fixture(scope="module")
def scheduled_night(deployment: dict) -> dict:
    """The night the scheduler starts by itself once the DAG is unpaused; its HTTP sources refuse the token."""
    deadline = time.monotonic() + 120
    while True:
        found = api(deployment, f"dags/{DAG_ID}/dagRuns?run_type=scheduled")["dag_runs"]
        if found or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert found, "the scheduler started no scheduled run"
    started = time.monotonic()
    run = wait_for_run(deployment, found[0]["dag_run_id"], timeout=600)
    print(f"scheduled night {run['dag_run_id']}: {run['state']} in {time.monotonic() - started:.0f} s", flush=True)
    deployment["sources"].fail_next(0)  # the sources accept the token again
    return run


def test_a_night_with_rejected_sources_fails_and_alerts(deployment: dict, scheduled_night: dict) -> None:
    run_id = scheduled_night["dag_run_id"]
    assert scheduled_night["state"] == "failed"
    states = task_states(deployment, run_id)
    failed = {task for task, state in states.items() if state == "failed"}
    assert failed == HTTP_SOURCE_TASKS, states
    assert states["extract_dtsen"] == "success" and states.get("publish_marts") != "success"
    # the build never ran, so none of the dbt node tasks failed one by one (they are skipped)
    assert states.get("transform.dbt_producer_watcher") in ("upstream_failed", None), states
    assert "failed" not in {s for t, s in states.items() if t.startswith("transform.")}, states
    alerts = rows(deployment["url"], "select severity, kind, task_id, reason, webhook_status from ops.alerts"
                                     " where run_id = %s order by task_id", (run_id,))
    assert {a[2] for a in alerts} == HTTP_SOURCE_TASKS
    for severity, kind, task_id, reason, webhook in alerts:
        assert (severity, kind, webhook) == ("alert", "source_rejected", "sent"), task_id
        assert "HTTP 401" in reason, reason
    posted = [p for p in deployment["receiver"].wait_for(len(HTTP_SOURCE_TASKS)) if p["run_id"] == run_id]
    assert sorted(p["task_id"] for p in posted) == sorted(HTTP_SOURCE_TASKS)
    assert all(p["dag_id"] == DAG_ID and p["severity"] == "alert" and "HTTP 401" in p["reason"] for p in posted)
    assert not rows(deployment["url"], "select 1 from ops.publish_log where run_id = %s", (run_id,))


@pytest.fixture(scope="module")
def triggered_night(deployment: dict, scheduled_night: dict) -> dict:
    run_id = f"rest__{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}"
    created = request(f"{deployment['base']}/api/v2/dags/{DAG_ID}/dagRuns", token=token(deployment), method="POST",
                      body={"dag_run_id": run_id, "logical_date": dt.datetime.now(dt.timezone.utc).isoformat()},
                      timeout=120)
    assert created["dag_run_id"] == run_id and created["run_type"] == "manual" and created["state"] == "queued"
    started = time.monotonic()
    run = wait_for_run(deployment, run_id, timeout=2700)
    run["seconds"] = time.monotonic() - started
    print(f"REST-triggered night {run_id}: {run['state']} in {run['seconds']:.0f} s", flush=True)
    return run


@pytest.mark.timeout(3000)
def test_a_rest_triggered_night_publishes(deployment: dict, triggered_night: dict) -> None:
    run_id = triggered_night["dag_run_id"]
    states = task_states(deployment, run_id)
    assert triggered_night["state"] == "success", {t: s for t, s in states.items() if s != "success"}
    assert set(states.values()) == {"success"} and any(t.startswith("transform.") for t in states)
    published = rows(deployment["url"], "select source_schema, target_schema from ops.publish_log where run_id = %s",
                     (run_id,))
    assert published == [("marts_audit", "marts")]
    assert rows(deployment["url"], "select bool_and(success) from ops.gate_runs where run_id = %s", (run_id,)) == [(True,)]
    assert rows(deployment["url"], "select count(*) > 0 from marts.mart_convergence_scorecard")[0][0]
    # every source answered tonight: no alert and no stale warning for this run
    assert rows(deployment["url"], "select kind from ops.alerts where run_id = %s", (run_id,)) == []
    assert all(p["run_id"] != run_id for p in deployment["receiver"].bodies())


def test_grid_view_shows_the_task_groups(deployment: dict, triggered_night: dict) -> None:
    import json

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1600,1000",
                     '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'):
        options.add_argument(argument)
    password = json.loads((deployment["data"] / "airflow-deployment" / "passwords.json").read_text())["admin"]
    # kept in the data directory (ignored by git): pytest's tmp directories are rotated by later sessions
    from konvergensi.settings import data_dir

    artefacts = data_dir() / "test-artefacts"
    artefacts.mkdir(exist_ok=True)
    screenshot = artefacts / f"konvergensi_nightly-grid-{time.strftime('%Y%m%dT%H%M%S')}.png"
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        wait = WebDriverWait(browser, 90)
        browser.get(f"{deployment['base']}/dags/{DAG_ID}")  # not logged in: sent to the login page
        wait.until(expected_conditions.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
        browser.find_element(By.NAME, "password").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: "/auth/login" not in b.current_url)
        if not browser.current_url.endswith(f"/dags/{DAG_ID}"):
            browser.get(f"{deployment['base']}/dags/{DAG_ID}")
        wait.until(lambda b: "transform" in b.find_element(By.TAG_NAME, "body").text)
        wait.until(lambda b: "publish_marts" in b.find_element(By.TAG_NAME, "body").text)
        text = browser.find_element(By.TAG_NAME, "body").text
        browser.save_screenshot(str(screenshot))
    finally:
        browser.quit()
    print(f"grid view screenshot: {screenshot}")
    assert DAG_ID in text and "0 19 * * *" in text
    for task in ("ingest_eppgbm", "extract_services", "transform", "quality_gate", "publish_marts"):
        assert task in text, task
    assert screenshot.stat().st_size > 10_000


def test_make_stop_stops_every_component(deployment: dict) -> None:
    """`make stop` (airflow_deployment stop) ends `run` and every process of the three components."""
    import json

    import psutil

    state = json.loads((deployment["data"] / "airflow-deployment" / "deployment.json").read_text())
    groups = set(state["components"].values())
    assert set(state["components"]) == {"api-server", "scheduler", "dag-processor"}
    environment = dict(os.environ, KONVERGENSI_DATA_DIR=str(deployment["data"]), PYTHONPATH=str(PROJECT / "include"))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "konvergensi.airflow_deployment", "stop"], env=environment, check=True,
                   timeout=180)
    print(f"stopped in {time.monotonic() - started:.0f} s", flush=True)
    assert deployment["process"].wait(timeout=10) == 0
    left = []
    for process in psutil.process_iter(["pid", "status"]):
        try:  # a zombie has exited: it waits only for a reaper, which a container's PID 1 may never be
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) in groups:
                left.append(f"{process.pid} {process.info['status']} {' '.join(process.cmdline())[:80]}")
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    assert left == [], f"processes of Airflow's components still run: {left}"
    assert not (deployment["data"] / "airflow-deployment" / "deployment.json").exists()
    assert "Airflow stopped." in deployment["output"].lines
