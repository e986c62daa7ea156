"""Text tables and bars of the end-of-night summary."""

from __future__ import annotations

import pytest

from konvergensi.summary import BAR_WIDTH, bar, table

pytestmark = pytest.mark.unit


def test_table_aligns_numbers_right_and_text_left() -> None:
    text = table(["wilayah", "children"], [("Pekalongan Barat", 3983), ("Kota", 18331)])
    lines = text.splitlines()
    assert lines[0].startswith("wilayah") and lines[0].endswith("children")
    assert lines[2] == "Pekalongan Barat     3,983"
    assert lines[3] == "Kota                18,331"


def test_table_shows_missing_values_as_dash() -> None:
    assert table(["a", "b"], [("x", None)], align="ll").splitlines()[2] == "x  –"


def test_bar_is_proportional() -> None:
    assert bar(10, 10) == "█" * BAR_WIDTH
    assert bar(5, 10) == "█" * (BAR_WIDTH // 2)
    assert bar(None, 10) == "" and bar(3, 0) == ""
