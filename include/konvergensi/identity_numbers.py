"""What makes a NIK or KK number plausible: one rule, for one value at a time and for a polars column.

A NIK is 16 digits: a region code (province 11–94 in the first two), then the holder's birth day
(1–31, plus 40 for women) in digits 7–8 and birth month (1–12) in digits 9–10. A KK number has the
same region prefix. The extractors and the BKKBN loader check one value at a time
(`plausible_nik`), the e-PPGBM cleaning checks whole columns (`plausible_nik_expression`); both
are built from the ranges below, so the rule cannot drift between them.
"""

from __future__ import annotations

import operator
from functools import reduce
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the per-value rule is used where polars is not otherwise needed
    import polars as pl

PROVINCE = (11, 94)  # digits 1-2
BIRTH_MONTH = (1, 12)  # digits 9-10
BIRTH_DAY = ((1, 31), (41, 71))  # digits 7-8: men, women (day + 40)


def _within(value: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= value <= bounds[1]


def plausible_kk(digits: str) -> bool:
    """16 digits with a plausible region prefix."""
    return len(digits) == 16 and digits.isdecimal() and _within(int(digits[:2]), PROVINCE)


def plausible_nik(digits: str) -> bool:
    """16 digits with a plausible region prefix, birth day and birth month."""
    return (plausible_kk(digits) and _within(int(digits[8:10]), BIRTH_MONTH)
            and any(_within(int(digits[6:8]), bounds) for bounds in BIRTH_DAY))


def plausible_nik_expression(digits: pl.Expr) -> pl.Expr:
    """`plausible_nik` for a string column already reduced to 16 digits (null stays null)."""
    import polars as pl

    def part(offset: int) -> pl.Expr:
        return digits.str.slice(offset, 2).cast(pl.Int32, strict=False)

    day = part(6)
    return (part(0).is_between(*PROVINCE) & part(8).is_between(*BIRTH_MONTH)
            & reduce(operator.or_, [day.is_between(*bounds) for bounds in BIRTH_DAY]))
