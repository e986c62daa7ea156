"""The e-PPGBM source simulator: layout, formats, determinism, dirt and plausibility."""

from __future__ import annotations

import csv
import datetime as dt
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

import openpyxl
import pytest
from konvergensi.settings import DBT_PROJECT_DIR, REFERENCE_SEEDS_DIR
from konvergensi_simulator import (
    DIRT_KINDS,
    HEADERS_2025,
    HEADERS_CLASSIC,
    DirtRates,
    exports,
    write_bench_csv,
    write_eppgbm_exports,
    write_truth,
)
from lxml import html as lxml_html

pytestmark = pytest.mark.unit

EXPECTED_CLASSIC = [
    "NIK", "Nama", "JK", "Tgl Lahir", "BB Lahir", "TB Lahir", "Nama Ortu", "Prov", "Kab/Kota", "Kec",
    "Pukesmas", "Desa/Kel", "Posyandu", "RT", "RW", "Alamat", "Usia Saat Ukur", "Tanggal Pengukuran",
    "Bulan Pengukuran", "Berat", "Tinggi", "Cara Ukur", "LiLA", "BB/U", "ZS BB/U", "TB/U", "ZS TB/U",
    "BB/TB", "ZS BB/TB", "Naik Berat Badan", "PMT Diterima (kg)", "Jml Vit A", "KPSP", "KIA",
]
EXPECTED_2025_EXTRA = [
    "Nomor KK", "NIK Orang Tua", "No HP Orang Tua", "Anak Ke", "Usia Kehamilan (minggu)",
    "Lingkar Kepala Lahir (cm)", "IMD", "Kelas Ibu Balita", "MBG",
]
FORMAT_OF_SUFFIX = {".xlsx": "xlsx", ".xls": "html_xls"}


# --- reading the exports back, as a loader would -------------------------------------------------

def read_export(path: Path) -> tuple[list[str], list[list[str | None]], str]:
    """Headers, rows as text (None for empty) and the decimal separator of one export file."""
    if path.suffix == ".xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        values = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        rows = [[_cell_text(v) for v in row] for row in values]
        return [str(h) for h in rows[0]], rows[1:], "."
    if path.suffix == ".xls":
        tree = lxml_html.fromstring(path.read_bytes())
        table_rows = [[c.text_content() or None for c in tr.xpath("./th|./td")] for tr in tree.xpath("//table//tr")]
        return [str(h) for h in table_rows[0]], table_rows[1:], "."
    raw = path.read_bytes()
    semicolon = raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";" if semicolon else ","))
    rows = [[v if v != "" else None for v in line] for line in lines[1:]]
    return lines[0], rows, "," if semicolon else "."


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export_format(path: Path) -> str:
    if path.suffix == ".csv":
        return "csv_semicolon" if path.read_bytes().startswith(b"\xef\xbb\xbf") else "csv_comma"
    return FORMAT_OF_SUFFIX[path.suffix]


def number(text: str | None, decimal: str) -> float:
    assert text is not None
    return float(text.replace(",", ".") if decimal == "," else text)


def reference_names() -> tuple[set[str], dict[str, str]]:
    with (REFERENCE_SEEDS_DIR / "ref_kelurahan.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {r["kelurahan_name"] for r in rows}, {r["kelurahan_name"]: r["kelurahan_code"] for r in rows}


def nik_is_valid(nik: str, sex: str | None = None) -> bool:
    """16 digits, city prefix 33 75, district 01-04, DDMMYY (+40 for girls) a real date."""
    if len(nik) != 16 or not nik.isdigit() or not nik.startswith("3375") or nik[4:6] not in {"01", "02", "03", "04"}:
        return False
    day, month, year = int(nik[6:8]), int(nik[8:10]), 2000 + int(nik[10:12])
    female = day > 40
    if sex is not None and female != (sex == "P"):
        return False
    try:
        dt.date(year, month, day - 40 if female else day)
    except ValueError:
        return False
    return nik[12:] != "0000"


# --- shared runs ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("dirty") / "landing"
    truth = write_eppgbm_exports(
        out, seed=7, children=2000, months=3, end_month="2025-02", dirt_scale=2.0, progress=False,
    )
    return out, truth


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("clean") / "landing"
    truth = write_eppgbm_exports(out, seed=11, children=3000, months=2, end_month="2025-01", dirt_scale=0.0,
                                 progress=False)
    return out, truth


Parsed = dict[Path, tuple[list[str], list[list[str | None]], str]]


@pytest.fixture(scope="module")
def dirty_files(dirty_run: tuple[Path, dict]) -> Parsed:
    return {path: read_export(path) for path in sorted(dirty_run[0].iterdir())}


@pytest.fixture(scope="module")
def clean_files(clean_run: tuple[Path, dict]) -> Parsed:
    return {path: read_export(path) for path in sorted(clean_run[0].iterdir())}


def row_dicts(parsed: Parsed) -> list[tuple[Path, dict[str, str | None], str]]:
    return [
        (path, dict(zip(headers, row)), decimal) for path, (headers, rows, decimal) in parsed.items() for row in rows
    ]


# --- layout and formats ---------------------------------------------------------------------------

def test_header_lists_are_spelled_as_in_real_exports() -> None:
    assert list(HEADERS_CLASSIC) == EXPECTED_CLASSIC
    assert list(HEADERS_2025) == EXPECTED_CLASSIC + EXPECTED_2025_EXTRA


def test_header_layout_old_before_2025_new_from_2025(clean_run: tuple[Path, dict], clean_files: Parsed) -> None:
    _, truth = clean_run
    assert truth["months"] == ["2024-12", "2025-01"]
    for path, (headers, _, _) in clean_files.items():
        expected = EXPECTED_CLASSIC if "_2024-12." in path.name else EXPECTED_CLASSIC + EXPECTED_2025_EXTRA
        assert headers == expected, path.name


def test_file_names_and_all_four_formats(clean_run: tuple[Path, dict]) -> None:
    out, truth = clean_run
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(truth["files"])
    assert len(names) == 12 * 2 and not any(n.startswith(".") for n in names)
    assert "eppgbm_puskesmas-medono_2025-01." in " ".join(names)
    formats = {export_format(out / n) for n in names}
    assert formats == {"xlsx", "csv_comma", "csv_semicolon", "html_xls"}
    for name in names:
        assert export_format(out / name) == truth["files"][name]["format"]
    html_headers = {(out / n).read_text(encoding="utf-8").split("<tr>")[1][:4] for n in names if n.endswith(".xls")}
    assert html_headers == {"<th>", "<td>"}
    # A puskesmas keeps its tool from month to month.
    by_puskesmas = defaultdict(set)
    for name in names:
        by_puskesmas[name.rsplit("_", 1)[0]].add(truth["files"][name]["format"])
    assert all(len(fmts) == 1 for fmts in by_puskesmas.values())


def test_same_seed_gives_same_bytes_in_every_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    for label, helpers_from in (("a", 10**9), ("b", 0)):
        # The second run hands xlsx files to helper processes: the bytes must not depend on it.
        monkeypatch.setattr(exports, "XLSX_HELPERS_FROM_CHILD_MONTHS", helpers_from)
        out = tmp_path / label
        write_eppgbm_exports(out, seed=3, children=300, months=2, end_month="2025-01", progress=False)
        runs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert runs[0].keys() == runs[1].keys()
    assert {export_format(tmp_path / "a" / n) for n in runs[0]} == {"xlsx", "csv_comma", "csv_semicolon", "html_xls"}
    for name in runs[0]:
        assert runs[0][name] == runs[1][name], name

    other = tmp_path / "c"
    write_eppgbm_exports(other, seed=4, children=300, months=2, end_month="2025-01", progress=False)
    assert any((other / n).read_bytes() != data for n, data in runs[0].items() if (other / n).exists())


# --- dirt -----------------------------------------------------------------------------------------

def test_dirt_rates_near_configured(dirty_run: tuple[Path, dict]) -> None:
    _, truth = dirty_run
    rates = truth["dirt_rates"]
    assert rates == {k: min(v * 2.0, 1.0) for k, v in asdict(DirtRates()).items()}
    for kind in DIRT_KINDS:
        eligible = truth["dirt_eligible_rows"][kind]
        expected = rates[kind] * eligible
        observed = truth["dirt_totals"][kind]
        slack = 4.0 * math.sqrt(expected) + 0.25 * expected + 3  # Poisson noise, exclusivity, weighting
        assert abs(observed - expected) <= slack, (kind, observed, expected)
        assert observed > 0, kind


def test_truth_counts_match_what_the_files_show(dirty_run: tuple[Path, dict], dirty_files: Parsed) -> None:
    _, truth = dirty_run
    for path, (headers, rows, _) in dirty_files.items():
        seen: Counter = Counter()
        distinct: set[tuple] = set()
        for values in rows:
            row = dict(zip(headers, values))
            key = tuple(values)
            seen["duplicate_row"] += key in distinct
            distinct.add(key)
            nik = row["NIK"]
            seen["missing_nik"] += nik is None
            seen["nik_scientific"] += nik is not None and "E+" in nik
            seen["telentang"] += row["Cara Ukur"] == "Telentang"
            sentinels = ("999.99", "999,99")  # a decimal-comma row shows its sentinel with a comma too
            seen["weight_sentinel"] += row["Berat"] in sentinels
            seen["height_sentinel"] += row["Tinggi"] in sentinels
            seen["zscore_sentinel"] += any(row[c] in sentinels for c in ("ZS BB/U", "ZS TB/U", "ZS BB/TB"))
            seen["missing_birth_date"] += row["Tgl Lahir"] is None
            seen["missing_measurement_date"] += row["Tanggal Pengukuran"] is None
        summary = truth["files"][path.name]
        assert len(rows) == summary["rows"]
        for kind, count in seen.items():
            assert count == summary["dirt"][kind], (path.name, kind)


def test_dirt_looks_as_documented(dirty_files: Parsed) -> None:
    known, _ = reference_names()
    shapes: Counter = Counter()
    for _, row, _ in row_dicts(dirty_files):
        nik = row["NIK"]
        if nik and "E+" in nik:
            assert nik[:1] == "3" and nik.endswith("E+15") and len(nik) == 11
            shapes["scientific"] += 1
        elif nik and len(nik) == 18:
            assert nik.endswith((".0", ",0")) and nik[:16].isdigit()
            shapes["numeric"] += 1
        weight = row["Berat"]
        if weight and weight.isdigit() and int(weight) > 1000:
            shapes["grams"] += 1
        height = row["Tinggi"]
        if height and height.isdigit() and 300 < int(height) < 1500:
            shapes["mm"] += 1
        if weight and (".." in weight or ",," in weight or weight.endswith(" it")):
            shapes["text"] += 1
        if row["Desa/Kel"] not in known:
            shapes["kelurahan_variant"] += 1
    for shape in ("scientific", "numeric", "grams", "mm", "text", "kelurahan_variant"):
        assert shapes[shape] > 0, shape


def test_dirt_scale_zero_gives_clean_values(clean_run: tuple[Path, dict], clean_files: Parsed) -> None:
    _, truth = clean_run
    assert all(count == 0 for count in truth["dirt_totals"].values())
    known, _ = reference_names()
    for path, row, decimal in row_dicts(clean_files):
        assert nik_is_valid(row["NIK"] or "", row["JK"]), (path.name, row["NIK"])
        assert row["JK"] in {"L", "P"}
        birth = dt.datetime.strptime(row["Tgl Lahir"] or "", "%d/%m/%Y").date()
        measured = dt.datetime.strptime(row["Tanggal Pengukuran"] or "", "%d/%m/%Y").date()
        assert 0 <= (measured - birth).days <= 1826
        weight, height = number(row["Berat"], decimal), number(row["Tinggi"], decimal)
        assert 1.5 < weight < 35 and 40 < height < 130
        assert row["Cara Ukur"] in {"Terlentang", "Berdiri"}
        assert row["Desa/Kel"] in known
        for column in ("ZS BB/U", "ZS TB/U"):
            assert -6 < number(row[column], decimal) < 6
        assert row["Naik Berat Badan"] in {"N", "T", "O", "B"}
        assert row["Prov"] == "JAWA TENGAH" and row["Kab/Kota"] == "KOTA PEKALONGAN"
    for path, (_, rows, _) in clean_files.items():
        niks = [r[0] for r in rows]
        assert len(niks) == len(set(niks)), f"{path.name}: a child twice in one month"


def test_nik_kk_and_parent_nik_structure(clean_files: Parsed) -> None:
    checked = 0
    for _, row, _ in row_dicts(clean_files):
        nik = row["NIK"] or ""
        day = int(nik[6:8]) % 40
        birth = dt.datetime.strptime(row["Tgl Lahir"] or "", "%d/%m/%Y").date()
        assert (day, int(nik[8:10]), int(nik[10:12])) == (birth.day, birth.month, birth.year % 100)
        if "Nomor KK" in row:
            assert row["Nomor KK"] and len(row["Nomor KK"]) == 16 and row["Nomor KK"].startswith("3375")
            parent = row["NIK Orang Tua"] or ""
            assert len(parent) == 16 and parent[:2] == "33" and int(parent[6:8]) > 40  # mothers: day + 40
            checked += 1
    assert checked > 1000


# --- plausibility ---------------------------------------------------------------------------------

def _lms(table: str) -> dict[tuple[int, int], tuple[float, float, float]]:
    with (DBT_PROJECT_DIR / "seeds" / "who" / table).open(newline="") as handle:
        return {(int(r["sex"]), int(r["age"])): (float(r["l"]), float(r["m"]), float(r["s"]))
                for r in csv.DictReader(handle)}


def test_zscores_and_stunting_by_kelurahan_are_plausible(clean_run: tuple[Path, dict], clean_files: Parsed) -> None:
    _, truth = clean_run
    length_for_age = _lms("who_lenanthro.csv")
    _, code_of = reference_names()

    haz_values: list[float] = []
    waz_values: list[float] = []
    by_kelurahan: dict[str, list[bool]] = defaultdict(list)
    for path, (headers, rows, decimal) in clean_files.items():
        if "_2025-01." not in path.name:
            continue
        for values in rows:
            row = dict(zip(headers, values))
            haz = number(row["ZS TB/U"], decimal)
            haz_values.append(haz)
            waz_values.append(number(row["ZS BB/U"], decimal))
            by_kelurahan[code_of[row["Desa/Kel"] or ""]].append(haz < -2)
            # e-PPGBM's own HAZ is the WHO LMS z-score of the recorded, position-adjusted height.
            birth = dt.datetime.strptime(row["Tgl Lahir"] or "", "%d/%m/%Y").date()
            measured = dt.datetime.strptime(row["Tanggal Pengukuran"] or "", "%d/%m/%Y").date()
            age = (measured - birth).days
            height = number(row["Tinggi"], decimal)
            if age < 731 and row["Cara Ukur"] == "Berdiri" and age >= 274:
                height += 0.7
            elif age >= 731 and row["Cara Ukur"] == "Terlentang":
                height -= 0.7
            lam, mu, sigma = length_for_age[(1 if row["JK"] == "L" else 2, age)]
            assert abs(((height / mu) ** lam - 1) / (lam * sigma) - haz) < 0.011
    stunting = {code: sum(flags) / len(flags) for code, flags in by_kelurahan.items()}
    city = sum(haz < -2 for haz in haz_values) / len(haz_values)
    assert len(stunting) == 27
    assert 0.12 <= city <= 0.23
    assert all(0.0 <= share <= 0.45 for share in stunting.values())
    assert min(stunting.values()) < 0.10 and max(stunting.values()) > 0.22
    assert 1.2 <= statistics.stdev(haz_values) <= 1.7
    assert -1.2 <= statistics.mean(waz_values) <= -0.3
    targets = [k["target_stunting_pct"] for k in truth["kelurahan"].values()]
    assert min(targets) >= 5 and max(targets) <= 30


def test_population_stays_under_five_with_births_and_ageing_out(dirty_run: tuple[Path, dict]) -> None:
    _, truth = dirty_run
    assert truth["children"] == 2000
    assert truth["births"] > 60 and truth["aged_out"] > 60
    assert truth["children_simulated"] == 2000 + truth["births"]
    measured_share = truth["measurements"] / (3 * 2000)
    assert 0.70 <= measured_share <= 0.90


# --- the other entry points -----------------------------------------------------------------------

def test_bench_csv_has_exact_rows_in_the_2025_layout(tmp_path: Path) -> None:
    path = tmp_path / "bench.csv"
    summary = write_bench_csv(path, 2500, seed=5)
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == EXPECTED_CLASSIC + EXPECTED_2025_EXTRA
    assert len(lines) == 2501 and summary["rows"] == 2500
    assert all(len(line) == len(lines[0]) for line in lines)


def test_bench_csv_of_one_month_for_another_kab_kota(tmp_path: Path) -> None:
    """The province bench: one month of weighings per export, its kab/kota named in the Kab/Kota column."""
    path = tmp_path / "bench.csv"
    summary = write_bench_csv(path, 2000, seed=9, months=1, city="KABUPATEN CILACAP")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary["rows"] == 2000
    assert {row["Kab/Kota"] for row in rows} == {"KABUPATEN CILACAP"}
    assert {row["Bulan Pengukuran"] for row in rows} == {"Januari"}
    with pytest.raises(ValueError):
        write_bench_csv(tmp_path / "none.csv", 10, months=0)


def test_truth_file_is_refused_inside_the_landing_dir(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_truth({}, tmp_path / "landing" / "truth.json", tmp_path / "landing")
    write_truth({"rows": 1}, tmp_path / "truth.json", tmp_path / "landing")
    assert (tmp_path / "truth.json").exists()
