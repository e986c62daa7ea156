"""`make bench-province`: a month of e-PPGBM weighings for every kabupaten and kota of Jawa Tengah, as one night.

    python tests/bench/bench_province.py [--children 2500000] [--province 33] [--skip-build]

The kabupaten and kota come from the region seed (dbt_project/seeds/reference/ref_kabupaten_kota.csv,
Kemendagri codes). For each, the city generator (konvergensi_simulator.write_bench_csv) writes one
month of weighings to its own export, with its name in the Kab/Kota column; the children are shared
out equally (the seed carries no population per kab/kota). Then, in a throwaway database on the
warehouse's server, timed one by one as a night runs them:

- the e-PPGBM ingestion of all the exports in one run (parse, clean, pseudonymise, COPY), with the
  loader's peak memory (its own VmHWM) and rows read = loaded + quarantined;
- the z-score model (int_measurements_zscored) on the freshly loaded rows;
- the rest of the night's `dbt build` (every model, snapshot and data test; the other sources are
  configured off, so their tables are empty), with dbt's peak memory.

What it does not yet measure (issue 9, part 4): the simulator writes Kota Pekalongan's kelurahan and
puskesmas into every kab/kota's export (the kelurahan seed is the city's alone), so the marts' rows
all fall to Pekalongan's kelurahan; the convergence sources (DTSEN, services, public works) are not
generated at province scale; PostgreSQL's own memory is not counted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "include"))
sys.path.insert(0, str(PROJECT))

from konvergensi.settings import REFERENCE_SEEDS_DIR, dbt_env  # noqa: E402
from konvergensi.summary import table  # noqa: E402
from tests.bench.bench_eppgbm import ZSCORE_MODEL, create_bench_database, drop_bench_database, ingest, zscores  # noqa: E402

def regions(province_code: str) -> list[dict[str, str]]:
    with (REFERENCE_SEEDS_DIR / "ref_kabupaten_kota.csv").open(newline="", encoding="utf-8") as handle:
        found = [row for row in csv.DictReader(handle) if row["province_code"] == province_code]
    if not found:
        raise SystemExit(f"ref_kabupaten_kota.csv lists no kabupaten or kota of province {province_code}")
    return found


def write_region(target: str, rows: int, seed: int, city: str) -> tuple[int, float]:
    """One kab/kota's export of one month; (rows written, seconds)."""
    from konvergensi_simulator import write_bench_csv

    started = time.perf_counter()
    written = write_bench_csv(target, rows, seed=seed, months=1, city=city)["rows"]
    Path(target).chmod(0o644)
    return written, time.perf_counter() - started


def generate(landing: Path, kab_kota: list[dict[str, str]], rows_each: int) -> tuple[int, float]:
    """Every kab/kota's export, written by as many processes as there are cores; (rows, seconds)."""
    started = time.perf_counter()
    total = 0
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {
            pool.submit(write_region, str(landing / f"eppgbm_{row['kab_kota_code'].replace('.', '')}_bulan.csv"),
                        rows_each, 1000 + number, row["kab_kota_name"].upper()): row
            for number, row in enumerate(kab_kota)
        }  # fmt: skip
        for done, future in enumerate(futures, start=1):
            written, seconds = future.result()
            total += written
            print(f"  {done:>2}/{len(futures)} {futures[future]['kab_kota_name']}: {written:,} rows in {seconds:.1f} s",
                  flush=True)  # fmt: skip
    return total, time.perf_counter() - started


# dbt in a process of its own that reports its own peak memory (VmHWM) when the build ends.
DBT_CHILD = """
import sys
from pathlib import Path
from dbt.cli.main import dbtRunner
result = dbtRunner().invoke(sys.argv[1:])
peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
print(f"peak_kb={peak_kb}")
sys.exit(0 if result.success else 1)
"""


def dbt_build(url: str) -> dict:
    """The rest of the night's `dbt build` (the z-score model is already built); seconds and peak MB."""
    environment = dict(os.environ, **dbt_env(url), KONVERGENSI_SOURCES="eppgbm")
    project = PROJECT / "dbt_project"
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", DBT_CHILD, "build", "--quiet", "--exclude", "resource_type:unit_test", ZSCORE_MODEL],
        cwd=project, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak = [line for line in completed.stdout.splitlines() if line.startswith("peak_kb=")]
    if not peak:
        raise SystemExit(f"dbt build failed (exit {completed.returncode}):\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
    sql_seconds = sum(r["execution_time"] for r in results)
    return {"seconds": seconds, "nodes": len(results), "failed": failed, "sql_seconds": sql_seconds,
            "peak_mb": int(peak[-1].removeprefix("peak_kb=")) / 1024}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=2_500_000, help="children under five in the province")
    parser.add_argument("--province", default="33", help="Kemendagri province code in ref_kabupaten_kota (33: Jawa Tengah)")
    parser.add_argument("--skip-build", action="store_true", help="stop after the z-scores (no full dbt build)")
    args = parser.parse_args()
    from konvergensi_simulator.exports import BENCH_MONTHLY_WEIGHED_SHARE

    kab_kota = regions(args.province)
    children_each = args.children // len(kab_kota)
    rows_each = max(int(children_each * BENCH_MONTHLY_WEIGHED_SHARE), 1)  # a month's weighings
    server, database, url = create_bench_database("konvergensi_province")
    try:
        with tempfile.TemporaryDirectory(prefix="kv-province-", dir="/tmp") as work:
            landing = Path(work)
            landing.chmod(0o755)
            province = kab_kota[0]["province_name"]
            print(f"Province bench: {province}, {len(kab_kota)} kabupaten/kota, {args.children:,} children "
                  f"({children_each:,} each), one month of weighings (database {database})", flush=True)  # fmt: skip
            print("Generating one export per kabupaten/kota …", flush=True)
            rows, generate_seconds = generate(landing, kab_kota, rows_each)
            size_mb = sum(path.stat().st_size for path in landing.iterdir()) / 1e6
            print(f"  {rows:,} rows in {len(kab_kota)} files ({size_mb:,.0f} MB) in {generate_seconds:.1f} s", flush=True)
            print("Ingestion of every export in one run …", flush=True)
            loaded = ingest(url, landing, "province-bench", rows)
        print("Z-scores (int_measurements_zscored, full refresh) …", flush=True)
        z = zscores(url)
        build = None
        if not args.skip_build:
            print("The rest of the night's dbt build (e-PPGBM configured, the other sources off) …", flush=True)
            build = dbt_build(url)
        steps = [
            ("ingestion (parse, clean, pseudonymise, COPY)", loaded["rows"], loaded["seconds"], loaded["peak_mb"]),
            ("z-scores (HAZ, WAZ, WHZ, BAZ)", z["rows"], z["seconds"], None),
        ]
        if build:
            steps.append((f"dbt build, {build['nodes']} nodes", z["rows"], build["seconds"], build["peak_mb"]))
        night = sum(step[2] for step in steps)
        print()
        print(table(
            ["step", "rows", "seconds", "rows/s", "peak MB"],
            [(name, n, round(s, 1), int(n / s) if s else "–", f"{mb:,.0f}" if mb else "–") for name, n, s, mb in steps]
            + [("the night (these steps)", rows, round(night, 1), int(rows / night), "–")],
            align="lrrrr",
        ))  # fmt: skip
        print(f"\nrows read {loaded['rows']:,} = loaded {loaded['loaded']:,} + quarantined {loaded['quarantined']:,}")
        if build:
            print(f"dbt build: {build['sql_seconds']:.1f} s of node execution time in {build['seconds']:.1f} s of wall time"
                  + (f"; failed: {', '.join(build['failed'])}" if build["failed"] else "; every node passed"))  # fmt: skip
        print("Not measured here: PostgreSQL's own memory; the convergence sources at province scale; marts per "
              "kab/kota (every export carries Kota Pekalongan's kelurahan: issue 9, part 4).")
    finally:
        drop_bench_database(server, database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
