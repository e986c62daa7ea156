"""Provision the dashboard through Superset's REST API, idempotently: look up by name, update, never duplicate.

Run after every night (`make bi` does, or `python -m konvergensi.bi provision` against a running
Superset): the warehouse connection's password is set again, each dataset's columns are read again
from the `bi` tables (a night may add one), and the charts and the dashboard are rewritten from
konvergensi.bi.dashboard. The datasets name tables, not copies, and Superset caches no data
(NullCache), so the charts always show the last published night.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from konvergensi.bi import dashboard
from konvergensi.bi.api import SupersetClient
from konvergensi.processes import redacted


class ProvisionError(RuntimeError):
    """The warehouse is not ready for the dashboard; the message says why."""


@dataclass
class Provisioned:
    database_id: int
    dataset_ids: dict[str, int] = field(default_factory=dict)
    chart_ids: dict[str, int] = field(default_factory=dict)
    dashboard_id: int = 0
    dashboard_url: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"Provisioned {dashboard.DASHBOARD_TITLE!r}: {len(self.dataset_ids)} datasets, {len(self.chart_ids)} charts "
                f"({len(self.created)} created, {len(self.updated)} updated"
                + (f", {len(self.removed)} removed" if self.removed else "") + ")")


def superset_uri(url: str) -> str:
    """A warehouse URL for Superset's SQLAlchemy 1.4 with psycopg2 (the embedded server's ?host=/socket stays)."""
    scheme, rest = url.split("://", 1)
    if scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ProvisionError(f"the warehouse must be PostgreSQL, not {scheme}://")
    return f"postgresql+psycopg2://{rest}"


def check_warehouse(bi_url: str) -> None:
    """Log in as the BI role and read every table the datasets use: a clear error before Superset sees it."""
    tables = sorted({spec.table_name for spec in dashboard.DATASETS if spec.sql is None})
    try:
        with psycopg.connect(bi_url, connect_timeout=10) as connection:
            found = {row[0] for row in connection.execute(
                "select table_name from information_schema.tables where table_schema = %s", (dashboard.SCHEMA,))}
            missing = [table for table in tables if table not in found]
            if missing:
                raise ProvisionError(
                    f"the BI role sees no {', '.join(f'{dashboard.SCHEMA}.{t}' for t in missing)} at {redacted(bi_url)}: "
                    "no night has been published yet (`make run`), or the roles are not applied "
                    "(`python -m konvergensi.roles apply`)")
            for table in tables:
                connection.execute(sql.SQL("select 1 from {}.{} limit 1").format(
                    sql.Identifier(dashboard.SCHEMA), sql.Identifier(table)))
    except psycopg.Error as error:
        raise ProvisionError(f"the warehouse does not answer the BI role at {redacted(bi_url)}: "
                             f"{str(error).strip()}") from None


def provision(client: SupersetClient, bi_url: str) -> Provisioned:
    check_warehouse(bi_url)
    result = Provisioned(database_id=_database(client, bi_url))
    datasets = _by_name(client, "dataset", "table_name", ["id", "table_name", "database.id"],
                        lambda row: row.get("database", {}).get("id") == result.database_id)
    for spec in dashboard.DATASETS:
        result.dataset_ids[spec.table_name] = _dataset(client, result, spec, datasets.get(spec.table_name, []))
    result.dashboard_id = _dashboard_shell(client, result)
    charts = _by_name(client, "chart", "slice_name", ["id", "slice_name"])
    for chart in dashboard.CHARTS:
        result.chart_ids[chart.key] = _chart(client, result, chart, charts.get(chart.title, []))
    _remove_stale_charts(client, result)
    client.put(f"/api/v1/dashboard/{result.dashboard_id}", {
        "dashboard_title": dashboard.DASHBOARD_TITLE,
        "slug": dashboard.DASHBOARD_SLUG,
        "published": True,
        "position_json": json.dumps(dashboard.position_json(result.chart_ids)),
        "json_metadata": json.dumps(dashboard.json_metadata()),
    })
    result.dashboard_url = f"{client.base_url}/superset/dashboard/{dashboard.DASHBOARD_SLUG}/"
    return result


def _by_name(client: SupersetClient, resource: str, name: str, columns: list[str],
             keep: Any = lambda row: True) -> dict[str, list[dict[str, Any]]]:
    """Every `resource` by its name, in one listing (pages of 100)."""
    found: dict[str, list[dict[str, Any]]] = {}
    page = 0
    while True:
        listing = client.get(f"/api/v1/{resource}/", columns=columns, page=page, page_size=100)
        for row in listing["result"]:
            if keep(row):
                found.setdefault(row[name], []).append(row)
        page += 1
        if page * 100 >= listing["count"]:
            return found


def _one(found: list[dict[str, Any]], what: str) -> dict[str, Any] | None:
    if len(found) > 1:
        raise ProvisionError(f"Superset holds {len(found)} {what}: remove the extra ones, then provision again")
    return found[0] if found else None


def _database(client: SupersetClient, bi_url: str) -> int:
    body = {
        "database_name": dashboard.DATABASE_NAME,
        "sqlalchemy_uri": superset_uri(bi_url),
        "expose_in_sqllab": True,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_run_async": False,
        "allow_file_upload": False,
        "extra": json.dumps({"allows_virtual_table_explore": True, "schema_options": {}}),
    }
    existing = _one(client.find("database", "database_name", dashboard.DATABASE_NAME), "databases of that name")
    if existing:
        client.put(f"/api/v1/database/{existing['id']}", body)
        return existing["id"]
    return client.post("/api/v1/database/", body)["id"]


def _dataset(client: SupersetClient, result: Provisioned, spec: dashboard.DatasetSpec,
             candidates: list[dict[str, Any]]) -> int:
    """Create the dataset (Superset reads its columns then), or update it and read its columns again."""
    existing = _one(candidates, f"datasets named {spec.table_name}")
    update: dict[str, Any] = {"description": spec.description}
    if spec.sql:
        update["sql"] = spec.sql
    if existing is None:
        body: dict[str, Any] = {"database": result.database_id, "schema": dashboard.SCHEMA, "table_name": spec.table_name}
        if spec.sql:
            body["sql"] = spec.sql
        dataset_id = client.post("/api/v1/dataset/", body)["id"]
        client.put(f"/api/v1/dataset/{dataset_id}", {"description": spec.description})
        result.created.append(f"dataset {spec.table_name}")
        return dataset_id
    client.put(f"/api/v1/dataset/{existing['id']}", update)
    client.put(f"/api/v1/dataset/{existing['id']}/refresh", {})
    result.updated.append(f"dataset {spec.table_name}")
    return existing["id"]


def _dashboard_shell(client: SupersetClient, result: Provisioned) -> int:
    existing = _one(client.find("dashboard", "slug", dashboard.DASHBOARD_SLUG), "dashboards with that slug")
    if existing is None:
        existing = _one(client.find("dashboard", "dashboard_title", dashboard.DASHBOARD_TITLE), "dashboards of that title")
    if existing:
        result.updated.append("dashboard")
        return existing["id"]
    result.created.append("dashboard")
    return client.post("/api/v1/dashboard/", {"dashboard_title": dashboard.DASHBOARD_TITLE,
                                              "slug": dashboard.DASHBOARD_SLUG, "published": True})["id"]


def _chart(client: SupersetClient, result: Provisioned, chart: dashboard.ChartSpec,
           candidates: list[dict[str, Any]]) -> int:
    dataset_id = result.dataset_ids[chart.dataset]
    body = {
        "slice_name": chart.title,
        "viz_type": chart.viz_type,
        "datasource_id": dataset_id,
        "datasource_type": "table",
        "params": json.dumps(dashboard.chart_params(chart, dataset_id)),
        "query_context": json.dumps(dashboard.query_context(chart, dataset_id)),
        "query_context_generation": False,
        "dashboards": [result.dashboard_id],
    }
    existing = _one(candidates, f"charts named {chart.title!r}")
    if existing:
        client.put(f"/api/v1/chart/{existing['id']}", body)
        result.updated.append(f"chart {chart.key}")
        return existing["id"]
    result.created.append(f"chart {chart.key}")
    return client.post("/api/v1/chart/", body)["id"]


def _remove_stale_charts(client: SupersetClient, result: Provisioned) -> None:
    """Charts on the dashboard that the definitions no longer hold (a renamed title) are deleted."""
    current = set(result.chart_ids.values())
    on_dashboard = client.get(f"/api/v1/dashboard/{result.dashboard_id}/charts")["result"]
    for chart in on_dashboard:
        if chart["id"] not in current:
            client.delete(f"/api/v1/chart/{chart['id']}")
            result.removed.append(f"chart {chart['slice_name']}")
