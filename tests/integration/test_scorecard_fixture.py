"""The hand-built fixture's scorecard, end to end: real loaders and extractors, real dbt, known answer.

tests/fixtures/convergence/ holds one kelurahan (Medono) and one quarter (2026-Q3) in every source's own
format; its README works the scorecard out by hand from docs/scorecard.md and expected_scorecard.json
keeps the result. The files go through the production path (e-PPGBM and BKKBN loaders, the services and
public-works extractors over HTTP, the DTSEN extractor over SQLAlchemy) and dbt builds the marts; the
published levels and every indicator's Y/T/TS counts must equal the hand computation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from konvergensi.settings import dbt_env

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
FIXTURE = PROJECT / "tests" / "fixtures" / "convergence"
EXPECTED = json.loads((FIXTURE / "expected_scorecard.json").read_text())
PULLED = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")


@pytest.fixture(scope="module")
def fixture_warehouse(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh warehouse loaded from the fixture through the production loaders, then built by dbt."""
    from tests.conftest import _scratch_database
    from konvergensi_simulator.server import SourceServer

    from konvergensi.extract import extract_source
    from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm

    with _scratch_database(server_url) as warehouse, _scratch_database(server_url) as dtsen:
        with psycopg.connect(dtsen, autocommit=True) as connection:
            connection.execute((FIXTURE / "dtsen.sql").read_text())
        patch = pytest.MonkeyPatch()
        try:
            with SourceServer(FIXTURE / "store", token="fixture-token") as server:
                patch.setenv("WAREHOUSE_URL", warehouse)
                patch.setenv("KONVERGENSI_SERVICES_API_URL", server.services_url)
                patch.setenv("KONVERGENSI_SERVICES_API_TOKEN", "fixture-token")
                patch.setenv("KONVERGENSI_PUPR_API_URL", server.pupr_url)
                patch.setenv("KONVERGENSI_DTSEN_URL", dtsen)
                landing = FIXTURE / "landing"
                eppgbm = ingest_eppgbm(landing, "fixture").as_dict()
                assert (eppgbm["rows_loaded"], eppgbm["rows_quarantined"]) == (5, 0), eppgbm
                bkkbn = ingest_bkkbn(landing, "fixture").as_dict()
                assert (bkkbn["rows_loaded"], bkkbn["rows_quarantined"]) == (2, 0), bkkbn
                loaded = {source: extract_source(source, "fixture").as_dict() for source in PULLED}
        finally:
            patch.undo()
        assert {s: r["records_loaded"] for s, r in loaded.items()} == {
            "services": 27, "pregnancies": 2, "dtsen": 10, "pupr_surveys": 2, "pupr_projects": 0,
        }, loaded

        target = tmp_path_factory.mktemp("dbt-target")
        environment = dict(os.environ, WAREHOUSE_URL=warehouse, **dbt_env(warehouse))
        dbt = Path(sys.executable).parent / "dbt"
        result = subprocess.run(
            [str(dbt), "build", "--select", "+mart_convergence_scorecard +mart_convergence_scorecard_indicators",
             "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
             "--target-path", str(target), "--log-path", str(target)],
            cwd=PROJECT / "dbt_project", env=environment, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-5000:]
        yield warehouse


def test_levels_match_the_hand_computation(fixture_warehouse: str) -> None:
    with psycopg.connect(fixture_warehouse) as connection:
        row = connection.execute(
            """
            select cutoff_date::text, is_partial_quarter, women_targets, women_y, women_ts, women_due,
                   women_level::float, children_0_23_targets + children_2_6_targets, children_y, children_ts,
                   children_due, children_level::float, combined_level::float
            from marts_audit.mart_convergence_scorecard
            where wilayah_level = 'kelurahan' and wilayah_code = %s and quarter = %s
            """,
            (EXPECTED["wilayah_code"], EXPECTED["quarter"]),
        ).fetchone()
    women, children = EXPECTED["women"], EXPECTED["children"]
    assert row == (
        EXPECTED["cutoff_date"], EXPECTED["is_partial_quarter"],
        women["targets"], women["y"], women["ts"], women["due"], women["level"],
        children["targets"], children["y"], children["ts"], children["due"], children["level"],
        EXPECTED["combined_level"],
    )  # fmt: skip


def test_every_indicator_counts_as_worked_out(fixture_warehouse: str) -> None:
    expected: Counter = Counter()
    for answers in EXPECTED["answers"].values():
        for indicator, answer in answers.items():
            group, number = indicator.rsplit("_", 1)
            expected[(group, int(number), answer)] += 1
    with psycopg.connect(fixture_warehouse) as connection:
        rows = connection.execute(
            """
            select target_group, indicator_number, y_count, t_count, ts_count
            from marts_audit.mart_convergence_scorecard_indicators
            where wilayah_level = 'kelurahan' and wilayah_code = %s and quarter = %s
            """,
            (EXPECTED["wilayah_code"], EXPECTED["quarter"]),
        ).fetchall()
    found: Counter = Counter()
    for group, number, y, t, ts in rows:
        for answer, count in (("Y", y), ("T", t), ("TS", ts)):
            if count:
                found[(group, number, answer)] += count
    assert found == expected


def test_kecamatan_and_city_equal_the_only_kelurahan(fixture_warehouse: str) -> None:
    with psycopg.connect(fixture_warehouse) as connection:
        levels = connection.execute(
            """
            select wilayah_level, combined_level::float from marts_audit.mart_convergence_scorecard
            where quarter = %s and wilayah_code <> 'UNKNOWN' and combined_due > 0
            """,
            (EXPECTED["quarter"],),
        ).fetchall()
    level = EXPECTED["combined_level"]
    assert sorted(levels) == [("kecamatan", level), ("kelurahan", level), ("kota", level)]


def test_every_fixture_record_links(fixture_warehouse: str) -> None:
    """The fixture's families are whole: every record finds its household, child or pregnancy."""
    with psycopg.connect(fixture_warehouse) as connection:
        outcomes = connection.execute(
            """
            select record_source, link_method, count(*) from intermediate.int_household_links group by 1, 2
            union all
            select case when is_child_service then 'service_child' else 'service_woman' end,
                   case when is_child_service then child_link_method else pregnancy_link_method end, count(*)
            from intermediate.int_services_attributed group by 1, 2
            order by 1, 2
            """
        ).fetchall()
    assert outcomes, "no linkage outcomes"
    assert not [o for o in outcomes if o[1] in ("ambiguous", "unlinked")], outcomes
