"""The end-of-night summary a person reads: loads, quarantine, the gate's verdict, prevalence.

Plain text tables and bar charts, so it reads the same in a terminal, a CI log or an e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

BAR_WIDTH = 30


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
        select status, count(*)::int, coalesce(sum(rows_read), 0)::int, coalesce(sum(rows_loaded), 0)::int,
               coalesce(sum(rows_quarantined), 0)::int
        from ops.file_loads where run_id = %s group by status order by status
        """,
        (run_id,),
    ).fetchall()
    out.append("e-PPGBM files")
    out.append(table(["status", "files", "rows read", "rows loaded", "rows quarantined"], files or [("none", 0, 0, 0, 0)]))
    read = sum(r[2] for r in files)
    loaded = sum(r[3] for r in files)
    quarantined = sum(r[4] for r in files)
    check = "✓" if read == loaded + quarantined else "✗ DOES NOT ADD UP"
    out.append(f"rows read {read:,} = loaded {loaded:,} + quarantined {quarantined:,}  {check}\n")

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

    if _exists(connection, "marts.mart_stunting_prevalence_monthly"):
        out.append(_prevalence(connection))
    return "\n".join(out)


def _describe(finding: dict) -> str:
    """One line per gate finding: table · check · what was found."""
    from konvergensi.gate import summarise_details

    parts = (finding.get("table"), finding.get("expectation"), summarise_details(finding.get("details") or {}))
    return " · ".join(str(p) for p in parts if p)


def _prevalence(connection: psycopg.Connection) -> str:
    month = connection.execute(
        "select max(month_start) from marts.mart_stunting_prevalence_monthly where wilayah_level = 'city'"
    ).fetchone()[0]
    if month is None:
        return "No prevalence published yet."
    rows = connection.execute(
        """
        select wilayah_name, stunting_pct::float, stunted, haz_denominator, severe_stunting_pct::float,
               wasting_pct::float, underweight_pct::float
        from marts.mart_stunting_prevalence_monthly
        where month_start = %s and wilayah_level in ('kecamatan', 'city')
        order by wilayah_level = 'city', wilayah_name
        """,
        (month,),
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
        where wilayah_level = 'city' order by month_start desc limit 12
        """
    ).fetchall()[::-1]
    if trend:
        out.append("\nCity stunting prevalence by month")
        peak = max((t[1] or 0 for t in trend), default=0)
        out.append(table(["month", "stunting %", ""], [(f"{m:%Y-%m}", v, bar(v, peak)) for m, v in trend], align="lrl"))
    return "\n".join(out)
