"""The end-of-night summary a person reads: loads per source, quarantine, stale sources, the gate's
verdict, linkage rates, convergence levels, prevalence against the targets.

Plain text tables and bar charts, so it reads the same in a terminal, a CI log or an e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

BAR_WIDTH = 30

# The city as every published mart spells it (dbt: macros/wilayah_levels.sql), passed to the queries
# as a parameter: the wilayah_level of city rows, and the kelurahan_code of mart_linkage_rates' city-wide rows.
CITY_LEVEL = "kota"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None) -> str:
    """A fixed-width text table; `align` has one 'l' or 'r' per column (numbers right by default)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    if align is None:
        align = "".join("r" if rows and isinstance(rows[0][i], (int, float)) else "l" for i in range(len(headers)))

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if a == "r" else v.ljust(w) for v, w, a in zip(values, widths, align)).rstrip()

    return "\n".join([line(headers), line(["─" * w for w in widths])] + [line(r) for r in cells])


def bar(value: float | None, maximum: float) -> str:
    if value is None or maximum <= 0:
        return ""
    filled = value / maximum * BAR_WIDTH
    return "█" * int(filled) + ("▌" if filled - int(filled) >= 0.5 else "")


def _fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _exists(connection: psycopg.Connection, relation: str) -> bool:
    return connection.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def night_summary(connection: psycopg.Connection, run_id: str | None = None) -> str:
    """Summary of one run (the latest when run_id is None)."""
    out: list[str] = []
    if run_id is None:
        row = connection.execute("select run_id from ops.load_batches order by batch_id desc limit 1").fetchone()
        if row is None:
            return "No run has loaded anything yet."
        run_id = row[0]
    out.append(f"═══ Konvergensi nightly run {run_id} ═══\n")

    files = connection.execute(
        """
        select source, status, count(*)::int, coalesce(sum(rows_read), 0)::int, coalesce(sum(rows_loaded), 0)::int,
               coalesce(sum(rows_quarantined), 0)::int
        from ops.file_loads where run_id = %s group by source, status order by source, status
        """,
        (run_id,),
    ).fetchall()
    out.append("Files (e-PPGBM exports, BKKBN family data)")
    out.append(table(["source", "status", "files", "rows read", "rows loaded", "rows quarantined"],
                     files or [("none", "", 0, 0, 0, 0)]))
    read = sum(r[3] for r in files)
    loaded = sum(r[4] for r in files)
    quarantined = sum(r[5] for r in files)
    check = "✓" if read == loaded + quarantined else "✗ DOES NOT ADD UP"
    out.append(f"rows read {read:,} = loaded {loaded:,} + quarantined {quarantined:,}  {check}\n")
    out.append(_extracts(connection, run_id))

    rejected = connection.execute(
        "select file_name, error from ops.file_loads where run_id = %s and status = 'rejected' order by file_name",
        (run_id,),
    ).fetchall()
    if rejected:
        out.append("Rejected files")
        out.append(table(["file", "reason"], rejected) + "\n")

    reasons = connection.execute(
        """
        select q.reason, count(*)::int from raw.eppgbm_quarantine q
        join ops.load_batches b using (batch_id) where b.run_id = %s
        group by q.reason order by 2 desc limit 8
        """,
        (run_id,),
    ).fetchall()
    if reasons:
        out.append("Quarantined rows by reason (this run)")
        out.append(table(["reason", "rows"], reasons) + "\n")

    out.append(_transform(connection, run_id))

    gate = connection.execute(
        """
        select success, jsonb_array_length(failed_expectations), jsonb_array_length(warnings), data_docs_path,
               failed_expectations, warnings
        from ops.gate_runs where run_id = %s order by gate_run_id desc limit 1
        """,
        (run_id,),
    ).fetchone()
    published = connection.execute(
        "select published_at from ops.publish_log where run_id = %s order by publish_id desc limit 1", (run_id,)
    ).fetchone()
    if gate is None:
        out.append("Quality gate: did not run (the run stopped before it).\n")
    else:
        success, failed_count, warning_count, docs, failed, warnings = gate
        verdict = "PASSED" if success else "FAILED — yesterday's marts stay published"
        out.append(f"Quality gate: {verdict}; {failed_count} failed check(s), {warning_count} warning(s)")
        for item in (failed or [])[:10]:
            out.append(f"  ✗ {_describe(item)}")
        for item in (warnings or [])[:10]:
            out.append(f"  ! {_describe(item)}")
        if warning_count and warning_count > 10:
            out.append(f"  … and {warning_count - 10} more warning(s)")
        out.append(f"Data Docs: {docs}")
    out.append(f"Published: {'yes, at ' + published[0].strftime('%Y-%m-%d %H:%M:%S %Z') if published else 'no'}\n")

    if _exists(connection, "marts.mart_source_freshness"):
        out.append(_freshness(connection))
    if _exists(connection, "marts.mart_linkage_rates"):
        out.append(_linkage(connection))
    if _exists(connection, "marts.mart_convergence_scorecard"):
        out.append(_convergence(connection))
    if _exists(connection, "marts.mart_stunting_prevalence_monthly"):
        out.append(_prevalence(connection))
    if _exists(connection, "marts.mart_target_progress"):
        out.append(_targets(connection))
    return "\n".join(out)


def _transform(connection: psycopg.Connection, run_id: str) -> str:
    """The night's dbt build: how much of its task's wall time was SQL (include/konvergensi/transform_build.py)."""
    row = None
    if _exists(connection, "ops.transform_runs"):
        row = connection.execute(
            """
            select nodes, failed_nodes, sql_wall_seconds, node_seconds, dbt_seconds, task_seconds
            from ops.transform_runs where run_id = %s order by transform_run_id desc limit 1
            """,
            (run_id,),
        ).fetchone()
    if row is None:
        return "dbt build: did not run.\n"
    nodes, failed, sql_wall, node_seconds, dbt_seconds, task_seconds = row
    share = f"{100 * sql_wall / task_seconds:.0f}%" if task_seconds else "–"
    return "dbt build (one invocation for every seed, model, snapshot and test)\n" + table(
        ["nodes", "failed", "SQL running s", "SQL summed over threads s", "dbt s", "task s", "SQL share of the task"],
        [(nodes, failed, round(sql_wall, 1), round(node_seconds, 1), round(dbt_seconds, 1),
          round(task_seconds, 1) if task_seconds is not None else None, share)],
        align="rrrrrrr",
    ) + "\n"


def _extracts(connection: psycopg.Connection, run_id: str) -> str:
    rows = connection.execute(
        """
        select distinct on (source) source, status, records_read, records_loaded, records_quarantined, pages, attempts,
               watermark_to, error
        from ops.source_extracts where run_id = %s order by source, extract_id desc
        """,
        (run_id,),
    ).fetchall()
    if not rows:
        return "Pulled sources: none this run.\n"
    shown = []
    for source, status, read, loaded, quarantined, pages, attempts, watermark, error in rows:
        adds_up = "✓" if status != "loaded" or read == loaded + quarantined else "✗"
        note = f"{watermark:%Y-%m-%d %H:%M}" if watermark else ""
        if status == "failed":
            note = "DOWN: " + (error or "")[:70]
        shown.append((source, status, read, loaded, quarantined, adds_up, pages, attempts, note))
    lines = ["Pulled sources (incremental; records = loaded + quarantined)"]
    lines.append(table(["source", "status", "read", "loaded", "quarantined", "", "pages", "requests", "watermark / error"],
                       shown, align="llrrrlrrl"))
    return "\n".join(lines) + "\n"


def _freshness(connection: psycopg.Connection) -> str:
    lines: list[str] = []
    columns = {row[0] for row in connection.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = 'mart_source_freshness'"
    ).fetchall()}
    if "is_configured" in columns:  # marts published before sources could be left unconfigured lack it
        absent = connection.execute(
            "select source, source_label from marts.mart_source_freshness where not is_configured order by source"
        ).fetchall()
        if absent:
            lines.append("SOURCES NOT CONFIGURED (tidak dikonfigurasi) — the marts that need them are published empty,")
            lines.append("their scorecard indicators as \"no data\"; set KONVERGENSI_SOURCES to add one")
            lines.append(table(["source", "system", "status"], [(s, label, "tidak dikonfigurasi") for s, label in absent],
                               align="lll"))
            lines.append("")
    stale = connection.execute(
        """
        select source, last_loaded_at, stale_since, exceeds_max_staleness from marts.mart_source_freshness
        where is_stale order by source
        """
    ).fetchall()
    if not stale:
        lines.append("Every configured source loaded on its latest attempt: no stale source in tonight's marts.\n")
        return "\n".join(lines)
    lines.append("STALE SOURCES — tonight's marts use their previous data")
    lines.append(table(
        ["source", "last loaded", "failing since", "too stale (gate fails)"],
        [(s, f"{loaded:%Y-%m-%d %H:%M}" if loaded else "never", f"{since:%Y-%m-%d %H:%M}" if since else "", bool(too))
         for s, loaded, since, too in stale],
        align="llll",
    ))
    return "\n".join(lines) + "\n"


def _linkage(connection: psycopg.Connection) -> str:
    rows = connection.execute(
        """
        select source, records, linked, ambiguous, unlinked, link_rate_pct::float
        from marts.mart_linkage_rates where kelurahan_code = %s order by source
        """,
        (CITY_LEVEL,),
    ).fetchall()
    lines = ["Family linkage, city-wide (exact keys first, then documented fallbacks; ambiguous never forced)"]
    lines.append(table(["source", "records", "linked", "ambiguous", "unlinked", "linked %", ""],
                       [(*r, bar(r[5], 100)) for r in rows], align="lrrrrrl"))
    return "\n".join(lines) + "\n"


def _convergence(connection: psycopg.Connection) -> str:
    latest = connection.execute(
        "select max(quarter) from marts.mart_convergence_scorecard where wilayah_level = %s", (CITY_LEVEL,)
    ).fetchone()[0]
    if latest is None:
        return "No convergence scorecard yet.\n"
    rows = connection.execute(
        """
        select quarter, is_partial_quarter, cutoff_date, wilayah_name, women_level::float, children_level::float,
               combined_level::float
        from marts.mart_convergence_scorecard
        where wilayah_level in ('kecamatan', %(city)s)
          and quarter in (%(latest)s, (select max(quarter) from marts.mart_convergence_scorecard
                                       where wilayah_level = %(city)s and not is_partial_quarter))
        order by quarter desc, wilayah_level = %(city)s, wilayah_name
        """,
        {"latest": latest, "city": CITY_LEVEL},
    ).fetchall()
    columns = {row[0] for row in connection.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' "
        "and table_name = 'mart_convergence_scorecard'").fetchall()}
    no_data = None
    if "women_indicators_without_data" in columns:  # marts published before "no data" existed lack it
        no_data = connection.execute(
            """
            select max(women_indicators_without_data), max(children_indicators_without_data)
            from marts.mart_convergence_scorecard where wilayah_level = %s and quarter = %s
            """,
            (CITY_LEVEL, latest),
        ).fetchone()
    lines = []
    for quarter in dict.fromkeys(r[0] for r in rows):
        part = [r for r in rows if r[0] == quarter]
        partial, cutoff = part[0][1], part[0][2]
        title = f"Tingkat konvergensi {quarter}" + (f" (to date, cut-off {cutoff:%d %b %Y})" if partial else "")
        lines.append(title)
        if no_data and (no_data[0] or no_data[1]):
            lines.append(f"(no data — source not configured — for {no_data[0]} of 8 indicators for pregnant women and "
                         f"{no_data[1]} of 11 for children: the levels are those of the indicators with data)")
        lines.append(table(["wilayah", "ibu hamil %", "anak %", "gabungan %", ""],
                           [(r[3], r[4], r[5], r[6], bar(r[6], 100)) for r in part], align="lrrrl"))
        lines.append("")
    return "\n".join(lines)


def _targets(connection: psycopg.Connection) -> str:
    rows = connection.execute(
        """
        select source_name, period_label, prevalence_pct::float, city_target_pct::float
        from marts.mart_target_progress
        where wilayah_level = %(city)s
          and (source_type <> 'register'
               or period_start = (select max(period_start) from marts.mart_target_progress
                                  where source_type = 'register' and wilayah_level = %(city)s))
        order by source_type = 'register' desc, year desc, source_name
        """,
        {"city": CITY_LEVEL},
    ).fetchall()
    lines = ["Kota Pekalongan against its targets (register and surveys side by side, never mixed; target 2026: 0%)"]
    lines.append(table(["source", "period", "stunting %", "city target %", ""],
                       [(*r, bar(r[2], 30)) for r in rows], align="llrrl"))
    return "\n".join(lines) + "\n"


def _describe(finding: dict) -> str:
    """One line per gate finding: table · check · what was found."""
    from konvergensi.gate import summarise_details

    parts = (finding.get("table"), finding.get("expectation"), summarise_details(finding.get("details") or {}))
    return " · ".join(str(p) for p in parts if p)


def _prevalence(connection: psycopg.Connection) -> str:
    month = connection.execute(
        "select max(month_start) from marts.mart_stunting_prevalence_monthly where wilayah_level = %s",
        (CITY_LEVEL,),
    ).fetchone()[0]
    if month is None:
        return "No prevalence published yet."
    rows = connection.execute(
        """
        select wilayah_name, stunting_pct::float, stunted, haz_denominator, severe_stunting_pct::float,
               wasting_pct::float, underweight_pct::float
        from marts.mart_stunting_prevalence_monthly
        where month_start = %(month)s and wilayah_level in ('kecamatan', %(city)s)
        order by wilayah_level = %(city)s, wilayah_name
        """,
        {"month": month, "city": CITY_LEVEL},
    ).fetchall()
    top = max((r[1] or 0 for r in rows), default=0)
    out = [f"Stunting prevalence (e-PPGBM register, latest measurement per child) — {month:%B %Y}"]
    out.append(
        table(
            ["wilayah", "stunting %", "stunted", "children", "severe %", "wasting %", "underweight %", ""],
            [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bar(r[1], top)) for r in rows],
            align="lrrrrrrl",
        )
    )
    trend = connection.execute(
        """
        select month_start, stunting_pct::float from marts.mart_stunting_prevalence_monthly
        where wilayah_level = %s order by month_start desc limit 12
        """,
        (CITY_LEVEL,),
    ).fetchall()[::-1]
    if trend:
        out.append("\nCity stunting prevalence by month")
        peak = max((t[1] or 0 for t in trend), default=0)
        out.append(table(["month", "stunting %", ""], [(f"{m:%Y-%m}", v, bar(v, peak)) for m, v in trend], align="lrl"))
    return "\n".join(out)
