"""The pseudonym key, for real: the key id is recorded, a night with another key refuses, rekey changes it.

A small warehouse is loaded by the production loaders with key A (e-PPGBM exports, BKKBN, the
services and public-works APIs from the local fake server, DTSEN from a schema beside it) and dbt
builds it. A night with key B refuses before touching anything. `python -m konvergensi.pseudonyms
rekey` then moves the warehouse from A to B in one transaction; every raw pseudonym is B's HMAC of
its identifier, none is left from A, the row counts are unchanged, the derived tables (identity,
snapshots, marts) carry the same keys mapped, and the next night — an extract and a dbt build with
key B — works and links the same people.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from konvergensi.extract import extract_source
from konvergensi.extract import sources as extract_sources
from konvergensi.extract.http import RetryPolicy
from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm
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


def _dbt_build(warehouse: str, target: Path) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "dbt"), "build", "--target-path", str(target), "--log-path", str(target),
               "--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"]
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
            build = _dbt_build(warehouse, root / "dbt-1")
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
    build = _dbt_build(url, loaded["root"] / "dbt-2")
    assert build.returncode == 0, build.stdout[-3000:]
    derived_next = _derived_keys(url)
    for name in ("identity.child_identity.child_key",):
        assert derived_next[name] == derived_after[name], name  # the same children, under the same new keys
