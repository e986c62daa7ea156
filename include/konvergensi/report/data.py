"""What the report says, read from the published night: the internal edition from the marts (as the
transformer role), the public edition from the `bi` schema (as the BI role, small cells already
suppressed there, and every kelurahan count below 5 shown as "<5" here).

Each reader returns a ReportContent: the tables (konvergensi.report.tables) and the series the charts
draw. Both editions have the same sections; the public one says where a figure is not published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from konvergensi.report.tables import Column, Table

CITY = "kota"
UNKNOWN = "UNKNOWN"
UNKNOWN_LABEL = "Tidak dikenali (UNKNOWN)"
INTERNAL, PUBLIC = "internal", "publik"
LOWEST_INDICATORS = 5
# Survey and published sources as the city names them (the BI layer carries only their codes).
SOURCE_NAMES = {
    "EPPGBM": "e-PPGBM (register, dihitung ulang dengan standar WHO)",
    "EPPGBM_REPORTED": "e-PPGBM (angka dilaporkan)",
    "SSGI": "Studi Status Gizi Indonesia (SSGI)",
    "SKI": "Survei Kesehatan Indonesia (SKI)",
    "BAPPERIDA": "Badan perencanaan daerah Kota Pekalongan",
}
SOURCE_KINDS = {"register": "register", "register_reported": "register (dilaporkan)", "survey": "survei",
                "planning_agency": "perencanaan daerah"}
TARGET_GROUPS = {"ibu_hamil": "ibu hamil", "anak_0_23": "anak 0–23 bulan", "anak_2_6": "anak 2–6 tahun"}
SD_HAZ_RANGE = (Decimal("1.35"), Decimal("1.95"))
FLAGGED_LIMIT = Decimal("5")

PREVALENCE_COLUMNS = [
    Column("haz_denominator", "Balita diukur (TB/U valid)"),
    Column("stunted", "Stunting (pendek + sangat pendek)"),
    Column("stunting_pct", "Stunting %", "rate"),
    Column("severely_stunted", "Sangat pendek"),
    Column("severe_stunting_pct", "Sangat pendek %", "rate"),
    Column("wasted", "Gizi kurang + gizi buruk (wasting)"),
    Column("wasting_pct", "Wasting %", "rate"),
    Column("underweight", "Berat badan kurang + sangat kurang"),
    Column("underweight_pct", "Underweight %", "rate"),
]
PREVALENCE_RATES = {
    "stunting_pct": ("stunted", "haz_denominator"),
    "severe_stunting_pct": ("severely_stunted", "haz_denominator"),
    "wasting_pct": ("wasted", "whz_denominator"),
    "underweight_pct": ("underweight", "waz_denominator"),
}
SCORECARD_COLUMNS = [
    Column("women_targets", "Sasaran ibu hamil"),
    Column("children_targets", "Sasaran anak"),
    Column("women_level", "Konvergensi ibu hamil %", "rate"),
    Column("children_level", "Konvergensi anak %", "rate"),
    Column("combined_level", "Konvergensi gabungan %", "rate"),
]
SCORECARD_RATES = {
    "women_level": ("women_targets", "women_y", "women_due"),
    "children_level": ("children_targets", "children_y", "children_due"),
    "combined_level": ("women_targets", "children_targets", "women_y", "women_due", "children_y", "children_due"),
}


@dataclass
class ReportContent:
    edition: str
    month: dt.date | None
    quarter: str | None = None
    quarter_is_partial: bool = False
    quarter_cutoff: dt.date | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    city: dict[str, object] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # section -> sentences
    series: dict[str, list] = field(default_factory=dict)  # what the charts draw


def _rows(connection: psycopg.Connection, query: str, params: dict | tuple | None = None) -> list[dict]:
    with connection.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(query, params or {}).fetchall()


def _exists(connection: psycopg.Connection, relation: str) -> bool:
    return bool(connection.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0])


def _label(row: dict) -> str:
    return UNKNOWN_LABEL if row["wilayah_code"] == UNKNOWN else row["wilayah_name"]


def read(connection: psycopg.Connection, edition: str) -> ReportContent:
    """Everything the report prints, from the marts (internal) or the bi schema (publik)."""
    public = edition == PUBLIC
    schema = "bi" if public else "marts"
    prevalence = f"{schema}.{'bi_stunting_prevalence_monthly' if public else 'mart_stunting_prevalence_monthly'}"
    month = connection.execute(f"select max(month_start) from {prevalence} where wilayah_level = %s",
                               (CITY,)).fetchone()[0]
    content = ReportContent(edition=edition, month=month)
    _prevalence(connection, content, prevalence, public)
    _targets(connection, content, public)
    _scorecard(connection, content, public)
    _indicators(connection, content, public)
    _risk_factors(connection, content, public)
    _agencies(connection, content, public)
    _data_quality(connection, content, public)
    _freshness(connection, content, public)
    return content


def _prevalence(connection: psycopg.Connection, content: ReportContent, relation: str, public: bool) -> None:
    parent = "parent_wilayah_code" if public else "kecamatan_code"
    rows = _rows(connection, f"""
        select wilayah_level, wilayah_code, wilayah_name, {parent} as parent_code, haz_denominator, stunted,
               severely_stunted, stunting_pct, severe_stunting_pct, whz_denominator, wasted, wasting_pct,
               waz_denominator, underweight, underweight_pct
        from {relation}
        where month_start = %(month)s
        order by wilayah_level, wilayah_code = %(unknown)s, wilayah_name
        """, {"month": content.month, "unknown": UNKNOWN}) if content.month else []
    kecamatan_names = {r["wilayah_code"]: _label(r) for r in rows if r["wilayah_level"] == "kecamatan"}
    city = next((r for r in rows if r["wilayah_level"] == CITY), None)
    content.city = dict(city or {})
    for level, section in ((CITY, "prevalensi_kota"), ("kecamatan", "prevalensi_kecamatan"),
                           ("kelurahan", "prevalensi_kelurahan")):
        table = Table(section, level, list(PREVALENCE_COLUMNS))
        if level == "kelurahan":
            table.columns.insert(0, Column("kecamatan", "Kecamatan", "text"))
        level_rows = [r for r in rows if r["wilayah_level"] == level]
        if level == "kelurahan":
            level_rows.sort(key=lambda r: (r["parent_code"] == UNKNOWN, kecamatan_names.get(r["parent_code"], ""),
                                           r["wilayah_code"] == UNKNOWN, r["wilayah_name"]))
        for row in level_rows:
            # the UNKNOWN rows (records whose kelurahan or kecamatan was not recognised) only when they hold children
            if row["wilayah_code"] == UNKNOWN and not row["haz_denominator"]:
                continue
            values = dict(row, kecamatan=kecamatan_names.get(row["parent_code"], ""))
            table.add(row["wilayah_code"], _label(row), values, no_data=row["haz_denominator"] == 0,
                      suppress_small=public and level == "kelurahan", rates_from=PREVALENCE_RATES)
        content.tables[section] = table
    content.series["kecamatan"] = [(_label(r), r["stunting_pct"]) for r in rows
                                   if r["wilayah_level"] == "kecamatan" and r["haz_denominator"]]
    content.series["kelurahan"] = [
        (_label(r), None if public and _small(r, "stunted", "haz_denominator") else r["stunting_pct"])
        for r in rows if r["wilayah_level"] == "kelurahan" and r["haz_denominator"] != 0
        and not (r["wilayah_code"] == UNKNOWN and not r["haz_denominator"])]


def _small(row: dict, *columns: str) -> bool:
    return any(row[c] is None or row[c] < 5 for c in columns)


def _targets(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    """Register and surveys side by side (never blended), each against the city target of its year."""
    if public:
        rows = _rows(connection, """
            select source_type, source_code, period_start, period_label, year, prevalence_pct, city_target_pct,
                   gap_to_city_target_points as gap
            from bi.bi_city_target_trend order by period_start, source_code
            """)
    else:
        rows = _rows(connection, """
            select source_type, source_code, period_start, period_label, year, prevalence_pct, city_target_pct,
                   gap_to_city_target_points as gap
            from marts.mart_target_progress where wilayah_level = %(city)s order by period_start, source_code
            """, {"city": CITY})
    register = [r for r in rows if r["source_type"] == "register"]
    surveys = [r for r in rows if r["source_type"] != "register"]
    table = Table("sasaran", CITY, [
        Column("source", "Sumber", "text"), Column("kind", "Jenis", "text"), Column("period", "Periode", "text"),
        Column("prevalence_pct", "Prevalensi stunting %", "rate"),
        Column("city_target_pct", "Target kota tahun itu %", "rate"),
        Column("gap", "Selisih terhadap target (poin)", "rate"),
    ], label_header="No.")
    shown = ([register[-1]] if register else []) + sorted(surveys, key=lambda r: (r["year"], r["source_code"]), reverse=True)
    for number, row in enumerate(shown, start=1):
        key = f"{row['source_code']}:{row['period_label']}"
        table.add(key, str(number), dict(row, source=SOURCE_NAMES.get(row["source_code"], row["source_code"]),
                                          kind=SOURCE_KINDS.get(row["source_type"], row["source_type"]),
                                          period=row["period_label"]))
    content.tables["sasaran"] = table
    content.series["trend"] = [(r["period_start"], r["prevalence_pct"]) for r in register]
    content.series["surveys"] = [(r["year"], r["source_code"], r["prevalence_pct"]) for r in surveys]
    content.series["targets"] = sorted({(r["year"], r["city_target_pct"]) for r in rows if r["city_target_pct"] is not None})
    trend = Table("tren", CITY, [Column("prevalence_pct", "Prevalensi stunting kota %", "rate")], label_header="Bulan")
    for row in register[-12:]:
        trend.add(row["period_label"], row["period_label"], row)
    content.tables["tren"] = trend


def _scorecard(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    relation = "bi.bi_convergence_scorecard_quarterly" if public else "marts.mart_convergence_scorecard"
    extra = "null::date as cutoff_date" if public else "cutoff_date"
    rows = _rows(connection, f"""
        select quarter, quarter_start, is_partial_quarter, {extra}, wilayah_level, wilayah_code, wilayah_name,
               women_targets, children_0_23_targets + children_2_6_targets as children_targets,
               women_y, women_due, children_y, children_due, women_level, children_level, combined_level
        from {relation}
        where quarter_start = (select max(quarter_start) from {relation} where wilayah_level = %(city)s)
        order by wilayah_level = %(city)s desc, wilayah_level, wilayah_code = %(unknown)s, wilayah_name
        """, {"city": CITY, "unknown": UNKNOWN})
    if rows:
        content.quarter, content.quarter_is_partial = rows[0]["quarter"], bool(rows[0]["is_partial_quarter"])
        content.quarter_cutoff = rows[0]["cutoff_date"]
    for levels, section in (((CITY, "kecamatan"), "skor_wilayah"), (("kelurahan",), "skor_kelurahan")):
        table = Table(section, levels[-1], list(SCORECARD_COLUMNS))
        for row in rows:
            if row["wilayah_level"] not in levels or (row["wilayah_code"] == UNKNOWN and not row["women_targets"]
                                                      and not row["children_targets"]):
                continue
            empty = (row["women_targets"] == 0 and row["children_targets"] == 0)
            table.add(row["wilayah_code"], _label(row), row, no_data=empty,
                      suppress_small=public and row["wilayah_level"] == "kelurahan", rates_from=SCORECARD_RATES)
        content.tables[section] = table
    content.series["scorecard"] = [(_label(r), r["combined_level"]) for r in rows if r["wilayah_level"] == "kecamatan"
                                   and r["combined_level"] is not None]


def _indicators(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    """The scorecard indicators with the lowest city-wide coverage in the latest quarter."""
    table = Table("indikator", "indikator", [
        Column("target_group", "Sasaran", "text"), Column("agency", "OPD", "text"),
        Column("targets", "Sasaran (jumlah)"), Column("y_count", "Menerima (Y)"), Column("t_count", "Belum (T)"),
        Column("coverage_pct", "Cakupan %", "rate"),
    ], label_header="Indikator")
    content.tables["indikator"] = table
    if public:
        if not _exists(connection, "bi.bi_scorecard_indicator_coverage"):
            table.note = "Belum tersedia pada malam yang terbit (bi_scorecard_indicator_coverage belum dibangun)."
            return
        rows = _rows(connection, """
            select indicator_code, indicator_name, target_group, has_data, targets, y_count, due - y_count as t_count,
                   coverage_pct, responsible_agency as agency
            from bi.bi_scorecard_indicator_coverage
            where quarter_start = (select max(quarter_start) from bi.bi_scorecard_indicator_coverage)
            order by indicator_code
            """)
    else:
        rows = _rows(connection, """
            select indicator_code, indicator_name, target_group, has_data, targets, y_count, t_count,
                   round(100.0 * y_count / nullif(targets - ts_count, 0), 2) as coverage_pct
            from marts.mart_convergence_scorecard_indicators
            where wilayah_level = %(city)s
              and quarter_start = (select max(quarter_start) from marts.mart_convergence_scorecard_indicators
                                   where wilayah_level = %(city)s)
            order by indicator_code
            """, {"city": CITY})
        agencies = _indicator_agencies(connection)
        rows = [dict(row, agency=agencies.get(row["indicator_code"], "")) for row in rows]
    with_data = sorted((r for r in rows if r["has_data"] and r["coverage_pct"] is not None),
                       key=lambda r: (r["coverage_pct"], r["indicator_code"]))
    for row in with_data[:LOWEST_INDICATORS]:
        table.add(row["indicator_code"], f"{row['indicator_code']} — {row['indicator_name']}",
                  dict(row, target_group=TARGET_GROUPS.get(row["target_group"], row["target_group"])))
    notes = []
    if public and any(r["has_data"] and r["coverage_pct"] is None for r in rows):
        notes.append("Indikator yang jumlahnya di bawah 5 tidak diperingkat (disembunyikan).")
    without = [r["indicator_code"] for r in rows if not r["has_data"]]
    if without:
        notes.append(f"Tanpa data (sumbernya tidak dikonfigurasi, tidak dihitung dalam tingkat konvergensi): "
                     f"{', '.join(without)}.")
    table.note = " ".join(notes)


def _indicator_agencies(connection: psycopg.Connection) -> dict[str, str]:
    """Each scorecard indicator's OPD, from the reference seed the scorecard itself is built from."""
    if not _exists(connection, "reference.ref_scorecard_indicators"):
        return {}
    return dict(connection.execute(
        "select indicator_code, responsible_agency from reference.ref_scorecard_indicators").fetchall())


def _risk_factors(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    """Which family factors are most common among stunted children (city-wide, latest month)."""
    if public:
        rows = _rows(connection, """
            select factor_code, factor_label, stunted_with, stunted_with + stunted_without as stunted_total,
                   stunted_with_pct, not_stunted_with_pct, prevalence_ratio
            from bi.bi_risk_factor_profile where wilayah_level = %(city)s
            """, {"city": CITY})
    else:
        rows = _rows(connection, """
            select factor_code, factor_label, stunted_with, stunted_total, stunted_with_pct, not_stunted_with_pct,
                   prevalence_ratio
            from marts.mart_risk_factor_profile where wilayah_level = %(city)s
            """, {"city": CITY})
    rows.sort(key=lambda r: (r["stunted_with_pct"] is None, -(r["stunted_with_pct"] or 0), r["factor_code"]))
    table = Table("faktor", "kota", [
        Column("stunted_with", "Anak stunting dengan faktor"), Column("stunted_total", "Anak stunting (faktor diketahui)"),
        Column("stunted_with_pct", "% di antara anak stunting", "rate"),
        Column("not_stunted_with_pct", "% di antara anak tidak stunting", "rate"),
        Column("prevalence_ratio", "Rasio prevalensi", "rate"),
    ], label_header="Faktor risiko keluarga")
    for row in rows:
        table.add(row["factor_code"], row["factor_label"], row, decimals={"prevalence_ratio": 2})
    content.tables["faktor"] = table
    content.series["factors"] = [(r["factor_label"], r["stunted_with_pct"], r["not_stunted_with_pct"])
                                 for r in rows if r["stunted_with_pct"] is not None][:10]


def _agencies(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    """Children with missing interventions per OPD: counts only, the children are in the restricted lists."""
    table = Table("opd", "kota", [
        Column("children_missing", "Anak dengan intervensi belum diterima"),
        Column("stunted_children_missing", "di antaranya anak stunting"),
        Column("missing_interventions", "Intervensi belum diterima"),
    ], label_header="OPD penanggung jawab")
    content.tables["opd"] = table
    relation = "bi.bi_missing_interventions_by_agency" if public else "marts.mart_missing_interventions_by_agency"
    if not _exists(connection, relation):
        table.note = f"Belum tersedia pada malam yang terbit ({relation.split('.')[1]} belum dibangun)."
        return
    if public:
        rows = _rows(connection, """
            select responsible_agency, children_missing, stunted_children_missing, missing_interventions,
                   null::integer as children_followed_up_city
            from bi.bi_missing_interventions_by_agency
            order by children_missing desc nulls last, responsible_agency
            """)
    else:
        rows = _rows(connection, """
            select responsible_agency, children_missing, stunted_children_missing, missing_interventions,
                   children_followed_up_city
            from marts.mart_missing_interventions_by_agency where wilayah_level = %(city)s
            order by children_missing desc, responsible_agency
            """, {"city": CITY})
    for row in rows:
        table.add(row["responsible_agency"], row["responsible_agency"], row)
    if rows and rows[0]["children_followed_up_city"] is not None:
        table.note = (f"Dari {rows[0]['children_followed_up_city']:,} anak yang perlu ditindaklanjuti (stunting atau "
                      "berisiko) bulan ini. Seorang anak dapat terhitung pada lebih dari satu OPD.").replace(",", ".")
    elif rows:
        table.note = "Seorang anak dapat terhitung pada lebih dari satu OPD. Jumlah 1–4 disembunyikan (–)."
    content.series["agencies"] = [(r["responsible_agency"], r["children_missing"]) for r in rows
                                  if r["children_missing"] is not None]


def _data_quality(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    relation = "bi.bi_data_quality_monthly" if public else "marts.mart_data_quality_monthly"
    rows = _rows(connection, f"""
        select puskesmas_key, puskesmas_name, measurements, haz_flagged_pct, whz_flagged_pct, sd_haz,
               unknown_kelurahan, duplicate_rows, eppgbm_haz_disagree
        from {relation}
        where month_start = (select max(month_start) from {relation})
        order by puskesmas_key = %(unknown)s, puskesmas_name
        """, {"unknown": UNKNOWN})
    table = Table("mutu", "puskesmas", [
        Column("measurements", "Pengukuran"), Column("haz_flagged_pct", "TB/U tidak masuk akal %", "rate"),
        Column("whz_flagged_pct", "BB/TB tidak masuk akal %", "rate"), Column("sd_haz", "SD TB/U", "rate"),
        Column("unknown_kelurahan", "Kelurahan tidak dikenali"), Column("duplicate_rows", "Baris ganda"),
        Column("eppgbm_haz_disagree", "Beda z-skor dengan e-PPGBM"),
    ], label_header="Puskesmas")
    notes: list[str] = []
    for row in rows:
        label = UNKNOWN_LABEL if row["puskesmas_key"] == UNKNOWN else row["puskesmas_name"]
        table.add(row["puskesmas_key"], label, row, decimals={"sd_haz": 2})
        if row["measurements"] == 0:
            notes.append(f"{label}: tidak mengirim pengukuran pada bulan ini.")
        sd = row["sd_haz"]
        if sd is not None and not SD_HAZ_RANGE[0] <= sd <= SD_HAZ_RANGE[1]:
            measured = f"{row['measurements']} pengukuran" if row["measurements"] is not None else "<5 pengukuran"
            notes.append(f"{label}: SD TB/U {str(sd).replace('.', ',')} di luar rentang wajar 1,35–1,95 ({measured}; "
                         "kemungkinan kesalahan pengukuran atau pencatatan, atau sampel kecil).")
        if row["haz_flagged_pct"] is not None and row["haz_flagged_pct"] > FLAGGED_LIMIT:
            notes.append(f"{label}: {str(round(row['haz_flagged_pct'], 1)).replace('.', ',')}% z-skor TB/U tidak "
                         "masuk akal (lebih dari 5%).")
        if row["unknown_kelurahan"]:
            notes.append(f"{label}: {row['unknown_kelurahan']} pengukuran dengan kelurahan yang tidak dikenali.")
    if public:
        table.note = "Jumlah 1–4 per puskesmas disembunyikan (<5)."
        for row in table.rows:
            for key, cell in row.cells.items():
                if cell.kind == "count" and cell.text == "–":
                    row.cells[key].text, row.cells[key].css = "<5", "small"
    content.tables["mutu"] = table
    content.notes["mutu"] = notes


def _freshness(connection: psycopg.Connection, content: ReportContent, public: bool) -> None:
    relation = "bi.bi_source_freshness" if public else "marts.mart_source_freshness"
    configured = "" if public else "where is_configured"
    rows = _rows(connection, f"""
        select source, source_label, source_status, status_reason, last_loaded_at, days_since_last_load, is_stale,
               exceeds_max_staleness
        from {relation} {configured}
        order by is_stale desc, source
        """)
    table = Table("sumber", "sumber", [
        Column("source_status", "Status", "text"), Column("last_loaded", "Terakhir dimuat", "text"),
        Column("days_since_last_load", "Hari sejak dimuat", "rate"), Column("status_reason", "Keterangan", "text"),
    ], label_header="Sumber data")
    for row in rows:
        loaded = row["last_loaded_at"]
        table.add(row["source"], row["source_label"] or row["source"],
                  dict(row, last_loaded=f"{loaded.astimezone(_wib()):%d-%m-%Y %H:%M}" if loaded else "belum pernah"),
                  css="stale" if row["is_stale"] else "")
    content.tables["sumber"] = table
    content.notes["sumber"] = [
        f"{r['source_label'] or r['source']}: data basi — laporan memakai data terakhir yang berhasil dimuat"
        + (" (melebihi batas hari; gerbang mutu menggagalkan malam)" if r["exceeds_max_staleness"] else "") + "."
        for r in rows if r["is_stale"]]


def _wib():
    from konvergensi.report.nights import WIB

    return WIB
