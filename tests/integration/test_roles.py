"""The roles of docs/roles.md, tried for real: log in as each role and attempt every privilege.

One scratch warehouse (roles applied by the conftest fixture) goes through what a night does, as
the transformer role and without dbt: the reference seeds are loaded, one object is built in each dbt
schema, the synthetic marts (tests/fixtures/gate_marts_*.sql), the case lists and one table of each
consumption layer (analyst, bi) are built into the audit schemas and published by konvergensi.publish — twice, so the grants have survived a swap over
yesterday's marts — and a third night waits in the audit schemas. Then every role tries SELECT,
INSERT, UPDATE, DELETE, TRUNCATE and MAINTAIN (ANALYZE) on every table and CREATE in every schema; each outcome must be
the cell of roles.MATRIX (the source docs/roles.md is generated from). A statement that passes the
privilege check and then fails for another reason (e.g. DEFAULT VALUES into a NOT NULL column)
counts as allowed; only "permission denied" counts as refused. Everything is rolled back.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import psycopg
import pytest
from psycopg import sql

from konvergensi import publish as publishing
from konvergensi import roles

from _gate_fixtures import load_marts
from tests.conftest import roles_held

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
SEEDS = PROJECT / "dbt_project" / "seeds" / "reference"
MEDONO, KRAPYAK, PUSKESMAS = "33.75.01.1002", "33.75.03.1002", "P07"
CHILDREN_PER_KELURAHAN, TASKS_PER_CHILD = 3, 2
POST_CHECK_ERRORS = (psycopg.errors.IntegrityError, psycopg.errors.FeatureNotSupported)
PROBE_TABLE = "privilege_probe"


def login_url(url: str, login: str, password: str) -> str:
    parts = urlparse(url)
    host = parts.hostname or ""
    netloc = f"{login}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def build_night(transformer: str, *, first: bool) -> None:
    """What dbt builds in a night, as the transformer: marts_audit, restricted_audit, and on the first night the rest."""
    load_marts(transformer, "marts_audit")
    with psycopg.connect(transformer) as conn:
        if first:
            for seed, columns in (("ref_kelurahan", "kelurahan_code text, kelurahan_name text, kecamatan_code text, "
                                   "kecamatan_name text, city_code text, city_name text"),
                                  ("ref_facilities", "facility_code text, facility_type text, facility_name text, "
                                   "puskesmas_code text, kelurahan_code text")):
                conn.execute(f"create table reference.{seed} ({columns})")
                with conn.cursor().copy(f"copy reference.{seed} from stdin with (format csv, header)") as copy:
                    copy.write((SEEDS / f"{seed}.csv").read_text())
            conn.execute("create view staging.stg_eppgbm__measurements as select * from raw.eppgbm_measurements")
            conn.execute("create table staging.stg_probe_table as select 1 as id")
            conn.execute("create table intermediate.int_probe as select 1 as id, 'x'::text as kelurahan_code")
            conn.execute("create table identity.child_identity as "
                         "select 'k1'::text as child_key, '3375010101240001'::text as nik, 'Aisyah Putri'::text as child_name")
            conn.execute("create table snapshots.snap_households as select 'h1'::text as household_key, now() as dbt_valid_from")
        conn.execute("create schema restricted_audit")
        conn.execute(
            """
            create table restricted_audit.case_followup_children as
            with area as (
                select distinct on (kelurahan_code) kelurahan_code, puskesmas_code
                from reference.ref_facilities where facility_type = 'posyandu' order by kelurahan_code, facility_code
            )
            select date '2025-06-01' as month, area.kelurahan_code || '-' || n as child_key,
                   'Anak ' || area.kelurahan_code || ' ' || n as child_name,
                   '3375' || lpad((row_number() over ())::text, 12, '0') as nik,
                   area.kelurahan_code, area.puskesmas_code as puskesmas_key
            from area cross join generate_series(1, %(children)s) as n
            """.replace("%(children)s", str(CHILDREN_PER_KELURAHAN))
        )
        conn.execute(
            """
            create table restricted_audit.case_followup_tasks as
            select c.month, c.child_key, 'TASK_' || t as task_code, c.child_name, c.nik, c.kelurahan_code, c.puskesmas_key
            from restricted_audit.case_followup_children as c cross join generate_series(1, %s) as t
            """.replace("%s", str(TASKS_PER_CHILD))
        )
        # the consumption layers (docs/privacy.md): what the analysts and the BI role read instead of marts
        conn.execute("create schema analyst_audit")
        conn.execute("create table analyst_audit.analyst_child_monthly as "
                     "select md5(child_key) as child_key, birth_month, sex from marts_audit.dim_child")
        conn.execute("create schema bi_audit")
        conn.execute("create table bi_audit.bi_stunting_prevalence_monthly as "
                     "select month_start, wilayah_level, wilayah_code, stunted from marts_audit.mart_stunting_prevalence_monthly")


def publish_as(transformer: str, superuser: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = f"roles__{secrets.token_hex(4)}"
    with psycopg.connect(superuser) as conn:  # the gate's verdict (the gate itself: test_gate_publish.py)
        conn.execute("insert into ops.gate_runs (run_id, schema_name, success) values (%s, 'marts_audit', true)", (run_id,))
    with monkeypatch.context() as patch:
        patch.setenv("WAREHOUSE_URL", transformer)
        publishing.publish(run_id)


@pytest.fixture(scope="module")
def night(server_url: str) -> Iterator[dict]:
    from tests.conftest import _scratch_database

    suffix = secrets.token_hex(3)
    logins = {name: f"h6_{name}_{suffix}" for name in ("analyst", "admin", "cw_medono", "cw_krapyak", "cw_p07", "cw_none")}
    password = secrets.token_urlsafe(12)
    with _scratch_database(server_url) as url:
        transformer = roles.role_url(roles.TRANSFORMER, url)
        patch = pytest.MonkeyPatch()
        try:
            build_night(transformer, first=True)
            publish_as(transformer, url, patch)
            build_night(transformer, first=False)
            publish_as(transformer, url, patch)  # over yesterday's marts: the grants survive the swap
            build_night(transformer, first=False)  # tonight's, not yet gated
        finally:
            patch.undo()
        roles.add_login(logins["analyst"], "analyst", password, url)
        roles.add_login(logins["admin"], "admin", password, url)
        roles.add_caseworker(logins["cw_medono"], kelurahan=[MEDONO], password=password, url=url)
        roles.add_caseworker(logins["cw_krapyak"], kelurahan=[KRAPYAK], password=password, url=url)
        roles.add_caseworker(logins["cw_p07"], puskesmas=[PUSKESMAS], password=password, url=url)
        roles.add_login(logins["cw_none"], "caseworker", password, url)
        urls = {name: login_url(url, login, password) for name, login in logins.items()}
        urls |= {role: roles.role_url(role, url) for role in (roles.LOADER, roles.TRANSFORMER, roles.BI)}
        urls |= {roles.ANALYST: urls["analyst"], roles.ADMIN: urls["admin"], roles.CASEWORKER: urls["cw_medono"]}
        try:
            yield {"url": url, "urls": urls, "logins": logins}
        finally:
            with psycopg.connect(url, autocommit=True) as conn:
                for login in logins.values():
                    conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(login)))
    with psycopg.connect(server_url, autocommit=True) as conn:
        for login in logins.values():
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(login)))


def relations(url: str) -> dict[str, list[tuple[str, str, str | None]]]:
    """schema -> [(name, relkind, first updatable column)] for every schema of the matrix."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select n.nspname, c.relname, c.relkind,
                   (select a.attname from pg_attribute as a
                    where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                      and a.attidentity = '' and a.attgenerated = '' order by a.attnum limit 1)
            from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
            where n.nspname = any(%s) and c.relkind in ('r', 'p', 'v', 'm')
            order by 1, 2
            """,
            (list(roles.SCHEMAS),),
        ).fetchall()
    found: dict[str, list[tuple[str, str, str | None]]] = {schema: [] for schema in roles.SCHEMAS}
    for schema, name, kind, column in rows:
        found[schema].append((name, kind, column))
    return found


def allowed(conn: psycopg.Connection, statement: sql.Composable) -> bool:
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("set local lock_timeout = '5s'")
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return False
    except POST_CHECK_ERRORS:
        return True  # past the privilege check
    return True


def may_analyze(conn: psycopg.Connection, target: sql.Composable) -> bool:
    """MAINTAIN, tried: without it ANALYZE does not fail but skips the table with a warning."""
    warnings: list[str] = []

    def collect(notice: psycopg.errors.Diagnostic) -> None:
        warnings.append(notice.message_primary or "")

    conn.add_notice_handler(collect)
    try:
        if not allowed(conn, sql.SQL("analyze {}").format(target)):
            return False
    finally:
        conn.remove_notice_handler(collect)
    return not any("permission denied" in warning for warning in warnings)


def try_everything(url: str, catalog: dict) -> dict[tuple[str, str | None], set[str]]:
    """(schema, table or None for the schema itself) -> the privileges that worked."""
    outcome: dict[tuple[str, str | None], set[str]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for schema, tables in catalog.items():
            name = sql.Identifier(schema)
            probe = sql.SQL("create table {}.{} (id int)").format(name, sql.Identifier(PROBE_TABLE))
            outcome[(schema, None)] = {"CREATE"} if allowed(conn, probe) else set()
            for table, kind, column in tables:
                target = sql.SQL("{}.{}").format(name, sql.Identifier(table))
                statements = {"SELECT": sql.SQL("select * from {} limit 0").format(target)}
                if kind in ("r", "p"):
                    statements |= {
                        "INSERT": sql.SQL("insert into {} default values").format(target),
                        "UPDATE": sql.SQL("update {} set {} = null where false").format(target, sql.Identifier(column)),
                        "DELETE": sql.SQL("delete from {} where false").format(target),
                        "TRUNCATE": sql.SQL("truncate {}").format(target),
                    }
                outcome[(schema, table)] = {p for p, statement in statements.items() if allowed(conn, statement)}
                if kind in ("r", "p") and may_analyze(conn, target):
                    outcome[(schema, table)].add("MAINTAIN")
    return outcome


def test_every_role_has_exactly_the_documented_privileges(night: dict) -> None:
    catalog = relations(night["url"])
    assert all(catalog[schema] for schema in roles.SCHEMAS if schema != "public"), catalog
    observed: dict[str, dict[str, set[str]]] = {}
    mismatches = []
    for role in roles.ROLES:
        outcome = try_everything(night["urls"][role], catalog)
        observed[role] = {}
        for schema, tables in catalog.items():
            schema_cell = outcome[(schema, None)].copy()
            for table, kind, _column in tables:
                expected = roles.expected_privileges(role, schema, table)
                if kind not in ("r", "p"):
                    expected = expected & {"SELECT"}
                if outcome[(schema, table)] != expected:
                    mismatches.append(f"{role} on {schema}.{table}: can {sorted(outcome[(schema, table)])}, "
                                      f"documented {sorted(expected)}")
            if "CREATE" in roles.expected_privileges(role, schema) and "CREATE" not in schema_cell:
                mismatches.append(f"{role} cannot CREATE in {schema}")
            if "CREATE" not in roles.expected_privileges(role, schema) and "CREATE" in schema_cell:
                mismatches.append(f"{role} can CREATE in {schema}")
            ordinary = [t for t, kind, _ in tables if kind in ("r", "p") and (role, f"{schema}.{t}") not in roles.TABLE_EXCEPTIONS]
            if ordinary:
                schema_cell |= set.intersection(*(outcome[(schema, t)] for t in ordinary))
            observed[role][schema] = schema_cell
    print("\nPrivilege matrix as tried (¹ table exceptions, ² row-level security — see docs/roles.md):")
    print(roles.render_matrix(observed))
    assert not mismatches, "\n".join(mismatches)
    assert observed == {role: {s: set(roles.MATRIX[role].get(s, ())) for s in roles.SCHEMAS} for role in roles.ROLES}


def count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_each_caseworker_sees_only_the_rows_of_its_area_and_without_an_area_none(night: dict) -> None:
    urls, superuser = night["urls"], night["url"]
    children, tasks = "restricted.case_followup_children", "restricted.case_followup_tasks"
    for name, column, value in (("cw_medono", "kelurahan_code", MEDONO), ("cw_krapyak", "kelurahan_code", KRAPYAK),
                                ("cw_p07", "puskesmas_key", PUSKESMAS)):
        for table, per_child in ((children, 1), (tasks, TASKS_PER_CHILD)):
            mine = count(superuser, f"select count(*) from {table} where {column} = '{value}'")
            assert mine >= CHILDREN_PER_KELURAHAN * per_child
            assert count(urls[name], f"select count(*) from {table}") == mine, (name, table)
            assert count(urls[name], f"select count(*) from {table} where {column} <> '{value}'") == 0, (name, table)
    assert count(urls["cw_p07"], f"select count(distinct kelurahan_code) from {children}") > 1  # a puskesmas spans kelurahan
    assert count(urls["cw_none"], f"select count(*) from {children}") == 0
    assert count(urls["cw_none"], f"select count(*) from {tasks}") == 0
    assert count(urls["admin"], f"select count(*) from {children}") == count(superuser, f"select count(*) from {children}")
    with psycopg.connect(urls["cw_medono"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from access.caseworker_assignments")


def test_apply_corrects_a_role_given_extra_privileges_and_changes_nothing_when_run_again(night: dict) -> None:
    url, bi = night["url"], night["urls"][roles.BI]
    # the membership and the attribute belong to the server: no other test process may correct them first
    with roles_held(url):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("grant usage on schema raw to konvergensi_bi")
            conn.execute("grant select on raw.eppgbm_measurements to konvergensi_bi")
            conn.execute("grant konvergensi_caseworker to konvergensi_bi")
            conn.execute("alter role konvergensi_bi createdb")
        assert count(bi, "select count(*) from raw.eppgbm_measurements") == 0  # readable now

        report = roles.apply(url)

    corrections = "\n".join(report.corrections)
    assert "SELECT on table raw.eppgbm_measurements from konvergensi_bi" in corrections
    assert "USAGE on schema raw from konvergensi_bi" in corrections
    assert "konvergensi_bi was a member of konvergensi_caseworker" in corrections
    assert "konvergensi_bi had the attribute(s) CREATEDB" in corrections
    assert report.created_roles == []
    with psycopg.connect(bi) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select count(*) from raw.eppgbm_measurements")
    assert count(bi, "select count(*) from bi.bi_stunting_prevalence_monthly") > 0
    with psycopg.connect(url) as conn:
        duplicates = conn.execute("select count(*) from pg_roles where rolname like 'konvergensi\\_%' "
                                  "group by rolname having count(*) > 1").fetchall()
        assert duplicates == []
    again = roles.apply(url)
    assert again.corrections == [] and again.created_roles == []


def test_a_caseworker_assignment_must_name_a_known_area(night: dict) -> None:
    with pytest.raises(roles.RoleError, match="unknown kelurahan code.*33.75.09.9999"):
        roles.add_caseworker("h6_nobody", kelurahan=["33.75.09.9999"], url=night["url"])
    with pytest.raises(roles.RoleError, match="unknown puskesmas key.*P01-1002-01"):
        roles.add_caseworker("h6_nobody", puskesmas=["P01-1002-01"], url=night["url"])  # a posyandu, not a puskesmas
    with psycopg.connect(night["url"]) as conn:
        assert conn.execute("select from pg_roles where rolname = 'h6_nobody'").fetchone() is None


# Part 5: nothing personal readable by the analyst and BI roles ---------------------------------

# 16 digits standing alone (not inside a hex pseudonym or the decimals of a z-score)
SIXTEEN_DIGITS = r"(^|[^0-9A-Za-z.])[0-9]{16}([^0-9A-Za-z.]|$)"


def simulator_names() -> list[str]:
    from konvergensi_simulator import names

    words = set()
    for group in ("BOY_GIVEN", "GIRL_GIVEN", "BOY_SECOND", "GIRL_SECOND", "MOTHER_GIVEN", "MOTHER_SECOND"):
        for name in getattr(names, group):
            words.update(part for part in name.split() if len(part) > 2)
    return sorted(words)


def personal_values(url: str) -> tuple[list[str], int]:
    """Every column the login can read with a value that looks like a NIK/KK or holds a simulator's full name."""
    word = r"\m(" + "|".join(re.escape(word) for word in simulator_names()) + r")\M"
    name_pattern = word + r"\s+" + word  # a given and a second name, as the simulator writes them
    findings = []
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            """
            select c.table_schema, c.table_name, c.column_name from information_schema.columns as c
            where c.table_schema not in ('pg_catalog', 'information_schema')
              and has_column_privilege(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name), c.column_name, 'SELECT')
            order by 1, 2, 3
            """
        ).fetchall()
        assert columns, "the login can read nothing at all"
        for schema, table, column in columns:
            query = sql.SQL("select {col}::text from {schema}.{table} where {col}::text ~ %s or {col}::text ~ %s limit 1").format(
                col=sql.Identifier(column), schema=sql.Identifier(schema), table=sql.Identifier(table))
            row = conn.execute(query, (SIXTEEN_DIGITS, name_pattern)).fetchone()
            if row:
                findings.append(f"{schema}.{table}.{column}: {row[0][:40]!r}")
    return findings, len(columns)


def test_analyst_and_bi_can_read_no_nik_kk_or_name(night: dict) -> None:
    for role in (roles.ANALYST, roles.BI):
        findings, columns = personal_values(night["urls"][role])
        print(f"{role}: {columns} readable columns scanned, {len(findings)} with personal values")
        assert findings == [], findings


def test_the_scan_finds_a_planted_nik_and_name(night: dict) -> None:
    transformer = night["urls"][roles.TRANSFORMER]
    with psycopg.connect(transformer) as conn:
        conn.execute("create table analyst.planted (note text, code bigint)")
        conn.execute("insert into analyst.planted values ('anak: Aisyah Putri', 3375010101240001)")
        conn.execute("grant select on analyst.planted to konvergensi_analyst")
    try:
        findings, _ = personal_values(night["urls"][roles.ANALYST])
    finally:
        with psycopg.connect(transformer) as conn:
            conn.execute("drop table analyst.planted")
    assert sorted(f.split(":")[0] for f in findings) == ["analyst.planted.code", "analyst.planted.note"]


def test_no_mart_column_is_personal_or_read_from_the_identity_or_restricted_models() -> None:
    import json

    manifest = json.loads((PROJECT / "dbt_project" / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    personal = {column for node in nodes.values() if node["resource_type"] == "model"
                for column, spec in node["columns"].items() if (spec.get("description") or "").startswith("PERSONAL")}
    personal |= {"nik", "kk_number", "child_name", "parent_name", "mother_name", "address", "rt", "rw", "birth_date"}
    marts = [node for node in nodes.values()
             if node["resource_type"] == "model" and node["config"].get("schema") in ("marts", "analyst", "bi")]
    assert len(marts) > 30
    for node in marts:
        assert not set(node["columns"]) & personal, (node["name"], set(node["columns"]) & personal)
        upstream = {nodes[d]["config"].get("schema") for d in node["depends_on"]["nodes"] if d in nodes}
        assert not upstream & {"identity", "restricted"}, (node["name"], upstream)


def test_nightly_tasks_connect_as_the_loader_and_the_transformer(night: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from konvergensi import db, settings

    monkeypatch.setenv("WAREHOUSE_URL", night["url"])
    for role in (roles.LOADER, roles.TRANSFORMER):
        with roles.acting_as(role), db.connect() as conn:
            assert conn.execute("select current_user").fetchone()[0] == role
            db.ensure_schema(conn)  # not the owner: only checks that the migrations were applied
    assert settings.warehouse_url() == night["url"]  # restored after the task
    assert settings.dbt_env(night["url"])["DBT_PG_USER"] == roles.TRANSFORMER
    with psycopg.connect(night["url"], autocommit=True) as conn:
        conn.execute("update ops.schema_migrations set checksum = 'old' where script = '001_schemas.sql'")
    try:
        with roles.acting_as(roles.LOADER), db.connect() as conn, pytest.raises(db.SchemaNotMigrated, match="001_schemas.sql"):
            db.ensure_schema(conn)
    finally:
        roles.apply(night["url"])


def test_applies_to_several_databases_at_once_all_succeed(server_url: str) -> None:
    """Roles belong to the server: applies to different databases at the same moment touch the same
    role rows (the per-database advisory lock does not serialise them), and each must still succeed."""
    from tests.conftest import _with_database

    names = [f"konvergensi_test_{secrets.token_hex(4)}" for _ in range(4)]
    with psycopg.connect(server_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'create database "{name}"')
    failures: list[BaseException] = []
    start = threading.Barrier(len(names))

    def apply_to(name: str) -> None:
        start.wait()
        try:
            for _ in range(3):
                roles.apply(_with_database(server_url, name))
        except BaseException as error:  # noqa: BLE001 - reported below, with the database
            failures.append(error)

    try:
        threads = [threading.Thread(target=apply_to, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            for name in names:
                admin.execute(f'drop database if exists "{name}" with (force)')
