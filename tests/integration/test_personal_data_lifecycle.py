"""Personal data over its life, for real: the pseudonym key and rekey, erasure of one person, retention.

A small warehouse is loaded by the production loaders with key A (e-PPGBM exports, BKKBN, the
services and public-works APIs from the local fake server, DTSEN from a schema beside it) and dbt
builds it. A night with key B refuses before touching anything. `python -m konvergensi.pseudonyms
rekey` then moves the warehouse from A to B in one transaction; every raw pseudonym is B's HMAC of
its identifier, none is left from A, the row counts are unchanged, the derived tables (identity,
snapshots, marts) carry the same keys mapped, and the next night — an extract and a dbt build with
key B — works and links the same people.

Then one person is erased by NIK (`python -m konvergensi.retention erase`): no raw row holds the
NIK any more, no derived row one of the person's pseudonyms, the audit row holds no NIK, and a
later export bringing the person back is erased again by `reapply-erasures`. Last, a retention
run removes every identifiable row of events before its cutoff, with the derived rows of the
people who leave raw, after keeping the published aggregates. (The tests of this module share one
warehouse and run in order.)
"""

from __future__ import annotations

import os
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from konvergensi.extract import extract_source
from konvergensi.extract import sources as extract_sources
from konvergensi.extract.http import RetryPolicy
from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm
from konvergensi import publish as publishing
from konvergensi import retention, roles
from konvergensi.pseudonyms import RAW_PSEUDONYMS, KeyMismatch, Pseudonymiser, key_id
from konvergensi.settings import dbt_env
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.fixtures.sources.dtsen_register import DTSEN_DDL
from tests.fixtures.sources.fake_http import HERE as SOURCE_FIXTURES
from tests.fixtures.sources.fake_http import FakeSources, load_fixture

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
EXPORTS = PROJECT / "tests" / "fixtures" / "eppgbm_exports"
BKKBN_FILE = "PK_3375011002_Medono_202603.csv"
FAST = RetryPolicy(attempts=2, timeout=2.0, backoff=0.01, max_backoff=0.02)
PULLED = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")
NEW_KEY = "ab" * 32


# The first night loads the seeds and builds what holds people's pseudonyms (identity, intermediate,
# snapshots); the night after the rekey builds every model and snapshot.
PERSON_MODELS = "resource_type:seed +child_identity +identity_family_link_candidates +snap_households +int_case_followup_tasks"


def _dbt_build(warehouse: str, target: Path, select: str | None = None, *, seeds: bool = True) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "dbt"), "build", "--target-path", str(target), "--log-path", str(target),
               "--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"]
    if not seeds:  # loaded by the first night; the key does not touch them
        command += ["--exclude-resource-type", "seed"]
    if select:
        command += ["--select", select]
    environment = dict(os.environ, WAREHOUSE_URL=warehouse, **dbt_env(warehouse))
    return subprocess.run(command, cwd=PROJECT / "dbt_project", env=environment, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def _rows(url: str, query: sql.Composable | str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def _raw_counts(url: str) -> dict[str, tuple[int, int]]:
    """table.column -> (rows, non-null pseudonyms)."""
    counts = {}
    for table, column, _ in RAW_PSEUDONYMS:
        query = sql.SQL("select count(*), count({}) from {}").format(sql.Identifier(column), sql.Identifier(*table.split(".")))
        counts[f"{table}.{column}"] = _rows(url, query)[0]
    return counts


def _pairs(url: str) -> dict[str, list[tuple[str, str]]]:
    """table.column -> (identifier material, stored pseudonym) of every row with a pseudonym."""
    pairs = {}
    for table, column, material in RAW_PSEUDONYMS:
        query = sql.SQL("select {}, {} from {} where {} is not null").format(
            sql.SQL(material), sql.Identifier(column), sql.Identifier(*table.split(".")), sql.Identifier(column))
        pairs[f"{table}.{column}"] = _rows(url, query)
    return pairs


def _derived_keys(url: str) -> dict[str, list[str]]:
    """schema.table.column -> sorted values of every *_key column in identity, snapshots and marts."""
    columns = _rows(url, """
        select c.table_schema, c.table_name, c.column_name from information_schema.columns c
        join information_schema.tables t using (table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_schema in ('identity', 'snapshots')
          and c.column_name like '%\\_key' and c.data_type = 'text'
        order by 1, 2, 3""")
    return {
        f"{s}.{t}.{c}": sorted(v for (v,) in _rows(url, sql.SQL("select {} from {} where {} is not null").format(
            sql.Identifier(c), sql.Identifier(s, t), sql.Identifier(c))))
        for s, t, c in columns
    }


@pytest.fixture(scope="module")
def loaded(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("rekey")
    landing = root / "landing"
    shutil.copytree(EXPORTS, landing)
    (landing / "bkkbn").mkdir()
    shutil.copy(SOURCE_FIXTURES / BKKBN_FILE, landing / "bkkbn" / BKKBN_FILE)
    patch = pytest.MonkeyPatch()
    with _scratch_database(server_url) as warehouse, FakeSources() as fake:
        for collection, fixture in (("layanan", "layanan.json"), ("ibu-hamil", "ibu_hamil.json"),
                                    ("survei_rumah_tangga", "survei_rumah_tangga.json"), ("proyek", "proyek.json")):
            fake.collections[collection] = load_fixture(fixture)
        with psycopg.connect(warehouse, autocommit=True) as connection:
            connection.execute(DTSEN_DDL)
        try:
            patch.setenv("WAREHOUSE_URL", warehouse)
            patch.setenv("KONVERGENSI_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
            patch.setenv("KONVERGENSI_SERVICES_API_URL", f"{fake.base_url}/api/v1")
            patch.setenv("KONVERGENSI_SERVICES_API_TOKEN", fake.token)
            patch.setenv("KONVERGENSI_PUPR_API_URL", f"{fake.base_url}/pupr")
            patch.setenv("KONVERGENSI_DTSEN_URL", warehouse)
            patch.setattr(extract_sources, "PAGE_SIZE", 50)
            assert ingest_eppgbm(landing, "night-1", url=warehouse).rows_loaded > 0
            assert ingest_bkkbn(landing, "night-1", url=warehouse).rows_loaded > 0
            for source in PULLED:
                extract_source(source, "night-1", url=warehouse, policy=FAST)
            build = _dbt_build(warehouse, root / "dbt-1", PERSON_MODELS)
            assert build.returncode == 0, build.stdout[-3000:]
            yield {"url": warehouse, "root": root, "landing": landing, "patch": patch, "fake": fake}
        finally:
            patch.undo()


def test_key_id_is_recorded_and_another_key_refuses(loaded: dict) -> None:
    url = loaded["url"]
    old_id = key_id(bytes.fromhex(TEST_PSEUDONYM_KEY))
    assert _rows(url, "select key_id, state from ops.pseudonym_keys") == [(old_id, "current")]
    assert _rows(url, "select distinct pseudonym_key_id from ops.load_batches") == [(old_id,)]
    assert _rows(url, "select distinct pseudonym_key_id from ops.source_extracts") == [(old_id,)]
    before = _rows(url, "select count(*) from ops.source_extracts")
    loaded["patch"].setenv("KONVERGENSI_PSEUDONYM_KEY", NEW_KEY)
    try:
        with pytest.raises(KeyMismatch, match=rf"key id {key_id(bytes.fromhex(NEW_KEY))}, but the warehouse's "
                                              rf"pseudonyms were made with key id {old_id}.*pseudonyms rekey"):
            extract_source("services", "night-2-wrong-key", url=url, policy=FAST)
        with pytest.raises(KeyMismatch):
            ingest_eppgbm(loaded["landing"], "night-2-wrong-key", url=url)
    finally:
        loaded["patch"].setenv("KONVERGENSI_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    assert _rows(url, "select count(*) from ops.source_extracts") == before  # refused before recording anything


def test_rekey_changes_every_pseudonym_consistently_and_the_next_night_builds(loaded: dict, capsys: pytest.CaptureFixture[str]) -> None:
    url = loaded["url"]
    old, new = Pseudonymiser(bytes.fromhex(TEST_PSEUDONYM_KEY)), Pseudonymiser(bytes.fromhex(NEW_KEY))
    counts_before, pairs_before, derived_before = _raw_counts(url), _pairs(url), _derived_keys(url)
    assert all(old.one(text) == key for pairs in pairs_before.values() for text, key in pairs)
    assert sum(rows for rows, _ in counts_before.values()) > 0 and len(derived_before) >= 3, derived_before

    environment = dict(os.environ, WAREHOUSE_URL=url, OLD_PSEUDONYM_KEY=TEST_PSEUDONYM_KEY, NEW_PSEUDONYM_KEY=NEW_KEY)
    rekey = subprocess.run(
        [sys.executable, "-m", "konvergensi.pseudonyms", "rekey", "--old-key-env", "OLD_PSEUDONYM_KEY",
         "--new-key-env", "NEW_PSEUDONYM_KEY"], env=environment, capture_output=True, text=True, timeout=120)
    with capsys.disabled():
        print("\n" + rekey.stdout)
    assert rekey.returncode == 0, rekey.stderr

    pairs_after = _pairs(url)
    assert _raw_counts(url) == counts_before
    assert {k: sorted(t for t, _ in v) for k, v in pairs_after.items()} == {k: sorted(t for t, _ in v) for k, v in pairs_before.items()}
    assert all(new.one(text) == key for pairs in pairs_after.values() for text, key in pairs)
    mapping = {key: new.one(text) for pairs in pairs_before.values() for text, key in pairs}
    assert not set(mapping) & {key for pairs in pairs_after.values() for _, key in pairs}, "a pseudonym of the old key is left"
    derived_after = _derived_keys(url)
    assert derived_after == {name: sorted(mapping.get(v, v) for v in values) for name, values in derived_before.items()}
    assert not set(mapping) & {v for values in derived_after.values() for v in values}
    new_id = key_id(bytes.fromhex(NEW_KEY))
    assert sorted(_rows(url, "select key_id, state from ops.pseudonym_keys")) == sorted(
        [(old.key_id, "retired"), (new_id, "current")])
    assert _rows(url, "select distinct pseudonym_key_id from ops.load_batches") == [(new_id,)]
    assert _rows(url, "select old_key_id, new_key_id from ops.pseudonym_rekeys") == [(old.key_id, new_id)]

    # the old key is refused from now on, the new one works: the next night extracts and builds
    with pytest.raises(KeyMismatch, match="retired by a rekey"):
        extract_source("services", "night-2-old-key", url=url, policy=FAST)
    loaded["patch"].setenv("KONVERGENSI_PSEUDONYM_KEY", NEW_KEY)
    loaded["fake"].upsert("layanan", {**load_fixture("layanan.json")[0], "id": "LYN-0100",
                                      "updated_at": "2026-03-06T10:00:00+07:00"})
    report = extract_source("services", "night-2", url=url, policy=FAST)
    assert report.records_loaded > 0
    assert _rows(url, "select count(distinct nik_key) from raw.mch_services where nik = '3375014507950001'") == [(1,)]
    build = _dbt_build(url, loaded["root"] / "dbt-2", seeds=False)
    assert build.returncode == 0, build.stdout[-3000:]
    derived_next = _derived_keys(url)
    for name in ("identity.child_identity.child_key",):
        assert derived_next[name] == derived_after[name], name  # the same children, under the same new keys


ERASED_NIK = "3375014507950001"  # Siti Rahayu: a service target, a DTSEN member, a BKKBN wife


def _holding(url: str, needle: str) -> dict[str, int]:
    """raw table -> rows whose text contains `needle` (any column)."""
    tables = [t for (t,) in _rows(url, "select table_name from information_schema.tables where table_schema = 'raw' "
                                       "and table_type = 'BASE TABLE' order by 1")]
    found = {}
    with psycopg.connect(url) as connection:
        for table in tables:
            query = sql.SQL("select count(*) from {} as t where strpos(t::text, %s) > 0").format(sql.Identifier("raw", table))
            (count,) = connection.execute(query, (needle,)).fetchone()
            if count:
                found[f"raw.{table}"] = count
    return found


def _carrying(url: str, keys: set[str]) -> dict[str, int]:
    """derived schema.table.column -> rows carrying one of `keys` (every table dbt builds)."""
    from konvergensi.retention import _derived_key_columns

    found = {}
    with psycopg.connect(url) as connection:
        for schema, table, column in _derived_key_columns(connection):
            query = sql.SQL("select count(*) from {} where {} = any(%s)").format(sql.Identifier(schema, table), sql.Identifier(column))
            if n := connection.execute(query, (sorted(keys),)).fetchone()[0]:
                found[f"{schema}.{table}.{column}"] = n
    return found


def _cli(url: str, *arguments: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, WAREHOUSE_URL=url, KONVERGENSI_PSEUDONYM_KEY=NEW_KEY)
    return subprocess.run([sys.executable, "-m", "konvergensi.retention", *arguments], env=environment,
                          capture_output=True, text=True, timeout=120)


def test_erasure_removes_one_person_everywhere_and_again_after_a_later_export(
        loaded: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = loaded["url"]
    monkeypatch.setenv("KONVERGENSI_PSEUDONYM_KEY", NEW_KEY)  # the key since the rekey above
    key = Pseudonymiser(bytes.fromhex(NEW_KEY)).one("nik:" + ERASED_NIK)
    held = _holding(url, ERASED_NIK)
    assert {"raw.mch_services", "raw.dtsen_members", "raw.bkkbn_families"} <= set(held), held
    carried = _carrying(url, {key})
    assert carried, "the person should be in some derived table before"
    services_before = _rows(url, "select count(*), count(*) filter (where nik_key = '%s') from raw.mch_services" % key)[0]

    erased = _cli(url, "erase", "--nik", ERASED_NIK, "--reference", "Surat 12/PDP/2026")
    with capsys.disabled():
        print("\n" + erased.stdout)
    assert erased.returncode == 0, erased.stderr
    assert _holding(url, ERASED_NIK) == {}
    assert _carrying(url, {key}) == {}
    assert _rows(url, "select count(*) from raw.mch_services")[0][0] == services_before[0] - services_before[1]
    (log,), = _rows(url, "select row_to_json(e)::text from ops.erasure_log e")
    assert ERASED_NIK not in log and key in log
    counts = json.loads(log)["rows_by_table"]
    assert counts["raw.mch_services"] == services_before[1] and counts["raw.dtsen_members"] == 1
    assert counts["raw.bkkbn_families"] == 1  # her NIK and name cleared from the family row, the family stays
    assert _rows(url, "select count(*) from raw.bkkbn_families where wife_nik_key is null and wife_name is null "
                      "and source_row = 2") == [(1,)]

    # a later export brings her back: erased again from the log's pseudonyms alone
    loaded["fake"].upsert("layanan", {**load_fixture("layanan.json")[1], "updated_at": "2026-03-07T10:00:00+07:00"})
    extract_source("services", "night-3", url=url, policy=FAST)
    # LYN-0002 re-sent, and LYN-0100 (hers too, added above) inside the extract's re-read window
    assert _rows(url, "select count(*) from raw.mch_services where nik_key = '%s'" % key) == [(2,)]
    again = _cli(url, "reapply-erasures")
    assert again.returncode == 0, again.stderr
    assert "raw.mch_services" in again.stdout
    assert _rows(url, "select count(*) from raw.mch_services where nik_key = '%s'" % key) == [(0,)]
    refused = _cli(url, "erase", "--nik", "12345", "--reference", "x")
    assert refused.returncode == 2 and "not 16 digits" in refused.stderr


def test_retention_removes_old_identifiable_rows_and_keeps_the_aggregates(loaded: dict) -> None:
    url = loaded["url"]
    unset = _cli(url, "run")
    assert unset.returncode == 0 and "nothing removed" in unset.stdout
    today, months = date(2026, 4, 2), 1
    cutoff = retention.cutoff_for(months, today)
    assert cutoff == date(2026, 3, 2)
    old = {}
    for table, day in retention.EVENT_DAY.items():
        query = sql.SQL("select count(*) filter (where {day} < %s), count(*) from {table} as t").format(
            day=sql.SQL(day), table=sql.Identifier(*table.split(".")))
        with psycopg.connect(url) as connection:
            old[table] = connection.execute(query, (cutoff,)).fetchone()
    assert old["raw.eppgbm_measurements"][0] > 0 and old["raw.mch_services"][0] > 0, old
    keys_before = {k for pairs in _pairs(url).values() for _, k in pairs}
    # the second night's marts published (the gate's verdict recorded as in test_roles), as the transformer
    with psycopg.connect(url) as connection:
        connection.execute("insert into ops.gate_runs (run_id, schema_name, success) values ('night-2', 'marts_audit', true)")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE_URL", roles.role_url(roles.TRANSFORMER, url))
        publishing.publish("night-2")
    aggregates = sum(_rows(url, sql.SQL("select count(*) from {}").format(sql.Identifier("marts", t)))[0][0]
                     for (t,) in _rows(url, "select table_name from information_schema.tables "
                                            "where table_schema = 'marts' and table_name like 'mart\\_%'"))
    with psycopg.connect(url, autocommit=True) as connection:
        run_id, _, outcome = retention.run_retention(connection, months, today)
    print("\n".join(outcome.lines(f"retention before {cutoff}")))
    for table, (older, total) in old.items():
        query = sql.SQL("select count(*) filter (where {day} < %s), count(*) from {table} as t").format(
            day=sql.SQL(old_day := retention.EVENT_DAY[table]), table=sql.Identifier(*table.split(".")))
        with psycopg.connect(url) as connection:
            assert connection.execute(query, (cutoff,)).fetchone() == (0, total - older), (table, old_day)
        assert outcome.rows_by_table.get(table, 0) == older, table
    gone = keys_before - {k for pairs in _pairs(url).values() for _, k in pairs}
    assert gone and _carrying(url, gone) == {}
    assert _rows(url, "select aggregates_kept, cutoff from ops.retention_runs where retention_run_id = %d" % run_id) == [
        (aggregates, cutoff)]
    assert aggregates > 0
