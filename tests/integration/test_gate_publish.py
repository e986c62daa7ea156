"""The quality gate (Great Expectations) and the atomic publish, on synthetic marts in PostgreSQL.

A database `gate_test_<random>` is created beside WAREHOUSE_URL (or on the embedded server the
shared `server_url` fixture starts when it is unset) and dropped at the end. The marts come from
tests/fixtures/gate_marts_*.sql: a consistent set, a faulty one, a doubtful one, a partial night.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from konvergensi import settings
from konvergensi.gate import GateFailed, enforce
from konvergensi.gate import run_gate as run_any_gate
from konvergensi.publish import PublishRefused, publish
from konvergensi.roles import ANALYST, BI, CASEWORKER

from _gate_fixtures import (
    DROP_LATEST_MONTH,
    MART_TABLES,
    fixture_sql,
    load_marts,
    mart_state,
    scalar,
    schema_exists,
)
from tests.conftest import apply_roles

AUDIT = "marts_audit"
PUBLISHED = "marts"


def run_gate(run_id: str, schema: str | None = None):
    """The spine's checkpoint only: these fixtures hold the e-PPGBM marts, not the convergence ones."""
    return run_any_gate(run_id, schema, checkpoints=("konvergensi_marts_gate",))


@pytest.fixture(scope="module")
def gate_database(server_url: str) -> Iterator[str]:
    name = f"gate_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    url = urlunparse(urlparse(server_url)._replace(path=f"/{name}"))
    try:
        apply_roles(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def warehouse(gate_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test database as the warehouse, without marts from a previous test."""
    monkeypatch.setenv("WAREHOUSE_URL", gate_database)
    monkeypatch.setenv("KONVERGENSI_MARTS_SCHEMA", AUDIT)
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    with psycopg.connect(gate_database) as conn:
        for schema in (AUDIT, PUBLISHED, PUBLISHED + "_previous", "restricted_audit", "restricted"):
            conn.execute(f"drop schema if exists {schema} cascade")
    return gate_database


def new_run_id() -> str:
    return f"test__{secrets.token_hex(4)}"


def latest_gate_row(url: str, run_id: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select success, schema_name, failed_expectations, warnings, data_docs_path from ops.gate_runs "
            "where run_id = %s order by gate_run_id desc limit 1",
            (run_id,),
        ).fetchone()


def names(findings: list) -> set[str]:
    return {finding["expectation"] for finding in findings}


@pytest.mark.integration
def test_good_marts_pass_and_are_published_atomically(warehouse: str) -> None:
    load_marts(warehouse, PUBLISHED, before_derive=[DROP_LATEST_MONTH])  # yesterday
    load_marts(warehouse, AUDIT)
    yesterday, tonight = mart_state(warehouse, PUBLISHED), mart_state(warehouse, AUDIT)
    assert yesterday != tonight
    run_id = new_run_id()

    result = run_gate(run_id)

    assert result.success, json.dumps(result.failed, indent=1)[:4000]
    assert result.failed == [] and result.warnings == []
    assert result.schema == AUDIT
    assert result.data_docs_path.name == "index.html" and result.data_docs_path.is_file()
    enforce(result)
    success, schema_name, failed, warnings, docs = latest_gate_row(warehouse, run_id)
    assert (success, schema_name, failed, warnings, docs) == (True, AUDIT, [], [], str(result.data_docs_path))

    stop, seen, errors = threading.Event(), set(), []

    def read_marts() -> None:
        with psycopg.connect(warehouse, autocommit=True) as reader:
            while not stop.is_set():
                try:
                    seen.add(reader.execute("select count(*) from marts.fct_anthropometry").fetchone()[0])
                except psycopg.Error as exc:
                    errors.append(str(exc))

    reader = threading.Thread(target=read_marts)
    reader.start()
    time.sleep(0.2)
    try:
        published = publish(run_id)
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()

    assert errors == []  # a concurrent reader never found `marts` missing
    assert seen <= {yesterday["fct_anthropometry"][0], tonight["fct_anthropometry"][0]}
    assert tonight["fct_anthropometry"][0] in seen
    assert mart_state(warehouse, PUBLISHED) == tonight
    assert published.tables == sorted(MART_TABLES) and published.previous_dropped
    assert not schema_exists(warehouse, AUDIT) and not schema_exists(warehouse, PUBLISHED + "_previous")
    for table in MART_TABLES:  # tonight's tables are new objects: publish granted them (the admins read marts)
        assert scalar(warehouse, "select has_table_privilege('konvergensi_admin', %s, 'SELECT')", (f"marts.{table}",))
    for reader in (ANALYST, BI):  # marts is internal: they read the analyst and bi layers (docs/privacy.md)
        for restricted in ("marts", "raw", "identity"):
            assert scalar(warehouse, "select has_schema_privilege(%s, %s, 'USAGE')", (reader, restricted)) is False
    assert scalar(
        warehouse, "select count(*) from ops.publish_log where run_id = %s and source_schema = %s and target_schema = %s",
        (run_id, AUDIT, PUBLISHED),
    ) == 1
    # the next night's dbt can create the audit schema again
    load_marts(warehouse, AUDIT)
    assert mart_state(warehouse, AUDIT) == tonight


@pytest.mark.integration
def test_bad_marts_fail_the_gate_and_yesterdays_marts_stay(warehouse: str) -> None:
    load_marts(warehouse, PUBLISHED, before_derive=[DROP_LATEST_MONTH])
    load_marts(warehouse, AUDIT, after_derive=[fixture_sql("bad")])
    yesterday = mart_state(warehouse, PUBLISHED)
    run_id = new_run_id()

    result = run_gate(run_id)

    assert not result.success
    assert names(result.failed) == {"no_measurement_twice", "haz_category_matches_haz", "child_in_dim_child"}
    assert {(f["suite"], f["table"]) for f in result.failed} == {("fct_anthropometry_fail", "fct_anthropometry")}
    orphan = next(f for f in result.failed if f["expectation"] == "child_in_dim_child")
    assert orphan["details"]["observed_value"] == 1 and orphan["details"]["sample_rows"]
    assert result.data_docs_path.is_file()
    with pytest.raises(GateFailed) as failure:
        enforce(result)
    message = str(failure.value)
    for name in names(result.failed):
        assert name in message
    assert str(result.data_docs_path) in message

    success, schema_name, failed, _warnings, _docs = latest_gate_row(warehouse, run_id)
    assert success is False and schema_name == AUDIT
    assert names(failed) == names(result.failed)

    with pytest.raises(PublishRefused):
        publish(run_id)
    assert mart_state(warehouse, PUBLISHED) == yesterday
    assert schema_exists(warehouse, AUDIT)  # kept for inspection
    assert scalar(warehouse, "select count(*) from ops.publish_log where run_id = %s", (run_id,)) == 0


@pytest.mark.integration
def test_doubtful_marts_pass_with_warnings(warehouse: str) -> None:
    load_marts(warehouse, AUDIT, before_derive=[fixture_sql("warn")])
    run_id = new_run_id()

    result = run_gate(run_id)

    assert result.success, json.dumps(result.failed, indent=1)[:4000]
    assert result.failed == []
    assert {"kelurahan_without_data_latest_month", "haz_sd_outside_who_range"} <= names(result.warnings)
    assert all(w["suite"].endswith("_warn") for w in result.warnings)
    missing = next(w for w in result.warnings if w["expectation"] == "kelurahan_without_data_latest_month")
    assert [row["kelurahan_name"] for row in missing["details"]["sample_rows"]] == ["Bandengan"]
    spread = next(w for w in result.warnings if w["expectation"] == "haz_sd_outside_who_range")
    assert [row["measurement_month"] for row in spread["details"]["sample_rows"]] == ["2025-06-01"]
    enforce(result)
    success, _schema, failed, warnings, _docs = latest_gate_row(warehouse, run_id)
    assert success is True and failed == [] and names(warnings) == names(result.warnings)


@pytest.mark.integration
def test_night_with_few_puskesmas_passes_with_warnings_only(warehouse: str) -> None:
    load_marts(warehouse, AUDIT, before_derive=[fixture_sql("partial_night")])

    result = run_gate(new_run_id())

    assert result.success, json.dumps(result.failed, indent=1)[:4000]
    assert "kelurahan_without_data_latest_month" in names(result.warnings)


@pytest.mark.integration
def test_missing_marts_fail_the_gate_and_publish_refuses_without_a_passed_gate(warehouse: str) -> None:
    run_id = new_run_id()
    with pytest.raises(PublishRefused):
        publish(run_id)  # no gate run at all

    result = run_gate(run_id)  # the audit schema does not exist
    assert not result.success
    assert names(result.failed) == {"table_exists"}
    assert {f["table"] for f in result.failed} == set(MART_TABLES)
    with pytest.raises(PublishRefused):
        publish(run_id)

    load_marts(warehouse, "marts_elsewhere")
    assert run_gate(run_id, "marts_elsewhere").success
    load_marts(warehouse, AUDIT)
    with pytest.raises(PublishRefused):
        publish(run_id)  # the passed gate validated another schema
    assert not schema_exists(warehouse, PUBLISHED)
    with psycopg.connect(warehouse) as conn:
        conn.execute("drop schema marts_elsewhere cascade")


@pytest.mark.unit
def test_batch_placeholder_is_aliased_only_in_queries_with_a_join() -> None:
    """GX renders {batch} as `(...) AS subselect` unless the query contains JOIN, then as `(...)`.

    PostgreSQL before 16 rejects a subquery without alias, so a query with JOIN must alias every
    {batch} itself and a query without JOIN must not (it would alias twice).
    """
    queries = 0
    for path in sorted((settings.EXPECTATIONS_DIR / "expectations").glob("*.json")):
        for expectation in json.loads(path.read_text())["expectations"]:
            query = expectation["kwargs"].get("unexpected_rows_query")
            if query is None:
                continue
            queries += 1
            has_join = re.search(r"\bjoin\b", query, re.IGNORECASE) is not None
            aliased = re.findall(r"\{batch\}(\s+as\s+\w+)?", query, re.IGNORECASE)
            assert aliased, f"{path.name}: query without {{batch}}"
            check = expectation["meta"]["check"]
            assert all(bool(alias) == has_join for alias in aliased), f"{path.name}: {check}"
            assert not re.search(r"\bmarts(_audit)?\.", query), f"{path.name}: {check} names a schema"
    assert queries > 20


@pytest.mark.integration
def test_field_lists_are_published_with_the_marts_and_only_to_the_caseworkers(warehouse: str) -> None:
    load_marts(warehouse, AUDIT)
    with psycopg.connect(warehouse) as conn:
        conn.execute("create schema restricted_audit")
        conn.execute("create table restricted_audit.case_followup_children "
                     "(child_key text, child_name text, kelurahan_code text)")
        conn.execute("insert into restricted_audit.case_followup_children values ('k1', 'Aisyah', '33.75.01.1002')")
    run_id = new_run_id()
    assert run_gate(run_id).success

    published = publish(run_id)

    assert published.restricted_tables == ["case_followup_children"]
    assert not schema_exists(warehouse, "restricted_audit")
    assert scalar(warehouse, "select count(*) from restricted.case_followup_children") == 1
    table = "restricted.case_followup_children"
    assert scalar(warehouse, "select has_table_privilege(%s, %s, 'SELECT')", (CASEWORKER, table)) is True
    assert scalar(warehouse, "select relrowsecurity from pg_class where oid = %s::regclass", (table,)) is True
    for reader in (ANALYST, BI):
        assert scalar(warehouse, "select has_schema_privilege(%s, 'restricted', 'USAGE')", (reader,)) is False
        assert scalar(warehouse, "select has_table_privilege(%s, %s, 'SELECT')", (reader, table)) is False
    assert scalar(warehouse, "select has_schema_privilege(%s, 'marts', 'USAGE')", (CASEWORKER,)) is False


PERSONAL_TABLES_SQL = """
create schema restricted_audit;
create table restricted_audit.case_followup_children (
    month date, child_key text, case_category text, followup_reasons text[], nik text, child_name text,
    birth_date date, kelurahan_code text, last_measured_on date, nutrition_status text,
    missing_interventions_count int, missing_interventions text[], responsible_agencies text[]);
insert into restricted_audit.case_followup_children values
    ('2026-06-01', %(key)s, 'stunting', '{stunting}', %(nik)s, %(name)s, '2024-02-03', '33.75.01.1002',
     '2026-06-10', 'pendek', 2, '{imunisasi,pmt}', '{dinkes}'),
    ('2026-06-01', %(key)s, 'stunting', '{stunting}', %(nik)s, %(name)s, '2024-02-03', '33.75.01.1002',
     '2026-06-10', 'pendek', 2, '{imunisasi,pmt}', '{dinkes}');
create table restricted_audit.case_followup_tasks (
    month date, child_key text, task_code text, intervention_name text, intervention_type text,
    responsible_agency text, due_since date);
create table marts_audit.fct_child_monthly (child_key text, month date, is_stunted boolean);
insert into marts_audit.fct_child_monthly values (%(unlisted)s, '2026-06-01', true);
create schema staging;
create table staging.stg_dtsen__households (drinking_water_code int, defecation_code int, toilet_code int,
    disposal_code int, floor_code int);
insert into staging.stg_dtsen__households values (1, 1, 1, 1, 1);
create table staging.stg_dtsen__members (nik text, relation_code int, health_insurance_code int,
    employment_status_code int, occupation_sector_code int);
insert into staging.stg_dtsen__members values (%(nik)s, 99, 1, 1, 1);
create table staging.stg_pupr__household_surveys (sanitation_ladder text, water_ladder text);
insert into staging.stg_pupr__household_surveys values ('aman', 'aman');
"""


@pytest.mark.integration
def test_personal_tables_fail_the_gate_without_their_values_in_gate_runs_or_data_docs(warehouse: str) -> None:
    """Failed rules on the restricted lists and staged sources record counts, never the offending values."""
    secret = secrets.token_hex(4)
    values = {"key": f"child-{secret}", "nik": f"3375{secret}0001", "name": f"Nama {secret}",
              "unlisted": f"unlisted-{secret}"}
    with psycopg.connect(warehouse, cursor_factory=psycopg.ClientCursor) as conn:  # several statements, bound
        conn.execute("drop schema if exists staging cascade")
        conn.execute("create schema marts_audit")
        conn.execute(PERSONAL_TABLES_SQL, values)
    run_id = new_run_id()
    try:
        result = run_any_gate(run_id, checkpoints=("konvergensi_personal_data_gate",))
    finally:
        with psycopg.connect(warehouse) as conn:
            conn.execute("drop schema staging cascade")

    assert not result.success
    failed = {(f["table"], f["expectation"]) for f in result.failed}
    assert {("case_followup_children", "child_key_unique"), ("case_followup_children", "tasks_counted"),
            ("case_followup_children", "every_stunted_child_is_listed"),
            ("stg_dtsen__members", "relation_code_in_domain")} <= failed
    for finding in result.failed + result.warnings:
        assert "sample_values" not in finding["details"] and "sample_rows" not in finding["details"], finding
    counts = {f["expectation"]: f["details"].get("unexpected_count", f["details"].get("observed_value"))
              for f in result.failed if f["table"] == "case_followup_children"}
    assert counts["child_key_unique"] == 2 and counts["tasks_counted"] == 1  # the size of the problem stays
    row = latest_gate_row(warehouse, run_id)
    stored = json.dumps(row[2]) + json.dumps(row[3])
    assert secret not in stored
    pages = [page for page in (settings.EXPECTATIONS_DIR / "uncommitted").rglob("*")
             if page.is_file() and run_id in str(page)]
    assert pages and not [page for page in pages if secret in page.read_text(errors="replace")]
