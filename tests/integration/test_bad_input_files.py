"""The bad-input catalogue for the file sources (e-PPGBM exports, BKKBN Pendataan Keluarga CSV).

Each case writes broken (or awkward) files into a landing directory, runs the real loaders against
a database of its own and checks, per file, what ops.file_loads says against what the raw and
quarantine tables hold: a rejected file names the row, line or cell and the reason and leaves no
rows; a loaded file's rows in = rows loaded + rows quarantined, each count equal to the rows
actually in raw and quarantine for that file, and the quarantine reason is the expected one.
The last test prints the catalogue as a table (case → outcome → rows in / loaded / quarantined).
The memory bounds of the big cases are measured in tests/unit/test_reader_bounds.py.
"""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest
from openpyxl import Workbook

from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
from konvergensi.ingest.eppgbm_loader import ingest_eppgbm
from tests.conftest import apply_roles

pytestmark = pytest.mark.integration

HEADER = "NIK;Nama;JK;Tgl Lahir;Pukesmas;Desa/Kel;Posyandu;Alamat;Tanggal Pengukuran;Berat;Tinggi;Cara Ukur"
COLUMNS = HEADER.split(";")


def child(i: int, **cells: str) -> list[str]:
    """One e-PPGBM row (a distinct child per i); keyword cells override by header name (spaces as _)."""
    row = {
        "NIK": f"33750145012{30000 + i:05d}", "Nama": f"Anak {i}", "JK": "P" if i % 2 else "L",
        "Tgl Lahir": "05/01/2023", "Pukesmas": "MEDONO", "Desa/Kel": "Medono", "Posyandu": "Posyandu Melati",
        "Alamat": f"Jl. Mawar {i}", "Tanggal Pengukuran": "10/01/2024", "Berat": "9,5", "Tinggi": "75,2",
        "Cara Ukur": "Telentang",
    }  # fmt: skip
    row.update({key.replace("_", " ").replace("Desa Kel", "Desa/Kel"): value for key, value in cells.items()})
    return [row[c] for c in COLUMNS]


def csv_text(rows: list[list[str]], header: str = HEADER) -> str:
    return "\n".join([header, *(";".join(r) for r in rows)]) + "\n"


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))


def workbook_bytes(sheets: list[tuple[str, list[list[object]], str]], merges: dict[str, list[str]] | None = None) -> bytes:
    """An .xlsx of (title, rows, state) sheets, merged ranges per sheet title."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows, state in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
        sheet.sheet_state = state
        for cells in (merges or {}).get(title, []):
            sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_part(xlsx: bytes, part: str, change: Callable[[bytes], bytes]) -> bytes:
    """The .xlsx with one part's XML changed (what a program other than openpyxl would have written)."""
    source, target = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            out.writestr(info.filename, change(data) if info.filename == part else data)
    return target.getvalue()


def zip_bomb(xlsx: bytes, megabytes: int = 64) -> bytes:
    """The .xlsx with megabytes of blanks inside its sheet: a few kB on disk, far more inflated."""
    source, target = zipfile.ZipFile(io.BytesIO(xlsx)), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                out.writestr(info.filename, data)
                continue
            head, tail = data.split(b"<sheetData>", 1)
            with out.open(info.filename, "w") as part:
                part.write(head + b"<sheetData>")
                blanks = b" " * (1 << 20)
                for _ in range(megabytes):
                    part.write(blanks)
                part.write(tail)
    return target.getvalue()


def plain_xlsx(rows: list[list[str]]) -> bytes:
    return workbook_bytes([("Sheet1", [COLUMNS, *rows], "visible")])


BKKBN_HEADER = (
    "No;Kode Kelurahan;Kelurahan;RW;RT;No KK;NIK Kepala Keluarga;Nama Kepala Keluarga;NIK Istri;Nama Istri;"
    "Tgl Lahir Istri;Jumlah Anak;Anak Terakhir Lahir;Punya Baduta;Punya Balita;PUS;Ibu Hamil;Sumber Air Minum Layak;"
    "Jamban Layak;Terlalu Muda;Terlalu Tua;Terlalu Dekat;Terlalu Banyak;Rumah Tidak Layak Huni;Berisiko Stunting;"
    "Tanggal Pendataan"
)
BKKBN_COLUMNS = BKKBN_HEADER.split(";")


def family(i: int, **cells: str) -> list[str]:
    values = (
        f"{i};33.75.01.1002;Medono;002;001;33750101012{i:05d};33750112039{i:05d};Ahmad {i};33750145079{i:05d};"
        "Siti Rahayu;05/07/1995;1;01/05/2024;Ya;Ya;Ya;Ya;Ya;Ya;Tidak;Tidak;Tidak;Tidak;Tidak;Ya;10/03/2026"
    ).split(";")
    row = dict(zip(BKKBN_COLUMNS, values))
    row.update({key.replace("_", " "): value for key, value in cells.items()})
    return [row[c] for c in BKKBN_COLUMNS]


def bkkbn_text(rows: list[list[str]]) -> str:
    return csv_text(rows, BKKBN_HEADER)


@dataclass(frozen=True)
class Expect:
    file: str  # relative to the landing directory, as ops.file_loads names it
    status: str  # loaded | rejected | skipped
    rows_in: int  # data rows the file holds
    loaded: int = 0
    quarantined: int = 0
    says: str = ""  # in the error (rejected, skipped) or in a quarantine reason (loaded)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, int], None]  # (landing directory, night number)
    expects: tuple[Expect, ...]
    nights: int = 1
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[psycopg.Connection], None] | None = None  # more about what was loaded


def files(*named: tuple[str, str | bytes]) -> Callable[[Path, int], None]:
    def build(landing: Path, night: int) -> None:
        for name, content in named:
            write(landing / name, content)
    return build


def rows_of(sql: str) -> Callable[[psycopg.Connection], list[tuple]]:
    return lambda connection: connection.execute(sql).fetchall()


def expect_rows(sql: str, expected: list[tuple]) -> Callable[[psycopg.Connection], None]:
    def check(connection: psycopg.Connection) -> None:
        assert connection.execute(sql).fetchall() == expected
    return check


GOOD = [child(1), child(2), child(3)]


def _symlink(landing: Path, night: int) -> None:
    outside = landing.parent / "outside"
    write(outside / "secret_export.csv", csv_text(GOOD))
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "linked_export.csv").symlink_to(outside / "secret_export.csv")
    (landing / "bkkbn").mkdir()
    write(outside / "PK_linked.csv", bkkbn_text([family(1)]))
    (landing / "bkkbn" / "PK_linked.csv").symlink_to(outside / "PK_linked.csv")


def _fifo(landing: Path, night: int) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    os.mkfifo(landing / "export_pipe.csv")


def _two_gigabytes(landing: Path, night: int) -> None:
    path = landing / "PKM MEDONO 2020-2026.csv"
    write(path, csv_text(GOOD))
    with path.open("r+b") as handle:
        handle.truncate((2 << 30) + 1)  # sparse: 2 GB on paper, nothing on disk


def _in_flight(landing: Path, night: int) -> None:
    if night == 1:
        write(landing / "export_medono.csv.part", csv_text(GOOD))
    else:
        (landing / "export_medono.csv.part").rename(landing / "export_medono.csv")


def _redelivered(landing: Path, night: int) -> None:
    write(landing / "export_medono.csv", csv_text(GOOD))


def _corrected(landing: Path, night: int) -> None:
    rows = GOOD if night == 1 else [child(1), child(2, Berat="10,1")]
    write(landing / "export_medono.csv", csv_text(rows))


def _formula(cached: bool) -> bytes:
    rows = [COLUMNS, child(1), child(2)]
    rows[2][COLUMNS.index("Berat")] = "=9.5*1"
    xlsx = workbook_bytes([("Sheet1", rows, "visible")])
    if cached:
        return rewrite_part(xlsx, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"<v></v>", b"<v>9.5</v>"))
    return xlsx


_MERGED_ROWS: list[list[object]] = [
    ["LAPORAN PENIMBANGAN PUSKESMAS MEDONO"] + [None] * 11,
    COLUMNS,
    child(1),
    [*child(2)[:6], None, *child(2)[7:]],
    [*child(3)[:6], None, *child(3)[7:]],
]

CASES = [
    # --- whole files that cannot be read: rejected, the reason named ---
    Case("empty file", files(("export_kosong.csv", b"")),
         (Expect("export_kosong.csv", "rejected", 0, says="empty file"),)),
    Case("header only, no rows", files(("export_header.csv", HEADER + "\n")),
         (Expect("export_header.csv", "loaded", 0),)),
    Case("title lines but no header", files(("laporan.csv", "LAPORAN PENIMBANGAN\nBULAN: JANUARI\n\nNo;Nama;Alamat\n")),
         (Expect("laporan.csv", "rejected", 0, says="missing column(s)"),)),
    Case("truncated CSV (download cut mid-row)", files(("export_cut.csv", csv_text(GOOD)[:-1] + "\n" + ";".join(child(4))[:40])),
         (Expect("export_cut.csv", "loaded", 4, 3, 1, says="invalid measurement date"),)),
    Case("truncated .xlsx (zip cut in half)", files(("export_cut.xlsx", plain_xlsx(GOOD)[:2000])),
         (Expect("export_cut.xlsx", "rejected", 0, says="damaged .xlsx"),)),
    Case("zip bomb .xlsx (64 MB of blanks in a few kB)", files(("export_bomb.xlsx", zip_bomb(plain_xlsx(GOOD)))),
         (Expect("export_bomb.xlsx", "rejected", 0, says="zip bomb"),)),
    Case(".xlsx declaring more than the uncompressed limit", files(("export_big.xlsx", plain_xlsx(GOOD))),
         (Expect("export_big.xlsx", "rejected", 0, says="KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES"),),
         env={"KONVERGENSI_XLSX_MAX_UNCOMPRESSED_BYTES": "4096"}),
    Case("2 GB file (sparse)", _two_gigabytes,
         (Expect("PKM MEDONO 2020-2026.csv", "rejected", 0, says="KONVERGENSI_MAX_FILE_BYTES"),)),
    Case("binary Excel 97-2003 .xls", files(("export_lama.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 600)),
         (Expect("export_lama.xls", "rejected", 0, says="Excel 97-2003"),)),
    Case("unsupported file type (.pdf)", files(("laporan.pdf", b"%PDF-1.7\n")),
         (Expect("laporan.pdf", "rejected", 0, says="unsupported file type .pdf"),)),
    Case("HTML saved as .xls without table rows", files(("export_html.xls", b"<html><body><p>Tidak ada data</p></body></html>")),
         (Expect("export_html.xls", "rejected", 0, says="without table rows"),)),
    Case("UTF-16 text", files(("export_utf16.txt", csv_text(GOOD).encode("utf-16"))),
         (Expect("export_utf16.txt", "rejected", 0, says="UTF-16"),)),
    Case("mixed encodings (UTF-8, then a cp1252 line)",
         files(("export_mixed.csv", csv_text([child(1, Nama="Sîti")]).encode() + ";".join(child(2, Nama="Désy")).encode("cp1252") + b"\n")),
         (Expect("export_mixed.csv", "rejected", 0, says="line 3: byte 0xe9 is not UTF-8"),)),
    Case("duplicated header column", files(("export_dup_header.csv", csv_text(GOOD, HEADER + ";BB"))),
         (Expect("export_dup_header.csv", "rejected", 0, says="'BB' appears twice"),)),
    Case("file of another source (BKKBN in the e-PPGBM landing)", files(("PK_3375011002_Medono.csv", bkkbn_text([family(1)]))),
         (Expect("PK_3375011002_Medono.csv", "rejected", 0, says="not an e-PPGBM export: missing column(s)"),)),
    Case("NUL bytes mid-file", files(("export_nul.csv", csv_text(GOOD).replace("Anak 2", "Anak\x00\x002"))),
         (Expect("export_nul.csv", "rejected", 0, says="line 3: NUL byte"),)),
    Case("unclosed quote", files(("export_quote.csv", csv_text([child(1), child(2, Alamat='"Jl. Mawar 2'), child(3)]))),
         (Expect("export_quote.csv", "rejected", 0, says="line 3: a quote opened here is never closed"),)),
    Case("stray quotes swallowing 150 rows", files(("export_stray.csv", csv_text(
        [child(1, Alamat='"Jl. Mawar'), *[child(i) for i in range(2, 152)], child(152, Alamat='Gg. 3"')]))),
         (Expect("export_stray.csv", "rejected", 0, says="row 2: a quoted field spans 152 lines"),)),
    Case("row with more cells than the header", files(("export_ragged.csv", csv_text([child(1), child(2) + ["x"], child(3)]))),
         (Expect("export_ragged.csv", "rejected", 0, says="row 3: 13 cells but the header has 12 columns"),)),
    Case("symbolic links (e-PPGBM and BKKBN)", _symlink,
         (Expect("linked_export.csv", "rejected", 0, says="symbolic link to"),
          Expect("bkkbn/PK_linked.csv", "rejected", 0, says="not followed"))),
    Case("named pipe in the landing directory", _fifo,
         (Expect("export_pipe.csv", "rejected", 0, says="not a regular file"),)),
    Case("formula without a computed value", files(("export_formula.xlsx", _formula(cached=False))),
         (Expect("export_formula.xlsx", "rejected", 0, says="cell J3 of sheet 'Sheet1' holds a formula (=9.5*1)"),)),
    # --- files that load, awkward but readable ---
    Case("formula with its computed value", files(("export_formula.xlsx", _formula(cached=True))),
         (Expect("export_formula.xlsx", "loaded", 2, 2),),
         check=expect_rows("select weight_kg from raw.eppgbm_measurements order by source_row", [(9.5,), (9.5,)])),
    Case("merged cells (title across, posyandu down)",
         files(("export_merged.xlsx", workbook_bytes([("Laporan", _MERGED_ROWS, "visible")], {"Laporan": ["A1:L1", "G3:G5"]}))),
         (Expect("export_merged.xlsx", "loaded", 3, 3),),
         check=expect_rows("select posyandu_name, count(*) from raw.eppgbm_measurements group by 1", [("Posyandu Melati", 3)])),
    Case("hidden sheet before the export", files(("export_hidden.xlsx", workbook_bytes([
        ("Referensi", [COLUMNS, child(90), child(91)], "hidden"), ("Data", [COLUMNS, *GOOD], "visible")]))),
         (Expect("export_hidden.xlsx", "loaded", 3, 3),),
         check=expect_rows("select child_name from raw.eppgbm_measurements order by source_row", [("Anak 1",), ("Anak 2",), ("Anak 3",)])),
    Case("BOM and CRLF", files(("export_bom.csv", b"\xef\xbb\xbf" + csv_text(GOOD).replace("\n", "\r\n").encode())),
         (Expect("export_bom.csv", "loaded", 3, 3),),
         check=expect_rows("select count(*) from raw.eppgbm_measurements where nik_status = 'valid'", [(3,)])),
    Case("cp1252 (Excel on Windows)", files(("export_cp1252.csv", csv_text([child(1, Nama="Désy"), child(2)]).encode("cp1252"))),
         (Expect("export_cp1252.csv", "loaded", 2, 2),),
         check=expect_rows("select child_name from raw.eppgbm_measurements order by source_row", [("Désy",), ("Anak 2",)])),
    Case("HTML table saved as .xls", files(("export_html.xls", "<table><tr><th>" + "</th><th>".join(COLUMNS) + "</th></tr>"
         + "".join("<tr><td>" + "</td><td>".join(r) + "</td></tr>" for r in [*GOOD, child(4, JK="X")]) + "</table>")),
         (Expect("export_html.xls", "loaded", 4, 3, 1, says="invalid sex (JK)"),)),
    # --- rows that are wrong: quarantined with the reason, or loaded with a note ---
    # Loaded as delivered: the gate's measured_on_not_in_future then stops the night and nothing is
    # published (tests/integration/test_nightly_dag.py, the bad batch); here: it reaches raw intact.
    Case("far-future measurement date (loaded; the gate blocks the night)",
         files(("export_future.csv", csv_text([child(1), child(2, Tanggal_Pengukuran="10/01/2099")]))),
         (Expect("export_future.csv", "loaded", 2, 2),),
         check=expect_rows("select measured_on::text from raw.eppgbm_measurements order by source_row",
                           [("2024-01-10",), ("2099-01-10",)])),
    Case("pre-1900 birth date", files(("export_1900.csv", csv_text([child(1), child(2, Tgl_Lahir="05/01/1023")]))),
         (Expect("export_1900.csv", "loaded", 2, 1, 1, says="date before 1900"),)),
    Case("impossible date (31 February)", files(("export_feb.csv", csv_text([child(1), child(2, Tgl_Lahir="31/02/2023")]))),
         (Expect("export_feb.csv", "loaded", 2, 1, 1, says="invalid birth date (Tgl Lahir)"),)),
    Case("negative weight (kept as text, noted)", files(("export_negative.csv", csv_text([child(1, Berat="-9,5"), child(2, Berat="-1", Tinggi="-70")]))),
         (Expect("export_negative.csv", "loaded", 2, 1, 1, says="no usable weight or height"),),
         check=expect_rows("select weight_kg, weight_raw, cleaning_notes from raw.eppgbm_measurements",
                           [(None, "-9,5", "decimal_comma,weight_unparseable")])),
    Case("absurd measurements (3 t, 30 m)", files(("export_absurd.csv", csv_text([child(1), child(2, Berat="3000000"), child(3, Tinggi="30000")]))),
         (Expect("export_absurd.csv", "loaded", 3, 1, 2, says="impossible weight or height"),)),
    Case("NIK with letters (kept raw, pseudonym by name)", files(("export_nik.csv", csv_text([child(1, NIK="33750145O1230001")]))),
         (Expect("export_nik.csv", "loaded", 1, 1),),
         check=expect_rows("select nik, nik_raw, nik_status, child_nik_key is null, child_person_key is not null"
                           " from raw.eppgbm_measurements", [(None, "33750145O1230001", "malformed", True, True)])),
    Case("duplicated rows within a file (kept; dbt deduplicates)", files(("export_dup_rows.csv", csv_text([child(1), child(1), child(2)]))),
         (Expect("export_dup_rows.csv", "loaded", 3, 3),),
         check=expect_rows("select source_row from raw.eppgbm_measurements where nik_raw = '3375014501230001' order by 1", [(2,), (3,)])),
    Case("duplicated rows across files", files(("export_a.csv", csv_text([child(1), child(2)])), ("export_b.csv", csv_text([child(2), child(3)]))),
         (Expect("export_a.csv", "loaded", 2, 2), Expect("export_b.csv", "loaded", 2, 2))),
    Case("same file under two names", files(("export_a.csv", csv_text(GOOD)), ("export_a (1).csv", csv_text(GOOD))),
         (Expect("export_a (1).csv", "loaded", 3, 3), Expect("export_a.csv", "skipped", 3, says="same content as export_a (1).csv"))),
    Case("same file delivered again next night", _redelivered,
         (Expect("export_medono.csv", "skipped", 3, says="already loaded with this checksum"),), nights=2,
         check=expect_rows("select count(*) from raw.eppgbm_measurements", [(3,)])),
    Case("corrected file replaces its rows next night", _corrected,
         (Expect("export_medono.csv", "loaded", 2, 2),), nights=2,
         check=expect_rows("select weight_kg from raw.eppgbm_measurements order by source_row", [(9.5,), (10.1,)])),
    Case("file still uploading (.part), loaded once renamed", _in_flight,
         (Expect("export_medono.csv", "loaded", 3, 3),), nights=2),
    # --- BKKBN Pendataan Keluarga ---
    Case("BKKBN: empty file", files(("bkkbn/PK_kosong.csv", b"")),
         (Expect("bkkbn/PK_kosong.csv", "rejected", 0, says="not a Pendataan Keluarga file"),)),
    Case("BKKBN: an e-PPGBM export in the BKKBN landing", files(("bkkbn/export_medono.csv", csv_text(GOOD))),
         (Expect("bkkbn/export_medono.csv", "rejected", 0, says="missing column(s): Kode Kelurahan"),)),
    Case("BKKBN: an .xlsx", files(("bkkbn/PK_medono.xlsx", plain_xlsx(GOOD))),
         (Expect("bkkbn/PK_medono.xlsx", "rejected", 0, says="unsupported file type .xlsx"),)),
    Case("BKKBN: bad cells (flag, future survey, pre-1900 birth, too many children)", files(("bkkbn/PK_bad.csv", bkkbn_text([
        family(1), family(2, PUS="Mungkin"), family(3, Tanggal_Pendataan="10/03/2099"),
        family(4, Tgl_Lahir_Istri="05/07/1895"), family(5, Jumlah_Anak="-2")]))),
         (Expect("bkkbn/PK_bad.csv", "loaded", 5, 1, 4, says="PUS: 'Mungkin' is not Ya/Tidak"),),
         check=expect_rows("select source_row, reason from raw.bkkbn_quarantine order by 1", [
             (3, "PUS: 'Mungkin' is not Ya/Tidak"),
             (4, "Tanggal Pendataan: '10/03/2099' is impossible (before 01/01/2000 or after "
                 f"{__import__('datetime').date.today():%d/%m/%Y})"),
             (5, "Tgl Lahir Istri: '05/07/1895' is impossible (before 01/01/1900 or after "
                 f"{__import__('datetime').date.today():%d/%m/%Y})"),
             (6, "Jumlah Anak: '-2' is not a number of children")])),
    Case("BKKBN: NIK with letters (kept raw, no key)", files(("bkkbn/PK_nik.csv", bkkbn_text([family(1, NIK_Istri="33750145O7950001")]))),
         (Expect("bkkbn/PK_nik.csv", "loaded", 1, 1),),
         check=expect_rows("select wife_nik, wife_nik_raw, wife_nik_key from raw.bkkbn_families", [(None, "33750145O7950001", None)])),
    Case("BKKBN: truncated row", files(("bkkbn/PK_cut.csv", bkkbn_text([family(1)]) + ";".join(family(2))[:60] + "\n")),
         (Expect("bkkbn/PK_cut.csv", "loaded", 2, 1, 1, says="row has 7 cells, the header has 26"),)),
    Case("BKKBN: unclosed quote", files(("bkkbn/PK_quote.csv", bkkbn_text([family(1), family(2, Nama_Istri='"Siti'), *[family(i) for i in range(3, 120)]]))),
         (Expect("bkkbn/PK_quote.csv", "rejected", 0, says="line 3: a quoted field spans"),)),
    Case("BKKBN: NUL byte", files(("bkkbn/PK_nul.csv", bkkbn_text([family(1), family(2, Nama_Istri="Si\x00ti")]))),
         (Expect("bkkbn/PK_nul.csv", "rejected", 0, says="line 3: NUL byte"),)),
    Case("BKKBN: cp1252", files(("bkkbn/PK_cp1252.csv", bkkbn_text([family(1, Nama_Istri="Désy")]).encode("cp1252"))),
         (Expect("bkkbn/PK_cp1252.csv", "loaded", 1, 1),),
         check=expect_rows("select wife_name from raw.bkkbn_families", [("Désy",)])),
    Case("BKKBN: mixed encodings", files(("bkkbn/PK_mixed.csv", bkkbn_text([family(1, Nama_Istri="Sîti")]).encode()
                                            + ";".join(family(2, Nama_Istri="Désy")).encode("cp1252") + b"\n")),
         (Expect("bkkbn/PK_mixed.csv", "rejected", 0, says="line 3: byte 0xe9 is not UTF-8"),)),
    Case("BKKBN: duplicated rows within a file (kept)", files(("bkkbn/PK_dup.csv", bkkbn_text([family(1), family(1)]))),
         (Expect("bkkbn/PK_dup.csv", "loaded", 2, 2),)),
    Case("BKKBN: above the size limit", files(("bkkbn/PK_big.csv", bkkbn_text([family(i) for i in range(1, 40)]))),
         (Expect("bkkbn/PK_big.csv", "rejected", 0, says="KONVERGENSI_MAX_FILE_BYTES"),),
         env={"KONVERGENSI_MAX_FILE_BYTES": "2000"}),
]

OUTCOMES: list[tuple[str, str, str, int, int, int, str]] = []


def _url(server_url: str, database: str) -> str:
    return urlunparse(urlparse(server_url)._replace(path=f"/{database}"))


@pytest.fixture(scope="module")
def template_database(server_url: str) -> Iterator[str]:
    """A migrated warehouse database (with roles) that each case's database is copied from.

    Copying a template takes a fraction of the migrations' time, and the catalogue has 50 cases.
    """
    name = f"konvergensi_catalogue_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        apply_roles(_url(server_url, name))
        yield name
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def case_database_url(server_url: str, template_database: str) -> Iterator[str]:
    """A database of the case's own: nothing one case loads can make another's file a duplicate."""
    name = f"{template_database}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}" template "{template_database}"')
    try:
        yield _url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _file_loads(connection: psycopg.Connection, run_id: str) -> dict[str, tuple]:
    rows = connection.execute(
        "select file_name, status, rows_read, rows_loaded, rows_quarantined, error from ops.file_loads where run_id = %s",
        (run_id,),
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def _in_tables(connection: psycopg.Connection, name: str) -> tuple[int, int, list[str]]:
    """(rows in raw, rows in quarantine, distinct reasons) for one file, whichever source it belongs to."""
    bkkbn = name.startswith("bkkbn/")
    raw, quarantine = ("raw.bkkbn_families", "raw.bkkbn_quarantine") if bkkbn else ("raw.eppgbm_measurements", "raw.eppgbm_quarantine")
    loaded = connection.execute(f"select count(*) from {raw} where source_file = %s", (name,)).fetchone()[0]
    held = connection.execute(f"select count(*) from {quarantine} where source_file = %s", (name,)).fetchone()[0]
    reasons = [r[0] for r in connection.execute(f"select distinct reason from {quarantine} where source_file = %s", (name,))]
    return loaded, held, reasons


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_file(case: Case, tmp_path: Path, case_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    landing = tmp_path / "landing"
    landing.mkdir()
    for night in range(1, case.nights + 1):
        case.build(landing, night)
        run_id = f"catalogue-night-{night}"
        reports = [ingest_eppgbm(landing, run_id, url=case_database_url), ingest_bkkbn(landing, run_id, url=case_database_url)]
    results = {f.file_name: f for report in reports for f in report.files}
    assert sorted(results) == sorted(e.file for e in case.expects), "every delivered file has one outcome"

    with psycopg.connect(case_database_url) as connection:
        recorded = _file_loads(connection, run_id)
        assert sorted(recorded) == sorted(results)
        for expect in case.expects:
            status, read, loaded, quarantined, error = recorded[expect.file]
            in_raw, in_quarantine, reasons = _in_tables(connection, expect.file)
            assert status == expect.status, (expect.file, status, error)
            if status == "loaded":
                assert (read, loaded, quarantined) == (expect.rows_in, expect.loaded, expect.quarantined)
                assert read == loaded + quarantined
                assert (in_raw, in_quarantine) == (loaded, quarantined), "ops.file_loads agrees with the tables"
                assert error is None
                if expect.quarantined:
                    assert any(expect.says in reason for reason in reasons), reasons
            else:
                assert expect.says in (error or ""), error
                if status == "rejected":
                    assert (loaded, quarantined) == (0, 0)
                    assert (in_raw, in_quarantine) == (0, 0), "a rejected file leaves no rows"
            OUTCOMES.append((case.name, expect.file, status, expect.rows_in, in_raw, in_quarantine, error or "; ".join(reasons)))
        if case.check:
            case.check(connection)


def test_catalogue_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Print the outcome of every case run in this session (case → outcome → rows in / loaded / quarantined)."""
    assert len(CASES) >= 28
    if not OUTCOMES:  # the cases were selected out (-k): nothing to print
        return
    width = max(len(o[0]) for o in OUTCOMES)
    lines = [f"{'case':<{width}}  {'outcome':<9} {'in':>4} {'loaded':>6} {'quar.':>5}  reason",
             "-" * (width + 60)]
    for name, file, status, rows_in, loaded, quarantined, reason in OUTCOMES:
        lines.append(f"{name:<{width}}  {status:<9} {rows_in:>4} {loaded:>6} {quarantined:>5}  {reason[:110]}")
    counts: dict[str, int] = {}
    for outcome in OUTCOMES:
        key = "quarantined rows" if outcome[2] == "loaded" and outcome[5] else outcome[2]
        counts[key] = counts.get(key, 0) + 1
    lines.append(f"{len({o[0] for o in OUTCOMES})} cases, {len(OUTCOMES)} files: "
                 + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    with capsys.disabled():
        print("\n" + "\n".join(lines))
