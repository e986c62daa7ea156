"""The documentation of the last published night, in the data directory, behind one index page.

After every publish the nightly DAG (task `build_docs`) and `make docs` write:

* `docs/dbt/` — `dbt docs generate --static` for the published schemas (`marts`, `analyst`, `bi`,
  `restricted`): `static_index.html` is one self-contained page (models, columns with their
  descriptions, lineage, exposures) that opens from the file system; the catalog (column types, row
  counts) is read from the published tables, not from tonight's audit schemas, which no longer exist
  after the swap;
* `index.html` at the root of the data directory linking that page, the Great Expectations Data Docs
  the quality gate wrote for the published run, the monthly report files in `reports/latest/`, the
  Superset dashboard when `make bi` left its state file, and the analyst guide. Pieces that are absent
  (no report yet, Superset not started, no gate run) are listed as absent, never as broken links.

The column descriptions themselves reach PostgreSQL as comments during the dbt build
(`persist_docs` in dbt_project.yml); the publish renames schemas, which keeps every table's and
column's comment, so BI tools and `\\d+` show them on the published tables.

    python -m konvergensi.docs_site build [--index-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from konvergensi import db, gate, settings

log = logging.getLogger(__name__)

# The schemas dbt's docs describe: the published names, not tonight's audit names.
PUBLISHED_SCHEMAS = {
    "KONVERGENSI_MARTS_SCHEMA": settings.PUBLISHED_MARTS_SCHEMA,
    "KONVERGENSI_RESTRICTED_SCHEMA": settings.PUBLISHED_RESTRICTED_SCHEMA,
    "KONVERGENSI_ANALYST_SCHEMA": settings.PUBLISHED_ANALYST_SCHEMA,
    "KONVERGENSI_BI_SCHEMA": settings.PUBLISHED_BI_SCHEMA,
}
DBT_DOCS_DIR = Path("docs") / "dbt"
REPORTS_LATEST = Path("reports") / "latest"
# `make bi` leaves one of these behind while Superset runs (a JSON object with "url", or a pid file).
SUPERSET_STATE_FILE = Path("superset") / "superset.json"  # written by konvergensi.bi.server while it runs
ANALYST_GUIDE = settings.PROJECT_DIR / "docs" / "analyst-guide.md"
DBT_DOCS_TIMEOUT_SECONDS = 600


@dataclass
class Link:
    label: str
    target: str | None  # a path or URL; None when the piece is absent
    note: str = ""


@dataclass
class DocsSite:
    index: Path
    dbt_docs: Path | None
    gx_data_docs: Path | None
    links: list[Link] = field(default_factory=list)
    dbt_error: str | None = None


def build(data_dir: Path | None = None, url: str | None = None, *, dbt_docs: bool = True) -> DocsSite:
    """Generate dbt docs of the published schemas (unless `dbt_docs` is false) and write index.html.

    A failing `dbt docs generate` does not raise: the night's data is published already; the index
    says what failed and the error is logged, so the night's summary and the task log show it.
    """
    data_dir = (data_dir or settings.data_dir()).resolve()
    docs_dir = data_dir / DBT_DOCS_DIR
    error = None
    if dbt_docs:
        try:
            generate_dbt_docs(docs_dir, url)
        except DbtDocsFailed as failure:
            error = str(failure)
            log.warning("dbt docs generate failed: %s", error)
    published = last_published_night(url)
    gx_index = gx_data_docs_index(published, url)
    static_page = docs_dir / "static_index.html"
    site = DocsSite(index=data_dir / "index.html", dbt_docs=static_page if static_page.exists() else None,
                    gx_data_docs=gx_index, dbt_error=error)
    site.links = _links(data_dir, site)
    site.index.write_text(render_index(site, published), encoding="utf-8")
    log.info("documentation index: %s", site.index)
    return site


class DbtDocsFailed(RuntimeError):
    """`dbt docs generate` exited with an error."""


def generate_dbt_docs(docs_dir: Path, url: str | None = None) -> Path:
    """`dbt docs generate --static` into `docs_dir`, the schemas resolved to their published names.

    Its own target path, so the project's manifest (which Cosmos renders the DAG from, with the audit
    schemas) is left alone; the partial-parse file kept there makes the next night's parse quick.
    `--no-compile`: the page needs the models' SQL and lineage, not SQL compiled against tonight.
    """
    docs_dir.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **settings.dbt_env(url), **PUBLISHED_SCHEMAS}
    dbt = Path(sys.executable).parent / "dbt"
    where = ["--target-path", str(docs_dir), "--log-path", str(docs_dir)]
    # with --no-compile, docs generate reads manifest.json from the target path instead of writing it
    for command in (["parse", "--quiet", *where], ["docs", "generate", "--static", "--no-compile", *where]):
        done = subprocess.run([str(dbt) if dbt.exists() else "dbt", *command], cwd=settings.DBT_PROJECT_DIR,
                              env=environment, capture_output=True, text=True, timeout=DBT_DOCS_TIMEOUT_SECONDS)
        if done.returncode != 0:
            raise DbtDocsFailed(f"dbt {command[0]}: exit code {done.returncode}: "
                                f"{(done.stdout + done.stderr)[-2000:]}")
    page = docs_dir / "static_index.html"
    if not page.exists():
        raise DbtDocsFailed(f"dbt docs generate wrote no {page}")
    return page


@dataclass(frozen=True)
class PublishedNight:
    run_id: str
    published_at: dt.datetime


def last_published_night(url: str | None = None) -> PublishedNight | None:
    """The latest row of ops.publish_log, or None when nothing was ever published (or no warehouse)."""
    try:
        with db.connect(url) as connection:
            row = connection.execute(
                "select run_id, published_at from ops.publish_log order by published_at desc limit 1"
            ).fetchone()
    except psycopg.Error as error:
        log.warning("could not read ops.publish_log: %s", error)
        return None
    return PublishedNight(row[0], row[1]) if row else None


def gx_data_docs_index(published: PublishedNight | None, url: str | None = None) -> Path | None:
    """The Data Docs index the gate recorded for the published run, else the site's default index."""
    candidates: list[Path] = []
    if published is not None:
        try:
            with db.connect(url) as connection:
                row = connection.execute(
                    "select data_docs_path from ops.gate_runs where run_id = %s and success "
                    "order by gate_run_id desc limit 1", (published.run_id,),
                ).fetchone()
            if row and row[0]:
                candidates.append(Path(row[0]))
        except psycopg.Error as error:
            log.warning("could not read ops.gate_runs: %s", error)
    candidates.append(gate.data_docs_index())
    return next((path for path in candidates if path.is_file()), None)


def superset_url(data_dir: Path) -> str | None:
    """The dashboard's address while the Superset that `make bi` started runs (its state file, bi.server.pid_file)."""
    from konvergensi.bi.dashboard import DASHBOARD_SLUG

    try:
        state = json.loads((data_dir / SUPERSET_STATE_FILE).read_text())
        os.kill(int(state["pid"]), 0)
        return f"http://127.0.0.1:{int(state['port'])}/superset/dashboard/{DASHBOARD_SLUG}/"
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _links(data_dir: Path, site: DocsSite) -> list[Link]:
    links = [
        Link("Dokumentasi kolom dan lineage (dbt docs)", _relative(site.dbt_docs, data_dir),
             "" if site.dbt_docs else "belum dibuat" + (f": {site.dbt_error[:200]}" if site.dbt_error else "")),
        Link("Hasil pemeriksaan mutu data (Great Expectations Data Docs)", _relative(site.gx_data_docs, data_dir),
             "" if site.gx_data_docs else "belum ada hasil gate"),
    ]
    reports = sorted((data_dir / REPORTS_LATEST).glob("*.*")) if (data_dir / REPORTS_LATEST).is_dir() else []
    reports = [path for path in reports if path.suffix in (".html", ".pdf")]
    if reports:
        links += [Link(f"Laporan bulanan: {path.name}", _relative(path, data_dir)) for path in reports]
    else:
        links.append(Link("Laporan bulanan", None, "belum ada laporan (make report)"))
    superset = superset_url(data_dir)
    links.append(Link("Dashboard Superset: Konvergensi Stunting Kota Pekalongan", superset,
                      "" if superset else "Superset tidak berjalan (make bi)"))
    links.append(Link("Panduan analis (skema bintang, grain, contoh SQL)",
                      _relative(ANALYST_GUIDE if ANALYST_GUIDE.is_file() else None, data_dir),
                      "" if ANALYST_GUIDE.is_file() else "tidak ditemukan"))
    return links


def _relative(path: Path | None, start: Path) -> str | None:
    return None if path is None else os.path.relpath(path, start)


def render_index(site: DocsSite, published: PublishedNight | None) -> str:
    night = (f"Malam terakhir yang dipublikasikan: <code>{html.escape(published.run_id)}</code>, "
             f"{published.published_at:%Y-%m-%d %H:%M %Z}" if published else "Belum ada malam yang dipublikasikan.")
    items = []
    for link in site.links:
        label = html.escape(link.label)
        if link.target:
            items.append(f'<li><a href="{html.escape(link.target, quote=True)}">{label}</a></li>')
        else:
            items.append(f"<li>{label} — <em>{html.escape(link.note)}</em></li>")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([
        "<!doctype html>",
        '<html lang="id"><head><meta charset="utf-8">',
        "<title>Konvergensi Stunting Kota Pekalongan — dokumentasi</title>",
        "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}"
        "li{margin:.4rem 0}em{color:#666}</style></head><body>",
        "<h1>Konvergensi Stunting Kota Pekalongan</h1>",
        f"<p>{night}</p>",
        "<ul>", *items, "</ul>",
        f"<p><small>Dibuat {generated} oleh <code>python -m konvergensi.docs_site build</code>.</small></p>",
        "</body></html>",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    build_parser = sub.add_parser("build", help="dbt docs of the published schemas and the data directory's index.html")
    build_parser.add_argument("--index-only", action="store_true", help="only rewrite index.html (no dbt)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    site = build(dbt_docs=not args.index_only)
    for link in site.links:
        print(f"{link.label}: {link.target or '— ' + link.note}")
    print(f"Index: {site.index}")
    return 1 if site.dbt_error else 0


if __name__ == "__main__":
    sys.exit(main())
