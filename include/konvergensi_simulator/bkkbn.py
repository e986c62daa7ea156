"""BKKBN family data (Pendataan Keluarga): one CSV per kelurahan per update round.

Rows are the families with an under-five on the survey day (about 95 % of them). The stunting-risk
factors follow BKKBN's rule (water not improved, latrine not proper, "4 Terlalu") computed from
BKKBN's *own* answers, which now and then disagree with DTSEN (the survey was taken at another
time). Each file has one flag notation (Ya/Tidak, Y/T, 1/0, ya/tidak); some files are cp1252
with ``;``. A few rows are bad: a KK of the wrong length, an impossible date.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from pathlib import Path

from konvergensi_simulator.households import Household
from konvergensi_simulator.seeding import stream

HEADER = (
    "No", "Kode Kelurahan", "Kelurahan", "RW", "RT", "No KK", "NIK Kepala Keluarga", "Nama Kepala Keluarga",
    "NIK Istri", "Nama Istri", "Tgl Lahir Istri", "Jumlah Anak", "Anak Terakhir Lahir", "Punya Baduta",
    "Punya Balita", "PUS", "Ibu Hamil", "Sumber Air Minum Layak", "Jamban Layak", "Terlalu Muda", "Terlalu Tua",
    "Terlalu Dekat", "Terlalu Banyak", "Rumah Tidak Layak Huni", "Berisiko Stunting", "Tanggal Pendataan",
)
NOTATIONS = (("Ya", "Tidak"), ("Y", "T"), ("1", "0"), ("ya", "tidak"))
COVERAGE = 0.95
DISAGREE_SHARE = 0.06  # per flag, BKKBN's answer differs from DTSEN's codes
BAD_KK_SHARE = 0.003
BAD_DATE_SHARE = 0.002
ROUND_EVERY_MONTHS = 6
SUBDIRECTORY = "bkkbn"


def round_months(months: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Update months: every sixth month counted back from the last simulated month."""
    return [m for i, m in enumerate(reversed(months)) if i % ROUND_EVERY_MONTHS == 0][::-1]


def _date(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def write_bkkbn_files(
    landing: Path, households: list[Household], seed: int, months: list[tuple[int, int]],
    pregnant_on: dict[str, list[tuple[int, int]]], dirt_scale: float = 1.0,
    row_households: dict[str, list[Household]] | None = None,
) -> tuple[list[str], Counter]:
    """Write ``<landing>/bkkbn/PK_<code>_<Kelurahan>_<YYYYMM>.csv``; ``pregnant_on`` maps a mother NIK to
    her pregnancies as ``(hpht, end)`` ordinal spans. Returns the file names and counts; ``row_households``,
    if given, receives per file (``bkkbn/<name>``) the household behind each data row, in row order."""
    rng = stream(seed, "bkkbn")
    target = landing / SUBDIRECTORY
    target.mkdir(parents=True, exist_ok=True)
    by_kelurahan: dict[str, list[Household]] = {}
    for h in households:
        by_kelurahan.setdefault(h.kelurahan.code, []).append(h)
    names, counts = [], Counter()
    for year, month in round_months(months):
        for code, members in by_kelurahan.items():
            kelurahan = members[0].kelurahan
            yes, no = rng.choice(NOTATIONS)
            cp1252 = rng.random() < 0.25
            rows, behind = [], []
            for h in members:
                survey_day = dt.date(year, month, 1 + rng.randrange(27))
                ordinal = survey_day.toordinal()
                living = [c for c in h.children if c.birth <= ordinal and ordinal - c.birth <= 1826]
                if not living or rng.random() >= COVERAGE:
                    continue
                rows.append(_row(h, living, survey_day, yes, no, rng, pregnant_on, dirt_scale, counts))
                behind.append(h)
            if not rows:
                continue
            for number, row in enumerate(rows, start=1):
                row[0] = str(number)
            name = f"PK_{code.replace('.', '')}_{kelurahan.name.replace(' ', '_')}_{year:04d}{month:02d}.csv"
            buffer = io.StringIO()
            writer = csv.writer(buffer, delimiter=";" if cp1252 else ",", lineterminator="\r\n")
            writer.writerow(HEADER)
            writer.writerows(rows)
            (target / name).write_bytes(buffer.getvalue().encode("cp1252" if cp1252 else "utf-8", errors="replace"))
            names.append(name)
            if row_households is not None:
                row_households[f"{SUBDIRECTORY}/{name}"] = behind
            counts["files"] += 1
            counts["files_cp1252"] += cp1252
            counts["rows"] += len(rows)
    return names, counts


def _row(
    h: Household, living: list, day: dt.date, yes: str, no: str, rng, pregnant_on: dict[str, list[tuple[int, int]]],
    dirt_scale: float, counts: Counter,
) -> list[str]:
    ordinal = day.toordinal()
    flag = {True: yes, False: no}

    def answer(value: bool) -> bool:
        if rng.random() < DISAGREE_SHARE:
            counts["flags_disagreeing"] += 1
            return not value
        return value

    wife_age = (ordinal - h.mother_birth.toordinal()) / 365.25
    births = sorted(c.birth for c in h.children if c.birth <= ordinal)
    water = answer(h.improved_water)
    latrine = answer(h.proper_latrine)
    too_young = wife_age < 20
    too_old = wife_age >= 35
    too_close = any(b - a < 730 for a, b in zip(births, births[1:]))
    too_many = h.family.children_born > 3
    pregnant = any(start <= ordinal <= end for start, end in pregnant_on.get(h.mother_nik, ()))
    at_risk = (not water) or (not latrine) or too_young or too_old or too_close or too_many
    kk = h.family.kk
    if rng.random() < BAD_KK_SHARE * dirt_scale:
        kk = kk[:-1]
        counts["bad_kk"] += 1
    surveyed = _date(day)
    if rng.random() < BAD_DATE_SHARE * dirt_scale:
        surveyed = rng.choice(("31/02/2026", "00/00/0000", "15/13/2026"))
        counts["bad_date"] += 1
    baduta = any(ordinal - c.birth < 731 for c in living)
    return [
        "", h.kelurahan.code, h.kelurahan.name.upper() if rng.random() < 0.3 else h.kelurahan.name,
        f"{h.rw:03d}", f"{h.rt:03d}", kk, h.head_nik, h.head_name, h.mother_nik, h.mother_name,
        _date(h.mother_birth), str(h.family.children_born), _date(dt.date.fromordinal(births[-1])),
        flag[baduta], flag[any(ordinal - c.birth >= 731 for c in living)], flag[15 <= wife_age < 50],
        flag[pregnant], flag[water], flag[latrine], flag[too_young], flag[too_old], flag[too_close],
        flag[too_many], flag[answer(h.rtlh)], flag[at_risk], surveyed,
    ]
