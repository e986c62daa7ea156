"""`make bench`: the family linkage measured against the simulator's truth, at city scale.

    python tests/bench/bench_linkage.py [--children 23000] [--months 12] [--seed 42] [--keep DIR]

A simulated city (all the dirt) writes every source and, beside them, the true household, child and
pregnancy of every record. The production loaders and extractors load the sources, dbt builds the
linkage models (`dbt build --select +int_services_attributed`, which includes `int_household_links`), and every link
is compared with the truth. Printed per source and per link method: links made, right and wrong,
ambiguous and unlinked records, precision (right / links), recall (right / records that have a true
match) and the ambiguous share; sources below the targets (precision 99 %, recall 95 %) are named.
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

PULLED = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")
LINKAGE_MODELS = "+int_services_attributed"
WIB = dt.timezone(dt.timedelta(hours=7))


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def say(message: str) -> None:
    print(message, flush=True)


def load_sources(landing: Path, run_id: str) -> None:
    from konvergensi.extract import extract_source
    from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

    report = ingest_eppgbm(landing, run_id).as_dict()
    say(f"  e-PPGBM: {report['rows_read']:,} rows read, {report['rows_loaded']:,} loaded")
    report = ingest_bkkbn(landing, run_id).as_dict()
    say(f"  BKKBN: {report['rows_read']:,} rows read, {report['rows_loaded']:,} loaded")
    for source in PULLED:
        report = extract_source(source, run_id).as_dict()
        say(f"  {source}: {report['records_read']:,} records read, {report['records_loaded']:,} loaded")


def build_linkage(url: str, target: Path) -> float:
    environment = dict(os.environ, WAREHOUSE_URL=url, **dbt_env(url))
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--quiet", "--select", LINKAGE_MODELS,
         "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", "--target-path", str(target), "--log-path", str(target)],
        cwd=PROJECT / "dbt_project", env=environment, check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=23_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the warehouse database and write the truth here (to score again after a rule change)")
    parser.add_argument("--again", metavar="DATABASE", default=None,
                        help="with --keep DIR: rebuild the linkage in a kept warehouse database and score it again")
    args = parser.parse_args()
    if args.again and not args.keep:
        parser.error("--again needs --keep DIR (where the truth was written)")

    from konvergensi.settings import pseudonym_key
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.linkage_truth import score_linkage
    from konvergensi_simulator.server import SourceServer

    server_url = os.environ["WAREHOUSE_URL"]
    os.environ.setdefault("KONVERGENSI_PSEUDONYM_KEY", secrets.token_hex(32))
    if args.again:
        return score_again(server_url, args)
    suffix = secrets.token_hex(3)
    warehouse_db, dtsen_db = f"bench_linkage_{suffix}", f"bench_linkage_dtsen_{suffix}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        for name in (warehouse_db, dtsen_db):
            admin.execute(f'create database "{name}"')
    warehouse, dtsen = with_database(server_url, warehouse_db), with_database(server_url, dtsen_db)
    roles.apply(warehouse)  # dbt connects as the transformer role, which needs its grants on the new database
    night = dt.datetime(2026, 11, 1, tzinfo=WIB)
    seconds = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-linkage-") as scratch:
            landing, store, target = Path(scratch, "landing"), Path(scratch, "store"), Path(scratch, "dbt")
            truth = args.keep or Path(scratch, "truth")
            landing.mkdir()
            say(f"Simulating {args.months} months of every source for ~{args.children:,} children (all the dirt) …")
            started = time.perf_counter()
            write_city_sources(landing, store, dtsen, seed=args.seed, children=args.children, months=args.months,
                               end_month="2026-10", as_of=night, progress=False, linkage_truth=truth)
            seconds["simulate"] = time.perf_counter() - started
            token = secrets.token_urlsafe(16)
            with SourceServer(store, token=token, as_of=night) as server:
                os.environ.update(
                    WAREHOUSE_URL=warehouse, KONVERGENSI_SERVICES_API_URL=server.services_url,
                    KONVERGENSI_SERVICES_API_TOKEN=token, KONVERGENSI_PUPR_API_URL=server.pupr_url,
                    KONVERGENSI_DTSEN_URL=dtsen,
                )
                say("Loading through the production loaders and extractors …")
                started = time.perf_counter()
                load_sources(landing, "bench-linkage")
                seconds["load"] = time.perf_counter() - started
            say(f"dbt build --select {LINKAGE_MODELS} (seeds and models) …")
            seconds["dbt"] = build_linkage(warehouse, target)
            say("Scoring every link against the truth …")
            started = time.perf_counter()
            scores, alignment = score_linkage(warehouse, truth, pseudonym_key())
            seconds["score"] = time.perf_counter() - started
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            for name in (dtsen_db,) if args.keep else (warehouse_db, dtsen_db):
                admin.execute(f'drop database if exists "{name}" with (force)')
    report(scores, alignment, f"~{args.children:,} children, {args.months} months, seed {args.seed}, all the dirt",
           seconds)
    if args.keep:
        print(f"Kept: warehouse database {warehouse_db} (the key: KONVERGENSI_PSEUDONYM_KEY), truth in {truth}")
    return 0


def report(scores: list, alignment: dict[str, int], city: str, seconds: dict[str, float]) -> None:
    from konvergensi_simulator.linkage_truth import score_table, shortfalls

    if any(alignment.values()):
        say(f"WARNING: the truth does not describe the loaded e-PPGBM rows: {alignment}")
    headers, rows = score_table(scores)
    print()
    print(f"Family linkage against the truth: {city} ({', '.join(f'{k} {v:.0f}s' for k, v in seconds.items())})")
    print(table(headers, rows, align="lrrrrrrrrrr"))
    missed = shortfalls(scores)
    print("Targets (precision ≥ 99 %, recall ≥ 95 % per source): " + ("all met" if not missed else "; ".join(missed)))


def score_again(server_url: str, args: argparse.Namespace) -> int:
    from konvergensi.settings import pseudonym_key
    from konvergensi_simulator.linkage_truth import score_linkage

    warehouse = with_database(server_url, args.again)
    with tempfile.TemporaryDirectory(prefix="bench-linkage-") as scratch:
        say(f"dbt build --select {LINKAGE_MODELS} in {args.again} …")
        seconds = {"dbt": build_linkage(warehouse, Path(scratch))}
    started = time.perf_counter()
    scores, alignment = score_linkage(warehouse, args.keep, pseudonym_key())
    seconds["score"] = time.perf_counter() - started
    report(scores, alignment, f"warehouse {args.again} again", seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
