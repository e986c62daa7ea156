"""`make bench`: an incremental night after a year of history, every convergence source.

    python tests/bench/bench_convergence.py [--children 23000] [--months 12]

A simulated city writes `--months` months of every source. Night 1 loads that history (e-PPGBM and
BKKBN files, the services API, pregnancies, DTSEN and public works through the production
extractors) and dbt builds everything; the simulated systems then move one day on, and night 2
runs the same steps again. Printed per source: the history, what night 2 read, and the seconds of
each night — night 2 should read only the new and changed records (plus the one-day overlap the
extractors re-read on purpose), never the history again. Then night 2's `dbt build` against
night 1's, which builds everything from the history: its wall time, the rows it wrote (inserted,
updated or deleted, from pg_stat_database) and its WAL bytes. Issue 9's target for a night with 1%
new data is 10% of the full build.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "include"))

from konvergensi import roles  # noqa: E402
from konvergensi.settings import dbt_env  # noqa: E402
from konvergensi.summary import table  # noqa: E402
from konvergensi.transform_build import run_results_split  # noqa: E402

PULLED = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")
HISTORY = {
    "services": "raw.mch_services", "pregnancies": "raw.mch_pregnancies",
    "dtsen": "(select household_id from raw.dtsen_households union all select member_id from raw.dtsen_members "
             "union all select household_id from raw.dtsen_programmes)",
    "pupr_surveys": "raw.pupr_household_surveys", "pupr_projects": "raw.pupr_projects",
}  # fmt: skip


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def night(landing: Path, run_id: str) -> dict[str, tuple[int, float]]:
    """Every load of one night: source -> (records or rows read, seconds)."""
    from konvergensi.extract import extract_source
    from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

    figures = {}
    started = time.perf_counter()
    figures["e-PPGBM files"] = (ingest_eppgbm(landing, run_id).rows_read, time.perf_counter() - started)
    started = time.perf_counter()
    figures["BKKBN files"] = (ingest_bkkbn(landing, run_id).as_dict()["rows_read"], time.perf_counter() - started)
    for source in PULLED:
        started = time.perf_counter()
        report = extract_source(source, run_id).as_dict()
        figures[source] = (report["records_read"], time.perf_counter() - started)
    return figures


def written(url: str) -> tuple[int, int]:
    """(rows inserted, updated or deleted so far in the database, WAL bytes so far on the server).

    A backend's row counts reach pg_stat_database when it ends, a moment after its client has gone:
    read until two looks a second apart agree.
    """
    seen = None
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            now = connection.execute(
                "select tup_inserted + tup_updated + tup_deleted, pg_current_wal_lsn() - '0/0'::pg_lsn"
                " from pg_stat_database where datname = current_database()").fetchone()
            if seen is not None and now[0] == seen[0]:
                return int(now[0]), int(now[1])
            seen = now
            time.sleep(1)


def dbt_build(url: str, target: Path) -> tuple[float, dict, int, int]:
    """One `dbt build` as the night's producer task runs it: (wall seconds, its run_results split, rows written, WAL bytes)."""
    environment = dict(os.environ, WAREHOUSE_URL=url, **dbt_env(url))
    rows_before, wal_before = written(url)
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--quiet", "--target-path", str(target),
         "--log-path", str(target)],
        cwd=PROJECT / "dbt_project", env=environment, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    rows_after, wal_after = written(url)
    return seconds, run_results_split(target / "run_results.json"), rows_after - rows_before, wal_after - wal_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=23_000)
    parser.add_argument("--months", type=int, default=12, help="months of history before the measured night")
    args = parser.parse_args()

    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    server_url = os.environ["WAREHOUSE_URL"]
    suffix = secrets.token_hex(3)
    warehouse_db, dtsen_db = f"bench_convergence_{suffix}", f"bench_dtsen_{suffix}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        for name in (warehouse_db, dtsen_db):
            admin.execute(f'create database "{name}"')
    warehouse, dtsen = with_database(server_url, warehouse_db), with_database(server_url, dtsen_db)
    roles.apply(warehouse)  # dbt connects as the transformer role
    first_night = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    second_night = first_night + dt.timedelta(days=1)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-convergence-") as scratch:
            landing, store, target = Path(scratch, "landing"), Path(scratch, "store"), Path(scratch, "dbt")
            landing.mkdir()
            print(f"Simulating {args.months} month(s) of every source for ~{args.children:,} children …", flush=True)
            write_city_sources(landing, store, dtsen, children=args.children, months=args.months,
                               end_month="2026-10", as_of=first_night, progress=False)
            token = secrets.token_urlsafe(16)
            with SourceServer(store, token=token, as_of=first_night) as server:
                os.environ.update(
                    WAREHOUSE_URL=warehouse, KONVERGENSI_SERVICES_API_URL=server.services_url,
                    KONVERGENSI_SERVICES_API_TOKEN=token, KONVERGENSI_PUPR_API_URL=server.pupr_url,
                    KONVERGENSI_DTSEN_URL=dtsen, KONVERGENSI_PSEUDONYM_KEY=secrets.token_hex(32),
                )
                print("Night 1: loading the history …", flush=True)
                one = night(landing, "bench-night-1")
                dbt_one, split_one, rows_one, wal_one = dbt_build(warehouse, target)
                with psycopg.connect(warehouse) as connection:
                    history = {s: connection.execute(f"select count(*) from {HISTORY[s]} as t").fetchone()[0]
                               for s in PULLED}
                server.set_as_of(second_night)
                print("Night 2: one day later …", flush=True)
                two = night(landing, "bench-night-2")
                dbt_two, split_two, rows_two, wal_two = dbt_build(warehouse, target)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            for name in (warehouse_db, dtsen_db):
                admin.execute(f'drop database if exists "{name}" with (force)')

    rows = []
    for name in one:
        held = history.get(name, one[name][0])
        share = f"{100 * two[name][0] / held:.1f}%" if held else "–"
        rows.append((name, held, one[name][0], round(one[name][1], 2), two[name][0], share, round(two[name][1], 2)))
    rows.append(("dbt build (every model, test, snapshot)", None, None, round(dbt_one, 1), None, None, round(dbt_two, 1)))
    print()
    print(f"Incremental night after {args.months} month(s) of history, ~{args.children:,} children")
    print(table(["source", "history", "night 1 read", "night 1 s", "night 2 read", "of history", "night 2 s"], rows,
                align="lrrrrrr"))
    new_share = sum(two[name][0] for name in one) / max(1, sum(history.get(name, one[name][0]) for name in one))
    print()
    print(f"What night 2 costs against the full build of the history (night 1); new data {100 * new_share:.2f}% of it"
          " (target: 10% or less with 1% new)")
    print(table(["figure", "full build (night 1)", "night 2", "night 2 / full"], [
        ("dbt build wall s", round(dbt_one, 1), round(dbt_two, 1), f"{100 * dbt_two / dbt_one:.0f}%"),
        ("rows written (inserted, updated, deleted)", rows_one, rows_two, f"{100 * rows_two / max(1, rows_one):.0f}%"),
        ("WAL written MB", round(wal_one / 1e6, 1), round(wal_two / 1e6, 1), f"{100 * wal_two / max(1, wal_one):.0f}%"),
    ], align="lrrr"))
    print()
    print("Where the dbt build's time goes (SQL running = wall time while at least one node executed SQL)")
    split_rows = [
        (name, split["nodes"], round(split["sql_wall_seconds"], 1), round(split["node_seconds"], 1),
         round(split["dbt_seconds"], 1), round(wall, 1), f"{100 * split['sql_wall_seconds'] / wall:.0f}%")
        for name, wall, split in (("night 1", dbt_one, split_one), ("night 2", dbt_two, split_two))
    ]
    print(table(["build", "nodes", "SQL running s", "SQL summed over threads s", "dbt s", "process s", "SQL share"],
                split_rows, align="lrrrrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
