"""Which night a run is for, and what the report's banner says about a night that is not the one shown."""

from __future__ import annotations

import datetime as dt

import pytest

from konvergensi.report import nights
from konvergensi.report.tables import Column, Table, format_count, format_rate

pytestmark = pytest.mark.unit

UTC = dt.timezone.utc
SHOWN = nights.PublishedNight(publish_id=7, run_id="manual__2026-12-03T08:15:02.123456+00:00",
                              run_date=dt.date(2026, 11, 2), published_at=dt.datetime(2026, 11, 2, 20, 40, tzinfo=UTC))


@pytest.mark.parametrize(("logical_date", "run_after", "night"), [
    # `airflow dags test konvergensi_nightly 2026-11-02` (make run): logical date at midnight UTC
    (dt.datetime(2026, 11, 2, tzinfo=UTC), dt.datetime(2026, 12, 3, 8, 15, tzinfo=UTC), dt.date(2026, 11, 2)),
    # the schedule 0 19 * * * UTC is 02:00 WIB of the next calendar day
    (dt.datetime(2026, 11, 1, 19, 0, tzinfo=UTC), None, dt.date(2026, 11, 2)),
    # a manual run without a logical date: when it was due
    (None, dt.datetime(2026, 11, 2, 1, 0, tzinfo=UTC), dt.date(2026, 11, 2)),
])  # fmt: skip
def test_the_night_of_a_run_is_its_logical_date_in_wib(logical_date, run_after, night) -> None:
    assert nights.run_date_of(logical_date, run_after) == night


def test_the_banner_names_the_night_asked_for_and_the_one_shown() -> None:
    failed = nights.NightChoice(SHOWN, dt.date(2026, 11, 3), nights.GATE_FAILED, "r", failed_checks=2)
    assert failed.banner.startswith("Data malam 3 November 2026 TIDAK DITERBITKAN: gerbang mutu")
    assert "(2 pemeriksaan gagal)" in failed.banner and "2 November 2026" in failed.banner
    assert failed.output_date == dt.date(2026, 11, 3) and not failed.is_current
    never = nights.NightChoice(SHOWN, dt.date(2026, 10, 1), nights.NEVER_RUN)
    assert "Tidak ada proses malam untuk tanggal 1 Oktober 2026 yang tercatat sampai gerbang mutu" in never.banner
    current = nights.NightChoice(SHOWN, None, nights.SHOWN)
    assert current.banner is None and current.is_current and current.output_date == dt.date(2026, 11, 2)


def test_figures_are_written_the_indonesian_way() -> None:
    assert (format_count(12345), format_rate(12.25), format_rate(-0.04), format_rate(1234.5)) == (
        "12.345", "12,3", "0,0", "1.234,5")
    assert format_rate(None) == "–" and format_count(None) == "–"


def test_a_public_kelurahan_row_shows_small_counts_as_below_5_and_hides_their_rates() -> None:
    table = Table("t", "kelurahan", [Column("n", "n"), Column("k", "k"), Column("p", "p", "rate"), Column("q", "q", "rate")])
    row = table.add("a", "A", {"n": 40, "k": 3, "p": 7.5, "q": 50.0}, suppress_small=True,
                    rates_from={"p": ("k", "n"), "q": ("n",)})
    assert [row.cells[c].text for c in "nkpq"] == ["40", "<5", "–", "50,0"]
    zero = table.add("b", "B", {"n": 12, "k": 0, "p": 0.0, "q": 1.0}, suppress_small=True, rates_from={"p": ("k",)})
    assert zero.cells["k"].text == "<5" and zero.cells["p"].text == "–"
    internal = Table("t", "kelurahan", [Column("k", "k")]).add("a", "A", {"k": 3})
    assert internal.cells["k"].text == "3"


def test_a_missing_chromium_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from konvergensi import browser

    monkeypatch.setenv(browser.CHROMIUM_SETTING, str(tmp_path / "chromium"))
    with pytest.raises(browser.BrowserMissing, match="is not an executable: run make browser"):
        browser.print_to_pdf(tmp_path / "a.html", tmp_path / "a.pdf")
    assert not (tmp_path / "a.pdf").exists()
