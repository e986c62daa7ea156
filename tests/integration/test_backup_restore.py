"""Backup and restore (docs/operations.md): pg_dump the warehouse, drop it, restore it, the next night works.

Real binaries (the embedded PostgreSQL's pg_dump and pg_restore, as konvergensi.backup finds them)
against a real database. "Works" is checked at the loaders, which is where a restore can go wrong
for the next night: the load history (ops.file_loads) must come back so that files already loaded
are skipped, not loaded twice; the sequences must continue, not restart and collide; the roles'
grants must hold so the loader can write. Every table of every schema is compared, row count and
checksum, before and after.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from konvergensi import backup
from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

pytestmark = pytest.mark.integration

HEADER = "NIK;Nama;JK;Tgl Lahir;Pukesmas;Desa/Kel;Posyandu;Alamat;Tanggal Pengukuran;Berat;Tinggi;Cara Ukur"


def _export(path: Path, first: int, count: int) -> None:
    rows = [f"33750145012{30000 + i:05d};Anak {i};P;05/01/2023;MEDONO;Medono;Posyandu Melati;Jl. {i};10/01/2024;9,5;75,2;Telentang"
            for i in range(first, first + count)]
    rows.append(";Tanpa Tanggal;L;;MEDONO;Medono;Posyandu Melati;Jl. 0;12/01/2024;10;80;Berdiri")  # quarantined
    path.write_text("\n".join([HEADER, *rows]) + "\n")


def _fingerprint(url: str) -> dict[str, tuple[int, str | None]]:
    """Row count and an order-independent checksum of every table outside the catalogs."""
    with psycopg.connect(url) as connection:
        tables = connection.execute(
            """select format('%I.%I', table_schema, table_name) from information_schema.tables
               where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
               order by 1"""
        ).fetchall()
        return {
            table: connection.execute(
                f"select count(*), md5(string_agg(t::text, '|' order by t::text)) from {table} t"
            ).fetchone()
            for (table,) in tables
        }


def test_dump_drop_restore_then_the_next_night_loads(tmp_path: Path, fresh_database_url: str) -> None:
    url = fresh_database_url
    landing = tmp_path / "landing"
    landing.mkdir()
    _export(landing / "export_januari.csv", 1, 40)
    first = ingest_eppgbm(landing, "night-1", url=url)
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (41, 40, 1)
    before = _fingerprint(url)
    owners_before = _owners(url)
    assert before["raw.eppgbm_measurements"][0] == 40 and before["ops.file_loads"][0] == 1

    dump = backup.dump(tmp_path / "backup" / "warehouse.dump", url)
    assert dump.stat().st_size > 0 and not (tmp_path / "backup" / "warehouse.dump.partial").exists()
    with pytest.raises(RuntimeError, match="exists"):
        backup.restore(dump, url)  # never over a live database without --replace

    with psycopg.connect(backup._maintenance_url(url), autocommit=True) as admin:
        admin.execute(f'drop database "{backup._database(url)}" with (force)')
    backup.restore(dump, url)  # the database is gone: restore creates it
    assert _fingerprint(url) == before, "every table came back, row for row"

    backup.restore(dump, url, replace=True)  # and over a database that exists, when asked to
    assert _fingerprint(url) == before

    _export(landing / "export_februari.csv", 41, 10)
    (landing / "bkkbn").mkdir()
    second = ingest_eppgbm(landing, "night-2", url=url)
    families = ingest_bkkbn(landing, "night-2", url=url)
    assert [(f.file_name, f.status) for f in second.files] == [
        ("export_februari.csv", "loaded"), ("export_januari.csv", "skipped")]
    assert families.files == []
    with psycopg.connect(url) as connection:
        assert connection.execute("select count(*), count(distinct child_nik_key) from raw.eppgbm_measurements").fetchone() == (50, 50)
        assert connection.execute("select count(*) from raw.eppgbm_quarantine").fetchone() == (2,)
        batches = connection.execute("select batch_id from ops.load_batches order by batch_id").fetchall()
        assert len(batches) == len(set(batches)) == 3 and second.batch_id > first.batch_id
        owners = connection.execute("select schemaname, tablename, tableowner from pg_tables"
                                    " where schemaname in ('raw', 'ops', 'identity') order by 1, 2").fetchall()
    assert owners == owners_before, "owners (and so who may replace what) are restored"


def _owners(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(url) as connection:
        return connection.execute("select schemaname, tablename, tableowner from pg_tables"
                                  " where schemaname in ('raw', 'ops', 'identity') order by 1, 2").fetchall()
