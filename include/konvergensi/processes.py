"""Small pieces the long-running local services (`make airflow`, `make bi`) share.

Each service runs its servers as child processes in their own sessions (so that stopping one takes
its children too), records them in a pid file in the data directory, keeps its generated secrets in
files of mode 0600 there, and starts the embedded PostgreSQL itself when WAREHOUSE_URL is not set,
so that Ctrl-C stops everything in order.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse


def private_json(path: Path, make: dict[str, str]) -> dict[str, str]:
    """Read a small JSON secret file, creating it (mode 0600) with `make` when missing."""
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(make, file)
            file.write("\n")
    path.chmod(0o600)
    return json.loads(path.read_text())


def redacted(url: str) -> str:
    """A database URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password:
        netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
        return urlunparse(parsed._replace(netloc=netloc))
    return url


def port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited already
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)



def group_members(group: int) -> list[int]:
    """Live (not zombie) processes whose process group is `group`, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def wait_groups_gone(groups: list[int], seconds: float) -> None:
    """Wait until SIGKILL has taken effect on every member of `groups`: a killed process lingers while it exits."""
    deadline = time.monotonic() + seconds
    while any(group_members(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.2)

def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_embedded_warehouse(error: type[Exception]) -> bool:
    """Start the embedded PostgreSQL (as `make run` does) and export WAREHOUSE_URL; True if it was not running.

    `error` is the caller's exception type, raised with a message naming the data directory.
    """
    from konvergensi import warehouse

    was_running = warehouse.is_running()
    if not was_running:
        print("Starting the embedded PostgreSQL …", flush=True)
    try:
        os.environ["WAREHOUSE_URL"] = warehouse.start()
    except Exception as failed:  # noqa: BLE001 - pgserver raises several kinds
        raise error(f"the embedded warehouse (PostgreSQL in {warehouse.pgdata_dir()}) did not start: {failed}") from None
    os.environ["PATH"] = f"{warehouse.bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"
    return not was_running


def interrupt(_number: int, _frame: object) -> None:
    """A SIGTERM handler that stops a service like Ctrl-C does."""
    raise KeyboardInterrupt
