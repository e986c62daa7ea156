"""Housekeeping keeps the last N nights of GX results, Data Docs pages and Airflow task logs.

The GX case runs a real Great Expectations file context (in a temporary directory, on an
in-memory pandas frame) for three nights, so the layout the pruning relies on is GX's own.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from konvergensi.housekeeping import prune_airflow_logs, prune_gate_results

pytestmark = pytest.mark.unit


def _run_names(base: Path) -> set[str]:
    """The nights (run names) of the results or pages under base: <suite>/<run name>/<run time>/<batch>.(json|html)."""
    return {path.relative_to(base).parts[-3] for path in base.rglob("*") if path.suffix in (".json", ".html")}


def test_gate_results_and_data_docs_keep_the_last_nights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core.run_identifier import RunIdentifier

    context = gx.get_context(mode="file", project_root_dir=str(tmp_path))
    asset = context.data_sources.add_pandas("night").add_dataframe_asset("children")
    batch = asset.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(gx.ExpectationSuite("children_fail"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="child_key"))
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="children", data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(name="gate", validation_definitions=[definition],
                                                        actions=[UpdateDataDocsAction(name="docs")]))
    frame = pd.DataFrame({"child_key": [1, 2, 3]})
    nights = [f"scheduled__2026-11-{day:02d}T19:00:00+00:00" for day in range(1, 4)]
    for night in nights:
        checkpoint.run(batch_parameters={"dataframe": frame}, run_id=RunIdentifier(run_name=night))
        time.sleep(0.01)  # distinct run times

    root = tmp_path / "gx" / "uncommitted"
    results, pages = root / "validations", root / "data_docs" / "local_site" / "validations"
    assert _run_names(results) == _run_names(pages) == set(nights)

    pruned = prune_gate_results(keep=2, root=root)
    assert (pruned.kept, pruned.removed, pruned.files) == (2, 1, 2)
    assert _run_names(results) == _run_names(pages) == set(nights[-2:])
    assert not [d for d in results.rglob("*") if d.is_dir() and not any(d.iterdir())], "no empty directories left"
    kept = context.validation_results_store.list_keys()
    assert {key.run_id.run_name for key in kept} == set(nights[-2:]), "GX still reads what is kept"

    monkeypatch.setenv("KONVERGENSI_KEEP_NIGHTS", "1")
    assert prune_gate_results(root=root).removed == 1
    assert _run_names(results) == {nights[-1]}


def _log(base: Path, run: str, age_days: float) -> Path:
    path = base / "dag_id=konvergensi_nightly" / f"run_id={run}" / "task_id=quality_gate" / "attempt=1.log"
    path.parent.mkdir(parents=True)
    path.write_text("log\n")
    stamp = time.time() - age_days * 86400
    for item in (path, path.parent, path.parent.parent):
        os.utime(item, (stamp, stamp))
    return path


def test_airflow_task_logs_keep_the_last_runs_and_never_tonights(tmp_path: Path) -> None:
    import datetime as dt

    base = tmp_path / "logs"
    runs = {f"scheduled__2026-11-{day:02d}": 10 - day for day in range(1, 6)}  # the 1st is the oldest
    for run, age in runs.items():
        _log(base, run, age)
    _log(base, "manual__2026-10-01", 60)  # tonight's run, started by hand with an old logical date
    for day in ("2026-10-01", "2026-11-04"):
        (base / "dag_processor" / day).mkdir(parents=True)
        (base / "dag_processor" / day / "konvergensi_nightly.py.log").write_text("parsed\n")

    pruned = prune_airflow_logs(keep=2, base=base, current_run="manual__2026-10-01", today=dt.date(2026, 11, 5))
    left = sorted(p.name for p in (base / "dag_id=konvergensi_nightly").iterdir())
    assert left == ["run_id=manual__2026-10-01", "run_id=scheduled__2026-11-04", "run_id=scheduled__2026-11-05"]
    assert (pruned.kept, pruned.removed) == (3, 3)
    assert sorted(p.name for p in (base / "dag_processor").iterdir()) == ["2026-11-04"]
    assert pruned.files == 4  # three task logs and one dag-processor log

