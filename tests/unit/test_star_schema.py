"""docs/analyst-guide.md: its star-schema diagram is the manifest's, and it gives the grain of every table."""

from __future__ import annotations

import re

import pytest

from konvergensi import star_schema
from tests.tools.dbt_manifest import layer, load_manifest

pytestmark = pytest.mark.unit

GUIDE_LAYERS = ("marts", "analyst", "bi", "restricted")


def test_the_committed_diagram_matches_the_manifest() -> None:
    committed = star_schema.current_block(star_schema.GUIDE.read_text())
    assert committed == star_schema.generated_block(load_manifest()), "run `make analyst-guide` and commit"


def test_the_guide_gives_the_grain_of_every_published_table() -> None:
    text = star_schema.GUIDE.read_text()
    in_tables = set(re.findall(r"^\| `(\w+)` \| ", text, re.M))
    models = {node["name"] for node in load_manifest()["nodes"].values()
              if node["resource_type"] == "model" and layer(node) in GUIDE_LAYERS}
    assert sorted(models - in_tables) == [], "tables without a grain line in docs/analyst-guide.md"
    assert sorted(in_tables - models - {"analyst", "bi", "reference"}) == [], "grain lines of tables that do not exist"


def _model(name: str, layer_name: str, columns: dict[str, list], parents: list[str]) -> dict:
    return {"resource_type": "model", "name": name, "original_file_path": f"models/{layer_name}/{name}.sql",
            "columns": {column: {"name": column, "data_type": "text", "constraints": constraints}
                        for column, constraints in columns.items()},
            "depends_on": {"nodes": [f"model.k.{parent}" for parent in parents]}}


def test_joins_come_from_the_dimension_keys_and_the_marts_relationship_tests() -> None:
    pk = [{"type": "primary_key"}]
    nodes = {f"model.k.{node['name']}": node for node in [
        _model("dim_place", "marts", {"place_code": pk, "place_name": []}, []),
        _model("fct_visit", "marts", {"visit_key": pk, "place_code": [], "clinic_key": []}, ["dim_place"]),
        _model("analyst_place", "analyst", {"place_code": [], "place_name": []}, ["dim_place"]),
        _model("analyst_visit", "analyst", {"visit_key": [], "place_code": [], "clinic_key": []}, ["fct_visit"]),
        _model("analyst_summary", "analyst", {"wilayah_code": []}, ["fct_visit"]),
    ]}
    nodes["test.k.relationships_clinic"] = {
        "resource_type": "test", "attached_node": "model.k.fct_visit",
        "test_metadata": {"name": "relationships",
                          "kwargs": {"column_name": "clinic_key", "to": "ref('dim_place')", "field": "place_code"}},
    }
    keys, joins, tables = star_schema.analyst_star({"nodes": nodes})
    assert keys == {"analyst_place": "place_code"}
    assert [(j.dimension, j.fact, j.column) for j in joins] == [
        ("analyst_place", "analyst_visit", "clinic_key"), ("analyst_place", "analyst_visit", "place_code")]
    assert list(tables) == ["analyst_place", "analyst_visit"], "a table that joins nothing is not drawn"
    diagram = star_schema.mermaid({"nodes": nodes})
    assert "analyst_place ||--o{ analyst_visit : clinic_key" in diagram
    assert "text place_code PK" in diagram and "text clinic_key FK" in diagram
