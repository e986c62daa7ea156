"""What each task of the nightly DAG does. The DAG file only wires these together.

The tasks connect as the least-privileged role that can do their work (docs/roles.md), never as the
superuser of WAREHOUSE_URL: ingest and extract as konvergensi_loader, gate and publish as
konvergensi_transformer (dbt too, through settings.dbt_env).

Every task of the night renews the night lease when it starts (konvergensi.night_lease): the DAG's
first task takes it, its teardown gives it back, and a task whose run lost it stops before it loads.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from konvergensi import roles, settings

if TYPE_CHECKING:
    from konvergensi.ingest.file_loads import IngestReport

log = logging.getLogger(__name__)

# Sources pulled by their own extract task, in the order the DAG lists them.
PULLED_SOURCES = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")
# Whole-extract attempts before a source counts as down tonight (each HTTP request retries on its own too).
EXTRACT_ATTEMPTS = 3
EXTRACT_PAUSE_SECONDS = 5.0  # the default of KONVERGENSI_EXTRACT_PAUSE_SECONDS


def configuration(source: str, run_id: str, landing_dir: str | None = None) -> str | None:
    """Whether `source` is configured tonight (why, or None), recorded in ops.source_configuration.

    Each load task records its own source, so dbt knows tonight's configuration on every re-run. A
    setting naming an unknown source (or a pulled source without its URL) fails the task at once,
    without retries: waiting does not fix a setting.
    """
    from konvergensi import db

    try:
        why = settings.configured_sources(_landing(landing_dir)).get(source)
    except settings.ConfigurationError as error:
        raise _not_retried(error) from error
    with db.connect(autocommit=True) as connection:
        db.ensure_schema(connection)
        connection.execute(
            """
            insert into ops.source_configuration (source, is_configured, configured_by, run_id)
            values (%s, %s, %s, %s)
            on conflict (source) do update set is_configured = excluded.is_configured,
                configured_by = excluded.configured_by, run_id = excluded.run_id, recorded_at = now()
            """,
            (source, why is not None, why, run_id),
        )
    return why


def _not_retried(error: Exception) -> Exception:
    """Airflow's "fail, do not retry" exception when running under Airflow, else the error itself."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:
        return error
    return AirflowFailException(str(error))


def ingest(run_id: str, landing_dir: str | None = None) -> dict[str, object]:
    """Load new and changed e-PPGBM exports; rejected files are reported, the rest still load."""
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

    renew_night_lease(run_id)
    with roles.acting_as(roles.LOADER):
        configuration("eppgbm", run_id, landing_dir)
        return _file_summary("e-PPGBM", ingest_eppgbm(_landing(landing_dir), run_id))


def ingest_family_data(run_id: str, landing_dir: str | None = None) -> dict[str, object]:
    """Load new and changed BKKBN family-data CSVs from <landing>/bkkbn/ (when BKKBN is configured)."""
    from konvergensi.ingest.bkkbn_loader import ingest_bkkbn

    renew_night_lease(run_id)
    with roles.acting_as(roles.LOADER):
        if configuration("bkkbn", run_id, landing_dir) is None:
            log.warning("bkkbn: not configured for this deployment, skipped (see docs/convergence-sources.md)")
            return {"source": "bkkbn", "status": "not_configured"}
        return _file_summary("BKKBN", ingest_bkkbn(_landing(landing_dir), run_id))


def take_night_lease(run_id: str, what: str) -> dict[str, object]:
    """The DAG's first task: take the night lease for this run (or renew the one `make run` holds).

    Another live run's lease fails the task without retries (waiting up to
    KONVERGENSI_NIGHT_LEASE_WAIT_SECONDS first): nothing downstream runs, nothing is loaded.
    """
    from konvergensi import night_lease

    lease_run = night_lease.lease_run(run_id)
    with roles.acting_as(roles.LOADER):
        try:
            if lease_run != run_id:  # make run took it for this run before starting the DAG
                lease = night_lease.renew(lease_run)
                if lease is None:
                    raise night_lease.NightLeaseLost(f"the night lease of {lease_run} (make run) is gone: "
                                                     f"run {run_id} did not start (nothing was loaded)")
            else:
                lease = night_lease.take(run_id, what, wait=settings.night_lease_wait_seconds())
        except (night_lease.NightLeaseHeld, night_lease.NightLeaseLost) as refused:
            raise _not_retried(refused) from refused
    return {"run_id": lease.run_id, "holder": lease.holder, "taken_at": lease.taken_at.isoformat(),
            "expires_at": lease.expires_at.isoformat()}


def release_night_lease(run_id: str) -> dict[str, object]:
    """The DAG's teardown: give the night lease back (a no-op when this run does not hold it)."""
    from konvergensi import night_lease

    lease_run = night_lease.lease_run(run_id)
    if lease_run != run_id:
        log.info("the night lease belongs to %s (make run), which releases it after the DAG", lease_run)
        return {"released": False, "held_by": lease_run}
    with roles.acting_as(roles.LOADER):
        return {"released": night_lease.release(run_id)}


def renew_night_lease(run_id: str) -> None:
    """A task's heartbeat on start; raises NightLeaseLost (not retried) when another run holds the lease."""
    from konvergensi import night_lease

    with roles.acting_as(roles.LOADER):
        try:
            night_lease.renew(night_lease.lease_run(run_id))
        except night_lease.NightLeaseLost as lost:
            raise _not_retried(lost) from lost


def _landing(landing_dir: str | None) -> Path:
    return Path(landing_dir) if landing_dir else settings.landing_dir()


def _file_summary(label: str, report: IngestReport) -> dict[str, object]:
    """Log one file loader's night (every rejected file by name) and return it for XCom."""
    summary = report.as_dict()
    log.info(
        "%s: %s file(s) loaded, %s skipped, %s rejected; %s rows read = %s loaded + %s quarantined",
        label, summary["files_loaded"], summary["files_skipped"], summary["files_rejected"],
        summary["rows_read"], summary["rows_loaded"], summary["rows_quarantined"],
    )
    for rejected in summary["rejected"]:
        log.warning("%s: rejected %s: %s", label, rejected["file"], rejected["error"])
    return summary


def extract(source: str, run_id: str) -> dict[str, object]:
    """Pull one source incrementally. A source still down after its retries is reported stale, not fatal.

    Tonight's marts then use the source's previous data and mart_source_freshness marks it stale;
    the gate fails once it has been stale for longer than KONVERGENSI_MAX_STALE_DAYS. A source whose
    data breaks its contract raises SourceRejected, which fails the night.
    """
    from konvergensi.extract import SourceUnavailable, extract_source

    if source not in PULLED_SOURCES:
        raise _not_retried(settings.ConfigurationError(f"{source!r} is not a pulled source ({', '.join(PULLED_SOURCES)})"))
    renew_night_lease(run_id)
    with roles.acting_as(roles.LOADER):
        why = configuration(source, run_id)
    if why is None:
        log.warning("%s: not configured for this deployment, skipped (see docs/convergence-sources.md)", source)
        return {"source": source, "status": "not_configured"}
    for attempt in range(1, EXTRACT_ATTEMPTS + 1):
        try:
            with roles.acting_as(roles.LOADER):
                report = extract_source(source, run_id)
            break
        except SourceUnavailable as down:
            if attempt == EXTRACT_ATTEMPTS:
                log.warning("%s is UNAVAILABLE after %d attempts, tonight's marts mark it stale: %s",
                            source, attempt, down)
                return {"source": source, "status": "stale", "error": str(down)}
            log.warning("%s unavailable (attempt %d of %d), trying again: %s", source, attempt, EXTRACT_ATTEMPTS, down)
            time.sleep(settings.extract_pause_seconds(EXTRACT_PAUSE_SECONDS) * attempt)
    summary = report.as_dict()
    log.info(
        "%s: %s records read = %s loaded + %s quarantined (%s page(s), watermark %s → %s)",
        source, summary.get("records_read"), summary.get("records_loaded"), summary.get("records_quarantined"),
        summary.get("pages"), summary.get("watermark_from"), summary.get("watermark_to"),
    )
    return summary


def night_date(context: Mapping[str, object]) -> dt.date:
    """The night an Airflow run is for (konvergensi.report.nights.run_date_of), from its task context."""
    from konvergensi.report.nights import run_date_of

    dag_run = context.get("dag_run")
    return run_date_of(context.get("logical_date"), getattr(dag_run, "run_after", None))  # type: ignore[arg-type]


def gate(run_id: str, run_date: dt.date | None = None) -> dict[str, object]:
    """Validate tonight's marts in the audit schema; raises GateFailed when a fail-level check fails.

    `run_date` (the night the run is for) is recorded first in ops.night_runs, so that a report asked
    for that date finds this run's verdict whether the gate passes or not.
    """
    from konvergensi.gate import enforce, run_gate

    from konvergensi.housekeeping import prune_gate_results

    renew_night_lease(run_id)
    if run_date is not None:
        record_night(run_id, run_date)
    try:
        with roles.acting_as(roles.TRANSFORMER):
            result = run_gate(run_id)
    finally:
        prune_gate_results()  # tonight's results are the newest: they stay
    for warning in result.warnings:
        log.warning("gate warning: %s", warning)
    enforce(result)
    return {"success": result.success, "warnings": len(result.warnings), "data_docs": str(result.data_docs_path)}


def housekeeping(run_id: str) -> dict[str, str]:
    """Prune GX results, Data Docs and Airflow task logs to the last KONVERGENSI_KEEP_NIGHTS nights."""
    from konvergensi.housekeeping import prune_airflow_logs, prune_gate_results

    renew_night_lease(run_id)
    return {result.what: result.line() for result in (prune_gate_results(), prune_airflow_logs(current_run=run_id))}


def publish(run_id: str) -> None:
    """Swap the audited marts into place in one transaction."""
    from konvergensi.publish import publish as publish_schema

    renew_night_lease(run_id)
    with roles.acting_as(roles.TRANSFORMER):
        publish_schema(run_id)


def docs(run_id: str) -> dict[str, str | None]:
    """The published night's documentation: dbt docs of the published schemas and the data dir's index.html.

    After the publish, as the transformer (it owns the published tables whose catalog dbt reads). A
    failing `dbt docs generate` is logged as a warning and named in the index, not raised: the night's
    marts are published already and stay so.
    """
    from konvergensi import docs_site

    renew_night_lease(run_id)
    with roles.acting_as(roles.TRANSFORMER):
        site = docs_site.build()
    log.info("documentation of %s: %s", run_id, site.index)
    return {"index": str(site.index), "dbt_docs": str(site.dbt_docs) if site.dbt_docs else None,
            "gx_data_docs": str(site.gx_data_docs) if site.gx_data_docs else None, "dbt_error": site.dbt_error}


def record_night(run_id: str, run_date: dt.date) -> None:
    """ops.night_runs: which night `run_id` is for (as the transformer, which writes the gate's verdicts)."""
    from konvergensi import db
    from konvergensi.report.nights import record_run_date

    with roles.acting_as(roles.TRANSFORMER), db.connect(autocommit=True) as connection:
        record_run_date(connection, run_id, run_date)


def report(run_id: str) -> dict[str, str]:
    """Both editions of the monthly report, HTML and PDF, for the night just published.

    Runs after publish only: a failure here leaves the night published (the marts are already swapped)
    and fails this task, which raises an alert. A missing Chromium is a setup error: no retries.
    """
    from konvergensi import browser
    from konvergensi.report import generate

    renew_night_lease(run_id)
    try:
        result = generate()
    except browser.BrowserMissing as missing:
        raise _not_retried(missing) from missing
    if result.choice.shown.run_id != run_id:
        log.warning("the report shows run %s, not tonight's %s: another night was published meanwhile",
                    result.choice.shown.run_id, run_id)
    for line in result.lines():
        log.info(line)
    from konvergensi import docs_site

    with roles.acting_as(roles.TRANSFORMER):  # the data directory's index links tonight's report (build_docs runs beside this)
        docs_site.build(dbt_docs=False)
    return {name: str(path) for name, path in result.files.items()}
