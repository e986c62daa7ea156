"""One night at a time per warehouse: a session advisory lock held for the whole night.

A manual `make run` during the scheduled night, or a backfill started beside tonight's run, must not
interleave with it: the loaders and extracts already take one lock per source and the publish its
own, but two nights side by side would still build and gate each other's audit schemas. The night
runner therefore holds this lock on a connection of its own from before the first load to after the
publish. The lock belongs to that session, so a night killed with `kill -9` (or a warehouse restart)
releases it: the next night is never blocked by a dead one.

A deployed Airflow night has no session held for the whole night: its tasks are separate
processes. It takes the night lease instead (konvergensi.night_lease, a row in ops.night_lease),
which `make run` and the fault runner also take, inside this lock, so that a `make run` night and a
deployed DAG's run exclude each other too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from konvergensi.settings import warehouse_url

# Any constant distinct from the other advisory locks (publish: 74_201_905).
NIGHT_LOCK_KEY = 74_201_906
APPLICATION_PREFIX = "konvergensi night "


class NightAlreadyRunning(RuntimeError):
    """Another night holds the lock: this one did nothing."""


def _holder(connection: psycopg.Connection) -> str:
    row = connection.execute(
        """
        select a.application_name, a.pid, a.backend_start
        from pg_locks as l join pg_stat_activity as a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objid = %s and l.classid = 0
          and l.database = (select oid from pg_database where datname = current_database())
        limit 1
        """,
        (NIGHT_LOCK_KEY,),
    ).fetchone()
    if row is None:
        return "another night (it has just finished)"
    application, pid, since = row
    what = application.removeprefix(APPLICATION_PREFIX) if application.startswith(APPLICATION_PREFIX) else application
    return f"night {what} (server pid {pid}, running since {since:%Y-%m-%d %H:%M:%S %Z})"


@contextmanager
def night_lock(run: str, *, wait_seconds: float = 0.0, url: str | None = None) -> Iterator[int]:
    """Hold the night lock while the block runs; raise NightAlreadyRunning when it stays taken.

    Yields the server pid of the session holding the lock (konvergensi.night_lease records it).

    `run` names this night in pg_stat_activity (the run date or id), so the refused night can say
    which night it waited for. `wait_seconds` > 0 waits that long for the other night to end.
    """
    application = f"{APPLICATION_PREFIX}{run} (pid {os.getpid()})"[:63]
    with psycopg.connect(url or warehouse_url(), autocommit=True, application_name=application) as connection:
        deadline = time.monotonic() + wait_seconds
        while not connection.execute("select pg_try_advisory_lock(%s)", (NIGHT_LOCK_KEY,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise NightAlreadyRunning(
                    f"{_holder(connection)} is still running on this warehouse: night {run} did not start "
                    "(nothing was loaded); run it again when that night has finished"
                )
            time.sleep(1.0)
        try:
            yield connection.info.backend_pid
        finally:
            if not connection.closed:
                connection.execute("select pg_advisory_unlock(%s)", (NIGHT_LOCK_KEY,))
