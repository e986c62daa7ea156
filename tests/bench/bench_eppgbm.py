"""`make bench`: throughput of e-PPGBM ingestion and of the z-score model, with peak memory.

    python tests/bench/bench_eppgbm.py --rows 1000000

Prints, measured in the same run on the same file:
- plain server-side COPY of the CSV into an untyped (all-text) table: the practical ceiling;
- our ingestion (parse, clean, pseudonymise, COPY) and its ratio to that ceiling, and the same rows
  delivered as .xlsx (--xlsx-rows: fewer, or 0 for none) against the CSV's;
- the z-score model (all four indices, dbt, set-based SQL) in rows per second, and the naive SQL
  anchor (dbt_project/analyses/zscores_naive_anchor.sql: the same values from the same macros, written
  the obvious way) on the same rows, with the number of rows where the two disagree;
- the peak resident memory of the ingestion process at N and at N/10 (it should not grow with N).

The published figures (README, Performance) live in tests/bench/published_figures.json. When the
z-score step is slower than its published figure, the bench explains the regression: the planner's
statistics of the model's inputs before the step, whether autovacuum touched them during it, and the
key figures of the plan of the statement dbt ran (EXPLAIN ANALYZE of it again, rolled back).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg.rows import dict_row

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "include"))

from konvergensi import roles  # noqa: E402
from konvergensi.query_plans import explain_analyze, plan_table  # noqa: E402
from konvergensi.settings import dbt_env, max_file_bytes, xlsx_max_uncompressed_bytes  # noqa: E402
from konvergensi.summary import table  # noqa: E402

PUBLISHED_FIGURES = Path(__file__).with_name("published_figures.json")
ZSCORE_MODEL = "int_measurements_zscored"
# Tables the z-score model reads (through the view stg_eppgbm__measurements).
ZSCORE_INPUTS = ("raw.eppgbm_measurements", "intermediate.int_who_lms_by_age", "intermediate.int_who_lms_by_stature")

INGEST_CHILD = """
import json, sys, time
from pathlib import Path
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm
started = time.perf_counter()
report = ingest_eppgbm(Path(sys.argv[1]), sys.argv[2], url=sys.argv[3])
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries the forking parent's high-water mark over exec into ru_maxrss,
# so the bench's own memory (the generated input) would be reported as the loader's.
peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmHWM:"))
peak_mb = peak_kb / 1024
print(json.dumps({"seconds": seconds, "rows": report.rows_read, "loaded": report.rows_loaded,
                  "quarantined": report.rows_quarantined, "settle_seconds": report.settle_seconds,
                  "peak_mb": peak_mb}))
"""


def with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def create_bench_database(prefix: str) -> tuple[str, str, str]:
    """A throwaway database on the warehouse's server, with the roles applied: (server URL, name, URL)."""
    # It needs a pseudonym key; a real one from the environment is left alone.
    os.environ.setdefault("KONVERGENSI_PSEUDONYM_KEY", secrets.token_hex(32))
    server = os.environ["WAREHOUSE_URL"]
    database = f"{prefix}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{database}"')
    url = with_database(server, database)
    roles.apply(url)  # dbt connects as the transformer role
    return server, database, url


def drop_bench_database(server: str, database: str) -> None:
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'drop database if exists "{database}" with (force)')


def make_csv(path: Path, rows: int, xlsx_path: Path | None = None) -> None:
    """The bench's input; with `xlsx_path`, the same rows as an .xlsx workbook too."""
    from konvergensi_simulator import write_bench_csv

    started = time.perf_counter()
    write_bench_csv(path, rows, seed=7, xlsx_path=xlsx_path)
    written = [path] if xlsx_path is None else [path, xlsx_path]
    for target in written:
        target.chmod(0o644)
    sizes = " and ".join(f"{target.name} ({target.stat().st_size / 1e6:,.0f} MB)" for target in written)
    print(f"  wrote {rows:,} rows to {sizes} in {time.perf_counter() - started:.1f} s", flush=True)


def plain_copy(url: str, path: Path) -> float:
    """Server-side COPY of the file into a table of text columns; seconds."""
    header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
    columns = ", ".join(f'"c{i}" text' for i in range(len(header)))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("drop table if exists bench_plain_copy")
        connection.execute(f"create table bench_plain_copy ({columns})")
        started = time.perf_counter()
        connection.execute(f"copy bench_plain_copy from '{path}' (format csv, header true)")
        seconds = time.perf_counter() - started
        connection.execute("drop table bench_plain_copy")
    return seconds


def ingest(url: str, landing: Path, run_id: str, rows: int) -> dict:
    """Load the landing directory in a child process of its own (its peak memory is the loader's alone)."""
    largest = max(path.stat().st_size for path in landing.iterdir())
    # The bench's files may exceed the production size limit (1 GiB at 5N); the limit is not what is measured.
    environment = dict(os.environ, PYTHONPATH=str(PROJECT / "include"),
                       KONVERGENSI_MAX_FILE_BYTES=str(max(largest + 1, max_file_bytes())),
                       KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES=str(max(200 * largest, xlsx_max_uncompressed_bytes())))  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-c", INGEST_CHILD, str(landing), run_id, url],
        capture_output=True, text=True, env=environment,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"ingestion of {landing} failed (exit {completed.returncode}):\n{completed.stderr[-4000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    if result["rows"] != rows or result["loaded"] + result["quarantined"] != rows:
        raise SystemExit(
            f"ingestion of {landing}: {rows:,} rows written, but read {result['rows']:,}, loaded {result['loaded']:,},"
            f" quarantined {result['quarantined']:,}: the figures would not be of the whole input"
        )
    return result


def clear_loads(url: str) -> None:
    """Empty the raw e-PPGBM tables and the file records between two runs of the bench."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("truncate raw.eppgbm_measurements, raw.eppgbm_quarantine")
        connection.execute("delete from ops.file_loads")


def input_statistics(connection: psycopg.Connection) -> dict[str, dict]:
    """What the planner knows about each input (reltuples, last analysis) and autovacuum's counters."""
    figures = {}
    for relation in ZSCORE_INPUTS:
        figures[relation] = connection.execute(
            """
            select c.reltuples::bigint as planner_rows, c.relpages as planner_pages,
                   pg_relation_size(c.oid) / current_setting('block_size')::int as pages,
                   s.n_live_tup as live_rows, greatest(s.last_analyze, s.last_autoanalyze) as analysed_at,
                   s.autovacuum_count + s.autoanalyze_count as autovacuum_runs
            from pg_class as c join pg_stat_user_tables as s on s.relid = c.oid
            where c.oid = %s::regclass
            """,
            (relation,),
        ).fetchone()  # fmt: skip
    return figures


def zscores(url: str) -> dict:
    """Build the z-score model from scratch with dbt and return its own execution time."""
    environment = dict(os.environ, **dbt_env(url))
    dbt = Path(sys.executable).parent / "dbt"
    project = PROJECT / "dbt_project"
    subprocess.run(
        [str(dbt), "build", "--quiet", "--select", f"+{ZSCORE_MODEL}", "--exclude", ZSCORE_MODEL,
         "resource_type:test"],
        check=True, cwd=project, env=environment,
    )  # fmt: skip
    with psycopg.connect(url, row_factory=dict_row) as connection:
        before = input_statistics(connection)
    subprocess.run(
        [str(dbt), "run", "--quiet", "--full-refresh", "--select", ZSCORE_MODEL],
        check=True, cwd=project, env=environment,
    )  # fmt: skip
    results = json.loads((project / "target" / "run_results.json").read_text())
    seconds = sum(r["execution_time"] for r in results["results"])
    with psycopg.connect(url, row_factory=dict_row) as connection:
        after = input_statistics(connection)
        rows = connection.execute(f"select count(*) as n from intermediate.{ZSCORE_MODEL}").fetchone()["n"]
        haz = connection.execute(f"select count(haz) as n from intermediate.{ZSCORE_MODEL}").fetchone()["n"]
    statement = next((project / "target" / "run").rglob(f"{ZSCORE_MODEL}.sql")).read_text()
    return {"seconds": seconds, "rows": rows, "haz": haz, "statement": statement, "before": before, "after": after}


NAIVE_ANCHOR = "zscores_naive_anchor"  # dbt_project/analyses/: the same values, written the obvious way
SCORED = ("haz", "waz", "whz", "baz")


def naive_zscores(url: str) -> dict:
    """Time the naive SQL anchor on the same rows, and count the rows where it disagrees with the model."""
    environment = dict(os.environ, **dbt_env(url))
    project = PROJECT / "dbt_project"
    # `dbt compile` of one node prints its SQL even with --quiet: kept quiet unless dbt fails
    compiled = subprocess.run([str(Path(sys.executable).parent / "dbt"), "compile", "--quiet", "--select", NAIVE_ANCHOR],
                              cwd=project, env=environment, capture_output=True, text=True)  # fmt: skip
    if compiled.returncode != 0:
        raise SystemExit(f"dbt compile of {NAIVE_ANCHOR} failed:\n{compiled.stdout}{compiled.stderr}")
    statement = next((project / "target" / "compiled").rglob(f"{NAIVE_ANCHOR}.sql")).read_text()
    differs = " or ".join(f"abs(coalesce(a.{c}, 1e9) - coalesce(m.{c}, 1e9)) > 1e-9" for c in SCORED)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("create schema if not exists bench")
        started = time.perf_counter()
        connection.execute(f"create unlogged table bench.naive_zscores as {statement}")
        seconds = time.perf_counter() - started
        rows, disagreeing = connection.execute(
            f"""
            select count(*), count(*) filter (where m.source_row is null or {differs})
            from bench.naive_zscores as a
            left join intermediate.{ZSCORE_MODEL} as m on m.source_file = a.source_file and m.source_row = a.source_row
            """
        ).fetchone()
        connection.execute("drop table bench.naive_zscores")
    return {"seconds": seconds, "rows": rows, "disagreeing": disagreeing}


def explain_zscores(url: str, z: dict, published: dict) -> str:
    """Why the z-score step was slow: the inputs' statistics and the plan of the statement dbt ran."""
    lines = [
        f"z-scores ran at {z['rows'] / z['seconds']:,.0f} rows/s, slower than the published "
        f"{published['zscore_rows_per_s']:,} rows/s ({PUBLISHED_FIGURES.name}, {published['rows']:,} rows). "
        "What the planner knew of the inputs when the step started:",
        table(
            ["input", "planner rows", "planner pages", "pages", "live rows", "analysed at", "autovacuum during the step"],
            [
                (relation, b["planner_rows"], b["planner_pages"], b["pages"], b["live_rows"],
                 b["analysed_at"].strftime("%H:%M:%S") if b["analysed_at"] else "never",
                 "yes" if z["after"][relation]["autovacuum_runs"] > b["autovacuum_runs"] else "no")
                for relation, b in z["before"].items()
            ],
            align="lrrrrll",
        ),  # fmt: skip
        "(planner rows −1: never analysed, estimated from the pages; 0 over many pages: the planner expects one row)",
    ]
    # The same statement again on the same rows, in a transaction that is rolled back. It is the second
    # scan (hint bits are set by now) and autovacuum may have analysed meanwhile, so the buffers and
    # the plan can differ from the measured run; a plan slower than twice that run is cut short.
    statement = z["statement"].replace(f'"intermediate"."{ZSCORE_MODEL}"', f'"intermediate"."{ZSCORE_MODEL}__explain"', 1)
    with psycopg.connect(url) as connection:
        connection.execute(f"set statement_timeout = {int((2 * z['seconds'] + 30) * 1000)}")
        try:
            plan = plan_table(explain_analyze(connection, statement))
            lines.append("Plan of the statement dbt ran, run again under EXPLAIN (ANALYZE, BUFFERS):")
        except psycopg.errors.QueryCanceled:
            connection.rollback()
            row = connection.execute(f"explain (format json) {statement}").fetchone()
            plan = plan_table(row[0][0])
            lines.append("Plan of the statement dbt ran (EXPLAIN only: running it again took too long):")
    lines.append(plan)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=None,
                        help="rows of the .xlsx run (default: the CSV's N rows, written as .xlsx too; fewer: their own CSV is"
                             " written beside for the ratio; 0: no .xlsx run)")
    args = parser.parse_args()
    xlsx_rows = args.rows if args.xlsx_rows is None else min(args.xlsx_rows, args.rows)
    server, database, url = create_bench_database("konvergensi_bench")
    results: list[tuple[object, ...]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="kv-bench-", dir="/tmp") as work:
            work_dir = Path(work)
            work_dir.chmod(0o755)
            small, large, workbook, workbook_csv = (work_dir / name for name in ("small", "large", "xlsx", "xlsx_csv"))
            for folder in (small, large, workbook, workbook_csv):
                folder.mkdir()
                folder.chmod(0o755)
            print(f"Benchmark on {args.rows:,} e-PPGBM rows (database {database})", flush=True)
            print("Generating input …", flush=True)
            if xlsx_rows == args.rows:
                make_csv(large / "eppgbm_bench.csv", args.rows, xlsx_path=workbook / "eppgbm_bench.xlsx")
            else:
                make_csv(large / "eppgbm_bench.csv", args.rows)
                if xlsx_rows:
                    make_csv(workbook_csv / "eppgbm_bench.csv", xlsx_rows, xlsx_path=workbook / "eppgbm_bench.xlsx")
            small_rows = max(args.rows // 10, 1000)
            make_csv(small / "eppgbm_bench.csv", small_rows)

            print("Plain server-side COPY into an untyped table …", flush=True)
            ceiling = plain_copy(url, large / "eppgbm_bench.csv")
            print("Ingestion (parse, clean, pseudonymise, COPY) …", flush=True)
            small_run = ingest(url, small, "bench-small", small_rows)
            clear_loads(url)
            xlsx_run = xlsx_csv_run = None
            if xlsx_rows:
                print(f"Ingestion of the same {xlsx_rows:,} rows as .xlsx …", flush=True)
                xlsx_run = ingest(url, workbook, "bench-xlsx", xlsx_rows)
                clear_loads(url)
                if xlsx_rows != args.rows:  # the CSV of the same rows, for the ratio
                    xlsx_csv_run = ingest(url, workbook_csv, "bench-xlsx-csv", xlsx_rows)
                    clear_loads(url)
            large_run = ingest(url, large, "bench-large", args.rows)
            xlsx_csv_run = xlsx_csv_run or large_run
            print("Z-scores (dbt model int_measurements_zscored, full refresh) …", flush=True)
            z = zscores(url)
            print(f"Z-scores, the naive SQL anchor ({NAIVE_ANCHOR}) on the same rows …", flush=True)
            naive = naive_zscores(url)

            published = json.loads(PUBLISHED_FIGURES.read_text())["eppgbm"]
            explanation = None
            if z["rows"] / z["seconds"] < published["zscore_rows_per_s"]:
                print("Z-scores slower than published: explaining the plan …", flush=True)
                explanation = explain_zscores(url, z, published)

        copy_rate = args.rows / ceiling
        ingest_rate = large_run["rows"] / large_run["seconds"]
        z_rate = z["rows"] / z["seconds"]
        naive_rate = naive["rows"] / naive["seconds"]
        results = [
            ("plain COPY (ceiling)", args.rows, ceiling, copy_rate, "1.00", "–"),
            ("ingestion", large_run["rows"], large_run["seconds"], ingest_rate, f"{ingest_rate / copy_rate:.2f}", f"{large_run['peak_mb']:,.0f}"),
            ("  of which VACUUM (ANALYZE) of the loaded tables", "", large_run["settle_seconds"], "–", "–", "–"),
            (f"ingestion at N/10", small_run["rows"], small_run["seconds"], small_run["rows"] / small_run["seconds"], "–", f"{small_run['peak_mb']:,.0f}"),
        ]
        if xlsx_run:
            xlsx_rate = xlsx_run["rows"] / xlsx_run["seconds"]
            results.append((f"ingestion of the same rows as .xlsx ({xlsx_rate / (xlsx_csv_run['rows'] / xlsx_csv_run['seconds']):.2f}× as CSV)",
                            xlsx_run["rows"], xlsx_run["seconds"], xlsx_rate, f"{xlsx_rate / copy_rate:.2f}",
                            f"{xlsx_run['peak_mb']:,.0f}"))  # fmt: skip
        results += [
            ("z-scores (HAZ, WAZ, WHZ, BAZ)", z["rows"], z["seconds"], z_rate, "–", "–"),
            ("z-scores, naive SQL anchor", naive["rows"], naive["seconds"], naive_rate, "–", "–"),
        ]
        print()
        print(
            table(
                ["step", "rows", "seconds", "rows/s", "× plain COPY", "peak MB"],
                [(r[0], r[1], round(r[2], 2), int(r[3]) if r[3] != "–" else r[3], r[4], r[5]) for r in results],
                align="lrrrrr",
            )
        )
        print(f"\nrows read {large_run['rows']:,} = loaded {large_run['loaded']:,} + quarantined {large_run['quarantined']:,}")
        print(f"z-scores: {z['haz']:,} of {z['rows']:,} rows have a HAZ (the rest are ≥ 60 months or lack a height)")
        print(f"z-scores: the model is {z_rate / naive_rate:.2f}× the naive SQL anchor; the anchor disagrees with "
              f"the model on {naive['disagreeing']:,} of {naive['rows']:,} rows (beyond 1e-9 in any of the four)")
        print("Targets (issue 9): ingestion ≥ 0.7× plain COPY; z-scores ≥ 500,000 rows/s and ≥ 2× the naive SQL anchor; "
              "peak memory flat in N.")
        print(f"Published ({PUBLISHED_FIGURES.name}, {published['rows']:,} rows): z-scores {published['zscore_rows_per_s']:,} rows/s.")
        if explanation:
            print()
            print(explanation)
    finally:
        drop_bench_database(server, database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
