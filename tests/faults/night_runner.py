"""One night without Airflow's scheduler: the nightly DAG's task functions in its order, in one process.

    python -m tests.faults.night_runner --run-id RUN_ID --landing-dir DIR [--wait SECONDS]

The kill tests and the soak start this as a real process and kill it with `kill -9`. It calls the
same functions the DAG's tasks call (include/konvergensi/nightly_tasks.py): the e-PPGBM and BKKBN
loads, the five extracts, one `dbt build` (the same command Cosmos' watcher runs, as its own
process), the GX gate and the publish — under the night lock (konvergensi.night_lock) and the night
lease (konvergensi.night_lease), as `make run` does. What it
leaves out is Airflow's own machinery (task instances, retries, XCom), which `airflow dags test`
costs about two minutes a night and which test_nightly_dag.py covers.

Exit codes: 0 published; 1 a step failed (named on stderr); 3 the gate failed (nothing published);
75 another night holds the lock or the lease (nothing done).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from konvergensi import night_lease, nightly_tasks, roles, settings
from konvergensi.night_lock import NightAlreadyRunning, night_lock

PROJECT = Path(__file__).resolve().parents[2]
EXIT_GATE_FAILED = 3
EXIT_LOCKED = 75


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def dbt_build() -> None:
    environment = dict(os.environ, **settings.dbt_env())
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt), "build", "--project-dir", str(PROJECT / "dbt_project"), "--quiet", "--no-use-colors"]
    subprocess.run(command, env=environment, check=True, cwd=PROJECT / "dbt_project")


def night(run_id: str, landing: Path) -> int:
    from konvergensi.extract import SourceRejected
    from konvergensi.gate import GateFailed

    say(f"night {run_id}: loads from {landing}")
    nightly_tasks.ingest(run_id, str(landing))
    nightly_tasks.ingest_family_data(run_id, str(landing))
    for source in nightly_tasks.PULLED_SOURCES:
        try:
            summary = nightly_tasks.extract(source, run_id)
        except SourceRejected as rejected:
            print(f"extract {source} rejected: {rejected}", file=sys.stderr)
            return 1
        say(f"extract {source}: {summary.get('status')}")
    say("dbt build")
    dbt_build()
    say("gate")
    try:
        nightly_tasks.gate(run_id)
    except GateFailed as failure:
        print(f"gate failed: {failure}", file=sys.stderr)
        return EXIT_GATE_FAILED
    say("publish")
    nightly_tasks.publish(run_id)
    say(f"night {run_id}: published")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--landing-dir", type=Path, required=True)
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another night's lock")
    args = parser.parse_args(argv)
    try:
        with night_lock(args.run_id, wait_seconds=args.wait) as lock_pid:
            roles.apply()  # migrations and roles, as the superuser of WAREHOUSE_URL (as make run does)
            with night_lease.held(args.run_id, "fault runner", night_lock_pid=lock_pid):
                return night(args.run_id, args.landing_dir)
    except NightAlreadyRunning as busy:
        print(busy, file=sys.stderr)
        return EXIT_LOCKED


if __name__ == "__main__":
    sys.exit(main())
