"""The alert callbacks with real HTTP: classification, the JSON posted, and failures that must not mask."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from konvergensi import alerts
from konvergensi.extract.errors import SourceRejected
from konvergensi.gate import GateFailed
from tests.alert_receiver import AlertReceiver

pytestmark = pytest.mark.unit


def failed_context(error: BaseException | None, task_id: str = "quality_gate") -> dict:
    ti = SimpleNamespace(dag_id="konvergensi_nightly", run_id="scheduled__2026-11-02T19:00:00+00:00",
                         task_id=task_id, try_number=2, log_url="http://127.0.0.1:8080/log")
    return {"ti": ti, "run_id": ti.run_id, "exception": error}


def raised_from(cause: BaseException) -> BaseException:
    """What the DAG's tasks raise: an AirflowFailException from the domain error."""
    try:
        try:
            raise cause
        except type(cause) as inner:
            raise AirflowFailException(str(inner)) from inner
    except AirflowFailException as outer:
        return outer


def test_classify_names_the_reason() -> None:
    gate = GateFailed("gate FAILED: 2 checks", SimpleNamespace(failed=["marts.dim_child: nik not null"]))
    kind, reason, details = alerts.classify(raised_from(gate))
    assert (kind, reason) == ("gate_failed", "gate FAILED: 2 checks")
    assert details == {"failed_checks": ["marts.dim_child: nik not null"]}
    assert alerts.classify(raised_from(SourceRejected("services: token rejected (HTTP 401)")))[:2] == (
        "source_rejected", "services: token rejected (HTTP 401)")
    assert alerts.classify(ValueError("division by zero in model x"))[:2] == (
        "task_error", "ValueError: division by zero in model x")
    assert alerts.classify(None)[0] == "task_error"


def test_failure_posts_the_run_task_and_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)  # no warehouse: the post must still happen
    with AlertReceiver() as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        alerts.on_task_failure(failed_context(raised_from(SourceRejected("pupr_surveys: not GeoJSON")), "extract_pupr_surveys"))
        [posted] = receiver.wait_for(1)
        [request] = receiver.received
    assert request["content_type"] == "application/json" and request["path"] == "/hooks/konvergensi"
    assert posted["severity"] == "alert" and posted["kind"] == "source_rejected"
    assert posted["run_id"] == "scheduled__2026-11-02T19:00:00+00:00" and posted["dag_id"] == "konvergensi_nightly"
    assert posted["task_id"] == "extract_pupr_surveys" and posted["try_number"] == 2
    assert posted["reason"] == "pupr_surveys: not GeoJSON"
    assert posted["details"]["log_url"] == "http://127.0.0.1:8080/log"
    assert posted["alert_id"] is None  # it could not be recorded


def test_no_webhook_configured_posts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(alerts.WEBHOOK_SETTING, raising=False)
    alert = alerts.Alert("alert", "task_error", "d", "r", "t", 1, "boom")
    assert alerts.post(alert) == ("not_configured", None)


def test_a_failing_webhook_is_logged_not_raised(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    alert = alerts.Alert("alert", "gate_failed", "konvergensi_nightly", "r1", "quality_gate", 1, "gate FAILED")
    with AlertReceiver(status=500) as receiver:
        monkeypatch.setenv(alerts.WEBHOOK_SETTING, receiver.url)
        status, problem = alerts.post(alert)
        assert receiver.wait_for(1)  # it did arrive, and was refused
    assert status == "failed" and "HTTP 500" in problem
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv(alerts.WEBHOOK_SETTING, f"http://127.0.0.1:{closed_port}/hook")
    with caplog.at_level(logging.ERROR, logger="konvergensi.alerts"):
        alerts.on_task_failure(failed_context(ValueError("the real failure")))  # must not raise
    logged = caplog.text
    assert "unreachable" in logged and "ALERT task_error" in logged and "the real failure" in logged
    assert "could not write the alert to ops.alerts" in logged
