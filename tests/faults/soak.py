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
hold exactly what the loads recorded), and the household snapshot's current versions are exactly
tonight's households. Every night with --rebuild every, else after the last, the published marts
equal a from-scratch rebuild: a new warehouse, one night over the same inputs, given only the
snapshot's history (snap_households), which no input can give back. Without it, the scorecard
family differed (first met in the 5-night soak: 17 rows of fct_child_monthly had ANAK_06/07 'TD'
where the rebuild had 'Y' or 'T'), by design: a household's water and latrine at a past cut-off are
the state the warehouse knew then (docs/scorecard.md), and on night 1 it did not know them yet.

Staleness is measured by the warehouse's clock (mart_source_freshness: now() − last load), so nights
a few minutes apart are not days apart, and they are not all as long (95 to 480 s measured): a limit
of a fixed number of mean nights fell inside a night. The soak keeps the rule in nights instead: a
source down for up to STALE_NIGHTS_ALLOWED nights is published stale, from the next night on the gate
stops publication. It sets KONVERGENSI_MAX_STALE_DAYS per night from the time since the system was
last up: while the outage is within the allowance, that time plus an hour (more than the rest of the
night takes to reach the gate); from the first night past it, the time at that night's start, kept
for the rest of the outage (longer than the outage was at the last allowed night's gate, shorter than
it is at this night's).
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
STALE_NIGHTS_ALLOWED = 2
DEFAULT_MAX_STALE_DAYS = "3"  # the product's default (mart_source_freshness), for nights with every system up


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


# The one thing a warehouse has that its inputs do not give back: the snapshot's history (which
# version of a household was current when). The rebuild is seeded with it, so that the marts that read
# a household's state at a past cut-off (the scorecard's water and latrine, by design frozen at the
# state the warehouse knew then; docs/scorecard.md) can be compared too.
SNAPSHOT = "snapshots.snap_households"
SNAPSHOT_SOURCE = "intermediate.int_households_resolved"


def copy_snapshot_history(source_url: str, target_url: str) -> int:
    """Give the empty warehouse at target_url the snapshot table of the one at source_url; rows copied."""
    from psycopg import sql as q

    from konvergensi import roles

    roles.apply(target_url)  # schemas and roles, as the night would create them
    schema, table = SNAPSHOT.split(".")
    with psycopg.connect(source_url) as source, psycopg.connect(target_url) as target:
        columns = source.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute "
            "where attrelid = %s::regclass and attnum > 0 and not attisdropped order by attnum", (SNAPSHOT,)).fetchall()
        target.execute(q.SQL("create table {} ({})").format(
            q.Identifier(schema, table),
            q.SQL(", ").join(q.SQL("{} {}").format(q.Identifier(name), q.SQL(kind)) for name, kind in columns)))
        target.execute(q.SQL("alter table {} owner to {}").format(q.Identifier(schema, table), q.Identifier(roles.TRANSFORMER)))
        with source.cursor().copy(q.SQL("copy {} to stdout (format binary)").format(q.Identifier(schema, table))) as out, \
                target.cursor().copy(q.SQL("copy {} from stdin (format binary)").format(q.Identifier(schema, table))) as into:
            for data in out:
                into.write(data)
        return int(target.execute(q.SQL("select count(*) from {}").format(q.Identifier(schema, table))).fetchone()[0])


def snapshot_drift(url: str) -> list[str]:
    """The snapshot's current versions must be exactly tonight's int_households_resolved, row for row.

    A column the snapshot does not check for changes keeps its first value in the current version (the
    reason snap_households checks all columns): this finds that without a rebuild."""
    from psycopg import sql as q

    from konvergensi.fingerprints import compared_columns

    with psycopg.connect(url) as connection:
        columns = compared_columns(connection, SNAPSHOT_SOURCE)
        listed = q.SQL(", ").join(map(q.Identifier, columns))
        source, snapshot = (q.Identifier(*name.split(".")) for name in (SNAPSHOT_SOURCE, SNAPSHOT))
        only_source, only_snapshot = connection.execute(q.SQL(
            """
            select (select count(*) from (select {c} from {s} except select {c} from {n} where dbt_valid_to is null) as a),
                   (select count(*) from (select {c} from {n} where dbt_valid_to is null except select {c} from {s}) as b)
            """).format(c=listed, s=source, n=snapshot)).fetchone()
    if only_source or only_snapshot:
        return [f"{SNAPSHOT}: {only_snapshot} current versions are not in {SNAPSHOT_SOURCE}, "
                f"{only_source} of its rows have no current version"]
    return []


def row_differences(left_url: str, right_url: str, table: str, limit: int = 2) -> list[str]:
    """A few rows of `table` found only here and only in the rebuild, with the columns that tell them apart."""
    from psycopg import sql as q

    from konvergensi.fingerprints import compared_columns

    def rows(url: str) -> tuple[list[str], set[tuple]]:
        with psycopg.connect(url) as connection:
            columns = compared_columns(connection, table)
            schema, name = table.split(".")
            found = connection.execute(q.SQL("select {} from {}").format(
                q.SQL(", ").join(map(q.Identifier, columns)), q.Identifier(schema, name))).fetchall()
        return columns, set(found)

    columns, here = rows(left_url)
    _, rebuilt = rows(right_url)
    only_here, only_rebuilt = sorted(here - rebuilt, key=str), sorted(rebuilt - here, key=str)
    said = [f"{table}: {len(only_here)} rows only here, {len(only_rebuilt)} only in the rebuild"]
    for mine, theirs in zip(only_here[:limit], only_rebuilt[:limit]):
        cells = [f"{c}: {a!r} here, {b!r} rebuilt" for c, a, b in zip(columns, mine, theirs) if a != b]
        said.append(f"{table} e.g. " + "; ".join(cells[:8]))
    return said


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
        self.last_up: dict[str, float] = {}  # system → monotonic time at the end of the last night it was up
        self.down_streak: dict[str, int] = {}  # system → nights run in a row with it down, tonight included
        self.past_allowance: dict[str, float] = {}  # system → the limit (s) fixed at its first night past the allowance

    def env_extra(self, down: tuple[str, ...] = ()) -> dict[str, str]:
        """KONVERGENSI_MAX_STALE_DAYS for a night with `down` systems down (see the module docstring)."""
        limits = []
        for system in down:
            elapsed = time.monotonic() - self.last_up.get(system, time.monotonic())
            if self.down_streak[system] <= STALE_NIGHTS_ALLOWED:
                limits.append(elapsed + 3600)
            else:
                limits.append(self.past_allowance.setdefault(system, elapsed))
        return {"KONVERGENSI_MAX_STALE_DAYS": f"{min(limits) / 86400:.6f}" if limits else DEFAULT_MAX_STALE_DAYS}

    def count_outages(self, down: list[str]) -> None:
        for system in ("services", "pupr"):
            if system in down:
                self.down_streak[system] = self.down_streak.get(system, 0) + 1
            else:
                self.down_streak[system] = 0
                self.past_allowance.pop(system, None)

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
                pending_rename: tuple[Path, bytes] | None = None
                # Tonight's landed files that were rejected while an earlier version of them stays loaded:
                # the rebuild's inputs are the versions the warehouse accepted (path → content).
                accepted: dict[Path, bytes] = {}
                missed: list[Night] = []
                for number in range(1, nights + 1):
                    night = Night(number, START + dt.timedelta(days=number - 1))
                    as_of = end - span + span * number / nights
                    server.set_as_of(as_of)
                    for path in schedule[number - 1]:
                        target = landing / path.relative_to(full)
                        shutil.copy2(path, target)
                    if pending_rename is not None:
                        path, as_sent_before = pending_rename
                        path.write_bytes(as_sent_before)  # with any late correction it had, not full/'s copy
                        night.events.append(f"{path.name} re-sent with its column back")
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
                            pending_rename = (csvs[0], csvs[0].read_bytes())
                            if not tonight:  # an export loaded on an earlier night: that version stays loaded
                                accepted[csvs[0]] = pending_rename[1]
                            night.events.append(f"weight column renamed to 'Berat Timbang' in {rename_weight_column(csvs[0])}")
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
                    self.count_outages(down)
                    self.one_night(city, url, night, tuple(down))
                    for system in ("services", "pupr"):
                        if system not in down:
                            self.last_up[system] = time.monotonic()
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
                            copy_snapshot_history(url, fresh)
                            code, output = harness.run_night(city, fresh, f"rebuild__{night.run_date}", "rebuild",
                                                             landing=self.accepted_landing(landing, accepted),
                                                             **self.env_extra())
                            if code != 0:
                                night.rebuild_equal = f"rebuild failed (exit {code})"
                            else:
                                schemas = ("marts", "restricted")
                                diff = differences(fingerprints(fresh, schemas), fingerprints(url, schemas))
                                night.rebuild_equal = "yes" if not diff else f"NO: {len(diff)} tables"
                                for line in diff[:4]:
                                    table = line.split(":", 1)[0]
                                    if table.count(".") == 1 and " " not in table:
                                        night.problems += row_differences(url, fresh, table)
                                night.problems += diff
                    elif compare:
                        night.rebuild_equal = "n/a (source down / not published)"
                    accepted.clear()
                    night.problems += harness.consistency_problems(url) if night.published.startswith("yes") else []
                    night.problems += snapshot_drift(url) if night.exit_code in (0, 3) else []
                    self.results.append(night)
                    say(self.row(night))
        return self.results

    def accepted_landing(self, landing: Path, accepted: dict[Path, bytes]) -> Path:
        """The landing directory as the warehouse accepted it: `landing` itself, or a copy in which each
        rejected re-send is the version loaded before (a broken re-send of an old export leaves that
        version's rows in place, as it should; a rebuild from the broken file alone would lack them)."""
        if not accepted:
            return landing
        copy = self.root / "landing-accepted"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(landing, copy)
        for path, content in accepted.items():
            (copy / path.relative_to(landing)).write_bytes(content)
        return copy

    def one_night(self, city: harness.City, url: str, night: Night, down: tuple[str, ...]) -> None:
        run_id = f"soak__{night.run_date}"
        started = time.monotonic()
        code, output = harness.run_night(city, url, run_id, f"soak-{night.number}", **self.env_extra(down))
        night.seconds = time.monotonic() - started
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
