"""The report's charts, drawn with matplotlib and inlined in the HTML as SVG (the PDF prints them as vectors).

Text stays text in the SVG (svg.fonttype none) so the page's own font draws it; ids are made
reproducible (svg.hashsalt) so the same night gives the same file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "none",
    "svg.hashsalt": "konvergensi-report",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
})

BAR = "#c0392b"
OTHER = "#7f8c8d"
GOOD = "#2874a6"
TARGET = "#1e8449"
LEGEND_NAMES = {"SSGI": "SSGI (survei)", "SKI": "SKI (survei)", "BAPPERIDA": "Bapperida",
                "EPPGBM_REPORTED": "e-PPGBM (angka dilaporkan)"}
_SVG_START = re.compile(r"^.*?(<svg\b)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def _percent(value: float, _position: object = None) -> str:
    return f"{value:.0f}%".replace(".", ",")


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return _METADATA.sub("", _SVG_START.sub(r"\1", buffer.getvalue(), count=1), count=1)


def _number(value: object) -> float | None:
    return None if value is None else float(value) if isinstance(value, (int, float, Decimal)) else None


def horizontal_bars(items: Sequence[tuple[str, object]], title: str, *, color: str = BAR,
                    target: float | None = None, target_label: str = "", hidden_label: str = "disembunyikan (<5)",
                    maximum: float | None = None) -> str:
    """One bar per wilayah (a percentage); a None value is written as hidden instead of drawn as zero."""
    height = max(1.6, 0.28 * len(items) + 0.9)
    figure, axes = plt.subplots(figsize=(7.2, height))
    labels = [label for label, _ in items][::-1]
    values = [_number(value) for _, value in items][::-1]
    drawn = [v or 0.0 for v in values]
    axes.barh(labels, drawn, color=color, height=0.65)
    top = maximum or max([v for v in values if v is not None] + [1.0]) * 1.18
    for position, value in enumerate(values):
        text = hidden_label if value is None else f"{value:.1f}".replace(".", ",")
        axes.text((value or 0) + top * 0.01, position, text, va="center", fontsize=8,
                  color=OTHER if value is None else "#222222")
    if target is not None:
        axes.axvline(target, color=TARGET, linestyle="--", linewidth=1.2)
        axes.text(target, len(items) - 0.4, f" {target_label}", color=TARGET, fontsize=8, va="bottom")
    axes.set_xlim(0, top)
    axes.xaxis.set_major_formatter(FuncFormatter(_percent))
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    axes.tick_params(axis="y", labelsize=8)
    return _svg(figure)


def trend(register: Sequence[tuple[object, object]], surveys: Sequence[tuple[int, str, object]],
          targets: Sequence[tuple[int, object]], title: str) -> str:
    """The city's monthly register prevalence, the survey years as points, the city target as steps."""
    import datetime as dt

    figure, axes = plt.subplots(figsize=(7.2, 3.0))
    months = [day for day, value in register if value is not None]
    values = [float(value) for _, value in register if value is not None]
    if months:
        axes.plot(months, values, marker="o", color=BAR, linewidth=1.8, label="Register e-PPGBM (bulanan)")
    markers = {"SSGI": "s", "SKI": "D"}
    for code in sorted({code for _, code, _ in surveys}):
        points = [(dt.date(year, 7, 1), float(value)) for year, c, value in surveys if c == code and value is not None]
        if points:
            axes.scatter(*zip(*points), marker=markers.get(code, "^"), s=36, label=LEGEND_NAMES.get(code, code), zorder=3)
    if targets:
        years = sorted({year for year, _ in targets})
        for year, value in targets:
            axes.hlines(float(value), dt.date(year, 1, 1), dt.date(year, 12, 31), color=TARGET, linestyle="--",
                        linewidth=1.6, zorder=4, clip_on=False, label="Target kota" if year == years[0] else None)
        start = min([dt.date(years[0], 1, 1)] + months + [dt.date(y, 1, 1) for y, _, _ in surveys])
        axes.set_xlim(start, dt.date(max(years[-1], *(m.year for m in months)) if months else years[-1], 12, 31))
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(FuncFormatter(_percent))
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    axes.legend(fontsize=7, frameon=False, loc="upper right")
    figure.autofmt_xdate()
    return _svg(figure)


def paired_bars(items: Sequence[tuple[str, object, object]], title: str, first: str, second: str) -> str:
    """Two bars per item (the share of stunted and of not-stunted children with a factor)."""
    height = max(1.8, 0.42 * len(items) + 1.0)
    figure, axes = plt.subplots(figsize=(7.2, height))
    labels = [label for label, _, _ in items][::-1]
    positions = range(len(labels))
    a = [_number(x) or 0 for _, x, _ in items][::-1]
    b = [_number(y) or 0 for _, _, y in items][::-1]
    axes.barh([p + 0.2 for p in positions], a, height=0.38, color=BAR, label=first)
    axes.barh([p - 0.2 for p in positions], b, height=0.38, color=OTHER, label=second)
    axes.set_yticks(list(positions), labels, fontsize=8)
    axes.set_xlim(0, 100)
    axes.xaxis.set_major_formatter(FuncFormatter(_percent))
    axes.legend(fontsize=7, frameon=False, loc="lower right")
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    return _svg(figure)


def count_bars(items: Sequence[tuple[str, object]], title: str) -> str:
    """One bar per item for a count (children per OPD)."""
    height = max(1.6, 0.32 * len(items) + 0.9)
    figure, axes = plt.subplots(figsize=(7.2, height))
    labels = [label for label, _ in items][::-1]
    values = [int(value or 0) for _, value in items][::-1]
    axes.barh(labels, values, color=GOOD, height=0.6)
    top = max(values + [1]) * 1.15
    for position, value in enumerate(values):
        axes.text(value + top * 0.01, position, f"{value:,}".replace(",", "."), va="center", fontsize=8)
    axes.set_xlim(0, top)
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    axes.tick_params(axis="y", labelsize=8)
    return _svg(figure)
