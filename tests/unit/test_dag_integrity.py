"""The DAG imports without errors, has the expected shape, and imports no simulator code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


def test_dags_import_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "konvergensi_nightly" in dagbag.dags


def test_nightly_dag_shape(dagbag) -> None:
    dag = dagbag.dags["konvergensi_nightly"]
    ids = set(dag.task_ids)
    assert {"ingest_eppgbm", "quality_gate", "publish_marts"} <= ids
    assert any(t.startswith("transform.") for t in ids), "the dbt task group is rendered"
    assert dag.max_active_runs == 1
    assert dag.get_task("ingest_eppgbm").retries >= 1
    assert dag.get_task("quality_gate").retries == 0
    publish = dag.get_task("publish_marts")
    assert publish.upstream_task_ids == {"quality_gate"}
    gate_upstream = dag.get_task("quality_gate").upstream_task_ids
    assert gate_upstream and all(t.startswith("transform.") for t in gate_upstream)
    # the monthly report only after a publish (default trigger rule: a failed night makes no report)
    report = dag.get_task("report")
    assert report.upstream_task_ids == {"publish_marts"} and report.downstream_task_ids == {"release_night_lease"}
    assert report.trigger_rule == "all_success"
    docs = dag.get_task("build_docs")
    assert docs.upstream_task_ids == {"publish_marts"} and docs.downstream_task_ids == {"release_night_lease"}
    assert docs.trigger_rule == "all_success"


def test_the_night_lease_is_taken_first_and_released_by_a_teardown(dagbag) -> None:
    from konvergensi.nightly_tasks import PULLED_SOURCES

    dag = dagbag.dags["konvergensi_nightly"]
    take, release = dag.get_task("take_night_lease"), dag.get_task("release_night_lease")
    assert take.is_setup and not take.upstream_task_ids and take.retries == 0
    loads = {"ingest_eppgbm", "ingest_bkkbn", *(f"extract_{source}" for source in PULLED_SOURCES)}
    assert take.downstream_task_ids == loads | {"housekeeping", "release_night_lease"}
    # every other task waits for the lease
    assert [t for t in dag.task_ids if t != "take_night_lease" and not dag.get_task(t).upstream_task_ids] == []
    # runs however the night ended, after its last tasks, and does not turn a failed night's run green
    assert release.is_teardown and release.trigger_rule == "all_done_setup_success" and not release.on_failure_fail_dagrun
    assert release.upstream_task_ids == {"take_night_lease", "report", "build_docs", "housekeeping"}
    assert not release.downstream_task_ids


def test_every_source_loads_before_dbt(dagbag) -> None:
    from konvergensi.nightly_tasks import PULLED_SOURCES

    dag = dagbag.dags["konvergensi_nightly"]
    loads = {"ingest_eppgbm", "ingest_bkkbn", *(f"extract_{source}" for source in PULLED_SOURCES)}
    assert loads <= set(dag.task_ids)
    first_dbt = [t for t in dag.task_ids if t.startswith("transform.") and not dag.get_task(t).upstream_task_ids - loads]
    assert first_dbt, "some dbt task starts right after the loads"
    for task_id in loads:
        downstream = dag.get_task(task_id).downstream_task_ids
        assert downstream and all(t.startswith("transform.") for t in downstream), task_id
    assert any(t.startswith("transform.snap_households") for t in dag.task_ids), "the household snapshot runs nightly"


def test_production_code_never_imports_the_simulator() -> None:
    production = [*PROJECT.joinpath("include", "konvergensi").rglob("*.py"), *PROJECT.joinpath("dags").rglob("*.py")]
    assert production
    for path in production:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.startswith("konvergensi_simulator") for n in names), f"{path} imports the simulator"
