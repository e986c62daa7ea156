"""The e-PPGBM export layout and how one measurement becomes one row of it.

Cells are typed Python values (``str``, ``float``, ``int``, ``None`` for empty, plus the two NIK
cell types from :mod:`konvergensi_simulator.writers`); each writer renders them in its own way.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from statistics import NormalDist

from konvergensi_simulator import anthropometry as anthro
from konvergensi_simulator.measurement import Measurement, MonthContext
from konvergensi_simulator.names import address, child_name, mother_name, phone
from konvergensi_simulator.reference import Posyandu, Puskesmas
from konvergensi_simulator.seeding import HashDraw

HEADERS_CLASSIC: tuple[str, ...] = (
    "NIK", "Nama", "JK", "Tgl Lahir", "BB Lahir", "TB Lahir", "Nama Ortu", "Prov", "Kab/Kota", "Kec",
    "Pukesmas", "Desa/Kel", "Posyandu", "RT", "RW", "Alamat", "Usia Saat Ukur", "Tanggal Pengukuran",
    "Bulan Pengukuran", "Berat", "Tinggi", "Cara Ukur", "LiLA", "BB/U", "ZS BB/U", "TB/U", "ZS TB/U",
    "BB/TB", "ZS BB/TB", "Naik Berat Badan", "PMT Diterima (kg)", "Jml Vit A", "KPSP", "KIA",
)
HEADERS_2025_EXTRA: tuple[str, ...] = (
    "Nomor KK", "NIK Orang Tua", "No HP Orang Tua", "Anak Ke", "Usia Kehamilan (minggu)",
    "Lingkar Kepala Lahir (cm)", "IMD", "Kelas Ibu Balita", "MBG",
)
HEADERS_2025: tuple[str, ...] = HEADERS_CLASSIC + HEADERS_2025_EXTRA
NEW_LAYOUT_FROM = (2025, 1)

MONTH_NAMES = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
    "November", "Desember",
)

# Column positions used by the dirt injector.
NIK, NAMA, JK, TGL_LAHIR = 0, 1, 2, 3
DESA_KEL = 11
USIA, TANGGAL, BULAN, BERAT, TINGGI, CARA_UKUR, LILA = 16, 17, 18, 19, 20, 21, 22
ZS_BBU, ZS_TBU, ZS_BBTB = 24, 26, 28

LYING, STANDING = "Terlentang", "Berdiri"
PROVINCE, CITY = "JAWA TENGAH", "KOTA PEKALONGAN"
KPSP_AGES_MONTHS = frozenset({3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54})
PMT_PORTIONS_KG = (0.5, 0.9, 1.0, 1.5, 2.0, 3.0)
GESTATION_WEEKS = (34, 35, 36, 37, 38, 39, 40, 41)
GESTATION_CUMULATIVE = (0.01, 0.03, 0.07, 0.17, 0.42, 0.72, 0.92, 1.0)
_NORMAL = NormalDist()


def uses_2025_layout(year: int, month: int) -> bool:
    return (year, month) >= NEW_LAYOUT_FROM


def headers_for(year: int, month: int) -> tuple[str, ...]:
    return HEADERS_2025 if uses_2025_layout(year, month) else HEADERS_CLASSIC


def format_date(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def age_text(birth: dt.date, on: dt.date) -> str:
    """Calendar age as e-PPGBM prints it: ``1 Tahun - 3 Bulan - 12 Hari``."""
    years = on.year - birth.year
    months = on.month - birth.month
    days = on.day - birth.day
    if days < 0:
        months -= 1
        previous_month_end = on.replace(day=1) - dt.timedelta(days=1)
        days += previous_month_end.day
    if months < 0:
        years -= 1
        months += 12
    return f"{years} Tahun - {months} Bulan - {days} Hari"


@dataclass(frozen=True)
class PuskesmasStyle:
    """Habits of one puskesmas' export tool and staff, stable across months."""

    upper_names: bool
    upper_kecamatan: bool

    @classmethod
    def from_key(cls, key: int) -> PuskesmasStyle:
        draw = HashDraw(key ^ 0x57E1)
        return cls(upper_names=draw.unit() < 0.7, upper_kecamatan=draw.unit() < 0.75)


def mbg_coverage(year: int, month: int) -> float:
    """Share of children in the free-meal programme (MBG), growing from January 2025."""
    months_in = (year - 2025) * 12 + month - 1
    return 0.0 if months_in < 0 else min(0.05 + 0.035 * months_in, 0.7)


class RowBuilder:
    """Builds rows for one puskesmas file; ``rng`` draws the per-visit service columns."""

    def __init__(
        self, puskesmas: Puskesmas, style: PuskesmasStyle, month: MonthContext, rng: random.Random,
        force_2025_layout: bool = False, city: str = CITY,
    ) -> None:
        self._style = style
        self._city = city
        self._month = month
        self._rng = rng
        self.new_layout = force_2025_layout or uses_2025_layout(month.year, month.month)
        self.headers = HEADERS_2025 if self.new_layout else HEADERS_CLASSIC
        self._puskesmas_name = puskesmas.name.upper() if style.upper_names else puskesmas.name
        self._month_name = MONTH_NAMES[month.month - 1]
        self._mbg = mbg_coverage(month.year, month.month)
        self._posyandu_names: dict[str, str] = {}

    def _posyandu_name(self, posyandu: Posyandu) -> str:
        name = self._posyandu_names.get(posyandu.code)
        if name is None:
            name = posyandu.name.upper() if self._style.upper_names else posyandu.name
            self._posyandu_names[posyandu.code] = name
        return name

    def build(self, m: Measurement, rng: random.Random | None = None) -> list[object]:
        """The row for one measurement; ``rng`` overrides the service stream (used for dirt-only rows)."""
        child = m.child
        family = child.family
        kelurahan = family.kelurahan
        style = self._style
        if rng is None:
            rng = self._rng
        upper = style.upper_names
        birth = dt.date.fromordinal(child.birth)
        measured = dt.date.fromordinal(m.day)
        traits = HashDraw(child.key ^ 0x7AA1)

        name = child_name(child.key, child.boy)
        parent = mother_name(family.key)
        street = address(family.key)
        if upper:
            name, parent, street = name.upper(), parent.upper(), street.upper()
        kecamatan = kelurahan.kecamatan_name.upper() if style.upper_kecamatan else kelurahan.kecamatan_name
        has_birth_record = traits.unit() >= 0.05

        pmt = None
        if (m.waz < -2.0 or (m.whz is not None and m.whz < -2.0)) and rng.random() < 0.5:
            pmt = rng.choice(PMT_PORTIONS_KG)
        vitamin_a = None
        if m.age_days >= 183:
            month = self._month.month
            roll = rng.random()
            if month == 1:
                vitamin_a = 0
            elif month < 8:
                vitamin_a = 1 if roll < 0.88 else 0
            else:
                vitamin_a = 2 if roll < 0.8 else (1 if roll < 0.92 else 0)
        kpsp = None
        if int(m.age_days / 30.4375) in KPSP_AGES_MONTHS and rng.random() < 0.6:
            roll = rng.random()
            kpsp = "Sesuai" if roll < 0.85 else ("Meragukan" if roll < 0.97 else "Penyimpangan")

        row: list[object] = [
            child.nik, name, "L" if child.boy else "P", format_date(birth),
            child.birth_weight if has_birth_record else None, child.birth_length if has_birth_record else None,
            parent, PROVINCE, self._city, kecamatan, self._puskesmas_name, kelurahan.name,
            self._posyandu_name(family.posyandu), f"{family.rt:03d}", f"{family.rw:03d}", street,
            age_text(birth, measured), format_date(measured), self._month_name,
            m.weight_kg, m.height_cm, STANDING if m.standing else LYING, m.muac_cm,
            anthro.waz_category(m.waz), m.waz, anthro.haz_category(m.haz), m.haz,
            None if m.whz is None else anthro.whz_category(m.whz), m.whz,
            m.weight_gain, pmt, vitamin_a, kpsp, "Ya" if traits.unit() < 0.92 else "Tidak",
        ]
        if self.new_layout:
            contact = HashDraw(family.key ^ 0xC0DE)
            weeks = traits.weighted(GESTATION_WEEKS, GESTATION_CUMULATIVE)
            head_z = _NORMAL.inv_cdf(min(max(traits.unit(), 1e-6), 1 - 1e-6))
            row += [
                family.kk, family.mother_nik, phone(family.key) if contact.unit() >= 0.15 else None,
                child.birth_order, weeks, round(round((34.0 + 1.2 * head_z) * 2) / 2, 1),
                "Ya" if traits.unit() < 0.75 else "Tidak", "Ya" if rng.random() < 0.3 else "Tidak",
                "Ya" if traits.unit() < self._mbg else "Tidak",
            ]
        return row
