"""Database roles, one per kind of user, and exactly the privileges each may have (docs/roles.md).

    python -m konvergensi.roles apply                                   # idempotent, as the superuser
    python -m konvergensi.roles matrix                                  # the documented matrix
    python -m konvergensi.roles add-login LOGIN --role analyst|bi|admin # a person's login in a group
    python -m konvergensi.roles add-caseworker LOGIN --kelurahan CODE [--kelurahan CODE …]
    python -m konvergensi.roles add-caseworker LOGIN --puskesmas KEY

MATRIX below is the single source of truth: `apply` grants it, docs/roles.md shows it (a unit test
keeps the two equal), and the privilege-matrix integration test logs in as every role and tries
every cell. `apply` also *corrects* a role that already exists: privileges outside the matrix
(grants on any schema, table, sequence or function of this database, default privileges,
memberships in other roles, attributes such as SUPERUSER or BYPASSRLS) are revoked, and PUBLIC keeps
no privilege on the database, its schemas or its tables.

Ownership is what lets the nightly swap work without a superuser: the transformer owns every schema
dbt builds (staging, intermediate, identity, snapshots, reference, the audit schemas, and therefore
marts and restricted after a publish), so it may rename and drop them. Tonight's tables are new
objects, so publish calls secure_published() in the swap's transaction: SELECT on analyst for the
analysts, on bi for the analysts and the BI role (marts itself stays internal, docs/privacy.md), and
on restricted for the caseworkers, with row-level security that shows a
caseworker login only the rows of the kelurahan or puskesmas assigned to it in
access.caseworker_assignments (none assigned: no rows). The admin role reads every schema through
default privileges on whatever the transformer creates.

Passwords of the service logins (loader, transformer, BI) come from KONVERGENSI_<ROLE>_PASSWORD or,
for local development, are generated once into <data dir>/role-passwords.json (mode 0600).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlparse, urlunparse

import psycopg
from psycopg import sql

from konvergensi import db, settings

# how often apply runs again after colliding with another database's apply on a role (see apply)
CONCURRENT_ATTEMPTS = 5

LOADER = "konvergensi_loader"
TRANSFORMER = "konvergensi_transformer"
ANALYST = "konvergensi_analyst"
BI = "konvergensi_bi"
CASEWORKER = "konvergensi_caseworker"
ADMIN = "konvergensi_admin"
# Replaced by the roles above; dropped by `apply` (its privileges in this database first).
LEGACY_ROLES = ("konvergensi_field_team",)


@dataclass(frozen=True)
class Role:
    name: str
    login: bool  # a service login the pipeline or a BI tool connects as; otherwise a group of person logins
    purpose: str


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(LOADER, True, "ingest and extract tasks: write raw and ops"),
        Role(TRANSFORMER, True, "dbt, quality gate and publish: read raw, build and own the dbt schemas"),
        Role(ANALYST, False, "analysts: read the pseudonymised analyst marts, the BI aggregates and the reference tables"),
        Role(BI, True, "BI tools (Superset): read the BI aggregates (small cells suppressed) only"),
        Role(CASEWORKER, False, "field caseworkers: read the case lists of their own kelurahan or puskesmas"),
        Role(ADMIN, False, "data engineers: read everything, manage caseworker assignments"),
    )
}
GROUP_SHORT_NAMES = {"analyst": ANALYST, "bi": BI, "caseworker": CASEWORKER, "admin": ADMIN}

# MAINTAIN (PostgreSQL 17+): VACUUM and ANALYZE; the loader settles the raw tables it wrote before dbt reads them.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "MAINTAIN")
PRIVILEGES = (*TABLE_PRIVILEGES, "CREATE")
# Columns of the matrix. The *_previous schemas exist only for a moment during publish.
SCHEMAS = (
    "raw", "ops", "identity", "staging", "intermediate", "snapshots", "marts", "restricted", "analyst", "bi",
    "marts_audit", "restricted_audit", "analyst_audit", "bi_audit", "reference", "access", "public",
)  # fmt: skip
DBT_SCHEMAS = ("identity", "staging", "intermediate", "snapshots", "reference")
# What publish swaps in one transaction (docs/privacy.md for analyst and bi): published, audit, previous.
PUBLISHED_SCHEMAS = ("marts", "restricted", "analyst", "bi")
AUDIT_SCHEMAS = tuple(f"{schema}_audit" for schema in PUBLISHED_SCHEMAS)
PREVIOUS_SCHEMAS = tuple(f"{schema}_previous" for schema in PUBLISHED_SCHEMAS)
SWAPPED_SCHEMAS = PUBLISHED_SCHEMAS + AUDIT_SCHEMAS + PREVIOUS_SCHEMAS
TRANSFORMER_SCHEMAS = DBT_SCHEMAS + SWAPPED_SCHEMAS
ACCESS_SCHEMA = "access"
# USAGE on `access` and EXECUTE on its two functions, and nothing on its table (see docs/roles.md).
ACCESS_FUNCTION_USERS = ("konvergensi_caseworker", "konvergensi_transformer")
# SECURITY DEFINER functions of the migrations (include/konvergensi/sql) and the role that calls each.
DEFINER_FUNCTIONS = {"raw.eppgbm_partition_months()": LOADER}
ASSIGNMENTS = "caseworker_assignments"

_ALL = frozenset(PRIVILEGES)
_READ = frozenset({"SELECT"})
_WRITE = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})

# role -> schema -> privileges on every table of the schema (CREATE: on the schema itself).
MATRIX: dict[str, dict[str, frozenset[str]]] = {
    LOADER: {"raw": _WRITE | {"MAINTAIN"}, "ops": _WRITE},
    TRANSFORMER: {"raw": _READ, "ops": _READ,
                  **{schema: _ALL for schema in TRANSFORMER_SCHEMAS if schema not in PREVIOUS_SCHEMAS}},
    # marts (the star schema with lineage and exact dates) is internal: analysts and BI read their own layers
    ANALYST: {"analyst": _READ, "bi": _READ, "reference": _READ},
    BI: {"bi": _READ},
    CASEWORKER: {"restricted": _READ},
    ADMIN: {**{schema: _READ for schema in SCHEMAS if schema not in ("access", "public")}, "access": _WRITE},
}
# (role, schema.table) -> privileges, where one table differs from the rest of its schema.
TABLE_EXCEPTIONS: dict[tuple[str, str], frozenset[str]] = {
    # the gate's verdicts and the publish log are written by the transformer only
    (LOADER, "ops.gate_runs"): _READ,
    (LOADER, "ops.publish_log"): _READ,
    (LOADER, "ops.schema_migrations"): _READ,
    (TRANSFORMER, "ops.gate_runs"): frozenset({"SELECT", "INSERT"}),
    (TRANSFORMER, "ops.publish_log"): frozenset({"SELECT", "INSERT"}),
    (TRANSFORMER, "ops.transform_runs"): frozenset({"SELECT", "INSERT"}),  # the dbt build's timings
    (TRANSFORMER, "ops.night_runs"): frozenset({"SELECT", "INSERT"}),  # the night a run is for (the gate records it)
}
ROW_LEVEL_SECURITY = {(CASEWORKER, "restricted"): "only rows of the kelurahan / puskesmas assigned to the login"}
# Default privileges on what the transformer creates: (schema or None for all, object type, privilege, grantee).
# The admins read everything it builds; the analysts the reference tables dbt seeds anew.
DEFAULT_GRANTS = (
    (None, "r", "SELECT", ADMIN),
    (None, "n", "USAGE", ADMIN),
    ("reference", "r", "SELECT", ANALYST),
)
# Roles that need TEMPORARY (the loaders' COPY staging tables, dbt snapshots) and CREATE on the database
# (dbt creates tonight's audit schemas; publish renames them).
DATABASE_PRIVILEGES = {LOADER: ("CONNECT", "TEMPORARY"), TRANSFORMER: ("CONNECT", "TEMPORARY", "CREATE")}

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SYSTEM_SCHEMA = "{n}nspname <> 'information_schema' and left({n}nspname, 3) <> 'pg_'"


def expected_privileges(role: str, schema: str, table: str | None = None) -> frozenset[str]:
    """What the matrix grants `role` on `schema` (table=None) or on one table of it (CREATE excluded)."""
    cell = MATRIX.get(role, {}).get(schema, frozenset())
    if table is None:
        return cell
    return TABLE_EXCEPTIONS.get((role, f"{schema}.{table}"), cell) - {"CREATE"}


# Passwords and per-role connections -------------------------------------------------------------


def password_variable(role: str) -> str:
    return f"KONVERGENSI_{role.removeprefix('konvergensi_').upper()}_PASSWORD"


def role_password(role: str) -> str:
    """A service login's password: from the environment, else generated once into the data dir."""
    value = os.environ.get(password_variable(role), "").strip()
    if value:
        return value
    path = settings.data_dir() / "role-passwords.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if role not in stored:
        stored[role] = secrets.token_urlsafe(24)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    return stored[role]


def role_url(role: str, url: str | None = None) -> str:
    """The warehouse URL (default WAREHOUSE_URL) with its user swapped for `role` and that role's password."""
    parts = urlparse(url or settings.warehouse_url())
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{quote(role, safe='')}:{quote(role_password(role), safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunparse(parts._replace(netloc=netloc))


@contextmanager
def acting_as(role: str) -> Iterator[None]:
    """WAREHOUSE_URL swapped for `role`'s connection while a nightly task runs, then restored.

    Everything a task calls reads WAREHOUSE_URL (db.connect, the gate's SQLAlchemy URL), so the
    whole task connects as the role. Tasks of one process run one after the other.
    """
    previous = settings.warehouse_url()
    os.environ["WAREHOUSE_URL"] = role_url(role, previous)
    try:
        yield
    finally:
        os.environ["WAREHOUSE_URL"] = previous


# apply --------------------------------------------------------------------------------------------


@dataclass
class ApplyReport:
    database: str
    created_roles: list[str] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        said = [f"Roles applied to database {self.database}: {', '.join(ROLES)}"]
        if self.created_roles:
            said.append(f"  created: {', '.join(self.created_roles)}")
        said.extend(f"  corrected: {line}" for line in self.corrections)
        return said


def apply(url: str | None = None) -> ApplyReport:
    """Create or correct the roles and grant exactly the matrix in the warehouse database.

    Run as a superuser (or the database owner with CREATEROLE). Runs the migrations first, since the
    grants cover the tables they create. One transaction: a failure changes nothing.

    Roles belong to the server, not the database, and the advisory lock only serialises applies to the
    same database: two databases of one server applied at the same moment can collide on a role's row
    ("tuple concurrently updated"). That transaction then changed nothing, so it is simply run again.
    """
    for attempt in range(1, CONCURRENT_ATTEMPTS + 1):
        try:
            return _apply_once(url)
        except psycopg.errors.InternalError_ as error:
            if "tuple concurrently updated" not in str(error) or attempt == CONCURRENT_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _apply_once(url: str | None) -> ApplyReport:
    with db.connect(url) as conn:
        db.ensure_schema(conn)
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('konvergensi.roles'))")
            database = conn.execute("select current_database()").fetchone()[0]
            report = ApplyReport(database)
            _ensure_roles(conn, report)
            _drop_legacy_roles(conn, report)
            _ensure_schemas(conn)
            _revoke_extras(conn, report)
            _grant_database(conn, database)
            for role, cells in MATRIX.items():
                for schema in cells:
                    if _schema_exists(conn, schema) and schema not in PUBLISHED_SCHEMAS:
                        _grant_schema(conn, role, schema)
            _default_privileges(conn)
            secure_published(conn)
    return report


def _ensure_roles(conn: psycopg.Connection, report: ApplyReport) -> None:
    for role in ROLES.values():
        name = sql.Identifier(role.name)
        if conn.execute("select from pg_roles where rolname = %s", (role.name,)).fetchone() is None:
            # roles belong to the server: another database's apply may create it at the same moment
            conn.execute(sql.SQL(
                "do $$ begin create role {}; exception when duplicate_object then null; end $$").format(name))
            report.created_roles.append(role.name)
        attributes = "login" if role.login else "nologin"
        extra = conn.execute(
            """
            select array_remove(array[
                case when rolsuper then 'SUPERUSER' end, case when rolcreatedb then 'CREATEDB' end,
                case when rolcreaterole then 'CREATEROLE' end, case when rolreplication then 'REPLICATION' end,
                case when rolbypassrls then 'BYPASSRLS' end, case when rolcanlogin <> %s then 'LOGIN' end,
                case when not rolinherit then 'NOINHERIT' end], null)
            from pg_roles where rolname = %s
            """,
            (role.login, role.name),
        ).fetchone()[0]
        if extra and role.name not in report.created_roles:
            report.corrections.append(f"{role.name} had the attribute(s) {', '.join(extra)}")
        conn.execute(
            sql.SQL(
                "alter role {} {} nosuperuser nocreatedb nocreaterole noreplication nobypassrls inherit connection limit -1"
            ).format(name, sql.SQL(attributes))
        )
        if role.login:
            conn.execute(sql.SQL("alter role {} password {}").format(name, sql.Literal(role_password(role.name))))
        else:
            conn.execute(sql.SQL("alter role {} password null").format(name))
        conn.execute(sql.SQL("alter role {} reset all").format(name))
        memberships = conn.execute(
            """
            select granted.rolname
            from pg_auth_members as m
            join pg_roles as granted on granted.oid = m.roleid
            join pg_roles as member on member.oid = m.member
            where member.rolname = %s
            """,
            (role.name,),
        ).fetchall()
        for (granted,) in memberships:
            conn.execute(sql.SQL("revoke {} from {} cascade").format(sql.Identifier(granted), name))
            report.corrections.append(f"{role.name} was a member of {granted}")


def _drop_legacy_roles(conn: psycopg.Connection, report: ApplyReport) -> None:
    for legacy in LEGACY_ROLES:
        if not conn.execute("select from pg_roles where rolname = %s", (legacy,)).fetchone():
            continue
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(legacy)))
        try:
            with conn.transaction():
                conn.execute(sql.SQL("drop role {}").format(sql.Identifier(legacy)))
            report.corrections.append(f"dropped the old role {legacy}")
        except psycopg.errors.DependentObjectsStillExist:
            report.corrections.append(f"revoked {legacy} here; it still has privileges in another database")


def _ensure_schemas(conn: psycopg.Connection) -> None:
    """The dbt schemas and everything in the swapped ones belong to the transformer; access to the superuser."""
    transformer = sql.Identifier(TRANSFORMER)
    for schema in DBT_SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {} authorization {}").format(sql.Identifier(schema), transformer))
    for schema in TRANSFORMER_SCHEMAS:
        if not _schema_exists(conn, schema):
            continue
        conn.execute(sql.SQL("alter schema {} owner to {}").format(sql.Identifier(schema), transformer))
        relations = conn.execute(
            """
            select c.relname, c.relkind
            from pg_class as c
            join pg_namespace as n on n.oid = c.relnamespace
            where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm', 'f')
              and c.relowner <> (select oid from pg_roles where rolname = %s)
            """,
            (schema, TRANSFORMER),
        ).fetchall()
        for relation, kind in relations:
            statement = {"v": "alter view", "m": "alter materialized view", "f": "alter foreign table"}.get(kind, "alter table")
            conn.execute(sql.SQL(statement + " {}.{} owner to {}").format(
                sql.Identifier(schema), sql.Identifier(relation), transformer))
    conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(ACCESS_SCHEMA)))
    conn.execute(
        """
        create table if not exists access.caseworker_assignments (
            login           name not null,
            kelurahan_code  text,
            puskesmas_key   text,
            assigned_at     timestamptz not null default now(),
            constraint one_area check (num_nonnulls(kelurahan_code, puskesmas_key) = 1)
        )
        """
    )
    conn.execute(
        """
        create unique index if not exists caseworker_assignments_unique
        on access.caseworker_assignments (login, coalesce(kelurahan_code, ''), coalesce(puskesmas_key, ''))
        """
    )
    # SECURITY DEFINER: a caseworker's policy reads the assignments of the session's login only,
    # without the caseworker being able to read the table (and everyone else's assignments).
    for function, column in (("assigned_kelurahan", "kelurahan_code"), ("assigned_puskesmas", "puskesmas_key")):
        conn.execute(
            sql.SQL(
                """
                create or replace function access.{function}() returns text[]
                language sql stable security definer set search_path = pg_catalog
                as $$
                    select coalesce(array_agg({column}), '{{}}')
                    from access.caseworker_assignments
                    where login = session_user and {column} is not null
                $$
                """
            ).format(function=sql.Identifier(function), column=sql.Identifier(column))
        )
        conn.execute(sql.SQL("revoke all on function access.{}() from public").format(sql.Identifier(function)))


def _revoke_extras(conn: psycopg.Connection, report: ApplyReport) -> None:
    """Revoke every privilege our roles hold on objects they do not own; PUBLIC loses all of its own.

    What the matrix wants is granted again right after, in the same transaction, so only the
    privileges outside the matrix are really gone; those are reported.
    """
    found = conn.execute(
        """
        with ours as (select oid, rolname from pg_roles where rolname = any(%(roles)s))
        select 'schema', quote_ident(n.nspname), ours.rolname, acl.privilege_type, n.nspname
        from pg_namespace as n
        cross join lateral aclexplode(n.nspacl) as acl
        join ours on ours.oid = acl.grantee
        where n.nspowner <> ours.oid
        union all
        select case when c.relkind = 'S' then 'sequence' else 'table' end,
               quote_ident(n.nspname) || '.' || quote_ident(c.relname), ours.rolname, acl.privilege_type, n.nspname
        from pg_class as c
        join pg_namespace as n on n.oid = c.relnamespace
        cross join lateral aclexplode(c.relacl) as acl
        join ours on ours.oid = acl.grantee
        where c.relowner <> ours.oid and {system}
        union all
        select 'function', p.oid::regprocedure::text, ours.rolname, acl.privilege_type, n.nspname
        from pg_proc as p
        join pg_namespace as n on n.oid = p.pronamespace
        cross join lateral aclexplode(p.proacl) as acl
        join ours on ours.oid = acl.grantee
        where p.proowner <> ours.oid and {system}
        """.format(system=_SYSTEM_SCHEMA.format(n="n.")),
        {"roles": list(ROLES)},
    ).fetchall()
    wanted_functions = {(f"access.{function}()", role) for role in ACCESS_FUNCTION_USERS
                        for function in ("assigned_kelurahan", "assigned_puskesmas")} | set(DEFINER_FUNCTIONS.items())
    for kind, name, role, privilege, schema in found:
        conn.execute(sql.SQL("revoke all on {} {} from {}").format(sql.SQL(kind), sql.SQL(name), sql.Identifier(role)))
        if not _is_wanted(kind, name, role, privilege, schema, wanted_functions):
            report.corrections.append(f"revoked {privilege} on {kind} {name} from {role}")
    defaults = conn.execute(
        """
        select pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, pg_get_userbyid(acl.grantee), acl.privilege_type
        from pg_default_acl as d
        left join pg_namespace as n on n.oid = d.defaclnamespace
        cross join lateral aclexplode(d.defaclacl) as acl
        where pg_get_userbyid(acl.grantee) = any(%s) and acl.grantee <> d.defaclrole
        """,
        (list(ROLES),),
    ).fetchall()
    kinds = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
    for creator, schema, kind, grantee, privilege in defaults:
        in_schema = sql.SQL(" in schema {}").format(sql.Identifier(schema)) if schema else sql.SQL("")
        conn.execute(sql.SQL("alter default privileges for role {}{} revoke all on {} from {}").format(
            sql.Identifier(creator), in_schema, sql.SQL(kinds[kind]), sql.Identifier(grantee)))
        if not (creator == TRANSFORMER and (schema, kind, privilege, grantee) in DEFAULT_GRANTS):
            report.corrections.append(f"revoked default {privilege} on new {kinds[kind]} of {creator} from {grantee}")
    for (schema,) in conn.execute("select nspname from pg_namespace where " + _SYSTEM_SCHEMA.format(n="")).fetchall():
        name = sql.Identifier(schema)
        conn.execute(sql.SQL("revoke all on schema {} from public").format(name))
        conn.execute(sql.SQL("revoke all on all tables in schema {} from public").format(name))
        conn.execute(sql.SQL("revoke all on all sequences in schema {} from public").format(name))


def _is_wanted(kind: str, name: str, role: str, privilege: str, schema: str,
               wanted_functions: set[tuple[str, str]]) -> bool:
    """Whether a privilege found before re-granting is one the matrix grants anyway (not a correction)."""
    if kind == "function":
        return (name, role) in wanted_functions
    if kind == "schema":
        cell = expected_privileges(role, schema)
        if role in ACCESS_FUNCTION_USERS and schema == ACCESS_SCHEMA:
            return privilege == "USAGE"
        return privilege == "USAGE" and bool(cell) or privilege in cell
    if kind == "sequence":
        inserts = "INSERT" in expected_privileges(role, schema) or any(
            r == role and q.startswith(f"{schema}.") and "INSERT" in p for (r, q), p in TABLE_EXCEPTIONS.items())
        return privilege in ("USAGE", "SELECT") and inserts
    table = name.split(".", 1)[1].strip('"')
    return privilege in expected_privileges(role, schema, table)


def _grant_database(conn: psycopg.Connection, database: str) -> None:
    name = sql.Identifier(database)
    conn.execute(sql.SQL("revoke all on database {} from public").format(name))
    for role in ROLES:
        privileges = DATABASE_PRIVILEGES.get(role, ("CONNECT",))
        conn.execute(sql.SQL("revoke all on database {} from {}").format(name, sql.Identifier(role)))
        conn.execute(sql.SQL("grant {} on database {} to {}").format(
            sql.SQL(", ").join(sql.SQL(p) for p in privileges), name, sql.Identifier(role)))


def _grant_schema(conn: psycopg.Connection, role: str, schema: str) -> None:
    """Grant `role` its matrix cell on `schema` and on every table and sequence in it."""
    cell = expected_privileges(role, schema)
    grantee, name = sql.Identifier(role), sql.Identifier(schema)
    if not cell or _owns_schema(conn, role, schema):
        return
    conn.execute(sql.SQL("grant {} on schema {} to {}").format(
        sql.SQL("usage, create" if "CREATE" in cell else "usage"), name, grantee))
    table_privileges = [p for p in TABLE_PRIVILEGES if p in cell]
    if table_privileges:
        conn.execute(sql.SQL("grant {} on all tables in schema {} to {}").format(
            sql.SQL(", ").join(sql.SQL(p) for p in table_privileges), name, grantee))
    if "INSERT" in cell:
        conn.execute(sql.SQL("grant usage, select on all sequences in schema {} to {}").format(name, grantee))
    for (exception_role, qualified), privileges in TABLE_EXCEPTIONS.items():
        table_schema, table = qualified.split(".", 1)
        if exception_role != role or table_schema != schema or not _relation_exists(conn, schema, table):
            continue
        target = sql.SQL("{}.{}").format(name, sql.Identifier(table))
        conn.execute(sql.SQL("revoke all on {} from {}").format(target, grantee))
        conn.execute(sql.SQL("grant {} on {} to {}").format(
            sql.SQL(", ").join(sql.SQL(p) for p in TABLE_PRIVILEGES if p in privileges), target, grantee))
        if "INSERT" in privileges:
            for (sequence,) in _owned_sequences(conn, schema, table):
                conn.execute(sql.SQL("grant usage on sequence {} to {}").format(sql.SQL(sequence), grantee))
        elif "INSERT" in cell:
            for (sequence,) in _owned_sequences(conn, schema, table):
                conn.execute(sql.SQL("revoke all on sequence {} from {}").format(sql.SQL(sequence), grantee))


def _default_privileges(conn: psycopg.Connection) -> None:
    """DEFAULT_GRANTS; and the access and SECURITY DEFINER functions for the roles that use them."""
    kinds = {"r": "tables", "n": "schemas"}
    for schema, kind, privilege, grantee in DEFAULT_GRANTS:
        in_schema = sql.SQL(" in schema {}").format(sql.Identifier(schema)) if schema else sql.SQL("")
        conn.execute(sql.SQL("alter default privileges for role {}{} grant {} on {} to {}").format(
            sql.Identifier(TRANSFORMER), in_schema, sql.SQL(privilege), sql.SQL(kinds[kind]), sql.Identifier(grantee)))
    for role in ACCESS_FUNCTION_USERS:  # the transformer names the functions in the policies it creates at publish
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(sql.Identifier(ACCESS_SCHEMA), sql.Identifier(role)))
        for function in ("assigned_kelurahan", "assigned_puskesmas"):
            conn.execute(sql.SQL("grant execute on function {}.{}() to {}").format(
                sql.Identifier(ACCESS_SCHEMA), sql.Identifier(function), sql.Identifier(role)))
    for function, role in DEFINER_FUNCTIONS.items():
        if conn.execute("select to_regprocedure(%s)", (function,)).fetchone()[0] is not None:
            conn.execute(sql.SQL("grant execute on function {} to {}").format(sql.SQL(function), sql.Identifier(role)))


def secure_published(conn: psycopg.Connection) -> None:
    """Grants and row-level security on the published schemas; publish calls it inside the swap.

    Works as the superuser (apply) and as the transformer, which owns the published tables.
    """
    for schema in PUBLISHED_SCHEMAS:
        if not _schema_exists(conn, schema):
            continue
        for role, cells in MATRIX.items():
            if schema in cells and role != CASEWORKER:
                _grant_schema(conn, role, schema)
    if _schema_exists(conn, "restricted"):
        _restricted_row_level_security(conn)


def _restricted_row_level_security(conn: psycopg.Connection) -> None:
    caseworker, admin = sql.Identifier(CASEWORKER), sql.Identifier(ADMIN)
    conn.execute(sql.SQL("grant usage on schema restricted to {}").format(caseworker))
    for table in _relations(conn, "restricted", kinds=("r", "p")):
        columns = _columns(conn, "restricted", table)
        target = sql.SQL("restricted.{}").format(sql.Identifier(table))
        conn.execute(sql.SQL("alter table {} enable row level security").format(target))
        for policy in ("caseworker_assigned_area", "admin_reads_all"):
            conn.execute(sql.SQL("drop policy if exists {} on {}").format(sql.Identifier(policy), target))
        conn.execute(sql.SQL("create policy admin_reads_all on {} for select to {} using (true)").format(target, admin))
        conditions = []
        if "kelurahan_code" in columns:
            conditions.append("kelurahan_code = any(access.assigned_kelurahan())")
        if "puskesmas_key" in columns:
            conditions.append("puskesmas_key = any(access.assigned_puskesmas())")
        if not conditions:
            # no area to filter on: caseworkers get nothing rather than everything
            conn.execute(sql.SQL("revoke all on {} from {}").format(target, caseworker))
            continue
        conn.execute(sql.SQL("create policy caseworker_assigned_area on {} for select to {} using ({})").format(
            target, caseworker, sql.SQL(" or ".join(conditions))))
        conn.execute(sql.SQL("grant select on {} to {}").format(target, caseworker))


# Person logins -------------------------------------------------------------------------------------


class RoleError(RuntimeError):
    """A login or assignment that cannot be made, with the reason."""


def add_login(login: str, group: str, password: str | None = None, url: str | None = None) -> None:
    """Create `login` (LOGIN, no other attribute) if missing and make it a member of `group` only."""
    group = GROUP_SHORT_NAMES.get(group, group)
    if group not in ROLES or ROLES[group].login and group != BI:
        raise RoleError(f"{group!r} is not a group a person can join: choose one of {', '.join(GROUP_SHORT_NAMES)}")
    _check_login_name(login)
    with db.connect(url) as conn, conn.transaction():
        existing = conn.execute("select rolsuper from pg_roles where rolname = %s", (login,)).fetchone()
        if existing and existing[0]:
            raise RoleError(f"{login} is a superuser: refusing to turn it into a {group} login")
        name = sql.Identifier(login)
        if not existing:
            conn.execute(sql.SQL("create role {} login").format(name))
        conn.execute(sql.SQL("alter role {} login nocreatedb nocreaterole nobypassrls inherit").format(name))
        if password is not None:
            conn.execute(sql.SQL("alter role {} password {}").format(name, sql.Literal(password)))
        others = conn.execute(
            """
            select granted.rolname from pg_auth_members as m
            join pg_roles as granted on granted.oid = m.roleid
            join pg_roles as member on member.oid = m.member
            where member.rolname = %s and granted.rolname = any(%s) and granted.rolname <> %s
            """,
            (login, list(ROLES), group),
        ).fetchall()
        for (other,) in others:
            conn.execute(sql.SQL("revoke {} from {}").format(sql.Identifier(other), name))
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(group), name))


def add_caseworker(login: str, kelurahan: Iterable[str] = (), puskesmas: Iterable[str] = (),
                   password: str | None = None, url: str | None = None) -> None:
    """A caseworker login assigned to kelurahan (codes of reference.ref_kelurahan) or puskesmas keys."""
    kelurahan, puskesmas = list(kelurahan), list(puskesmas)
    if not kelurahan and not puskesmas:
        raise RoleError(f"{login}: give at least one --kelurahan CODE or --puskesmas KEY")
    _check_login_name(login)
    with db.connect(url) as conn:
        _check_known(conn, "reference.ref_kelurahan", "kelurahan_code", kelurahan, "kelurahan code")
        _check_known(conn, "reference.ref_facilities", "facility_code", puskesmas, "puskesmas key",
                     "facility_type = 'puskesmas'")
    add_login(login, CASEWORKER, password, url)
    with db.connect(url) as conn, conn.transaction():
        for code in kelurahan:
            conn.execute(
                "insert into access.caseworker_assignments (login, kelurahan_code) values (%s, %s) on conflict do nothing",
                (login, code))
        for key in puskesmas:
            conn.execute(
                "insert into access.caseworker_assignments (login, puskesmas_key) values (%s, %s) on conflict do nothing",
                (login, key))


def _check_login_name(login: str) -> None:
    if not _IDENTIFIER.match(login):
        raise RoleError(f"{login!r} is not a valid login name (lower-case letters, digits and _, at most 63)")
    if login in ROLES or login in LEGACY_ROLES or login.startswith("pg_"):
        raise RoleError(f"{login} is one of the project's or the server's own roles, not a person's login")


def _check_known(conn: psycopg.Connection, table: str, column: str, values: list[str], what: str,
                 condition: str = "true") -> None:
    if not values:
        return
    if conn.execute("select to_regclass(%s)", (table,)).fetchone()[0] is None:
        raise RoleError(f"{table} does not exist yet (dbt seeds it on the first night): cannot check {what}s {values}")
    known = {row[0] for row in conn.execute(
        sql.SQL("select {} from {} where " + condition).format(sql.Identifier(column), sql.SQL(table))).fetchall()}
    unknown = [value for value in values if value not in known]
    if unknown:
        raise RoleError(f"unknown {what}(s) {', '.join(unknown)}: not in {table}")


# Helpers -------------------------------------------------------------------------------------------


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("select from pg_namespace where nspname = %s", (schema,)).fetchone() is not None


def _owns_schema(conn: psycopg.Connection, role: str, schema: str) -> bool:
    row = conn.execute("select pg_get_userbyid(nspowner) = %s from pg_namespace where nspname = %s", (role, schema)).fetchone()
    return bool(row and row[0])


def _relation_exists(conn: psycopg.Connection, schema: str, relation: str) -> bool:
    return relation in _relations(conn, schema)


def _relations(conn: psycopg.Connection, schema: str, kinds: tuple[str, ...] = ("r", "p", "v", "m", "f")) -> list[str]:
    rows = conn.execute(
        """
        select c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where n.nspname = %s and c.relkind::text = any(%s) order by c.relname
        """,
        (schema, list(kinds)),
    ).fetchall()
    return [row[0] for row in rows]


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
        (schema, table),
    ).fetchall()
    return {row[0] for row in rows}


def _owned_sequences(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str]]:
    return conn.execute(
        """
        select s.oid::regclass::text
        from pg_class as s
        join pg_depend as d on d.objid = s.oid and d.classid = 'pg_class'::regclass
        where s.relkind = 'S' and d.refobjid = to_regclass(%s) and d.deptype in ('a', 'i')
        """,
        (f"{schema}.{table}",),
    ).fetchall()


# The matrix as text ---------------------------------------------------------------------------------


def cell_text(privileges: Iterable[str]) -> str:
    chosen = [p for p in PRIVILEGES if p in set(privileges)]
    return ", ".join(chosen) if chosen else "—"


def render_matrix(matrix: dict[str, dict[str, Iterable[str]]] | None = None, marks: dict[tuple[str, str], str] | None = None) -> str:
    """A Markdown table: rows = roles, columns = schemas; `marks` appends footnote marks to cells."""
    matrix = matrix if matrix is not None else MATRIX
    marks = marks if marks is not None else default_marks()
    lines = ["| role | " + " | ".join(SCHEMAS) + " |", "|---|" + "---|" * len(SCHEMAS)]
    for role in ROLES:
        cells = [cell_text(matrix.get(role, {}).get(schema, ())) + marks.get((role, schema), "") for schema in SCHEMAS]
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def default_marks() -> dict[tuple[str, str], str]:
    marks = {(role, qualified.split(".")[0]): " ¹" for role, qualified in TABLE_EXCEPTIONS}
    marks.update({key: " ²" for key in ROW_LEVEL_SECURITY})
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("apply", help="create or correct the roles and their privileges (as the superuser)")
    commands.add_parser("matrix", help="print the privilege matrix (Markdown)")
    login = commands.add_parser("add-login", help="a person's login in one group")
    login.add_argument("login")
    login.add_argument("--role", required=True, choices=sorted(GROUP_SHORT_NAMES))
    login.add_argument("--password-env", metavar="VAR", help="take the password from this environment variable")
    caseworker = commands.add_parser("add-caseworker", help="a caseworker login and its kelurahan / puskesmas")
    caseworker.add_argument("login")
    caseworker.add_argument("--kelurahan", action="append", default=[], metavar="CODE")
    caseworker.add_argument("--puskesmas", action="append", default=[], metavar="KEY")
    caseworker.add_argument("--password-env", metavar="VAR", help="take the password from this environment variable")
    args = parser.parse_args(argv)
    if args.command == "matrix":
        print(render_matrix())
        return 0
    if args.command == "apply":
        for line in apply().lines():
            print(line)
        return 0
    password, generated = None, False
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            parser.error(f"{args.password_env} is not set")
    else:
        password, generated = secrets.token_urlsafe(18), True
    try:
        if args.command == "add-login":
            add_login(args.login, args.role, password)
            print(f"{args.login} can log in as a member of {GROUP_SHORT_NAMES[args.role]}")
        else:
            add_caseworker(args.login, args.kelurahan, args.puskesmas, password)
            areas = [f"kelurahan {code}" for code in args.kelurahan] + [f"puskesmas {key}" for key in args.puskesmas]
            print(f"{args.login} is a caseworker for {', '.join(areas)}")
    except RoleError as exc:
        print(exc, file=sys.stderr)
        return 1
    if generated:
        print(f"password (shown once, pass it on securely): {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
