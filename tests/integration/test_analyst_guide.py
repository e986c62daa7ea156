"""The ten worked questions of docs/analyst-guide.md run as the analyst role and give the marts' figures.

Every ```sql block of the guide runs as an analyst login on the shared published night
(tests/fixtures/published_night.py). Each must return rows with the columns the guide promises, and one
figure of each is recomputed by an independent query on the internal marts (as the superuser), so a
question that reads the wrong table, double-counts through a join or drops the UNKNOWN kelurahan fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from konvergensi import roles

pytestmark = pytest.mark.integration

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analyst-guide.md"
QUESTION = re.compile(r"^### (\d+)\. (.+?)\n(.*?)```sql\n(.*?)```", re.S | re.M)

Rows = list[dict[str, object]]


def questions() -> list[tuple[int, str, str]]:
    """(number, question, sql) of every worked question, in the guide's order."""
    found = [(int(number), title, sql) for number, title, _, sql in QUESTION.findall(GUIDE.read_text())]
    assert [number for number, _, _ in found] == list(range(1, len(found) + 1))
    return found


def _marts(conn: psycopg.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


LATEST_MONTH = "(select max(month) from marts.fct_child_monthly)"
LATEST_QUARTER = "(select max(quarter_start) from marts.mart_convergence_scorecard)"


def check_latrine(rows: Rows, marts: psycopg.Connection) -> str:
    expected = _marts(marts, f"""
        select count(*) from marts.fct_child_monthly as c
        join marts.fct_household_risk_monthly as h on h.household_key = c.household_key and h.month = c.month
        where c.month = {LATEST_MONTH} and c.is_stunted and h.has_proper_latrine is false""")[0][0]
    got = sum(row["stunted_without_latrine"] for row in rows)
    assert got == expected and expected > 0
    return f"stunted without latrine {got} = marts {expected}"


def check_trend(rows: Rows, marts: psycopg.Connection) -> str:
    expected = dict(((month, name), pct) for month, name, pct in _marts(marts, """
        select month_start, wilayah_name, stunting_pct from marts.mart_stunting_prevalence_monthly
        where wilayah_level = 'kecamatan'"""))
    assert {(row["month_start"], row["kecamatan"]): row["stunting_pct"] for row in rows} == expected
    return f"{len(expected)} kecamatan-months = marts"


def check_incomplete(rows: Rows, marts: psycopg.Connection) -> str:
    # the analyst layer's children are e-PPGBM's; the scorecard's targets also count those known only from
    # DTSEN or BKKBN (register_only_targets), who have no row in analyst_child_monthly
    expected = dict(_marts(marts, f"""
        select wilayah_name, targets - register_only_targets from marts.mart_convergence_scorecard_indicators
        where wilayah_level = 'kelurahan' and quarter_start = {LATEST_QUARTER} and indicator_code = 'ANAK_01'
          and targets - register_only_targets > 0"""))
    assert {row["kelurahan_name"]: row["children_0_23"] for row in rows} == expected
    assert all(row["with_missing_intervention"] <= row["children_0_23"] for row in rows)
    return f"children 0-23 {sum(expected.values())} = scorecard targets known to e-PPGBM"


def check_lowest_indicators(rows: Rows, marts: psycopg.Connection) -> str:
    # the e-PPGBM children's answers in the marts (the scorecard mart adds children known only from the registers)
    expected = {(name, code): (y, due) for name, code, y, due in _marts(marts, f"""
        select w.kelurahan_name, a.indicator_code, count(*) filter (where a.answer = 'Y'), count(*)
        from marts.fct_child_monthly as c
        join marts.dim_wilayah as w on w.kelurahan_code = c.kelurahan_code
        cross join lateral (values
            ('ANAK_01', c.ind_anak_01), ('ANAK_02', c.ind_anak_02), ('ANAK_03', c.ind_anak_03),
            ('ANAK_04', c.ind_anak_04), ('ANAK_05', c.ind_anak_05), ('ANAK_06', c.ind_anak_06),
            ('ANAK_07', c.ind_anak_07), ('ANAK_08', c.ind_anak_08), ('ANAK_09', c.ind_anak_09),
            ('ANAK_10', c.ind_anak_10)) as a (indicator_code, answer)
        where c.month = {LATEST_MONTH} and a.answer in ('Y', 'T', 'TD')
        group by w.kelurahan_name, a.indicator_code""")}
    for row in rows:
        assert (row["received"], row["due"]) == expected[(row["kelurahan_name"], row["indicator_code"])], row
    assert {row["lowest_rank"] for row in rows} == {1, 2, 3}
    return f"{len(rows)} kelurahan x indicator = the marts' Y and Y+T+TD"


def check_data_quality(rows: Rows, marts: psycopg.Connection) -> str:
    expected = dict(_marts(marts, """
        select puskesmas_name, measurements from marts.mart_data_quality_monthly
        where month_start = (select max(month_start) from marts.mart_data_quality_monthly)"""))
    shown = {row["puskesmas_name"]: row["measurements"] for row in rows if row["measurements"] is not None}
    assert shown and all(expected[name] == value for name, value in shown.items())
    return f"{len(shown)} puskesmas measurements = marts"


def check_freshness(rows: Rows, marts: psycopg.Connection) -> str:
    expected = dict(_marts(marts, "select source, is_stale from marts.mart_source_freshness where is_configured"))
    assert {row["source"]: row["is_stale"] for row in rows} == expected
    return f"{len(expected)} configured sources = marts"


def check_risk_factors(rows: Rows, marts: psycopg.Connection) -> str:
    expected = dict(_marts(marts, "select factor_label, stunted_with from marts.mart_risk_factor_profile "
                                  "where wilayah_level = 'kota'"))
    assert {row["factor_label"]: row["stunted_with"] for row in rows} == expected
    return f"{len(expected)} factors = marts"


def check_convergence(rows: Rows, marts: psycopg.Connection) -> str:
    expected = dict(_marts(marts, f"""
        select wilayah_name, combined_level from marts.mart_convergence_scorecard
        where wilayah_level = 'kelurahan' and quarter_start = {LATEST_QUARTER}"""))
    assert {row["kelurahan"]: row["combined_level"] for row in rows} == expected
    return f"{len(expected)} kelurahan levels = marts"


def check_agencies(rows: Rows, marts: psycopg.Connection) -> str:
    expected = _marts(marts, """
        with months as (
            select distinct date_trunc('month', service_date)::date as month
            from marts.fct_intervention_delivered order by 1 desc limit 3)
        select count(*) from marts.fct_intervention_delivered
        where date_trunc('month', service_date)::date in (select month from months)""")[0][0]
    got = sum(row["deliveries"] for row in rows)
    assert got == expected and expected > 0
    return f"deliveries {got} = marts {expected}"


def check_social_assistance(rows: Rows, marts: psycopg.Connection) -> str:
    expected = _marts(marts, f"""
        select count(*), count(*) filter (where not h.receives_pkh and not h.receives_sembako)
        from marts.fct_child_monthly as c
        join marts.fct_household_risk_monthly as h on h.household_key = c.household_key and h.month = c.month
        where c.month = {LATEST_MONTH} and c.is_stunted and h.is_desil_1_4""")[0]
    got = (sum(row["stunted_in_desil_1_4"] for row in rows), sum(row["without_pkh_or_sembako"] for row in rows))
    assert got == tuple(expected) and expected[0] > 0
    return f"stunted in desil 1-4 / without aid {got} = marts"


# question number → (the columns the guide promises, an independent check against the marts)
EXPECTED: dict[int, tuple[list[str], Callable[[Rows, psycopg.Connection], str]]] = {
    1: (["kecamatan_name", "kelurahan_name", "stunted_children", "stunted_without_latrine"], check_latrine),
    2: (["month_start", "kecamatan", "children_with_valid_haz", "stunted", "stunting_pct", "change_points"],
        check_trend),
    3: (["kecamatan_name", "kelurahan_name", "children_0_23", "with_missing_intervention", "with_missing_pct"],
        check_incomplete),
    4: (["kelurahan_name", "lowest_rank", "indicator_code", "indicator_name", "responsible_agency", "received",
         "due", "coverage_pct"], check_lowest_indicators),
    5: (["puskesmas_name", "measurements", "haz_flagged_pct", "sd_haz", "eppgbm_haz_disagree", "unknown_kelurahan",
         "duplicate_rows"], check_data_quality),
    6: (["source", "source_label", "source_status", "last_loaded_at", "days_since_last_load", "is_stale",
         "exceeds_max_staleness", "status_reason"], check_freshness),
    7: (["factor_label", "stunted_with", "stunted_total", "stunted_with_pct", "not_stunted_with_pct",
         "prevalence_ratio", "factor_coverage_pct"], check_risk_factors),
    8: (["quarter", "is_partial_quarter", "kelurahan", "combined_level", "women_level", "children_level",
         "combined_due"], check_convergence),
    9: (["responsible_agency", "intervention_type", "intervention", "deliveries", "recipients"], check_agencies),
    10: (["kecamatan_name", "kelurahan_name", "stunted_in_desil_1_4", "without_pkh_or_sembako"],
         check_social_assistance),
}


def test_the_guide_has_ten_questions_each_with_its_check() -> None:
    assert sorted(number for number, _, _ in questions()) == sorted(EXPECTED) == list(range(1, 11))


def test_every_question_runs_as_the_analyst_and_agrees_with_the_marts(published_night) -> None:
    table = []
    with psycopg.connect(published_night.role_url(roles.ANALYST)) as analyst, \
            psycopg.connect(published_night.url) as marts:
        assert analyst.execute("select current_user").fetchone()[0] != roles.ANALYST, "a login of the group"
        for number, title, sql in questions():
            cursor = analyst.execute(sql)
            columns = [column.name for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            expected_columns, check = EXPECTED[number]
            assert columns == expected_columns, f"question {number}"
            assert rows, f"question {number} returned no rows"
            table.append((number, title, len(rows), check(rows, marts)))
    print("\n[analyst guide] question → rows (check against the marts)")
    for number, title, count, checked in table:
        print(f"  {number:>2}. {title[:70]:<70} {count:>4} rows  {checked}")
