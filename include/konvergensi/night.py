"""`make run`: one night end to end through Airflow, then the summary.

    python -m konvergensi.night --simulate [--months 12 --children 23000 --seed 42]
    python -m konvergensi.night --landing-dir /path/to/real/exports

With --simulate the source simulator (a separate package, run as its own process) first writes a
year of e-PPGBM exports into the landing directory; the nightly DAG itself never knows whether
its files came from the simulator or from puskesmas.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from konvergensi import settings
from konvergensi.db import connect
from konvergensi.summary import night_summary

DAG_ID = "konvergensi_nightly"
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


def simulate(landing: Path, run_date: dt.date, args: argparse.Namespace) -> None:
    print(f"Simulating {args.months} months of e-PPGBM exports for ~{args.children:,} children into {landing} …", flush=True)
    command = [
        sys.executable, "-m", "konvergensi_simulator", "eppgbm", "--out", str(landing), "--seed", str(args.seed),
        "--children", str(args.children), "--months", str(args.months), "--end-month", previous_month(run_date),
    ]  # fmt: skip
    subprocess.run(command, check=True)


def run_dag(run_date: dt.date, landing: Path) -> tuple[int, Path]:
    """Run the DAG for one logical date in this process tree; return (exit code, log file)."""
    log_dir = settings.data_dir() / "logs"
    log_dir.mkdir(exist_ok=True)
    log_file = log_dir / f"night-{run_date:%Y-%m-%d}-{dt.datetime.now():%H%M%S}.log"
    environment = dict(os.environ, KONVERGENSI_LANDING_DIR=str(landing))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-date", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--landing-dir", type=Path)
    parser.add_argument("--simulate", action="store_true")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--children", type=int, default=23_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    landing = (args.landing_dir or settings.landing_dir()).resolve()
    if args.simulate:
        landing.mkdir(parents=True, exist_ok=True)
        simulate(landing, args.run_date, args)
    elif not landing.is_dir():
        parser.error(f"landing directory {landing} does not exist")

    code, log_file = run_dag(args.run_date, landing)
    with connect() as connection:
        print()
        print(night_summary(connection))
    print(f"\nAirflow log: {log_file}")
    print('Query the marts: make psql SQL="select * from marts.mart_stunting_prevalence_monthly limit 5"')
    if code != 0:
        print(f"\nThe nightly DAG FAILED (exit code {code}); see the log above.", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
