"""Every published model and column says what it holds: the descriptions BI tools and analysts read.

The marts, the consumption layers (analyst, bi) and the field teams' lists (restricted) are published
with their descriptions as PostgreSQL comments (persist_docs). This test reads the manifest and names
every model or column whose description is missing, only repeats its name, or that is outside the
model's contract (no data_type). tests/integration/test_docs_site.py checks the comments on a
published night, so a built column missing from the YAML fails there.
"""

from __future__ import annotations

import re

import pytest

from tests.tools.dbt_manifest import layer, load_manifest

pytestmark = pytest.mark.unit

DOCUMENTED_LAYERS = ("marts", "analyst", "bi", "restricted")
# Words that say nothing about a column on their own.
FILLER = {"the", "of", "a", "an", "in", "for", "is", "true", "when", "to", "and", "or", "on", "this", "it", "its",
          "by", "code", "name", "key", "value", "column", "field", "yang", "dan", "atau", "nama", "kode"}
MIN_MODEL_WORDS = 6


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def says_more_than_its_name(name: str, description: str) -> bool:
    """At least two words that are neither in the column's name nor filler."""
    own = set(name.lower().split("_"))
    return len([word for word in _words(description) if word not in own and word not in FILLER]) >= 2


def documentation_gaps(nodes: dict[str, dict]) -> list[str]:
    gaps = []
    for node in sorted(nodes.values(), key=lambda n: n["name"]):
        if node["resource_type"] != "model" or layer(node) not in DOCUMENTED_LAYERS:
            continue
        name = node["name"]
        if len(_words(node.get("description") or "")) < MIN_MODEL_WORDS:
            gaps.append(f"{name}: the model has no description of its content and grain")
        if not (node.get("config", {}).get("contract") or {}).get("enforced"):
            gaps.append(f"{name}: no enforced contract")
        if not node["columns"]:
            gaps.append(f"{name}: no columns in its YAML")
        for column, spec in node["columns"].items():
            description = (spec.get("description") or "").strip()
            if not spec.get("data_type"):
                gaps.append(f"{name}.{column}: not in the contract (no data_type)")
            if not description:
                gaps.append(f"{name}.{column}: no description")
            elif not says_more_than_its_name(column, description):
                gaps.append(f"{name}.{column}: the description only repeats the name ({description!r})")
    return gaps


def test_every_published_model_and_column_is_described() -> None:
    nodes = load_manifest()["nodes"]
    gaps = documentation_gaps(nodes)
    documented = [node for node in nodes.values()
                  if node["resource_type"] == "model" and layer(node) in DOCUMENTED_LAYERS]
    columns = sum(len(node["columns"]) for node in documented)
    print(f"\n[column docs] {len(documented)} models, {columns} columns in {', '.join(DOCUMENTED_LAYERS)}; "
          f"{len(gaps)} gaps")
    assert len(documented) >= 30 and columns >= 500, "the layers were not found in the manifest"
    assert gaps == [], "\n" + "\n".join(gaps)


def test_persist_docs_writes_the_descriptions_as_comments() -> None:
    for node in load_manifest()["nodes"].values():
        if node["resource_type"] == "model" and layer(node) in DOCUMENTED_LAYERS:
            assert node["config"]["persist_docs"] == {"relation": True, "columns": True}, node["name"]


def test_the_exposures_name_the_dashboard_and_the_report_and_only_existing_models() -> None:
    manifest = load_manifest()
    exposures = {exposure["label"]: exposure for exposure in manifest["exposures"].values()}
    dashboard = exposures["Konvergensi Stunting Kota Pekalongan"]
    report = exposures["Laporan Konvergensi Percepatan Penurunan Stunting Kota Pekalongan"]
    assert dashboard["type"] == "dashboard" and report["type"] == "analysis"
    for exposure in (dashboard, report):
        assert exposure["owner"]["email"] and exposure["depends_on"]["nodes"]
        assert all(node in manifest["nodes"] for node in exposure["depends_on"]["nodes"])
    assert all(node.startswith("model.konvergensi.bi_") for node in dashboard["depends_on"]["nodes"])


def test_a_missing_or_name_only_description_is_named() -> None:
    def model(columns: dict[str, dict], description: str = "One row per child and month, with the child's status") -> dict:
        return {"resource_type": "model", "name": "mart_x", "original_file_path": "models/marts/mart_x.sql",
                "description": description, "config": {"contract": {"enforced": True}}, "columns": columns}

    good = {"name": "stunted", "data_type": "integer", "description": "Children with HAZ below −2 in the month."}
    nodes = {
        "model.k.mart_x": model({
            "stunted": good,
            "kelurahan_name": {"name": "kelurahan_name", "data_type": "text", "description": "Name of the kelurahan."},
            "wasted": {"name": "wasted", "data_type": "integer", "description": ""},
            "extra": {"name": "extra", "description": "A column the contract does not declare."},
        }),
        "model.k.int_y": {**model({}, ""), "name": "int_y", "original_file_path": "models/intermediate/int_y.sql"},
    }
    assert documentation_gaps(nodes) == [
        "mart_x.kelurahan_name: the description only repeats the name ('Name of the kelurahan.')",
        "mart_x.wasted: no description",
        "mart_x.extra: not in the contract (no data_type)",
    ]
    assert documentation_gaps({"model.k.mart_x": model({"stunted": good}, "Stunting.")}) == [
        "mart_x: the model has no description of its content and grain"]
