"""Reference data read at run time from the dbt seeds (never duplicated here).

* ``ref_kelurahan.csv``: the 27 kelurahan with their kecamatan;
* ``ref_kelurahan_alias.csv``: known spelling variants, used as one kind of dirt;
* ``ref_facilities.csv``: puskesmas and their posyandu (overridable with ``--facilities``);
* ``who/*.csv``: WHO LMS tables, loaded by :mod:`konvergensi_simulator.growth`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from konvergensi.settings import DBT_PROJECT_DIR, REFERENCE_SEEDS_DIR

WHO_SEEDS_DIR = DBT_PROJECT_DIR / "seeds" / "who"


@dataclass(frozen=True)
class Kelurahan:
    code: str
    name: str
    kecamatan_code: str
    kecamatan_name: str
    aliases: tuple[str, ...]

    @property
    def district(self) -> str:
        """The two-digit kecamatan part of the code, as used in NIK and KK numbers."""
        return self.kecamatan_code.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Posyandu:
    code: str
    name: str
    puskesmas_code: str
    kelurahan_code: str


@dataclass(frozen=True)
class Puskesmas:
    code: str
    name: str
    kelurahan_code: str
    posyandu: tuple[Posyandu, ...]

    @property
    def slug(self) -> str:
        """File-name form of the name: ``Puskesmas Panjang Wetan`` -> ``puskesmas-panjang-wetan``."""
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclass(frozen=True)
class Reference:
    kelurahan: tuple[Kelurahan, ...]
    puskesmas: tuple[Puskesmas, ...]

    def kelurahan_by_code(self) -> dict[str, Kelurahan]:
        return {k.code: k for k in self.kelurahan}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def load_reference(facilities_csv: str | Path | None = None) -> Reference:
    """Read kelurahan, aliases and facilities; posyandu of unknown kelurahan are rejected."""
    aliases: dict[str, list[str]] = {}
    for row in _read_csv(REFERENCE_SEEDS_DIR / "ref_kelurahan_alias.csv"):
        aliases.setdefault(row["kelurahan_code"], []).append(row["alias"])
    kelurahan = tuple(
        Kelurahan(
            code=row["kelurahan_code"],
            name=row["kelurahan_name"],
            kecamatan_code=row["kecamatan_code"],
            kecamatan_name=row["kecamatan_name"],
            aliases=tuple(aliases.get(row["kelurahan_code"], ())),
        )
        for row in _read_csv(REFERENCE_SEEDS_DIR / "ref_kelurahan.csv")
    )
    known = {k.code for k in kelurahan}

    path = Path(facilities_csv) if facilities_csv else REFERENCE_SEEDS_DIR / "ref_facilities.csv"
    rows = _read_csv(path)
    posyandu_by_puskesmas: dict[str, list[Posyandu]] = {}
    for row in rows:
        if row["facility_type"].lower() != "posyandu":
            continue
        if row["kelurahan_code"] not in known:
            raise ValueError(f"{path}: posyandu {row['facility_code']} has unknown kelurahan {row['kelurahan_code']}")
        posyandu_by_puskesmas.setdefault(row["puskesmas_code"], []).append(
            Posyandu(row["facility_code"], row["facility_name"], row["puskesmas_code"], row["kelurahan_code"])
        )
    puskesmas = tuple(
        Puskesmas(
            code=row["facility_code"],
            name=row["facility_name"],
            kelurahan_code=row["kelurahan_code"],
            posyandu=tuple(posyandu_by_puskesmas.get(row["facility_code"], ())),
        )
        for row in rows
        if row["facility_type"].lower() == "puskesmas"
    )
    if not any(p.posyandu for p in puskesmas):
        raise ValueError(f"{path}: no posyandu attached to any puskesmas")
    return Reference(kelurahan=kelurahan, puskesmas=puskesmas)
