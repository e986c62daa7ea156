"""Month-by-month simulation and the public entry points.

``write_eppgbm_exports`` writes one file per puskesmas per month into a landing directory and
returns a ground-truth summary; ``write_bench_csv`` writes one large comma CSV for benchmarks.
Rows are written as they are generated: memory holds the population and, per file, only the
few rows that are emitted late (duplicates and second measurements that land at the file's end).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from konvergensi_simulator.anthropometry import MAX_AGE_DAYS, load_who_tables
from konvergensi_simulator.dirt import (
    DEFAULT_DIRT,
    DETAIL_KINDS,
    DIRT_KINDS,
    DirtInjector,
    DirtRates,
)
from konvergensi_simulator.eppgbm import CITY, HEADERS_2025, PuskesmasStyle, RowBuilder
from konvergensi_simulator.growth import KelurahanGrowth, kelurahan_growth
from konvergensi_simulator.measurement import Measurement, Measurer, MonthContext
from konvergensi_simulator.population import Child, Population
from konvergensi_simulator.reference import Puskesmas, Reference, load_reference
from konvergensi_simulator.seeding import HashDraw, stream, text_key
from konvergensi_simulator.writers import (
    DEFAULT_FORMAT_MIX,
    EXTENSIONS,
    FORMATS,
    CsvRowWriter,
    RowWriter,
    XlsxWorkerPool,
    open_writer,
)

DAYS_PER_MONTH = 365.25 / 12
FINE_SCALE_SHARE = 0.15  # posyandu whose scale reads to 0.01 kg instead of 0.1 kg
XLSX_HELPERS = 2  # helper processes running xlsxwriter beside the generating process
XLSX_HELPERS_FROM_CHILD_MONTHS = 30_000  # smaller runs write xlsx in-process (starting helpers costs ~1 s)


def month_sequence(end_month: str, months: int) -> list[tuple[int, int]]:
    """``months`` calendar months ending with ``end_month`` (``YYYY-MM``), oldest first."""
    try:
        year, month = (int(part) for part in end_month.split("-"))
    except ValueError as error:
        raise ValueError(f"end month must look like 2026-10, got {end_month!r}") from error
    if not 1 <= month <= 12 or months < 1:
        raise ValueError(f"bad month range: end {end_month!r}, {months} months")
    last = year * 12 + month - 1
    return [(m // 12, m % 12 + 1) for m in range(last - months + 1, last + 1)]


def assign_formats(puskesmas: tuple[Puskesmas, ...], mix: Mapping[str, float], seed: int) -> dict[str, str]:
    """Give each puskesmas its own tool: quotas by largest remainder, dealt in seeded random order.

    Every format with a positive weight gets at least one puskesmas when there are enough of them,
    so a default run always contains all four formats.
    """
    unknown = set(mix) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown formats {sorted(unknown)}; expected some of {FORMATS}")
    weights = {f: float(w) for f, w in mix.items() if w > 0}
    if not weights:
        raise ValueError("format mix has no positive weight")
    n = len(puskesmas)
    total = sum(weights.values())
    exact = {f: n * w / total for f, w in weights.items()}
    quota = {f: int(x) for f, x in exact.items()}
    for f in sorted(weights, key=lambda f: (-(exact[f] - quota[f]), FORMATS.index(f)))[: n - sum(quota.values())]:
        quota[f] += 1
    if n >= len(weights):
        for f in weights:
            if quota[f] == 0:
                donor = max(quota, key=lambda g: (quota[g], -FORMATS.index(g)))
                quota[donor] -= 1
                quota[f] = 1
    slots = [f for f in FORMATS if f in quota for _ in range(quota[f])]
    stream(seed, "formats").shuffle(slots)
    return {p.code: fmt for p, fmt in zip(puskesmas, slots)}


@dataclass
class FileStats:
    """What went into one file; ``dirt`` counts rows showing each kind (duplicates included)."""

    puskesmas: str
    month: str
    format: str
    rows: int = 0
    measurements: int = 0
    children: int = 0
    lying_rows: int = 0
    alias_eligible_rows: int = 0
    dirt: Counter = field(default_factory=Counter)
    row_children: list[Child] | None = None  # the child behind each written row, when the truth wants it

    def emit(
        self, writer: RowWriter, row: list[object], kinds: list[str], lying: bool, alias_eligible: bool,
        child: Child | None = None,
    ) -> None:
        writer.write_row(row)
        if self.row_children is not None:
            self.row_children.append(child)  # type: ignore[arg-type]
        self.rows += 1
        self.lying_rows += lying
        self.alias_eligible_rows += alias_eligible
        self.dirt.update(kinds)


class Simulation:
    """Population, growth and dirt for one run.

    Call ``begin_month`` once per month and then ``month_rows`` for every puskesmas, in order:
    measuring advances each child's weighing history (``Naik Berat Badan``). Each purpose draws
    from its own random stream, so the dirt settings never change a child's clean values.
    """

    def __init__(self, reference: Reference, *, seed: int, children: int, dirt: DirtRates) -> None:
        if children < 1:
            raise ValueError("children must be at least 1")
        self.reference = reference
        self.seed = seed
        self.target_children = children
        self.tables = load_who_tables()
        self.kelurahan = reference.kelurahan_by_code()
        self.growth = kelurahan_growth([k.code for k in reference.kelurahan], stream(seed, "kelurahan"))
        self.population = Population(
            reference, self.growth, self.tables, seed, stream(seed, "population"), stream(seed, "growth"),
        )
        self._measure_rng = stream(seed, "measurement")
        self.service_rng = stream(seed, "services")
        self._dirt_rng = stream(seed, "dirt")
        self.measurer = Measurer(self.tables, self._measure_rng)
        self.injector = DirtInjector(dirt, self._dirt_rng, reference.kelurahan)
        self.styles = {p.code: PuskesmasStyle.from_key(text_key(seed, p.code)) for p in reference.puskesmas}
        self._posyandu_day: dict[str, int] = {}
        self._weight_step: dict[str, float] = {}
        for p in reference.puskesmas:
            for unit in p.posyandu:
                draw = HashDraw(text_key(seed, unit.code))
                self._posyandu_day[unit.code] = 4 + draw.below(21)
                self._weight_step[unit.code] = 0.01 if draw.unit() < FINE_SCALE_SHARE else 0.1
        self.births = 0
        self.children_measured = 0
        # file name -> the child behind each data row, in row order (filled by run_eppgbm_exports)
        self.rows_by_file: dict[str, list[Child]] = {}
        self.prevalence: dict[str, dict[str, dict[str, int]]] = {}
        self._month_index = -1
        self._started = False

    def begin_month(self, year: int, month: int) -> MonthContext:
        self._month_index += 1
        context = MonthContext.of(self._month_index, year, month)
        population = self.population
        if not self._started:
            self._started = True
            for child in population.populate(self.target_children, context.first_day):
                self.measurer.prime_history(child, population.growth_of(child.family.kelurahan.code), context)
        else:
            population.drop_aged_out(context.first_day)
            population.step_growth()
        expected = self.target_children * context.days / (MAX_AGE_DAYS + 1)
        self.births += len(population.add_births(context.first_day, context.first_day + context.days, expected))
        self.prevalence[f"{year:04d}-{month:02d}"] = {}
        return context

    def month_rows(
        self, puskesmas: Puskesmas, context: MonthContext, stats: FileStats, writer: RowWriter, builder: RowBuilder,
        comma_file: bool, row_limit: int | None = None,
    ) -> None:
        """Measure the puskesmas' children for the month and write their rows (and the dirt) to ``writer``."""
        measurer = self.measurer
        injector = self.injector
        prevalence = self.prevalence[f"{context.year:04d}-{context.month:02d}"]
        late: list[tuple[list[object], list[str], bool, bool, Child]] = []
        for unit in puskesmas.posyandu:
            posyandu_day = self._posyandu_day[unit.code]
            step = self._weight_step[unit.code]
            for child in self.population.by_posyandu[unit.code]:
                if row_limit is not None and stats.rows >= row_limit:
                    return
                day = measurer.visit_day(child, context, posyandu_day)
                if day is None:
                    continue
                kelurahan = child.family.kelurahan
                growth = self.population.growth_of(kelurahan.code)
                first = measurer.measure(child, growth, day, step)
                first.weight_gain = measurer.weight_gain(child, context, first)
                if not child.measured_in_run:
                    child.measured_in_run = True
                    self.children_measured += 1
                stats.children += 1
                alias_eligible = bool(kelurahan.aliases)
                row, kinds, lying = self._dirty_row(builder, first, comma_file)
                stats.measurements += 1
                stats.emit(writer, row, kinds, lying, alias_eligible, child)
                if injector.wants_duplicate():
                    copy = (list(row), [*kinds, "duplicate_row"], lying, alias_eligible, child)
                    if self._dirt_rng.random() < 0.5:
                        stats.emit(writer, *copy)
                    else:
                        late.append(copy)
                latest = first
                if injector.wants_double_measurement():
                    second = self._second_measurement(child, growth, context, first, step)
                    if second is not None:
                        row2, kinds2, lying2 = self._dirty_row(builder, second, comma_file, self._dirt_rng)
                        stats.measurements += 1
                        late.append((row2, [*kinds2, "double_measurement"], lying2, alias_eligible, child))
                        if second.day > first.day:
                            latest = second
                tally = prevalence.setdefault(kelurahan.code, {"measured": 0, "stunted": 0})
                tally["measured"] += 1
                tally["stunted"] += latest.haz < -2.0
        for row, kinds, lying, alias_eligible, child in late:
            if row_limit is not None and stats.rows >= row_limit:
                return
            stats.emit(writer, row, kinds, lying, alias_eligible, child)

    def _dirty_row(
        self, builder: RowBuilder, m: Measurement, comma_file: bool, rng: random.Random | None = None,
    ) -> tuple[list[object], list[str], bool]:
        row = builder.build(m, rng)
        lying = not m.standing
        kinds = self.injector.apply(
            row, infant=m.age_days < 183, kelurahan=m.child.family.kelurahan, weight_exact_kg=m.weight_exact_kg,
            height_cm=m.height_cm, comma_file=comma_file,
        )
        return row, kinds, lying

    def _second_measurement(
        self, child: Child, growth: KelurahanGrowth, context: MonthContext, first: Measurement, step: float,
    ) -> Measurement | None:
        """The same child measured again on another day of the month (e.g. at a sweeping visit)."""
        rng = self._dirt_rng
        candidates = [
            d for d in range(context.first_day, context.first_day + context.days)
            if d != first.day and 7 <= d - child.birth <= MAX_AGE_DAYS
        ]
        if not candidates:
            return None
        day = rng.choice(candidates)
        second = self.measurer.measure(child, growth, day, step, rng=rng)
        second.weight_gain = first.weight_gain
        return second

    def kelurahan_summary(self) -> dict[str, dict[str, object]]:
        shares = self.population.kelurahan_weights()
        return {
            code: {
                "name": self.kelurahan[code].name,
                "target_stunting_pct": round(100 * g.target_stunting, 2),
                "mean_haz": round(g.mean_haz, 3),
                "population_share": round(shares.get(code, 0.0), 4),
            }
            for code, g in self.growth.items()
        }


def _progress(enabled: bool, message: str) -> None:
    if enabled:
        print(message, file=sys.stderr, flush=True)


def write_eppgbm_exports(
    out_dir: str | Path,
    *,
    seed: int = 42,
    children: int = 23000,
    months: int = 12,
    end_month: str = "2026-10",
    dirt: DirtRates = DEFAULT_DIRT,
    dirt_scale: float = 1.0,
    facilities_csv: str | Path | None = None,
    formats: Mapping[str, float] | None = None,
    progress: bool = True,
) -> dict:
    """Write e-PPGBM exports ``eppgbm_<puskesmas slug>_<YYYY-MM>.<ext>`` into ``out_dir``.

    Returns the ground-truth summary (rows and dirt per file, population counts, true prevalence).
    """
    truth, _ = run_eppgbm_exports(
        out_dir, seed=seed, children=children, months=months, end_month=end_month, dirt=dirt,
        dirt_scale=dirt_scale, facilities_csv=facilities_csv, formats=formats, progress=progress,
    )
    return truth


def run_eppgbm_exports(
    out_dir: str | Path,
    *,
    seed: int = 42,
    children: int = 23000,
    months: int = 12,
    end_month: str = "2026-10",
    dirt: DirtRates = DEFAULT_DIRT,
    dirt_scale: float = 1.0,
    facilities_csv: str | Path | None = None,
    formats: Mapping[str, float] | None = None,
    progress: bool = True,
) -> tuple[dict, Simulation]:
    """As :func:`write_eppgbm_exports`, also returning the finished simulation (for the other sources)."""
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reference = load_reference(facilities_csv)
    rates = dirt.scaled(dirt_scale)
    calendar_months = month_sequence(end_month, months)
    format_of = assign_formats(reference.puskesmas, formats or DEFAULT_FORMAT_MIX, seed)
    sim = Simulation(reference, seed=seed, children=children, dirt=rates)
    # HTML exports alternate between <th> and <td> header cells, so both variants occur.
    html_codes = [p.code for p in reference.puskesmas if format_of[p.code] == "html_xls"]
    header_th = {code: i % 2 == 0 for i, code in enumerate(html_codes)}

    files: dict[str, dict] = {}
    use_helpers = "xlsx" in format_of.values() and children * months >= XLSX_HELPERS_FROM_CHILD_MONTHS
    pool = XlsxWorkerPool.start(XLSX_HELPERS) if use_helpers else None
    try:
        for year, month in calendar_months:
            context = sim.begin_month(year, month)
            month_rows = 0
            for puskesmas in reference.puskesmas:
                fmt = format_of[puskesmas.code]
                style = sim.styles[puskesmas.code]
                name = f"eppgbm_{puskesmas.slug}_{year:04d}-{month:02d}.{EXTENSIONS[fmt]}"
                builder = RowBuilder(puskesmas, style, context, sim.service_rng)
                writer = open_writer(fmt, out / name, builder.headers, header_th.get(puskesmas.code, True), pool)
                stats = FileStats(puskesmas.name, f"{year:04d}-{month:02d}", fmt, row_children=[])
                sim.month_rows(puskesmas, context, stats, writer, builder, comma_file=fmt != "csv_semicolon")
                writer.close()
                files[name] = _file_summary(stats)
                sim.rows_by_file[name] = stats.row_children or []
                month_rows += stats.rows
            _progress(
                progress,
                f"{year:04d}-{month:02d}: {len(reference.puskesmas)} files, {month_rows:,} rows "
                f"({len(sim.population):,} children, {time.perf_counter() - started:.1f}s)",
            )
        if pool is not None:
            pool.finish()
            pool = None
    finally:
        if pool is not None:
            pool.abandon()
    truth = _truth(sim, files, rates, dirt_scale, calendar_months, format_of, time.perf_counter() - started)
    names = {p.code: p.name for p in reference.puskesmas}
    truth["html_header_cells"] = {names[code]: "th" if th else "td" for code, th in header_th.items()}
    return truth, sim


def _file_summary(stats: FileStats) -> dict:
    eligible = {kind: stats.rows for kind in DIRT_KINDS}
    eligible["telentang"] = stats.lying_rows
    eligible["kelurahan_alias"] = stats.alias_eligible_rows
    eligible["decimal_comma"] = 0 if stats.format == "csv_semicolon" else stats.rows
    return {
        "puskesmas": stats.puskesmas,
        "month": stats.month,
        "format": stats.format,
        "decimal_separator": "," if stats.format == "csv_semicolon" else ".",
        "rows": stats.rows,
        "measurements": stats.measurements,
        "children": stats.children,
        "dirt": {kind: stats.dirt.get(kind, 0) for kind in DIRT_KINDS + DETAIL_KINDS},
        "dirt_eligible_rows": eligible,
    }


def _truth(
    sim: Simulation, files: dict[str, dict], rates: DirtRates, dirt_scale: float,
    calendar_months: list[tuple[int, int]], format_of: dict[str, str], seconds: float,
) -> dict:
    totals: Counter = Counter()
    eligible: Counter = Counter()
    for summary in files.values():
        totals.update(summary["dirt"])
        eligible.update(summary["dirt_eligible_rows"])
    rows = sum(s["rows"] for s in files.values())
    return {
        "generator": "konvergensi_simulator.eppgbm",
        "seed": sim.seed,
        "months": [f"{y:04d}-{m:02d}" for y, m in calendar_months],
        "children": sim.target_children,
        "children_simulated": sim.population.created,
        "children_measured": sim.children_measured,
        "births": sim.births,
        "aged_out": sim.population.aged_out,
        "rows": rows,
        "measurements": sum(s["measurements"] for s in files.values()),
        "dirt_scale": dirt_scale,
        "dirt_rates": asdict(rates),
        "dirt_totals": {kind: totals.get(kind, 0) for kind in DIRT_KINDS + DETAIL_KINDS},
        "dirt_eligible_rows": {kind: eligible.get(kind, 0) for kind in DIRT_KINDS},
        "formats": {p.name: format_of[p.code] for p in sim.reference.puskesmas},
        "files": files,
        "kelurahan": sim.kelurahan_summary(),
        "prevalence": sim.prevalence,
        "seconds": round(seconds, 2),
    }


def write_truth(truth: dict, path: str | Path, landing_dir: str | Path) -> None:
    """Write the summary as JSON, refusing any place inside the landing directory."""
    target = Path(path).resolve()
    landing = Path(landing_dir).resolve()
    if target == landing or landing in target.parents:
        raise ValueError(f"truth file {target} must not be inside the landing directory {landing}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(truth, indent=1, sort_keys=False) + "\n", encoding="utf-8")


# write_bench_csv sizes its population so that about this share of the children is weighed each month
BENCH_MONTHLY_WEIGHED_SHARE = 0.8


class _BothWriters:
    """The same rows to two writers (the bench's CSV and its .xlsx of the same rows)."""

    def __init__(self, *writers: RowWriter) -> None:
        self._writers = writers

    def write_row(self, row: list[object]) -> None:
        for writer in self._writers:
            writer.write_row(row)

    def close(self) -> None:
        for writer in self._writers:
            writer.close()


def write_bench_csv(path: str | Path, rows: int, seed: int = 42, *, progress: bool = False, months: int = 12,
                    city: str = CITY, xlsx_path: str | Path | None = None) -> dict:
    """Write exactly ``rows`` data rows in the 2025 column layout to one comma CSV, streaming.

    Values are realistic (same model as the exports) with half the default dirt; the population is
    sized so that about ``months`` months fill the file, capped so that memory stays modest. ``city``
    is the export's Kab/Kota cell (the province bench writes one file per kabupaten or kota). With
    ``xlsx_path``, the same rows also go to an .xlsx workbook, with typed cells as the exports have.
    """
    if rows < 0:
        raise ValueError("rows must be >= 0")
    if months < 1:
        raise ValueError("months must be >= 1")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    reference = load_reference()
    children = min(max(math.ceil(rows / months / BENCH_MONTHLY_WEIGHED_SHARE), 500), 400_000)
    sim = Simulation(reference, seed=seed, children=children, dirt=DirtRates().scaled(0.5))
    writer: RowWriter = CsvRowWriter(target, HEADERS_2025, semicolon=False)
    pool = None
    if xlsx_path is not None:
        Path(xlsx_path).parent.mkdir(parents=True, exist_ok=True)
        pool = XlsxWorkerPool.start(1)  # xlsxwriter in a helper process, beside the generator
        # ZIP64: a million rows are more than 2 GB of sheet XML
        writer = _BothWriters(writer, open_writer("xlsx", Path(xlsx_path), HEADERS_2025, xlsx_pool=pool, zip64=True))
    stats = FileStats("all", "bench", "csv_comma")
    finished = False
    try:
        for year, month in _months_from(2025, 1):
            if stats.rows >= rows:
                break
            context = sim.begin_month(year, month)
            for puskesmas in reference.puskesmas:
                builder = RowBuilder(
                    puskesmas, sim.styles[puskesmas.code], context, sim.service_rng, force_2025_layout=True, city=city,
                )
                sim.month_rows(puskesmas, context, stats, writer, builder, comma_file=True, row_limit=rows)
            _progress(progress, f"bench {year:04d}-{month:02d}: {stats.rows:,} rows")
        writer.close()
        if pool is not None:
            pool.finish()
        finished = True
    finally:
        if not finished:
            if pool is not None:
                pool.abandon()
            with contextlib.suppress(Exception):
                writer.close()
    return {"path": str(target), "rows": stats.rows, "children": children, "dirt": dict(stats.dirt)}


def _months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    index = year * 12 + month - 1
    while True:
        yield index // 12, index % 12 + 1
        index += 1
