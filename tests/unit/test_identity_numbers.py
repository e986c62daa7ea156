"""One NIK rule: the per-value check and the polars expression agree on every kind of value."""

from __future__ import annotations

import polars as pl
import pytest

from konvergensi.extract.records import normalise_kk, normalise_nik
from konvergensi.identity_numbers import plausible_nik, plausible_nik_expression

pytestmark = pytest.mark.unit

CASES = {
    "3375011505200001": True,   # man born on the 15th of May
    "3375015505200001": True,   # woman: day + 40
    "3375017205200001": False,  # day 72
    "3375013205200001": False,  # day 32
    "3375010005200001": False,  # day 0
    "3375011513200001": False,  # month 13
    "3375011500200001": False,  # month 0
    "1075011505200001": False,  # province 10
    "9575011505200001": False,  # province 95
    "1175014112200001": True,   # lowest province, woman born 1 December
    "9475013112200001": True,
}  # fmt: skip


def test_the_python_and_polars_rules_agree() -> None:
    frame = pl.DataFrame({"digits": list(CASES)})
    by_polars = frame.select(plausible_nik_expression(pl.col("digits")).alias("ok"))["ok"].to_list()
    assert by_polars == list(CASES.values())
    assert [plausible_nik(digits) for digits in CASES] == list(CASES.values())


def test_extracted_values_go_through_the_same_rule() -> None:
    assert normalise_nik(" '3375015505200001 ") == ("3375015505200001", "'3375015505200001")
    assert normalise_nik("3375017205200001") == (None, "3375017205200001")
    assert normalise_nik("33750155052000") == (None, "33750155052000")
    assert normalise_kk("3375017205200001") == ("3375017205200001", "3375017205200001")  # no birth date in a KK
    assert normalise_kk("0975011505200001") == (None, "0975011505200001")
