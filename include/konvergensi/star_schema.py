"""The analysts' star schema as a Mermaid erDiagram, generated from the dbt manifest.

The analyst layer (`analyst` schema, docs/privacy.md) mirrors the internal star: each analyst model is
built from one or two marts. A model built from a `dim_*` mart is a dimension here; its key is the
column the mart declares as primary key. The joins are read from the marts, never listed by hand:

* a column of an analyst model that has the name of a dimension's key joins that dimension;
* a `relationships` data test on the mart behind an analyst model (e.g. `fct_anthropometry.posyandu_key`
  → `dim_facility.facility_key`) joins the same column of the analyst model to the analyst dimension
  of the tested mart.

The aggregate tables (prevalence, scorecard, risk factors) carry no person keys and join nothing;
docs/analyst-guide.md lists them with their grain below the diagram.

    python -m konvergensi.star_schema write   # rewrite the diagram in docs/analyst-guide.md
    python -m konvergensi.star_schema check   # exit 1 when the committed diagram differs from the manifest
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from konvergensi import settings

MANIFEST = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
GUIDE = settings.PROJECT_DIR / "docs" / "analyst-guide.md"
START, END = "<!-- star-schema:start -->", "<!-- star-schema:end -->"
LAYER = "analyst"


@dataclass(frozen=True)
class Join:
    dimension: str
    fact: str
    column: str


def _models(manifest: dict) -> dict[str, dict]:
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def _layer(node: dict) -> str:
    return Path(node["original_file_path"]).parts[1]


def _primary_key(node: dict) -> list[str]:
    keys = [name for name, column in node["columns"].items()
            if any(constraint["type"] == "primary_key" for constraint in column.get("constraints", []))]
    for constraint in node.get("constraints", []):
        if constraint["type"] == "primary_key":
            keys += constraint.get("columns", [])
    return keys


def _relationships(manifest: dict) -> list[tuple[str, str, str, str]]:
    """(model, column, referenced model, referenced column) of every relationships data test."""
    found = []
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or metadata.get("name") != "relationships":
            continue
        kwargs = metadata["kwargs"]
        target = re.fullmatch(r"ref\(['\"](\w+)['\"]\)", str(kwargs.get("to", "")).strip())
        model = (node.get("attached_node") or "").rsplit(".", 1)[-1]
        if target and model and kwargs.get("column_name"):
            found.append((model, kwargs["column_name"], target.group(1), kwargs["field"]))
    return found


def analyst_star(manifest: dict) -> tuple[dict[str, str], list[Join], dict[str, dict]]:
    """(analyst dimension → its key, the joins, the analyst models in the star) from the manifest."""
    models = _models(manifest)
    analyst = {name: node for name, node in models.items() if _layer(node) == LAYER}
    parents = {name: [parent.rsplit(".", 1)[-1] for parent in node["depends_on"]["nodes"]
                      if parent.startswith("model.")] for name, node in analyst.items()}
    # analyst dimension → the dim_* mart it is built from, and that mart's key (when the analyst model keeps it)
    dimension_of_mart: dict[str, str] = {}
    keys: dict[str, str] = {}
    for name, mart_parents in parents.items():
        dims = [parent for parent in mart_parents if parent.startswith("dim_")]
        if len(mart_parents) == 1 and dims:
            key = next((column for column in _primary_key(models[dims[0]]) if column in analyst[name]["columns"]), None)
            if key:
                dimension_of_mart[dims[0]] = name
                keys[name] = key
    joins: set[Join] = set()
    for name, node in analyst.items():
        for dimension, key in keys.items():
            if dimension != name and key in node["columns"]:
                joins.add(Join(dimension, name, key))
    for model, column, referenced, field in _relationships(manifest):
        dimension = dimension_of_mart.get(referenced)
        for name, mart_parents in parents.items():
            if (model in mart_parents and dimension and dimension != name and column in analyst[name]["columns"]
                    and keys[dimension] == field):
                joins.add(Join(dimension, name, column))
    in_star = {name for join in joins for name in (join.dimension, join.fact)}
    return keys, sorted(joins, key=lambda j: (j.fact, j.column, j.dimension)), \
        {name: analyst[name] for name in sorted(in_star)}


def _mermaid_type(data_type: str | None) -> str:
    return re.sub(r"\W+", "_", (data_type or "unknown").split("(")[0].strip())


def mermaid(manifest: dict) -> str:
    """The erDiagram: every analyst table of the star with its columns, keys marked, and the joins."""
    keys, joins, tables = analyst_star(manifest)
    foreign = {(join.fact, join.column) for join in joins}
    lines = ["```mermaid", "erDiagram"]
    for join in joins:
        lines.append(f"    {join.dimension} ||--o{{ {join.fact} : {join.column}")
    for name, node in tables.items():
        lines.append(f"    {name} {{")
        for column, spec in node["columns"].items():
            mark = " PK" if keys.get(name) == column else (" FK" if (name, column) in foreign else "")
            lines.append(f"        {_mermaid_type(spec.get('data_type'))} {column}{mark}")
        lines.append("    }")
    lines.append("```")
    return "\n".join(lines)


def generated_block(manifest: dict) -> str:
    return "\n".join([START, "<!-- generated by `make analyst-guide` (python -m konvergensi.star_schema write) "
                      "from dbt_project/target/manifest.json; do not edit by hand -->", mermaid(manifest), END])


def current_block(text: str) -> str:
    start, end = text.index(START), text.index(END) + len(END)
    return text[start:end]


def write(guide: Path = GUIDE, manifest_path: Path = MANIFEST) -> bool:
    """Rewrite the diagram between the markers; True when the file changed."""
    text = guide.read_text()
    block = generated_block(json.loads(manifest_path.read_text()))
    updated = text.replace(current_block(text), block)
    if updated != text:
        guide.write_text(updated)
    return updated != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["write", "check", "print"])
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text())
    if args.action == "print":
        print(mermaid(manifest))
        return 0
    if args.action == "write":
        print(f"{GUIDE}: {'diagram updated' if write() else 'diagram already up to date'}")
        return 0
    if current_block(GUIDE.read_text()) != generated_block(manifest):
        print(f"{GUIDE}: the star-schema diagram differs from the manifest; run `make analyst-guide`", file=sys.stderr)
        return 1
    print(f"{GUIDE}: the star-schema diagram matches the manifest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
