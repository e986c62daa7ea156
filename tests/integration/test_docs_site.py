"""The documentation of a published night: comments on the published tables, dbt docs, Data Docs, the index.

On the shared published night (tests/fixtures/published_night.py: a real dbt build with persist_docs,
the real gate and the real publish swap), then the docs step the DAG runs after the publish.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

from konvergensi import docs_site, roles

pytestmark = pytest.mark.integration

MANIFEST = Path(__file__).resolve().parents[2] / "dbt_project" / "target" / "manifest.json"
DOCUMENTED_SCHEMAS = ("marts", "analyst", "bi", "restricted")


@pytest.fixture(scope="module")
def site(published_night) -> docs_site.DocsSite:
    return docs_site.build(published_night.data_dir, published_night.url)


def _descriptions() -> dict[str, dict]:
    """name → {description, columns: {name: description}} of every model, from the project's manifest."""
    nodes = json.loads(MANIFEST.read_text())["nodes"].values()
    return {node["name"]: {"description": node["description"],
                           "columns": {name: column["description"] for name, column in node["columns"].items()}}
            for node in nodes if node["resource_type"] == "model"}


def test_every_published_table_and_column_carries_its_description_as_a_comment(published_night) -> None:
    models = _descriptions()
    with psycopg.connect(published_night.url) as conn:
        rows = conn.execute(
            """
            select n.nspname, c.relname, obj_description(c.oid, 'pg_class'), a.attname, col_description(c.oid, a.attnum)
            from pg_class as c
            join pg_namespace as n on n.oid = c.relnamespace
            join pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
            where n.nspname = any(%s) and c.relkind in ('r', 'p')
            order by 1, 2, a.attnum
            """, (list(DOCUMENTED_SCHEMAS),),
        ).fetchall()
    tables = {(schema, table) for schema, table, *_ in rows}
    assert {schema for schema, _ in tables} == set(DOCUMENTED_SCHEMAS)
    without_table_comment = sorted({f"{s}.{t}" for s, t, comment, *_ in rows if not comment})
    without_column_comment = [f"{s}.{t}.{column}" for s, t, _, column, comment in rows if not comment]
    differing = [f"{s}.{t}.{column}" for s, t, _, column, comment in rows
                 if comment and t in models and comment.strip() != models[t]["columns"].get(column, "").strip()]
    print(f"\n[comments] {len(tables)} published tables, {len(rows)} columns in {', '.join(DOCUMENTED_SCHEMAS)}: "
          f"{len(tables) - len(without_table_comment)} table comments, {len(rows) - len(without_column_comment)} "
          "column comments")
    assert without_table_comment == []
    assert without_column_comment == []
    assert differing == [], "a comment differs from the column's description in the YAML"


def test_the_analyst_role_sees_the_comments_of_what_it_reads(published_night) -> None:
    with psycopg.connect(published_night.role_url(roles.ANALYST)) as conn:
        comment = conn.execute(
            "select col_description('analyst.analyst_child_monthly'::regclass, "
            "(select attnum from pg_attribute where attrelid = 'analyst.analyst_child_monthly'::regclass "
            "and attname = 'birth_month'))").fetchone()[0]
    assert comment == _descriptions()["analyst_child_monthly"]["columns"]["birth_month"]


def test_the_dbt_docs_page_describes_the_published_schemas(site: docs_site.DocsSite) -> None:
    assert site.dbt_error is None
    assert site.dbt_docs is not None and site.dbt_docs.name == "static_index.html"
    page = site.dbt_docs.read_text()
    # the static page embeds the manifest and the catalog read from the published tables
    assert "Konvergensi Stunting Kota Pekalongan" in page, "the exposures are on the page"
    catalog = json.loads((site.dbt_docs.parent / "catalog.json").read_text())
    schemas = {node["metadata"]["schema"] for node in catalog["nodes"].values()}
    assert {"marts", "analyst", "bi"} <= schemas, schemas
    assert not any(schema.endswith("_audit") for schema in schemas)


def test_gx_data_docs_of_the_gate_exist(site: docs_site.DocsSite) -> None:
    assert site.gx_data_docs is not None and site.gx_data_docs.is_file()
    assert "<html" in site.gx_data_docs.read_text()[:2000].lower()


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if tag == "a" and name == "href" and value]


def test_every_link_of_the_index_resolves(site: docs_site.DocsSite, published_night) -> None:
    parser = _Hrefs()
    text = site.index.read_text()
    parser.feed(text)
    local = [href for href in parser.hrefs if not urlsplit(href).scheme]
    missing = [href for href in local if not (site.index.parent / unquote(href)).exists()]
    print(f"\n[index] {site.index}: {len(parser.hrefs)} links ({len(local)} local files), "
          f"absent pieces: {[link.label for link in site.links if not link.target]}")
    assert missing == []
    assert len(local) >= 3, "dbt docs, Data Docs and the analyst guide at least"
    assert re.search(re.escape(published_night.run_id), text), "the index names the published night"
