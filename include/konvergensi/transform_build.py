"""The nightly dbt build as one invocation, with a task per dbt node that reports its result.

The DAG's `transform` group runs in Cosmos' watcher mode: one producer task runs `dbt build` over
the whole project (seeds, models, snapshots and their data tests, with dbt's own threads), and each
seed, model and snapshot keeps a task of its own that reads the node's status from the producer and
fails when the node or any of its data tests failed. A task per dbt invocation, as before, cost
seconds of Airflow and dbt start-up each — at city scale more than the SQL.

Three adjustments to Cosmos' wiring, made by `report_nodes_after_the_build`:
- the node tasks run after the producer, not beside it. Cosmos starts the root node tasks together
  with the producer and relies on the scheduler honouring the producer's priority; `airflow dags
  test` (which `make run` and the tests use) runs ready tasks in no particular order and waits
  for a deferred sensor inline, so a node task picked before the producer waits for a build that
  never starts (the hang an earlier attempt met). After the producer, every status is already
  known: a node task succeeds or fails at its first look, holds no worker slot during the build,
  and needs no triggerer.
- the root node tasks run once the producer has run, whatever its outcome, so a failed build
  still shows which model failed (its task fails, everything downstream of it is
  upstream_failed, and so is the quality gate). When the producer never ran (a load of the night
  failed, so it is upstream_failed), the node tasks are skipped: the failed load is the night's
  failure, not a hundred node tasks timing out.
- a node's data tests report through the node's own task (`fail_when_its_tests_failed`), not
  through a test task beside it: Cosmos' AFTER_EACH rendering adds a task per tested model, 124
  of the night's 258, and every task costs Airflow a process (about a second under the
  LocalExecutor) to read one XCom. The producer already sums up each node's tests (Cosmos'
  `<node>_tests_status`); the node's task reads that after its own status and fails, naming the
  failed tests, when one failed or did not run.

And one adjustment to what the producer writes, made by `push_only_finished_node_events`: Cosmos
rewrites a node's event XCom at each of its lifecycle events (start, compiling, executing,
finished): four writes per node, about 2,400 a night, each a round trip to Airflow's execution API
made while holding the lock every dbt thread's callback takes. Only the last one is ever read (a
node task logs it when it reports), so only NodeFinished and the error events are pushed.

`record_run_results` runs after the build (a Cosmos callback) and stores the split between the
SQL dbt ran and everything else the task spent, in ops.transform_runs; it also logs every failed
model and test by name.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PRODUCER_TASK = "dbt_producer_watcher"
# A node task looks up its node's status once the build is over: it never needs to wait for it.
# Non-deferrable with a short timeout: a status missing after the build fails the node's task at once.
NODE_TASK_SETTINGS = {"deferrable": False, "poke_interval": 1, "timeout": 3}
# The node lifecycle event whose XCom a node task reads (Cosmos also pushes NodeStart, NodeCompiling, NodeExecuting).
PUSHED_NODE_EVENTS = frozenset({"NodeFinished"})
# The producer's XCom naming every node of the build that did not succeed: unique id -> dbt status.
FAILED_NODES_XCOM = "failed_nodes"
FAILED_STATUSES = ("error", "fail", "runtime error")
# Added to the producer's `dbt build` flags, beside the seed, model and snapshot types Cosmos puts there.
BUILD_TESTS_TOO = ["--resource-type", "test"]


def report_nodes_after_the_build(group: Any) -> None:
    """Put every root node task of a watcher-mode DbtTaskGroup after its producer (see module doc)."""
    from airflow.task.trigger_rule import TriggerRule

    tasks = {task.task_id: task for task in _tasks(group)}
    producer_id = f"{group.group_id}.{PRODUCER_TASK}"
    producer = tasks[producer_id]
    for task_id, task in tasks.items():
        if task_id == producer_id or not hasattr(task, "producer_task_id"):
            continue
        for name, value in NODE_TASK_SETTINGS.items():
            setattr(task, name, value)
        if not task.upstream_task_ids & tasks.keys():
            producer >> task
            task.trigger_rule = TriggerRule.ONE_DONE  # the producer succeeded or failed; skipped if it never ran
        if producer.tests_per_model.get(task.model_unique_id):
            task._post_execute_hook = fail_when_its_tests_failed


def fail_when_its_tests_failed(context: dict[str, Any], result: Any = None) -> None:
    """Fail a node's task when one of the node's data tests failed or did not run (an Airflow post-execute hook).

    Runs after the node's own status said success. Reads the producer's summary of the node's tests
    (pass or fail, pushed once all of them reported), and the build's failed nodes to name them.
    """
    from airflow.sdk.exceptions import AirflowException
    from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
    from cosmos.operators._watcher.state import get_xcom_val, is_dbt_node_status_success

    task, task_instance = context["task"], context["ti"]
    node = task.model_unique_id
    summary = get_xcom_val(task_instance, task.producer_task_id, get_tests_status_xcom_key(node))
    if is_dbt_node_status_success(summary):
        return
    tests = task.dag.get_task(task.producer_task_id).tests_per_model.get(node, [])
    failed_nodes = get_xcom_val(task_instance, task.producer_task_id, FAILED_NODES_XCOM) or {}
    failed = sorted(f"{test} ({failed_nodes[test]})" for test in tests if test in failed_nodes)
    what = "failed" if summary is not None else "failed or did not run"
    raise AirflowException(
        f"{node} was built, but some of its {len(tests)} data tests {what}: "
        f"{', '.join(failed) or 'the producer task log names them'}"
    )


def push_only_finished_node_events() -> None:
    """Let the producer push a node's event XCom when it finishes (or fails), not at every step (see module doc)."""
    from cosmos.operators._watcher import base

    base._DBT_EVENT_ALLOWLIST = base._DBT_ERROR_EVENTS_TYPES | PUSHED_NODE_EVENTS


def _tasks(group: Any) -> list[Any]:
    found = []
    for child in group.children.values():
        found.extend(_tasks(child) if hasattr(child, "children") else [child])
    return found


def record_run_results(project_dir: str, context: dict[str, Any] | None = None, **_: Any) -> None:
    """Store what the build spent in SQL against the task's wall time (a Cosmos callback)."""
    import psycopg

    from konvergensi import roles
    from konvergensi.db import connect

    split = run_results_split(Path(project_dir) / "target" / "run_results.json")
    if split is None:
        log.warning("dbt wrote no run_results.json: nothing to record")
        return
    task_instance = (context or {}).get("ti")
    started = getattr(task_instance, "start_date", None)
    task_seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds() if started else None
    run_id = (context or {}).get("run_id", "")
    log.info(
        "dbt build: %d nodes; SQL running %.1f s of wall time (%.1f s summed over dbt's threads); dbt %.1f s; "
        "the task %s s",
        split["nodes"], split["sql_wall_seconds"], split["node_seconds"], split["dbt_seconds"],
        f"{task_seconds:.1f}" if task_seconds is not None else "?",
    )
    for node, status in split["failed_nodes"].items():
        log.error("dbt build: %s %s", node, status)
    if task_instance is not None and split["failed_nodes"]:
        task_instance.xcom_push(key=FAILED_NODES_XCOM, value=split["failed_nodes"])
    try:
        with connect(roles.role_url(roles.TRANSFORMER)) as connection:
            connection.execute(
                "insert into ops.transform_runs (run_id, nodes, failed_nodes, node_seconds, sql_wall_seconds,"
                " dbt_seconds, task_seconds) values (%s, %s, %s, %s, %s, %s, %s)",
                (run_id, split["nodes"], split["failed"], split["node_seconds"], split["sql_wall_seconds"],
                 split["dbt_seconds"], task_seconds),
            )
    except psycopg.Error as error:  # a measurement never fails the night
        log.warning("could not record the dbt build's timings in ops.transform_runs: %s", error)


def run_results_split(path: Path) -> dict[str, Any] | None:
    """What one dbt invocation spent, from its run_results.json.

    nodes and failed nodes; node_seconds, the nodes' execution times summed (more than the wall
    time with several threads); sql_wall_seconds, the wall time during which at least one node was
    executing SQL (the union of the nodes' `execute` intervals); dbt_seconds, dbt's elapsed time.
    """
    if not path.is_file():
        return None
    results = json.loads(path.read_text(encoding="utf-8"))
    nodes = results.get("results", [])
    intervals = sorted(
        (dt.datetime.fromisoformat(step["started_at"]), dt.datetime.fromisoformat(step["completed_at"]))
        for node in nodes
        for step in node.get("timing", [])
        if step.get("name") == "execute" and step.get("started_at") and step.get("completed_at")
    )
    busy, end = 0.0, None
    for start, finish in intervals:
        if end is not None and start < end:
            start = end
        if finish > start:
            busy += (finish - start).total_seconds()
        end = finish if end is None else max(end, finish)
    return {
        "nodes": len(nodes),
        "failed": sum(1 for node in nodes if node.get("status") in FAILED_STATUSES),
        "failed_nodes": {node["unique_id"]: node["status"] for node in nodes
                         if node.get("status") in FAILED_STATUSES and node.get("unique_id")},
        "node_seconds": sum(float(node.get("execution_time") or 0.0) for node in nodes),
        "sql_wall_seconds": busy,
        "dbt_seconds": float(results.get("elapsed_time") or 0.0),
    }
