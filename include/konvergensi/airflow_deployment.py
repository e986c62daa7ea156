"""`make airflow`: Airflow as a real deployment on this machine, until Ctrl-C or `make stop`.

    python -m konvergensi.airflow_deployment run [--port 8080]   # AIRFLOW_PORT also sets the port
    python -m konvergensi.airflow_deployment stop

`run` uses the warehouse at WAREHOUSE_URL, or starts the embedded PostgreSQL as `make run` does
(and stops it again on exit if it started it). It checks that the warehouse and Airflow's metadata database answer and that Airflow is
installed, migrates the metadata database, then starts the three Airflow 3 components as child
processes: the api-server (REST API and UI, on 127.0.0.1 only), the scheduler (LocalExecutor,
which runs the tasks) and the dag-processor. It waits until the UI answers and the nightly DAG is
parsed, unpauses the DAG, prints the URL and how to log in, and keeps running; if a component
dies the others are stopped and `run` exits non-zero. Each component logs to its own file.

Metadata: PostgreSQL, never SQLite — the database `airflow` on the warehouse's server unless
KONVERGENSI_AIRFLOW_DB_URL names another. Login: Airflow's simple auth manager with one admin
user whose password, like the JWT and session secrets, is generated once into
<data dir>/airflow-deployment/ (mode 0600, ignored by git). A production deployment puts its own
auth manager and secrets in place (see docker-compose.yml).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import psycopg

from konvergensi import settings
from konvergensi.processes import (
    alive, group_members, interrupt, port_free, private_json, read_json, redacted, signal_group, start_embedded_warehouse, tail,
    wait_gone, wait_groups_gone,
)

DAG_ID = "konvergensi_nightly"
HOST = "127.0.0.1"
DEFAULT_PORT = 8080
ADMIN_USER = "admin"
METADATA_DATABASE = "airflow"
COMPONENTS = ("api-server", "scheduler", "dag-processor")
START_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 30
KILL_WAIT_SECONDS = 10


class DeploymentError(RuntimeError):
    """Something the deployment needs is missing; the message says what and how to fix it."""


# --- where things are -----------------------------------------------------------------------------


def deployment_dir() -> Path:
    path = settings.data_dir() / "airflow-deployment"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file() -> Path:
    return deployment_dir() / "deployment.json"


def password_file() -> Path:
    """The simple auth manager's passwords file: {"admin": "<password>"}."""
    return deployment_dir() / "passwords.json"


def credentials() -> tuple[str, str]:
    """(user, password) of the UI and REST API admin, generated once."""
    passwords = private_json(password_file(), {ADMIN_USER: secrets.token_urlsafe(18)})
    return ADMIN_USER, passwords[ADMIN_USER]


def deployment_secrets() -> dict[str, str]:
    """JWT and session secrets shared by every component, generated once."""
    return private_json(
        deployment_dir() / "secrets.json",
        {"jwt_secret": secrets.token_urlsafe(48), "api_secret_key": secrets.token_urlsafe(48)},
    )


# --- checks before starting -----------------------------------------------------------------------


def check_warehouse() -> str:
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    if not url:
        raise DeploymentError(
            "the warehouse is not configured: WAREHOUSE_URL is not set. Run `make airflow` (which starts the "
            "embedded PostgreSQL) or export WAREHOUSE_URL=postgresql://user:password@host:port/dbname"
        )
    _check_reachable(url, "the warehouse")
    return url


def _check_reachable(url: str, what: str) -> None:
    """Connect once; a DeploymentError naming `what` and the URL (without its password) otherwise."""
    try:
        with psycopg.connect(url, connect_timeout=10) as connection:
            connection.execute("select 1")
    except psycopg.Error as error:
        raise DeploymentError(f"{what} is unreachable at {redacted(url)}: {str(error).strip()}") from None


def metadata_url(warehouse: str) -> str:
    """Airflow's metadata database: KONVERGENSI_AIRFLOW_DB_URL, else `airflow` beside the warehouse."""
    configured = os.environ.get("KONVERGENSI_AIRFLOW_DB_URL", "").strip()
    if configured:
        url = configured
    else:
        with psycopg.connect(warehouse, autocommit=True, connect_timeout=10) as admin:
            found = admin.execute("select 1 from pg_database where datname = %s", (METADATA_DATABASE,)).fetchone()
            if not found:
                admin.execute(f'create database "{METADATA_DATABASE}"')
        url = urlunparse(urlparse(warehouse)._replace(path=f"/{METADATA_DATABASE}"))
    _check_reachable(url, "Airflow's metadata database")
    return url


def airflow_command() -> str:
    beside_python = Path(sys.executable).parent / "airflow"
    found = str(beside_python) if beside_python.exists() else shutil.which("airflow")
    if not found:
        raise DeploymentError("Airflow is not installed here (no `airflow` command): run `make setup`")
    return found


def _with_driver(url: str, driver: str) -> str:
    scheme, rest = url.split("://", 1)
    if scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise DeploymentError(f"Airflow's metadata database must be PostgreSQL, not {scheme}://")
    return f"postgresql+{driver}://{rest}"


# --- the components -------------------------------------------------------------------------------


@dataclass
class Deployment:
    port: int
    environment: dict[str, str]
    airflow: str
    processes: dict[str, subprocess.Popen]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def airflow_environment(port: int, metadata: str) -> dict[str, str]:
    """The configuration every component shares (environment variables override airflow.cfg)."""
    shared = deployment_secrets()
    base_url = f"http://{HOST}:{port}"
    return dict(
        os.environ,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=_with_driver(metadata, "psycopg"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=_with_driver(metadata, "psycopg_async"),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__CORE__PARALLELISM=os.environ.get("KONVERGENSI_AIRFLOW_PARALLELISM", "4"),
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{base_url}/execution/",
        AIRFLOW__CORE__AUTH_MANAGER="airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN_USER}:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(password_file()),
        AIRFLOW__API__HOST=HOST,
        AIRFLOW__API__PORT=str(port),
        AIRFLOW__API__BASE_URL=base_url,
        AIRFLOW__API__WORKERS="1",
        AIRFLOW__API__SECRET_KEY=shared["api_secret_key"],
        AIRFLOW__API_AUTH__JWT_SECRET=shared["jwt_secret"],
        # A task's supervisor waits on its sockets for up to this long between heartbeats; when a task
        # process closes them before it is reaped, the supervisor sees the exit only at the next wake-up
        # (5 s by default): a third of the 160 short dbt node tasks held their worker slot 5 s longer.
        AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL=os.environ.get("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1"),
        # dbt's partial-parse cache per deployment: one shared with other checkouts (other profiles)
        # would make every dbt task re-parse the whole project
        AIRFLOW__COSMOS__CACHE_DIR=str(deployment_dir() / "cosmos-cache"),
    )


def migrate(airflow: str, environment: dict[str, str]) -> None:
    log_file = deployment_dir() / "db-migrate.log"
    print("Migrating Airflow's metadata database …", flush=True)
    with log_file.open("w") as log:
        code = subprocess.call([airflow, "db", "migrate"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        tail = "\n".join(log_file.read_text().splitlines()[-15:])
        raise DeploymentError(f"`airflow db migrate` failed (exit {code}; log {log_file}):\n{tail}")


def start_component(name: str, airflow: str, environment: dict[str, str], port: int) -> subprocess.Popen:
    logs = deployment_dir() / "logs"
    logs.mkdir(exist_ok=True)
    arguments = {
        "api-server": ["api-server", "--host", HOST, "--port", str(port), "--workers", "1"],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
    }[name]
    with (logs / f"{name}.log").open("a") as log:
        # in its own session, so that stopping a component takes its children (the task runners) too
        return subprocess.Popen(
            [airflow, *arguments], env=environment, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


def component_log(name: str) -> Path:
    return deployment_dir() / "logs" / f"{name}.log"


def check_alive(deployment: Deployment) -> None:
    for name, process in deployment.processes.items():
        if process.poll() is not None:
            raise DeploymentError(
                f"Airflow's {name} exited with code {process.returncode} (log {component_log(name)}):\n"
                f"{tail(component_log(name))}"
            )


def request(url: str, *, token: str | None = None, method: str = "GET", body: Any = None, timeout: float = 30) -> Any:
    """A JSON request to the api-server."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=timeout) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


def access_token(base_url: str, user: str, password: str) -> str:
    """A JWT for the REST API from the simple auth manager."""
    return request(f"{base_url}/auth/token", method="POST", body={"username": user, "password": password})["access_token"]


def wait_for_api_server(deployment: Deployment, deadline: float) -> None:
    """Wait until the api-server answers with a healthy metadata database.

    The scheduler starts only then: its task runners report to the api-server's execution API, and a
    task started before it listens would fail at once.
    """
    print(f"Starting Airflow's api-server (logs in {deployment_dir() / 'logs'}) …", flush=True)
    while True:
        check_alive(deployment)
        try:
            health = request(f"{deployment.url}/api/v2/monitor/health", timeout=5)
            if health.get("metadatabase", {}).get("status") == "healthy":
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DeploymentError(f"Airflow's api-server did not answer at {deployment.url} "
                                  f"(log {component_log('api-server')}):\n{tail(component_log('api-server'))}")
        time.sleep(1)


def wait_for_dag(deployment: Deployment, deadline: float) -> str:
    """Wait for the dag-processor to register the DAG; unpause it; return a JWT."""
    token = access_token(deployment.url, *credentials())
    print(f"The api-server answers at {deployment.url}; scheduler and dag-processor started; "
          f"waiting for {DAG_ID} to be parsed …", flush=True)
    while True:
        check_alive(deployment)
        try:
            found = request(f"{deployment.url}/api/v2/dags/{DAG_ID}", token=token)
            break
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
            errors = request(f"{deployment.url}/api/v2/importErrors", token=token).get("import_errors", [])
        except (TimeoutError, urllib.error.URLError):  # a busy api-server: ask again
            errors = []
        if errors:
            text = "\n".join(f"{e['filename']}: {e['stack_trace'][-800:]}" for e in errors)
            raise DeploymentError(f"the DAG files do not import:\n{text}")
        if time.monotonic() > deadline:
            raise DeploymentError(f"the dag-processor did not register {DAG_ID} in time "
                                  f"(log {component_log('dag-processor')}):\n{tail(component_log('dag-processor'))}")
        time.sleep(2)
    if found.get("is_paused"):
        request(f"{deployment.url}/api/v2/dags/{DAG_ID}", token=token, method="PATCH", body={"is_paused": False})
    return token


def describe(deployment: Deployment, token: str) -> str:
    """What the person who ran `make airflow` needs to know."""
    user, _ = credentials()
    dag = request(f"{deployment.url}/api/v2/dags/{DAG_ID}", token=token)
    unconfigured = [name for name, setting in (
        ("services", "KONVERGENSI_SERVICES_API_URL"), ("pregnancies", "KONVERGENSI_SERVICES_API_URL"),
        ("dtsen", "KONVERGENSI_DTSEN_URL"), ("pupr", "KONVERGENSI_PUPR_API_URL"),
    ) if not os.environ.get(setting)]  # fmt: skip
    lines = [
        "",
        f"Airflow is running: {deployment.url}",
        f"  log in as {user!r}; the password is in {password_file()} (mode 0600)",
        f"  DAG {DAG_ID}: {'paused' if dag.get('is_paused') else 'unpaused'}, schedule {dag.get('timetable_summary')}"
        f" (UTC), next run {dag.get('next_dagrun_run_after') or 'not yet planned'}",
        f"  the DAG's grid view: {deployment.url}/dags/{DAG_ID}",
        f"  REST API: {deployment.url}/api/v2 (token: POST {deployment.url}/auth/token with the login above)",
        f"  metadata database: {redacted(deployment.environment['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'])}",
        f"  alerts: {'posted to ' + os.environ['KONVERGENSI_ALERT_WEBHOOK'] if os.environ.get('KONVERGENSI_ALERT_WEBHOOK') else 'recorded in ops.alerts (set KONVERGENSI_ALERT_WEBHOOK to post them too)'}",
    ]
    if unconfigured:
        lines.append(f"  not configured (their extracts are skipped): {', '.join(unconfigured)}")
    lines.append("Stop with Ctrl-C, or `make stop` from another terminal.")
    return "\n".join(lines)


def stop_components(processes: dict[str, subprocess.Popen]) -> None:
    """SIGTERM to each component's process group; SIGKILL to what still runs after STOP_TIMEOUT_SECONDS.

    A second Ctrl-C or SIGTERM while stopping is ignored: it would interrupt this and leave components behind.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in processes.values():
        signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"Airflow's {name} did not stop within {STOP_TIMEOUT_SECONDS} s: killed", flush=True)
    for process in processes.values():
        signal_group(process.pid, signal.SIGKILL)  # leftovers of the group (task runners) too
        process.poll()
    wait_groups_gone([process.pid for process in processes.values()], KILL_WAIT_SECONDS)



def run(port: int) -> int:
    signal.signal(signal.SIGTERM, interrupt)
    previous = _read_pid_file()
    if previous and alive(previous["pid"]):
        raise DeploymentError(f"Airflow already runs from this data directory (pid {previous['pid']}, "
                              f"http://{HOST}:{previous['port']}); `make stop` first")
    airflow = airflow_command()
    if not port_free(HOST, port):
        raise DeploymentError(f"port {port} on {HOST} is taken: choose another with AIRFLOW_PORT=…")
    started_warehouse = False
    if not os.environ.get("WAREHOUSE_URL"):
        started_warehouse = start_embedded_warehouse(DeploymentError)
    try:
        return _run(port, airflow)
    finally:
        if started_warehouse:
            from konvergensi import warehouse

            warehouse.stop()
            print("Stopped the embedded PostgreSQL.", flush=True)


def _run(port: int, airflow: str) -> int:
    warehouse_url = check_warehouse()
    os.environ.update(settings.dbt_env(warehouse_url))
    metadata = metadata_url(warehouse_url)
    from konvergensi.db import connect, ensure_schema

    with connect(warehouse_url) as connection:
        ensure_schema(connection)  # ops.alerts and the rest exist before the first callback
    credentials()
    environment = airflow_environment(port, metadata)
    migrate(airflow, environment)
    deployment = Deployment(port, environment, airflow, {})
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for name in COMPONENTS:
            deployment.processes[name] = start_component(name, airflow, environment, port)
            _write_pid_file(deployment)
            if name == "api-server":
                wait_for_api_server(deployment, deadline)
        token = wait_for_dag(deployment, deadline)
        print(describe(deployment, token), flush=True)
        while True:
            check_alive(deployment)
            time.sleep(2)
    except KeyboardInterrupt:
        print("\nStopping Airflow …", flush=True)
        return 0
    finally:
        stop_components(deployment.processes)
        pid_file().unlink(missing_ok=True)
        print("Airflow stopped.", flush=True)


def _write_pid_file(deployment: Deployment) -> None:
    pid_file().write_text(json.dumps({
        "pid": os.getpid(), "port": deployment.port,
        "components": {name: process.pid for name, process in deployment.processes.items()},
    }) + "\n")  # fmt: skip


def _read_pid_file() -> dict[str, Any] | None:
    return read_json(pid_file())


def stop() -> None:
    """Stop a running `make airflow` (and wait for it), or clean up components it left behind."""
    state = _read_pid_file()
    if state is None:
        return
    supervisor = state["pid"]
    if alive(supervisor):
        print(f"Stopping Airflow (pid {supervisor}) …", flush=True)
        os.kill(supervisor, signal.SIGTERM)
        wait_gone(supervisor, STOP_TIMEOUT_SECONDS + 15)
    groups = list(state.get("components", {}).values())
    for group in groups:  # a group outlives its leader when the supervisor itself was killed
        if group_members(group):
            signal_group(group, signal.SIGKILL)
    wait_groups_gone(groups, KILL_WAIT_SECONDS)
    pid_file().unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "stop"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_PORT") or DEFAULT_PORT))
    args = parser.parse_args(argv)
    try:
        if args.action == "run":
            return run(args.port)
        stop()
        return 0
    except (DeploymentError, settings.ConfigurationError) as error:  # e.g. no KONVERGENSI_PSEUDONYM_KEY
        print(f"make airflow: {error}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
