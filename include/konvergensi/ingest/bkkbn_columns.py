"""The BKKBN Pendataan Keluarga CSV layout and the parsing of its cells.

Headers are compared after the same normalisation as e-PPGBM's (lower case, punctuation to
spaces). Every column but `No` must be present. Flags are Ya/Tidak in any case, also Y/T and 1/0;
a blank flag is unknown (null); anything else sends the row to quarantine.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from konvergensi.ingest.eppgbm_columns import normalise_header

# header -> raw column (identifiers are mapped separately: they fill three columns each)
HEADERS: dict[str, str | None] = {
    "No": None,
    "Kode Kelurahan": "kelurahan_code",
    "Kelurahan": "kelurahan_name",
    "RW": "rw",
    "RT": "rt",
    "No KK": "kk_number",
    "NIK Kepala Keluarga": "head_nik",
    "Nama Kepala Keluarga": "head_name",
    "NIK Istri": "wife_nik",
    "Nama Istri": "wife_name",
    "Tgl Lahir Istri": "wife_birth_date",
    "Jumlah Anak": "children_count",
    "Anak Terakhir Lahir": "last_child_birth_date",
    "Punya Baduta": "has_baduta",
    "Punya Balita": "has_balita",
    "PUS": "is_pus",
    "Ibu Hamil": "is_pregnant",
    "Sumber Air Minum Layak": "improved_water",
    "Jamban Layak": "proper_latrine",
    "Terlalu Muda": "too_young",
    "Terlalu Tua": "too_old",
    "Terlalu Dekat": "too_close",
    "Terlalu Banyak": "too_many",
    "Rumah Tidak Layak Huni": "uninhabitable_house",
    "Berisiko Stunting": "at_risk_of_stunting",
    "Tanggal Pendataan": "surveyed_on",
}
FLAG_HEADERS = (
    "Punya Baduta", "Punya Balita", "PUS", "Ibu Hamil", "Sumber Air Minum Layak", "Jamban Layak", "Terlalu Muda",
    "Terlalu Tua", "Terlalu Dekat", "Terlalu Banyak", "Rumah Tidak Layak Huni", "Berisiko Stunting",
)  # fmt: skip
DATE_HEADERS = ("Tgl Lahir Istri", "Anak Terakhir Lahir", "Tanggal Pendataan")
REQUIRED_HEADERS = tuple(h for h in HEADERS if h != "No")
_BY_NORMALISED = {normalise_header(h): h for h in HEADERS}

TRUE_FLAGS = frozenset({"ya", "y", "1"})
FALSE_FLAGS = frozenset({"tidak", "t", "0"})
MAX_CHILDREN = 30
EARLIEST_SURVEY = date(2000, 1, 1)
EARLIEST_BIRTH = date(1900, 1, 1)


class BkkbnHeaderError(ValueError):
    """The header row is not the Pendataan Keluarga layout."""


class BadCell(ValueError):
    """One cell cannot be read; the message (naming the column and the value) is the quarantine reason."""


def map_header(cells: list[str]) -> list[str | None]:
    """Our header name for each position (None for columns we do not know); raises naming missing columns."""
    mapped = [_BY_NORMALISED.get(normalise_header(cell)) for cell in cells]
    seen = [m for m in mapped if m]
    duplicated = sorted({m for m in seen if seen.count(m) > 1})
    if duplicated:
        raise BkkbnHeaderError(f"column(s) appearing twice: {', '.join(duplicated)}")
    missing = [h for h in REQUIRED_HEADERS if h not in seen]
    if missing:
        raise BkkbnHeaderError(f"missing column(s): {', '.join(missing)}")
    return mapped


def parse_flag(header: str, value: str | None) -> bool | None:
    if value is None:
        return None
    word = value.strip().lower()
    if not word:
        return None
    if word in TRUE_FLAGS:
        return True
    if word in FALSE_FLAGS:
        return False
    raise BadCell(f"{header}: {value!r} is not Ya/Tidak")


def parse_date(header: str, value: str | None, *, today: date, required: bool = False) -> date | None:
    """A dd/mm/yyyy date, not in the future, not before 1900 (2000 for the survey date)."""
    if value is None or not value.strip():
        if required:
            raise BadCell(f"{header}: missing")
        return None
    text = value.strip()
    if not re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
        raise BadCell(f"{header}: {value!r} is not a date dd/mm/yyyy")
    try:
        parsed = datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        raise BadCell(f"{header}: {value!r} is not a date dd/mm/yyyy") from None
    earliest = EARLIEST_SURVEY if header == "Tanggal Pendataan" else EARLIEST_BIRTH
    if not earliest <= parsed <= today:
        raise BadCell(f"{header}: {value!r} is impossible (before {earliest:%d/%m/%Y} or after {today:%d/%m/%Y})")
    return parsed


def parse_count(header: str, value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit() or int(text) > MAX_CHILDREN:
        raise BadCell(f"{header}: {value!r} is not a number of children")
    return int(text)
