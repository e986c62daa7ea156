"""Superset on this machine: its own virtualenv, its metadata and secrets in the data directory, one gunicorn.

Superset 6.1 pins libraries older than the project's (SQLAlchemy 1.4, pandas 2.1, numpy 1.26), so it
lives in `.venv-superset` beside the project's `.venv` (`make superset-venv` installs it with the
pins in deploy/superset/constraints.txt) and this module only starts its commands as subprocesses.

Everything it keeps is under <data dir>/superset/: the SQLite metadata database (users, datasets,
charts, dashboards), `secrets.json` (mode 0600: SECRET_KEY, which encrypts the stored warehouse
password, and the admin's password, unless SUPERSET_SECRET_KEY / SUPERSET_ADMIN_PASSWORD are set),
the server's log and `superset.json`, the pid file `make stop` reads.

A new metadata database is a copy of a template kept in the virtualenv (`superset db upgrade` and
`superset init` once per installation, ~25 s of CPU); the server creates the admin login as it starts.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from konvergensi import settings
from konvergensi.processes import alive, group_members, port_free, private_json, read_json, signal_group, tail, wait_gone, wait_groups_gone

HOST = "127.0.0.1"
DEFAULT_PORT = 8088
DEFAULT_ADMIN = "admin"
START_TIMEOUT_SECONDS = 300
STOP_TIMEOUT_SECONDS = 20
SUPERSET_VERSION = "6.1.0"
CONFIG_FILE = settings.PROJECT_DIR / "deploy" / "superset" / "superset_config.py"
TEMPLATE_NAME = f"konvergensi-metadata-template-{SUPERSET_VERSION}.db"


class SupersetError(RuntimeError):
    """Something Superset needs is missing or failed; the message says what and how to fix it."""


# --- where things are -----------------------------------------------------------------------------


def venv_dir() -> Path:
    return Path(os.environ.get("SUPERSET_VENV", settings.PROJECT_DIR / ".venv-superset")).resolve()


def home_dir() -> Path:
    path = settings.data_dir() / "superset"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file() -> Path:
    return home_dir() / "superset.json"


def log_file() -> Path:
    return home_dir() / "superset.log"


def metadata_file() -> Path:
    return home_dir() / "superset.db"


def secrets_file() -> Path:
    return home_dir() / "secrets.json"


def default_port() -> int:
    return int(os.environ.get("SUPERSET_PORT") or DEFAULT_PORT)


def command(name: str) -> str:
    """A command of Superset's virtualenv (superset, gunicorn); a SupersetError saying how to install it."""
    path = venv_dir() / "bin" / name
    if not path.exists():
        raise SupersetError(
            f"Superset is not installed ({path} is missing): run `make bi` (it installs Superset "
            f"{SUPERSET_VERSION} into {venv_dir().name} first, a few minutes) or `make superset-venv`"
        )
    return str(path)


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str
    secret_key: str
    password_from_environment: bool


def credentials() -> Credentials:
    """The admin login and SECRET_KEY: from the environment, else generated once into secrets.json (0600)."""
    stored = private_json(secrets_file(), {"secret_key": secrets.token_urlsafe(48),
                                           "admin_password": secrets.token_urlsafe(18)})
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD", "").strip()
    return Credentials(
        user=os.environ.get("SUPERSET_ADMIN_USER", "").strip() or DEFAULT_ADMIN,
        password=password or stored["admin_password"],
        secret_key=os.environ.get("SUPERSET_SECRET_KEY", "").strip() or stored["secret_key"],
        password_from_environment=bool(password),
    )


# Nothing of the pipeline's reaches Superset: not the superuser's WAREHOUSE_URL, the role passwords,
# the pseudonym key, nor the project's Python path. It connects to the warehouse only as the BI role.
_WITHHELD_PREFIXES = ("KONVERGENSI_", "WAREHOUSE_", "AIRFLOW", "DBT_", "PG", "GX_")
_WITHHELD = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")


def superset_environment(secret_key: str) -> dict[str, str]:
    """What every Superset command gets: its config, SECRET_KEY and metadata database, and no secret of the pipeline."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in _WITHHELD and not key.startswith(_WITHHELD_PREFIXES)}  # fmt: skip
    environment.update(
        SUPERSET_CONFIG_PATH=str(CONFIG_FILE),
        SUPERSET_SECRET_KEY=secret_key,
        SUPERSET_METADATA_URL=f"sqlite:///{metadata_file()}",
        SUPERSET_HOME=str(home_dir()),
        PATH=f"{venv_dir() / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        # Superset's own web security headers expect HTTPS; this server listens on 127.0.0.1 only
        TALISMAN_ENABLED=os.environ.get("TALISMAN_ENABLED", "False"),
    )
    return environment


# --- the metadata database ------------------------------------------------------------------------


def _superset(arguments: list[str], environment: dict[str, str], what: str) -> None:
    """Run one `superset …` command, its output into the log; a SupersetError with the log's tail if it fails."""
    with log_file().open("a") as log:
        log.write(f"\n$ superset {' '.join(arguments[:2])} …\n")
        log.flush()
        code = subprocess.call([command("superset"), *arguments], env=environment, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    if code != 0:
        raise SupersetError(f"{what} failed (`superset {arguments[0]}` exit {code}; log {log_file()}):\n{tail(log_file())}")


def template_file() -> Path:
    return venv_dir() / TEMPLATE_NAME


def ensure_template() -> Path:
    """The installation's empty metadata database (`superset db upgrade` and `superset init`), built once.

    It holds nothing encrypted, so it is built with a throwaway SECRET_KEY, in the virtualenv.
    """
    template = template_file()
    if template.exists():
        return template
    print("Preparing Superset's metadata template (db upgrade, init; once per installation, about a minute) …",
          flush=True)
    scratch = venv_dir() / "template-in-progress.db"
    scratch.unlink(missing_ok=True)
    building = dict(superset_environment(secrets.token_urlsafe(48)), SUPERSET_METADATA_URL=f"sqlite:///{scratch}")
    _superset(["db", "upgrade"], building, "Superset's metadata migration")
    _superset(["init"], building, "Superset's role setup")
    os.replace(scratch, template)
    return template


def ensure_metadata() -> bool:
    """Create the metadata database when missing, as a copy of the template; True if it was created.

    The admin login is made (or its password set) by the server as it starts: superset_config.py's
    FLASK_APP_MUTATOR, switched on by KONVERGENSI_SUPERSET_ADMIN_AT_START.
    """
    if metadata_file().exists():
        return False
    template = ensure_template()
    partial = metadata_file().with_suffix(".partial")
    shutil.copyfile(template, partial)
    partial.chmod(0o600)  # it will hold the admin's password hash and the encrypted warehouse password
    os.replace(partial, metadata_file())
    return True


# --- the server -----------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    login: Credentials
    environment: dict[str, str]
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def check_port(port: int) -> None:
    if not port_free(HOST, port):
        raise SupersetError(f"port {port} on {HOST} is taken (another Superset, or another program): "
                            f"choose another with SUPERSET_PORT=… (e.g. `make bi SUPERSET_PORT={port + 1}`)")


def start_server(port: int) -> Server:
    """Check, prepare the metadata, start gunicorn in its own session and wait until Superset answers."""
    gunicorn = command("gunicorn")
    check_port(port)
    login = credentials()
    environment = superset_environment(login.secret_key)
    ensure_metadata()
    serving = dict(environment, SUPERSET_ADMIN_USER=login.user, SUPERSET_ADMIN_PASSWORD=login.password,
                   KONVERGENSI_SUPERSET_ADMIN_AT_START="1")
    workers = os.environ.get("SUPERSET_WORKERS", "1")
    with log_file().open("a") as log:
        process = subprocess.Popen(
            # no control socket: gunicorn's default one is shared by every gunicorn of the user
            [gunicorn, "--no-control-socket", "--bind", f"{HOST}:{port}", "--workers", workers,
             "--worker-class", "gthread", "--threads", "8", "--timeout", "120", "--graceful-timeout", "5",
             "--limit-request-line", "0", "--limit-request-field_size", "0", "superset.app:create_app()"],
            env=serving, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    server = Server(port, login, environment, process)
    try:
        wait_until_healthy(server, time.monotonic() + START_TIMEOUT_SECONDS)
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_until_healthy(server: Server, deadline: float) -> None:
    print(f"Starting Superset on {server.url} (log {log_file()}) …", flush=True)
    while True:
        if server.process.poll() is not None:
            raise SupersetError(f"Superset's server exited with code {server.process.returncode} "
                                f"(log {log_file()}):\n{tail(log_file())}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SupersetError(f"Superset did not answer at {server.url} within {START_TIMEOUT_SECONDS} s "
                                f"(log {log_file()}):\n{tail(log_file())}")
        time.sleep(0.5)


def stop_server(server: Server) -> None:
    """SIGTERM to gunicorn's process group, SIGKILL to what is left after STOP_TIMEOUT_SECONDS."""
    signal_group(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"Superset did not stop within {STOP_TIMEOUT_SECONDS} s: killed", flush=True)
    signal_group(server.process.pid, signal.SIGKILL)
    server.process.poll()


# --- the pid file: `make stop` and a second `make bi` ---------------------------------------------


def write_pid_file(server: Server) -> None:
    import json

    pid_file().write_text(json.dumps({"pid": os.getpid(), "port": server.port, "server": server.process.pid}) + "\n")


def running() -> dict | None:
    """The pid file's content when the `make bi` that wrote it still runs; None otherwise."""
    state = read_json(pid_file())
    if state and alive(state["pid"]):
        return state
    return None


def stop() -> None:
    """Stop a running `make bi` (and wait for it), or the server it left behind."""
    state = read_json(pid_file())
    if state is None:
        return
    if alive(state["pid"]):
        print(f"Stopping Superset (pid {state['pid']}) …", flush=True)
        os.kill(state["pid"], signal.SIGTERM)
        wait_gone(state["pid"], STOP_TIMEOUT_SECONDS + 10)
    if state.get("server") and group_members(state["server"]):  # gunicorn's workers may outlive their master
        signal_group(state["server"], signal.SIGKILL)
        wait_groups_gone([state["server"]], 10)
    pid_file().unlink(missing_ok=True)


def describe(server: Server, dashboard_url: str) -> str:
    source = "SUPERSET_ADMIN_PASSWORD" if server.login.password_from_environment else f"{secrets_file()} (mode 0600)"
    return "\n".join([
        "",
        f"Superset is running: {server.url}",
        f"  dashboard: {dashboard_url}",
        f"  log in as {server.login.user!r}; the password is in {source}",
        f"  metadata: {metadata_file()}; log: {log_file()}",
        "After a night, `make bi` (in another terminal) provisions the dashboard again.",
        "Stop with Ctrl-C, or `make stop` from another terminal.",
    ])  # fmt: skip
