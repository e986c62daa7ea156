"""Source simulator for Konvergensi: e-PPGBM exports and the convergence sources, with their dirt.

Test and benchmark tooling only. The production package ``konvergensi`` must never import it;
this package reads only paths from ``konvergensi.settings``.
"""

from konvergensi_simulator.city import write_city_sources
from konvergensi_simulator.dirt import DIRT_KINDS, DirtRates
from konvergensi_simulator.eppgbm import HEADERS_2025, HEADERS_CLASSIC, headers_for
from konvergensi_simulator.exports import (
    write_bench_csv,
    write_eppgbm_exports,
    write_truth,
)
from konvergensi_simulator.dtsen import write_dtsen
from konvergensi_simulator.server import SourceServer
from konvergensi_simulator.store import StoreWriter, read_collection
from konvergensi_simulator.writers import DEFAULT_FORMAT_MIX, FORMATS

__all__ = [
    "DEFAULT_FORMAT_MIX",
    "DIRT_KINDS",
    "FORMATS",
    "HEADERS_2025",
    "HEADERS_CLASSIC",
    "DirtRates",
    "SourceServer",
    "StoreWriter",
    "headers_for",
    "read_collection",
    "write_bench_csv",
    "write_city_sources",
    "write_dtsen",
    "write_eppgbm_exports",
    "write_truth",
]
