"""Alerts and warnings of the nightly DAG: written to ops.alerts and posted to a webhook.

The DAG sets two Airflow callbacks from here:

* `on_task_failure` (every task, through default_args): a task that failed for good (after its
  retries) raises an **alert** naming the run, the task and the reason. The reason is classified:
  `gate_failed` (the quality gate refused tonight's marts), `source_rejected` (a source's data or
  credentials were refused) or `task_error` (anything else, e.g. a dbt model that failed).
* `on_publish_success` (the publish task): a night that published although some pulled sources
  were down raises a **warning** listing the stale sources, not an alert.

konvergensi.night_lease raises a third kind, a **warning** `night_lease_taken_over`, when a night
takes over the lease of a run that died without giving it back.

Each one is first recorded in ops.alerts (one row per task try and kind, so a callback that runs
twice records and posts once), then posted as JSON to `KONVERGENSI_ALERT_WEBHOOK` when that is set
(unset: recorded only). A callback never raises: a webhook that is down, or a warehouse that cannot
be reached, is logged and noted in the row, and never hides the failure that caused the alert.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

WEBHOOK_SETTING = "KONVERGENSI_ALERT_WEBHOOK"
WEBHOOK_TIMEOUT_SETTING = "KONVERGENSI_ALERT_WEBHOOK_TIMEOUT_SECONDS"
REASON_LIMIT = 4000


@dataclass
class Alert:
    severity: str  # 'alert' or 'warning'
    kind: str  # gate_failed, source_rejected, task_error, stale_sources, night_lease_taken_over
    dag_id: str
    run_id: str
    task_id: str
    try_number: int
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    raised_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    alert_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """The JSON document the webhook receives."""
        return {"source": "konvergensi", **asdict(self)}


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert: its row (None if it could not be written) and the webhook's fate."""

    alert: Alert
    recorded: bool
    duplicate: bool
    webhook_status: str  # sent, failed, not_configured, skipped (duplicate)
    webhook_error: str | None = None


# --- classifying a failure ------------------------------------------------------------------------


def _causes(error: BaseException | None) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first."""
    chain: list[BaseException] = []
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def classify(error: BaseException | str | None) -> tuple[str, str, dict[str, Any]]:
    """(kind, reason, details) of a failed task's exception."""
    from konvergensi.extract.errors import SourceRejected
    from konvergensi.gate import GateFailed

    if error is None:
        return "task_error", "the task failed without an exception (killed, timed out or lost)", {}
    if isinstance(error, str):
        return "task_error", error[:REASON_LIMIT], {}
    for cause in _causes(error):
        if isinstance(cause, GateFailed):
            failed = [str(finding) for finding in getattr(cause.result, "failed", [])][:50]
            return "gate_failed", str(cause)[:REASON_LIMIT], {"failed_checks": failed}
        if isinstance(cause, SourceRejected):
            return "source_rejected", str(cause)[:REASON_LIMIT], {}
    return "task_error", f"{type(error).__name__}: {error}"[:REASON_LIMIT], {}


# --- Airflow callbacks ----------------------------------------------------------------------------


def _task_identity(context: Mapping[str, Any]) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or "unknown",
        "run_id": context.get("run_id") or getattr(ti, "run_id", None) or "unknown",
        "task_id": getattr(ti, "task_id", None) or "unknown",
        "try_number": int(getattr(ti, "try_number", None) or 1),
        "log_url": getattr(ti, "log_url", None),
    }


# The dbt build of the night is one producer task plus a task per node that reports its result
# (Cosmos watcher mode): a failed build fails the producer and the node tasks that depend on it,
# and a failed load leaves the node tasks timing out. One alert for the group per night says it.
TRANSFORM_GROUP_PREFIX = "transform."


def _transform_alert_raised(run_id: str, connect: Callable[[], psycopg.Connection]) -> bool:
    with connect() as connection:
        row = connection.execute(
            """select exists (select from ops.alerts
                              where run_id = %s and severity = 'alert' and task_id like 'transform.%%')""",
            (run_id,),
        ).fetchone()
    return bool(row and row[0])


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow on_failure_callback: record and post an alert for the failed task."""
    try:
        identity = _task_identity(context)
        if identity["task_id"].startswith(TRANSFORM_GROUP_PREFIX) and _transform_alert_raised(
                identity["run_id"], _loader_connection):
            log.error("%s failed in run %s; the transform group's alert of this night was already raised",
                      identity["task_id"], identity["run_id"])
            return
        kind, reason, details = classify(context.get("exception"))
        log_url = identity.pop("log_url")
        if log_url:
            details["log_url"] = log_url
        delivery = raise_alert(Alert(severity="alert", kind=kind, reason=reason, details=details, **identity))
        log.error("ALERT %s: %s failed in run %s: %s (webhook: %s)", kind, identity["task_id"],
                  identity["run_id"], reason, delivery.webhook_status)
    except Exception:  # noqa: BLE001 - a callback must never hide the task's own failure
        log.exception("could not raise the alert for this failed task")


def stale_sources(connection: psycopg.Connection, schema: str = "marts") -> list[dict[str, Any]]:
    """Pulled sources that tonight's published marts mark stale (previous data used)."""
    found = connection.execute(
        f"""select source, stale_since, last_loaded_at, days_since_last_load
            from {schema}.mart_source_freshness where is_stale order by source"""  # noqa: S608 - fixed name
    ).fetchall()
    return [
        {"source": source, "stale_since": _iso(since), "last_loaded_at": _iso(loaded),
         "days_since_last_load": float(days) if days is not None else None}
        for source, since, loaded, days in found
    ]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def on_publish_success(context: Mapping[str, Any]) -> None:
    """Airflow on_success_callback of the publish task: a warning when stale sources were published."""
    try:
        identity = _task_identity(context)
        identity.pop("log_url")
        with _role_connection("konvergensi_transformer") as connection:  # the loader may not read marts
            stale = stale_sources(connection)
        if not stale:
            return
        names = ", ".join(
            f"{s['source']} (last loaded {s['last_loaded_at'] or 'never'}, stale since {s['stale_since']})" for s in stale
        )
        alert = Alert(severity="warning", kind="stale_sources", details={"stale_sources": stale},
                      reason=f"published with {len(stale)} stale source(s), their previous data used: {names}",
                      **identity)
        delivery = raise_alert(alert)
        log.warning("WARNING: %s (webhook: %s)", alert.reason, delivery.webhook_status)
    except Exception:  # noqa: BLE001 - the night is published; a warning that cannot be raised is only logged
        log.exception("could not check or report stale sources after publishing")


# --- recording and posting ------------------------------------------------------------------------


def _role_connection(role: str) -> psycopg.Connection:
    from konvergensi import db, roles

    return db.connect(roles.role_url(role))


def _loader_connection() -> psycopg.Connection:
    """Callbacks write ops as the loader role, like the tasks, never as the superuser (docs/roles.md)."""
    return _role_connection("konvergensi_loader")


def raise_alert(alert: Alert, connect: Callable[[], psycopg.Connection] | None = None) -> Delivery:
    """Record the alert in ops.alerts, then post it to the webhook; never raises."""
    connect = connect or _loader_connection
    recorded, duplicate = False, False
    try:
        with connect() as connection:
            alert.alert_id = _record(connection, alert)
        recorded, duplicate = True, alert.alert_id is None
    except Exception as error:  # noqa: BLE001 - the webhook must still hear about it
        log.error("could not write the %s to ops.alerts: %s", alert.severity, error)
    if duplicate:
        log.info("%s for %s try %s of run %s was already raised", alert.kind, alert.task_id, alert.try_number, alert.run_id)
        return Delivery(alert, recorded=True, duplicate=True, webhook_status="skipped")
    status, problem = post(alert)
    if recorded:
        try:
            with connect() as connection:
                connection.execute(
                    "update ops.alerts set webhook_status = %s, webhook_error = %s where alert_id = %s",
                    (status, problem, alert.alert_id),
                )
        except Exception as error:  # noqa: BLE001
            log.error("could not note the webhook status of alert %s: %s", alert.alert_id, error)
    return Delivery(alert, recorded=recorded, duplicate=False, webhook_status=status, webhook_error=problem)


def _record(connection: psycopg.Connection, alert: Alert) -> int | None:
    """Insert the alert; None when this task try already raised one of this kind."""
    from konvergensi.db import ensure_schema

    ensure_schema(connection)
    row = connection.execute(
        """insert into ops.alerts (severity, kind, dag_id, run_id, task_id, try_number, reason, details)
           values (%s, %s, %s, %s, %s, %s, %s, %s)
           on conflict on constraint alerts_one_per_try do nothing
           returning alert_id""",
        (alert.severity, alert.kind, alert.dag_id, alert.run_id, alert.task_id, alert.try_number, alert.reason,
         Jsonb(alert.details)),
    ).fetchone()
    connection.commit()
    return row[0] if row else None


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_SETTING, "").strip() or None


def post(alert: Alert) -> tuple[str, str | None]:
    """POST the alert as JSON to the webhook: ('sent' | 'failed' | 'not_configured', error or None)."""
    url = webhook_url()
    if url is None:
        return "not_configured", None
    timeout = float(os.environ.get(WEBHOOK_TIMEOUT_SETTING, "10") or 10)
    request = urllib.request.Request(
        url, data=json.dumps(alert.payload()).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "konvergensi-alerts"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the operator's URL
            response.read()
        return "sent", None
    except urllib.error.HTTPError as error:
        problem = f"webhook {url} answered HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        problem = f"webhook {url} unreachable: {getattr(error, 'reason', error)}"
    log.error("could not post the %s (%s, run %s) to the webhook: %s", alert.severity, alert.kind, alert.run_id, problem)
    return "failed", problem
