"""One night at a time per warehouse across processes: the night lease, a row in ops.night_lease.

The whole-night advisory lock (konvergensi.night_lock) needs one session held open from the first
load to the publish. A deployed Airflow night has no such session: each task is its own process,
and a second deployment on the same warehouse, or a backfill / `airflow dags test` beside the
scheduled run, is not covered by the DAG's max_active_runs=1. The lease is a row instead:

* **take** (the DAG's first task, `take_night_lease`, upstream of every load and extract): inserts the
  row for this run, or updates it when it is this run's already (an Airflow retry of the same run goes
  on), when it has expired (its holder stopped renewing: it died), or when it belongs to a `make run`
  night whose advisory-lock session is gone. Atomic: `insert … on conflict do nothing`, else the row
  is locked (`select … for update`) and decided on in one transaction. A live lease of another run is
  refused with NightLeaseHeld, naming that run and since when, having loaded nothing; the taker may
  wait up to KONVERGENSI_NIGHT_LEASE_WAIT_SECONDS for it. Taking over a dead run's lease is recorded
  as an ops.alerts warning (kind night_lease_taken_over), posted to the alert webhook like the others.
* **renew** (every task of the night on start, konvergensi.nightly_tasks): moves heartbeat_at and
  expires_at = now + KONVERGENSI_NIGHT_LEASE_MINUTES (default 120, far above the night's longest
  step, one `dbt build` of a few minutes at city scale, whose Cosmos tasks do not renew it: the gate
  after it does). A task whose run lost the lease to another live run stops before doing anything
  (NightLeaseLost). Where nobody holds it (the tests that call the task functions directly) a task
  goes on, with a log line.
* **release** (the DAG's teardown task `release_night_lease`, which runs however the night ended and
  does not decide the run's state): deletes the row only when this run holds it; otherwise it is a
  no-op with a log line, never another run's lease.

`make run` (konvergensi.night) and the fault runner keep their advisory lock and take the lease too,
inside it, with the lock session's server pid (night_lock_pid): the lease is what excludes a `make
run` night and a deployed DAG run from each other, in both directions, and the advisory lock keeps
releasing itself when such a night is killed (its lease then counts as dead at once, not after the
TTL). `make run` hands its lease to the DAG it starts through KONVERGENSI_NIGHT_LEASE_RUN: the DAG's
tasks then renew that run's lease instead of taking a second one, and its teardown leaves the
release to `make run`. Nothing waits on the other mechanism while holding one, so the two never
deadlock.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg

from konvergensi import settings
from konvergensi.night_lock import NIGHT_LOCK_KEY, NightAlreadyRunning

log = logging.getLogger(__name__)

# Set by `make run` for the DAG it starts: the run id of the lease that night already holds.
RUN_SETTING = "KONVERGENSI_NIGHT_LEASE_RUN"
TAKEOVER_KIND = "night_lease_taken_over"
DAG_ID = "konvergensi_nightly"

_COLUMNS = "run_id, holder, taken_at, heartbeat_at, expires_at, night_lock_pid"
# A lease is live while it has not expired and, when taken under the night lock, that lock's session
# still holds it (advisory locks are per database: the lease's database).
_LIVE = f"""
    expires_at > now() and (night_lock_pid is null or exists (
        select 1 from pg_locks as l
        where l.locktype = 'advisory' and l.granted and l.classid = 0 and l.objid = {NIGHT_LOCK_KEY}
          and l.database = (select oid from pg_database where datname = current_database())
          and l.pid = night_lock_pid))
"""


class NightLeaseHeld(NightAlreadyRunning):
    """Another live run holds the night lease: this run did nothing."""


class NightLeaseLost(RuntimeError):
    """A task's run no longer holds the night lease: another run took it over; the task did nothing."""


@dataclass(frozen=True)
class Lease:
    run_id: str
    holder: str
    taken_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    night_lock_pid: int | None
    live: bool

    def describe(self) -> str:
        return (f"night run {self.run_id} ({self.holder}), holding the night lease since "
                f"{self.taken_at:%Y-%m-%d %H:%M:%S %Z}, last heartbeat {self.heartbeat_at:%H:%M:%S %Z}")


def describe_process(what: str) -> str:
    """The holder text of a lease: what takes it, on which host, as which process."""
    return f"{what} on {socket.gethostname()} pid {os.getpid()}"


def _connect(url: str | None) -> psycopg.Connection:
    return psycopg.connect(url or settings.warehouse_url(), autocommit=True, application_name="konvergensi lease")


def _lease(row: tuple | None) -> Lease | None:
    return Lease(*row) if row else None


def take(run_id: str, what: str, *, wait: float = 0.0, url: str | None = None,
         night_lock_pid: int | None = None) -> Lease:
    """Take the night lease for `run_id`, or raise NightLeaseHeld when another live run keeps it.

    `what` describes the taker (describe_process adds host and pid). `wait` > 0 waits that long for
    the other run to release it or die. `night_lock_pid`: the server pid of the session holding the
    whole-night advisory lock, when the taker holds it.
    """
    minutes = settings.night_lease_minutes()
    description = describe_process(what)
    deadline = time.monotonic() + wait
    with _connect(url) as connection:
        while True:
            taken, previous = _try_take(connection, run_id, description, minutes, night_lock_pid)
            if taken is not None:
                break
            if previous is not None and time.monotonic() >= deadline:
                raise NightLeaseHeld(
                    f"{previous.describe()}, is still running on this warehouse: night run {run_id} did not "
                    "start (nothing was loaded); run it again when that night has finished"
                )
            if previous is not None:
                time.sleep(1.0)
    if previous is not None and previous.run_id != run_id:
        _record_takeover(taken, previous, url)
    log.info("night run %s holds the night lease until %s", run_id, f"{taken.expires_at:%Y-%m-%d %H:%M:%S %Z}")
    return taken


def _try_take(connection: psycopg.Connection, run_id: str, description: str, minutes: float,
              night_lock_pid: int | None) -> tuple[Lease | None, Lease | None]:
    """(the lease taken, or None; the row found before, or None) in one transaction."""
    with connection.transaction():
        row = connection.execute(
            f"""
            insert into ops.night_lease (run_id, holder, expires_at, night_lock_pid)
            values (%s, %s, now() + make_interval(secs => %s), %s)
            on conflict (lease) do nothing
            returning {_COLUMNS}, true
            """,
            (run_id, description, minutes * 60, night_lock_pid),
        ).fetchone()
        if row:
            return _lease(row), None
        previous = _lease(connection.execute(
            f"select {_COLUMNS}, {_LIVE} from ops.night_lease where lease = 'night' for update").fetchone())
        if previous is None:  # released between the insert and the select: try again
            return None, None
        ours = previous.run_id == run_id
        # the lock session that took `previous` must be gone when this one, holding the lock, has its pid
        if previous.live and not ours and not (night_lock_pid is not None and previous.night_lock_pid == night_lock_pid):
            return None, previous
        row = connection.execute(
            f"""
            update ops.night_lease set run_id = %s, holder = %s, heartbeat_at = now(),
                expires_at = now() + make_interval(secs => %s),
                taken_at = case when run_id = %s then taken_at else now() end,
                night_lock_pid = case when run_id = %s then coalesce(%s, night_lock_pid) else %s end
            where lease = 'night'
            returning {_COLUMNS}, true
            """,
            (run_id, description, minutes * 60, run_id, run_id, night_lock_pid, night_lock_pid),
        ).fetchone()
        return _lease(row), previous


def _record_takeover(taken: Lease, previous: Lease, url: str | None) -> None:
    from konvergensi import alerts, db

    reason = (f"night run {taken.run_id} took over the night lease of run {previous.run_id} ({previous.holder}), "
              f"held since {previous.taken_at:%Y-%m-%d %H:%M:%S %Z} and last renewed "
              f"{previous.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}: that run died without releasing it")
    log.warning(reason)
    details = {"previous_run_id": previous.run_id, "previous_holder": previous.holder,
               "previous_taken_at": previous.taken_at.isoformat(), "previous_heartbeat_at": previous.heartbeat_at.isoformat(),
               "previous_expires_at": previous.expires_at.isoformat(), "holder": taken.holder}
    alert = alerts.Alert(severity="warning", kind=TAKEOVER_KIND, dag_id=DAG_ID, run_id=taken.run_id,
                         task_id="take_night_lease", try_number=1, reason=reason, details=details)
    alerts.raise_alert(alert, connect=lambda: db.connect(url))


def renew(run_id: str, url: str | None = None) -> Lease | None:
    """The heartbeat: extend `run_id`'s lease; NightLeaseLost when another live run holds it.

    None (and a log line) when nobody holds it: the task goes on.
    """
    minutes = settings.night_lease_minutes()
    with _connect(url) as connection:
        renewed = _lease(connection.execute(
            f"""
            update ops.night_lease set heartbeat_at = now(), expires_at = now() + make_interval(secs => %s)
            where run_id = %s returning {_COLUMNS}, true
            """,
            (minutes * 60, run_id),
        ).fetchone())
        if renewed is not None:
            return renewed
        other = _lease(connection.execute(f"select {_COLUMNS}, {_LIVE} from ops.night_lease").fetchone())
    if other is not None and other.live:
        raise NightLeaseLost(f"{other.describe()}: night run {run_id} does not hold the night lease any more, "
                             "so this task stopped before doing anything (nothing was loaded)")
    log.warning("no live run holds the night lease (%s); night run %s goes on without it",
                other.describe() + ", expired" if other else "none taken", run_id)
    return None


def release(run_id: str, url: str | None = None) -> bool:
    """Give the lease back when `run_id` holds it; otherwise change nothing and say so."""
    with _connect(url) as connection:
        released = connection.execute("delete from ops.night_lease where run_id = %s returning run_id",
                                      (run_id,)).fetchone()
        if released:
            log.info("night run %s released the night lease", run_id)
            return True
        other = _lease(connection.execute(f"select {_COLUMNS}, {_LIVE} from ops.night_lease").fetchone())
    log.warning("night run %s does not hold the night lease (%s): nothing released", run_id,
                other.describe() if other else "nobody holds it")
    return False


@contextmanager
def held(run_id: str, what: str, *, wait: float = 0.0, url: str | None = None,
         night_lock_pid: int | None = None) -> Iterator[Lease]:
    """Hold the lease while the block runs (make run, the fault runner), released afterwards."""
    lease = take(run_id, what, wait=wait, url=url, night_lock_pid=night_lock_pid)
    try:
        yield lease
    finally:
        release(run_id, url)


def lease_run(run_id: str) -> str:
    """The run id whose lease a task renews: the one `make run` handed down, else the task's own run."""
    return os.environ.get(RUN_SETTING, "").strip() or run_id
