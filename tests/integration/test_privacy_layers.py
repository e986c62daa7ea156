"""What the analyst and BI roles can learn about one child (docs/privacy.md), on a real published night.

One tiny simulated city (every source: files, the API store served over HTTP, a DTSEN database) is
loaded through the functions the DAG tasks call, then dbt builds what the consumption layers need
(`+analyst +bi`: seeds, snapshots, models, without the other models' tests) and runs the analyst and
BI models' tests. The gate's verdict is recorded directly (the gate itself is tested in
test_gate_publish.py and the DAG tests) and the real publish swaps marts, restricted, analyst and bi.
Then, logged in as an analyst and as the BI role:

1. every suppressed cell of every BI table is attacked: from the published totals (each kota row is the
   sum of its kecamatan rows, each kecamatan row of its kelurahan rows, per measure and per period /
   factor), a hidden cell is recoverable when its unit vector lies in the row space of the linear system
   the published values leave; none may be. Published values must equal the truth, and every cell the
   rule makes primary (recomputed here from the internal marts) must be hidden.
2. no BI-readable column holds a day-level date (dates are all period starts; the only timestamps are
   the sources' load times) or a person key; no analyst column holds a day-level date or lineage, and
   the analyst keys are keyed HMACs, not the warehouse's keys.
3. the columns each role can read (information_schema, as the role) are those listed in docs/privacy.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import numpy as np
import psycopg
import pytest

from konvergensi import nightly_tasks, roles, settings
from konvergensi import publish as publishing
from konvergensi.pseudonyms import ANALYST_KEY_CONTEXT

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
PRIVACY_DOC = PROJECT / "docs" / "privacy.md"
AS_OF = "2026-11-02T00:00:00+07:00"
PSEUDONYM_KEY = "22" * 16 + "33" * 16  # set for the night itself: module fixtures run before the autouse key
TOKEN = "privacy-layers-token"
RUN_ID = "privacy__night"
LEVELS = ("kelurahan", "kecamatan", "kota")


def small(value: int | None) -> bool:
    return value is not None and 1 <= value <= 4


# table -> (partition columns, measures, the internal mart's kelurahan rows, primary rule per measure)
BI_TABLES = {
    "bi_stunting_prevalence_monthly": (
        ("month_start",),
        ("haz_denominator", "stunted", "severely_stunted", "whz_denominator", "wasted", "waz_denominator", "underweight"),
        """select month_start, wilayah_code as kelurahan_code, haz_denominator, stunted, severely_stunted,
                  whz_denominator, wasted, waz_denominator, underweight
           from marts.mart_stunting_prevalence_monthly where wilayah_level = 'kelurahan'""",
        {
            "haz_denominator": lambda r: small(r["haz_denominator"]),
            "stunted": lambda r: small(r["stunted"]) or small(r["haz_denominator"] - r["stunted"]),
            "severely_stunted": lambda r: small(r["severely_stunted"]) or small(r["stunted"] - r["severely_stunted"])
            or small(r["haz_denominator"] - r["severely_stunted"]),
            "whz_denominator": lambda r: small(r["whz_denominator"]),
            "wasted": lambda r: small(r["wasted"]) or small(r["whz_denominator"] - r["wasted"]),
            "waz_denominator": lambda r: small(r["waz_denominator"]),
            "underweight": lambda r: small(r["underweight"]) or small(r["waz_denominator"] - r["underweight"]),
        },
    ),
    "bi_risk_factor_profile": (
        ("month", "factor_code"),
        ("stunted_with", "stunted_without", "not_stunted_with", "not_stunted_without", "factor_unknown"),
        """select month, factor_code, wilayah_code as kelurahan_code, stunted_with,
                  stunted_total - stunted_with as stunted_without, not_stunted_with,
                  not_stunted_total - not_stunted_with as not_stunted_without,
                  children_assessed - children_factor_known as factor_unknown
           from marts.mart_risk_factor_profile where wilayah_level = 'kelurahan'""",
        {m: (lambda r, m=m: small(r[m])) for m in
         ("stunted_with", "stunted_without", "not_stunted_with", "not_stunted_without", "factor_unknown")},
    ),
    "bi_convergence_scorecard_quarterly": (
        ("quarter_start",),
        ("women_targets", "children_0_23_targets", "children_2_6_targets", "women_due", "women_y", "children_due",
         "children_y"),
        """select quarter_start, wilayah_code as kelurahan_code, women_targets, children_0_23_targets,
                  children_2_6_targets, women_due, women_y, children_due, children_y
           from marts.mart_convergence_scorecard where wilayah_level = 'kelurahan'""",
        {
            **{m: (lambda r, m=m: small(r[m])) for m in
               ("women_targets", "children_0_23_targets", "children_2_6_targets", "women_due", "children_due")},
            "women_y": lambda r: small(r["women_y"]) or small((r["women_due"] or 0) - (r["women_y"] or 0)),
            "children_y": lambda r: small(r["children_y"]) or small((r["children_due"] or 0) - (r["children_y"] or 0)),
        },
    ),
}
FLAT_TABLES = {  # no totals published: the primary rule only
    "bi_data_quality_monthly": (("month_start", "puskesmas_key"),
                                ("measurements", "unknown_kelurahan", "duplicate_rows", "eppgbm_haz_disagree")),
    "bi_anthropometry_quality_monthly": (("month_start", "puskesmas_key"),
                                         ("measurements", "haz_valid", "waz_valid", "whz_valid", "baz_valid")),
}
# Timestamps BI may read that are not about a person: when a source was loaded or tried.
LOAD_TIMES = {("bi_source_freshness", c) for c in ("last_loaded_at", "last_attempt_at", "stale_since")}
PERSON_KEY = re.compile(r"(^|_)(child|mother|household|pregnancy|measurement|delivery|person|nik|kk)(_|$)")
LINEAGE = {"source_file", "source_row", "batch_id", "source_updated_at", "household_version_key", "delivery_key"}
DAY_LEVEL = {"measured_on", "age_days", "birth_date", "service_date", "last_menstrual_date", "expected_delivery_date",
             "delivery_date", "last_measured_on", "first_measured_on", "cutoff_date"}


def login_url(url: str, login: str, password: str) -> str:
    parts = urlparse(url)
    netloc = f"{login}:{quote(password, safe='')}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))


def dbt(warehouse: str, target: Path, *arguments: str) -> None:
    command = [str(Path(sys.executable).parent / "dbt"), *arguments, "--target-path", str(target),
               "--log-path", str(target)]
    environment = dict(os.environ, WAREHOUSE_URL=warehouse, **settings.dbt_env(warehouse))
    done = subprocess.run(command, cwd=PROJECT / "dbt_project", env=environment, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[dict]:
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("privacy")
    landing, store = root / "landing", root / "store"
    landing.mkdir()
    analyst_login = f"privacy_analyst_{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    started = time.perf_counter()
    with _scratch_database(server_url) as dtsen_url, _scratch_database(server_url) as warehouse:
        write_city_sources(landing, store, dtsen_url, seed=13, children=300, months=3, end_month="2026-10",
                           as_of=AS_OF, progress=False)
        with SourceServer(store, token=TOKEN, as_of=AS_OF, seed=3) as server, pytest.MonkeyPatch.context() as patch:
            for variable, value in {
                "WAREHOUSE_URL": warehouse, "KONVERGENSI_LANDING_DIR": str(landing),
                "KONVERGENSI_SERVICES_API_URL": server.services_url, "KONVERGENSI_SERVICES_API_TOKEN": TOKEN,
                "KONVERGENSI_PUPR_API_URL": server.pupr_url, "KONVERGENSI_DTSEN_URL": dtsen_url,
                "KONVERGENSI_HTTP_BACKOFF_SECONDS": "0.1", "KONVERGENSI_PSEUDONYM_KEY": PSEUDONYM_KEY,
            }.items():
                patch.setenv(variable, value)
            patch.delenv("KONVERGENSI_SOURCES", raising=False)
            patch.setattr(nightly_tasks, "EXTRACT_PAUSE_SECONDS", 0.0)
            nightly_tasks.ingest(RUN_ID, str(landing))
            nightly_tasks.ingest_family_data(RUN_ID, str(landing))
            for source in nightly_tasks.PULLED_SOURCES:
                nightly_tasks.extract(source, RUN_ID)
            loaded = time.perf_counter()
            layers = "+path:models/analyst +path:models/bi"
            dbt(warehouse, root / "dbt", "build", "--select", layers, "--exclude-resource-type", "test", "unit_test")
            dbt(warehouse, root / "dbt", "test", "--select", "path:models/analyst path:models/bi")
            built = time.perf_counter()
            with psycopg.connect(warehouse) as conn:  # the gate's verdict (the gate itself: test_gate_publish.py)
                conn.execute("insert into ops.gate_runs (run_id, schema_name, success) values (%s, 'marts_audit', true)",
                             (RUN_ID,))
            patch.setenv("WAREHOUSE_URL", roles.role_url(roles.TRANSFORMER, warehouse))
            published = publishing.publish(RUN_ID)
        roles.add_login(analyst_login, "analyst", password, warehouse)
        print(f"\n[privacy night] loads {loaded - started:.1f} s, dbt {built - loaded:.1f} s, "
              f"publish {time.perf_counter() - built:.1f} s")
        try:
            yield {"url": warehouse, "published": published,
                   "urls": {roles.ANALYST: login_url(warehouse, analyst_login, password),
                            roles.BI: roles.role_url(roles.BI, warehouse)}}
        finally:
            with psycopg.connect(warehouse, autocommit=True) as conn:
                conn.execute(f'drop owned by "{analyst_login}"')
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop role if exists "{analyst_login}"')


def rows(url: str, query: str, parameters: tuple = ()) -> list[dict]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(query, parameters).fetchall()


def truth(url: str, kelurahan_query: str, partition: tuple[str, ...], measures: tuple[str, ...]) -> dict:
    """(partition…, level, code) -> {measure: true value, "parent": (level, code)}, rolled up as the BI model does."""
    wilayah = {r["kelurahan_code"]: r for r in rows(url, "select kelurahan_code, kecamatan_code, city_code from marts.dim_wilayah")}
    cells: dict[tuple, dict] = {}
    for row in rows(url, kelurahan_query):
        key = tuple(row[p] for p in partition)
        place = wilayah[row["kelurahan_code"]]
        path = (("kelurahan", row["kelurahan_code"]), ("kecamatan", place["kecamatan_code"]), ("kota", place["city_code"]))
        for index, (level, code) in enumerate(path):
            cell = cells.setdefault((*key, level, code), {"parent": path[index + 1] if index < 2 else None,
                                                         **{m: 0 for m in measures}})
            for measure in measures:
                cell[measure] += row[measure] or 0
    return cells


def recoverable(published: dict[tuple, dict], partition_size: int, measure: str) -> tuple[int, list[tuple]]:
    """Hidden cells of `measure` and those an attacker can compute exactly from the published sums."""
    by_partition: dict[tuple, list[tuple]] = defaultdict(list)
    for key in published:
        by_partition[key[:partition_size]].append(key)
    hidden_total, found = 0, []
    for partition, keys in by_partition.items():
        hidden = [k for k in keys if published[k][measure] is None]
        hidden_total += len(hidden)
        if not hidden:
            continue
        index = {k: i for i, k in enumerate(hidden)}
        equations = []
        for parent in keys:  # parent − Σ children = 0, over the hidden cells (known values drop out)
            children = [k for k in keys if published[k]["parent"] == parent[partition_size:]]
            if not children:
                continue
            vector = np.zeros(len(hidden))
            if parent in index:
                vector[index[parent]] += 1
            for child in children:
                if child in index:
                    vector[index[child]] -= 1
            if vector.any():
                equations.append(vector)
        system = np.array(equations) if equations else np.zeros((0, len(hidden)))
        rank = np.linalg.matrix_rank(system) if equations else 0
        for cell, i in index.items():
            unit = np.zeros(len(hidden))
            unit[i] = 1
            if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:  # in the row space: determined
                found.append(cell)
    return hidden_total, found


def test_no_suppressed_bi_cell_can_be_recovered_from_the_published_totals(night: dict) -> None:
    bi, internal = night["urls"][roles.BI], night["url"]
    figures = []
    for table, (partition, measures, kelurahan_query, primary_rule) in BI_TABLES.items():
        true_cells = truth(internal, kelurahan_query, partition, measures)
        published = {}
        for row in rows(bi, f"select * from bi.{table}"):
            key = (*(row[p] for p in partition), row["wilayah_level"], row["wilayah_code"])
            parent = None if row["wilayah_level"] == "kota" else (LEVELS[LEVELS.index(row["wilayah_level"]) + 1],
                                                                   row["parent_wilayah_code"])
            published[key] = {**{m: row[m] for m in measures}, "parent": parent}
        assert set(published) == set(true_cells), table
        cells = primary = complementary = 0
        found_all = []
        for measure in measures:
            for key, cell in published.items():
                cells += 1
                value = true_cells[key][measure]
                is_primary = primary_rule[measure]({m: true_cells[key][m] for m in measures})
                if cell[measure] is None:
                    primary += is_primary
                    complementary += not is_primary
                else:
                    assert not is_primary, (table, key, measure, value)  # a primary cell is never shown
                    assert cell[measure] == value, (table, key, measure)  # shown values are true
            _, found = recoverable(published, len(partition), measure)
            found_all += [(measure, *cell) for cell in found]
        figures.append((table, cells, primary, complementary, len(found_all)))
        assert found_all == [], (table, found_all[:10])
    for table, (partition, measures) in FLAT_TABLES.items():
        truth_rows = {tuple(r[p] for p in partition): r for r in rows(internal, f"select * from marts.mart_{table[3:]}")}
        cells = primary = complementary = 0
        for row in rows(bi, f"select * from bi.{table}"):
            true_row = truth_rows[tuple(row[p] for p in partition)]
            for measure in measures:
                cells += 1
                is_primary = small(true_row[measure]) or small(true_row["measurements"])
                assert (row[measure] is None) == is_primary, (table, row, measure)
                primary += is_primary
        figures.append((table, cells, primary, complementary, 0))
    print("\nSmall-cell suppression, attacked from the published totals:")
    print(f"{'table':<38} {'cells':>7} {'primary':>8} {'complementary':>14} {'recoverable':>12}")
    for table, cells, primary, complementary, found in figures:
        print(f"{table:<38} {cells:>7} {primary:>8} {complementary:>14} {found:>12}")
    assert sum(f[2] for f in figures) > 0 and sum(f[3] for f in figures) > 0  # the attack had something to attack


def test_a_lone_suppressed_cell_is_found_by_the_attack() -> None:
    """The attack itself: one hidden kelurahan under a visible kecamatan is recovered, two are not."""
    def table(hidden: set[str]) -> dict:
        values = {"A": 3, "B": 10, "C": 7}
        cells = {("m", "kecamatan", "K"): {"x": 20, "parent": None}}
        for code, value in values.items():
            cells[("m", "kelurahan", code)] = {"x": None if code in hidden else value, "parent": ("kecamatan", "K")}
        return cells

    assert recoverable(table({"A"}), 1, "x") == (1, [("m", "kelurahan", "A")])
    assert recoverable(table({"A", "C"}), 1, "x") == (2, [])


def date_columns(url: str, schema: str) -> list[tuple[str, str, str]]:
    return [(r["table_name"], r["column_name"], r["data_type"]) for r in rows(url, """
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = %s and (data_type like 'date%%' or data_type like 'timestamp%%') order by 1, 2""", (schema,))]


def readable_columns(url: str) -> dict[str, list[str]]:
    """schema.table -> columns the connected role may select (information_schema shows only those)."""
    found: dict[str, list[str]] = defaultdict(list)
    for r in rows(url, """
            select table_schema, table_name, column_name from information_schema.columns
            where table_schema not in ('pg_catalog', 'information_schema') order by table_schema, table_name, ordinal_position"""):
        found[f"{r['table_schema']}.{r['table_name']}"].append(r["column_name"])
    return dict(found)


def test_bi_reads_no_day_level_date_and_no_person_key(night: dict) -> None:
    bi = night["urls"][roles.BI]
    readable = readable_columns(bi)
    assert readable and {name.split(".")[0] for name in readable} == {"bi"}
    checked = 0
    for table, column, data_type in date_columns(bi, "bi"):
        if (table, column) in LOAD_TIMES:
            continue
        assert data_type == "date", (table, column, data_type)
        not_period_start = rows(bi, f'select count(*) as n from bi.{table} where extract(day from "{column}") <> 1')[0]["n"]
        assert not_period_start == 0, (table, column)
        checked += 1
    assert checked >= 5
    keys = [f"{t}.{c}" for t, columns in readable.items() for c in columns if PERSON_KEY.search(c)]
    assert keys == [], keys


def test_analyst_reads_months_not_days_no_lineage_and_keyed_pseudonyms_only(night: dict) -> None:
    analyst, internal = night["urls"][roles.ANALYST], night["url"]
    readable = readable_columns(analyst)
    assert {name.split(".")[0] for name in readable} == {"analyst", "bi", "reference"}
    analyst_columns = {c for t, columns in readable.items() if t.startswith("analyst.") for c in columns}
    assert not analyst_columns & (LINEAGE | DAY_LEVEL), analyst_columns & (LINEAGE | DAY_LEVEL)
    for table, column, data_type in date_columns(analyst, "analyst"):
        assert data_type == "date", (table, column)
        days = rows(analyst, f'select count(*) as n from analyst.{table} where extract(day from "{column}") <> 1')[0]["n"]
        assert days == 0, (table, column)
    # every key is the HMAC of the warehouse's key under the analyst key, never the warehouse's key itself
    key = hmac.new(bytes.fromhex(PSEUDONYM_KEY), ANALYST_KEY_CONTEXT, hashlib.sha256).digest()
    for table, column, internal_table, internal_column, domain in (
            ("analyst_child_monthly", "child_key", "fct_child_monthly", "child_key", "child"),
            ("analyst_anthropometry_monthly", "measurement_key", "fct_anthropometry", "measurement_key", "measurement"),
            ("analyst_pregnancy", "pregnancy_key", "dim_pregnancy", "pregnancy_key", "pregnancy"),
            ("analyst_household_risk_monthly", "household_key", "fct_household_risk_monthly", "household_key", "household")):
        internal_keys = {r["k"] for r in rows(internal, f"select {internal_column} as k from marts.{internal_table}")}
        analyst_keys = {r["k"] for r in rows(analyst, f"select {column} as k from analyst.{table} where {column} is not null")}
        assert analyst_keys and internal_keys, table
        assert not analyst_keys & internal_keys, table
        expected = {hmac.new(key, f"{domain}:{k}".encode(), hashlib.sha256).hexdigest()[:32] for k in internal_keys}
        assert analyst_keys <= expected, table
    keys = [c for c in analyst_columns if c.endswith("_key") and PERSON_KEY.search(c)]
    assert sorted(set(keys)) == ["child_key", "household_key", "measurement_key", "mother_key", "pregnancy_key"]


def render_readable(readable: dict[str, dict[str, list[str]]]) -> str:
    lines = []
    for role, tables in readable.items():
        lines.append(f"**{role}** ({len(tables)} tables, {sum(len(c) for c in tables.values())} columns):")
        lines.append("")
        for table, columns in tables.items():
            lines.append(f"- `{table}`: {', '.join(columns)}")
        lines.append("")
    return "\n".join(lines).rstrip()


def test_the_columns_each_role_can_read_are_those_in_docs_privacy(night: dict) -> None:
    readable = {role: readable_columns(night["urls"][role]) for role in (roles.ANALYST, roles.BI)}
    for role in readable:
        for table in readable[role]:
            assert table.split(".")[0] in roles.MATRIX[role], (role, table)
    block = render_readable(readable)
    print("\nColumns each role can read (information_schema, as the role):\n" + block)
    text = PRIVACY_DOC.read_text(encoding="utf-8")
    if os.environ.get("KONVERGENSI_WRITE_PRIVACY_DOC"):
        text = re.sub(r"(<!-- readable:start -->\n).*?(\n<!-- readable:end -->)",
                      lambda m: m.group(1) + block + m.group(2), text, flags=re.DOTALL)
        PRIVACY_DOC.write_text(text, encoding="utf-8")
    documented = re.search(r"<!-- readable:start -->\n(.*?)\n<!-- readable:end -->", text, re.DOTALL)
    assert documented, "docs/privacy.md lost its readable-columns markers"
    assert documented.group(1) == block, (
        "docs/privacy.md differs from what the roles can read: rerun this test with KONVERGENSI_WRITE_PRIVACY_DOC=1")


def test_publish_swapped_the_consumption_layers_with_the_marts(night: dict) -> None:
    published, url = night["published"], night["url"]
    assert {"analyst", "bi"} <= set(published.layer_tables)  # restricted too when built (not selected here)
    assert "bi_stunting_prevalence_monthly" in published.layer_tables["bi"]
    assert "analyst_child_monthly" in published.layer_tables["analyst"]
    schemas = {r["nspname"] for r in rows(url, "select nspname from pg_namespace")}
    assert {"marts", "analyst", "bi"} <= schemas
    assert not schemas & {"analyst_audit", "bi_audit", "analyst_previous", "bi_previous"}
    for role in (roles.ANALYST, roles.BI):
        with psycopg.connect(night["urls"][role]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from marts.fct_anthropometry limit 1")
