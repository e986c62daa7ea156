"""The dashboard's definitions: every chart reads columns the bi models have, params and query agree, layout complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from konvergensi.bi import dashboard
from konvergensi.bi.api import rison
from konvergensi.bi.provision import superset_uri

pytestmark = pytest.mark.unit

BI_MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "bi"


def bi_columns() -> dict[str, set[str]]:
    found = {}
    for path in BI_MODELS.glob("*.yml"):
        for model in yaml.safe_load(path.read_text())["models"]:
            found[model["name"]] = {column["name"] for column in model["columns"]}
    return found


def dataset_columns() -> dict[str, set[str]]:
    """Columns of each dataset: a physical one's model, a virtual one's `select *` table."""
    models = bi_columns()
    columns = {}
    for spec in dashboard.DATASETS:
        if spec.sql is None:
            columns[spec.table_name] = models[spec.table_name]
        else:
            tables = set(re.findall(r"from bi\.(\w+)", spec.sql))
            assert len(tables) == 1 and spec.sql.startswith("select * from bi."), spec.sql
            columns[spec.table_name] = models[tables.pop()]
    return columns


def test_rison_encodes_superset_filters() -> None:
    query = {"filters": [{"col": "slice_name", "opr": "eq", "value": "Prevalensi stunting (%), kota"}],
             "page_size": 100, "flag": True, "none": None}
    assert rison(query) == ("(filters:!((col:slice_name,opr:eq,value:'Prevalensi stunting (%), kota')),"
                            "page_size:100,flag:!t,none:!n)")
    assert rison("it's!") == "'it!'s!!'"
    assert rison("2026-Q1") == "'2026-Q1'" and rison("") == "''"


def test_every_chart_reads_existing_columns() -> None:
    columns = dataset_columns()
    for chart in dashboard.CHARTS:
        available = columns[chart.dataset]
        used = {chart.x, chart.y, *(column for column, _ in chart.filters), *(column for column, _ in chart.columns)}
        used |= {name for name, _ in chart.order_by if name not in {metric.label for metric in chart.metrics}}
        for metric in chart.metrics:
            used |= {word for word in re.findall(r"[a-z_]+", metric.sql) if word in available}
            assert re.search(r"\b(" + "|".join(available) + r")\b", metric.sql), (chart.key, metric.sql)
        used.discard(None)
        assert used <= available, (chart.key, used - available)


def test_params_and_query_context_ask_the_same_question() -> None:
    for number, chart in enumerate(dashboard.CHARTS, start=1):
        params = dashboard.chart_params(chart, number)
        context = dashboard.query_context(chart, number)
        query = context["queries"][0]
        assert context["datasource"] == {"id": number, "type": "table"} and params["datasource"] == f"{number}__table"
        metrics = params.get("metrics") or ([params["metric"]] if "metric" in params else [])
        assert query["metrics"] == metrics
        assert [(f["col"], f["val"]) for f in query["filters"]] == [
            (f["subject"], f["comparator"]) for f in params["adhoc_filters"]]
        if chart.viz_type == "table":
            assert query["columns"] == params["all_columns"] and not query["metrics"]
        else:
            names = [column if isinstance(column, str) else column["sqlExpression"] for column in query["columns"]]
            assert names == [params["x_axis"]] + ([params["groupby"]] if chart.viz_type == "heatmap_v2" else [])


def test_the_layout_holds_every_chart_once() -> None:
    keys = [key for row in dashboard.LAYOUT for key in row]
    assert sorted(keys) == sorted(chart.key for chart in dashboard.CHARTS)
    widths = {chart.key: chart.width for chart in dashboard.CHARTS}
    assert all(sum(widths[key] for key in row) <= 12 for row in dashboard.LAYOUT)
    positions = dashboard.position_json({chart.key: number for number, chart in enumerate(dashboard.CHARTS, 1)})
    chart_ids = [cell["meta"]["chartId"] for cell in positions.values() if isinstance(cell, dict) and cell.get("type") == "CHART"]
    assert sorted(chart_ids) == list(range(1, len(dashboard.CHARTS) + 1))
    for cell_id in positions["GRID_ID"]["children"]:
        assert all(child in positions for child in positions[cell_id]["children"])
    assert len({chart.title for chart in dashboard.CHARTS}) == len(dashboard.CHARTS)


def test_superset_gets_the_psycopg2_driver() -> None:
    assert superset_uri("postgresql://konvergensi_bi:pw@/konvergensi?host=/tmp/pg") == \
        "postgresql+psycopg2://konvergensi_bi:pw@/konvergensi?host=/tmp/pg"
    assert superset_uri("postgres://u:p@db:5432/w") == "postgresql+psycopg2://u:p@db:5432/w"


def test_superset_gets_no_secret_of_the_pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from konvergensi.bi import server

    monkeypatch.setenv("KONVERGENSI_DATA_DIR", str(tmp_path))
    for name in ("WAREHOUSE_URL", "KONVERGENSI_PSEUDONYM_KEY", "KONVERGENSI_BI_PASSWORD", "PGPASSWORD",
                 "AIRFLOW__API__SECRET_KEY", "PYTHONPATH"):
        monkeypatch.setenv(name, "secret-value")
    environment = server.superset_environment("the-key")
    assert "secret-value" not in environment.values()
    assert environment["SUPERSET_SECRET_KEY"] == "the-key"
    assert environment["SUPERSET_METADATA_URL"] == f"sqlite:///{tmp_path.resolve()}/superset/superset.db"
