"""The quality gate's rules: one readable source, `expectations/gate_rules.yml`, and the GX files made from it.

Great Expectations reads its suites, validation definitions and checkpoints as JSON, and the table
assets from `great_expectations.yml`; a mart added to the gate used to mean editing all four by
hand, with every SQL rule written as one escaped JSON string. Now the rules are written once, per
table and severity, in gate_rules.yml (SQL as plain multi-line text) and this module writes the GX
files from them. The generated files stay committed (GX reads them, reviewers read the diff) and a
unit test fails when they differ from what this module makes of gate_rules.yml, so nobody edits
them by hand:

    python -m konvergensi.gate_rules generate   # rewrite the GX files from gate_rules.yml (make gate-rules)
    python -m konvergensi.gate_rules check      # exit 1 and name the files that are out of date

Which layer owns which rule (also in expectations/README.md):
- dbt owns the rules on one column of one model that its generic tests say: `not_null`,
  `unique`, `accepted_values`, `relationships`, written in the model's YAML. They run in
  `dbt build` on the audit schemas; a failing one fails the build, so the night stops before the
  gate and nothing is published.
- The GX gate owns what those tests do not say: the contract's columns are present, row counts,
  ranges and distributions, compound keys, share-of-rows thresholds (`mostly`), sums and joins
  across tables (SQL), every warn-severity rule, and column rules on tables dbt does not test.
- A rule lives in one layer only: the generator refuses a not-null, unique or in-set expectation
  without `mostly` on a column whose model YAML (dbt_project/models/**/*.yml) already has that test.

Samples: a checkpoint with `samples: true` records a few offending values and rows (COMPLETE
result format) in ops.gate_runs and the Data Docs. Tables holding personal data (`personal: true`:
the restricted field lists and the staged sources with NIK, names and addresses) must be in a
checkpoint with `samples: false` (SUMMARY, no value lists): the gate then records how many rows
failed, never which values.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the dbt YAML is large
from konvergensi import settings

RULES_FILE = "gate_rules.yml"
CONTEXT_FILE = "great_expectations.yml"
DATASOURCE = {"id": "fe4d32e9-04d1-4c5c-8808-1aff02c12d87", "name": "konvergensi_warehouse"}
BATCH_DEFINITION = "whole_table"
GX_VERSION = "1.24.1"  # the version the suites are written for (requirements.txt pins it)
SEVERITIES = {"fail": "critical", "warn": "warning"}
ASSETS_BEGIN = "      # --- table assets: generated from gate_rules.yml by `python -m konvergensi.gate_rules generate` ---\n"
ASSETS_END = "      # --- end of generated table assets ---\n"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "konvergensi:quality-gate")

NOTES = {
    "fail": "Severity FAIL: the marts are wrong; the gate fails and nothing is published. Sibling tables are "
            "named without schema: the gate's connection sets search_path to the schema under validation. "
            "Generated from gate_rules.yml: do not edit.",
    "warn": "Severity WARN: doubtful but publishable. Failures are listed in ops.gate_runs.warnings and never "
            "stop the publish. Generated from gate_rules.yml: do not edit.",
}
SAMPLED = {"result_format": "COMPLETE", "partial_unexpected_count": 20}
UNSAMPLED = {"result_format": "SUMMARY", "partial_unexpected_count": 0}

# GX expectations that say what one of dbt's generic column tests says.
DBT_TEST_OF = {"column_values_to_not_be_null": "not_null", "column_values_to_be_unique": "unique",
               "column_values_to_be_in_set": "accepted_values"}
# Column names that make a table personal: such a table must say `personal: true`.
PERSONAL_COLUMNS = {"nik", "no_kk", "kk", "child_name", "mother_name", "head_name", "full_name", "name_person",
                    "birth_date", "address", "alamat"}


class RulesError(ValueError):
    """gate_rules.yml says something the generator cannot turn into a valid gate."""


@dataclass(frozen=True)
class Table:
    name: str
    schema: str
    checkpoint: str
    personal: bool
    suites: dict[str, list[dict[str, Any]]]  # severity -> rules as written


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def load(path: Path | None = None) -> tuple[dict[str, dict[str, Any]], list[Table]]:
    """The checkpoints and tables of gate_rules.yml, checked for what GX would only notice at night."""
    path = path or settings.EXPECTATIONS_DIR / RULES_FILE
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    checkpoints: dict[str, dict[str, Any]] = document["checkpoints"]
    tables = []
    for name, spec in document["tables"].items():
        unknown = set(spec) - {"schema", "checkpoint", "personal", *SEVERITIES}
        if unknown:
            raise RulesError(f"{path.name}: table {name}: unknown key(s) {sorted(unknown)}")
        table = Table(name=name, schema=spec.get("schema", "marts"), checkpoint=spec["checkpoint"],
                      personal=bool(spec.get("personal", False)),
                      suites={severity: spec[severity] for severity in SEVERITIES if spec.get(severity)})
        if table.checkpoint not in checkpoints:
            raise RulesError(f"{path.name}: table {name}: unknown checkpoint {table.checkpoint!r}")
        if table.personal and checkpoints[table.checkpoint].get("samples", True):
            raise RulesError(f"{path.name}: table {name} is personal but checkpoint {table.checkpoint} records samples")
        if not table.suites:
            raise RulesError(f"{path.name}: table {name} has no rules")
        tables.append(table)
    return checkpoints, tables


def expectation(suite: str, severity: str, rule: dict[str, Any],
                dbt_tests: frozenset[tuple[str, str, str]] = frozenset()) -> dict[str, Any]:
    """One rule of gate_rules.yml as a GX expectation configuration.

    `sql:` is an unexpected-rows query (`{batch}` stands for the table); otherwise `expect:` names
    the GX expectation without its `expect_` prefix and the other keys are its arguments. `check`
    (the name ops.gate_runs reports) and `description` may be left out for not-null, unique and
    in-set rules, which have obvious ones.
    """
    rule = dict(rule)
    check = rule.pop("check", None)
    description = rule.pop("description", None)
    if "sql" in rule:
        kind = "unexpected_rows_expectation"
        kwargs = {"unexpected_rows_query": rule.pop("sql").strip()}
        if rule:
            raise RulesError(f"{suite}: {check}: unknown key(s) beside sql: {sorted(rule)}")
    else:
        short = rule.pop("expect")
        kind = f"expect_{short}"
        kwargs = rule
        column = kwargs.get("column")
        table = suite.rsplit("_", 1)[0]
        if short in DBT_TEST_OF and "mostly" not in kwargs and (table, column, DBT_TEST_OF[short]) in dbt_tests:
            raise RulesError(f"{suite}: {check or column}: dbt already tests {DBT_TEST_OF[short]} on "
                             f"{table}.{column}; a rule lives in one layer only")
        check = check or _default_check(short, column)
        description = description or _default_description(short, kwargs)
    if not check or not description:
        raise RulesError(f"{suite}: every rule needs a check and a description: {rule}")
    return {"description": description, "id": _id("expectation", suite, check), "kwargs": kwargs,
            "meta": {"check": check}, "severity": SEVERITIES[severity], "type": kind}


def _default_check(short: str, column: str | None) -> str | None:
    suffix = {"column_values_to_not_be_null": "not_null", "column_values_to_be_unique": "unique",
              "column_values_to_be_in_set": "in_domain"}.get(short)
    return f"{column}_{suffix}" if suffix and column else None


def _default_description(short: str, kwargs: dict[str, Any]) -> str | None:
    column = kwargs.get("column")
    if short == "column_values_to_not_be_null":
        return f"{column} is never null"
    if short == "column_values_to_be_unique":
        return f"{column} is unique"
    if short == "column_values_to_be_in_set":
        return f"{column} is one of " + ", ".join(str(value) for value in kwargs["value_set"])
    return None


def dbt_column_tests(models_dir: Path | None = None) -> frozenset[tuple[str, str, str]]:
    """(model, column, test) for every generic column test in the dbt models' YAML."""
    found = set()
    for path in sorted((models_dir or settings.DBT_PROJECT_DIR / "models").rglob("*.yml")):
        for model in (yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}).get("models") or []:
            for column in model.get("columns") or []:
                for test in (column.get("data_tests") or column.get("tests") or []):
                    found.add((model["name"], column["name"], test if isinstance(test, str) else next(iter(test))))
    return frozenset(found)


def suite_document(table: Table, severity: str,
                   dbt_tests: frozenset[tuple[str, str, str]] = frozenset()) -> dict[str, Any]:
    name = f"{table.name}_{severity}"
    expectations = [expectation(name, severity, rule, dbt_tests) for rule in table.suites[severity]]
    checks = [item["meta"]["check"] for item in expectations]
    duplicated = sorted({check for check in checks if checks.count(check) > 1})
    if duplicated:
        raise RulesError(f"{name}: check name(s) used twice: {duplicated}")
    columns = {column for item in expectations for column in item["kwargs"].get("column_set", [])}
    if columns & PERSONAL_COLUMNS and not table.personal:
        raise RulesError(f"{table.name} has personal column(s) {sorted(columns & PERSONAL_COLUMNS)}: "
                         f"mark it personal: true")
    return {"expectations": expectations, "id": _id("suite", name),
            "meta": {"great_expectations_version": GX_VERSION, "severity": severity, "table": table.name},
            "name": name, "notes": NOTES[severity]}


def validation_definition(table: Table, severity: str) -> dict[str, Any]:
    name = f"{table.name}_{severity}"
    return {
        "data": {"asset": {"id": _id("asset", table.name), "name": table.name},
                 "batch_definition": {"id": _id("batch_definition", table.name), "name": BATCH_DEFINITION},
                 "datasource": DATASOURCE},
        "id": _id("validation_definition", name),
        "name": name,
        "suite": {"id": _id("suite", name), "name": name},
    }


def checkpoint_document(name: str, spec: dict[str, Any], tables: list[Table]) -> dict[str, Any]:
    suites = [f"{table.name}_{severity}" for table in tables if table.checkpoint == name for severity in table.suites]
    return {
        "actions": [{"name": "update_data_docs", "site_names": ["local_site"], "type": "update_data_docs"}],
        "id": _id("checkpoint", name),
        "name": name,
        "result_format": dict(SAMPLED if spec.get("samples", True) else UNSAMPLED),
        "validation_definitions": [{"id": _id("validation_definition", suite), "name": suite} for suite in suites],
    }


def assets_block(tables: list[Table]) -> str:
    lines = []
    for table in tables:
        lines += [f"      {table.name}:", "        type: table", f"        id: {_id('asset', table.name)}",
                  "        batch_metadata: {}", "        batch_definitions:", f"          {BATCH_DEFINITION}:",
                  f"            id: {_id('batch_definition', table.name)}", "            partitioner:",
                  f"        table_name: {table.name}"]
    return "\n".join(lines) + "\n"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build(root: Path | None = None) -> dict[Path, str]:
    """Every generated file under the GX context root `root`, with the text it must hold."""
    root = root or settings.EXPECTATIONS_DIR
    checkpoints, tables = load(root / RULES_FILE)
    dbt_tests = dbt_column_tests()
    files: dict[Path, str] = {}
    for table in tables:
        for severity in table.suites:
            name = f"{table.name}_{severity}"
            files[root / "expectations" / f"{name}.json"] = _json(suite_document(table, severity, dbt_tests))
            files[root / "validation_definitions" / f"{name}.json"] = _json(validation_definition(table, severity))
    for name, spec in checkpoints.items():
        files[root / "checkpoints" / f"{name}.json"] = _json(checkpoint_document(name, spec, tables))
    files[root / CONTEXT_FILE] = _with_assets((root / CONTEXT_FILE).read_text(encoding="utf-8"), assets_block(tables))
    return files


def _with_assets(context: str, block: str) -> str:
    start, end = context.find(ASSETS_BEGIN), context.find(ASSETS_END)
    if start < 0 or end < start:
        raise RulesError(f"{CONTEXT_FILE}: the generated assets markers are missing")
    return context[: start + len(ASSETS_BEGIN)] + block + context[end:]


def stale(root: Path | None = None, files: dict[Path, str] | None = None) -> list[Path]:
    """Generated files that differ from what gate_rules.yml makes, are missing, or are left over."""
    root = root or settings.EXPECTATIONS_DIR
    files = files if files is not None else build(root)
    present = {path for folder in ("expectations", "validation_definitions", "checkpoints")
               for path in (root / folder).glob("*.json")}
    differing = [path for path, text in files.items()
                 if not path.is_file() or path.read_text(encoding="utf-8") != text]
    return sorted(differing + sorted(present - set(files)))


def generate(root: Path | None = None) -> list[Path]:
    """Write the generated files and delete JSON files no rule makes any more; return what changed."""
    root = root or settings.EXPECTATIONS_DIR
    files = build(root)
    changed = stale(root, files)
    for path in changed:
        if path in files:
            path.write_text(files[path], encoding="utf-8")
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("generate", "check"))
    args = parser.parse_args(argv)
    root = settings.EXPECTATIONS_DIR
    try:
        changed = generate(root) if args.command == "generate" else stale(root)
    except RulesError as exc:
        print(f"gate_rules.yml: {exc}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'written' if args.command == 'generate' else 'out of date'}: {path.relative_to(root)}")
    if args.command == "check" and changed:
        print("run `python -m konvergensi.gate_rules generate` and commit the result", file=sys.stderr)
        return 1
    if not changed:
        print("the GX files match gate_rules.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
