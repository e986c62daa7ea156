"""The report's tables as data: every figure a cell with its text, so the template only lays them out.

Numbers are written the Indonesian way (1.234 children, 12,5 %). Each figure's cell carries a
`data-cell` address (section:row:column) and its kind (count or rate), which the test reads back to
compare every printed figure with the marts.

The public edition (Aksi 7: publication) shows a kelurahan-level count below 5, and a count the BI
layer already hid, as "<5", and then hides every rate computed from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

SMALL = 5
SMALL_TEXT = "<5"
HIDDEN_TEXT = "–"  # a rate hidden because a count it comes from is "<5"
MISSING_TEXT = "–"  # no value (e.g. a rate over zero children)
NO_DATA_TEXT = "tidak ada data"


def format_count(value: int | None) -> str:
    if value is None:
        return MISSING_TEXT
    return f"{int(value):,}".replace(",", ".")


def format_rate(value: float | Decimal | None, decimals: int = 1) -> str:
    if value is None:
        return MISSING_TEXT
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    text = f"{int(whole):,}".replace(",", ".") + ("," + fraction if fraction else "")
    return ("−" if rounded < 0 else "") + text


@dataclass
class Cell:
    text: str
    kind: str = "text"  # count, rate, text
    css: str = ""


@dataclass
class Column:
    key: str
    label: str
    kind: str = "count"  # count, rate, text


@dataclass
class Row:
    key: str
    label: str
    cells: dict[str, Cell] = field(default_factory=dict)
    no_data: bool = False  # a wilayah with nobody measured: one "tidak ada data" cell instead of zeros
    css: str = ""


@dataclass
class Table:
    section: str
    level: str  # kota, kecamatan, kelurahan, puskesmas, sumber, indikator, opd …
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    label_header: str = "Wilayah"
    note: str = ""

    def add(self, key: str, label: str, values: dict[str, object], *, no_data: bool = False,
            suppress_small: bool = False, rates_from: dict[str, tuple[str, ...]] | None = None,
            css: str = "", decimals: dict[str, int] | None = None) -> Row:
        """One row from raw values. suppress_small: counts below 5 (or hidden upstream, None) become "<5",
        and a rate in `rates_from` is hidden when one of the counts it is computed from is below 5 or hidden."""
        row = Row(key=key, label=label, no_data=no_data, css=css)
        small: set[str] = set()
        for column in self.columns:
            value = values.get(column.key)
            if column.kind == "count":
                if suppress_small and (value is None or int(value) < SMALL):
                    small.add(column.key)
                    row.cells[column.key] = Cell(SMALL_TEXT, "count", "small")
                else:
                    row.cells[column.key] = Cell(format_count(value), "count")
            elif column.kind == "rate":
                row.cells[column.key] = Cell(format_rate(value, (decimals or {}).get(column.key, 1)), "rate")
            else:
                row.cells[column.key] = Cell("" if value is None else str(value), "text")
        for rate, counts in (rates_from or {}).items():
            # a rate also hides when a count behind it that is not printed (Y answers, a denominator) is small
            if suppress_small and any(c in small or values.get(c) is None or int(values[c]) < SMALL for c in counts):
                row.cells[rate] = Cell(HIDDEN_TEXT, "rate", "hidden")
        self.rows.append(row)
        return row
