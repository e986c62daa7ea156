"""The under-five population: families, children, births and ageing out.

Children are kept per posyandu (in the order they joined) because each monthly file is written
by walking one puskesmas' posyandu in turn. Only numbers and a few short strings are stored per
child (a few hundred bytes); names and addresses are re-derived from the child's and family's keys.

Identifiers follow the real structures (see docs on privacy):

* child NIK ``33 75 DD(kecamatan) DDMMYY(birth, day+40 for girls) SSSS``, serials counted per prefix
  so every NIK is unique;
* mother's NIK in the same shape (10% registered in Kab. Pekalongan or Batang, 33 26 / 33 25);
* KK ``33 75 DD(kecamatan) DDMMYY(issue date) SSSS``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Iterator
from itertools import accumulate

from konvergensi_simulator.anthropometry import MAX_AGE_DAYS, WhoTables, value_for_z
from konvergensi_simulator.growth import GrowthState, KelurahanGrowth
from konvergensi_simulator.reference import Kelurahan, Posyandu, Reference
from konvergensi_simulator.seeding import HashDraw, text_key

CITY_PREFIX = "3375"
SIBLING_SHARE = 0.25
MIN_BIRTH_INTERVAL_DAYS = 540
BOY_SHARE = 0.512
NEIGHBOUR_REGIONS = ("3326", "3325")  # Kabupaten Pekalongan, Kabupaten Batang


class SerialRegistry:
    """Issues 16-digit numbers ``<12-digit prefix><4-digit serial>``, serials from 0001 per prefix."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def issue(self, prefix: str) -> str:
        serial = self._last.get(prefix, 0) + 1
        self._last[prefix] = serial
        return f"{prefix}{serial:04d}"


def nik_date_part(day: dt.date, female: bool) -> str:
    return f"{day.day + (40 if female else 0):02d}{day.month:02d}{day.year % 100:02d}"


class Family:
    __slots__ = ("key", "kelurahan", "posyandu", "rt", "rw", "mother_nik", "kk", "children_born", "last_birth")

    def __init__(
        self, key: int, kelurahan: Kelurahan, posyandu: Posyandu, rt: int, rw: int, mother_nik: str, kk: str,
        children_born: int, last_birth: int,
    ) -> None:
        self.key = key
        self.kelurahan = kelurahan
        self.posyandu = posyandu
        self.rt = rt
        self.rw = rw
        self.mother_nik = mother_nik
        self.kk = kk
        self.children_born = children_born
        self.last_birth = last_birth


class Child:
    """One child under five. ``last_month``/``last_weight`` feed the ``Naik Berat Badan`` column."""

    __slots__ = (
        "key", "boy", "birth", "nik", "family", "birth_order", "birth_weight", "birth_length", "growth",
        "last_month", "last_weight", "measured_in_run",
    )

    def __init__(
        self, key: int, boy: bool, birth: int, nik: str, family: Family, birth_order: int,
        birth_weight: float, birth_length: float, growth: GrowthState,
    ) -> None:
        self.key = key
        self.boy = boy
        self.birth = birth
        self.nik = nik
        self.family = family
        self.birth_order = birth_order
        self.birth_weight = birth_weight
        self.birth_length = birth_length
        self.growth = growth
        self.last_month: int | None = None
        self.last_weight = 0.0
        self.measured_in_run = False

    @property
    def sex(self) -> int:
        """WHO sex code: 1 male, 2 female."""
        return 1 if self.boy else 2


class Population:
    """Creates children across kelurahan in proportion to (randomised) kelurahan sizes."""

    def __init__(
        self, reference: Reference, growth: dict[str, KelurahanGrowth], tables: WhoTables, seed: int,
        rng: random.Random, growth_rng: random.Random,
    ) -> None:
        self._rng = rng
        self._growth_rng = growth_rng
        self._tables = tables
        self._growth = growth
        self._seed = seed
        posyandu_by_kelurahan: dict[str, list[Posyandu]] = {}
        self.by_posyandu: dict[str, list[Child]] = {}
        for puskesmas in reference.puskesmas:
            for posyandu in puskesmas.posyandu:
                posyandu_by_kelurahan.setdefault(posyandu.kelurahan_code, []).append(posyandu)
                self.by_posyandu[posyandu.code] = []

        # Kelurahan size ~ number of posyandu, varied; posyandu sizes vary within a kelurahan.
        self._kelurahan: list[Kelurahan] = []
        weights: list[float] = []
        self._posyandu_choice: dict[str, tuple[list[Posyandu], list[float]]] = {}
        for kelurahan in reference.kelurahan:
            units = posyandu_by_kelurahan.get(kelurahan.code)
            if not units:
                continue
            self._kelurahan.append(kelurahan)
            weights.append(len(units) * rng.lognormvariate(0.0, 0.3))
            sizes = [rng.lognormvariate(0.0, 0.35) for _ in units]
            self._posyandu_choice[kelurahan.code] = (units, _normalised_cumulative(sizes))
        self._kelurahan_cumulative = _normalised_cumulative(weights)
        self._neighbourhoods = {
            k.code: (3 + HashDraw(text_key(seed, k.code)).below(10)) for k in self._kelurahan
        }
        self._families: dict[str, list[Family]] = {k.code: [] for k in self._kelurahan}
        self._nik = SerialRegistry()
        self._kk = SerialRegistry()
        self.created = 0
        self.aged_out = 0
        # Every child ever created, in creation order (ageing out removes children from
        # ``by_posyandu`` only); the convergence sources need the whole history.
        self.every_child: list[Child] = []

    def __len__(self) -> int:
        return sum(len(children) for children in self.by_posyandu.values())

    def children(self) -> Iterator[Child]:
        for children in self.by_posyandu.values():
            yield from children

    def kelurahan_weights(self) -> dict[str, float]:
        """Expected share of children per kelurahan code."""
        shares, previous = {}, 0.0
        for kelurahan, edge in zip(self._kelurahan, self._kelurahan_cumulative):
            shares[kelurahan.code] = edge - previous
            previous = edge
        return shares

    def populate(self, count: int, first_day: int) -> list[Child]:
        """The standing population on ``first_day``: birth dates spread evenly over the previous five years."""
        rng = self._rng
        births = sorted(first_day - 1 - rng.randrange(MAX_AGE_DAYS) for _ in range(count))
        return [self._new_child(birth, newborn=False) for birth in births]

    def add_births(self, first_day: int, end_day: int, expected: float) -> list[Child]:
        """Newborns of one month: ``expected`` births spread over days ``[first_day, end_day)``."""
        rng = self._rng
        whole = int(expected)
        count = whole + (1 if rng.random() < expected - whole else 0)
        births = sorted(first_day + rng.randrange(end_day - first_day) for _ in range(count))
        return [self._new_child(birth, newborn=True) for birth in births]

    def drop_aged_out(self, day: int) -> int:
        """Remove children older than 1826 days on ``day``; returns how many left."""
        removed = 0
        for code, children in self.by_posyandu.items():
            kept = [c for c in children if day - c.birth <= MAX_AGE_DAYS]
            removed += len(children) - len(kept)
            self.by_posyandu[code] = kept
        self.aged_out += removed
        return removed

    def step_growth(self) -> None:
        rng = self._growth_rng
        for child in self.children():
            child.growth.step(rng)

    def families(self) -> Iterator[Family]:
        """Every family ever created, kelurahan by kelurahan in reference order, then by creation."""
        for pool in self._families.values():
            yield from pool

    def issue_nik(self, prefix: str) -> str:
        """A new NIK from the population's registry (so it never collides with a child's or mother's)."""
        return self._nik.issue(prefix)

    def issue_kk(self, prefix: str) -> str:
        """A new KK number from the population's registry."""
        return self._kk.issue(prefix)

    def growth_of(self, kelurahan_code: str) -> KelurahanGrowth:
        return self._growth[kelurahan_code]

    def _new_child(self, birth: int, newborn: bool) -> Child:
        rng = self._rng
        kelurahan = self._kelurahan[bisect.bisect_right(self._kelurahan_cumulative, rng.random())]
        family = self._family_for(kelurahan, birth)
        boy = rng.random() < BOY_SHARE
        birth_date = dt.date.fromordinal(birth)
        district = kelurahan.district if rng.random() < 0.92 else f"{1 + rng.randrange(4):02d}"
        nik = self._nik.issue(f"{CITY_PREFIX}{district}{nik_date_part(birth_date, not boy)}")
        growth = GrowthState.draw(self._growth_rng, newborn)
        sex = 1 if boy else 2
        birth_weight_z = -0.35 + 0.3 * growth.haz_effect + 0.4 * growth.waz_effect + rng.gauss(0.0, 0.7)
        birth_length_z = -0.3 + 0.35 * growth.haz_effect + rng.gauss(0.0, 0.6)
        weight = value_for_z(self._tables.weight_for_age, sex, 0, min(max(birth_weight_z, -3.5), 3.0))
        length = value_for_z(self._tables.length_for_age, sex, 0, min(max(birth_length_z, -3.5), 3.0))
        family.children_born += 1
        family.last_birth = birth
        child = Child(
            key=rng.getrandbits(64), boy=boy, birth=birth, nik=nik, family=family,
            birth_order=family.children_born, birth_weight=round(round(weight * 20) / 20, 2),
            birth_length=round(length * 2) / 2, growth=growth,
        )
        self.by_posyandu[family.posyandu.code].append(child)
        self.every_child.append(child)
        self.created += 1
        return child

    def _family_for(self, kelurahan: Kelurahan, birth: int) -> Family:
        rng = self._rng
        pool = self._families[kelurahan.code]
        if pool and rng.random() < SIBLING_SHARE:
            candidate = pool[rng.randrange(len(pool))]
            if birth - candidate.last_birth >= MIN_BIRTH_INTERVAL_DAYS:
                return candidate
        units, cumulative = self._posyandu_choice[kelurahan.code]
        posyandu = units[bisect.bisect_right(cumulative, rng.random())]
        mother_age_days = int(rng.triangular(18.0, 42.0, 27.0) * 365.25)
        mother_birth = dt.date.fromordinal(birth - mother_age_days)
        region_roll = rng.random()
        if region_roll < 0.8:
            region = f"{CITY_PREFIX}{kelurahan.district}"
        elif region_roll < 0.9:
            region = f"{CITY_PREFIX}{1 + rng.randrange(4):02d}"
        else:
            region = f"{rng.choice(NEIGHBOUR_REGIONS)}{1 + rng.randrange(19):02d}"
        mother_nik = self._nik.issue(f"{region}{nik_date_part(mother_birth, True)}")
        marriage = birth - mother_age_days + int(19 * 365.25)
        issued = dt.date.fromordinal(rng.randrange(min(marriage, birth - 30), birth))
        kk = self._kk.issue(f"{CITY_PREFIX}{kelurahan.district}{nik_date_part(issued, False)}")
        older = rng.choices((0, 1, 2, 3), weights=(45, 33, 15, 7))[0]
        rw_count = self._neighbourhoods[kelurahan.code]
        family = Family(
            key=rng.getrandbits(64), kelurahan=kelurahan, posyandu=posyandu,
            rt=1 + rng.randrange(3 + rw_count // 2), rw=1 + rng.randrange(rw_count),
            mother_nik=mother_nik, kk=kk, children_born=older, last_birth=birth - 2 * MIN_BIRTH_INTERVAL_DAYS,
        )
        pool.append(family)
        return family


def _normalised_cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    cumulative = [w / total for w in accumulate(weights)]
    cumulative[-1] = 1.0
    return cumulative
