"""The monthly report from a small published night: both editions rendered, every printed figure checked
against the marts (internal) or the bi schema (public), no kelurahan count below 5 in the public edition,
PDF pages that are not blank, and the bad-input cases (a night whose gate failed or that never ran, a
kelurahan where nobody was measured).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import subprocess
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from lxml import html as lxml_html
from psycopg.rows import dict_row

from konvergensi import roles
from konvergensi.report import generate, nights

pytestmark = pytest.mark.integration

CITY = "kota"
# the rates each printed rate is computed from (a public kelurahan rate must hide when one of them is "<5")
RATE_COUNTS = {
    "prevalensi_kelurahan": {"stunting_pct": ("stunted", "haz_denominator"),
                             "severe_stunting_pct": ("severely_stunted", "haz_denominator"),
                             "wasting_pct": ("wasted", "whz_denominator"),
                             "underweight_pct": ("underweight", "waz_denominator")},
    "skor_kelurahan": {"women_level": ("women_targets", "women_y", "women_due"),
                       "children_level": ("children_targets", "children_y", "children_due"),
                       "combined_level": ("women_targets", "children_targets", "women_y", "women_due",
                                          "children_y", "children_due")},
}


def _rows(url: str, query: str, params: object = None) -> list[dict]:
    with psycopg.connect(url) as connection, connection.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params).fetchall()


def _parse(text: str) -> Decimal:
    """An Indonesian number as the report prints it: 1.234 / 12,5 / −0,3 (a trailing % allowed)."""
    cleaned = text.strip().rstrip("%").replace("−", "-").replace(".", "").replace(",", ".")
    return Decimal(cleaned)


def _decimals(text: str) -> int:
    return len(text.strip().rstrip("%").partition(",")[2])


def expected_cells(url: str, public: bool) -> dict[str, dict[tuple[str, str], object]]:
    """section -> (row key, column) -> the value in the published tables, by the test's own queries."""
    schema = "bi" if public else "marts"
    prevalence = f"{schema}.{'bi_stunting_prevalence_monthly' if public else 'mart_stunting_prevalence_monthly'}"
    cells: dict[str, dict[tuple[str, str], object]] = defaultdict(dict)
    counts = ("haz_denominator", "stunted", "severely_stunted", "whz_denominator", "wasted", "waz_denominator",
              "underweight")
    rates = ("stunting_pct", "severe_stunting_pct", "wasting_pct", "underweight_pct")
    for row in _rows(url, f"""select * from {prevalence}
                              where month_start = (select max(month_start) from {prevalence})"""):
        section = {"kota": "prevalensi_kota", "kecamatan": "prevalensi_kecamatan",
                   "kelurahan": "prevalensi_kelurahan"}[row["wilayah_level"]]
        if row["wilayah_code"] == "UNKNOWN" and not row["haz_denominator"]:
            continue
        if row["haz_denominator"] == 0:
            cells[section][(row["wilayah_code"], "*")] = "tidak ada data"
            continue
        for column in counts + rates:
            cells[section][(row["wilayah_code"], column)] = row[column]
        if row["wilayah_level"] == CITY:
            for column in ("stunting_pct", "stunted", "haz_denominator"):
                cells["ringkasan"][(CITY, column)] = row[column]
    if public:
        targets = _rows(url, "select source_code, period_label, prevalence_pct, city_target_pct, "
                             "gap_to_city_target_points as gap, source_type, year from bi.bi_city_target_trend")
    else:
        targets = _rows(url, "select source_code, period_label, prevalence_pct, city_target_pct, "
                             "gap_to_city_target_points as gap, source_type, year from marts.mart_target_progress "
                             "where wilayah_level = 'kota'")
    register = sorted((r for r in targets if r["source_type"] == "register"), key=lambda r: r["period_label"])
    for row in [register[-1]] + [r for r in targets if r["source_type"] != "register"]:
        for column in ("prevalence_pct", "city_target_pct", "gap"):
            cells["sasaran"][(f"{row['source_code']}:{row['period_label']}", column)] = row[column]
    for row in register[-12:]:
        cells["tren"][(row["period_label"], "prevalence_pct")] = row["prevalence_pct"]
    cells["ringkasan"][(CITY, "target_2026")] = next(r["city_target_pct"] for r in targets if r["year"] == 2026)

    scorecard = "bi.bi_convergence_scorecard_quarterly" if public else "marts.mart_convergence_scorecard"
    for row in _rows(url, f"""
            select *, children_0_23_targets + children_2_6_targets as children_targets from {scorecard}
            where quarter_start = (select max(quarter_start) from {scorecard})"""):
        section = "skor_kelurahan" if row["wilayah_level"] == "kelurahan" else "skor_wilayah"
        if row["wilayah_code"] == "UNKNOWN" and not row["women_targets"] and not row["children_targets"]:
            continue
        if row["women_targets"] == 0 and row["children_targets"] == 0:
            cells[section][(row["wilayah_code"], "*")] = "tidak ada data"
            continue
        for column in ("women_targets", "children_targets", "women_level", "children_level", "combined_level",
                       "women_y", "women_due", "children_y", "children_due"):
            cells[section][(row["wilayah_code"], column)] = row[column]

    # the five lowest coverages (ranked on the published coverage: two decimals in the marts, one in bi)
    if public:
        indicators = _rows(url, """
            select indicator_code, targets, y_count, due - y_count as t_count, coverage_pct
            from bi.bi_scorecard_indicator_coverage
            where has_data and coverage_pct is not null
              and quarter_start = (select max(quarter_start) from bi.bi_scorecard_indicator_coverage)
            order by coverage_pct, indicator_code limit 5""")
        agencies = _rows(url, "select * from bi.bi_missing_interventions_by_agency")
    else:
        indicators = _rows(url, """
            select indicator_code, targets, y_count, t_count,
                   round(100.0 * y_count / nullif(targets - ts_count, 0), 2) as coverage_pct
            from marts.mart_convergence_scorecard_indicators
            where wilayah_level = 'kota' and has_data and targets - ts_count > 0
              and quarter_start = (select max(quarter_start) from marts.mart_convergence_scorecard_indicators)
            order by coverage_pct, indicator_code limit 5""")
        agencies = _rows(url, "select * from marts.mart_missing_interventions_by_agency where wilayah_level = 'kota'")
    for row in indicators:
        for column in ("targets", "y_count", "t_count", "coverage_pct"):
            cells["indikator"][(row["indicator_code"], column)] = row[column]
    for row in agencies:
        for column in ("children_missing", "stunted_children_missing", "missing_interventions"):
            cells["opd"][(row["responsible_agency"], column)] = row[column]

    factors = (_rows(url, "select factor_code, stunted_with, stunted_with + stunted_without as stunted_total, "
                          "stunted_with_pct, not_stunted_with_pct, prevalence_ratio from bi.bi_risk_factor_profile "
                          "where wilayah_level = 'kota'") if public else
               _rows(url, "select * from marts.mart_risk_factor_profile where wilayah_level = 'kota'"))
    for row in factors:
        for column in ("stunted_with", "stunted_total", "stunted_with_pct", "not_stunted_with_pct", "prevalence_ratio"):
            cells["faktor"][(row["factor_code"], column)] = row[column]

    quality = f"{schema}.{'bi_data_quality_monthly' if public else 'mart_data_quality_monthly'}"
    for row in _rows(url, f"select * from {quality} where month_start = (select max(month_start) from {quality})"):
        for column in ("measurements", "haz_flagged_pct", "whz_flagged_pct", "sd_haz", "unknown_kelurahan",
                       "duplicate_rows", "eppgbm_haz_disagree"):
            cells["mutu"][(row["puskesmas_key"], column)] = row[column]
    freshness = "bi.bi_source_freshness" if public else "marts.mart_source_freshness where is_configured"
    for row in _rows(url, f"select source, days_since_last_load from {freshness}"):
        cells["sumber"][(row["source"], "days_since_last_load")] = row["days_since_last_load"]
    return cells


def printed_cells(path: Path) -> dict[str, dict[tuple[str, str], str]]:
    """section -> (row key, column) -> the text printed in the report's HTML."""
    document = lxml_html.fromstring(path.read_text(encoding="utf-8"))
    cells: dict[str, dict[tuple[str, str], str]] = defaultdict(dict)
    for element in document.xpath("//*[@data-cell]"):
        section, key, column = element.get("data-cell").split(":", 1)[0], *element.get("data-cell").split(":", 1)[1].rsplit(":", 1)
        assert (key, column) not in cells[section], f"{section}:{key}:{column} is printed twice"
        cells[section][(key, column)] = element.text_content().strip()
    return cells


def compare(expected: dict, printed: dict, public: bool) -> tuple[dict[str, int], Counter]:
    """Every printed figure equals its published value; returns the cells compared per section."""
    compared: dict[str, int] = {}
    outcome: Counter = Counter()
    for section, cells in printed.items():
        wanted = expected[section]
        assert cells, f"{section}: no figure printed"
        assert set(cells) <= set(wanted), f"{section}: printed cells the tables do not have: {sorted(set(cells) - set(wanted))[:5]}"
        printed_rows, wanted_rows = {key for key, _ in cells}, {key for key, _ in wanted}
        assert printed_rows == wanted_rows, f"{section}: rows missing or extra: {sorted(printed_rows ^ wanted_rows)[:5]}"
        for (key, column), text in cells.items():
            value = wanted[(key, column)]
            where = f"{section}:{key}:{column}"
            if column == "*":
                assert text == "tidak ada data", where
                outcome["tidak ada data"] += 1
            elif public and section in RATE_COUNTS and text in ("<5", "–"):
                outcome[text] += 1  # checked by the suppression test
            elif value is None:
                assert text in ("–", "<5"), f"{where}: printed {text!r} for a value the tables do not have"
                outcome["–"] += 1
            else:
                number = _parse(text)
                tolerance = Decimal(1).scaleb(-_decimals(text)) / 2
                assert abs(number - Decimal(str(value))) <= tolerance, f"{where}: printed {text}, published {value}"
                outcome["equal"] += 1
        compared[section] = len(cells)
    return compared, outcome


@pytest.fixture(scope="module")
def reports(published_night, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data_dir = tmp_path_factory.mktemp("report-data")
    started = time.perf_counter()
    result = generate(warehouse_url=published_night.url, data_dir=data_dir)
    print(f"\n[report] both editions, HTML + PDF, in {time.perf_counter() - started:.1f} s")
    return {"result": result, "data_dir": data_dir}


def test_both_editions_are_written_for_the_published_night(reports, published_night) -> None:
    result = reports["result"]
    day = published_night.run_date.isoformat()
    folder = reports["data_dir"] / "reports" / day
    assert result.choice.shown.run_id == published_night.run_id
    assert result.choice.shown.run_date == published_night.run_date
    assert result.choice.banner is None
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        f"{stem}-{day}.{suffix}" for stem in ("laporan-konvergensi", "laporan-konvergensi-publik") for suffix in ("html", "pdf"))
    latest = reports["data_dir"] / "reports" / "latest"
    assert sorted(path.name for path in latest.iterdir()) == sorted(
        f"{stem}.{suffix}" for stem in ("laporan-konvergensi", "laporan-konvergensi-publik") for suffix in ("html", "pdf"))
    for edition in ("internal", "publik"):
        text = result.files[f"{edition}.html"].read_text(encoding="utf-8")
        assert "Laporan Konvergensi Percepatan Penurunan Stunting Kota Pekalongan" in text
        assert "sangat pendek" in text and "gizi buruk" in text and "gizi kurang" in text
        assert text.count("<svg") >= 5, "the charts are inlined"
        assert 'data-banner' not in text
        # nothing to fetch: no script, stylesheet, font or image from elsewhere (namespaces are names, not fetches)
        assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import|<script""", text)


def test_every_printed_figure_equals_the_published_tables(reports, published_night) -> None:
    lines = ["section                  internal cells   public cells"]
    totals = Counter()
    per_edition = {}
    for edition, public, url in (("internal", False, published_night.role_url(roles.TRANSFORMER)),
                                 ("publik", True, published_night.role_url(roles.BI))):
        printed = printed_cells(reports["result"].files[f"{edition}.html"])
        compared, outcome = compare(expected_cells(url, public), printed, public)
        per_edition[edition] = compared
        totals[edition] = sum(compared.values())
        print(f"\n[report] {edition}: {dict(outcome)}")
    for section in sorted(set(per_edition["internal"]) | set(per_edition["publik"])):
        lines.append(f"{section:<24} {per_edition['internal'].get(section, 0):>14} {per_edition['publik'].get(section, 0):>14}")
    lines.append(f"{'total':<24} {totals['internal']:>14} {totals['publik']:>14}")
    print("\n[report] figures compared with the marts (internal) and the bi schema (public)\n" + "\n".join(lines))
    for edition in per_edition:
        assert {"prevalensi_kelurahan", "skor_kelurahan", "faktor", "opd", "indikator", "mutu", "sasaran", "tren"} <= set(
            per_edition[edition]), edition


def test_no_kelurahan_count_below_5_survives_in_the_public_edition(reports, published_night) -> None:
    document = lxml_html.fromstring(reports["result"].files["publik.html"].read_text(encoding="utf-8"))
    published = expected_cells(published_night.role_url(roles.BI), public=True)
    checked, small, rates_hidden, rates_shown = 0, 0, 0, 0
    tables = document.xpath("//table[@data-level='kelurahan']")
    assert {table.get("data-section") for table in tables} == set(RATE_COUNTS)
    for table in tables:
        section = table.get("data-section")
        for row in table.xpath(".//tr[@data-key]"):
            key = row.get("data-key")
            texts = {cell.get("data-cell").rsplit(":", 1)[1]: cell.text_content().strip()
                     for cell in row.xpath("./td[@data-cell]")}
            for cell in row.xpath("./td[@data-kind='count']"):
                text = cell.text_content().strip()
                checked += 1
                if text == "<5":
                    small += 1
                else:
                    assert int(text.replace(".", "")) >= 5, f"{section} {key}: count {text} printed"
            for rate, counts in RATE_COUNTS[section].items():
                if rate not in texts:
                    continue
                behind = [published[section].get((key, count)) for count in counts]
                if any(value is None or value < 5 for value in behind):
                    assert texts[rate] == "–", f"{section} {key}: {rate} {texts[rate]} from counts {behind}"
                    rates_hidden += 1
                else:
                    rates_shown += 1
    # the internal edition has such small counts: the suppression is the public edition's doing
    internal = printed_cells(reports["result"].files["internal.html"])["prevalensi_kelurahan"]
    internal_small = sum(1 for (_, column), text in internal.items()
                         if column in ("stunted", "severely_stunted", "wasted", "underweight", "haz_denominator")
                         and text.replace(".", "").isdigit() and int(text.replace(".", "")) < 5)
    print(f"\n[report] public edition, kelurahan level: {checked} count cells checked, {small} shown \"<5\", "
          f"{rates_hidden} rates hidden beside them, {rates_shown} rates shown; the internal edition prints "
          f"{internal_small} kelurahan prevalence counts below 5")
    assert checked > 100 and small > 0 and rates_hidden > 0 and internal_small > 0


def test_the_public_city_tables_hide_exactly_the_small_counts(published_night) -> None:
    """bi_scorecard_indicator_coverage and bi_missing_interventions_by_agency against their marts (primary rule)."""
    internal, bi = published_night.role_url(roles.TRANSFORMER), published_night.role_url(roles.BI)

    def small(value: int | None) -> bool:
        return value is not None and 1 <= value <= 4

    shown = hidden = 0
    truth = {(r["month"], r["responsible_agency"]): r for r in _rows(
        internal, "select * from marts.mart_missing_interventions_by_agency where wilayah_level = 'kota'")}
    published = _rows(bi, "select * from bi.bi_missing_interventions_by_agency")
    assert len(published) == len(truth) > 0
    for row in published:
        true = truth[(row["month"], row["responsible_agency"])]
        rules = {"children_missing": small(true["children_missing"]),
                 "missing_interventions": small(true["missing_interventions"]),
                 "stunted_children_missing": small(true["stunted_children_missing"])
                 or small(true["children_missing"] - true["stunted_children_missing"])}
        for column, is_small in rules.items():
            assert row[column] == (None if is_small else true[column]), (row, column)
            hidden += is_small
            shown += not is_small
    truth = {(r["quarter_start"], r["indicator_code"]): r for r in _rows(
        internal, "select * from marts.mart_convergence_scorecard_indicators where wilayah_level = 'kota'")}
    published = _rows(bi, "select * from bi.bi_scorecard_indicator_coverage")
    assert len(published) == len(truth) > 0
    for row in published:
        true = truth[(row["quarter_start"], row["indicator_code"])]
        if not true["has_data"]:
            assert row["y_count"] is None and row["coverage_pct"] is None
            continue
        due = true["targets"] - true["ts_count"]
        rules = {"targets": (small(true["targets"]), true["targets"]), "due": (small(due), due),
                 "y_count": (small(true["y_count"]) or small(due - true["y_count"]), true["y_count"])}
        for column, (is_small, value) in rules.items():
            assert row[column] == (None if is_small else value), (row, column)
            hidden += is_small
            shown += not is_small
    print(f"\n[report] public city tables (indicator coverage, OPD counts): {shown} counts shown, {hidden} hidden (1–4)")


def test_the_pdfs_have_pages_that_are_not_blank(reports, tmp_path: Path) -> None:
    from PIL import Image

    for edition in ("internal", "publik"):
        pdf = reports["result"].files[f"{edition}.pdf"]
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "3", str(pdf), str(tmp_path / edition)],
                       check=True, timeout=120)
        images = sorted(tmp_path.glob(f"{edition}-*.png"))
        assert len(images) == min(pages, 3)
        spreads = []
        for image in images:
            gray = list(Image.open(image).convert("L").getdata())
            ink = sum(1 for value in gray if value < 200) / len(gray)
            spreads.append(f"{image.name}: variance {statistics.pvariance(gray):.0f}, ink {100 * ink:.1f}%")
            assert statistics.pvariance(gray) > 100 and ink > 0.01, f"{image.name} looks blank"
        print(f"\n[report] {edition} PDF: {pages} pages, {pdf.stat().st_size // 1024} KiB; " + "; ".join(spreads))
        assert pages >= 3


def test_a_failed_or_missing_night_says_so_and_shows_the_last_published(published_night, tmp_path: Path) -> None:
    failed_date, never_date = dt.date(2026, 11, 3), dt.date(2026, 10, 1)
    with published_night.clone() as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("insert into ops.night_runs (run_id, run_date) values (%s, %s)",
                               ("manual__2026-12-03T08:15:02.123456+00:00", failed_date))
            connection.execute(
                "insert into ops.gate_runs (run_id, schema_name, success, failed_expectations) values (%s, %s, false, %s)",
                ("manual__2026-12-03T08:15:02.123456+00:00", "marts_audit",
                 json.dumps([{"table": "fct_anthropometry", "expectation": "measured_on_not_in_future"}])))
            kelurahan = connection.execute("""
                select wilayah_code, wilayah_name from marts.mart_stunting_prevalence_monthly
                where wilayah_level = 'kelurahan' and haz_denominator > 0 and wilayah_code <> 'UNKNOWN'
                  and month_start = (select max(month_start) from marts.mart_stunting_prevalence_monthly)
                order by haz_denominator desc limit 1""").fetchone()
            for relation in ("marts.mart_stunting_prevalence_monthly", "bi.bi_stunting_prevalence_monthly"):
                connection.execute(f"""
                    update {relation} set haz_denominator = 0, stunted = 0, severely_stunted = 0, whz_denominator = 0,
                        wasted = 0, waz_denominator = 0, underweight = 0, stunting_pct = null, severe_stunting_pct = null,
                        wasting_pct = null, underweight_pct = null
                    where wilayah_code = %s and month_start = (select max(month_start) from {relation})""",
                                   (kelurahan[0],))
        failed = generate(failed_date, warehouse_url=url, data_dir=tmp_path, pdf=False)
        never = generate(never_date, warehouse_url=url, data_dir=tmp_path, pdf=False)
        with psycopg.connect(url) as connection:
            current = nights.choose(connection, published_night.run_date)
    assert (failed.choice.status, never.choice.status, current.status) == ("gerbang_gagal", "tidak_ada", "terbit")
    assert current.banner is None and current.is_current
    assert not (tmp_path / "reports" / "latest").exists(), "a report of another night never becomes latest/"
    for result, day in ((failed, failed_date), (never, never_date)):
        assert result.choice.shown.run_id == published_night.run_id and result.latest is None
        for edition in ("internal", "publik"):
            path = result.files[f"{edition}.html"]
            assert path.parent.name == day.isoformat()
            document = lxml_html.fromstring(path.read_text(encoding="utf-8"))
            banner = document.xpath("//*[@data-banner]")
            assert len(banner) == 1 and banner[0].get("data-banner") == result.choice.status
            text = banner[0].text_content()
            assert "TIDAK DITERBITKAN" in text or "tidak pernah diterbitkan" in text
            assert "2 November 2026" in text, text  # the night shown instead
            assert document.xpath("//body/@data-night") == [published_night.run_date.isoformat()]
    print(f"\n[report] banner for {failed_date} (gate failed): {failed.choice.banner}")
    print(f"[report] banner for {never_date} (never run): {never.choice.banner}")
    assert "1 pemeriksaan gagal" in failed.choice.banner
    # the night shown is the clone's published one, in which one kelurahan has nobody measured
    for edition in ("internal", "publik"):
        document = lxml_html.fromstring(failed.files[f"{edition}.html"].read_text(encoding="utf-8"))
        row = document.xpath(f"//table[@data-section='prevalensi_kelurahan']//tr[@data-key='{kelurahan[0]}']")
        assert len(row) == 1
        assert row[0].xpath("./td[@class='nodata']")[0].text_content().strip() == "tidak ada data"
        assert not row[0].xpath("./td[@data-kind='count']"), "an empty kelurahan prints no zero counts"
    print(f"[report] kelurahan {kelurahan[1]} emptied in a clone: \"tidak ada data\" in both editions")
