"""The growth model: persistent z-score trajectories per child and stunting levels per kelurahan.

A child's true height-for-age z-score at age ``a`` is

    HAZ = kelurahan mean + age profile(a) + child effect + child drift * (years - 2.5) + AR(1) noise

and weight-for-age follows HAZ partly (children short for their age are also light) plus its own
child effect and noise. The age profile reproduces the usual Indonesian pattern: near the standard
at birth, faltering through the first two years, flat afterwards. Kelurahan means are calibrated so
that each kelurahan reaches a target stunting prevalence spread between ``STUNTING_TARGET_RANGE``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from statistics import NormalDist

HAZ_CHILD_SD = 1.3
HAZ_DRIFT_SD_PER_YEAR = 0.12
AR_KEEP = 0.85
HAZ_AR_STEP_SD = 0.12
WAZ_CHILD_SD = 0.8
WAZ_AR_STEP_SD = 0.10
WAZ_FOLLOWS_HAZ = 0.65
WAZ_OFFSET = -0.3
MEASUREMENT_SD_Z = 0.10

STUNTING_TARGET_RANGE = (0.06, 0.28)
Z_LIMITS = (-5.0, 4.0)

_NORMAL = NormalDist()
_AR_STATIONARY_VAR = HAZ_AR_STEP_SD**2 / (1.0 - AR_KEEP**2)
HAZ_WITHIN_KELURAHAN_SD = (
    HAZ_CHILD_SD**2 + (HAZ_DRIFT_SD_PER_YEAR * 1.4) ** 2 + _AR_STATIONARY_VAR + MEASUREMENT_SD_Z**2
) ** 0.5


def haz_age_profile(age_days: int) -> float:
    """Mean HAZ shift by age: +0.45 at birth falling linearly to -0.30 at 24 months, flat after."""
    months = min(age_days / 30.4375, 24.0)
    return 0.45 - 0.75 * months / 24.0


@dataclass(frozen=True)
class KelurahanGrowth:
    target_stunting: float
    mean_haz: float
    mean_waz: float


def calibrate_mean_haz(target: float, sd: float = HAZ_WITHIN_KELURAHAN_SD) -> float:
    """Kelurahan mean HAZ so that, averaged over ages 0-59 months, P(HAZ < -2) equals ``target``."""
    ages = [int((m + 0.5) * 30.4375) for m in range(60)]

    def prevalence(mean: float) -> float:
        return sum(_NORMAL.cdf((-2.0 - mean - haz_age_profile(a)) / sd) for a in ages) / len(ages)

    low, high = -4.0, 2.0
    for _ in range(60):
        mid = (low + high) / 2.0
        if prevalence(mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def kelurahan_growth(codes: list[str], rng: random.Random) -> dict[str, KelurahanGrowth]:
    """Spread target prevalences evenly over the range and deal them to kelurahan in random order."""
    low, high = STUNTING_TARGET_RANGE
    n = len(codes)
    targets = [low + (high - low) * i / max(n - 1, 1) for i in range(n)]
    rng.shuffle(targets)
    result = {}
    for code, target in zip(codes, targets):
        mean_haz = calibrate_mean_haz(target)
        result[code] = KelurahanGrowth(target, mean_haz, WAZ_FOLLOWS_HAZ * mean_haz + WAZ_OFFSET)
    return result


@dataclass(slots=True)
class GrowthState:
    """Per-child growth effects; the AR terms move once a month."""

    haz_effect: float
    haz_drift: float
    haz_ar: float
    waz_effect: float
    waz_ar: float

    @classmethod
    def draw(cls, rng: random.Random, newborn: bool) -> GrowthState:
        gauss = rng.gauss
        ar_h = 0.0 if newborn else gauss(0.0, _AR_STATIONARY_VAR**0.5)
        ar_w = 0.0 if newborn else gauss(0.0, WAZ_AR_STEP_SD / (1.0 - AR_KEEP**2) ** 0.5)
        return cls(gauss(0.0, HAZ_CHILD_SD), gauss(0.0, HAZ_DRIFT_SD_PER_YEAR), ar_h, gauss(0.0, WAZ_CHILD_SD), ar_w)

    def step(self, rng: random.Random) -> None:
        self.haz_ar = AR_KEEP * self.haz_ar + rng.gauss(0.0, HAZ_AR_STEP_SD)
        self.waz_ar = AR_KEEP * self.waz_ar + rng.gauss(0.0, WAZ_AR_STEP_SD)

    def true_z(self, kelurahan: KelurahanGrowth, age_days: int) -> tuple[float, float]:
        """True (HAZ, WAZ) at this age, clipped to a plausible range."""
        profile = haz_age_profile(age_days)
        deviation = self.haz_effect + self.haz_drift * (age_days / 365.25 - 2.5) + self.haz_ar
        h = kelurahan.mean_haz + profile + deviation
        w = kelurahan.mean_waz + 0.4 * profile + WAZ_FOLLOWS_HAZ * deviation + self.waz_effect + self.waz_ar
        lo, hi = Z_LIMITS
        return min(max(h, lo), hi), min(max(w, lo), hi)
