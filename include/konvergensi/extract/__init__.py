"""Extractors for the pulled convergence sources: services API, DTSEN, public-works GeoJSON.

Entry points: `extract_source(name, run_id)` (one source, one extract, one transaction),
`SOURCES` (the registry of source names). How fresh each source is, is dbt's
`mart_source_freshness` (from ops.source_extracts), which the quality gate checks.
"""

from konvergensi.extract.errors import ExtractError, SourceRejected, SourceUnavailable
from konvergensi.extract.framework import ExtractReport, extract_source
from konvergensi.extract.sources import CONFIGURED_BY, SOURCES, is_configured

__all__ = [
    "CONFIGURED_BY",
    "SOURCES",
    "ExtractError",
    "ExtractReport",
    "SourceRejected",
    "SourceUnavailable",
    "extract_source",
    "is_configured",
]
