"""Which sources a deployment has: KONVERGENSI_SOURCES, its default, and the errors at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from konvergensi import settings
from konvergensi.settings import ConfigurationError, configured_sources

pytestmark = pytest.mark.unit

URLS = {
    "KONVERGENSI_SERVICES_API_URL": "http://services.example/api/v1",
    "KONVERGENSI_PUPR_API_URL": "http://pupr.example/pupr",
    "KONVERGENSI_DTSEN_URL": "postgresql://reader@dtsen.example/dtsen",
}


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in (settings.SOURCES_SETTING, *URLS):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("KONVERGENSI_LANDING_DIR", str(tmp_path))


def test_default_is_eppgbm_alone_on_a_bare_deployment() -> None:
    assert configured_sources() == {"eppgbm": "always"}


def test_default_adds_bkkbn_with_its_folder_and_each_pulled_source_with_its_url(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "bkkbn").mkdir()
    monkeypatch.setenv("KONVERGENSI_PUPR_API_URL", URLS["KONVERGENSI_PUPR_API_URL"])
    assert list(configured_sources()) == ["eppgbm", "bkkbn", "pupr_surveys", "pupr_projects"]
    assert configured_sources()["pupr_surveys"] == "default: KONVERGENSI_PUPR_API_URL is set"


def test_the_setting_names_the_sources_and_overrides_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "bkkbn").mkdir()
    for variable, value in URLS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv(settings.SOURCES_SETTING, " Services , pregnancies,pupr ")
    assert list(configured_sources()) == ["eppgbm", "services", "pregnancies", "pupr_surveys", "pupr_projects"]
    assert not settings.is_configured("dtsen") and not settings.is_configured("bkkbn")
    monkeypatch.setenv(settings.SOURCES_SETTING, "all")
    assert list(configured_sources()) == list(settings.KNOWN_SOURCES)


def test_an_unknown_source_is_an_error_naming_it_and_the_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.SOURCES_SETTING, "eppgbm,simpus")
    with pytest.raises(ConfigurationError, match=r"unknown source 'simpus'; known sources are eppgbm, bkkbn, services"):
        configured_sources()


def test_a_named_pulled_source_without_its_url_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.SOURCES_SETTING, "eppgbm,dtsen")
    with pytest.raises(ConfigurationError, match="names dtsen but KONVERGENSI_DTSEN_URL is not set"):
        configured_sources()


def test_an_unknown_source_fails_the_load_task_without_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from konvergensi import nightly_tasks

    monkeypatch.setenv(settings.SOURCES_SETTING, "eppgbm,simpus")
    with pytest.raises(AirflowFailException, match="unknown source 'simpus'"):
        nightly_tasks.configuration("eppgbm", "run")  # before any database is touched
