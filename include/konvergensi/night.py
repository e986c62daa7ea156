"""`make run`: one night end to end through Airflow, then the summary.

    python -m konvergensi.night --simulate [--months 12 --children 23000 --seed 42] [--down services]
    python -m konvergensi.night --landing-dir /path/to/real/exports

With --simulate the source simulator (a separate package, run as its own processes) stands for
the outside systems: it writes a year of e-PPGBM and BKKBN files into the landing directory, fills
a DTSEN database beside the warehouse, and serves the services API and the public-works GeoJSON
over HTTP (now and then answering 5xx or stalling, as real servers do) while the DAG runs. The
nightly DAG only sees files, URLs and a token in its environment, exactly as with the real systems.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from konvergensi import docs_site, night_lease, roles, settings
from konvergensi.db import connect
from konvergensi.night_lock import NightAlreadyRunning, night_lock
from konvergensi.summary import night_summary

DAG_ID = "konvergensi_nightly"
# Exit code when another night holds the night lock (EX_TEMPFAIL: try again later).
EXIT_NIGHT_RUNNING = 75
# `airflow dags test` logs structured lines: "<time> [<level>] <message> [<logger>] key=value …".
LOG_LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT(?P<clock>\d\d:\d\d:\d\d))\S*\s+\[(?P<level>\w+)\s*\]\s+(?P<message>.*?)\s+\[(?P<logger>[\w.]+)\]")
TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+)")


def progress_line(line: str) -> str | None:
    """The part of an Airflow log line a person watching the run wants, or None."""
    match = LOG_LINE.match(line)
    if not match:
        return None
    message, logger, level = match["message"], match["logger"], match["level"]
    if started := TASK_START.search(message):
        return f"{match['clock']} ▶ {started['task']}"
    if logger.startswith("konvergensi") or level in ("error", "critical"):
        return f"{match['clock']}   {message[:200]}"
    if "DagRun Finished" in message:
        return f"{match['clock']} {message[:160]}"
    return None


def previous_month(day: dt.date) -> str:
    first = day.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


SIMULATED_DTSEN_DATABASE = "dtsen_simulated"
# Which simulated server answers for each pulled source (DTSEN is a database and cannot be "down" here).
SIMULATED_SYSTEMS = {"services": "services", "pregnancies": "services", "pupr_surveys": "pupr", "pupr_projects": "pupr"}


def simulated_dtsen_url() -> str:
    """A database beside the warehouse standing for the social-affairs system (created if missing)."""
    warehouse = settings.warehouse_url()
    with psycopg.connect(warehouse, autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", (SIMULATED_DTSEN_DATABASE,)).fetchone()
        if not exists:
            admin.execute(f'create database "{SIMULATED_DTSEN_DATABASE}"')
    return urlunparse(urlparse(warehouse)._replace(path=f"/{SIMULATED_DTSEN_DATABASE}"))


def source_as_of(run_date: dt.date) -> str:
    """The simulated systems show what had been recorded by the start of the night (00:00 WIB)."""
    return f"{run_date.isoformat()}T00:00:00+07:00"


def simulate(landing: Path, store: Path, dtsen_url: str, run_date: dt.date, args: argparse.Namespace) -> None:
    print(f"Simulating {args.months} months of every source for ~{args.children:,} children "
          f"(files into {landing}, API data into {store}) …", flush=True)
    command = [
        sys.executable, "-m", "konvergensi_simulator", "city", "--out", str(landing), "--store", str(store),
        "--dtsen-url", dtsen_url, "--seed", str(args.seed), "--children", str(args.children),
        "--months", str(args.months), "--end-month", previous_month(run_date), "--as-of", source_as_of(run_date),
    ]  # fmt: skip
    subprocess.run(command, check=True)


@contextmanager
def simulated_servers(store: Path, run_date: dt.date, down: list[str], fail_rate: float) -> Iterator[dict[str, str]]:
    """Serve the store over HTTP for the duration of the night; yields the environment the DAG needs."""
    token = secrets.token_urlsafe(24)
    command = [
        sys.executable, "-m", "konvergensi_simulator", "serve", "--store", str(store), "--port", "0",
        "--token", token, "--as-of", source_as_of(run_date), "--fail-rate", str(fail_rate), "--seed", "7",
    ]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            base = server.stdout.readline().strip()
            if not base.startswith("http"):
                raise RuntimeError(f"the source simulator did not start (printed {base!r})")
            if down:
                _control(base, {"down": sorted({SIMULATED_SYSTEMS[source] for source in down})})
            print(f"Simulated source servers at {base}"
                  + (f" — down tonight: {', '.join(down)}" if down else ""), flush=True)
            yield {
                "KONVERGENSI_SERVICES_API_URL": f"{base}/api/v1",
                "KONVERGENSI_SERVICES_API_TOKEN": token,
                "KONVERGENSI_PUPR_API_URL": f"{base}/pupr",
            }
        finally:
            server.terminate()
            server.wait(timeout=30)


def _control(base: str, change: dict[str, object]) -> None:
    request = urllib.request.Request(
        f"{base}/_sim/control", data=json.dumps(change).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def run_dag(run_date: dt.date, landing: Path, sources: dict[str, str] | None = None) -> tuple[int, Path]:
    """Run the DAG for one logical date in this process tree; return (exit code, log file)."""
    log_dir = settings.data_dir() / "logs"
    log_dir.mkdir(exist_ok=True)
    log_file = log_dir / f"night-{run_date:%Y-%m-%d}-{dt.datetime.now():%H%M%S}.log"
    environment = dict(os.environ, KONVERGENSI_LANDING_DIR=str(landing), **(sources or {}))
    print(f"Running the {DAG_ID} DAG for {run_date} (full log: {log_file}) …", flush=True)
    with log_file.open("w") as log, subprocess.Popen(
        ["airflow", "dags", "test", DAG_ID, run_date.isoformat()],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if shown := progress_line(line):
                print("  " + shown, flush=True)
    return process.returncode, log_file


def report_lines() -> list[str]:
    """Where the monthly report of the last published night is (the DAG's report task writes it after publish)."""
    from konvergensi.report import reports_dir

    latest = reports_dir() / "latest"
    files = sorted(latest.glob("laporan-konvergensi*.*")) if latest.is_dir() else []
    if not files:
        return ["Monthly report: none yet (no night has been published and reported); make report writes it"]
    page = latest / "laporan-konvergensi.html"
    night = re.search(r'data-night="([^"]+)"', page.read_text(encoding="utf-8")) if page.exists() else None
    return [f"Monthly report of the night {night[1] if night else '?'} (make report [RUN_DATE=…] writes it again):",
            *(f"  {path}" for path in files)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-date", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--landing-dir", type=Path)
    parser.add_argument("--simulate", action="store_true")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--children", type=int, default=23_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--down", action="append", default=[], metavar="SOURCE", choices=sorted(SIMULATED_SYSTEMS),
                        help="with --simulate: the system serving this source is down tonight (services and "
                             "pregnancies share the services API; pupr_surveys and pupr_projects the public-works "
                             "endpoint); repeatable")
    parser.add_argument("--fail-rate", type=float, default=0.02,
                        help="with --simulate: share of API requests answered 5xx/429 or stalled")
    args = parser.parse_args(argv)

    landing = (args.landing_dir or settings.landing_dir()).resolve()
    try:  # a setting naming an unknown source, or real exports without the pseudonym key, stop the night at once
        if args.simulate:
            os.environ[settings.DEVELOPMENT_KEY_SETTING] = "1"  # simulated people: a generated key will do
            settings.named_sources()  # the simulated servers provide the URLs
        else:
            settings.pseudonym_key()
            configured = settings.configured_sources(landing)
            print(f"Configured sources: {', '.join(configured)} ({settings.SOURCES_SETTING}; "
                  "see docs/convergence-sources.md)", flush=True)
    except settings.ConfigurationError as error:
        parser.error(str(error))
    if not args.simulate and not landing.is_dir():
        parser.error(f"landing directory {landing} does not exist")
    try:  # one night at a time on this warehouse (a second `make run`, a backfill beside tonight's)
        with night_lock(args.run_date.isoformat()) as lock_pid:
            # migrations and roles, as the superuser of WAREHOUSE_URL; the night's tasks then connect as roles
            for line in roles.apply().lines():
                print(line, flush=True)
            # the lease keeps a deployed DAG's run out meanwhile (and this night out of one): the DAG
            # started below renews this lease instead of taking its own
            lease_run = f"make_run__{args.run_date.isoformat()}__pid{os.getpid()}"
            with night_lease.held(lease_run, f"make run {args.run_date}", night_lock_pid=lock_pid):
                os.environ[night_lease.RUN_SETTING] = lease_run
                if args.simulate:
                    landing.mkdir(parents=True, exist_ok=True)
                    store = settings.data_dir() / "simulated-sources"
                    store.mkdir(exist_ok=True)
                    dtsen_url = simulated_dtsen_url()
                    simulate(landing, store, dtsen_url, args.run_date, args)
                    with simulated_servers(store, args.run_date, args.down, args.fail_rate) as sources:
                        code, log_file = run_dag(args.run_date, landing, {**sources, "KONVERGENSI_DTSEN_URL": dtsen_url})
                else:
                    code, log_file = run_dag(args.run_date, landing)
    except NightAlreadyRunning as busy:
        print(busy, file=sys.stderr)
        return EXIT_NIGHT_RUNNING
    with connect() as connection:
        print()
        print(night_summary(connection))
    # the DAG's build_docs wrote the index after the publish; written again now, it also links what the
    # night's other tasks finished later (the monthly report) and a Superset started meanwhile
    index = docs_site.build(dbt_docs=False).index
    print(f"\nAirflow log: {log_file}")
    for line in report_lines():
        print(line)
    print(f"Documentation of the published night: {index}")
    print('Query the marts: make psql SQL="select * from marts.mart_stunting_prevalence_monthly limit 5"')
    if code != 0:
        print(f"\nThe nightly DAG FAILED (exit code {code}); see the log above.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
