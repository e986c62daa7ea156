"""The compose stack's check-env refuses .env.example as it is, and every malformed setting, by name."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from konvergensi.deployment import PLACEHOLDER, problems, write_airflow_passwords

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]


def env_example() -> dict[str, str]:
    lines = (PROJECT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def filled_in() -> dict[str, str]:
    """.env.example with every placeholder replaced the way docs/deployment.md tells."""
    settings = env_example()
    for index, name in enumerate(sorted(settings)):
        if settings[name] == PLACEHOLDER:
            settings[name] = f"{index:02d}" + "a1b2c3d4e5f60718" * 3
    settings["KONVERGENSI_PSEUDONYM_KEY"] = "0f" * 32
    settings["AIRFLOW_FERNET_KEY"] = base64.urlsafe_b64encode(bytes(range(32))).decode()
    return settings


def test_env_example_as_it_is_is_refused_naming_every_placeholder() -> None:
    settings = env_example()
    found = problems(settings)
    placeholders = sorted(name for name, value in settings.items() if PLACEHOLDER in value)
    assert len(placeholders) >= 12
    assert len(found) == len(placeholders)
    for name, line in zip(placeholders, found, strict=True):
        assert line.startswith(f"{name} still holds the placeholder")


def test_a_filled_in_env_is_accepted() -> None:
    assert problems(filled_in()) == []


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("KONVERGENSI_LOADER_PASSWORD", "tiny-pw", "shorter than 16"),
        ("AIRFLOW_DB_PASSWORD", "with@and/in-a-url-password", "part of a connection URL"),
        ("SUPERSET_ADMIN_PASSWORD", "pw", "shorter than 16"),
        ("AIRFLOW_JWT_SECRET", "x" * 31, "shorter than 32"),
        ("KONVERGENSI_PSEUDONYM_KEY", "ab" * 31, "64 hexadecimal"),
        ("AIRFLOW_FERNET_KEY", "not-a-fernet-key", "not a Fernet key"),
        ("AIRFLOW_EXECUTOR", "KubernetesExecutor", "LocalExecutor, CeleryExecutor"),
        ("WAREHOUSE_SUPERUSER_PASSWORD", "", "is not set"),
    ],
)
def test_a_malformed_setting_is_named_with_the_reason_and_without_its_value(name: str, value: str, reason: str) -> None:
    settings = filled_in() | {name: value}
    found = problems(settings)
    assert len(found) == 1, found
    assert found[0].startswith(name) and reason in found[0]
    if value:
        assert value not in found[0]


def test_the_celery_profile_needs_the_celery_executor() -> None:
    found = problems(filled_in() | {"COMPOSE_PROFILES": "celery"})
    assert len(found) == 1 and found[0].startswith("AIRFLOW_EXECUTOR must be CeleryExecutor")
    assert problems(filled_in() | {"COMPOSE_PROFILES": "celery", "AIRFLOW_EXECUTOR": "CeleryExecutor"}) == []


def test_a_services_url_needs_its_token() -> None:
    found = problems(filled_in() | {"KONVERGENSI_SERVICES_API_URL": "https://layanan.example/api/v1"})
    assert found == ["KONVERGENSI_SERVICES_API_TOKEN is not set although KONVERGENSI_SERVICES_API_URL is"]


def _run(*arguments: str, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "konvergensi.deployment", *arguments],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(PROJECT / "include"), **settings},
        capture_output=True, text=True, timeout=60,
    )


def test_check_env_exits_non_zero_on_the_example_and_zero_when_filled_in() -> None:
    refused = _run("check-env", settings=env_example())
    assert refused.returncode == 1
    assert "The stack will not start" in refused.stderr and "AIRFLOW_FERNET_KEY still holds the placeholder" in refused.stderr
    accepted = _run("check-env", settings=filled_in())
    assert accepted.returncode == 0, accepted.stderr
    for value in filled_in().values():
        if len(value) > 8:
            assert value not in accepted.stdout + accepted.stderr


def test_airflow_passwords_file_is_private_and_follows_env(tmp_path: Path) -> None:
    path = tmp_path / "auth" / "passwords.json"
    write_airflow_passwords(path, {"AIRFLOW_ADMIN_USER": "admin", "AIRFLOW_ADMIN_PASSWORD": "first-password-123"})
    assert json.loads(path.read_text()) == {"admin": "first-password-123"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = _run("airflow-passwords", "--file", str(path), settings={"AIRFLOW_ADMIN_USER": "admin", "AIRFLOW_ADMIN_PASSWORD": "second-password-456"})
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text()) == {"admin": "second-password-456"}
    assert "second-password-456" not in result.stdout
    assert [entry.name for entry in path.parent.iterdir()] == ["passwords.json"]


def test_airflow_passwords_without_a_password_fails_clearly(tmp_path: Path) -> None:
    result = _run("airflow-passwords", "--file", str(tmp_path / "p.json"), settings={"AIRFLOW_ADMIN_USER": "admin"})
    assert result.returncode == 1
    assert "AIRFLOW_ADMIN_PASSWORD must both be set" in result.stderr
    assert not (tmp_path / "p.json").exists()
