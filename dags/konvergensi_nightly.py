"""Nightly convergence load: every source → dbt (Cosmos) → quality gate → atomic publish → monthly report.

Sources: e-PPGBM and BKKBN files from the landing directory; the maternal and child services API,
the pregnant women register, the DTSEN welfare database and the public-works GeoJSON collections,
each pulled incrementally by its own task. A pulled source that is still down after its retries
does not stop the night: its previous data is used and the marts mark it stale (the gate fails
when it has been stale too long). A source that sends data breaking its contract fails the night.

The DAG file stays thin: every task calls a function in include/konvergensi/. The dbt graph is
rendered from the manifest that `make setup` writes (dbt parse), so parsing this file runs no dbt.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk import dag, get_current_context, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

PROJECT_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_DIR / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
if str(PROJECT_DIR / "include") not in sys.path:
    sys.path.append(str(PROJECT_DIR / "include"))

from konvergensi import alerts, nightly_tasks, settings, transform_build  # noqa: E402


@dag(
    dag_id="konvergensi_nightly",
    description="health, social and public-works sources → raw → dbt convergence star → GX gate → published marts",
    schedule="0 19 * * *",  # 02:00 WIB
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    # a task that fails for good raises an alert (ops.alerts + KONVERGENSI_ALERT_WEBHOOK)
    default_args={"owner": "konvergensi", "retries": 0, "on_failure_callback": alerts.on_task_failure},
    tags=["konvergensi", "e-ppgbm", "convergence"],
    doc_md=__doc__,
)
def konvergensi_nightly():
    # One night at a time on this warehouse, whoever started it (another deployment, a backfill,
    # `airflow dags test`): the night lease (include/konvergensi/night_lease.py), taken first and
    # given back by a teardown that runs however the night ends and does not decide its state.
    @task(retries=0)
    def take_night_lease() -> dict:
        context = get_current_context()
        return nightly_tasks.take_night_lease(context["run_id"], f"Airflow {context['dag'].dag_id} run {context['run_id']}")

    @task(retries=2, retry_delay=timedelta(seconds=30))
    def release_night_lease() -> dict:
        return nightly_tasks.release_night_lease(get_current_context()["run_id"])

    @task(retries=3, retry_delay=timedelta(minutes=2), retry_exponential_backoff=True)
    def ingest_eppgbm() -> dict:
        context = get_current_context()
        return nightly_tasks.ingest(context["run_id"], os.environ.get("KONVERGENSI_LANDING_DIR"))

    @task(retries=3, retry_delay=timedelta(minutes=2), retry_exponential_backoff=True)
    def ingest_bkkbn() -> dict:
        context = get_current_context()
        return nightly_tasks.ingest_family_data(context["run_id"], os.environ.get("KONVERGENSI_LANDING_DIR"))

    @task(retries=0)
    def extract(source: str) -> dict:
        from konvergensi.extract import SourceRejected

        try:
            return nightly_tasks.extract(source, get_current_context()["run_id"])
        except SourceRejected as rejected:
            raise AirflowFailException(str(rejected)) from rejected

    extracts = [
        extract.override(task_id=f"extract_{source}")(source)
        for source in nightly_tasks.PULLED_SOURCES
    ]

    transform = DbtTaskGroup(
        group_id="transform",
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=MANIFEST if MANIFEST.exists() else None,
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="konvergensi",
            target_name="warehouse",
            profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
        ),
        # One `dbt build` (the producer task) runs every seed, model, snapshot and data test with
        # dbt's own threads; each node keeps its task in the group, which reports that node's result
        # from the build. A task per dbt invocation cost seconds of Airflow and dbt start-up each,
        # more than the SQL at city scale (include/konvergensi/transform_build.py).
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.DBT_RUNNER,
            # the data tests stay in the build: Cosmos keeps only seeds, models and snapshots in the
            # producer's `dbt build` when the group renders no test tasks, and adds this type to them
            setup_operator_args={"callback": transform_build.record_run_results,
                                 "dbt_cmd_flags": transform_build.BUILD_TESTS_TOO},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if MANIFEST.exists() else LoadMode.DBT_LS,
            # tests run inside the build right after their model, and report through the model's task
            # (no task per tested model: transform_build.fail_when_its_tests_failed); a failing test
            # skips everything downstream of it and fails its model's task, which blocks the gate
            test_behavior=TestBehavior.NONE,
            emit_datasets=False,  # no data-aware scheduling here; avoids one warning per task
            # dbt unit tests check the SQL against hand-computed rows, not tonight's data: they run in
            # `make test` (tests/integration/test_partial_sources.py), not in production (dbt's advice)
            exclude=["resource_type:unit_test"],
        ),
        # the analyst marts' HMAC pads reach dbt's sessions as PGOPTIONS, set in the task process (docs/privacy.md)
        operator_args={"install_deps": False, "pre_execute": settings.provide_analyst_key},
        default_args={"retries": 0},
    )
    transform_build.report_nodes_after_the_build(transform)
    transform_build.push_only_finished_node_events()

    @task(retries=0)
    def quality_gate() -> dict:
        from konvergensi.gate import GateFailed

        try:
            context = get_current_context()
            return nightly_tasks.gate(context["run_id"], nightly_tasks.night_date(context))
        except GateFailed as failure:
            raise AirflowFailException(str(failure)) from failure

    @task(retries=1, on_success_callback=alerts.on_publish_success)  # stale sources published: a warning
    def publish_marts() -> None:
        nightly_tasks.publish(get_current_context()["run_id"])

    # After the publish: the night is published whatever becomes of its report; a failed report fails the
    # run (and raises an alert) so that nobody reads last month's PDF believing it is tonight's.
    @task(retries=1, retry_delay=timedelta(minutes=1))
    def report() -> dict:
        return nightly_tasks.report(get_current_context()["run_id"])

    # dbt docs of the published schemas and the data directory's index.html (docs/analyst-guide.md)
    @task(retries=0)
    def build_docs() -> dict:
        return nightly_tasks.docs(get_current_context()["run_id"])

    # Beside the night, not after it: a leaf downstream of publish with trigger rule all_done would
    # turn a failed night's run green. Pruning keeps the newest nights, so tonight's logs stay.
    @task(retries=0)
    def housekeeping() -> dict:
        return nightly_tasks.housekeeping(get_current_context()["run_id"])

    lease = take_night_lease()
    loads = [ingest_eppgbm(), ingest_bkkbn(), *extracts]
    pruned = housekeeping()
    lease >> [*loads, pruned]
    loads >> transform
    published = publish_marts()
    transform >> quality_gate() >> published
    [pruned, published >> report(), published >> build_docs()] >> release_night_lease().as_teardown(setups=lease)


konvergensi_nightly()
