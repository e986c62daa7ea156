"""dbt layers flow one way: staging → intermediate (and identity) → marts → consumption lists.

Read from the manifest that `make setup` writes (tests/tools/dbt_manifest.py parses a stale one again).
"""

from __future__ import annotations

import pytest

from tests.tools.dbt_manifest import layer, load_manifest

pytestmark = pytest.mark.unit

# A model may read models of its own rank or lower, never higher.
RANKS = {"staging": 0, "intermediate": 1, "identity": 1, "marts": 2, "restricted": 3, "analyst": 3, "bi": 3}


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
    nodes = load_manifest()["nodes"]
    layers = {layer(node) for node in nodes.values() if node["resource_type"] == "model"}
    assert layers <= set(RANKS), f"models outside the known layers: {layers - set(RANKS)}"


def test_no_model_reads_a_higher_layer() -> None:
    assert layer_violations(load_manifest()["nodes"]) == []


def test_an_intermediate_model_reading_a_mart_is_reported() -> None:
    nodes = {
        "model.k.fct_x": {"resource_type": "model", "name": "fct_x", "original_file_path": "models/marts/fct_x.sql",
                          "depends_on": {"nodes": []}},
        "model.k.int_y": {"resource_type": "model", "name": "int_y",
                          "original_file_path": "models/intermediate/int_y.sql",
                          "depends_on": {"nodes": ["model.k.fct_x"]}},
    }
    assert layer_violations(nodes) == ["int_y (intermediate) reads fct_x (marts)"]
