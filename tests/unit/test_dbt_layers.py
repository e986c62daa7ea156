"""dbt layers flow one way: staging → intermediate (and identity) → marts → consumption lists.

Read from the manifest that `make setup` writes (dbt parse); a manifest older than any file of the
project is parsed again first, so the test never judges yesterday's models.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST = DBT_PROJECT / "target" / "manifest.json"
# A model may read models of its own rank or lower, never higher.
RANKS = {"staging": 0, "intermediate": 1, "identity": 1, "marts": 2, "restricted": 3, "analyst": 3, "bi": 3}
PROJECT_FILES = ("models", "macros", "seeds", "snapshots", "tests", "dbt_project.yml")


def _manifest() -> dict:
    newest = max(
        path.stat().st_mtime
        for name in PROJECT_FILES
        for path in ([DBT_PROJECT / name] if (DBT_PROJECT / name).is_file() else (DBT_PROJECT / name).rglob("*"))
    )
    if not MANIFEST.exists() or MANIFEST.stat().st_mtime < newest:
        dbt = Path(os.environ.get("VIRTUAL_ENV", "")) / "bin" / "dbt"
        subprocess.run([str(dbt) if dbt.exists() else "dbt", "parse", "--quiet"], cwd=DBT_PROJECT, check=True,
                       env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT)})
    return json.loads(MANIFEST.read_text())


def layer(node: dict) -> str:
    """The layer of a model: the first folder under models/."""
    return Path(node["original_file_path"]).parts[1]


def layer_violations(nodes: dict[str, dict]) -> list[str]:
    """'model (layer) reads model (layer)' for every ref from a lower layer to a higher one."""
    models = {key: node for key, node in nodes.items() if node["resource_type"] == "model"}
    violations = []
    for node in models.values():
        for parent in node["depends_on"]["nodes"]:
            if parent in models and RANKS[layer(models[parent])] > RANKS[layer(node)]:
                violations.append(f"{node['name']} ({layer(node)}) reads {models[parent]['name']} "
                                  f"({layer(models[parent])})")
    return sorted(violations)


def test_every_model_is_in_a_known_layer() -> None:
    nodes = _manifest()["nodes"]
    layers = {layer(node) for node in nodes.values() if node["resource_type"] == "model"}
    assert layers <= set(RANKS), f"models outside the known layers: {layers - set(RANKS)}"


def test_no_model_reads_a_higher_layer() -> None:
    assert layer_violations(_manifest()["nodes"]) == []


def test_an_intermediate_model_reading_a_mart_is_reported() -> None:
    nodes = {
        "model.k.fct_x": {"resource_type": "model", "name": "fct_x", "original_file_path": "models/marts/fct_x.sql",
                          "depends_on": {"nodes": []}},
        "model.k.int_y": {"resource_type": "model", "name": "int_y",
                          "original_file_path": "models/intermediate/int_y.sql",
                          "depends_on": {"nodes": ["model.k.fct_x"]}},
    }
    assert layer_violations(nodes) == ["int_y (intermediate) reads fct_x (marts)"]
