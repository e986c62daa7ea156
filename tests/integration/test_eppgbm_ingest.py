"""Ingestion against a real PostgreSQL: COPY, bookkeeping, idempotency, corrections, rejections."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from konvergensi import db, roles
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

pytestmark = pytest.mark.integration

HEADER = "NIK;Nama;JK;Tgl Lahir;Pukesmas;Desa/Kel;Posyandu;Alamat;Tanggal Pengukuran;Berat;Tinggi;Cara Ukur"
GOOD = [
    "3375014501230001;Siti Aminah;P;05/01/2023;MEDONO;Medono;Posyandu Melati;Jl. Mawar 1;10/01/2024;9,5;75,2;Telentang",
    "3375010202230002;Budi Santoso;L;02/02/2023;MEDONO;Kel. Tirto;Posyandu Mawar;Jl. Mawar 2;12/01/2024;10945;77;Terlentang",
    "3.37501E+15;Ani;P;03/03/2023;MEDONO;Medono;Posyandu Melati;Jl. Mawar 3;12/01/2024;9;74;Terlentang",
]
BAD = ";Tanpa Tanggal;L;;MEDONO;Medono;Posyandu Melati;Jl. Mawar 4;12/01/2024;10;80;Berdiri"


def _write(directory: Path, name: str, rows: list[str]) -> Path:
    path = directory / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _scalar(url: str, sql: str) -> object:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchone()[0]


def test_night_loads_skips_replaces_and_rejects(tmp_path: Path, fresh_database_url: str) -> None:
    url = fresh_database_url
    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD + [BAD])
    (tmp_path / "eppgbm_tirto_2024-01.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    (tmp_path / "~$eppgbm_open_in_excel.xlsx").write_bytes(b"lock")

    first = ingest_eppgbm(tmp_path, "night-1", url=url)
    assert [(f.file_name, f.status) for f in first.files] == [
        ("eppgbm_medono_2024-01.csv", "loaded"),
        ("eppgbm_tirto_2024-01.xls", "rejected"),
    ]
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (4, 3, 1)
    assert "Excel 97-2003" in first.files[1].error
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements") == 3
    assert _scalar(url, "select reason from raw.eppgbm_quarantine") == "missing or invalid birth date (Tgl Lahir)"
    assert _scalar(url, "select source_row from raw.eppgbm_quarantine") == 5
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements where child_person_key is null") == 0
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements where child_nik_key is not null") == 2

    second = ingest_eppgbm(tmp_path, "night-2", url=url)
    assert [f.status for f in second.files] == ["skipped", "rejected"]
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements") == 3

    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD[:2])
    _write(tmp_path, "eppgbm_medono_2024-01_copy.csv", GOOD[:2])
    third = ingest_eppgbm(tmp_path, "night-3", url=url)
    statuses = {f.file_name: (f.status, f.replaced_checksum is not None) for f in third.files}
    assert statuses["eppgbm_medono_2024-01.csv"] == ("loaded", True)
    assert statuses["eppgbm_medono_2024-01_copy.csv"][0] == "skipped"
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements") == 2
    assert _scalar(url, "select count(*) from raw.eppgbm_quarantine") == 0

    bookkeeping = _scalar(
        url,
        """select count(*) from ops.file_loads
           where status = 'loaded' and rows_read <> rows_loaded + rows_quarantined""",
    )
    assert bookkeeping == 0
    assert _scalar(url, "select count(*) from ops.file_loads") == 7


def _planner_view(url: str, table: str) -> tuple[float, int, int]:
    """(reltuples, relpages, relallvisible): what the planner believes about the table."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "select reltuples, relpages, relallvisible from pg_class where oid = %s::regclass", (table,)
        ).fetchone()
    return row[0], row[1], row[2]


def test_loaded_tables_are_handed_on_analysed_and_vacuumed(tmp_path: Path, fresh_database_url: str) -> None:
    """dbt must not meet a freshly loaded table whose statistics or hint bits depend on autovacuum (issue 12)."""
    url = fresh_database_url
    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD + [BAD])
    first = ingest_eppgbm(tmp_path, "night-1", url=url)
    assert first.settle_seconds > 0
    # all pages of the month's partition all-visible: hint bits set; the parent has statistics of its own
    assert _planner_view(url, "raw.eppgbm_measurements_2024_01") == (3, 1, 1)
    assert _planner_view(url, "raw.eppgbm_measurements")[0] == 3
    assert _planner_view(url, "raw.eppgbm_quarantine")[0] == 1

    skipped = ingest_eppgbm(tmp_path, "night-2", url=url)
    assert [f.status for f in skipped.files] == ["skipped"] and skipped.settle_seconds == 0

    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD[:2])  # a corrected file replaces the rows
    ingest_eppgbm(tmp_path, "night-3", url=url)
    assert _planner_view(url, "raw.eppgbm_measurements_2024_01")[0] == 2
    assert _planner_view(url, "raw.eppgbm_measurements")[0] == 2
    assert _planner_view(url, "raw.eppgbm_quarantine")[0] == 0


def _partitions(url: str) -> dict[str, int]:
    """Partition of raw.eppgbm_measurements -> its rows."""
    with psycopg.connect(url) as connection:
        names = [name for (name,) in connection.execute(
            "select c.relname from pg_inherits as i join pg_class as c on c.oid = i.inhrelid"
            " where i.inhparent = 'raw.eppgbm_measurements'::regclass order by 1")]
        return {name: connection.execute(f"select count(*) from raw.{name}").fetchone()[0] for name in names}


def test_rows_land_in_their_months_partition(tmp_path: Path, fresh_database_url: str) -> None:
    """Issue 9: raw e-PPGBM rows are partitioned by the month measured; a month gets its partition at its first load."""
    url = fresh_database_url
    february = GOOD[0].replace(";10/01/2024;", ";05/02/2024;")
    typo_year = GOOD[1].replace(";12/01/2024;", ";12/01/2062;")  # the gate's business, kept in the default
    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD + [february, typo_year])
    first = ingest_eppgbm(tmp_path, "night-1", url=roles.role_url(roles.LOADER, url))  # the night's role: no DDL
    assert first.rows_loaded == 5
    assert _partitions(url) == {"eppgbm_measurements_2024_01": 3, "eppgbm_measurements_2024_02": 1,
                                "eppgbm_measurements_default": 1}
    # the loader settled the new partitions although it does not own them
    with psycopg.connect(url) as connection:
        analysed = dict(connection.execute(
            "select relname, last_analyze is not null from pg_stat_user_tables"
            " where relname like 'eppgbm_measurements%' order by 1").fetchall())
    assert analysed == {"eppgbm_measurements": True, "eppgbm_measurements_2024_01": True,
                        "eppgbm_measurements_2024_02": True, "eppgbm_measurements_default": True}

    _write(tmp_path, "eppgbm_tirto_2024-02.csv", [GOOD[2].replace(";12/01/2024;", ";20/02/2024;")])
    ingest_eppgbm(tmp_path, "night-2", url=roles.role_url(roles.LOADER, url))
    assert _partitions(url) == {"eppgbm_measurements_2024_01": 3, "eppgbm_measurements_2024_02": 2,
                                "eppgbm_measurements_default": 1}
    assert _scalar(url, "select count(*) from raw.eppgbm_measurements") == 6
    # a month is one partition: a query for it reads no other
    with psycopg.connect(url) as connection:
        plan = "\n".join(row[0] for row in connection.execute(
            "explain select count(*) from raw.eppgbm_measurements where measured_on >= '2024-02-01' and measured_on < '2024-03-01'"))
    assert "eppgbm_measurements_2024_02" in plan and "2024_01" not in plan and "default" not in plan, plan


def test_a_warehouse_with_the_unpartitioned_table_keeps_its_rows(tmp_path: Path, fresh_database_url: str) -> None:
    """A warehouse migrated before issue 9 has a plain raw.eppgbm_measurements: the migration partitions it."""
    url = fresh_database_url
    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD)
    ingest_eppgbm(tmp_path, "night-1", url=url)
    with psycopg.connect(url) as connection:
        before = connection.execute("select md5(string_agg(t::text, '' order by t::text)) from raw.eppgbm_measurements t").fetchone()[0]
        connection.execute("create table raw.plain (like raw.eppgbm_measurements)")
        connection.execute("insert into raw.plain select * from raw.eppgbm_measurements")
        connection.execute("drop table raw.eppgbm_measurements")
        connection.execute("alter table raw.plain rename to eppgbm_measurements")
        connection.execute("create index eppgbm_measurements_batch_brin on raw.eppgbm_measurements using brin (batch_id)")
    assert _scalar(url, "select relkind from pg_class where oid = 'raw.eppgbm_measurements'::regclass") == "r"

    db.migrate(url)

    assert _scalar(url, "select relkind from pg_class where oid = 'raw.eppgbm_measurements'::regclass") == "p"
    assert _partitions(url) == {"eppgbm_measurements_2024_01": 3, "eppgbm_measurements_default": 0}
    assert _scalar(url, "select md5(string_agg(t::text, '' order by t::text)) from raw.eppgbm_measurements t") == before
    assert _scalar(url, "select to_regclass('raw.eppgbm_measurements_unpartitioned')") is None


def test_cleaned_values_reach_raw_with_lineage(tmp_path: Path, fresh_database_url: str) -> None:
    _write(tmp_path, "a.csv", GOOD)
    ingest_eppgbm(tmp_path, "night-1", url=fresh_database_url)
    with psycopg.connect(fresh_database_url) as connection:
        rows = connection.execute(
            """select source_row, nik_status, weight_kg, height_cm, position, cleaning_notes, birth_date::text
               from raw.eppgbm_measurements order by source_row"""
        ).fetchall()
    assert rows == [
        (2, "valid", 9.5, 75.2, "lying", "decimal_comma", "2023-01-05"),
        (3, "valid", 10.945, 77.0, "lying", "weight_grams", "2023-02-02"),
        (4, "scientific", 9.0, 74.0, "lying", None, "2023-03-03"),
    ]


TITLE_BLOCK = ["LAPORAN HASIL PENIMBANGAN BALITA PUSKESMAS MEDONO", "BULAN: SEPTEMBER 2026", ""]


@pytest.mark.parametrize(("separator", "encoding", "bom"), [(";", "utf-8", b"\xef\xbb\xbf"), (",", "utf-8", b"\xef\xbb\xbf"),
                                                        (";", "cp1252", b"")])
def test_export_with_title_lines_above_the_header_loads(tmp_path: Path, fresh_database_url: str, separator: str,
                                                        encoding: str, bom: bytes) -> None:
    """The shape a re-saved register export has: BOM, CRLF, a title, the month, an empty line, then the header."""
    url = fresh_database_url
    rows = [line.replace(";", separator) if separator == ";" else line.replace(",", ".").replace(";", ",")
            for line in [HEADER, *GOOD, BAD]]
    text = "\r\n".join([*TITLE_BLOCK, *rows]) + "\r\n"
    (tmp_path / "PKM MEDONO SEPTEMBER 2026.csv").write_bytes(bom + text.replace("Siti", "Sîti").encode(encoding))

    report = ingest_eppgbm(tmp_path, "night-titles", url=url)
    assert [(f.status, f.error) for f in report.files] == [("loaded", None)]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 3, 1)
    with psycopg.connect(url) as connection:
        titles, read, loaded, quarantined = connection.execute(
            "select title_lines, rows_read, rows_loaded, rows_quarantined from ops.file_loads").fetchone()
        names = [r[0] for r in connection.execute(
            "select child_name from raw.eppgbm_measurements order by source_row").fetchall()]
        quarantined_row = connection.execute("select source_row from raw.eppgbm_quarantine").fetchone()[0]
    assert titles == TITLE_BLOCK[:2]
    assert (read, loaded, quarantined) == (4, 3, 1)
    assert names == ["Sîti Aminah", "Budi Santoso", "Ani"]
    assert quarantined_row == 8  # 3 title lines, the header on row 4, the bad row is the 4th data row


def test_export_without_title_lines_records_none(tmp_path: Path, fresh_database_url: str) -> None:
    _write(tmp_path, "eppgbm_medono_2024-01.csv", GOOD)
    ingest_eppgbm(tmp_path, "night-plain", url=fresh_database_url)
    assert _scalar(fresh_database_url, "select title_lines from ops.file_loads") is None
