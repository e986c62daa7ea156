"""Files that cannot run here (no Docker engine) are still checked for consistency."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT / "docker-compose.yml").read_text())


def test_compose_mounts_exist(compose: dict) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (PROJECT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_compose_services_are_wired(compose: dict) -> None:
    services = compose["services"]
    airflow = services["airflow"]
    assert set(airflow["depends_on"]) <= set(services)
    environment = airflow["environment"]
    warehouse = services["warehouse"]["environment"]
    assert f"@warehouse:5432/{warehouse['POSTGRES_DB']}" in environment["WAREHOUSE_URL"]
    assert environment["DBT_PG_DBNAME"] == warehouse["POSTGRES_DB"]
    assert environment["DBT_PG_USER"] == warehouse["POSTGRES_USER"]
    assert airflow["image"].startswith("apache/airflow:3.3.2-python3.11")


def test_compose_has_no_literal_secrets(compose: dict) -> None:
    text = (PROJECT / "docker-compose.yml").read_text()
    for key in ("PASSWORD", "PSEUDONYM_KEY"):
        for value in re.findall(rf"{key}[A-Z_]*:\s*(\S+)", text):
            assert value.startswith("${"), f"{key} has a literal value {value}"


def test_requirements_pin_the_tested_stack() -> None:
    pins = dict(
        line.split("==")
        for line in (PROJECT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["apache-airflow"] == "3.3.2"
    assert pins["dbt-core"] == "1.11.16"
    assert pins["great-expectations"] == "1.24.1"
    assert all(version.strip() for version in pins.values())
