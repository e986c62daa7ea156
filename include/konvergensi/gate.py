"""The quality gate: validate tonight's marts with Great Expectations before they are published.

The GX file context under `expectations/` is committed; its suites, validation definitions,
checkpoints and table assets are generated from `expectations/gate_rules.yml` by
konvergensi.gate_rules (which also says which rules dbt's tests own instead). This module only
points the context at the warehouse and reads the outcome.

Severity comes from the suite name. A failed expectation in a `*_fail` suite means the marts are
wrong: the gate fails and publishing must not happen. A failed expectation in a `*_warn` suite
(doubtful but publishable, e.g. a kelurahan that delivered nothing this month) is reported and
never changes the outcome. A suite with any other name counts as `fail`, so a new suite cannot be
silently ignored.

Which schema is validated is decided by the connection, not by the GX files: the data source's
URL is `${KONVERGENSI_GATE_SQLALCHEMY_URL}`, which run_gate fills with the warehouse URL plus a
libpq `options=-csearch_path=<schema>,<restricted schema>,staging`. Table assets have no schema and
the suites' SQL names sibling tables unqualified, so the same files validate `marts_audit` (with the
field teams' lists in `restricted_audit` and the staged sources in `staging`) at night and any test
schema.

Every checkpoint of the context runs (`konvergensi_marts_gate` for the e-PPGBM spine,
`konvergensi_convergence_gate` for the convergence marts, `konvergensi_personal_data_gate` for the
restricted lists and staged sources, whose result format keeps no sample values); a test may pick
some. Findings carry sample values and rows only where the checkpoint's result format returned them.

    python -m konvergensi.gate RUN_ID [--schema marts_audit]   # exit 1 when the gate fails
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from psycopg.types.json import Jsonb

from konvergensi import db, settings
from konvergensi.faults import pause_point

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult
    from great_expectations.data_context import AbstractDataContext

URL_VARIABLE = "KONVERGENSI_GATE_SQLALCHEMY_URL"
DATA_DOCS_SITE = "local_site"
WARN_SUFFIX = "_warn"
SAMPLE_SIZE = 5
ERROR_CHARS = 500

STAGING_SCHEMA = "staging"  # the sources as staged: their code domains are checked too
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Finding(TypedDict):
    """One failed expectation, as stored in ops.gate_runs.failed_expectations / warnings."""

    suite: str | None
    table: str | None
    expectation: str
    details: dict[str, Any]


@dataclass(frozen=True)
class GateResult:
    run_id: str
    schema: str
    success: bool
    failed: list[Finding]
    warnings: list[Finding]
    data_docs_path: Path
    gate_run_id: int
    duration_seconds: float


class GateFailed(RuntimeError):
    """Raised by enforce(): tonight's marts must not be published."""

    def __init__(self, message: str, result: GateResult) -> None:
        super().__init__(message)
        self.result = result


def check_identifier(name: str) -> str:
    """Schema names are interpolated into SQL and connection options: allow plain identifiers only."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case PostgreSQL identifier: {name!r}")
    return name


def gate_sqlalchemy_url(schema: str, url: str | None = None, also: tuple[str, ...] = ()) -> str:
    """The warehouse URL (psycopg driver) whose sessions resolve unqualified names in `schema`, then `also`.

    libpq's `options` parameter sets search_path at connection start; an `options` value already
    in the URL is kept and extended.
    """
    path = ",".join(check_identifier(name) for name in (schema, *also))
    parts = urlsplit(settings.sqlalchemy_url(url))
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = [value for key, value in query if key == "options"]
    query = [(key, value) for key, value in query if key not in ("options", "application_name")]
    query.append(("options", " ".join([*options, f"-csearch_path={path}"])))
    query.append(("application_name", "konvergensi_gate"))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="/")))


def data_docs_index() -> Path:
    """Where the local Data Docs site's index.html is written (ignored by git)."""
    return settings.EXPECTATIONS_DIR / "uncommitted" / "data_docs" / DATA_DOCS_SITE / "index.html"


def run_gate(run_id: str, schema: str | None = None, checkpoints: tuple[str, ...] | None = None,
             restricted_schema: str | None = None) -> GateResult:
    """Validate `schema` (default: the audit schema) and record the outcome in ops.gate_runs.

    Runs the context's checkpoints (default: all of them; every table x suite, whole tables, Data Docs updated by each
    checkpoint's UpdateDataDocsAction). Tables not found in `schema` are looked up in
    `restricted_schema` (default: the restricted audit schema). Missing tables and errors raised by
    GX itself are recorded as failures rather than raised, so that every gate run leaves a row in
    ops.gate_runs.
    """
    started = time.monotonic()
    schema = check_identifier(schema or settings.marts_audit_schema())
    restricted = check_identifier(restricted_schema or settings.restricted_audit_schema())
    with db.connect() as conn:
        db.ensure_schema(conn)  # ops.gate_runs must exist before GX spends seconds validating

    failed: list[Finding] = []
    warnings: list[Finding] = []
    context: AbstractDataContext | None = None
    try:
        context = _load_context(schema, restricted)
        names = checkpoints or sorted(cp.name for cp in context.checkpoints.all())
        for name in names:
            checkpoint = context.checkpoints.get(name)
            tables = sorted({vd.data.data_asset.table_name for vd in checkpoint.validation_definitions})
            missing = _missing_tables((schema, restricted, STAGING_SCHEMA), tables)
            for table in missing:
                failed.append(
                    Finding(suite=None, table=table, expectation="table_exists",
                            details={"description": f"{table} exists in neither {schema} nor {restricted}"})
                )
            if not missing:
                _collect(context, checkpoint.run(run_id=_run_identifier(run_id)), failed, warnings)
                pause_point("gate")
    except Exception as exc:  # noqa: BLE001 - a broken context or GX error must end as a recorded failure
        failed.append(
            Finding(suite=None, table=None, expectation="gate_error",
                    details={"error": f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]})
        )

    docs = _docs_index(context) if context is not None else data_docs_index()
    success = not failed
    gate_run_id = _record(run_id, schema, success, failed, warnings, docs)
    return GateResult(
        run_id=run_id,
        schema=schema,
        success=success,
        failed=failed,
        warnings=warnings,
        data_docs_path=docs,
        gate_run_id=gate_run_id,
        duration_seconds=round(time.monotonic() - started, 2),
    )


def enforce(result: GateResult) -> None:
    """Raise GateFailed naming every failed fail-severity expectation and where the Data Docs are."""
    if result.success:
        return
    lines = [
        f"Quality gate failed for run {result.run_id} on schema {result.schema}: "
        f"{len(result.failed)} expectation(s) failed; nothing was published."
    ]
    for finding in result.failed:
        lines.append(f"  - {finding['suite']} on {finding['table']}: {finding['expectation']}"
                     f" ({summarise_details(finding['details'])})")
    if result.warnings:
        lines.append(f"  ({len(result.warnings)} warning(s) besides)")
    lines.append(f"Data Docs: {result.data_docs_path}")
    raise GateFailed("\n".join(lines), result)


def _load_context(schema: str, restricted: str) -> AbstractDataContext:
    """The committed file context, its data source connected to `schema` (then `restricted`) for this run only."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    return gx.get_context(
        mode="file",
        context_root_dir=str(settings.EXPECTATIONS_DIR),
        runtime_environment={URL_VARIABLE: gate_sqlalchemy_url(schema, also=(restricted, STAGING_SCHEMA))},
    )


def _run_identifier(run_id: str) -> Any:
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_id)


def _missing_tables(schemas: tuple[str, ...], tables: list[str]) -> list[str]:
    with db.connect() as conn:
        rows = conn.execute(
            """
            select t from unnest(%s::text[]) as t
            where not exists (
                select from unnest(%s::text[]) as s where to_regclass(format('%%I.%%I', s, t)) is not null
            )
            """,
            (tables, list(schemas)),
        ).fetchall()
    return [row[0] for row in rows]


def _collect(context: AbstractDataContext, result: Any, failed: list[Finding], warnings: list[Finding]) -> None:
    """Sort the checkpoint's failed expectations into failures and warnings."""
    for identifier, validation in result.run_results.items():
        suite = validation.suite_name
        table = (validation.meta.get("active_batch_definition") or {}).get("data_asset_name")
        page = _docs_page(context, identifier)
        for outcome in validation.results:
            if outcome.success:
                continue
            config = outcome.expectation_config
            details = _details(outcome)
            if page:
                details["data_docs_page"] = page
            finding = Finding(suite=suite, table=table, expectation=_expectation_name(config), details=details)
            (warnings if suite.endswith(WARN_SUFFIX) else failed).append(finding)


def _expectation_name(config: Any) -> str:
    check = (config.meta or {}).get("check")
    if check:
        return str(check)
    column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list") or [])
    return f"{config.type}({column})" if column else config.type


def _details(outcome: ExpectationValidationResult) -> dict[str, Any]:
    """What an engineer needs to start looking: the rule, the size of the problem and a few examples."""
    config = outcome.expectation_config
    result = outcome.result or {}
    details: dict[str, Any] = {"description": config.description, "type": config.type}
    error = _exception_message(outcome.exception_info)
    if error:
        details["error"] = error[:ERROR_CHARS]
    for key in ("observed_value", "unexpected_count", "element_count"):
        if key in result and result[key] is not None:
            details[key] = result[key]
    if result.get("unexpected_percent") is not None:
        details["unexpected_percent"] = round(result["unexpected_percent"], 3)
    if result.get("partial_unexpected_list"):
        details["sample_values"] = result["partial_unexpected_list"][:SAMPLE_SIZE]
    rows = (result.get("details") or {}).get("unexpected_rows")
    if rows:
        details["sample_rows"] = rows[:SAMPLE_SIZE]
    return json.loads(json.dumps(details, default=str))


def _exception_message(info: Any) -> str | None:
    """GX reports errors either flat or keyed by metric; return the first message found."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return info.get("exception_message") or "exception raised"
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message") or "exception raised"
    return None


def _docs_page(context: AbstractDataContext, identifier: Any) -> str | None:
    try:
        urls = context.get_docs_sites_urls(resource_identifier=identifier, site_name=DATA_DOCS_SITE)
    except Exception:  # noqa: BLE001 - a missing page must not hide the finding itself
        return None
    return _url_to_path(urls[0]["site_url"]) if urls and urls[0].get("site_url") else None


def _docs_index(context: AbstractDataContext) -> Path:
    try:
        urls = context.get_docs_sites_urls(site_name=DATA_DOCS_SITE)
    except Exception:  # noqa: BLE001
        urls = []
    if urls and urls[0].get("site_url"):
        return Path(_url_to_path(urls[0]["site_url"]))
    return data_docs_index()


def _url_to_path(url: str) -> str:
    parsed = urlsplit(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


def summarise_details(details: dict[str, Any]) -> str:
    if "error" in details:
        return "error: " + details["error"].splitlines()[0][:200]
    if "unexpected_count" in details:
        return f"{details['unexpected_count']} unexpected value(s)"
    if "observed_value" in details:
        value = details["observed_value"]
        return f"{value} unexpected row(s)" if isinstance(value, int) else f"observed {value}"
    return details.get("description") or "failed"


def _record(run_id: str, schema: str, success: bool, failed: list[Finding],
            warnings: list[Finding], docs: Path) -> int:
    with db.connect() as conn:
        row = conn.execute(
            """
            insert into ops.gate_runs (run_id, schema_name, success, failed_expectations, warnings, data_docs_path)
            values (%s, %s, %s, %s, %s, %s)
            returning gate_run_id
            """,
            (run_id, schema, success, Jsonb(failed), Jsonb(warnings), str(docs)),
        ).fetchone()
    assert row is not None
    return int(row[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_id")
    parser.add_argument("--schema", default=None, help="schema to validate (default: the audit schema)")
    args = parser.parse_args(argv)
    result = run_gate(args.run_id, args.schema)
    for finding in result.warnings:
        print(f"WARNING {finding['suite']} on {finding['table']}: {finding['expectation']} "
              f"({summarise_details(finding['details'])})")
    try:
        enforce(result)
    except GateFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Quality gate passed for run {result.run_id} on {result.schema} in {result.duration_seconds} s; "
          f"Data Docs: {result.data_docs_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
