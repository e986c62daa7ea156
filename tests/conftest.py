"""Shared fixtures: a fresh database on a real PostgreSQL for each test session.

`make test` exports WAREHOUSE_URL (the embedded server it started, or the user's own). Tests never
touch that database itself: they create `konvergensi_test_<random>` beside it and drop it after.
Every scratch database gets the migrations and the roles (konvergensi.roles.apply), as a warehouse
does before its first night, so that the pipeline can connect as the loader and transformer roles.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from konvergensi import roles

# One password per service role for the whole session and every subprocess it starts (Airflow, dbt),
# whatever data directory those use; never the developer's generated ones.
for _role in roles.ROLES:
    os.environ.setdefault(roles.password_variable(_role), f"test-{secrets.token_hex(8)}")
# The pseudonym key of every test and subprocess (fixtures of a wider scope run before the one below);
# a night without a key refuses to start, and tests never create or read the developer's key file.
TEST_PSEUDONYM_KEY = "00" * 16 + "11" * 16
os.environ["KONVERGENSI_PSEUDONYM_KEY"] = TEST_PSEUDONYM_KEY


def _with_database(url: str, database: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def server_url() -> str:
    url = os.environ.get("WAREHOUSE_URL")
    if not url:
        from konvergensi.warehouse import start

        url = start()
    return url


@contextmanager
def roles_held(server_url: str) -> Iterator[None]:
    """While held, no other test process applies the roles on this server (make test runs two workers).

    Roles belong to the server, not a database: a test that gives a role an extra privilege to see
    `roles.apply` take it back must not have another worker's apply take it back first.
    """
    port = urlparse(server_url).port or 5432
    with open(Path(tempfile.gettempdir()) / f"konvergensi-test-roles-{port}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def apply_roles(url: str) -> roles.ApplyReport:
    """`roles.apply` on `url` while no other test process applies roles on its server (see roles_held)."""
    with roles_held(url):
        return roles.apply(url)


@contextmanager
def _scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database beside the warehouse, dropped afterwards."""
    name = f"konvergensi_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        url = _with_database(server_url, name)
        apply_roles(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def test_database_url(server_url: str) -> Iterator[str]:
    """One scratch database for the whole session."""
    with _scratch_database(server_url) as url:
        yield url


@pytest.fixture
def fresh_database_url(server_url: str) -> Iterator[str]:
    """One scratch database per test."""
    with _scratch_database(server_url) as url:
        yield url


@pytest.fixture(autouse=True)
def _test_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed key so tests never create or read the developer's key file."""
    monkeypatch.setenv("KONVERGENSI_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)


@pytest.fixture(scope="session")
def published_night(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[object]:
    """One small city loaded, built, gated and published for the session (tests/fixtures/published_night.py)."""
    from tests.fixtures.published_night import publish_small_night

    with publish_small_night(tmp_path_factory.mktemp("published_night"), server_url) as night:
        yield night
