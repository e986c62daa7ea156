"""`python -m konvergensi.db migrate` fails clearly when the warehouse is not configured or not there."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]


def _migrate(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "konvergensi.db", *(arguments or ("migrate",))],
        env={**environment, "PYTHONPATH": str(PROJECT / "include")},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_migrate_without_warehouse_url_names_the_setting() -> None:
    environment = {key: value for key, value in os.environ.items() if key != "WAREHOUSE_URL"}
    result = _migrate(environment)
    assert result.returncode == 2
    assert "WAREHOUSE_URL is not set" in result.stderr


def test_migrate_on_an_unreachable_warehouse_names_it_without_the_password() -> None:
    port = _closed_port()
    url = f"postgresql://konvergensi_admin:s3cret-pw@127.0.0.1:{port}/konvergensi?connect_timeout=5"
    result = _migrate({**os.environ, "WAREHOUSE_URL": url})
    assert result.returncode == 1
    assert f"cannot reach the warehouse konvergensi_admin@127.0.0.1:{port}/konvergensi" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_an_unknown_command_is_refused_listing_migrate() -> None:
    result = _migrate(dict(os.environ), "upgrade")
    assert result.returncode != 0
    assert "migrate" in result.stderr
