"""One simulated city: e-PPGBM exports plus every convergence source, from one population.

:func:`write_city_sources` runs the e-PPGBM simulation (same files, byte for byte, as
``write_eppgbm_exports`` with the same arguments), then derives households from its population
and writes the services and PUPR store, the BKKBN CSVs and the DTSEN database. The returned truth
holds per-source counts, dirt counts and the true links between sources per family.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from konvergensi_simulator.bkkbn import write_bkkbn_files
from konvergensi_simulator.dirt import DEFAULT_DIRT, DirtRates
from konvergensi_simulator.dtsen import write_dtsen
from konvergensi_simulator.exports import month_sequence, run_eppgbm_exports
from konvergensi_simulator.households import WIB, build_households, kelurahan_convergence
from konvergensi_simulator.linkage_truth import LinkageTruthWriter, refuse_inside
from konvergensi_simulator.pupr import generate_pupr
from konvergensi_simulator.services import ServiceDirt, ServiceGenerator
from konvergensi_simulator.store import StoreWriter, parse_instant


def window_of(months: list[tuple[int, int]]) -> tuple[int, int]:
    """First and last day (ordinals) of a list of calendar months."""
    year, month = months[-1]
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(*months[0], 1).toordinal(), following.toordinal() - 1


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def write_city_sources(
    landing: str | Path,
    store: str | Path,
    dtsen_url: str | None,
    *,
    seed: int = 42,
    children: int = 23000,
    months: int = 12,
    end_month: str = "2026-10",
    dirt: DirtRates = DEFAULT_DIRT,
    dirt_scale: float = 1.0,
    as_of: str | dt.datetime | None = None,
    facilities_csv: str | Path | None = None,
    formats: Mapping[str, float] | None = None,
    progress: bool = True,
    linkage_truth: str | Path | None = None,
) -> dict:
    """Write every source of one city; ``as_of`` (default: the end of ``end_month``, WIB) is the
    instant the DTSEN database shows. ``dtsen_url=None`` skips the database. ``linkage_truth``, a
    directory outside the landing directory, receives the true household, child and pregnancy of
    every record (see :mod:`konvergensi_simulator.linkage_truth`)."""
    started = time.perf_counter()
    landing, store = Path(landing), Path(store)
    if store.resolve() == landing.resolve() or landing.resolve() in store.resolve().parents:
        raise ValueError(f"store {store} must not be inside the landing directory {landing}")
    if linkage_truth is not None:
        refuse_inside(Path(linkage_truth), landing)
    calendar_months = month_sequence(end_month, months)
    window = window_of(calendar_months)
    if as_of is None:
        instant = dt.datetime.combine(dt.date.fromordinal(window[1]), dt.time(23, 59, 59), WIB)
    else:
        instant = parse_instant(as_of) if isinstance(as_of, str) else as_of
    eppgbm, sim = run_eppgbm_exports(
        landing, seed=seed, children=children, months=months, end_month=end_month, dirt=dirt,
        dirt_scale=dirt_scale, facilities_csv=facilities_csv, formats=formats, progress=progress,
    )
    households = build_households(sim.population, sim.reference, seed, window)
    _say(progress, f"households: {len(households):,} ({time.perf_counter() - started:.1f}s)")
    coverage = kelurahan_convergence(sim.reference, seed)
    truth_writer = LinkageTruthWriter(linkage_truth, landing, households) if linkage_truth is not None else None
    with StoreWriter(store) as writer:
        services = ServiceGenerator(
            sim.population, households, coverage, seed, window, calendar_months, ServiceDirt().scaled(dirt_scale),
            writer.writer("layanan"), writer.writer("ibu-hamil"), truth_writer.service if truth_writer else None,
        )
        try:
            services.run()
        except BaseException:
            if truth_writer:
                truth_writer.abandon()
            raise
        _say(progress, f"services: {services.counts['services']:,} layanan, {services.counts['pregnancies']:,} "
                       f"pregnancies ({time.perf_counter() - started:.1f}s)")
        pupr = generate_pupr(households, seed, window, writer.writer("survei_rumah_tangga"), writer.writer("proyek"))
        lines = dict(writer.lines)
    pregnant_on: dict[str, list[tuple[int, int]]] = {}
    for p in services.pregnancies:
        end = p.outcome_day if p.outcome_day is not None else window[1]
        pregnant_on.setdefault(p.household.mother_nik, []).append((p.hpht, end))
    bkkbn_rows: dict[str, list] = {}
    bkkbn_files, bkkbn = write_bkkbn_files(
        landing, households, seed, calendar_months, pregnant_on, dirt_scale, bkkbn_rows if truth_writer else None,
    )
    _say(progress, f"bkkbn: {len(bkkbn_files)} files, {bkkbn['rows']:,} rows ({time.perf_counter() - started:.1f}s)")
    dtsen: Counter = Counter()
    if dtsen_url:
        dtsen = write_dtsen(dtsen_url, households, instant, calendar_months)
        _say(progress, f"dtsen: {dtsen['rumah_tangga']:,} households, {dtsen['anggota_rumah_tangga']:,} members, "
                       f"{dtsen['penerimaan_program']:,} programme rows ({time.perf_counter() - started:.1f}s)")
    if truth_writer:
        truth_writer.finish(instant, sim.rows_by_file, bkkbn_rows, ((p.id, p.household) for p in services.pregnancies))
        _say(progress, f"linkage truth: {linkage_truth} ({time.perf_counter() - started:.1f}s)")
    truth = {
        "generator": "konvergensi_simulator.city",
        "seed": seed,
        "as_of": instant.isoformat(),
        "window": [dt.date.fromordinal(window[0]).isoformat(), dt.date.fromordinal(window[1]).isoformat()],
        "eppgbm": eppgbm,
        "store_lines": lines,
        "services": dict(services.counts),
        "services_dirt": dict(services.dirt_counts),
        "pupr": dict(pupr),
        "bkkbn": {**dict(bkkbn), "file_names": bkkbn_files},
        "dtsen": dict(dtsen),
        "dtsen_dirt": {
            "kk_changed": sum(1 for h in households if h.id_rt and h.dtsen_kk != h.family.kk),
            "child_nik_missing": sum(len(h.member_nik_missing) for h in households),
            "name_variants": sum(len(h.member_names) for h in households),
            "codes_out_of_domain": sum(len(h.bad_codes) for h in households),
        },
        "kelurahan_convergence": {code: round(level, 3) for code, level in coverage.items()},
        "families": [
            {
                "kelurahan": h.kelurahan.code, "mother_nik": h.mother_nik, "head_nik": h.head_nik,
                "kk": h.family.kk, "dtsen_kk": h.dtsen_kk, "id_rt": h.id_rt, "id_survei": h.survey_ids,
                "id_proyek": h.project_ids, "child_niks": [c.nik for c in h.children],
                "improved_water": h.improved_water, "proper_latrine": h.proper_latrine, "desil": h.desil,
            }
            for h in households
        ],
        "pregnancies": {p.id: p.household.mother_nik for p in services.pregnancies},
        "seconds": round(time.perf_counter() - started, 2),
    }
    return truth
