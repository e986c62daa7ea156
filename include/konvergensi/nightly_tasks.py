"""What each task of the nightly DAG does. The DAG file only wires these together."""

from __future__ import annotations

import logging
from pathlib import Path

from konvergensi import settings

log = logging.getLogger(__name__)


def ingest(run_id: str, landing_dir: str | None = None) -> dict[str, object]:
    """Load new and changed e-PPGBM exports; rejected files are reported, the rest still load."""
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

    report = ingest_eppgbm(Path(landing_dir) if landing_dir else settings.landing_dir(), run_id)
    summary = report.as_dict()
    log.info(
        "e-PPGBM: %(files_loaded)s file(s) loaded, %(files_skipped)s skipped, %(files_rejected)s rejected; "
        "%(rows_read)s rows read = %(rows_loaded)s loaded + %(rows_quarantined)s quarantined",
        summary,
    )
    for rejected in summary["rejected"]:
        log.warning("rejected %s: %s", rejected["file"], rejected["error"])
    return summary


def gate(run_id: str) -> dict[str, object]:
    """Validate tonight's marts in the audit schema; raises GateFailed when a fail-level check fails."""
    from konvergensi.gate import enforce, run_gate

    result = run_gate(run_id)
    for warning in result.warnings:
        log.warning("gate warning: %s", warning)
    enforce(result)
    return {"success": result.success, "warnings": len(result.warnings), "data_docs": str(result.data_docs_path)}


def publish(run_id: str) -> None:
    """Swap the audited marts into place in one transaction."""
    from konvergensi.publish import publish as publish_schema

    publish_schema(run_id)
