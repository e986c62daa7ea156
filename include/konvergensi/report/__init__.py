"""The monthly report for the city's officials, "Laporan Konvergensi Percepatan Penurunan Stunting Kota
Pekalongan", in two editions, from the last published night:

* internal (Wali Kota, Bappeda, Dinkes, TPPS): the marts, read as the transformer role;
* publik (Aksi 7, publication): the `bi` schema, read as the BI role; kelurahan counts below 5 as "<5".

Written as HTML (Jinja2, matplotlib charts inlined as SVG) and printed to PDF by headless Chromium:

    <data dir>/reports/<date>/laporan-konvergensi-<date>.{html,pdf}
    <data dir>/reports/<date>/laporan-konvergensi-publik-<date>.{html,pdf}
    <data dir>/reports/latest/laporan-konvergensi[-publik].{html,pdf}   (the last published night)

    python -m konvergensi.report [--run-date YYYY-MM-DD] [--no-pdf]

With --run-date a night that was never published (its gate failed, it stopped, it never ran, or a
later night replaced it) gets a report that says so in a banner and shows the last published night.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from konvergensi import roles, settings
from konvergensi.db import connect
from konvergensi.report import charts, data, nights
from konvergensi.report.tables import NO_DATA_TEXT, format_rate

TITLE = "Laporan Konvergensi Percepatan Penurunan Stunting Kota Pekalongan"
EDITION_LABELS = {
    data.INTERNAL: "Edisi internal — untuk Wali Kota, Bappeda, Dinas Kesehatan dan Tim Percepatan Penurunan Stunting (TPPS)",
    data.PUBLIC: "Edisi publik — publikasi data stunting (Aksi 7); jumlah di bawah 5 per kelurahan disembunyikan",
}
FILE_STEMS = {data.INTERNAL: "laporan-konvergensi", data.PUBLIC: "laporan-konvergensi-publik"}
READ_ATTEMPTS = 3
TEMPLATES = Path(__file__).parent / "templates"

log = logging.getLogger(__name__)


class ReportError(RuntimeError):
    """The report could not be made (nothing published, the marts kept changing while being read)."""


@dataclass(frozen=True)
class ReportResult:
    choice: nights.NightChoice
    files: dict[str, Path]  # "internal.html", "internal.pdf", "publik.html", "publik.pdf"
    latest: Path | None  # reports/latest/ when this report became it

    def lines(self) -> list[str]:
        shown = self.choice.shown
        lines = [f"Report of the night {shown.date} (run {shown.run_id}, published {shown.published_at:%Y-%m-%d %H:%M %Z})"]
        if self.choice.banner:
            lines.append(f"  asked for {self.choice.requested}: {self.choice.status} — the report says so in a banner")
        lines += [f"  {name}: {path}" for name, path in sorted(self.files.items())]
        if self.latest:
            lines.append(f"  copied to {self.latest}/")
        return lines


def reports_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or settings.data_dir()) / "reports"


def read_night(warehouse_url: str, run_date: dt.date | None) -> tuple[nights.NightChoice, dict[str, data.ReportContent]]:
    """Both editions' content from one published night: read again if a publish swapped the marts meanwhile."""
    transformer_url = roles.role_url(roles.TRANSFORMER, warehouse_url)
    bi_url = roles.role_url(roles.BI, warehouse_url)
    for _ in range(READ_ATTEMPTS):
        with connect(transformer_url, autocommit=True) as internal:
            choice = nights.choose(internal, run_date)
            contents = {data.INTERNAL: data.read(internal, data.INTERNAL)}
            with connect(bi_url, autocommit=True) as public:
                contents[data.PUBLIC] = data.read(public, data.PUBLIC)
            if nights.publish_generation(internal) == choice.shown.publish_id:
                return choice, contents
        log.warning("a night was published while the report read the marts: reading again")
    raise ReportError(f"the marts were published anew during each of {READ_ATTEMPTS} readings: try again later")


def render(content: data.ReportContent, choice: nights.NightChoice, generated_at: dt.datetime | None = None) -> str:
    """The HTML of one edition."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    from markupsafe import Markup

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                              undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=False)
    public = content.edition == data.PUBLIC
    target_2026 = next((value for year, value in content.series.get("targets", []) if year == 2026), None)
    drawn = {
        "kecamatan": charts.horizontal_bars(_by_value(content.series["kecamatan"]),
                                            "Prevalensi stunting per kecamatan (%; target 2026: 0%)"),
        "kelurahan": charts.horizontal_bars(_by_value(content.series["kelurahan"]),
                                            "Prevalensi stunting per kelurahan (%; target 2026: 0%)"),
        "trend": charts.trend(content.series["trend"], content.series["surveys"], content.series["targets"],
                              "Prevalensi stunting Kota Pekalongan: register, survei dan target"),
        "scorecard": charts.horizontal_bars(_by_value(content.series["scorecard"]), "Tingkat konvergensi gabungan per kecamatan (%)",
                                            color=charts.GOOD, maximum=100.0),
        "factors": charts.paired_bars(content.series["factors"], "Faktor risiko keluarga paling umum pada anak stunting",
                                      "anak stunting", "anak tidak stunting") if content.series.get("factors") else "",
        "agencies": charts.count_bars(content.series["agencies"], "Anak dengan intervensi belum diterima per OPD")
        if content.series.get("agencies") else "",
    }
    generated = (generated_at or dt.datetime.now(dt.timezone.utc)).astimezone(nights.WIB)
    shown = choice.shown
    return environment.get_template("laporan.html.j2").render(
        title=TITLE,
        edition=content.edition,
        edition_label=EDITION_LABELS[content.edition],
        public=public,
        night_date=shown.date.isoformat(),
        night_label=nights._tanggal(shown.date),
        published_label=f"{shown.published_at.astimezone(nights.WIB):%d-%m-%Y %H:%M}",
        run_id=shown.run_id,
        month_label=f"{nights.BULAN[content.month.month - 1]} {content.month.year}" if content.month else "–",
        quarter=content.quarter,
        quarter_is_partial=content.quarter_is_partial,
        banner=choice.banner,
        status=choice.status,
        tables=content.tables,
        notes=content.notes,
        charts={name: Markup(svg) for name, svg in drawn.items()},
        target_2026=format_rate(target_2026),
        no_data_text=NO_DATA_TEXT,
        generated_label=f"{generated:%d-%m-%Y %H:%M}",
    )


def _by_value(items: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Highest first, hidden values last."""
    return sorted(items, key=lambda item: (item[1] is None, -(float(item[1]) if item[1] is not None else 0), item[0]))


def generate(run_date: dt.date | None = None, *, warehouse_url: str | None = None, data_dir: Path | None = None,
             pdf: bool = True) -> ReportResult:
    """Write both editions for the last published night (with a banner when `run_date` is another night)."""
    from konvergensi import browser

    if pdf:
        browser.find_chromium()  # before reading anything: a missing browser is a setup error, said at once
    choice, contents = read_night(warehouse_url or settings.warehouse_url(), run_date)
    day = choice.output_date.isoformat()
    folder = reports_dir(data_dir) / day
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for edition, content in contents.items():
        html_path = folder / f"{FILE_STEMS[edition]}-{day}.html"
        _write_atomically(html_path, render(content, choice))
        files[f"{edition}.html"] = html_path
        if pdf:
            pdf_path = folder / f"{FILE_STEMS[edition]}-{day}.pdf"
            browser.print_to_pdf(html_path, pdf_path)
            files[f"{edition}.pdf"] = pdf_path
    latest = _copy_to_latest(files, reports_dir(data_dir)) if choice.is_current else None
    result = ReportResult(choice=choice, files=files, latest=latest)
    for line in result.lines():
        log.info(line)
    return result


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _copy_to_latest(files: dict[str, Path], root: Path) -> Path:
    """reports/latest/ becomes this report's files (undated names), swapped in whole."""
    staging = Path(tempfile.mkdtemp(prefix=".latest-", dir=root))
    staging.chmod(0o755)
    for name, path in files.items():
        edition, suffix = name.split(".")
        shutil.copy2(path, staging / f"{FILE_STEMS[edition]}.{suffix}")
    latest = root / "latest"
    previous = root / ".latest-previous"
    shutil.rmtree(previous, ignore_errors=True)
    if latest.exists():
        latest.rename(previous)
    staging.rename(latest)
    shutil.rmtree(previous, ignore_errors=True)
    return latest
