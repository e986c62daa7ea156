"""Key figures of an EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) plan, as the bench prints them."""

from __future__ import annotations

import re

import pytest

from konvergensi.query_plans import plan_nodes, plan_table

pytestmark = pytest.mark.unit


def _scan(relation: str, rows: float, loops: int, **buffers: int) -> dict:
    return {"Node Type": "Seq Scan", "Relation Name": relation, "Parallel Aware": False, "Plan Rows": 3654,
            "Actual Rows": rows, "Actual Loops": loops, "Actual Total Time": 0.4, **buffers}


# The shape of the slow plan of issue 12: the raw table estimated at one row, so every measurement
# scans the age table again in a nested loop, under a UNION ALL fence (Append, Subquery Scan, Result).
NESTED_LOOP_PLAN = {
    "Plan": {
        "Node Type": "Result", "Plan Rows": 2, "Actual Rows": 998969, "Actual Loops": 1, "Actual Total Time": 352000.0,
        "Shared Hit Blocks": 70000, "Shared Read Blocks": 82800, "Shared Dirtied Blocks": 82759,
        "Shared Written Blocks": 65989, "Temp Written Blocks": 0,
        "Plans": [{
            "Node Type": "Subquery Scan", "Plan Rows": 1, "Actual Rows": 998969, "Actual Loops": 1,
            "Actual Total Time": 351000.0,
            "Plans": [{
                "Node Type": "Nested Loop", "Join Type": "Left", "Plan Rows": 1, "Actual Rows": 998969,
                "Actual Loops": 1, "Actual Total Time": 350000.0, "Shared Read Blocks": 82800,
                "Plans": [
                    {"Node Type": "Seq Scan", "Relation Name": "eppgbm_measurements", "Parallel Aware": False,
                     "Plan Rows": 1, "Actual Rows": 998969, "Actual Loops": 1, "Actual Total Time": 9000.0,
                     "Shared Read Blocks": 82800, "Shared Dirtied Blocks": 82759},
                    _scan("int_who_lms_by_age", 3654, 998969, **{"Shared Hit Blocks": 63937984}),
                ],
            }],
        }],
    },
    "Execution Time": 352400.0,
}


def test_plan_nodes_walks_depth_first_with_join_types() -> None:
    nodes = list(plan_nodes(NESTED_LOOP_PLAN["Plan"]))
    assert [(n.depth, n.operation) for n in nodes] == [
        (0, "Result"), (1, "Subquery Scan"), (2, "Nested Loop Left Join"), (3, "Seq Scan"), (3, "Seq Scan"),
    ]
    inner = nodes[-1]
    assert inner.relation == "int_who_lms_by_age" and inner.loops == 998969 and inner.rows == 3654 * 998969


def test_plan_table_shows_working_nodes_estimates_and_buffers() -> None:
    lines = plan_table(NESTED_LOOP_PLAN).splitlines()
    assert lines[0].split() == ["plan", "node", "est.", "rows", "rows", "loops", "s", "hit", "read", "dirtied",
                                "written", "temp", "written"]
    body = lines[2:-1]
    assert [re.split(r"\s{2,}", line.strip())[0] for line in body] == [
        "Nested Loop Left Join", "Seq Scan on eppgbm_measurements", "Seq Scan on int_who_lms_by_age",
    ]
    # one row expected, a million read: the estimate that chose the nested loop
    assert body[1].split()[4:7] == ["1", "998,969", "1"]
    assert body[2].split()[5:8] == ["3,654", "998,969", "0.0"]
    assert lines[-1] == (
        "statement: 998,969 rows in 352.40 s; shared buffers hit 70,000, read 82,800, dirtied 82,759, "
        "written 65,989; temp written 0 (8 kB blocks)"
    )


def test_parallel_and_sort_method_are_named() -> None:
    plan = {"Plan": {"Node Type": "Sort", "Sort Method": "external merge", "Plan Rows": 10, "Actual Rows": 10,
                     "Actual Loops": 3, "Actual Total Time": 5.0,
                     "Plans": [{"Node Type": "Seq Scan", "Parallel Aware": True, "Relation Name": "t",
                                "Plan Rows": 10, "Actual Rows": 10, "Actual Loops": 3, "Actual Total Time": 1.0}]}}
    assert [n.operation for n in plan_nodes(plan["Plan"])] == ["Sort (external merge)", "Parallel Seq Scan"]
