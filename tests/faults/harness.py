"""What the kill tests, the two-nights test and the soak share: a small city, nights as real processes, checks.

A night is `python -m tests.faults.night_runner` in a new session (its own process group), so a
kill test can `kill -9` the whole night — the runner and its `dbt build` — at once. The checks read
the warehouse afterwards: the fingerprints (konvergensi.fingerprints) against a clean warehouse over
the same inputs, and the bookkeeping (no orphan batches, nothing loaded twice, no half-swapped
schemas).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from konvergensi.settings import dbt_env

PROJECT = Path(__file__).resolve().parents[2]
TOKEN = "faults-test-token"
PSEUDONYM_KEY = "00" * 16 + "22" * 16
# The smallest city for which every mart has rows and the gate passes (measured: see README).
CHILDREN = int(os.environ.get("FAULTS_CHILDREN", "300"))
MONTHS = int(os.environ.get("FAULTS_MONTHS", "2"))
NIGHT_TIMEOUT = 900


def database_url(server_url: str, database: str) -> str:
    return urlunparse(urlparse(server_url)._replace(path=f"/{database}"))


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


@contextmanager
def clone(server_url: str, template_url: str) -> Iterator[str]:
    """A copy of a warehouse (CREATE DATABASE … TEMPLATE), dropped afterwards."""
    name = f"konvergensi_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s and pid <> pg_backend_pid()",
            (database_name(template_url),),
        )
        admin.execute(f'create database "{name}" template "{database_name(template_url)}"')
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@dataclass
class City:
    root: Path
    landing: Path
    store: Path
    dtsen_url: str
    services_url: str
    pupr_url: str
    nights: int = 0
    logs: list[Path] = field(default_factory=list)

    def env(self, url: str, **extra: str) -> dict[str, str]:
        """The environment of a night on warehouse `url`."""
        environment = dict(
            os.environ,
            WAREHOUSE_URL=url,
            KONVERGENSI_LANDING_DIR=str(self.landing),
            KONVERGENSI_DATA_DIR=str(self.root / "data"),
            KONVERGENSI_SERVICES_API_URL=self.services_url,
            KONVERGENSI_SERVICES_API_TOKEN=TOKEN,
            KONVERGENSI_PUPR_API_URL=self.pupr_url,
            KONVERGENSI_DTSEN_URL=self.dtsen_url,
            KONVERGENSI_PSEUDONYM_KEY=PSEUDONYM_KEY,
            KONVERGENSI_HTTP_BACKOFF_SECONDS="0.2",
            KONVERGENSI_HTTP_TIMEOUT_SECONDS="10",
            KONVERGENSI_HTTP_ATTEMPTS="2",
            PYTHONPATH=f"{PROJECT / 'include'}{os.pathsep}{PROJECT}",
            **dbt_env(url),
        )
        environment.pop("KONVERGENSI_FAULT_PAUSE", None)
        environment.update(extra)
        return environment

    def log_file(self, label: str) -> Path:
        self.nights += 1
        path = self.root / f"night-{self.nights:02d}-{label}.log"
        self.logs.append(path)
        return path


def start_night(city: City, url: str, run_id: str, label: str, *, landing: Path | None = None,
                wait: float = 0.0, **extra: str) -> tuple[subprocess.Popen, Path]:
    """Start a night as a real process in its own process group; output to a log file."""
    log = city.log_file(label)
    command = [sys.executable, "-m", "tests.faults.night_runner", "--run-id", run_id,
               "--landing-dir", str(landing or city.landing), "--wait", str(wait)]
    handle = log.open("w")
    process = subprocess.Popen(command, env=city.env(url, **extra), stdout=handle, stderr=subprocess.STDOUT,
                               cwd=PROJECT, start_new_session=True)
    handle.close()
    return process, log


def run_night(city: City, url: str, run_id: str, label: str, **kwargs: object) -> tuple[int, str]:
    """One night to its end: (exit code, its output)."""
    process, log = start_night(city, url, run_id, label, **kwargs)
    code = process.wait(timeout=NIGHT_TIMEOUT)
    return code, log.read_text(encoding="utf-8", errors="replace")


def kill_night(process: subprocess.Popen) -> None:
    """`kill -9` the night's whole process group (the runner, dbt), then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=60)


def wait_until(condition, what: str, process: subprocess.Popen | None = None, timeout: float = 600,
               every: float = 0.2) -> None:
    """Poll `condition()` until true; fail early when the night ended before getting there."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the night ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def scalar(url: str, query: str, params: tuple = ()) -> object:
    with psycopg.connect(url) as connection:
        row = connection.execute(query, params).fetchone()
        return row[0] if row else None


# Tables of a schema, a partitioned table once (not its partitions).
TABLES_IN_SCHEMA = ("select count(*) from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
                    " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition")


def audit_tables(url: str, schema: str = "marts_audit") -> int:
    try:
        return int(scalar(url, TABLES_IN_SCHEMA, (schema,)))
    except psycopg.OperationalError:
        return 0


# Bookkeeping checks: each query returns rows only when something is wrong; the text says what.
CONSISTENCY_CHECKS = {
    "a raw e-PPGBM row whose file load is not recorded as loaded (orphan batch)": """
        select m.batch_id, m.source_file from raw.eppgbm_measurements m
        where not exists (select from ops.file_loads f where f.batch_id = m.batch_id and f.file_name = m.source_file
                          and f.file_checksum = m.file_checksum and f.status = 'loaded')
        limit 5""",
    "a raw BKKBN row whose file load is not recorded as loaded (orphan batch)": """
        select b.batch_id, b.source_file from raw.bkkbn_families b
        where not exists (select from ops.file_loads f where f.batch_id = b.batch_id and f.file_name = b.source_file
                          and f.status = 'loaded')
        limit 5""",
    "an e-PPGBM file whose rows come from more than one load (loaded twice)": """
        select source_file from raw.eppgbm_measurements group by source_file having count(distinct batch_id) > 1""",
    "a BKKBN file whose rows come from more than one load (loaded twice)": """
        select source_file from raw.bkkbn_families group by source_file having count(distinct batch_id) > 1""",
    "a file recorded as loaded twice with the same content": """
        select file_name, file_checksum from ops.file_loads where status = 'loaded'
        group by 1, 2 having count(*) > 1""",
    "a file load row counts that do not add up": """
        select file_name from ops.file_loads where status = 'loaded' and rows_read <> rows_loaded + rows_quarantined""",
    "the raw e-PPGBM rows of a file differ from its load record": """
        select f.file_name from ops.file_loads f
        where f.status = 'loaded' and f.source = 'eppgbm'
          and f.file_load_id = (select max(g.file_load_id) from ops.file_loads g where g.file_name = f.file_name
                                and g.status = 'loaded')
          and f.rows_loaded <> (select count(*) from raw.eppgbm_measurements m where m.source_file = f.file_name
                                and m.file_checksum = f.file_checksum)""",
    "a load batch left unfinished that has file loads": """
        select b.batch_id from ops.load_batches b where b.finished_at is null
          and exists (select from ops.file_loads f where f.batch_id = b.batch_id)""",
    "an extract still 'running' with no night running": """
        select extract_id, source from ops.source_extracts where status = 'running'""",
    "a raw pulled row whose extract is not recorded as loaded (orphan extract)": """
        select 'mch_services', extract_id from raw.mch_services r
          where not exists (select from ops.source_extracts e where e.extract_id = r.extract_id and e.status = 'loaded')
        union all select 'dtsen_households', extract_id from raw.dtsen_households r
          where not exists (select from ops.source_extracts e where e.extract_id = r.extract_id and e.status = 'loaded')
        union all select 'pupr_projects', extract_id from raw.pupr_projects r
          where not exists (select from ops.source_extracts e where e.extract_id = r.extract_id and e.status = 'loaded')
        limit 5""",
    "a half-swapped or leftover schema (audit or previous generation still there, or marts/restricted missing)": """
        select s from unnest(array['marts_audit', 'restricted_audit', 'marts_previous', 'restricted_previous']) s
          where exists (select from pg_namespace where nspname = s)
        union all select s from unnest(array['marts', 'restricted']) s
          where not exists (select from pg_namespace where nspname = s)""",
    "the published marts are not the latest successful gate's (publish log and gate disagree)": """
        select p.run_id from ops.publish_log p
        where p.published_at = (select max(published_at) from ops.publish_log)
          and not exists (select from ops.gate_runs g where g.run_id = p.run_id and g.success)""",
}


def consistency_problems(url: str) -> list[str]:
    problems = []
    with psycopg.connect(url) as connection:
        for what, query in CONSISTENCY_CHECKS.items():
            found = connection.execute(query).fetchall()
            if found:
                problems.append(f"{what}: {found[:5]}")
    return problems


class MartsReader:
    """A reader looping one query over the published marts on its own connection, recording every answer.

    Each answer is the number of tables in `marts` and the row counts of a few of them, read in one
    statement (READ COMMITTED, as a BI tool reads): a complete schema gives the same answer as the
    clean warehouse; an empty or partial one does not; an error (no `marts` at all) is recorded too.
    """

    TABLES = ("fct_anthropometry", "dim_child", "mart_convergence_scorecard", "mart_stunting_prevalence_monthly")

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[float, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @classmethod
    def query(cls) -> str:
        counts = ", ".join(f"(select count(*) from marts.{t})" for t in cls.TABLES)
        tables = TABLES_IN_SCHEMA.replace("%s", "'marts'")
        return f"select ({tables}), {counts}"

    def __enter__(self) -> MartsReader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        query = self.query()
        connection = None
        while not self._stop.is_set():
            try:
                if connection is None or connection.closed:
                    connection = psycopg.connect(self.url, autocommit=True, application_name="faults reader")
                answer: object = tuple(connection.execute(query).fetchone())
            except psycopg.Error as error:
                answer = f"error: {type(error).__name__}: {str(error).strip().splitlines()[0]}"
                if connection is not None and not connection.closed:
                    connection.close()
                connection = None
            self.answers.append((time.monotonic(), answer))
            time.sleep(0.02)
        if connection is not None:
            connection.close()
