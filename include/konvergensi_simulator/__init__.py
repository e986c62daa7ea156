"""Source simulator for Konvergensi: e-PPGBM exports as puskesmas deliver them, with their dirt.

Test and benchmark tooling only. The production package ``konvergensi`` must never import it;
this package reads only paths from ``konvergensi.settings``.
"""

from konvergensi_simulator.dirt import DIRT_KINDS, DirtRates
from konvergensi_simulator.eppgbm import HEADERS_2025, HEADERS_CLASSIC, headers_for
from konvergensi_simulator.exports import (
    write_bench_csv,
    write_eppgbm_exports,
    write_truth,
)
from konvergensi_simulator.writers import DEFAULT_FORMAT_MIX, FORMATS

__all__ = [
    "DEFAULT_FORMAT_MIX",
    "DIRT_KINDS",
    "FORMATS",
    "HEADERS_2025",
    "HEADERS_CLASSIC",
    "DirtRates",
    "headers_for",
    "write_bench_csv",
    "write_eppgbm_exports",
    "write_truth",
]
