"""Turning one source record into raw columns, or a reason why it cannot be used.

Every parser raises `Unusable(reason)` for a value that cannot mean anything; the reason names the
source field and the value, and sends the whole record to raw.source_quarantine. Values that can be
read but fall outside a code list the warehouse does not depend on are kept as sent (dbt maps them).

Identifiers (NIK, KK): a value that is 16 digits after removing spaces and quotes, with a plausible
region prefix (and, for a NIK, a plausible birth day and month) is valid and gets a keyed pseudonym
of "nik:"/"kk:" + value, the material e-PPGBM uses. Anything else never blocks a record: the key is
null and the text is kept, in the `*_raw` column where the raw table has one, else in the plain
column (the table then tells valid from invalid by the null key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from konvergensi.identity_numbers import plausible_kk, plausible_nik
from konvergensi.pseudonyms import Pseudonymiser

EARLIEST_EVENT = date(2000, 1, 1)  # services, surveys, pregnancies: nothing older is in these systems
EARLIEST_BIRTH = date(1900, 1, 1)
SMALLINT_MAX = 32767

# "T" is Tidak in Indonesian forms (Y/T), never true.
TRUE_WORDS = frozenset({"true", "ya", "y", "1"})
FALSE_WORDS = frozenset({"false", "tidak", "t", "f", "0", "n", "no"})


class Unusable(ValueError):
    """The record cannot be loaded; the message is the quarantine reason."""


@dataclass
class MappingContext:
    """What mapping a record needs beyond the record: the extract's time and the pseudonym key."""

    extracted_at: datetime
    pseudonymiser: Pseudonymiser

    def __post_init__(self) -> None:
        self.pseudonym = lru_cache(maxsize=200_000)(self.pseudonymiser.one)

    @property
    def today(self) -> date:
        return self.extracted_at.date()


def text(value: object) -> str | None:
    """Trimmed text, None for null or blank."""
    if value is None:
        return None
    result = str(value).strip()
    return result or None


def required_text(record: dict, field: str) -> str:
    value = text(record.get(field))
    if value is None:
        raise Unusable(f"missing {field}")
    return value


def parse_date(record: dict, field: str, *, earliest: date, latest: date, required: bool = False) -> date | None:
    """A YYYY-MM-DD (or date) value between `earliest` and `latest`."""
    raw = record.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise Unusable(f"missing {field}")
        return None
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    else:
        candidate = str(raw).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", candidate):
                raise ValueError(candidate)
            value = date.fromisoformat(candidate)
        except ValueError:
            raise Unusable(f"{field} {raw!r} is not a date (YYYY-MM-DD)") from None
    if value < earliest:
        raise Unusable(f"{field} {value.isoformat()} is impossible: before {earliest.isoformat()}")
    if value > latest:
        raise Unusable(f"{field} {value.isoformat()} is impossible: after {latest.isoformat()}")
    return value


def parse_updated_at(record: dict, context: MappingContext, field: str = "updated_at") -> datetime:
    """The record's change time: ISO-8601 with a UTC offset (a naive database value counts as UTC)."""
    raw = record.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise Unusable(f"missing {field}")
    if isinstance(raw, datetime):
        value = raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    else:
        try:
            value = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00"))
        except ValueError:
            raise Unusable(f"{field} {raw!r} is not an ISO-8601 timestamp") from None
        if value.tzinfo is None:
            raise Unusable(f"{field} {raw!r} has no UTC offset")
    if value.date() < EARLIEST_EVENT:
        raise Unusable(f"{field} {raw!s} is impossible: before {EARLIEST_EVENT.isoformat()}")
    if value > context.extracted_at + timedelta(days=1):
        raise Unusable(f"{field} {raw!s} is impossible: after the extract time {context.extracted_at.isoformat()}")
    return value


def parse_number(record: dict, field: str) -> Decimal | None:
    raw = record.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise Unusable(f"{field} {raw!r} is not a number")
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise Unusable(f"{field} {raw!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise Unusable(f"{field} {raw!r} is not a non-negative number")
    return value


def parse_small_int(record: dict, field: str) -> int | None:
    """A small whole number (codes, counts, years); out-of-domain codes are kept, non-numbers are not."""
    raw = record.get(field)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise Unusable(f"{field} {raw!r} is not a whole number")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise Unusable(f"{field} {raw!r} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value() or abs(number) > SMALLINT_MAX:
        raise Unusable(f"{field} {raw!r} is not a whole number in range")
    return int(number)


def parse_flag(value: object) -> bool | None:
    """True/False from JSON booleans and the spellings Indonesian systems use; ValueError otherwise."""
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if not word:
        return None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(word)


def parse_bool(record: dict, field: str) -> bool | None:
    try:
        return parse_flag(record.get(field))
    except ValueError:
        raise Unusable(f"{field} {record.get(field)!r} is not a yes/no value") from None


def one_of(record: dict, field: str, allowed: frozenset[str], *, required: bool = True) -> str | None:
    value = text(record.get(field))
    if value is None:
        if required:
            raise Unusable(f"missing {field}")
        return None
    if value not in allowed:
        raise Unusable(f"unknown {field} {value!r}")
    return value


_DIGITS_ONLY = re.compile(r"[\s'`\"]")


def _sixteen_digits(value: object) -> tuple[str | None, str | None]:
    """(the 16 digits or None, the original text or None)."""
    raw = text(value)
    if raw is None:
        return None, None
    digits = _DIGITS_ONLY.sub("", raw)
    return (digits if plausible_kk(digits) else None), raw


def normalise_nik(value: object) -> tuple[str | None, str | None]:
    """(valid NIK or None, original text or None): see konvergensi.identity_numbers."""
    digits, raw = _sixteen_digits(value)
    return (digits if digits is not None and plausible_nik(digits) else None), raw


def normalise_kk(value: object) -> tuple[str | None, str | None]:
    """(valid KK number or None, original text or None): 16 digits with a plausible region prefix."""
    return _sixteen_digits(value)


def nik_columns(context: MappingContext, value: object) -> tuple[str | None, str | None, str | None]:
    """(nik, nik_raw, nik_key)."""
    nik, raw = normalise_nik(value)
    return nik, raw, context.pseudonym("nik:" + nik) if nik else None


def kk_columns(context: MappingContext, value: object) -> tuple[str | None, str | None, str | None]:
    """(kk_number, kk_raw, kk_key)."""
    kk, raw = normalise_kk(value)
    return kk, raw, context.pseudonym("kk:" + kk) if kk else None
