"""Households behind the e-PPGBM families: house, welfare, members and DTSEN history.

Built once after the e-PPGBM run from the simulation's :class:`Population` (every family and every
child ever created), so each convergence source describes the same people. All draws come from
streams named ``households/...``, which the e-PPGBM exports never use.

Risk is shared: a family's *deprivation* score rises with its kelurahan's stunting level and with
its children's own growth effects (``haz_effect``, ``waz_effect``), so stunted children really do
live more often in houses with unimproved water, no proper latrine and a low desil.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field

from konvergensi_simulator.names import BOY_GIVEN, BOY_SECOND, address, child_name, mother_name
from konvergensi_simulator.population import CITY_PREFIX, Child, Family, Population, nik_date_part
from konvergensi_simulator.reference import Kelurahan, Reference
from konvergensi_simulator.seeding import HashDraw, stream, text_key

WIB = dt.timezone(dt.timedelta(hours=7))
CITY_BOX = (109.645, -6.925, 109.715, -6.865)  # lon/lat box inside Kota Pekalongan
DTSEN_SHARE = 0.875
KK_CHANGE_SHARE = 0.06
CHILD_NIK_MISSING_SHARE = 0.07
DTSEN_BAD_CODE_SHARE = 0.01
IMPROVED_WATER = frozenset({1, 2, 3, 4, 5, 7})  # Regsosek 306a codes counted as improved
PROGRAMMES = ("PKH", "BPNT", "BLT_DD", "SUBSIDI_LISTRIK", "BANTUAN_PEMDA")

FATHER_GIVEN = (
    "Agus", "Ahmad", "Andi", "Arif", "Bambang", "Budi", "Dedi", "Eko", "Fajar", "Hadi", "Imam", "Joko",
    "Khoirul", "Lukman", "Mochamad", "Muhammad", "Nur", "Rudi", "Sigit", "Slamet", "Taufik", "Wahyu",
    "Yusuf", "Zainal", "Abdul", "Faisal", "Heri", "Irwan", "Kurniawan", "Rizal",
)
# occupation sector (417) and employment status (418) pairs typical of the city (batik, fishing, trade)
OCCUPATIONS = ((3, 6), (3, 4), (1, 1), (2, 6), (16, 1), (16, 4), (19, 7), (12, 4), (25, 5), (14, 6), (3, 1))


def ordinal_to_iso(day: int, seconds: int = 0) -> str:
    """Local (WIB) timestamp text ``YYYY-MM-DDTHH:MM:SS+07:00`` for an ordinal day plus seconds."""
    moment = dt.datetime.combine(dt.date.fromordinal(day), dt.time(), WIB) + dt.timedelta(seconds=seconds)
    return moment.isoformat()


def birth_from_nik(nik: str) -> dt.date:
    """Birth date coded in a NIK (day + 40 for women); two-digit years above 30 are 19xx."""
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    return dt.date((1900 if year > 30 else 2000) + year, month, day - 40 if day > 40 else day)


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_start(year: int, quarter: int) -> dt.date:
    return dt.date(year, 3 * quarter - 2, 1)


def father_name(key: int) -> str:
    draw = HashDraw(key ^ 0xFA7E)
    given = draw.choice(FATHER_GIVEN)
    if draw.unit() < 0.12:
        return given
    return f"{given} {draw.choice(BOY_SECOND + BOY_GIVEN)}"


def spelling_variant(name: str, draw: HashDraw) -> str:
    """A name as another register writes it: case, ``Moh.``/``Muhammad``, ``Nur``/``Nurul``, dropped words."""
    roll = draw.below(6)
    if roll == 0:
        return name.upper()
    if roll == 1 and " " in name:
        return name.rsplit(" ", 1)[0]
    swaps = (("Muhammad", "Moh."), ("Moh.", "Muhammad"), ("M.", "Muhammad"), ("Siti ", "St. "),
             ("Nur ", "Noer "), ("Khotimah", "Hotimah"), ("Aisyah", "Aisah"), ("Zahra", "Zahrah"),
             ("Rizky", "Rizki"), ("Syifa", "Syfa"), ("Fitri", "Fitry"), ("Yuni", "Yuny"))
    for old, new in swaps:
        if old in name:
            return name.replace(old, new, 1)
    return name.lower().title() if roll < 4 else name + " "


@dataclass
class Member:
    """One person of a household as DTSEN lists them (children also carry their ``Child``)."""

    nik: str | None
    name: str
    relation: int  # 409: 1 kepala, 2 istri, 3 anak
    sex: int  # 1 L, 2 P
    birth: dt.date
    akta: int  # 411: 1 ada, 2 tidak ada
    sector: int | None  # 417
    status: int | None  # 418
    kms: int | None  # 427
    insurance: int  # 431a
    child: Child | None = None


@dataclass
class DtsenVersion:
    """One quarterly update of a household in DTSEN."""

    day: int  # ordinal of updated_at
    seconds: int
    periode: str
    kk: str
    desil: int | None
    water: int
    floor: int
    area: int


@dataclass
class Household:
    """One family's house and welfare data, shared by every source."""

    family: Family
    children: list[Child]
    kelurahan: Kelurahan
    address: str
    rt: int
    rw: int
    lon: float
    lat: float
    deprivation: float
    desil: int
    floor: int
    wall: int
    roof: int
    area: int
    water: int
    defecation: int
    toilet: int
    disposal: int
    rtlh: bool
    mother_nik: str
    mother_name: str
    mother_birth: dt.date
    head_nik: str
    head_name: str
    head_birth: dt.date
    members: list[Member]
    programmes: tuple[str, ...]
    id_rt: str | None = None
    dtsen_kk: str | None = None  # the KK DTSEN holds now (differs from family.kk when moved/split)
    dtsen_versions: list[DtsenVersion] = field(default_factory=list)
    member_names: dict[int, str] = field(default_factory=dict)  # index -> DTSEN spelling
    member_nik_missing: set[int] = field(default_factory=set)
    bad_codes: dict[str, int] = field(default_factory=dict)
    survey_ids: list[str] = field(default_factory=list)
    project_ids: list[str] = field(default_factory=list)

    @property
    def improved_water(self) -> bool:
        return self.water in IMPROVED_WATER

    @property
    def proper_latrine(self) -> bool:
        return self.defecation == 1 and self.toilet == 1 and self.disposal in (1, 2)

    @property
    def people(self) -> int:
        return len(self.members)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def kelurahan_points(reference: Reference, seed: int) -> dict[str, tuple[float, float]]:
    """A stable centre per kelurahan inside the city box."""
    west, south, east, north = CITY_BOX
    centres = {}
    for k in reference.kelurahan:
        draw = HashDraw(text_key(seed, "centre/" + k.code))
        centres[k.code] = (west + 0.006 + (east - west - 0.012) * draw.unit(),
                           south + 0.006 + (north - south - 0.012) * draw.unit())
    return centres


def kelurahan_convergence(reference: Reference, seed: int) -> dict[str, float]:
    """Service coverage per kelurahan, spread 0.35-0.95 in seeded order: some converge well, some poorly."""
    codes = [k.code for k in reference.kelurahan]
    n = len(codes)
    levels = [0.35 + 0.6 * i / max(n - 1, 1) for i in range(n)]
    stream(seed, "households/convergence").shuffle(levels)
    return dict(zip(codes, levels))


def build_households(population: Population, reference: Reference, seed: int, window: tuple[int, int]) -> list[Household]:
    """One household per family; ``window`` is ``(first day, last day)`` of the simulated months (ordinals)."""
    rng = stream(seed, "households")
    centres = kelurahan_points(reference, seed)
    children_of: dict[int, list[Child]] = defaultdict(list)
    for child in population.every_child:
        children_of[id(child.family)].append(child)
    first_day, last_day = window
    households = []
    serial = 0
    for family in population.families():
        kids = children_of[id(family)]
        kel = family.kelurahan
        target = population.growth_of(kel.code).target_stunting
        child_effect = sum(c.growth.haz_effect + 0.5 * c.growth.waz_effect for c in kids) / max(len(kids), 1)
        deprivation = 5.0 * (target - 0.17) - 0.55 * child_effect + rng.gauss(0.0, 0.8)
        desil = min(max(round(5.0 - 1.7 * deprivation + rng.gauss(0.0, 1.0)), 1), 10)
        water = _water_code(rng, deprivation)
        defecation, toilet, disposal = _sanitation_codes(rng, deprivation)
        floor = 8 if rng.random() < _sigmoid(-3.6 + 1.2 * deprivation) else rng.choice((2, 2, 2, 4, 6, 1))
        wall = 3 if rng.random() < _sigmoid(-3.2 + 1.1 * deprivation) else rng.choice((1, 1, 1, 2))
        roof = rng.choice((2, 2, 2, 3, 4)) if rng.random() > 0.03 else 6
        area = max(12, int(rng.lognormvariate(math.log(48 - 6 * max(deprivation, -2)), 0.35)))
        head_age = int(rng.triangular(20.0, 48.0, 30.0) * 365.25)
        anchor = kids[0].birth if kids else first_day
        head_birth = dt.date.fromordinal(anchor - head_age)
        region = f"{CITY_PREFIX}{kel.district}" if rng.random() < 0.8 else f"{CITY_PREFIX}{1 + rng.randrange(4):02d}"
        head_nik = population.issue_nik(f"{region}{nik_date_part(head_birth, False)}")
        mother_birth = birth_from_nik(family.mother_nik)
        sector, status = rng.choice(OCCUPATIONS)
        insured = _insurance(rng, desil, status)
        members = [
            Member(head_nik, father_name(family.key), 1, 1, head_birth, 1, sector, status, None, insured),
            Member(family.mother_nik, mother_name(family.key), 2, 2, mother_birth, 1,
                   rng.choice((3, 16, None, None)), rng.choice((1, 6, None)), None, insured),
        ]
        older = family.children_born - len(kids)
        first_birth = kids[0].birth if kids else first_day
        for i in range(max(older, 0)):
            birth = dt.date.fromordinal(first_birth - (older - i) * (600 + rng.randrange(500)))
            boy = rng.random() < 0.5
            nik = population.issue_nik(f"{CITY_PREFIX}{kel.district}{nik_date_part(birth, not boy)}")
            members.append(Member(nik, child_name(rng.getrandbits(64), boy), 3, 1 if boy else 2, birth, 1,
                                  None, None, None, insured))
        for child in kids:
            akta = 1 if rng.random() < 0.93 - 0.04 * max(deprivation, 0) else 2
            kms = None
            if child.birth + 60 <= last_day:
                haz, waz = child.growth.true_z(population.growth_of(kel.code), min(last_day - child.birth, 1826))
                kms = 2 if haz < -2 and rng.random() < 0.6 else (1 if waz < -2.5 and rng.random() < 0.4 else 3)
            child_insurance = insured if rng.random() < 0.9 else 0
            members.append(Member(child.nik, child_name(child.key, child.boy), 3, child.sex,
                                  dt.date.fromordinal(child.birth), akta, None, None, kms, child_insurance, child))
        rtlh = floor == 8 or wall == 3 or area / max(len(members), 1) < 7.2
        programmes = _programmes(rng, desil, bool(kids))
        cx, cy = centres[kel.code]
        serial += 1
        household = Household(
            family=family, children=kids, kelurahan=kel, address=address(family.key), rt=family.rt, rw=family.rw,
            lon=round(cx + rng.gauss(0.0, 0.0035), 6), lat=round(cy + rng.gauss(0.0, 0.0035), 6),
            deprivation=deprivation, desil=desil, floor=floor, wall=wall, roof=roof, area=area, water=water,
            defecation=defecation, toilet=toilet, disposal=disposal, rtlh=rtlh, mother_nik=family.mother_nik,
            mother_name=mother_name(family.key), mother_birth=mother_birth, head_nik=head_nik,
            head_name=members[0].name, head_birth=head_birth, members=members, programmes=programmes,
        )
        if rng.random() < DTSEN_SHARE:
            _register_in_dtsen(household, population, rng, serial, window)
        households.append(household)
    return households


def _water_code(rng: random.Random, deprivation: float) -> int:
    if rng.random() < _sigmoid(-2.3 + 1.3 * deprivation):
        return rng.choice((6, 6, 6, 8, 9, 10))
    return rng.choice((1, 2, 2, 2, 3, 3, 4, 4, 5, 7))


def _sanitation_codes(rng: random.Random, deprivation: float) -> tuple[int, int, int]:
    """(309a facility, 309b toilet, 310 disposal); poorer households more often lack a proper latrine."""
    if rng.random() < _sigmoid(-4.2 + 1.2 * deprivation):
        return 6, 4, 3
    if rng.random() < _sigmoid(-2.2 + 1.2 * deprivation):
        return rng.choice((1, 1, 2, 3)), rng.choice((1, 2, 4)), rng.choice((3, 3, 4, 5))
    facility = 1 if rng.random() < 0.85 else rng.choice((2, 3, 4))
    return facility, 1, 1 if rng.random() < 0.93 else 2


def _insurance(rng: random.Random, desil: int, status: int) -> int:
    if status == 5:
        return 4
    if desil <= 4 and rng.random() < 0.75:
        return 1
    roll = rng.random()
    return 2 if roll < 0.45 else (4 if roll < 0.65 else (8 if roll < 0.7 else 0))


def _programmes(rng: random.Random, desil: int, with_children: bool) -> tuple[str, ...]:
    chosen = []
    if desil <= 3 and with_children and rng.random() < 0.6:
        chosen.append("PKH")
    if desil <= 4 and rng.random() < 0.7:
        chosen.append("BPNT")
    if desil <= 4 and rng.random() < 0.05:
        chosen.append("BLT_DD")
    if desil <= 5 and rng.random() < 0.5:
        chosen.append("SUBSIDI_LISTRIK")
    if desil <= 6 and rng.random() < 0.05:
        chosen.append("BANTUAN_PEMDA")
    return tuple(chosen)


def _register_in_dtsen(
    household: Household, population: Population, rng: random.Random, serial: int, window: tuple[int, int],
) -> None:
    """Give the household an ``id_rt`` and its quarterly update history up to the window's end."""
    first_day, last_day = window
    kel = household.kelurahan
    household.id_rt = f"RT{kel.code.replace('.', '')[-6:]}{serial:07d}"
    start = dt.date.fromordinal(first_day)
    quarter = (start.year * 4 + (start.month - 1) // 3) - 1 - rng.randrange(4)
    if household.children and household.children[0].birth > first_day:
        # a family formed during the window enters DTSEN one or two quarters after its first birth
        born = dt.date.fromordinal(household.children[0].birth)
        quarter = born.year * 4 + (born.month - 1) // 3 + 1 + rng.randrange(2)
    end = dt.date.fromordinal(last_day)
    last_quarter = end.year * 4 + (end.month - 1) // 3
    kk = household.family.kk
    desil, water, floor, area = household.desil, household.water, household.floor, household.area
    changed_kk = rng.random() < KK_CHANGE_SHARE
    change_at = quarter + 1 + rng.randrange(max(last_quarter - quarter, 1)) if changed_kk else None
    first = True
    while quarter <= last_quarter:
        if first or rng.random() < 0.3 or quarter == change_at:
            q_first = quarter_start(quarter // 4, quarter % 4 + 1)
            day = q_first.toordinal() + 10 + rng.randrange(75)
            if day > last_day:
                break
            if not first:
                if quarter == change_at:
                    issued = dt.date.fromordinal(day - 5 - rng.randrange(60))
                    kk = population.issue_kk(f"{CITY_PREFIX}{kel.district}{nik_date_part(issued, False)}")
                if rng.random() < 0.3:
                    desil = min(max(desil + rng.choice((-1, 1)), 1), 10)
            household.dtsen_versions.append(DtsenVersion(
                day, 28800 + rng.randrange(36000), quarter_of(q_first), kk, desil, water, floor, area,
            ))
            first = False
        quarter += 1
    if not household.dtsen_versions:
        household.id_rt = None  # not registered yet by the window's end
        return
    household.dtsen_kk = household.dtsen_versions[-1].kk
    for index, member in enumerate(household.members):
        draw = HashDraw(text_key(rng.getrandbits(32), member.name))
        if rng.random() < 0.12:
            household.member_names[index] = spelling_variant(member.name, draw)
        if member.relation == 3 and (rng.random() < CHILD_NIK_MISSING_SHARE or (
                member.child is not None and member.child.birth > first_day and rng.random() < 0.3)):
            household.member_nik_missing.add(index)
    if rng.random() < DTSEN_BAD_CODE_SHARE:
        household.bad_codes[rng.choice(("b306a_air_minum", "b303_lantai", "b309a_fasilitas_bab"))] = 99
