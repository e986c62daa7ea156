"""The night lease (konvergensi.night_lease) between real processes on a real PostgreSQL.

Each "run" below is its own Python process, as two Airflow task processes (or a `make run` night
and a deployed DAG's task) are: one takes the lease and holds it while the others try. Every
process connects as the loader role, as the DAG's tasks do.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from konvergensi import roles

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
EXIT_REFUSED = 75

# One run's process: `take` takes the lease and exits; `hold` takes it, says so and waits for a line
# on stdin (`release` gives it back; the test kills it to stand for a dead run); `night` holds the
# whole-night advisory lock and the lease inside it, as `make run` does.
CHILD = r"""
import sys
from konvergensi import night_lease
from konvergensi.night_lock import NightAlreadyRunning, night_lock

action, run, url, wait = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
try:
    if action == "release":
        print("released" if night_lease.release(run, url) else "not released", flush=True)
    elif action == "renew":
        print("renewed" if night_lease.renew(run, url) else "not held", flush=True)
    elif action == "night":
        with night_lock(run, url=url) as pid, night_lease.held(run, "test night", url=url, night_lock_pid=pid):
            print("taken", flush=True)
            sys.stdin.readline()
    else:
        lease = night_lease.take(run, "test run", wait=wait, url=url)
        print(f"taken since {lease.taken_at.isoformat()}", flush=True)
        if action == "hold" and sys.stdin.readline().strip() == "release":
            night_lease.release(run, url)
            print("released", flush=True)
except (NightAlreadyRunning, night_lease.NightLeaseLost) as refused:
    print(refused, file=sys.stderr, flush=True)
    sys.exit(75)
"""


@pytest.fixture
def loader_url(test_database_url: str) -> Iterator[str]:
    """The session database as the loader role, with no lease and no takeover alert before or after."""
    url = roles.role_url(roles.LOADER, test_database_url)
    clear = "delete from ops.night_lease; delete from ops.alerts where kind = 'night_lease_taken_over'"
    with psycopg.connect(test_database_url, autocommit=True) as admin:
        admin.execute(clear)
    yield url
    with psycopg.connect(test_database_url, autocommit=True) as admin:
        admin.execute(clear)


def command(action: str, run: str, url: str, wait: float = 0.0) -> list[str]:
    return [sys.executable, "-c", CHILD, action, run, url, str(wait)]


def run(action: str, run_id: str, url: str, wait: float = 0.0, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(command(action, run_id, url, wait), capture_output=True, text=True, timeout=120,
                          cwd=PROJECT, env={**os.environ, **env})


def start(action: str, run_id: str, url: str, wait: float = 0.0, **env: str) -> subprocess.Popen[str]:
    """A run's process holding the lease (it printed `taken`), or waiting for it when wait > 0."""
    import os

    process = subprocess.Popen(command(action, run_id, url, wait), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=PROJECT, env={**os.environ, **env})
    if wait == 0:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("taken"):
            process.kill()
            _, err = process.communicate(timeout=30)
            raise AssertionError(f"{run_id} did not take the lease: {line!r} {err}")
    return process


def finish(process: subprocess.Popen[str], say: str = "") -> tuple[int, str, str]:
    out, err = process.communicate(say + "\n", timeout=120)
    return process.returncode, out, err


def holder(url: str) -> str | None:
    with psycopg.connect(url) as connection:
        row = connection.execute("select run_id from ops.night_lease").fetchone()
    return row[0] if row else None


def test_a_second_run_is_refused_clearly_and_the_same_run_goes_on(loader_url: str) -> None:
    first = start("hold", "scheduled__2026-12-03", loader_url)
    try:
        with psycopg.connect(loader_url) as connection:
            taken_at = connection.execute("select taken_at from ops.night_lease").fetchone()[0]
        second = run("take", "manual__2026-12-03", loader_url)
        assert second.returncode == EXIT_REFUSED, second
        message = second.stderr
        assert "night run scheduled__2026-12-03" in message and f"since {taken_at:%Y-%m-%d %H:%M:%S}" in message
        assert "manual__2026-12-03 did not start" in message and "nothing was loaded" in message
        # an Airflow retry of the same run takes it again (re-entry) and keeps when it was taken
        again = run("take", "scheduled__2026-12-03", loader_url)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == f"taken since {taken_at.isoformat()}"
        assert holder(loader_url) == "scheduled__2026-12-03"
    finally:
        code, out, _ = finish(first, "release")
    assert code == 0 and "released" in out
    assert holder(loader_url) is None


def test_a_run_that_does_not_hold_it_cannot_release_it(loader_url: str) -> None:
    first = start("hold", "scheduled__2026-12-03", loader_url)
    try:
        other = run("release", "backfill__2026-11-20", loader_url)
        assert other.returncode == 0 and other.stdout.strip() == "not released", other
        assert "does not hold the night lease" in other.stderr and "scheduled__2026-12-03" in other.stderr
        assert holder(loader_url) == "scheduled__2026-12-03"
        lost = run("renew", "backfill__2026-11-20", loader_url)  # a task of a run that lost it stops
        assert lost.returncode == EXIT_REFUSED and "does not hold the night lease any more" in lost.stderr, lost
    finally:
        finish(first, "release")
    assert holder(loader_url) is None


def test_a_waiting_run_takes_it_when_the_holder_releases(loader_url: str) -> None:
    first = start("hold", "scheduled__2026-12-03", loader_url)
    waiting = start("take", "manual__2026-12-03", loader_url, wait=60)
    try:
        time.sleep(2.5)  # the waiting run has asked at least twice meanwhile
        assert waiting.poll() is None, waiting.communicate()
        assert holder(loader_url) == "scheduled__2026-12-03"
        code, out, _ = finish(first, "release")
        assert code == 0 and "released" in out
        code, out, err = finish(waiting)
        assert code == 0 and out.startswith("taken"), err
        assert holder(loader_url) == "manual__2026-12-03"
    finally:
        for process in (first, waiting):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_lease_of_a_dead_run_is_taken_over_once_expired_and_recorded(loader_url: str) -> None:
    short = {"KONVERGENSI_NIGHT_LEASE_MINUTES": "0.1"}  # 6 s without a heartbeat
    dead = start("hold", "scheduled__2026-12-02", loader_url, **short)
    dead.kill()  # the run dies without releasing its lease
    dead.wait()
    assert holder(loader_url) == "scheduled__2026-12-02"
    refused = run("take", "scheduled__2026-12-03", loader_url)
    assert refused.returncode == EXIT_REFUSED, "not expired yet: still the dead run's"
    with psycopg.connect(loader_url) as connection:
        left = connection.execute("select extract(epoch from expires_at - now()) from ops.night_lease").fetchone()[0]
    time.sleep(float(left) + 0.5)
    taken = run("take", "scheduled__2026-12-03", loader_url)
    assert taken.returncode == 0, taken.stderr
    assert "took over the night lease of run scheduled__2026-12-02" in taken.stderr
    assert holder(loader_url) == "scheduled__2026-12-03"
    with psycopg.connect(loader_url) as connection:
        alerts = connection.execute(
            "select severity, run_id, details ->> 'previous_run_id' from ops.alerts where kind = 'night_lease_taken_over'"
        ).fetchall()
    assert alerts == [("warning", "scheduled__2026-12-03", "scheduled__2026-12-02")]


def test_a_make_run_night_and_a_dag_run_exclude_each_other(loader_url: str) -> None:
    night = start("night", "make_run__2026-12-03", loader_url)
    try:
        dag_run = run("take", "scheduled__2026-12-03", loader_url)
        assert dag_run.returncode == EXIT_REFUSED and "night run make_run__2026-12-03" in dag_run.stderr, dag_run
    finally:
        night.kill()  # killed: its advisory lock goes with its session, and so does its lease at once
        night.wait()
    assert holder(loader_url) == "make_run__2026-12-03"
    dag_run = start("hold", "scheduled__2026-12-03", loader_url)
    try:
        refused = run("night", "make_run__2026-12-03b", loader_url)
        assert refused.returncode == EXIT_REFUSED, refused
        assert "night run scheduled__2026-12-03" in refused.stderr and "nothing was loaded" in refused.stderr
    finally:
        finish(dag_run, "release")
    assert holder(loader_url) is None


def test_make_run_does_not_start_while_a_dag_run_holds_the_lease(loader_url: str, test_database_url: str,
                                                                   tmp_path: Path) -> None:
    import os

    from konvergensi import night_lease

    night_lease.take("scheduled__2026-12-03", "a deployed DAG's run", url=loader_url)  # this process: the DAG run
    landing = tmp_path / "landing"
    landing.mkdir()
    night = subprocess.run(
        [sys.executable, "-m", "konvergensi.night", "--run-date", "2026-12-03", "--landing-dir", str(landing)],
        capture_output=True, text=True, timeout=300, cwd=PROJECT,
        env={**os.environ, "WAREHOUSE_URL": test_database_url, "KONVERGENSI_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert night.returncode == EXIT_REFUSED, night.stdout + night.stderr
    assert "night run scheduled__2026-12-03" in night.stderr and "nothing was loaded" in night.stderr
    assert "Running the konvergensi_nightly DAG" not in night.stdout
    assert holder(loader_url) == "scheduled__2026-12-03"
