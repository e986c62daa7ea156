"""What the dashboard "Konvergensi Stunting Kota Pekalongan" holds: datasets, charts, layout.

Pure data and the functions that turn it into Superset's JSON (a chart's `params`, which the web
frontend draws from, and its `query_context`, which `GET /api/v1/chart/<id>/data/` and reports run).
Both are made from the same ChartSpec so that they ask the same question. Datasets read the `bi`
schema only (the BI role sees nothing else); titles are in Bahasa Indonesia for the city's officials.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

DASHBOARD_TITLE = "Konvergensi Stunting Kota Pekalongan"
DASHBOARD_SLUG = "konvergensi-stunting"
DATABASE_NAME = "Konvergensi BI"
SCHEMA = "bi"
ROW_LIMIT = 1000


@dataclass(frozen=True)
class DatasetSpec:
    """A table of the bi schema, or (sql set) a virtual dataset over them."""

    table_name: str
    description: str
    sql: str | None = None


def _latest(table: str, month_column: str) -> str:
    return (f"select * from {SCHEMA}.{table}\n"
            f"where {month_column} = (select max({month_column}) from {SCHEMA}.{table})")


DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("bi_stunting_prevalence_monthly",
                "Prevalensi stunting (pendek, sangat pendek), gizi kurang/buruk (BB/TB) dan berat badan kurang (BB/U) "
                "per wilayah dan bulan."),
    DatasetSpec("bi_city_target_trend", "Prevalensi stunting kota terhadap target 2026 (register dan survei)."),
    DatasetSpec("bi_convergence_scorecard_quarterly", "Tingkat konvergensi (scorecard) per wilayah dan triwulan."),
    DatasetSpec("bi_risk_factor_profile", "Profil faktor risiko balita stunting dan tidak stunting, bulan terakhir."),
    DatasetSpec("bi_data_quality_monthly", "Kualitas data pengukuran per puskesmas dan bulan."),
    DatasetSpec("bi_source_freshness", "Kemutakhiran setiap sumber data yang dikonfigurasi."),
    DatasetSpec("bi_stunting_prevalence_latest", "Prevalensi per wilayah pada bulan terakhir yang terbit.",
                _latest("bi_stunting_prevalence_monthly", "month_start")),
    DatasetSpec("bi_data_quality_latest", "Kualitas data per puskesmas pada bulan terakhir yang terbit.",
                _latest("bi_data_quality_monthly", "month_start")),
)


@dataclass(frozen=True)
class Metric:
    label: str
    sql: str


@dataclass(frozen=True)
class ChartSpec:
    """One chart. `x` is the category (or time) axis; `metrics` the bars, lines or cells; `filters` column = value."""

    key: str
    title: str
    dataset: str
    viz_type: str
    x: str | None = None
    metrics: tuple[Metric, ...] = ()
    y: str | None = None  # heatmap rows
    columns: tuple[tuple[str, str], ...] = ()  # table (raw) columns: (column, heading)
    filters: tuple[tuple[str, str], ...] = ()
    order_by: tuple[tuple[str, bool], ...] = ()  # (column or metric label, ascending)
    time_grain: str | None = None
    horizontal: bool = False
    width: int = 6
    height: int = 50
    extra: dict[str, Any] = field(default_factory=dict)


def _max(column: str, label: str) -> Metric:
    return Metric(label, f"MAX({column})")


KOTA, KECAMATAN, KELURAHAN = ("wilayah_level", "kota"), ("wilayah_level", "kecamatan"), ("wilayah_level", "kelurahan")

CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "prevalence_by_kecamatan", "Prevalensi stunting per kecamatan, bulan terakhir (%)",
        "bi_stunting_prevalence_latest", "echarts_timeseries_bar", x="wilayah_name",
        metrics=(_max("stunting_pct", "Stunting: pendek + sangat pendek (%)"),
                 _max("severe_stunting_pct", "Sangat pendek (%)")),
        filters=(KECAMATAN,), order_by=(("wilayah_name", True),),
    ),
    ChartSpec(
        "city_trend", "Tren prevalensi stunting Kota Pekalongan terhadap target 2026 (%)",
        "bi_city_target_trend", "echarts_timeseries_line", x="period_start", time_grain="P1M",
        metrics=(
            Metric("Register e-PPGBM, bulanan (%)", "MAX(CASE WHEN source_type = 'register' THEN prevalence_pct END)"),
            Metric("Survei SSGI/SKI (%)", "MAX(CASE WHEN source_type = 'survey' THEN prevalence_pct END)"),
            Metric("Laporan tahunan lain (%)",
                   "MAX(CASE WHEN source_type NOT IN ('register', 'survey') THEN prevalence_pct END)"),
            _max("city_target_pct", "Target kota (%)"),
            _max("national_target_pct", "Target nasional (%)"),
        ),
        order_by=(("period_start", True),),
    ),
    ChartSpec(
        "prevalence_by_kelurahan", "Prevalensi stunting per kelurahan, bulan terakhir (%)",
        "bi_stunting_prevalence_latest", "echarts_timeseries_bar", x="wilayah_name",
        metrics=(_max("stunting_pct", "Stunting: pendek + sangat pendek (%)"),),
        filters=(KELURAHAN,), order_by=(("wilayah_name", True),), horizontal=True, height=90,
    ),
    ChartSpec(
        "scorecard_by_kelurahan", "Tingkat konvergensi per kelurahan per triwulan (%)",
        "bi_convergence_scorecard_quarterly", "heatmap_v2", x="quarter", y="wilayah_name",
        metrics=(_max("combined_level", "Tingkat konvergensi gabungan (%)"),),
        filters=(KELURAHAN,), order_by=(("quarter", True), ("wilayah_name", True)), width=12, height=90,
    ),
    ChartSpec(
        "scorecard_city", "Tingkat konvergensi Kota Pekalongan per triwulan (%)",
        "bi_convergence_scorecard_quarterly", "echarts_timeseries_bar", x="quarter",
        metrics=(_max("women_level", "Ibu hamil (%)"), _max("children_level", "Anak (%)"),
                 _max("combined_level", "Gabungan (%)")),
        filters=(KOTA,), order_by=(("quarter", True),), height=90,
    ),
    ChartSpec(
        "risk_factor_profile", "Profil faktor risiko: balita stunting dan tidak stunting, kota (%)",
        "bi_risk_factor_profile", "echarts_timeseries_bar", x="factor_label", horizontal=True,
        metrics=(_max("stunted_with_pct", "Balita stunting dengan faktor (%)"),
                 _max("not_stunted_with_pct", "Balita tidak stunting dengan faktor (%)")),
        filters=(KOTA,), order_by=(("factor_label", True),), height=70,
    ),
    ChartSpec(
        "data_quality_by_puskesmas", "Kualitas data per puskesmas, bulan terakhir: ukuran tidak wajar (%)",
        "bi_data_quality_latest", "echarts_timeseries_bar", x="puskesmas_name", horizontal=True,
        metrics=(_max("haz_flagged_pct", "TB/U tidak wajar (%)"), _max("waz_flagged_pct", "BB/U tidak wajar (%)"),
                 _max("whz_flagged_pct", "BB/TB tidak wajar (%)")),
        order_by=(("puskesmas_name", True),), height=70,
    ),
    ChartSpec(
        "data_quality_details", "Rincian kualitas data per puskesmas, bulan terakhir",
        "bi_data_quality_latest", "table",
        columns=(("puskesmas_name", "Puskesmas"), ("measurements", "Pengukuran"), ("sd_haz", "SD TB/U (HAZ)"),
                 ("unknown_kelurahan", "Kelurahan tidak dikenal"), ("duplicate_rows", "Baris ganda"),
                 ("eppgbm_haz_disagree", "HAZ berbeda dari e-PPGBM"), ("suppressed_cells", "Sel disembunyikan")),
        order_by=(("puskesmas_name", True),), width=12,
    ),
    ChartSpec(
        "source_staleness", "Sumber data: hari sejak pemuatan terakhir",
        "bi_source_freshness", "echarts_timeseries_bar", x="source_label",
        metrics=(_max("days_since_last_load", "Hari sejak pemuatan terakhir"),
                 _max("max_stale_days", "Batas basi (hari)")),
        order_by=(("source_label", True),),
    ),
    ChartSpec(
        "stale_sources", "Status sumber data (basi atau belum dimuat)",
        "bi_source_freshness", "table",
        columns=(("source_label", "Sumber"), ("source_status", "Status"), ("status_reason", "Keterangan"),
                 ("last_loaded_at", "Terakhir dimuat"), ("days_since_last_load", "Hari sejak dimuat"),
                 ("exceeds_max_staleness", "Menggagalkan malam")),
        order_by=(("exceeds_max_staleness", False), ("source_label", True)),
    ),
)

# Rows of the dashboard, top to bottom: chart keys side by side (widths add up to at most 12).
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("prevalence_by_kecamatan", "city_trend"),
    ("prevalence_by_kelurahan", "scorecard_city"),
    ("scorecard_by_kelurahan",),
    ("risk_factor_profile", "data_quality_by_puskesmas"),
    ("data_quality_details",),
    ("source_staleness", "stale_sources"),
)

INTRODUCTION = """\
## Konvergensi Stunting Kota Pekalongan

Angka dari malam terakhir yang lolos pemeriksaan mutu dan terbit (skema `bi` gudang data Konvergensi).
Jumlah 1–4 anak disembunyikan (kosong) agar tidak ada anak yang dapat dikenali; persentase dari
jumlah yang disembunyikan juga kosong. Stunting = pendek + sangat pendek (Permenkes No. 2 Tahun 2020).
"""


# --- Superset JSON ------------------------------------------------------------------------------------


def option_name(label: str) -> str:
    return "metric_" + re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def adhoc_metric(metric: Metric) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": metric.sql, "label": metric.label,
            "hasCustomLabel": True, "optionName": option_name(metric.label)}


def adhoc_filter(column: str, value: str) -> dict[str, Any]:
    return {"expressionType": "SIMPLE", "clause": "WHERE", "subject": column, "operator": "==",
            "comparator": value, "filterOptionName": f"filter_{column}_{value}"}


def table_columns(chart: ChartSpec) -> list[dict[str, Any]]:
    """A table's columns under their Bahasa Indonesia headings (adhoc columns: the heading is the label)."""
    return [{"expressionType": "SQL", "sqlExpression": column, "label": heading} for column, heading in chart.columns]


def chart_params(chart: ChartSpec, dataset_id: int) -> dict[str, Any]:
    """The form data the frontend draws the chart from."""
    params: dict[str, Any] = {
        "viz_type": chart.viz_type,
        "datasource": f"{dataset_id}__table",
        "adhoc_filters": [adhoc_filter(column, value) for column, value in chart.filters],
        "row_limit": ROW_LIMIT,
        "time_range": "No filter",
        "extra_form_data": {},
    }
    metrics = [adhoc_metric(metric) for metric in chart.metrics]
    if chart.viz_type in ("echarts_timeseries_bar", "echarts_timeseries_line"):
        params.update(
            x_axis=chart.x, metrics=metrics, groupby=[], show_legend=True, legendOrientation="top",
            legendType="scroll", rich_tooltip=True, y_axis_format="SMART_NUMBER", truncateYAxis=False,
            x_axis_sort_asc=True, x_axis_sort_series="name", x_axis_sort_series_ascending=True,
            truncate_metric=True, show_empty_columns=True, only_total=False,
        )
        if chart.time_grain:
            params.update(time_grain_sqla=chart.time_grain, x_axis_time_format="%Y-%m", markerEnabled=True,
                          markerSize=6)
        if chart.viz_type == "echarts_timeseries_bar":
            params.update(orientation="horizontal" if chart.horizontal else "vertical", show_value=True,
                          x_axis_sort=chart.x)
    elif chart.viz_type == "heatmap_v2":
        params.update(x_axis=chart.x, groupby=chart.y, metric=metrics[0], sort_x_axis="alpha_asc",
                      sort_y_axis="alpha_desc", normalize_across="heatmap", linear_color_scheme="superset_seq_1",
                      show_values=True, show_legend=True, show_percentage=False, legend_type="continuous",
                      value_bounds=[None, None], y_axis_format="SMART_NUMBER", xscale_interval=-1,
                      yscale_interval=-1, left_margin="auto", bottom_margin="auto")
    elif chart.viz_type == "table":
        params.update(query_mode="raw", all_columns=table_columns(chart), order_by_cols=[
            json.dumps([column, ascending]) for column, ascending in chart.order_by], server_pagination=False,
            table_timestamp_format="%Y-%m-%d %H:%M", include_search=False, show_cell_bars=False)
    else:
        raise ValueError(f"{chart.key}: no form data for viz_type {chart.viz_type}")
    params.update(chart.extra)
    return params


def query_columns(chart: ChartSpec) -> list[Any]:
    """The grouping columns of the chart's query, as the frontend's buildQuery names them."""
    if chart.viz_type == "table":
        return table_columns(chart)
    if chart.viz_type == "heatmap_v2":
        return [chart.x, chart.y]
    if chart.time_grain:
        return [{"columnType": "BASE_AXIS", "sqlExpression": chart.x, "label": chart.x, "expressionType": "SQL",
                 "timeGrain": chart.time_grain}]
    return [chart.x]


def query_context(chart: ChartSpec, dataset_id: int) -> dict[str, Any]:
    """The saved query that `GET /api/v1/chart/<id>/data/` runs: the same columns, metrics and filters as params."""
    params = chart_params(chart, dataset_id)
    query: dict[str, Any] = {
        "columns": query_columns(chart),
        "metrics": [adhoc_metric(metric) for metric in chart.metrics],
        "filters": [{"col": column, "op": "==", "val": value} for column, value in chart.filters],
        "orderby": [[_order_term(chart, name), ascending] for name, ascending in chart.order_by],
        "row_limit": ROW_LIMIT,
        "extras": {"having": "", "where": ""},
        "applied_time_extras": {},
        "annotation_layers": [],
        "series_columns": [],
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "time_range": "No filter",
        "post_processing": [],
    }
    if chart.time_grain:
        query["extras"]["time_grain_sqla"] = chart.time_grain
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }


def _order_term(chart: ChartSpec, name: str) -> Any:
    for metric in chart.metrics:
        if metric.label == name:
            return adhoc_metric(metric)
    return name


def chart_names() -> dict[str, str]:
    return {chart.key: chart.title for chart in CHARTS}


def position_json(chart_ids: dict[str, int]) -> dict[str, Any]:
    """The dashboard's grid: a header, the introduction, then the rows of LAYOUT."""
    titles = chart_names()
    positions: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    rows: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
        ("ROW-introduction", [("MARKDOWN-introduction", {"type": "MARKDOWN", "meta": {
            "width": 12, "height": 26, "code": INTRODUCTION}})]),  # fmt: skip
    ]
    for number, keys in enumerate(LAYOUT, start=1):
        cells = []
        for key in keys:
            chart = next(chart for chart in CHARTS if chart.key == key)
            cells.append((f"CHART-{key}", {"type": "CHART", "meta": {
                "chartId": chart_ids[key], "width": chart.width, "height": chart.height, "sliceName": titles[key]}}))  # fmt: skip
        rows.append((f"ROW-{number}", cells))
    for row_id, cells in rows:
        positions["GRID_ID"]["children"].append(row_id)
        positions[row_id] = {"type": "ROW", "id": row_id, "children": [cell_id for cell_id, _ in cells],
                             "parents": ["ROOT_ID", "GRID_ID"], "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for cell_id, cell in cells:
            positions[cell_id] = {**cell, "id": cell_id, "children": [], "parents": ["ROOT_ID", "GRID_ID", row_id]}
    return positions


def json_metadata() -> dict[str, Any]:
    return {"color_scheme": "supersetColors", "refresh_frequency": 0, "expanded_slices": {}, "label_colors": {},
            "timed_refresh_immune_slices": [], "cross_filters_enabled": False, "default_filters": "{}",
            "chart_configuration": {}, "native_filter_configuration": [], "shared_label_colors": []}
