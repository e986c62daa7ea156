"""The soak: many nights on one warehouse, with what real months bring, and a per-night table.

    python -m tests.faults.soak [--nights 30] [--children 300] [--months 3] [--rebuild every|end]

One small simulated city is written once; night after night its history is revealed (more e-PPGBM
and BKKBN exports in the landing directory, the HTTP sources' clock moved on), and on given nights:

* a late correction: a puskesmas re-sends an export it sent nights ago, with a weight corrected;
* a source down for one night (services: published, marked stale), later for four nights in a row
  (public works: stale, then past KONVERGENSI_MAX_STALE_DAYS the gate stops publication);
* a missed week (seven nights do not run), then the catch-up night and a backfill of the missed run ids;
* a source changing a column name (an e-PPGBM export whose weight column is renamed), sent
  again correctly the next night.

After every night: rows in = rows loaded + rows quarantined for every source (and the raw tables
hold exactly what the loads recorded), and — every night with --rebuild every, else after the last —
the published marts equal a from-scratch rebuild (a new warehouse, one night over the same inputs);
for the type-2 marts.dim_household its current versions are compared, since its closed versions are
history only a warehouse that lived through the nights has (measured: 420 rows against the rebuild's
288 after 8 nights, every other mart equal).

Staleness is measured by the warehouse's clock (mart_source_freshness: now() − last load), so nights
a few minutes apart are not days apart: the soak sets KONVERGENSI_MAX_STALE_DAYS to 2.5 nights of
its own measured night length, which keeps the rule (stale ≤ 2.5 nights: published; longer: gate
fails) in night units.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.faults import harness

START = dt.date(2026, 11, 2)
END_MONTH = "2026-10"


@dataclass
class Night:
    number: int
    run_date: dt.date
    events: list[str] = field(default_factory=list)
    ran: bool = True
    exit_code: int | None = None
    files: str = ""
    eppgbm: str = ""
    bkkbn: str = ""
    pulled: str = ""
    accounting_ok: bool = True
    stale: str = ""
    published: str = ""
    rebuild_equal: str = ""
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """Which nights bring which event (scaled to the number of nights)."""

    nights: int

    def at(self, share: float) -> int:
        return max(2, min(self.nights, round(self.nights * share)))

    @property
    def corrections(self) -> set[int]:
        return {n for n in range(2, self.nights + 1) if n % 4 == 2}

    @property
    def services_down(self) -> set[int]:
        return {self.at(0.6) if self.nights < 8 else self.at(0.2)}

    @property
    def pupr_down(self) -> set[int]:
        """Four nights in a row (from 8 nights on): stale, then past the limit the gate stops publication."""
        if self.nights < 8:
            return set()
        first = max(self.at(0.3), max(self.services_down) + 1)
        return set(range(first, min(first + 4, self.nights)))

    @property
    def missed_week(self) -> set[int]:
        if self.nights < 20:
            return set()
        first = self.at(0.5)
        return set(range(first, first + 7))

    @property
    def renamed_column(self) -> int:
        return self.at(0.8)


def file_schedule(full: Path, nights: int) -> list[list[Path]]:
    """The exports that arrive on each night: the first month at once, the rest spread over the nights."""
    eppgbm = sorted(full.glob("eppgbm_*"), key=lambda p: (p.stem.rsplit("_", 1)[-1], p.name))
    bkkbn = sorted((full / "bkkbn").glob("*"))
    months = sorted({p.stem.rsplit("_", 1)[-1] for p in eppgbm})
    first = [p for p in eppgbm if p.stem.endswith(months[0])] + bkkbn[: max(1, len(bkkbn) // 2)]
    rest = [p for p in eppgbm if p not in first] + [p for p in bkkbn if p not in first]
    schedule: list[list[Path]] = [first]
    for n in range(1, nights):
        schedule.append(rest[len(rest) * (n - 1) // (nights - 1): len(rest) * n // (nights - 1)])
    return schedule


def _read_export(path: Path) -> tuple[bool, str, list[list[str]]]:
    """A CSV export as (had a BOM, delimiter, rows); exports use ';' or ','."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    delimiter = ";" if ";" in text.split("\n", 1)[0] else ","
    return raw.startswith(b"\xef\xbb\xbf"), delimiter, list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _write_export(path: Path, bom: bool, delimiter: str, rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))


def _weight_column(header: list[str]) -> int:
    from konvergensi.ingest.eppgbm_columns import HEADER_ALIASES, normalise_header

    names = {normalise_header(alias) for alias in HEADER_ALIASES["weight"]}
    return next(i for i, cell in enumerate(header) if normalise_header(cell) in names)


def correct_a_weight(path: Path) -> str:
    """Re-send `path` with the first measurement's weight 0.1 kg higher (a CSV export)."""
    bom, delimiter, rows = _read_export(path)
    column = _weight_column(rows[0])
    row = next(r for r in rows[1:] if len(r) > column and r[column].strip())
    old = row[column]
    comma = "," in old
    decimals = max(1, len(old.replace(",", ".").partition(".")[2]))
    row[column] = f"{float(old.replace(',', '.')) + 0.1:.{decimals}f}"
    if comma:
        row[column] = row[column].replace(".", ",")
    _write_export(path, bom, delimiter, rows)
    return f"{path.name}: {rows[0][column]} {old} → {row[column]}"


def rename_weight_column(path: Path) -> str:
    bom, delimiter, rows = _read_export(path)
    rows[0][_weight_column(rows[0])] = "Berat Timbang"
    _write_export(path, bom, delimiter, rows)
    return path.name


# A type-2 dimension keeps every version the warehouse saw night after night: a rebuild from scratch
# sees only today's. The soak compares its current versions (is_current) with the rebuild's.
TYPE_2_HISTORY = "marts.dim_household"


def current_versions(url: str) -> tuple[int, str]:
    """Count and checksum of the current versions of TYPE_2_HISTORY (run-dependent columns left out)."""
    from psycopg import sql as q

    from konvergensi.fingerprints import compared_columns

    with psycopg.connect(url) as connection:
        columns = compared_columns(connection, TYPE_2_HISTORY)
        row_text = q.SQL("row({})::text").format(q.SQL(", ").join(map(q.Identifier, columns)))
        schema, table = TYPE_2_HISTORY.split(".")
        found = connection.execute(q.SQL(
            "select count(*), coalesce(md5(string_agg(r, chr(10) order by r)), '') "
            "from (select {} as r from {} where is_current) as rows").format(row_text, q.Identifier(schema, table))
        ).fetchone()
    return int(found[0]), found[1]


def accounting(url: str, run_id: str, night: Night) -> None:
    """Per source: rows in = loaded + quarantined tonight, and the raw tables hold what the loads say."""
    with psycopg.connect(url) as connection:
        for source in ("eppgbm", "bkkbn"):
            files, loaded_files, rejected, rows_in, loaded, quarantined = connection.execute(
                """
                select count(*), count(*) filter (where status = 'loaded'), count(*) filter (where status = 'rejected'),
                       coalesce(sum(rows_read) filter (where status = 'loaded'), 0),
                       coalesce(sum(rows_loaded) filter (where status = 'loaded'), 0),
                       coalesce(sum(rows_quarantined) filter (where status = 'loaded'), 0)
                from ops.file_loads where run_id = %s and source = %s and status <> 'skipped'
                """,
                (run_id, source),
            ).fetchone()
            text = f"{rows_in}={loaded}+{quarantined}" + (f" ({rejected} file rejected)" if rejected else "")
            setattr(night, source, text)
            if rows_in != loaded + quarantined:
                night.accounting_ok = False
                night.problems.append(f"{source}: {rows_in} in ≠ {loaded} loaded + {quarantined} quarantined")
        table_of = {"eppgbm": ("raw.eppgbm_measurements", "raw.eppgbm_quarantine"),
                    "bkkbn": ("raw.bkkbn_families", "raw.bkkbn_quarantine")}
        for source, (kept, quarantine) in table_of.items():
            wrong = connection.execute(
                f"""
                with current as (
                    select distinct on (file_name) file_name, file_checksum, status, rows_loaded, rows_quarantined
                    from ops.file_loads where source = %s and status in ('loaded') order by file_name, file_load_id desc)
                select c.file_name, c.rows_loaded, (select count(*) from {kept} k where k.source_file = c.file_name),
                       c.rows_quarantined, (select count(*) from {quarantine} q where q.source_file = c.file_name)
                from current c
                """,
                (source,),
            ).fetchall()
            for name, loaded, in_raw, quarantined, in_quarantine in wrong:
                if (loaded, quarantined) != (in_raw, in_quarantine):
                    night.accounting_ok = False
                    night.problems.append(f"{name}: load says {loaded}+{quarantined}, raw holds {in_raw}+{in_quarantine}")
        pulled = connection.execute(
            """
            select source, status, records_read, records_loaded, records_quarantined from ops.source_extracts
            where run_id = %s and status <> 'running' order by extract_id
            """,
            (run_id,),
        ).fetchall()
        said, read_total, loaded_total, quarantined_total = [], 0, 0, 0
        for source, status, read, loaded, quarantined in pulled:
            if status == "loaded":
                read_total, loaded_total, quarantined_total = read_total + read, loaded_total + loaded, quarantined_total + quarantined
                if read != loaded + quarantined:
                    night.accounting_ok = False
                    night.problems.append(f"{source}: {read} in ≠ {loaded} + {quarantined}")
            elif f"{source} {status}" not in said:
                said.append(f"{source} {status}")
        night.pulled = f"{read_total}={loaded_total}+{quarantined_total}" + (f" ({', '.join(said)})" if said else "")
        schema = "marts" if night.published == "yes" else "marts_audit"
        exists = connection.execute("select to_regclass(%s)", (f"{schema}.mart_source_freshness",)).fetchone()[0]
        stale = connection.execute(
            f"select coalesce(string_agg(source, ', ' order by source), '') from {schema}.mart_source_freshness where is_stale"
        ).fetchone() if exists else None
        night.stale = stale[0] if stale else ""


class Soak:
    def __init__(self, server_url: str, root: Path, nights: int, children: int, months: int, rebuild: str) -> None:
        self.server_url = server_url
        self.root = root
        self.plan = Plan(nights)
        self.children, self.months, self.rebuild = children, months, rebuild
        self.results: list[Night] = []
        self.night_seconds: list[float] = []

    def env_extra(self) -> dict[str, str]:
        typical = sum(self.night_seconds) / len(self.night_seconds) if self.night_seconds else 180.0
        return {"KONVERGENSI_MAX_STALE_DAYS": f"{2.5 * typical / 86400:.6f}"}

    def run(self, say=print) -> list[Night]:
        from konvergensi_simulator import write_city_sources
        from konvergensi_simulator.server import SourceServer

        from konvergensi.fingerprints import differences, fingerprints
        from tests.conftest import _scratch_database

        full, landing, store = self.root / "all", self.root / "landing", self.root / "store"
        for directory in (full, landing):
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
        (landing / "bkkbn").mkdir()
        nights = self.plan.nights
        end = dt.datetime(2026, 11, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
        with _scratch_database(self.server_url) as dtsen_url, _scratch_database(self.server_url) as url:
            write_city_sources(full, store, dtsen_url, seed=5, children=self.children, months=self.months,
                               end_month=END_MONTH, as_of=end.isoformat(), progress=False)
            schedule = file_schedule(full, nights)
            span = dt.timedelta(days=30 * (self.months - 1))
            with SourceServer(store, token=harness.TOKEN, seed=3) as server:
                city = harness.City(self.root, landing, store, dtsen_url, server.services_url, server.pupr_url)
                pending_rename: Path | None = None
                missed: list[Night] = []
                for number in range(1, nights + 1):
                    night = Night(number, START + dt.timedelta(days=number - 1))
                    as_of = end - span + span * number / nights
                    server.set_as_of(as_of)
                    for path in schedule[number - 1]:
                        target = landing / path.relative_to(full)
                        shutil.copy2(path, target)
                    if pending_rename is not None:
                        shutil.copy2(full / pending_rename.name, pending_rename)
                        night.events.append(f"{pending_rename.name} re-sent with its column back")
                        pending_rename = None
                    if number in self.plan.corrections:
                        old = sorted(p for p in landing.glob("eppgbm_*.csv") if p not in
                                     {landing / q.name for q in schedule[number - 1]})
                        if old:
                            night.events.append("late correction " + correct_a_weight(old[number % len(old)]))
                    if number == self.plan.renamed_column:
                        tonight = [landing / p.name for p in schedule[number - 1] if p.name.startswith("eppgbm_")
                                   and p.suffix == ".csv"]
                        csvs = tonight or sorted(landing.glob("eppgbm_*.csv"))
                        if csvs:
                            pending_rename = csvs[0]
                            night.events.append(f"weight column renamed to 'Berat Timbang' in {rename_weight_column(pending_rename)}")
                    down = [system for system, days in (("services", self.plan.services_down),
                                                        ("pupr", self.plan.pupr_down)) if number in days]
                    server.set_down(down)
                    if down:
                        night.events.append(f"{' and '.join(down)} down")
                    if number in self.plan.missed_week:
                        night.ran = False
                        night.events.append("missed (no night ran)")
                        missed.append(night)
                        self.results.append(night)
                        say(self.row(night))
                        continue
                    if missed:
                        night.events.append(f"catch-up after {len(missed)} missed nights, then their backfill")
                    self.one_night(city, url, night)
                    for skipped in missed:
                        code, output = harness.run_night(city, url, f"backfill__{skipped.run_date}", "backfill",
                                                         **self.env_extra())
                        if code != 0:
                            night.problems.append(f"backfill of {skipped.run_date} failed (exit {code})")
                        duplicated = harness.scalar(
                            url, "select count(*) from ops.file_loads where status = 'loaded' and run_id = %s",
                            (f"backfill__{skipped.run_date}",))
                        if duplicated:
                            night.problems.append(f"backfill of {skipped.run_date} loaded {duplicated} file(s) again")
                    missed.clear()
                    compare = self.rebuild == "every" or number == nights
                    if compare and not down and night.published.startswith("yes"):
                        with _scratch_database(self.server_url) as fresh:
                            code, output = harness.run_night(city, fresh, f"rebuild__{night.run_date}", "rebuild",
                                                             **self.env_extra())
                            if code != 0:
                                night.rebuild_equal = f"rebuild failed (exit {code})"
                            else:
                                schemas = ("marts", "restricted")
                                diff = differences(fingerprints(fresh, schemas), fingerprints(url, schemas))
                                diff = [line for line in diff if not line.startswith(f"{TYPE_2_HISTORY}:")
                                        or current_versions(fresh) != current_versions(url)]
                                night.rebuild_equal = "yes" if not diff else f"NO: {len(diff)} tables"
                                night.problems += diff
                    elif compare:
                        night.rebuild_equal = "n/a (source down / not published)"
                    night.problems += harness.consistency_problems(url) if night.published.startswith("yes") else []
                    self.results.append(night)
                    say(self.row(night))
        return self.results

    def one_night(self, city: harness.City, url: str, night: Night) -> None:
        run_id = f"soak__{night.run_date}"
        started = time.monotonic()
        code, output = harness.run_night(city, url, run_id, f"soak-{night.number}", **self.env_extra())
        night.seconds = time.monotonic() - started
        self.night_seconds.append(night.seconds)
        night.exit_code = code
        published = harness.scalar(url, "select count(*) from ops.publish_log where run_id = %s", (run_id,))
        night.published = "yes" if published else ("no: gate failed" if code == 3 else f"no: exit {code}")
        if code not in (0, 3):
            night.problems.append(output[-1500:])
        accounting(url, run_id, night)

    HEADER = ("night", "date", "eppgbm in=ld+q", "bkkbn in=ld+q", "pulled in=ld+q", "stale", "published",
              "= rebuild", "s", "events")

    def row(self, night: Night) -> str:
        cells = (str(night.number), f"{night.run_date:%m-%d}", night.eppgbm, night.bkkbn, night.pulled,
                 night.stale or "-", night.published if night.ran else "-", night.rebuild_equal or "-",
                 f"{night.seconds:.0f}" if night.ran else "-", "; ".join(night.events) or "-")
        widths = (5, 5, 16, 14, 26, 26, 16, 10, 4, 0)
        text = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths))
        if night.problems:
            text += "\n      PROBLEMS: " + " | ".join(night.problems)[:3000]
        return text

    def header(self) -> str:
        widths = (5, 5, 16, 14, 26, 26, 16, 10, 4, 0)
        return "  ".join(cell.ljust(width) for cell, width in zip(self.HEADER, widths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--children", type=int, default=harness.CHILDREN)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--rebuild", choices=("every", "end"), default="every")
    args = parser.parse_args(argv)
    server_url = os.environ["WAREHOUSE_URL"]
    from konvergensi.settings import data_dir

    root = data_dir() / "soak"
    soak = Soak(server_url, root, args.nights, args.children, args.months, args.rebuild)
    print(f"Soak: {args.nights} nights, {args.children} children, {args.months} months; rebuild compared "
          f"{'every night' if args.rebuild == 'every' else 'after the last night'}; logs in {root}", flush=True)
    print(soak.header(), flush=True)
    results = soak.run(say=lambda line: print(line, flush=True))
    bad = [n for n in results if n.problems or not n.accounting_ok]
    print(f"\n{len(results)} nights, {sum(n.ran for n in results)} ran; {len(bad)} with problems", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
