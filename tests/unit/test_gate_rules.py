"""The GX files are what konvergensi.gate_rules makes of expectations/gate_rules.yml, and its rules hold."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from konvergensi import gate_rules, settings

pytestmark = pytest.mark.unit


def test_committed_gx_files_are_generated_from_gate_rules() -> None:
    stale = gate_rules.stale()
    assert stale == [], ("hand-edited or out-of-date GX files (run `python -m konvergensi.gate_rules generate`): "
                         + ", ".join(str(path.relative_to(settings.EXPECTATIONS_DIR)) for path in stale))


def test_personal_tables_are_validated_without_samples() -> None:
    checkpoints, tables = gate_rules.load()
    personal = [table for table in tables if table.personal]
    assert {table.schema for table in personal} == {"restricted", "staging"}
    assert all(table.personal for table in tables if table.schema != "marts")
    for table in personal:
        document = json.loads((settings.EXPECTATIONS_DIR / "checkpoints" / f"{table.checkpoint}.json").read_text())
        assert document["result_format"] == {"result_format": "SUMMARY", "partial_unexpected_count": 0}, table.name
        assert {vd["name"] for vd in document["validation_definitions"]} >= {
            f"{table.name}_{severity}" for severity in table.suites}


@pytest.fixture
def context_copy(tmp_path: Path) -> Path:
    """A copy of the GX context whose gate_rules.yml a test may rewrite."""
    root = tmp_path / "expectations"
    shutil.copytree(settings.EXPECTATIONS_DIR, root, ignore=shutil.ignore_patterns("uncommitted"))
    return root


def rewrite_rules(root: Path, old: str, new: str) -> None:
    path = root / gate_rules.RULES_FILE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_hand_edited_suite_is_found_and_generate_restores_it(context_copy: Path) -> None:
    suite = context_copy / "expectations" / "dim_child_fail.json"
    document = json.loads(suite.read_text())
    document["expectations"].pop()
    suite.write_text(json.dumps(document, indent=2))
    leftover = context_copy / "expectations" / "dim_gone_fail.json"
    leftover.write_text("{}")

    assert gate_rules.stale(context_copy) == [suite, leftover]
    gate_rules.generate(context_copy)
    assert gate_rules.stale(context_copy) == [] and not leftover.exists()


def test_a_new_mart_is_one_entry_in_gate_rules(context_copy: Path) -> None:
    rewrite_rules(context_copy, "\ntables:\n", """
tables:
  mart_new:
    checkpoint: konvergensi_convergence_gate
    fail:
      - check: not_empty
        expect: table_row_count_to_be_between
        min_value: 1
        description: mart_new has rows
""")
    gate_rules.generate(context_copy)

    suite = json.loads((context_copy / "expectations" / "mart_new_fail.json").read_text())
    assert [(e["type"], e["kwargs"], e["severity"]) for e in suite["expectations"]] == [
        ("expect_table_row_count_to_be_between", {"min_value": 1}, "critical")]
    definition = json.loads((context_copy / "validation_definitions" / "mart_new_fail.json").read_text())
    assert definition["suite"] == {"id": suite["id"], "name": "mart_new_fail"}
    checkpoint = json.loads((context_copy / "checkpoints" / "konvergensi_convergence_gate.json").read_text())
    assert checkpoint["validation_definitions"][0] == {"id": definition["id"], "name": "mart_new_fail"}
    context = (context_copy / gate_rules.CONTEXT_FILE).read_text()
    assert f"      mart_new:\n        type: table\n        id: {definition['data']['asset']['id']}\n" in context
    assert "        table_name: mart_new\n" in context


def test_sql_rules_are_written_as_plain_text(context_copy: Path) -> None:
    suite = json.loads((settings.EXPECTATIONS_DIR / "expectations" / "fct_anthropometry_fail.json").read_text())
    query = next(e["kwargs"]["unexpected_rows_query"] for e in suite["expectations"]
                 if e["meta"]["check"] == "child_in_dim_child")
    rules = (settings.EXPECTATIONS_DIR / gate_rules.RULES_FILE).read_text()
    assert "\n".join("          " + line if line else "" for line in query.splitlines()) in rules


@pytest.mark.parametrize(("old", "new", "message"), [
    ("        column_set: [child_key, sex, birth_month,", "        column_set: [child_key, nik, sex, birth_month,",
     "dim_child has personal column(s) ['nik']"),
    ("  konvergensi_personal_data_gate:\n    description: the field teams' restricted lists and the staged "
     "sources, which hold personal data\n    samples: false",
     "  konvergensi_personal_data_gate:\n    samples: true",
     "is personal but checkpoint konvergensi_personal_data_gate records samples"),
    ("  dim_child:\n    checkpoint: konvergensi_marts_gate\n    fail:\n",
     "  dim_child:\n    checkpoint: konvergensi_marts_gate\n    fail:\n"
     "      - expect: column_values_to_not_be_null\n        column: child_key\n",
     "dbt already tests not_null on dim_child.child_key"),
])  # fmt: skip
def test_rules_the_generator_refuses(context_copy: Path, old: str, new: str, message: str) -> None:
    rewrite_rules(context_copy, old, new)
    with pytest.raises(gate_rules.RulesError, match=re.escape(message)):
        gate_rules.build(context_copy)


# The gate's rules that were also dbt tests and now live in dbt only (issue 14): if one of these
# tests leaves the model YAML, its rule must come back to gate_rules.yml, or nobody checks it.
LEFT_TO_DBT = {
    "case_followup_children": "case_category:accepted_values",
    "dim_child": "child_key:not_null child_key:unique sex:accepted_values identity_method:accepted_values",
    "dim_date": "date_day:not_null date_day:unique",
    "dim_facility": "facility_key:not_null facility_key:unique facility_type:accepted_values",
    "dim_household": "household_version_key:unique household_key:not_null",
    "dim_intervention": "intervention_code:unique name:not_null responsible_agency:not_null intervention_type:accepted_values",
    "dim_pregnancy": "pregnancy_key:unique pregnancy_key:not_null mother_key:not_null last_menstrual_date:not_null pregnancy_status:accepted_values",
    "dim_wilayah": "kelurahan_code:not_null kelurahan_code:unique",
    "fct_anthropometry": "measurement_key:not_null measurement_key:unique position:accepted_values haz_category:accepted_values waz_category:accepted_values whz_category:accepted_values baz_category:accepted_values",
    "fct_child_monthly": "ind_anak_01:accepted_values ind_anak_02:accepted_values ind_anak_03:accepted_values ind_anak_04:accepted_values ind_anak_05:accepted_values ind_anak_06:accepted_values ind_anak_07:accepted_values ind_anak_08:accepted_values ind_anak_09:accepted_values ind_anak_10:accepted_values ind_paud:accepted_values",
    "fct_intervention_delivered": "delivery_key:not_null delivery_key:unique intervention_code:not_null service_date:not_null",
    "mart_convergence_scorecard": "wilayah_level:accepted_values",
    "mart_convergence_scorecard_indicators": "target_group:accepted_values wilayah_level:accepted_values",
    "mart_risk_factor_profile": "wilayah_level:accepted_values",
    "mart_situation_analysis": "wilayah_level:accepted_values",
    "mart_source_freshness": "source:unique",
    "mart_stunting_prevalence_monthly": "wilayah_level:accepted_values",
    "mart_target_progress": "source_type:accepted_values",
}  # fmt: skip


def test_the_rules_left_to_dbt_are_still_dbt_tests() -> None:
    wanted = {(table, *item.split(":")) for table, items in LEFT_TO_DBT.items() for item in items.split()}
    assert len(wanted) == 53
    assert sorted(wanted - gate_rules.dbt_column_tests()) == []


def test_suites_name_the_installed_great_expectations() -> None:
    from importlib.metadata import version

    assert gate_rules.GX_VERSION == version("great_expectations"), "upgrade GX_VERSION, then make gate-rules"
