"""Convergence sources against a real PostgreSQL and a real local HTTP server.

The HTTP sources are served by tests/fixtures/sources/fake_http.py (hand-made pages, injected
5xx, 429, stalls, outages); DTSEN is a `dtsen` schema in the scratch database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from konvergensi.extract import SourceRejected, SourceUnavailable, extract_source
from konvergensi.extract import sources as extract_sources
from konvergensi.extract.http import RetryPolicy
from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
from tests.fixtures.sources.dtsen_register import DTSEN_TABLES
from tests.fixtures.sources.fake_http import HERE as FIXTURES
from tests.fixtures.sources.fake_http import FakeSources, load_fixture

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=3, timeout=0.5, backoff=0.01, max_backoff=0.05, retry_after_cap=1.0)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSources]:
    with FakeSources() as server:
        for collection, fixture in (
            ("layanan", "layanan.json"), ("ibu-hamil", "ibu_hamil.json"),
            ("survei_rumah_tangga", "survei_rumah_tangga.json"), ("proyek", "proyek.json"),
        ):  # fmt: skip
            server.collections[collection] = load_fixture(fixture)
        monkeypatch.setenv("KONVERGENSI_SERVICES_API_URL", f"{server.base_url}/api/v1")
        monkeypatch.setenv("KONVERGENSI_SERVICES_API_TOKEN", server.token)
        monkeypatch.setenv("KONVERGENSI_PUPR_API_URL", f"{server.base_url}/pupr")
        monkeypatch.setattr(extract_sources, "PAGE_SIZE", 2)
        yield server


def _rows(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query, params).fetchall()


def _extracts(url: str, source: str) -> list[tuple]:
    return _rows(
        url,
        "select status, records_read, records_loaded, records_quarantined, pages, attempts, error "
        "from ops.source_extracts where source = %s order by extract_id",
        (source,),
    )


def test_services_full_incremental_rerun_and_corrections(fake: FakeSources, fresh_database_url: str) -> None:
    url = fresh_database_url
    first = extract_source("services", "night-1", url=url, policy=FAST)
    assert (first.records_read, first.records_loaded, first.records_quarantined) == (5, 3, 2)
    assert (first.pages, first.attempts, first.rows_changed) == (3, 3, 3)
    assert "updated_since" not in fake.requests[0]
    assert _rows(url, "select record_id, reason from raw.source_quarantine order by record_id") == [
        ("LYN-0004", "layanan: unknown kode_layanan 'PIJAT_BAYI'"),
        ("LYN-0005", "layanan: tanggal_layanan 2099-01-01 is impossible: after " + datetime.now(UTC).date().isoformat()),
    ]
    watermark = _rows(url, "select watermark from ops.source_watermarks where source = 'services'")[0][0]
    assert watermark == datetime.fromisoformat("2026-03-03T10:00:00+07:00")
    assert _rows(url, "select count(*), count(nik_key), count(kk_key) from raw.mch_services") == [(3, 2, 2)]

    fake.requests.clear()
    again = extract_source("services", "night-1-retry", url=url, policy=FAST)
    assert "updated_since=2026-03-02T03%3A00%3A00%2B00%3A00" in fake.requests[0]  # watermark − 1 day, in UTC
    assert again.rows_changed == 0
    assert (again.records_read, again.records_loaded, again.records_quarantined) == (3, 1, 2)  # inside the window
    assert _rows(url, "select count(distinct extract_id) from raw.mch_services") == [(1,)]

    corrected = {**load_fixture("layanan.json")[0], "status": "BATAL", "updated_at": "2026-03-05T08:00:00+07:00"}
    stale = {**load_fixture("layanan.json")[1], "jumlah": 90, "updated_at": "2026-03-01T08:00:00+07:00"}
    fixed = {**load_fixture("layanan.json")[3], "kode_layanan": "KONSELING_GIZI", "updated_at": "2026-03-05T09:00:00+07:00"}
    new = {**load_fixture("layanan.json")[0], "id": "LYN-0006", "updated_at": "2026-03-05T10:00:00+07:00"}
    for record in (corrected, stale, fixed, new):
        fake.upsert("layanan", record)
    third = extract_source("services", "night-2", url=url, policy=FAST)
    assert third.rows_changed == 3  # the correction, the fixed record, the new one; the stale re-send loses
    assert third.records_read == third.records_loaded + third.records_quarantined
    rows = dict(_rows(url, "select service_id, extract_id from raw.mch_services"))
    assert {k for k, v in rows.items() if v == third.extract_id} == {"LYN-0001", "LYN-0004", "LYN-0006"}
    assert _rows(url, "select status from raw.mch_services where service_id = 'LYN-0001'") == [("BATAL",)]
    assert _rows(url, "select quantity from raw.mch_services where service_id = 'LYN-0002'") == [(30,)]
    assert _rows(url, "select record_id from raw.source_quarantine") == [("LYN-0005",)]
    assert [e[0] for e in _extracts(url, "services")] == ["loaded"] * 3


def test_failing_twice_then_recovering_loads_fully(fake: FakeSources, fresh_database_url: str) -> None:
    fake.script = [503, ("429", "0")]
    report = extract_source("services", "night-1", url=fresh_database_url, policy=FAST)
    assert (report.records_read, report.pages, report.attempts) == (5, 3, 5)
    assert _extracts(fresh_database_url, "services") == [("loaded", 5, 3, 2, 3, 5, None)]


def test_a_stall_past_the_timeout_is_retried(fake: FakeSources, fresh_database_url: str) -> None:
    fake.script, fake.stall_seconds = [None, "stall"], 1.5
    report = extract_source("pregnancies", "night-1", url=fresh_database_url, policy=FAST)
    assert (report.records_read, report.records_loaded, report.records_quarantined) == (3, 2, 1)
    assert report.attempts == report.pages + 1
    assert _rows(fresh_database_url, "select reason from raw.source_quarantine") == [
        ("ibu-hamil: hpht '10/01/2026' is not a date (YYYY-MM-DD)",)
    ]


def test_a_source_down_half_way_changes_nothing(fake: FakeSources, fresh_database_url: str) -> None:
    url = fresh_database_url
    extract_source("services", "night-1", url=url, policy=FAST)
    before = _rows(url, "select * from raw.mch_services order by service_id")
    watermark = _rows(url, "select watermark, extract_id from ops.source_watermarks")
    fake.upsert("layanan", {**load_fixture("layanan.json")[0], "id": "LYN-0009", "updated_at": "2026-03-06T10:00:00+07:00"})
    fake.script = [None, 503, 503, 503]  # page 1 answers, page 2 never does
    with pytest.raises(SourceUnavailable, match=r"services: page 2 at http://\S+/layanan\?\S+ still failing after 3"):
        extract_source("services", "night-2", url=url, policy=FAST)
    assert _rows(url, "select * from raw.mch_services order by service_id") == before
    assert _rows(url, "select watermark, extract_id from ops.source_watermarks") == watermark
    failed = _extracts(url, "services")[-1]
    assert failed[0] == "failed" and failed[4] == 1 and failed[5] == 4 and "page 2" in failed[6]

    fake.down = True
    with pytest.raises(SourceUnavailable, match="HTTP 503"):
        extract_source("services", "night-3", url=url, policy=FAST)
    # what mart_source_freshness reads: the latest finished attempt failed, an earlier one loaded
    attempts = _extracts(url, "services")
    assert attempts[-1][0] == "failed" and "HTTP 503" in attempts[-1][6]
    assert [attempt[0] for attempt in attempts] == ["loaded", "failed", "failed"]
    assert _extracts(url, "dtsen") == []

    fake.down = False
    extract_source("services", "night-4", url=url, policy=FAST)
    assert _extracts(url, "services")[-1][0] == "loaded"
    assert _rows(url, "select count(*) from raw.mch_services") == [(4,)]


def test_a_rejected_token_fails_clearly(fake: FakeSources, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONVERGENSI_SERVICES_API_TOKEN", "salah")
    with pytest.raises(SourceRejected, match=r"services: token rejected by http://127\.0\.0\.1:\d+/api/v1/layanan"):
        extract_source("services", "night-1", url=fresh_database_url, policy=FAST)
    assert len(fake.requests) == 1
    assert _extracts(fresh_database_url, "services")[0][0] == "failed"
    assert _rows(fresh_database_url, "select count(*) from ops.source_watermarks") == [(0,)]


def test_public_works_geojson_follows_next_links(fake: FakeSources, fresh_database_url: str) -> None:
    url = fresh_database_url
    surveys = extract_source("pupr_surveys", "night-1", url=url, policy=FAST)
    projects = extract_source("pupr_projects", "night-1", url=url, policy=FAST)
    assert (surveys.records_read, surveys.records_loaded, surveys.records_quarantined, surveys.pages) == (3, 2, 1, 2)
    assert (projects.records_read, projects.records_loaded, projects.records_quarantined) == (3, 2, 1)
    assert _rows(url, "select survey_id, longitude, latitude from raw.pupr_household_surveys order by 1") == [
        ("SRV-0001", 109.6753, -6.8886), ("SRV-0002", None, None),
    ]  # fmt: skip
    reasons = _rows(url, "select source, record_id like 'missing-id:%%', reason from raw.source_quarantine order by 1")
    assert reasons == [
        ("pupr_projects", True, "proyek: missing id_proyek"),
        ("pupr_surveys", False, "survei_rumah_tangga: geometry is not a Point: {'type': 'Polygon', 'coordinates': [[[109.6, -6.8], [109.7, -6.8], [109.7, -6.9]"),
    ]  # fmt: skip
    again = extract_source("pupr_projects", "night-2", url=url, policy=FAST)
    assert again.rows_changed == 0
    assert _rows(url, "select count(*) from raw.source_quarantine") == [(2,)]


DTSEN_DDL = DTSEN_TABLES + """
insert into dtsen.rumah_tangga values
    ('RT-001', '3375010101200001', '33.75.01.1002', 'Medono', 'Jl. Mawar 1', '001', '002', 2, 36.5, '1', 1, 1,
     3, 1, 1, 1, 4, '2026-Q1', '2026-01-10 10:00+07'),
    ('RT-002', '00000', '33.75.01.1002', 'Medono', 'Jl. Melati 4', '003', '001', 14, 18, '99', 2, 3,
     9, 4, 3, 5, 6, '2026-Q1', '2026-01-11 10:00+07'),
    ('RT-003', '3375010101200003', '33.75.02.1001', 'Tirto', 'Jl. Kenanga 2', '002', '002', 5, 50, 'keramik', 1, 1,
     1, 1, 1, 1, 3, '2026-Q1', '2026-01-12 10:00+07');
insert into dtsen.anggota_rumah_tangga values
    ('ART-001', 'RT-001', '3375011203900001', 'Ahmad', 1, 1, '1990-03-12', 1, 5, 3, 3, 1, 1, '2026-01-10 10:00+07'),
    ('ART-002', 'RT-001', '3375014507950001', 'Siti Rahayu', 2, 2, '1995-07-05', 1, 26, 7, 3, 1, 1, '2026-01-10 10:00+07'),
    ('ART-003', 'RT-001', null, 'Bima', 3, 1, '2024-05-01', 2, null, null, 2, 0, 1, '2026-01-10 10:00+07'),
    ('ART-004', 'RT-002', '3375010805880002', 'Budi', 1, 1, '1888-08-08', 1, 1, 1, 3, 1, 1, '2026-01-11 10:00+07');
insert into dtsen.penerimaan_program values
    ('RT-001', 'PKH', 2026, 1, '2026-01-10 10:00+07'), ('RT-002', 'BPNT', 2026, 1, '2026-01-11 10:00+07'),
    ('RT-002', 'BPNT', 2026, 13, '2026-01-11 10:00+07');
"""


def test_dtsen_one_snapshot_three_tables(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = fresh_database_url
    with psycopg.connect(url) as connection:
        connection.execute(DTSEN_DDL)
    monkeypatch.setenv("KONVERGENSI_DTSEN_URL", url)
    first = extract_source("dtsen", "night-1", url=url, policy=FAST)
    assert (first.records_read, first.records_loaded, first.records_quarantined) == (10, 7, 3)
    assert first.changed_by_table == {"raw.dtsen_households": 2, "raw.dtsen_members": 3, "raw.dtsen_programmes": 2}
    assert _rows(url, "select household_id, desil, floor_code, kk_number, kk_raw, kk_key is null from raw.dtsen_households order by 1") == [
        ("RT-001", 2, 1, "3375010101200001", "3375010101200001", False), ("RT-002", 14, 99, None, "00000", True),
    ]  # fmt: skip
    assert _rows(url, "select record_id, reason from raw.source_quarantine order by 1") == [
        ("anggota_rumah_tangga:ART-004", "anggota_rumah_tangga: tgl_lahir 1888-08-08 is impossible: before 1900-01-01"),
        ("penerimaan_program:RT-002/BPNT/2026/13", "penerimaan_program: bulan 13 is not a month"),
        ("rumah_tangga:RT-003", "rumah_tangga: b303_lantai 'keramik' is not a whole number"),
    ]  # fmt: skip
    with psycopg.connect(url) as connection:
        connection.execute("update dtsen.rumah_tangga set b303_lantai = '2', updated_at = now() where id_rt = 'RT-003'")
        connection.execute("update dtsen.anggota_rumah_tangga set status_keberadaan = 2, updated_at = now() where id_art = 'ART-002'")
    second = extract_source("dtsen", "night-2", url=url, policy=FAST)
    # the window (watermark − 1 day) re-reads the January rows too; only the two changed ones are touched
    assert second.records_read == second.records_loaded + second.records_quarantined == 10
    assert second.changed_by_table == {"raw.dtsen_households": 1, "raw.dtsen_members": 1, "raw.dtsen_programmes": 0}
    assert _rows(url, "select count(*) from raw.source_quarantine") == [(2,)]
    assert _rows(url, "select residence_status_code from raw.dtsen_members where member_id = 'ART-002'") == [(2,)]
    watermark = _rows(url, "select watermark from ops.source_watermarks where source = 'dtsen'")[0][0]
    assert datetime.now(UTC) - watermark < timedelta(minutes=5)


def test_dtsen_unreachable_is_unavailable(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONVERGENSI_DTSEN_URL", "postgresql://nobody@127.0.0.1:9/dtsen")
    with pytest.raises(SourceUnavailable, match="dtsen: dtsen \\(connecting\\)"):
        extract_source("dtsen", "night-1", url=fresh_database_url, policy=FAST)
    assert _extracts(fresh_database_url, "dtsen")[0][0] == "failed"


# BKKBN ------------------------------------------------------------------------------------------

BKKBN_FILE = "PK_3375011002_Medono_202603.csv"


def test_bkkbn_load_skip_replace_and_reject(tmp_path: Path, fresh_database_url: str) -> None:
    url = fresh_database_url
    (tmp_path / "bkkbn").mkdir()
    shutil.copy(FIXTURES / BKKBN_FILE, tmp_path / "bkkbn" / BKKBN_FILE)
    first = ingest_bkkbn(tmp_path, "night-1", url=url)
    assert [(f.file_name, f.status) for f in first.files] == [(f"bkkbn/{BKKBN_FILE}", "loaded")]
    assert (first.rows_read, first.rows_loaded, first.rows_quarantined) == (5, 3, 2)
    assert _rows(url, "select source_row, reason from raw.bkkbn_quarantine order by 1") == [
        (5, "PUS: 'Mungkin' is not Ya/Tidak"), (6, "Tanggal Pendataan: '31/02/2026' is not a date dd/mm/yyyy"),
    ]  # fmt: skip
    assert _rows(url, "select source_row, is_pus, improved_water, at_risk_of_stunting, wife_nik, wife_nik_raw, "
                      "wife_nik_key is null from raw.bkkbn_families order by 1") == [
        (2, True, True, True, "3375014507950001", "3375014507950001", False),
        (3, True, False, True, None, "33750152039", True),
        (4, True, True, False, "3375015505920004", "3375015505920004", False),
    ]  # fmt: skip
    assert _rows(url, "select source, rows_read, rows_loaded, rows_quarantined from ops.file_loads") == [("bkkbn", 5, 3, 2)]

    second = ingest_bkkbn(tmp_path, "night-2", url=url)
    assert [f.status for f in second.files] == ["skipped"]

    lines = (FIXTURES / BKKBN_FILE).read_text().splitlines()
    corrected = [lines[0], lines[1], lines[4].replace("Mungkin", "Ya"), lines[5].replace("31/02/2026", "28/02/2026")]
    (tmp_path / "bkkbn" / BKKBN_FILE).write_text("\n".join(corrected) + "\n", encoding="cp1252")
    (tmp_path / "bkkbn" / "PK_3375021001_Tirto_202603.csv").write_text(
        "No;Kode Kelurahan;Kelurahan;RW;RT;No KK\n1;33.75.02.1001;Tirto;001;001;3375020101200001\n"
    )
    third = ingest_bkkbn(tmp_path, "night-3", url=url)
    results = {f.file_name: f for f in third.files}
    replaced = results[f"bkkbn/{BKKBN_FILE}"]
    assert (replaced.status, replaced.rows_read, replaced.rows_loaded, replaced.rows_quarantined) == ("loaded", 3, 3, 0)
    assert replaced.replaced_checksum is not None
    rejected = results["bkkbn/PK_3375021001_Tirto_202603.csv"]
    assert rejected.status == "rejected"
    assert rejected.error.startswith("bkkbn/PK_3375021001_Tirto_202603.csv: not a Pendataan Keluarga file: missing column(s): NIK Kepala Keluarga,")
    assert _rows(url, "select count(*) from raw.bkkbn_families") == [(3,)]
    assert _rows(url, "select count(*) from raw.bkkbn_quarantine") == [(0,)]
    assert _rows(url, "select count(*) from ops.file_loads where status = 'loaded' and rows_read <> rows_loaded + rows_quarantined") == [(0,)]


def test_bkkbn_file_with_title_lines_above_the_header_loads(tmp_path: Path, fresh_database_url: str) -> None:
    """Re-saved in a spreadsheet: BOM, CRLF, a title, the month and an empty line above the header."""
    url = fresh_database_url
    (tmp_path / "bkkbn").mkdir()
    lines = ["PENDATAAN KELUARGA KELURAHAN MEDONO;;;", "BULAN: MARET 2026;;;", "",
             *(FIXTURES / BKKBN_FILE).read_text().splitlines()]
    (tmp_path / "bkkbn" / BKKBN_FILE).write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    report = ingest_bkkbn(tmp_path, "night-titles", url=url)
    assert [(f.status, f.error) for f in report.files] == [("loaded", None)]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (5, 3, 2)
    assert _rows(url, "select title_lines from ops.file_loads") == [(["PENDATAAN KELUARGA KELURAHAN MEDONO", "BULAN: MARET 2026"],)]
    assert _rows(url, "select min(source_row) from raw.bkkbn_families") == [(5,)]  # the header is row 4
