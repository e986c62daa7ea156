"""PUBLIC keeps neither CONNECT nor TEMPORARY on the warehouse database; only the project's roles connect.

A database PostgreSQL creates grants PUBLIC CONNECT and TEMPORARY, so any login of the cluster could
connect and create temporary tables. `roles.apply` revokes both and grants CONNECT to the six
roles, TEMPORARY to the loader and transformer only (COPY staging tables, dbt). Tried for real:
logins connect or are refused, create a temporary table or are refused.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import quote, urlparse, urlunparse

import psycopg
import pytest

from konvergensi import roles
from tests.conftest import apply_roles

pytestmark = pytest.mark.integration


def _login_url(url: str, login: str, password: str) -> str:
    parts = urlparse(url)
    netloc = f"{login}:{quote(password, safe='')}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def _database_acl(url: str) -> dict[str, set[str]]:
    """grantee ('PUBLIC' for 0) -> privileges on the current database."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select coalesce(r.rolname, 'PUBLIC'), a.privilege_type
            from pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
            left join pg_roles r on r.oid = a.grantee
            where d.datname = current_database()
            """
        ).fetchall()
    acl: dict[str, set[str]] = {}
    for grantee, privilege in rows:
        acl.setdefault(grantee, set()).add(privilege)
    return acl


def _try(url: str) -> str:
    """'no connect', 'connect' or 'connect+temp' for one login."""
    try:
        conn = psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as error:
        assert "permission denied for database" in str(error), error
        return "no connect"
    with conn:
        try:
            conn.execute("create temp table probe (id int)")
        except psycopg.errors.InsufficientPrivilege:
            return "connect"
    return "connect+temp"


@pytest.fixture
def stranger(server_url: str) -> Iterator[tuple[str, str]]:
    """A login of the cluster that is in none of the project's roles, and an analyst's person login."""
    suffix = secrets.token_hex(3)
    stranger, analyst, password = f"stranger_{suffix}", f"analis_{suffix}", secrets.token_hex(12)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"create role {stranger} login password '{password}'")
        conn.execute(f"create role {analyst} login password '{password}' in role {roles.ANALYST}")
    try:
        yield stranger, analyst, password
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"drop role if exists {stranger}")
            conn.execute(f"drop role if exists {analyst}")


def test_public_has_no_connect_or_temp_and_only_our_roles_connect(fresh_database_url: str, stranger: tuple) -> None:
    url = fresh_database_url
    acl = _database_acl(url)
    assert "PUBLIC" not in acl, acl
    granted = {grantee: privileges for grantee, privileges in acl.items() if grantee in roles.ROLES}
    assert granted == {
        role: set(roles.DATABASE_PRIVILEGES.get(role, ("CONNECT",))) for role in roles.ROLES
    }, granted
    assert all(p == {"CONNECT"} for r, p in granted.items() if r not in (roles.LOADER, roles.TRANSFORMER))

    login, analyst, password = stranger
    outcomes = {
        "a login outside the project's roles": _try(_login_url(url, login, password)),
        "an analyst's person login": _try(_login_url(url, analyst, password)),
        roles.BI: _try(_login_url(url, roles.BI, roles.role_password(roles.BI))),
        roles.LOADER: _try(_login_url(url, roles.LOADER, roles.role_password(roles.LOADER))),
    }
    assert outcomes == {
        "a login outside the project's roles": "no connect",
        "an analyst's person login": "connect",
        roles.BI: "connect",
        roles.LOADER: "connect+temp",
    }


def test_apply_takes_back_what_someone_granted_public(fresh_database_url: str, stranger: tuple) -> None:
    url = fresh_database_url
    database = urlparse(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'grant connect, temporary on database "{database}" to public')
    assert _database_acl(url)["PUBLIC"] == {"CONNECT", "TEMPORARY"}
    assert _try(_login_url(url, stranger[0], stranger[2])) == "connect+temp"
    apply_roles(url)
    assert "PUBLIC" not in _database_acl(url)
    assert _try(_login_url(url, stranger[0], stranger[2])) == "no connect"
