"""Maternal and child services (``layanan``) and pregnancies (``ibu-hamil``) of the simulated city.

Records are produced as *versions*: a correction, a voiding (``BATAL``) or a delivery re-sends a
record with the same id and a later ``updated_at``. Versions are written straight to the store as
they are made (see :mod:`konvergensi_simulator.store`); nothing large is kept in memory.

Coverage varies by kelurahan (:func:`households.kelurahan_convergence`) and a little by family, so
scorecard levels differ between kelurahan. Dirt: corrections, voided records, unknown codes and
impossible dates, each counted in the truth.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from konvergensi_simulator.households import Household, ordinal_to_iso
from konvergensi_simulator.population import Child, Population
from konvergensi_simulator.reference import Kelurahan
from konvergensi_simulator.seeding import stream

MAX_AGE_DAYS = 1826
PREGNANCY_GAP_DAYS = 60  # at least the 42 days of nifas between one pregnancy's end and the next HPHT
UNKNOWN_CODES = ("VIT_A", "ANC1", "IMUNISASI", "GIZI_KONSELING", "PMT")
SERVICE_DIRT_KINDS = ("correction", "voided", "unknown_code", "impossible_date")


@dataclass(frozen=True)
class ServiceDirt:
    """Shares of records showing each kind of dirt (multiplied by ``--dirt-scale``)."""

    correction: float = 0.02
    voided: float = 0.005
    unknown_code: float = 0.002
    impossible_date: float = 0.001

    def scaled(self, factor: float) -> ServiceDirt:
        return ServiceDirt(*(min(getattr(self, k) * factor, 1.0) for k in SERVICE_DIRT_KINDS))


@dataclass
class Pregnancy:
    id: str
    household: Household
    hpht: int
    registered: int
    lila: float
    kek: bool
    high_risk: bool
    factors: str | None
    outcome_day: int | None  # delivery or miscarriage day, None while ongoing at the window's end
    miscarried: bool = False


def _iso_day(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


def _kelurahan_text(kel: Kelurahan, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03 and kel.aliases:
        return rng.choice(kel.aliases)
    if roll < 0.2:
        return kel.name.upper()
    if roll < 0.23:
        return f"Kel. {kel.name}"
    return kel.name


class ServiceGenerator:
    """Writes ``layanan`` and ``ibu-hamil`` versions through two sinks (one JSON object per call)."""

    def __init__(
        self, population: Population, households: list[Household], coverage: dict[str, float], seed: int,
        window: tuple[int, int], months: list[tuple[int, int]], dirt: ServiceDirt,
        write_service: Callable[[dict], None], write_pregnancy: Callable[[dict], None],
        write_truth: Callable[[str, Household, str | None, str | None], None] | None = None,
    ) -> None:
        """``write_truth(service id, household, child NIK, pregnancy id)`` is told whose every service is."""
        self._population = population
        self._households = households
        self._coverage = coverage
        self._rng = stream(seed, "services/records")
        self._dirt_rng = stream(seed, "services/dirt")
        self._window = window
        self._months = months
        self._dirt = dirt
        self._write_service = write_service
        self._write_pregnancy = write_pregnancy
        self._write_truth = write_truth
        self._pregnancy_id: str | None = None  # the pregnancy whose maternal services are being written
        self._serial = 0
        self.counts: Counter = Counter()
        self.dirt_counts: Counter = Counter()
        self.pregnancies: list[Pregnancy] = []
        self._late: list[dict] = []

    # --- driving --------------------------------------------------------------------------------
    def run(self) -> None:
        rng = self._rng
        first_day, last_day = self._window
        for household in self._households:
            compliance = min(max(rng.gauss(0.0, 0.12) - 0.06 * household.deprivation, -0.35), 0.25)
            level = min(max(self._coverage[household.kelurahan.code] + compliance, 0.05), 0.99)
            for child in household.children:
                if child.birth <= last_day and last_day - child.birth <= MAX_AGE_DAYS + 400:
                    self._child_services(household, child, level)
                if first_day <= child.birth <= last_day:
                    self._pregnancy(household, level, child.birth - 280 + round(rng.gauss(0.0, 8.0)), child.birth)
        self._ongoing_pregnancies()
        for record in self._late:
            self._write_service(record)
        self._late.clear()

    def _ongoing_pregnancies(self) -> None:
        """Pregnancies still running at the window's end, and a few miscarriages, in random families."""
        rng = self._rng
        first_day, last_day = self._window
        births_per_day = len(self.pregnancies) / max(last_day - first_day + 1, 1)
        candidates = [
            h for h in self._households
            if (last_day - h.mother_birth.toordinal()) < 40 * 365 and last_day - h.family.last_birth > 540
        ]
        if not candidates:
            return
        # a woman carries one pregnancy at a time: a draw that would overlap one of hers is dropped
        carried: dict[str, list[tuple[int, int]]] = {}
        for p in self.pregnancies:
            carried.setdefault(p.household.mother_nik, []).append((p.hpht, p.outcome_day or last_day))

        def free(household: Household, start: int, end: int) -> bool:
            spans = carried.setdefault(household.mother_nik, [])
            if any(start <= e + PREGNANCY_GAP_DAYS and s <= end + PREGNANCY_GAP_DAYS for s, e in spans):
                return False
            spans.append((start, end))
            return True

        for _ in range(int(births_per_day * 250)):
            household = candidates[rng.randrange(len(candidates))]
            level = min(max(self._coverage[household.kelurahan.code] - 0.06 * household.deprivation, 0.05), 0.99)
            hpht = last_day - 20 - rng.randrange(245)
            if free(household, hpht, last_day):
                self._pregnancy(household, level, hpht, None)
        for _ in range(max(1, int(births_per_day * 20))):
            household = candidates[rng.randrange(len(candidates))]
            hpht = first_day - 60 + rng.randrange(max(last_day - first_day - 60, 1))
            outcome = min(hpht + 56 + rng.randrange(60), last_day)
            if free(household, hpht, outcome):
                self._pregnancy(household, 0.5, hpht, outcome, miscarried=True)

    # --- pregnancies ----------------------------------------------------------------------------
    def _pregnancy(
        self, household: Household, level: float, hpht: int, outcome: int | None, miscarried: bool = False,
    ) -> None:
        rng = self._rng
        last_day = self._window[1]
        registered = hpht + 42 + rng.randrange(56)
        if outcome is not None and registered >= outcome:
            registered = max(hpht + 30, outcome - 10)
        if registered > last_day:
            return
        age_years = (hpht - household.mother_birth.toordinal()) / 365.25
        lila = round(rng.gauss(26.2 - 0.7 * household.deprivation, 2.6), 1)
        kek = lila < 23.5
        factors = []
        if age_years < 20:
            factors.append("usia < 20 tahun")
        if age_years >= 35:
            factors.append("usia >= 35 tahun")
        if household.family.children_born >= 4:
            factors.append("paritas >= 4")
        if rng.random() < 0.07:
            factors.append(rng.choice(("hipertensi", "anemia", "riwayat SC", "preeklamsia")))
        pregnancy = Pregnancy(
            f"HML-{len(self.pregnancies) + 1:07d}", household, hpht, registered, lila, kek, bool(factors),
            "; ".join(factors) or None, outcome, miscarried,
        )
        self.pregnancies.append(pregnancy)
        record = self._pregnancy_record(pregnancy, "HAMIL", None)
        record["updated_at"] = ordinal_to_iso(registered + rng.randrange(8), 28800 + rng.randrange(36000))
        self._write_pregnancy(record)
        self.counts["pregnancy_versions"] += 1
        if outcome is not None and outcome <= last_day:
            status = "KEGUGURAN" if miscarried else "BERSALIN"
            done = self._pregnancy_record(pregnancy, status, None if miscarried else _iso_day(outcome))
            done["updated_at"] = ordinal_to_iso(outcome + 1 + rng.randrange(20), 28800 + rng.randrange(36000))
            self._write_pregnancy(done)
            self.counts["pregnancy_versions"] += 1
        self.counts["pregnancies"] += 1
        self.counts[f"pregnancies_{'KEGUGURAN' if miscarried else ('BERSALIN' if outcome else 'HAMIL')}"] += 1
        self._maternal_services(pregnancy, level)

    def _pregnancy_record(self, p: Pregnancy, status: str, delivered: str | None) -> dict:
        h = p.household
        rng = self._rng
        return {
            "id": p.id, "nik_ibu": h.mother_nik if rng.random() > 0.02 else None, "nama_ibu": h.mother_name,
            "tgl_lahir_ibu": h.mother_birth.isoformat(), "no_kk": h.family.kk if rng.random() > 0.15 else None,
            "alamat": h.address, "rt": f"{h.rt:03d}", "rw": f"{h.rw:03d}",
            "kelurahan": _kelurahan_text(h.kelurahan, rng), "hpht": _iso_day(p.hpht),
            "taksiran_persalinan": _iso_day(p.hpht + 280), "lila_cm": p.lila, "kek": p.kek,
            "risiko_tinggi": p.high_risk, "faktor_risiko": p.factors, "status_kehamilan": status,
            "tanggal_persalinan": delivered, "kode_faskes": h.family.posyandu.puskesmas_code,
        }

    def _maternal_services(self, p: Pregnancy, level: float) -> None:
        rng = self._rng
        last_day = self._window[1]
        h = p.household
        end = min(p.outcome_day if p.outcome_day is not None else last_day, last_day)
        self._pregnancy_id = p.id
        day = p.registered
        while day < end:
            if rng.random() < min(level + 0.15, 0.98):
                self._service("ANC", day, "IBU_HAMIL", h, None)
                if rng.random() < level + 0.1:
                    tablets = 30 if rng.random() < 0.8 else 10 * (1 + rng.randrange(3))
                    self._service("TTD", day, "IBU_HAMIL", h, None, tablets)
            day += 28 + rng.randrange(15)
        for month_start in range(p.registered, end, 30):
            if rng.random() < level * 0.75:
                self._service("KELAS_IBU_HAMIL", month_start + rng.randrange(25), "IBU_HAMIL", h, None)
            if p.kek or p.high_risk:
                if rng.random() < level:
                    self._service("KUNJUNGAN_RUMAH", month_start + rng.randrange(25), "IBU_HAMIL", h, None)
            if p.kek and rng.random() < level * 0.9:
                self._service("PMT_BUMIL_KEK", month_start + rng.randrange(25), "IBU_HAMIL", h, None)
        if h.members[1].insurance in (1, 2, 4) and rng.random() < 0.4:
            self._service("JKN", p.registered, "IBU_HAMIL", h, None)
        if p.outcome_day is not None and not p.miscarried:
            for low, high in ((0, 2), (3, 7), (8, 28), (29, 42)):
                if rng.random() < min(level + 0.1, 0.97):
                    self._service("KF", p.outcome_day + low + rng.randrange(high - low + 1), "IBU_NIFAS", h, None)

    # --- children -------------------------------------------------------------------------------
    def _child_services(self, h: Household, child: Child, level: float) -> None:
        rng = self._rng
        birth = child.birth
        growth = self._population.growth_of(h.kelurahan.code)
        # one-off events: dated wherever they fall, kept when on or before the window's end
        if rng.random() < level + 0.1:
            self._service("IMUNISASI_DASAR_LENGKAP", birth + 270 + rng.randrange(90), None, h, child)
        if rng.random() < 0.85 - 0.05 * max(h.deprivation, 0):
            self._service("AKTA_KELAHIRAN", birth + 7 + rng.randrange(110), None, h, child)
        if rng.random() < 0.75:
            self._service("JKN", birth + rng.randrange(60), None, h, child)
        if rng.random() < 0.25 + 0.5 * level:
            self._service("ASI_EKSKLUSIF", birth + 183 + rng.randrange(14), None, h, child)
        if rng.random() < level:
            self._service("MPASI", birth + 183 + rng.randrange(60), None, h, child)
        paud = rng.random() < 0.25 + 0.5 * level
        for year, month in self._months:
            start = dt.date(year, month, 1).toordinal()
            age = start - birth
            if birth > start + 27 or age > MAX_AGE_DAYS:
                continue
            day = max(start, birth) + rng.randrange(25)
            if age < 731:
                if rng.random() < level:
                    self._service("KONSELING_GIZI", day, None, h, child)
                if age >= 152 and rng.random() < level * 0.85:
                    self._service("KELAS_BKB", day + rng.randrange(3), None, h, child)
            haz, waz = child.growth.true_z(growth, max(age, 0))
            if (haz < -2 or waz < -2) and rng.random() < level:
                self._service("KUNJUNGAN_RUMAH", day + 1, None, h, child)
            if waz < -2 and rng.random() < level * 0.9:
                self._service("PMT_BALITA", day + 2, None, h, child)
            if waz < -3 and rng.random() < 0.85:
                self._service("TATA_LAKSANA_GIZI_BURUK", day + 2, None, h, child)
            if month in (2, 8) and age >= 183 and rng.random() < min(level + 0.1, 0.98):
                self._service("VITAMIN_A", day, None, h, child)
            if 731 <= age and paud and rng.random() < 0.9:
                self._service("PAUD", day, None, h, child)

    # --- one record -----------------------------------------------------------------------------
    def _service(
        self, code: str, day: int, target: str | None, h: Household, child: Child | None, jumlah: int = 1,
    ) -> None:
        """Write one ``layanan`` record (and sometimes a later correction or voiding of it)."""
        first_day, last_day = self._window
        if day > last_day or day < first_day - 400:
            return
        rng = self._rng
        dirt_rng = self._dirt_rng
        self._serial += 1
        kind = target
        if child is not None:
            age = day - child.birth
            kind = "BADUTA" if age < 731 else ("BALITA" if age <= MAX_AGE_DAYS else "ANAK_PRASEKOLAH")
            nik = child.nik if rng.random() < 0.45 else None
            name = h.members[next(i for i, m in enumerate(h.members) if m.child is child)].name
            birth = _iso_day(child.birth)
            mother = h.mother_nik if rng.random() < 0.88 else None
        else:
            nik = h.mother_nik if rng.random() < 0.97 else None
            name, birth, mother = h.mother_name, h.mother_birth.isoformat(), None
        record = {
            "id": f"LYN-{self._serial:09d}", "kode_layanan": code, "tanggal_layanan": _iso_day(day),
            "jenis_sasaran": kind, "nik_sasaran": nik, "nama_sasaran": name.upper() if rng.random() < 0.3 else name,
            "tgl_lahir_sasaran": birth if rng.random() < 0.95 else None, "nik_ibu": mother,
            "no_kk": h.family.kk if rng.random() < 0.7 else None, "kelurahan": _kelurahan_text(h.kelurahan, rng),
            "kode_faskes": h.family.posyandu.puskesmas_code, "jumlah": jumlah, "status": "AKTIF",
            "updated_at": ordinal_to_iso(day + rng.randrange(21), 25200 + rng.randrange(46800)),
        }
        self.counts["services"] += 1
        self.counts[f"code_{code}"] += 1
        if self._write_truth is not None:
            self._write_truth(record["id"], h, child.nik if child is not None else None,
                              None if child is not None else self._pregnancy_id)
        dirt = self._dirt
        roll = dirt_rng.random()
        if roll < dirt.unknown_code:
            record["kode_layanan"] = dirt_rng.choice(UNKNOWN_CODES)
            self.dirt_counts["unknown_code"] += 1
        elif roll < dirt.unknown_code + dirt.impossible_date:
            record["tanggal_layanan"] = dirt_rng.choice(("2026-02-30", "1900-01-01", "2099-12-31", "2025-13-05"))
            self.dirt_counts["impossible_date"] += 1
        self._write_service(record)
        self.counts["service_versions"] += 1
        roll = dirt_rng.random()
        if roll < dirt.correction + dirt.voided:
            later = dict(record)
            later["updated_at"] = ordinal_to_iso(day + 21 + dirt_rng.randrange(40), 25200 + dirt_rng.randrange(46800))
            if roll < dirt.correction:
                if code == "TTD":
                    later["jumlah"] = 30 if jumlah != 30 else 60
                else:
                    later["tanggal_layanan"] = _iso_day(max(day - 1 - dirt_rng.randrange(3), first_day - 400))
                self.dirt_counts["correction"] += 1
            else:
                later["status"] = "BATAL"
                self.dirt_counts["voided"] += 1
            self._late.append(later)
            self.counts["service_versions"] += 1
