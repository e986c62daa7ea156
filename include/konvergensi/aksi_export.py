"""The published scorecard in the layout of the Web Aksi Bangda upload (Kemendagri, Ditjen Bina Bangda).

    python -m konvergensi.aksi_export [--quarter 2026-Q3] [--out DIR]      # make export-aksi [QUARTER=…]

Reads the published marts (`marts.mart_convergence_scorecard`, `marts.mart_convergence_scorecard_indicators`)
and writes, for one quarter (default: the latest quarter the scorecard has), into
`<data dir>/exports/aksi-bangda/<quarter>/`:

* `skor-konvergensi-<quarter>.csv` — one row per kelurahan: targets, ΣY, the due count and the
  convergence level for pregnant women, for children and combined;
* `indikator-konvergensi-<quarter>.csv` — one row per kelurahan and indicator: targets, Y, T, TS,
  coverage;
* `aksi-bangda-<quarter>.xlsx` — both tables as the sheets "Skor Konvergensi" and "Indikator".

Web Aksi Bangda publishes no machine-readable specification of its upload; the column layout below
is this project's assumption, modelled on the Kemendes scorecard form (docs/operations.md, "Web Aksi
Bangda export"): Bahasa Indonesia headers, Kemendagri wilayah codes, one row per desa/kelurahan,
percentages with two decimals and a dot (CSV) or as numbers (XLSX). The UNKNOWN kelurahan (targets
that could not be placed) is not a desa: it is left out of the files and its targets are reported on
the command line, so that nothing disappears silently.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg.rows import dict_row
from openpyxl import Workbook

from konvergensi import settings

UNKNOWN = "UNKNOWN"
PARTIAL, COMPLETE = "Triwulan berjalan", "Triwulan lengkap"

# (header in the upload, column of the query below)
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("No", "row_number"),
    ("Tahun", "year"),
    ("Triwulan", "quarter_number"),
    ("Tanggal Data", "cutoff_date"),
    ("Status Data", "data_status"),
    ("Kode Kabupaten/Kota", "city_code"),
    ("Kabupaten/Kota", "city_name"),
    ("Kode Kecamatan", "kecamatan_code"),
    ("Kecamatan", "kecamatan_name"),
    ("Kode Desa/Kelurahan", "kelurahan_code"),
    ("Desa/Kelurahan", "kelurahan_name"),
    ("Jumlah Sasaran Ibu Hamil", "women_targets"),
    ("Jumlah Sasaran Anak 0-23 Bulan", "children_0_23_targets"),
    ("Jumlah Sasaran Anak 2-6 Tahun", "children_2_6_targets"),
    ("Indikator Diterima Ibu Hamil", "women_y"),
    ("Indikator Seharusnya Diterima Ibu Hamil", "women_due"),
    ("Tingkat Konvergensi Ibu Hamil (%)", "women_level"),
    ("Indikator Diterima Anak", "children_y"),
    ("Indikator Seharusnya Diterima Anak", "children_due"),
    ("Tingkat Konvergensi Anak (%)", "children_level"),
    ("Tingkat Konvergensi Desa/Kelurahan (%)", "combined_level"),
)
INDICATOR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("No", "row_number"),
    ("Tahun", "year"),
    ("Triwulan", "quarter_number"),
    ("Kode Desa/Kelurahan", "kelurahan_code"),
    ("Desa/Kelurahan", "kelurahan_name"),
    ("Kelompok Sasaran", "target_group_label"),
    ("Kode Indikator", "indicator_code"),
    ("No Indikator", "indicator_number"),
    ("Indikator", "indicator_name"),
    ("Jumlah Sasaran", "targets"),
    ("Y", "y_count"),
    ("T", "t_count"),
    ("TS", "ts_count"),
    ("Cakupan (%)", "coverage_pct"),
)
TARGET_GROUP_LABELS = {"ibu_hamil": "Ibu hamil", "anak_0_23": "Anak 0-23 bulan", "anak_2_6": "Anak 2-6 tahun"}

SCORE_QUERY = """
    select s.quarter, s.cutoff_date, s.is_partial_quarter, w.city_code, w.city_name, w.kecamatan_code,
           w.kecamatan_name, s.wilayah_code as kelurahan_code, s.wilayah_name as kelurahan_name,
           s.women_targets, s.children_0_23_targets, s.children_2_6_targets, s.women_y, s.women_due,
           s.women_level, s.children_y, s.children_due, s.children_level, s.combined_level
    from {schema}.mart_convergence_scorecard as s
    join {schema}.dim_wilayah as w on w.kelurahan_code = s.wilayah_code
    where s.wilayah_level = 'kelurahan' and s.quarter = %(quarter)s
    order by s.wilayah_code
"""
INDICATOR_QUERY = """
    select i.quarter, i.wilayah_code as kelurahan_code, i.wilayah_name as kelurahan_name, i.target_group,
           i.indicator_code, i.indicator_number, i.indicator_name, i.has_data, i.targets, i.y_count,
           i.t_count, i.ts_count
    from {schema}.mart_convergence_scorecard_indicators as i
    where i.wilayah_level = 'kelurahan' and i.quarter = %(quarter)s
    order by i.wilayah_code, case i.target_group when 'ibu_hamil' then 1 when 'anak_0_23' then 2 else 3 end,
             i.indicator_number
"""


@dataclass(frozen=True)
class Export:
    """What one export wrote, and the targets of the UNKNOWN kelurahan it left out."""

    quarter: str
    files: tuple[Path, ...]
    kelurahan: int
    unknown_targets: int


def quarter_parts(quarter: str) -> tuple[int, int]:
    """'2026-Q3' → (2026, 3); anything else is a clear error."""
    year, _, number = quarter.partition("-Q")
    if not (year.isdigit() and len(year) == 4 and number in {"1", "2", "3", "4"}):
        raise ValueError(f"quarter {quarter!r}: expected YYYY-Qn, e.g. 2026-Q3")
    return int(year), int(number)


def indicator_coverage(y_count: int | None, targets: int, ts_count: int | None) -> Decimal | None:
    """Y / (targets − TS) × 100 with two decimals: the share of the due answers that are Y."""
    if y_count is None or ts_count is None or targets - ts_count <= 0:
        return None
    return (Decimal(100 * y_count) / Decimal(targets - ts_count)).quantize(Decimal("0.01"))


def score_rows(records: Sequence[dict]) -> tuple[list[dict], int]:
    """Scorecard rows of the known kelurahan in upload order, and the targets of UNKNOWN left out."""
    rows, unknown = [], 0
    for record in records:
        if record["kelurahan_code"] == UNKNOWN:
            unknown += record["women_targets"] + record["children_0_23_targets"] + record["children_2_6_targets"]
            continue
        year, number = quarter_parts(record["quarter"])
        rows.append({**record, "row_number": len(rows) + 1, "year": year, "quarter_number": number,
                     "data_status": PARTIAL if record["is_partial_quarter"] else COMPLETE})
    return rows, unknown


def indicator_rows(records: Sequence[dict]) -> list[dict]:
    """Indicator rows of the known kelurahan; an indicator without data keeps its targets, no Y/T/TS."""
    rows = []
    for record in records:
        if record["kelurahan_code"] == UNKNOWN:
            continue
        year, number = quarter_parts(record["quarter"])
        rows.append({**record, "row_number": len(rows) + 1, "year": year, "quarter_number": number,
                     "target_group_label": TARGET_GROUP_LABELS.get(record["target_group"], record["target_group"]),
                     "coverage_pct": indicator_coverage(record["y_count"], record["targets"], record["ts_count"])})
    return rows


def _cell(value: object) -> object:
    return "" if value is None else value


def write_csv(path: Path, columns: Sequence[tuple[str, str]], rows: Sequence[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([header for header, _ in columns])
        for row in rows:
            writer.writerow([_cell(row[column]) for _, column in columns])


def write_xlsx(path: Path, sheets: Sequence[tuple[str, Sequence[tuple[str, str]], Sequence[dict]]]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([header for header, _ in columns])
        for row in rows:
            sheet.append([float(v) if isinstance(v, Decimal) else v
                          for v in (row[column] for _, column in columns)])
        sheet.freeze_panes = "A2"
    workbook.save(path)


def latest_quarter(connection: psycopg.Connection, schema: str) -> str:
    found = connection.execute(
        f"select quarter from {schema}.mart_convergence_scorecard order by quarter_start desc limit 1").fetchone()
    if found is None:
        raise LookupError(f"{schema}.mart_convergence_scorecard is empty: nothing to export")
    return found["quarter"]


def export(url: str, out_dir: Path, quarter: str | None = None,
           schema: str = settings.PUBLISHED_MARTS_SCHEMA) -> Export:
    """Write the quarter's CSV and XLSX files under out_dir/<quarter>/."""
    with psycopg.connect(url, row_factory=dict_row) as connection:
        quarter = quarter or latest_quarter(connection, schema)
        quarter_parts(quarter)
        scores, unknown = score_rows(connection.execute(SCORE_QUERY.format(schema=schema),
                                                        {"quarter": quarter}).fetchall())
        indicators = indicator_rows(connection.execute(INDICATOR_QUERY.format(schema=schema),
                                                       {"quarter": quarter}).fetchall())
    if not scores:
        raise LookupError(f"{schema}.mart_convergence_scorecard has no kelurahan rows for {quarter}")
    target = out_dir / quarter
    target.mkdir(parents=True, exist_ok=True)
    score_file = target / f"skor-konvergensi-{quarter}.csv"
    indicator_file = target / f"indikator-konvergensi-{quarter}.csv"
    workbook_file = target / f"aksi-bangda-{quarter}.xlsx"
    write_csv(score_file, SCORE_COLUMNS, scores)
    write_csv(indicator_file, INDICATOR_COLUMNS, indicators)
    write_xlsx(workbook_file, [("Skor Konvergensi", SCORE_COLUMNS, scores), ("Indikator", INDICATOR_COLUMNS, indicators)])
    return Export(quarter, (score_file, indicator_file, workbook_file), len(scores), unknown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quarter", help="YYYY-Qn (default: the latest quarter of the published scorecard)")
    parser.add_argument("--out", type=Path, help="directory (default: <data dir>/exports/aksi-bangda)")
    args = parser.parse_args(argv)
    out_dir = args.out or settings.data_dir() / "exports" / "aksi-bangda"
    try:
        done = export(settings.warehouse_url(), out_dir, args.quarter)
    except psycopg.errors.UndefinedTable as error:
        print(f"export-aksi: no published scorecard ({error.diag.message_primary}): run a night first", file=sys.stderr)
        return 1
    except (LookupError, ValueError) as error:
        print(f"export-aksi: {error}", file=sys.stderr)
        return 1
    for path in done.files:
        print(f"wrote {path}")
    print(f"{done.quarter}: {done.kelurahan} kelurahan; {done.unknown_targets} target(s) of kelurahan UNKNOWN left out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
