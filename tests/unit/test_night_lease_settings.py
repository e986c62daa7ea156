"""The night lease's settings and which run's lease a task renews (konvergensi.night_lease)."""

from __future__ import annotations

import pytest

from konvergensi import night_lease, settings

pytestmark = pytest.mark.unit


def test_lease_minutes_default_above_a_night_step_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KONVERGENSI_NIGHT_LEASE_MINUTES", raising=False)
    assert settings.night_lease_minutes() == 120
    monkeypatch.setenv("KONVERGENSI_NIGHT_LEASE_MINUTES", "45")
    assert settings.night_lease_minutes() == 45
    for wrong in ("0", "-5", "two hours"):
        monkeypatch.setenv("KONVERGENSI_NIGHT_LEASE_MINUTES", wrong)
        with pytest.raises((settings.ConfigurationError, RuntimeError), match="KONVERGENSI_NIGHT_LEASE_MINUTES"):
            settings.night_lease_minutes()


def test_wait_defaults_to_refusing_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KONVERGENSI_NIGHT_LEASE_WAIT_SECONDS", raising=False)
    assert settings.night_lease_wait_seconds() == 0
    monkeypatch.setenv("KONVERGENSI_NIGHT_LEASE_WAIT_SECONDS", "600")
    assert settings.night_lease_wait_seconds() == 600


def test_a_task_renews_the_lease_make_run_handed_down_else_its_own_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(night_lease.RUN_SETTING, raising=False)
    assert night_lease.lease_run("scheduled__2026-12-03") == "scheduled__2026-12-03"
    monkeypatch.setenv(night_lease.RUN_SETTING, "make_run__2026-12-03__pid42")
    assert night_lease.lease_run("manual__2026-12-03T01:00:00") == "make_run__2026-12-03__pid42"
