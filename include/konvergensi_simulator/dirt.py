"""Dirt seen in real e-PPGBM exports, injected into rows at configurable rates.

Every rate is a probability per written measurement row, with these exceptions:
``telentang`` is per row measured lying, ``kelurahan_alias`` per row of a kelurahan that has
aliases, ``decimal_comma`` per row of a file that is not semicolon CSV (there decimal commas are the
format itself), and ``missing_nik`` is four times as likely for infants under six months (and a
third less for older children, so the overall share stays near the rate).

Kinds that compete for the same cell are mutually exclusive (one NIK problem per row, one problem
per weight or height cell, one kelurahan spelling); the others are independent. e-PPGBM's z-scores
are always those of the true recorded values: a weight in grams still has a sensible ``ZS BB/U``.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, fields

from konvergensi_simulator import eppgbm as col
from konvergensi_simulator.reference import Kelurahan
from konvergensi_simulator.writers import NikNumber, SpreadsheetNumberText

SENTINEL = 999.99
TELENTANG = "Telentang"


@dataclass(frozen=True)
class DirtRates:
    missing_nik: float = 0.02
    nik_numeric: float = 0.02
    nik_scientific: float = 0.01
    decimal_comma: float = 0.02
    telentang: float = 0.03
    weight_grams: float = 0.005
    height_mm: float = 0.005
    weight_sentinel: float = 0.003
    height_sentinel: float = 0.003
    weight_unparseable: float = 0.003
    height_unparseable: float = 0.003
    swapped_weight_height: float = 0.003
    zscore_sentinel: float = 0.01
    kelurahan_alias: float = 0.02
    kelurahan_style: float = 0.02
    kelurahan_unknown: float = 0.003
    unusable_row: float = 0.002
    duplicate_row: float = 0.01
    double_measurement: float = 0.005

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"dirt rate {name}={value} is not a probability")

    def scaled(self, factor: float) -> DirtRates:
        if factor < 0:
            raise ValueError("dirt scale must be >= 0")
        return DirtRates(**{name: min(value * factor, 1.0) for name, value in asdict(self).items()})


DEFAULT_DIRT = DirtRates()
DIRT_KINDS: tuple[str, ...] = tuple(f.name for f in fields(DirtRates))
# Extra counters reported beside the kinds: which date an unusable row lacks.
DETAIL_KINDS: tuple[str, ...] = ("missing_birth_date", "missing_measurement_date")


def _normalise(name: str) -> str:
    return re.sub(r"[^A-Z]", "", name.upper())


def _typos(name: str) -> list[str]:
    """Single-letter deletions and adjacent swaps of a name, e.g. ``Medono`` -> ``Medno``, ``Mdeono``."""
    result = []
    for i in range(1, len(name) - 1):
        if name[i].isalpha():
            result.append(name[:i] + name[i + 1:])
        if name[i].isalpha() and name[i + 1].isalpha() and name[i] != name[i + 1]:
            result.append(name[:i] + name[i + 1] + name[i] + name[i + 2:])
    return result


def _float_text(value: float, separator: str) -> str:
    return repr(value).replace(".", separator)


class DirtInjector:
    """Mutates rows in place and reports which kinds it applied."""

    def __init__(self, rates: DirtRates, rng: random.Random, kelurahan: tuple[Kelurahan, ...]) -> None:
        self.rates = rates
        self._rng = rng
        known = {_normalise(k.name) for k in kelurahan} | {_normalise(a) for k in kelurahan for a in k.aliases}
        self._unknown_spellings = {
            k.code: sorted({t for t in _typos(k.name) if _normalise(t) not in known}) for k in kelurahan
        }
        r = rates
        self._nik_edges = (r.nik_numeric, r.nik_numeric + r.nik_scientific)
        self._weight_edges = (r.weight_grams, r.weight_grams + r.weight_sentinel,
                              r.weight_grams + r.weight_sentinel + r.weight_unparseable)
        self._height_edges = (r.height_mm, r.height_mm + r.height_sentinel,
                              r.height_mm + r.height_sentinel + r.height_unparseable)
        self._kelurahan_edges = (r.kelurahan_alias, r.kelurahan_alias + r.kelurahan_style,
                                 r.kelurahan_alias + r.kelurahan_style + r.kelurahan_unknown)

    def unknown_spellings(self, code: str) -> list[str]:
        return self._unknown_spellings.get(code, [])

    def wants_duplicate(self) -> bool:
        return self._rng.random() < self.rates.duplicate_row

    def wants_double_measurement(self) -> bool:
        return self._rng.random() < self.rates.double_measurement

    def apply(
        self, row: list[object], *, infant: bool, kelurahan: Kelurahan, weight_exact_kg: float, height_cm: float,
        comma_file: bool,
    ) -> list[str]:
        """Dirty one row; returns the kinds applied (``unusable_row`` also adds its detail kind).

        ``comma_file`` is False for semicolon CSV, whose typed-in text then uses decimal commas.
        """
        rng = self._rng
        rates = self.rates
        kinds: list[str] = []

        # NIK: missing, a number, or Excel's scientific notation (one at most).
        missing_rate = rates.missing_nik * (4.0 if infant else 0.67)
        u = rng.random()
        if u < missing_rate:
            row[col.NIK] = None
            kinds.append("missing_nik")
        else:
            u = rng.random()
            nik = str(row[col.NIK])
            if u < self._nik_edges[0]:
                row[col.NIK] = NikNumber(int(nik))
                kinds.append("nik_numeric")
            elif u < self._nik_edges[1]:
                row[col.NIK] = SpreadsheetNumberText(f"{int(nik):.5E}")
                kinds.append("nik_scientific")

        # Weight and height cells; swapping only when both are still plain numbers.
        separator = "." if comma_file else ","
        weight_dirty = self._dirty_measure(
            row, col.BERAT, rng.random(), self._weight_edges, round(weight_exact_kg * 1000), separator,
            ("weight_grams", "weight_sentinel", "weight_unparseable"), kinds,
        )
        height_dirty = self._dirty_measure(
            row, col.TINGGI, rng.random(), self._height_edges, round(height_cm * 10), separator,
            ("height_mm", "height_sentinel", "height_unparseable"), kinds,
        )
        if rng.random() < rates.swapped_weight_height and not (weight_dirty or height_dirty):
            row[col.BERAT], row[col.TINGGI] = row[col.TINGGI], row[col.BERAT]
            kinds.append("swapped_weight_height")

        if comma_file and rng.random() < rates.decimal_comma:
            changed = False
            for index in (col.BERAT, col.TINGGI, col.LILA):
                value = row[index]
                if type(value) is float:
                    row[index] = _float_text(value, ",")
                    changed = True
            if changed:
                kinds.append("decimal_comma")

        if row[col.CARA_UKUR] == col.LYING and rng.random() < rates.telentang:
            row[col.CARA_UKUR] = TELENTANG
            kinds.append("telentang")

        if rng.random() < rates.zscore_sentinel:
            if rng.random() < 0.5:
                targets: tuple[int, ...] = (col.ZS_BBU, col.ZS_TBU, col.ZS_BBTB)
            else:
                targets = (rng.choice((col.ZS_BBU, col.ZS_TBU, col.ZS_BBTB)),)
            for index in targets:
                row[index] = SENTINEL
            kinds.append("zscore_sentinel")

        u = rng.random()
        if u < self._kelurahan_edges[0]:
            if kelurahan.aliases:
                alias = rng.choice(kelurahan.aliases)
                row[col.DESA_KEL] = alias if rng.random() < 0.5 else alias.title()
                kinds.append("kelurahan_alias")
        elif u < self._kelurahan_edges[1]:
            row[col.DESA_KEL] = self._styled(kelurahan.name, rng)
            kinds.append("kelurahan_style")
        elif u < self._kelurahan_edges[2]:
            spellings = self._unknown_spellings.get(kelurahan.code)
            if spellings:
                typo = rng.choice(spellings)
                row[col.DESA_KEL] = typo.upper() if rng.random() < 0.4 else typo
                kinds.append("kelurahan_unknown")

        if rng.random() < rates.unusable_row:
            if rng.random() < 0.6:
                row[col.TGL_LAHIR] = None
                row[col.USIA] = None
                kinds += ["unusable_row", "missing_birth_date"]
            else:
                row[col.TANGGAL] = None
                kinds += ["unusable_row", "missing_measurement_date"]
        return kinds

    @staticmethod
    def _dirty_measure(
        row: list[object], index: int, u: float, edges: tuple[float, float, float], small_unit: int,
        separator: str, names: tuple[str, str, str], kinds: list[str],
    ) -> bool:
        if u >= edges[2]:
            return False
        value = row[index]
        if u < edges[0]:
            row[index] = small_unit
            kinds.append(names[0])
        elif u < edges[1]:
            row[index] = SENTINEL
            kinds.append(names[1])
        else:
            text = _float_text(value, separator)  # type: ignore[arg-type]
            # Two typing slips: a doubled decimal separator, or a stray word after the number.
            row[index] = text.replace(separator, separator * 2, 1) if small_unit % 3 else f"{text} it"
            kinds.append(names[2])
        return True

    @staticmethod
    def _styled(name: str, rng: random.Random) -> str:
        """Upper/lower case or a ``Kel.``/``Kelurahan`` prefix."""
        return rng.choice((name.upper(), f"Kel. {name}", f"KEL. {name.upper()}", f"Kelurahan {name}", name.lower()))
