"""WHO LMS tables: values from z-scores (to simulate) and z-scores from values (as e-PPGBM shows them).

The e-PPGBM columns ``ZS BB/U``, ``ZS TB/U`` and ``ZS BB/TB`` are computed here the way WHO anthro
does: age in days, length/height adjusted by 0.7 cm for the measuring position, the restricted
rule above +3 / below -3 for weight-based indices, and linear interpolation of the weight-for-length
/height table. Categories follow the Permenkes 2/2020 wording.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from konvergensi_simulator.reference import WHO_SEEDS_DIR

MAX_AGE_DAYS = 1826
LENGTH_UNTIL_DAYS = 731  # below: length (lying); from here: height (standing)
POSITION_CORRECTION_CM = 0.7


@dataclass(frozen=True)
class LmsTable:
    """L, M, S per sex (index 0 male, 1 female) along an evenly spaced axis starting at ``start``."""

    start: float
    step: float
    lam: tuple[tuple[float, ...], tuple[float, ...]]
    mu: tuple[tuple[float, ...], tuple[float, ...]]
    sigma: tuple[tuple[float, ...], tuple[float, ...]]

    def __len__(self) -> int:
        return len(self.mu[0])


@dataclass(frozen=True)
class WhoTables:
    length_for_age: LmsTable
    weight_for_age: LmsTable
    weight_for_length: LmsTable
    weight_for_height: LmsTable


def _load_table(path: Path, axis: str, start: float, step: float) -> LmsTable:
    columns: dict[int, dict[int, tuple[float, float, float]]] = {1: {}, 2: {}}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            index = round((float(row[axis]) - start) / step)
            columns[int(row["sex"])][index] = (float(row["l"]), float(row["m"]), float(row["s"]))
    per_sex = []
    for sex in (1, 2):
        rows = columns[sex]
        if sorted(rows) != list(range(len(rows))):
            raise ValueError(f"{path}: {axis} axis is not contiguous for sex {sex}")
        per_sex.append([rows[i] for i in range(len(rows))])
    return LmsTable(
        start=start,
        step=step,
        lam=tuple(tuple(r[0] for r in rows) for rows in per_sex),  # type: ignore[arg-type]
        mu=tuple(tuple(r[1] for r in rows) for rows in per_sex),  # type: ignore[arg-type]
        sigma=tuple(tuple(r[2] for r in rows) for rows in per_sex),  # type: ignore[arg-type]
    )


@lru_cache(maxsize=4)
def load_who_tables(directory: Path = WHO_SEEDS_DIR) -> WhoTables:
    return WhoTables(
        length_for_age=_load_table(directory / "who_lenanthro.csv", "age", 0.0, 1.0),
        weight_for_age=_load_table(directory / "who_weianthro.csv", "age", 0.0, 1.0),
        weight_for_length=_load_table(directory / "who_wflanthro.csv", "length", 45.0, 0.1),
        weight_for_height=_load_table(directory / "who_wfhanthro.csv", "height", 65.0, 0.1),
    )


def value_for_z(table: LmsTable, sex: int, age_days: int, z: float) -> float:
    """Measurement value at z-score ``z``: ``M (1 + L S z)^(1/L)`` (or ``M exp(S z)`` when L = 0)."""
    i = sex - 1
    lam, mu, sigma = table.lam[i][age_days], table.mu[i][age_days], table.sigma[i][age_days]
    if lam == 0.0:
        return mu * math.exp(sigma * z)
    base = 1.0 + lam * sigma * z
    if base <= 0.0:  # beyond the distribution's support for extreme z with L < 0
        base = 1e-6
    return mu * base ** (1.0 / lam)


def _z(lam: float, mu: float, sigma: float, y: float) -> float:
    if lam == 0.0:
        return math.log(y / mu) / sigma
    return ((y / mu) ** lam - 1.0) / (sigma * lam)


def _restricted(lam: float, mu: float, sigma: float, y: float) -> float:
    """WHO's rule for weight-based indices: beyond +/-3 SD, distances are measured in SD(3)-SD(2) units."""
    z = _z(lam, mu, sigma, y)
    if -3.0 <= z <= 3.0:
        return z

    def sd(k: float) -> float:
        return mu * (1.0 + lam * sigma * k) ** (1.0 / lam) if lam != 0.0 else mu * math.exp(sigma * k)

    if z > 3.0:
        sd3 = sd(3.0)
        return 3.0 + (y - sd3) / (sd3 - sd(2.0))
    sd3n = sd(-3.0)
    return -3.0 + (y - sd3n) / (sd(-2.0) - sd3n)


def adjusted_length(height_cm: float, age_days: int, standing: bool) -> float:
    """Length/height corrected to the position the standard expects at this age."""
    if age_days < LENGTH_UNTIL_DAYS and standing and age_days >= 274:
        return height_cm + POSITION_CORRECTION_CM
    if age_days >= LENGTH_UNTIL_DAYS and not standing:
        return height_cm - POSITION_CORRECTION_CM
    return height_cm


def haz(tables: WhoTables, sex: int, age_days: int, length_cm: float) -> float:
    t, i = tables.length_for_age, sex - 1
    return _z(t.lam[i][age_days], t.mu[i][age_days], t.sigma[i][age_days], length_cm)


def waz(tables: WhoTables, sex: int, age_days: int, weight_kg: float) -> float:
    t, i = tables.weight_for_age, sex - 1
    return _restricted(t.lam[i][age_days], t.mu[i][age_days], t.sigma[i][age_days], weight_kg)


def whz(tables: WhoTables, sex: int, age_days: int, length_cm: float, weight_kg: float) -> float | None:
    """Weight-for-length (< 731 days) or -height, interpolated between 0.1 cm rows; None out of range."""
    table = tables.weight_for_length if age_days < LENGTH_UNTIL_DAYS else tables.weight_for_height
    position = (length_cm - table.start) / table.step
    low = math.floor(position + 1e-9)
    if low < 0 or low >= len(table) or (low == len(table) - 1 and position - low > 1e-9):
        return None
    i = sex - 1
    high = min(low + 1, len(table) - 1)
    frac = position - low
    lam = table.lam[i][low] + (table.lam[i][high] - table.lam[i][low]) * frac
    mu = table.mu[i][low] + (table.mu[i][high] - table.mu[i][low]) * frac
    sigma = table.sigma[i][low] + (table.sigma[i][high] - table.sigma[i][low]) * frac
    return _restricted(lam, mu, sigma, weight_kg)


def waz_category(z: float) -> str:
    if z < -3.0:
        return "Berat Badan Sangat Kurang"
    if z < -2.0:
        return "Berat Badan Kurang"
    if z <= 1.0:
        return "Berat Badan Normal"
    return "Risiko Berat Badan Lebih"


def haz_category(z: float) -> str:
    if z < -3.0:
        return "Sangat Pendek"
    if z < -2.0:
        return "Pendek"
    if z <= 3.0:
        return "Normal"
    return "Tinggi"


def whz_category(z: float) -> str:
    if z < -3.0:
        return "Gizi Buruk"
    if z < -2.0:
        return "Gizi Kurang"
    if z <= 1.0:
        return "Gizi Baik"
    if z <= 2.0:
        return "Berisiko Gizi Lebih"
    if z <= 3.0:
        return "Gizi Lebih"
    return "Obesitas"
