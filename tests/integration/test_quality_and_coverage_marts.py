"""The new marts of the shared published night, each checked on one figure against an independent
computation from the rows below it, and the Web Aksi Bangda export written from the published scorecard."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import numpy as np
import psycopg
import pytest
from openpyxl import load_workbook
from scipy import stats

from konvergensi import aksi_export

pytestmark = pytest.mark.integration


def test_zscore_moments_match_numpy_and_scipy_on_the_raw_zscores(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        month, puskesmas = conn.execute(
            "select month_start, puskesmas_key from marts.mart_anthropometry_quality_monthly "
            "order by haz_valid desc, month_start, puskesmas_key limit 1").fetchone()
        published = conn.execute(
            "select haz_valid, haz_sd, haz_skewness, haz_kurtosis, whz_valid, whz_sd "
            "from marts.mart_anthropometry_quality_monthly where month_start = %s and puskesmas_key = %s",
            (month, puskesmas)).fetchone()
        rows = conn.execute(
            "select haz, haz_flag, whz, whz_flag from marts.fct_anthropometry "
            "where measurement_month = %s and puskesmas_key = %s", (month, puskesmas)).fetchall()
    haz = np.array([z for z, flag, _, _ in rows if z is not None and not flag])
    whz = np.array([z for _, _, z, flag in rows if z is not None and not flag])
    assert len(haz) >= 20, "the busiest puskesmas-month has enough children to compare"
    expected = (len(haz), haz.std(ddof=1), stats.skew(haz), stats.kurtosis(haz), len(whz), whz.std(ddof=1))
    assert published[0] == expected[0] and published[4] == expected[4]
    for got, want in zip(published[1:4] + published[5:], expected[1:4] + expected[5:], strict=True):
        assert float(got) == pytest.approx(want, abs=0.005)


def test_growth_monitoring_coverage_counts_children_weighed_in_the_quarter(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        quarter_start, cutoff, targets, covered = conn.execute(
            "select quarter_start, cutoff_date, targets, covered from marts.mart_perpres_coverage_quarterly "
            "where wilayah_level = 'kota' and indicator_code = 'PERPRES_PEMANTAUAN_PERTUMBUHAN' "
            "order by quarter_start desc limit 1").fetchone()
        children = conn.execute("select child_key, birth_date from intermediate.int_convergence_children").fetchall()
        weighings = conn.execute("select child_key, measured_on, weight_kg from marts.fct_anthropometry").fetchall()
    under_five = {child for child, birth in children
                  if birth is not None and birth <= cutoff and (cutoff - birth).days < 1827}
    weighed = {child for child, measured_on, weight in weighings
               if weight is not None and quarter_start <= measured_on <= cutoff}
    assert targets == len(under_five) > 100
    assert covered == len(under_five & weighed)


def test_complete_set_households_recomputed_from_the_scorecard_answers(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        quarter_start, households, complete = conn.execute(
            "select quarter_start, households_1000hpk, households_complete "
            "from marts.mart_household_complete_services_quarterly where wilayah_level = 'kota' "
            "order by quarter_start desc limit 1").fetchone()
        with_data = {code for (code,) in conn.execute(
            "select distinct indicator_code from marts.mart_convergence_scorecard_indicators where has_data")}
        answers = conn.execute(
            "select 'p' || pregnancy_key, household_key, indicator_code, answer "
            "from intermediate.int_pregnancy_indicators_quarterly where is_quarter_cutoff and quarter_start = %(q)s "
            "union all "
            "select 'c' || child_key, household_key, indicator_code, answer "
            "from intermediate.int_child_indicators_quarterly "
            "where is_quarter_cutoff and quarter_start = %(q)s and target_group = 'anak_0_23'",
            {"q": quarter_start}).fetchall()
    by_household: dict[str, list[str]] = defaultdict(list)
    for target, household, indicator, answer in answers:
        if indicator in with_data:
            by_household[household or f"unlinked:{target}"].append(answer)
    counted = [given for given in by_household.values() if {"Y", "T"} & set(given)]
    assert households == len(counted) > 0
    assert complete == sum("T" not in given for given in counted)


def test_posyandu_weighed_children_add_up_to_the_children_weighed_in_the_month(published_night) -> None:
    with psycopg.connect(published_night.url) as conn:
        month, weighed = conn.execute(
            "select month_start, sum(children_weighed) from marts.mart_posyandu_monthly "
            "group by month_start order by month_start desc limit 1").fetchone()
        expected = conn.execute(
            "with births as (select child_key, max(measured_on - age_days) as birth_date "
            "                from marts.fct_anthropometry group by child_key) "
            "select count(distinct f.child_key) from marts.fct_anthropometry as f "
            "join births as b on b.child_key = f.child_key "
            "where f.measurement_month = %s and f.weight_kg is not null "
            "  and (b.birth_date is null or %s - b.birth_date < 1827)", (month, month)).fetchone()[0]
    assert weighed == expected > 100


def test_aksi_bangda_export_carries_the_published_scorecard(published_night, tmp_path: Path) -> None:
    done = aksi_export.export(published_night.url, tmp_path)
    score_file, indicator_file, workbook_file = done.files
    with score_file.open(encoding="utf-8") as handle:
        scores = list(csv.DictReader(handle))
    with indicator_file.open(encoding="utf-8") as handle:
        indicators = list(csv.DictReader(handle))
    with psycopg.connect(published_night.url) as conn:
        kelurahan = conn.execute("select count(*) from marts.dim_wilayah where kelurahan_code <> 'UNKNOWN'").fetchone()[0]
        busiest = conn.execute(
            "select wilayah_code, combined_level, women_y + children_y from marts.mart_convergence_scorecard "
            "where wilayah_level = 'kelurahan' and quarter = %s and wilayah_code <> 'UNKNOWN' "
            "order by combined_due desc, wilayah_code limit 1", (done.quarter,)).fetchone()

    assert [header for header, _ in aksi_export.SCORE_COLUMNS] == list(scores[0])
    assert len(scores) == done.kelurahan == kelurahan
    row = next(r for r in scores if r["Kode Desa/Kelurahan"] == busiest[0])
    assert Decimal(row["Tingkat Konvergensi Desa/Kelurahan (%)"]) == busiest[1]
    ys = sum(int(r["Y"] or 0) for r in indicators if r["Kode Desa/Kelurahan"] == busiest[0])
    assert ys == busiest[2] == int(row["Indikator Diterima Ibu Hamil"]) + int(row["Indikator Diterima Anak"])
    workbook = load_workbook(workbook_file, read_only=True)
    assert workbook.sheetnames == ["Skor Konvergensi", "Indikator"]
    assert workbook["Skor Konvergensi"].max_row == len(scores) + 1
