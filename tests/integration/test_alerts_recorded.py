"""Alerts on a real PostgreSQL: recorded in ops.alerts, posted once, the webhook's fate noted; stale warning.

A failure raised through Airflow itself (a rejected source in a scheduled night) is tested with the
deployment in test_airflow_deployment.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import psycopg
import pytest

from konvergensi import alerts
from konvergensi.gate import GateFailed
from tests.alert_receiver import AlertReceiver

pytestmark = pytest.mark.integration


@pytest.fixture
def warehouse(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WAREHOUSE_URL", fresh_database_url)
    return fresh_database_url


def context(task_id: str, error: BaseException | None, try_number: int = 1) -> dict:
    ti = SimpleNamespace(dag_id="konvergensi_nightly", run_id="manual__2026-11-02", task_id=task_id,
                         try_number=try_number, log_url=None)
    return {"ti": ti, "run_id": ti.run_id, "exception": error}


def alert_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(
            "select severity, kind, run_id, task_id, try_number, reason, webhook_status, webhook_error, details"
            " from ops.alerts order by alert_id").fetchall()


def test_a_failed_gate_is_recorded_and_posted_once(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    failure = GateFailed("quality gate FAILED for marts_audit: 1 check", SimpleNamespace(failed=["dim_child unique"]))
    with AlertReceiver() as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        alerts.on_task_failure(context("quality_gate", failure))
        alerts.on_task_failure(context("quality_gate", failure))  # the same try again: nothing new
        alerts.on_task_failure(context("quality_gate", failure, try_number=2))  # cleared and failed again
        posted = receiver.wait_for(2)
    rows = alert_rows(warehouse)
    assert [r[:5] for r in rows] == [("alert", "gate_failed", "manual__2026-11-02", "quality_gate", 1),
                                     ("alert", "gate_failed", "manual__2026-11-02", "quality_gate", 2)]
    assert all(r[5] == "quality gate FAILED for marts_audit: 1 check" and r[6] == "sent" for r in rows)
    assert rows[0][8] == {"failed_checks": ["dim_child unique"]}
    assert len(posted) == 2 and {p["try_number"] for p in posted} == {1, 2}
    assert all(isinstance(p["alert_id"], int) for p in posted)


def test_a_refusing_webhook_is_noted_and_the_alert_kept(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with AlertReceiver(status=503) as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        alerts.on_task_failure(context("transform.fct_anthropometry_run", RuntimeError("dbt model failed")))
        assert receiver.wait_for(1)
    [row] = alert_rows(warehouse)
    assert row[1] == "task_error" and row[5] == "RuntimeError: dbt model failed"
    assert row[6] == "failed" and "HTTP 503" in row[7]


def test_no_webhook_still_records(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(alerts.WEBHOOK_SETTING, raising=False)
    alerts.on_task_failure(context("ingest_eppgbm", OSError("landing directory unreadable")))
    [row] = alert_rows(warehouse)
    assert row[:4] == ("alert", "task_error", "manual__2026-11-02", "ingest_eppgbm") and row[6] == "not_configured"


def make_freshness(url: str, stale: dict[str, bool]) -> None:
    """A published mart_source_freshness with the columns the warning reads, owned as publish leaves it."""
    with psycopg.connect(url) as connection:
        connection.execute("create schema marts authorization konvergensi_transformer")
        connection.execute("set role konvergensi_transformer")
        connection.execute("""create table marts.mart_source_freshness (source text, last_loaded_at timestamptz,
            stale_since timestamptz, days_since_last_load numeric, is_stale boolean)""")
        for source, is_stale in stale.items():
            connection.execute(
                "insert into marts.mart_source_freshness values (%s, now() - interval '2 days',"
                " case when %s then now() - interval '1 day' end, 2.0, %s)", (source, is_stale, is_stale))


def test_published_with_stale_sources_is_a_warning(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_freshness(warehouse, {"services": True, "pregnancies": True, "dtsen": False})
    with AlertReceiver() as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        alerts.on_publish_success(context("publish_marts", None))
        [posted] = receiver.wait_for(1)
    [row] = alert_rows(warehouse)
    assert row[:4] == ("warning", "stale_sources", "manual__2026-11-02", "publish_marts")
    assert "2 stale source(s)" in row[5] and "services" in row[5] and "dtsen" not in row[5]
    assert posted["severity"] == "warning" and [s["source"] for s in posted["details"]["stale_sources"]] == [
        "pregnancies", "services"]


def test_published_fresh_raises_nothing(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> None:
    make_freshness(warehouse, {"services": False, "dtsen": False})
    with AlertReceiver() as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        alerts.on_publish_success(context("publish_marts", None))
        assert receiver.wait_for(1, timeout=1) == []
    with psycopg.connect(warehouse) as connection:
        assert connection.execute("select to_regclass('ops.alerts')").fetchone()[0] is None or not alert_rows(warehouse)
