"""One posyandu visit: whether the child comes, on which day, and what the cadre writes down.

Values come from the child's true z-scores through the WHO LMS inverse at the exact age in days,
plus a little measurement error, rounded as posyandu scales and boards read. Children under 731
days are measured lying (length) and older ones standing (height); a share of 9-23-month-olds is
measured standing (the reading is then 0.7 cm shorter) and a few older children lying (0.7 cm
longer). The e-PPGBM z-scores are computed from the recorded values as WHO anthro would.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass

from konvergensi_simulator import anthropometry as anthro
from konvergensi_simulator.anthropometry import (
    LENGTH_UNTIL_DAYS,
    MAX_AGE_DAYS,
    POSITION_CORRECTION_CM,
    WhoTables,
)
from konvergensi_simulator.growth import KelurahanGrowth
from konvergensi_simulator.population import Child
from konvergensi_simulator.seeding import mix64

STANDING_UNDER_TWO_SHARE = 0.08  # of children aged 9-23 months
LYING_OVER_TWO_SHARE = 0.03
ON_POSYANDU_DAY_SHARE = 0.85  # the rest come on another day of the month (sweeping, home visit)
MIN_AGE_AT_FIRST_VISIT_DAYS = 7
HEIGHT_ERROR_SD_CM = 0.3
WEIGHT_ERROR_SD_KG = 0.04
MUAC_RECORDED_SHARE = 0.6

# Minimum monthly weight gain ("kenaikan berat badan minimal") by completed month of age.
_MIN_GAIN_KG = {1: 0.8, 2: 0.9, 3: 0.8, 4: 0.6, 5: 0.5, 6: 0.4, 7: 0.4, 8: 0.3, 9: 0.3, 10: 0.3, 11: 0.3}
_MIN_GAIN_OLDER_KG = 0.2


@dataclass(frozen=True)
class MonthContext:
    index: int  # 0 for the first simulated month
    year: int
    month: int
    first_day: int  # ordinal
    days: int

    @classmethod
    def of(cls, index: int, year: int, month: int) -> MonthContext:
        return cls(index, year, month, dt.date(year, month, 1).toordinal(), calendar.monthrange(year, month)[1])


@dataclass(slots=True)
class Measurement:
    child: Child
    day: int  # ordinal of the measurement date
    age_days: int
    standing: bool
    height_cm: float  # as recorded (rounded)
    weight_kg: float  # as recorded (rounded to the scale's precision)
    weight_exact_kg: float  # before rounding: what a scale in grams would have shown
    muac_cm: float | None
    haz: float
    waz: float
    whz: float | None
    weight_gain: str


def attendance_probability(child: Child, age_days: int) -> float:
    """Child-level propensity (mean about 0.83), a little higher for infants, lower from 36 months."""
    u = mix64(child.key ^ 0xA77E) / float(1 << 64)
    p = 0.98 - 0.45 * u * u
    if age_days < 365:
        p += 0.04
    elif age_days >= 1096:
        p -= 0.08
    return min(p, 0.99)


def min_weight_gain(age_days: int) -> float:
    return _MIN_GAIN_KG.get(int(age_days / 30.4375), _MIN_GAIN_OLDER_KG)


class Measurer:
    def __init__(self, tables: WhoTables, rng: random.Random) -> None:
        self._tables = tables
        self._rng = rng

    def visit_day(self, child: Child, month: MonthContext, posyandu_day: int) -> int | None:
        """Ordinal of this month's visit, or None when the child does not come (or is not yet born/too old)."""
        rng = self._rng
        on_schedule = rng.random() < ON_POSYANDU_DAY_SHARE
        day_of_month = posyandu_day if on_schedule else 1 + rng.randrange(month.days)
        attend = rng.random()
        day = month.first_day + day_of_month - 1
        age = day - child.birth
        if age < MIN_AGE_AT_FIRST_VISIT_DAYS or age > MAX_AGE_DAYS:
            return None
        if attend >= attendance_probability(child, age):
            return None
        return day

    def measure(
        self, child: Child, growth: KelurahanGrowth, day: int, weight_step: float, rng: random.Random | None = None,
    ) -> Measurement:
        """Record a measurement on ``day``; ``rng`` defaults to the measurement stream."""
        if rng is None:
            rng = self._rng
        tables = self._tables
        age = day - child.birth
        sex = child.sex
        true_haz, true_waz = child.growth.true_z(growth, age)
        length = anthro.value_for_z(tables.length_for_age, sex, age, true_haz)
        weight = anthro.value_for_z(tables.weight_for_age, sex, age, true_waz)

        position_roll = rng.random()
        if age < LENGTH_UNTIL_DAYS:
            standing = age >= 274 and position_roll < STANDING_UNDER_TWO_SHARE
            reading = length - POSITION_CORRECTION_CM if standing else length
        else:
            standing = position_roll >= LYING_OVER_TWO_SHARE
            reading = length if standing else length + POSITION_CORRECTION_CM
        height = round(reading + rng.gauss(0.0, HEIGHT_ERROR_SD_CM), 1)
        weight_exact = max(weight + rng.gauss(0.0, WEIGHT_ERROR_SD_KG), 1.0)
        weight_recorded = round(round(weight_exact / weight_step) * weight_step, 2)

        adjusted = anthro.adjusted_length(height, age, standing)
        haz = anthro.haz(tables, sex, age, adjusted)
        waz = anthro.waz(tables, sex, age, weight_recorded)
        whz = anthro.whz(tables, sex, age, adjusted, weight_recorded)

        muac = None
        if age >= 183 and rng.random() < MUAC_RECORDED_SHARE:
            months = age / 30.4375
            base = 12.5 + 2.5 * min(months, 12.0) / 12.0 + 1.0 * min(max(months - 12.0, 0.0), 48.0) / 48.0
            muac = round(base + 0.9 * (whz if whz is not None else 0.0) + rng.gauss(0.0, 0.35), 1)

        return Measurement(
            child=child, day=day, age_days=age, standing=standing, height_cm=height, weight_kg=weight_recorded,
            weight_exact_kg=weight_exact, muac_cm=muac, haz=round(haz, 2), waz=round(waz, 2),
            whz=None if whz is None else round(whz, 2), weight_gain="",
        )

    def weight_gain(self, child: Child, month: MonthContext, measurement: Measurement) -> str:
        """N (naik), T (tidak naik), O (not weighed last month), B (first weighing); updates the child."""
        if child.last_month is None:
            status = "B"
        elif child.last_month != month.index - 1:
            status = "O"
        elif measurement.weight_kg - child.last_weight >= min_weight_gain(measurement.age_days) - 1e-9:
            status = "N"
        else:
            status = "T"
        child.last_month = month.index
        child.last_weight = measurement.weight_kg
        return status

    def prime_history(self, child: Child, growth: KelurahanGrowth, month: MonthContext) -> None:
        """Give a child of the standing population a plausible weighing before the first simulated month."""
        rng = self._rng
        day = month.first_day - 15
        age = day - child.birth
        if age < MIN_AGE_AT_FIRST_VISIT_DAYS:
            return
        if rng.random() < attendance_probability(child, age):
            _, true_waz = child.growth.true_z(growth, age)
            weight = anthro.value_for_z(self._tables.weight_for_age, child.sex, age, true_waz)
            child.last_month = month.index - 1
            child.last_weight = round(weight + rng.gauss(0.0, WEIGHT_ERROR_SD_KG), 1)
        else:
            child.last_month = month.index - 3
