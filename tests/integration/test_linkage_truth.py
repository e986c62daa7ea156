"""The family linkage measured against the simulator's truth, on a small city with all the dirt.

The simulator writes every source and, beside them (not in the landing directory), the household,
child and pregnancy every record really belongs to. The production loaders and extractors load the
sources, real dbt builds the linkage models on a real PostgreSQL, and every link is compared with
the truth (households of every source, the children's mothers, the children and pregnancies of the
services): per source, links + ambiguous + unlinked = records, every record is known to the truth,
and precision ≥ 99 % and recall ≥ 95 % wherever the small city has enough records to tell.
`make bench` (tests/bench/bench_linkage.py) prints the same table at city scale.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from konvergensi.settings import dbt_env

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
PULLED = ("services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects")
NIGHT = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=7)))
ENOUGH = 50  # records a source needs in the small city before its rates are asserted
# Each source's records as the warehouse holds them (one linkage outcome each).
RECORDS_SQL = {
    "eppgbm_children": """select count(distinct coalesce(m.child_nik_key, r.child_key_without_nik))
        from staging.stg_eppgbm__measurements m
        join intermediate.int_children_resolved r on r.child_person_key = m.child_person_key""",
    "eppgbm_mothers": "select count(*) from intermediate.int_child_households_linked",
    "pregnancies": "select count(*) from staging.stg_services__pregnancies",
    "bkkbn": "select count(*) from staging.stg_bkkbn__families",
    "pupr_surveys": "select count(*) from staging.stg_pupr__household_surveys",
    "pupr_projects": "select count(*) from staging.stg_pupr__projects",
    "services_children": "select count(*) from staging.stg_services__services where is_child_service and not is_voided",
    "services_women": "select count(*) from staging.stg_services__services where not is_child_service and not is_voided",
    "dtsen": "select count(*) from staging.stg_dtsen__households",
}


@pytest.fixture(scope="module")
def scored_city(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A small simulated city loaded by the production path, its linkage built by dbt and scored."""
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.linkage_truth import score_linkage
    from konvergensi_simulator.server import SourceServer

    from konvergensi.extract import extract_source
    from konvergensi.ingest.bkkbn_loader import ingest_bkkbn
    from konvergensi.ingest.eppgbm_loader import ingest_eppgbm
    from konvergensi.settings import pseudonym_key
    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("linkage")
    landing, store, truth = root / "landing", root / "store", root / "truth"
    landing.mkdir()
    with _scratch_database(server_url) as warehouse, _scratch_database(server_url) as dtsen:
        write_city_sources(landing, store, dtsen, seed=7, children=900, months=4, end_month="2026-10", as_of=NIGHT,
                           progress=False, linkage_truth=truth)
        patch = pytest.MonkeyPatch()
        try:
            with SourceServer(store, token="linkage-token", as_of=NIGHT) as server:
                patch.setenv("WAREHOUSE_URL", warehouse)
                patch.setenv("KONVERGENSI_SERVICES_API_URL", server.services_url)
                patch.setenv("KONVERGENSI_SERVICES_API_TOKEN", "linkage-token")
                patch.setenv("KONVERGENSI_PUPR_API_URL", server.pupr_url)
                patch.setenv("KONVERGENSI_DTSEN_URL", dtsen)
                ingest_eppgbm(landing, "linkage-truth")
                ingest_bkkbn(landing, "linkage-truth")
                for source in PULLED:
                    assert extract_source(source, "linkage-truth").as_dict()["status"] == "loaded", source
        finally:
            patch.undo()
        target = tmp_path_factory.mktemp("dbt-target")
        result = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "build", "--select", "+int_services_attributed",
             "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
             "--target-path", str(target), "--log-path", str(target)],
            cwd=PROJECT / "dbt_project", env=dict(os.environ, WAREHOUSE_URL=warehouse, **dbt_env(warehouse)),
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout[-5000:]
        scores, alignment = score_linkage(warehouse, truth, pseudonym_key())
        with psycopg.connect(warehouse) as connection:
            records = {source: connection.execute(sql).fetchone()[0] for source, sql in RECORDS_SQL.items()}
        yield {"scores": scores, "alignment": alignment, "records": records, "truth": truth, "landing": landing}


def test_truth_is_written_beside_the_sources_and_describes_every_loaded_row(scored_city: dict) -> None:
    from konvergensi_simulator.linkage_truth import FILES

    assert sorted(p.stem for p in scored_city["truth"].iterdir()) == sorted(FILES)
    assert not any(p.name.endswith(f"{name}.csv") for p in scored_city["landing"].rglob("*") for name in FILES)
    assert scored_city["alignment"] == {"rows_without_truth": 0, "nik_disagreeing": 0}


def test_every_record_is_accounted_for(scored_city: dict) -> None:
    from konvergensi_simulator.linkage_truth import totals

    found = totals(scored_city["scores"])
    assert sorted(found) == sorted(RECORDS_SQL)
    for source, score in found.items():
        assert score.records == scored_city["records"][source] > 0, source
        assert score.links + score.ambiguous + score.unlinked == score.records, source
        assert score.without_truth == 0, source
        methods = [s for s in scored_city["scores"] if s.source == source and s.method]
        assert sum(m.records for m in methods) == score.records, source
        assert sum(m.right_links for m in methods) == score.right_links, source


def test_precision_and_recall_meet_the_targets(scored_city: dict) -> None:
    from konvergensi_simulator.linkage_truth import score_table, shortfalls, totals

    from konvergensi.summary import table

    shown = table(*score_table(scored_city["scores"]))
    asserted = [s for s in totals(scored_city["scores"]).values() if s.records >= ENOUGH]
    assert len(asserted) >= 8, shown  # every source but the few PUPR projects of a small city
    missed = shortfalls(asserted)
    assert not missed, "\n".join(missed) + "\n" + shown
