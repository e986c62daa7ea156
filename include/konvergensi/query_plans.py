"""Key figures of a PostgreSQL plan from `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`, as a table.

Used by `make bench` when a step is slower than its published figure, so that a regression shows
its plan (join types, estimated against actual rows, time, buffers, spills) instead of only a number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg

from konvergensi.summary import table

# Plan nodes that only pass rows on (UNION ALL fences, projections, empty branches) are left out.
PASS_THROUGH_NODES = {"Result", "Subquery Scan", "Append"}


@dataclass(frozen=True)
class PlanNode:
    depth: int
    operation: str
    relation: str | None
    estimated_rows: float
    actual_rows: float
    loops: int
    total_ms: float
    shared_hit: int
    shared_read: int
    shared_dirtied: int
    shared_written: int
    temp_read: int
    temp_written: int

    @property
    def rows(self) -> int:
        """Rows over all loops (EXPLAIN reports actual rows per loop)."""
        return round(self.actual_rows * self.loops)


def _operation(node: dict[str, Any]) -> str:
    kind = node["Node Type"]
    join = node.get("Join Type", "Inner")
    if join != "Inner":  # named as in EXPLAIN's text form: Hash Left Join, Nested Loop Anti Join
        kind = kind.replace(" Join", f" {join} Join") if kind.endswith(" Join") else f"{kind} {join} Join"
    if node.get("Parallel Aware"):
        kind = f"Parallel {kind}"
    if method := node.get("Sort Method"):
        kind = f"{kind} ({method})"
    return kind


def plan_nodes(plan: dict[str, Any], depth: int = 0) -> Iterator[PlanNode]:
    """Every node of a JSON plan (the "Plan" object), depth first, with its own figures."""
    yield PlanNode(
        depth=depth,
        operation=_operation(plan),
        relation=plan.get("Relation Name"),
        estimated_rows=plan.get("Plan Rows", 0),
        actual_rows=plan.get("Actual Rows", 0),
        loops=plan.get("Actual Loops", 1),
        total_ms=plan.get("Actual Total Time", 0.0),
        shared_hit=plan.get("Shared Hit Blocks", 0),
        shared_read=plan.get("Shared Read Blocks", 0),
        shared_dirtied=plan.get("Shared Dirtied Blocks", 0),
        shared_written=plan.get("Shared Written Blocks", 0),
        temp_read=plan.get("Temp Read Blocks", 0),
        temp_written=plan.get("Temp Written Blocks", 0),
    )
    for child in plan.get("Plans", []):
        yield from plan_nodes(child, depth + 1)


def plan_table(explained: dict[str, Any]) -> str:
    """One line per plan node that does work, indented by depth, then the totals of the statement.

    Rows and seconds are per loop, as EXPLAIN gives them (a node under Gather runs once in each
    process; a nested loop's inner side once per outer row); buffers are summed over the loops.
    """
    nodes = [n for n in plan_nodes(explained["Plan"]) if n.operation.split(" (")[0] not in PASS_THROUGH_NODES]
    top = next(plan_nodes(explained["Plan"]))
    rows = [
        (
            "  " * n.depth + n.operation + (f" on {n.relation}" if n.relation else ""),
            round(n.estimated_rows),
            round(n.actual_rows),
            n.loops,
            round(n.total_ms / 1000, 2),
            n.shared_hit,
            n.shared_read,
            n.shared_dirtied,
            n.shared_written,
            n.temp_written,
        )
        for n in nodes
    ]
    text = table(
        ["plan node", "est. rows", "rows", "loops", "s", "hit", "read", "dirtied", "written", "temp written"],
        rows,
        align="lrrrrrrrrr",
    )
    execution_ms = explained.get("Execution Time", top.total_ms)
    totals = (
        f"statement: {top.rows:,} rows in {execution_ms / 1000:.2f} s; shared buffers hit {top.shared_hit:,}, "
        f"read {top.shared_read:,}, dirtied {top.shared_dirtied:,}, written {top.shared_written:,}; "
        f"temp written {top.temp_written:,} (8 kB blocks)"
    )
    return f"{text}\n{totals}"


def explain_analyze(connection: psycopg.Connection, statement: str) -> dict[str, Any]:
    """Run `statement` under EXPLAIN (ANALYZE, BUFFERS) inside a transaction that is rolled back."""
    with connection.transaction(force_rollback=True):
        row = connection.execute(f"explain (analyze, buffers, format json) {statement}").fetchone()
    return row[0][0]
