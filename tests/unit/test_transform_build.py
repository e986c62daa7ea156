"""The nightly dbt build: one producer task, a task per dbt node after it, and the SQL/start-up split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konvergensi.transform_build import (
    FAILED_NODES_XCOM,
    NODE_TASK_SETTINGS,
    PRODUCER_TASK,
    fail_when_its_tests_failed,
    run_results_split,
)

pytestmark = pytest.mark.unit

PROJECT = Path(__file__).resolve().parents[2]


def node(status: str, start: str, end: str, seconds: float, unique_id: str = "model.konvergensi.a") -> dict:
    compile_step = {"name": "compile", "started_at": f"2026-11-02T01:00:{start}Z", "completed_at": f"2026-11-02T01:00:{start}Z"}
    execute_step = {"name": "execute", "started_at": f"2026-11-02T01:00:{start}Z", "completed_at": f"2026-11-02T01:00:{end}Z"}
    return {"unique_id": unique_id, "status": status, "execution_time": seconds, "timing": [compile_step, execute_step]}


def test_split_counts_overlapping_sql_once(tmp_path: Path) -> None:
    # two threads: 00–10 and 05–12 overlap (12 s of wall time), then a gap, then 20–21
    results = {"elapsed_time": 25.0, "results": [
        node("success", "00", "10", 10.0), node("pass", "05", "12", 7.0),
        node("fail", "20", "21", 1.0, "test.konvergensi.not_null_a_id"),
    ]}  # fmt: skip
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results))

    split = run_results_split(path)

    assert split == {"nodes": 3, "failed": 1, "node_seconds": 18.0, "sql_wall_seconds": 13.0, "dbt_seconds": 25.0,
                     "failed_nodes": {"test.konvergensi.not_null_a_id": "fail"}}


def test_no_run_results_is_none(tmp_path: Path) -> None:
    assert run_results_split(tmp_path / "run_results.json") is None


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags")).dags["konvergensi_nightly"]


def test_one_build_and_every_node_task_after_it(dag) -> None:
    producer = dag.get_task(f"transform.{PRODUCER_TASK}")
    assert type(producer).__name__ == "DbtProducerWatcherOperator"
    assert producer.upstream_task_ids and not any(t.startswith("transform.") for t in producer.upstream_task_ids)
    node_tasks = [dag.get_task(t) for t in dag.task_ids if hasattr(dag.get_task(t), "producer_task_id")]
    assert len(node_tasks) > 100  # seeds, models and the snapshot each keep a task
    assert {type(t).__name__ for t in node_tasks} == {"DbtRunWatcherOperator", "DbtSeedWatcherOperator",
                                                      "DbtSnapshotWatcherOperator"}
    # their data tests run in the build and report through their node's task
    assert producer.build_cmd({})[0][1] == "build" and "test" in producer.dbt_cmd_flags
    tested = [t for t in node_tasks if producer.tests_per_model.get(t.model_unique_id)]
    assert len(tested) > 100
    assert all(t._post_execute_hook is fail_when_its_tests_failed for t in tested)
    assert all(t._post_execute_hook is None for t in node_tasks if t not in tested)
    downstream = producer.get_flat_relative_ids(upstream=False)
    for task in node_tasks:
        assert task.task_id in downstream, task.task_id
        assert all(getattr(task, name) == value for name, value in NODE_TASK_SETTINGS.items()), task.task_id
        if producer.task_id in task.upstream_task_ids:
            assert task.trigger_rule == "one_done", task.task_id  # reports its node when the build ran, even if it failed
        else:
            assert task.trigger_rule == "all_success", task.task_id
    # nothing in the DAG invokes dbt but the producer
    assert [t.task_id for t in dag.tasks if t.task_id.startswith("transform.") and hasattr(t, "base_cmd")
            and not hasattr(t, "producer_task_id")] == [producer.task_id]


class PushedXComs:
    """Records what the producer's event handler pushes (stands in for the task instance's XCom backend)."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, dict]] = []

    def xcom_push(self, key: str, value: dict) -> None:
        self.pushed.append((key, value))


def test_the_producer_pushes_a_node_event_only_when_the_node_finishes(dag) -> None:
    from cosmos.operators._watcher.base import _process_dbt_log_event

    node = {"unique_id": "model.konvergensi.dim_child", "node_status": "started", "node_started_at": "2026-11-02T01:00:00Z"}
    target = PushedXComs()
    for name in ("NodeStart", "NodeCompiling", "NodeExecuting"):
        _process_dbt_log_event(target, {"info": {"name": name, "msg": name}, "data": {"node_info": node}})
    assert target.pushed == []
    finished = dict(node, node_status="success", node_finished_at="2026-11-02T01:00:03Z")
    _process_dbt_log_event(target, {"info": {"name": "NodeFinished"}, "data": {"node_info": finished,
                                                                              "run_result": {"message": "SELECT 9"}}})
    failed = dict(node, node_status="error")
    _process_dbt_log_event(target, {"info": {"name": "RunResultError", "msg": "division by zero"},
                                    "data": {"node_info": failed}})
    assert [(value["status"], value["msg"]) for _, value in target.pushed] == [("success", "SELECT 9"),
                                                                                ("error", "division by zero")]
    assert {key for key, _ in target.pushed} == {"model__konvergensi__dim_child_dbt_event"}


class NodeTaskContext:
    """What a node task's post-execute hook reads: its task, and the producer's XComs through its task instance."""

    def __init__(self, dag, node: str, xcoms: dict[str, object]) -> None:
        self.task = next(dag.get_task(t) for t in dag.task_ids
                         if getattr(dag.get_task(t), "model_unique_id", None) == node)
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str) -> object:
        assert task_ids == self.task.producer_task_id
        return self.xcoms.get(key)

    def __getitem__(self, name: str) -> object:
        return {"task": self.task, "ti": self}[name]


def test_a_node_task_fails_when_one_of_its_tests_failed_and_names_it(dag) -> None:
    from airflow.sdk.exceptions import AirflowException

    node = "model.konvergensi.dim_child"
    tests = dag.get_task(f"transform.{PRODUCER_TASK}").tests_per_model[node]
    key = "model__konvergensi__dim_child_tests_status"
    fail_when_its_tests_failed(NodeTaskContext(dag, node, {key: "pass"}))

    failed_test = sorted(tests)[0]
    context = NodeTaskContext(dag, node, {key: "fail", FAILED_NODES_XCOM: {failed_test: "fail", "model.konvergensi.x": "error"}})
    with pytest.raises(AirflowException, match=f"some of its {len(tests)} data tests failed: {failed_test} \\(fail\\)$"):
        fail_when_its_tests_failed(context)
    # a test that never reported (skipped because another of its parents failed) fails the task too
    with pytest.raises(AirflowException, match="failed or did not run"):
        fail_when_its_tests_failed(NodeTaskContext(dag, node, {}))
