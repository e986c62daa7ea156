"""`make bi` on a small published night: Superset in its own virtualenv, the dashboard and its numbers.

1. `python -m konvergensi.bi run` (what `make bi` runs) starts Superset from .venv-superset against the
   night's warehouse, connected as konvergensi_bi, and provisions the dashboard; the admin password and
   SECRET_KEY are generated into a file of mode 0600 in the data directory;
2. `python -m konvergensi.bi provision` a second time changes nothing: the same ids, the same numbers of
   datasets, charts and dashboards;
3. every chart's rows from `GET /api/v1/chart/<id>/data/` equal the same question asked in SQL of the
   warehouse (printed as a table);
4. headless Chromium draws the dashboard: a canvas for every ECharts chart, rows for every table, no
   error box; the screenshot is kept in <data dir>/test-artefacts/;
5. `python -m konvergensi.bi stop` stops it; a taken port and a missing installation are named.

The Superset virtualenv takes minutes to install; `make test` installs it first (`make superset-venv`),
and the fixture below does when it is missing (a run of pytest from a fresh clone).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import struct
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import psycopg
import pytest

from konvergensi import roles
from konvergensi.bi import dashboard, server
from konvergensi.bi.api import SupersetClient
from konvergensi.processes import alive, port_free
from tests.service_output import Output, free_port

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]

LATEST_PREVALENCE = "(select max(month_start) from bi.bi_stunting_prevalence_monthly)"
LATEST_QUALITY = "(select max(month_start) from bi.bi_data_quality_monthly)"
# Each chart's question, asked independently of Superset: the columns in the chart's order.
EXPECTED_SQL = {
    "prevalence_by_kecamatan": f"""
        select wilayah_name, max(stunting_pct), max(severe_stunting_pct) from bi.bi_stunting_prevalence_monthly
        where month_start = {LATEST_PREVALENCE} and wilayah_level = 'kecamatan' group by wilayah_name""",
    "city_trend": """
        select date_trunc('month', period_start)::date,
               max(prevalence_pct) filter (where source_type = 'register'),
               max(prevalence_pct) filter (where source_type = 'survey'),
               max(prevalence_pct) filter (where source_type not in ('register', 'survey')),
               max(city_target_pct), max(national_target_pct)
        from bi.bi_city_target_trend group by 1""",
    "prevalence_by_kelurahan": f"""
        select wilayah_name, max(stunting_pct) from bi.bi_stunting_prevalence_monthly
        where month_start = {LATEST_PREVALENCE} and wilayah_level = 'kelurahan' group by wilayah_name""",
    "scorecard_by_kelurahan": """
        select quarter, wilayah_name, max(combined_level) from bi.bi_convergence_scorecard_quarterly
        where wilayah_level = 'kelurahan' group by quarter, wilayah_name""",
    "scorecard_city": """
        select quarter, max(women_level), max(children_level), max(combined_level)
        from bi.bi_convergence_scorecard_quarterly where wilayah_level = 'kota' group by quarter""",
    "risk_factor_profile": """
        select factor_label, max(stunted_with_pct), max(not_stunted_with_pct) from bi.bi_risk_factor_profile
        where wilayah_level = 'kota' group by factor_label""",
    "data_quality_by_puskesmas": f"""
        select puskesmas_name, max(haz_flagged_pct), max(waz_flagged_pct), max(whz_flagged_pct)
        from bi.bi_data_quality_monthly where month_start = {LATEST_QUALITY} group by puskesmas_name""",
    "data_quality_details": f"""
        select puskesmas_name, measurements, sd_haz, unknown_kelurahan, duplicate_rows, eppgbm_haz_disagree,
               suppressed_cells
        from bi.bi_data_quality_monthly where month_start = {LATEST_QUALITY}""",
    "source_staleness": """
        select source_label, max(days_since_last_load), max(max_stale_days) from bi.bi_source_freshness
        group by source_label""",
    "stale_sources": """
        select source_label, source_status, status_reason, last_loaded_at, days_since_last_load,
               exceeds_max_staleness
        from bi.bi_source_freshness""",
}


# --- the Superset installation ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def superset_installed() -> None:
    """.venv-superset and its metadata template; installed here when missing (minutes, outside the timed part)."""
    if (server.venv_dir() / ".installed").exists() and server.template_file().exists():
        return
    print(f"\n[superset] {server.venv_dir()} is missing or incomplete: `make superset-venv` (a few minutes) …",
          flush=True)
    started = time.monotonic()
    done = subprocess.run(["make", "--no-print-directory", "superset-venv"], cwd=PROJECT, timeout=1800)
    assert done.returncode == 0, "make superset-venv failed"
    print(f"[superset] installed in {time.monotonic() - started:.0f} s", flush=True)


def _environment(data: Path, **extra: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("SUPERSET_") or key == "SUPERSET_VENV"}  # fmt: skip
    environment.update(KONVERGENSI_DATA_DIR=str(data), PYTHONPATH=str(PROJECT / "include"), **extra)
    return environment


def _bi(data: Path, *arguments: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "konvergensi.bi", *arguments], env=_environment(data, **extra),
                          capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def superset(superset_installed: None, published_night: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`python -m konvergensi.bi run` against the night, until the module's tests are done."""
    data = tmp_path_factory.mktemp("superset") / "data"
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "konvergensi.bi", "run", "--port", str(port)],
                               env=_environment(data, WAREHOUSE_URL=published_night.url),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    output = Output(process)
    try:
        output.wait_for("Stop with Ctrl-C", process, timeout=300)
        print(f"\n[superset] up and provisioned in {time.monotonic() - started:.1f} s", flush=True)
        secrets = json.loads((data / "superset" / "secrets.json").read_text())
        yield {"process": process, "output": output, "data": data, "port": port, "base": f"http://127.0.0.1:{port}",
               "password": secrets["admin_password"], "night": published_night}
    finally:
        stopped = _bi(data, "stop")
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"[superset] stopped: {stopped.stdout.strip()} {stopped.stderr.strip()}", flush=True)


def _client(superset: dict) -> SupersetClient:
    return SupersetClient(superset["base"], "admin", superset["password"])


def _inventory(client: SupersetClient) -> dict[str, Any]:
    def ids(resource: str, name: str) -> dict[str, int]:
        found = client.get(f"/api/v1/{resource}/", page_size=100, columns=["id", name])
        return {row[name]: row["id"] for row in found["result"]} | {"count": found["count"]}

    return {"databases": ids("database", "database_name"), "datasets": ids("dataset", "table_name"),
            "charts": ids("chart", "slice_name"), "dashboards": ids("dashboard", "dashboard_title")}


# --- the tests ----------------------------------------------------------------------------------------


def test_superset_runs_as_the_bi_role_with_private_secrets(superset: dict) -> None:
    assert any("Superset is running: " + superset["base"] in line for line in superset["output"].lines)
    secrets_file = superset["data"] / "superset" / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((superset["data"] / "superset" / "superset.db").stat().st_mode) == 0o600
    password = json.loads(secrets_file.read_text())["admin_password"]
    assert password not in "\n".join(superset["output"].lines)
    client = _client(superset)
    database = client.find("database", "database_name", dashboard.DATABASE_NAME)
    assert len(database) == 1
    connection = client.get(f"/api/v1/database/{database[0]['id']}/connection")["result"]
    assert connection["sqlalchemy_uri"].startswith(f"postgresql+psycopg2://{roles.BI}:")
    assert roles.role_password(roles.BI) not in json.dumps(connection)
    assert not connection["allow_dml"] and not connection["allow_file_upload"]


def test_provisioning_twice_changes_nothing(superset: dict) -> None:
    client = _client(superset)
    before = _inventory(client)
    started = time.monotonic()
    again = _bi(superset["data"], "provision", "--url", superset["base"], WAREHOUSE_URL=superset["night"].url)
    seconds = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    after = _inventory(client)
    print(f"\nsecond provisioning in {seconds:.1f} s: {again.stdout.strip()}")
    for kind in ("databases", "datasets", "charts", "dashboards"):
        print(f"  {kind}: {before[kind]['count']} before, {after[kind]['count']} after")
    assert after == before
    assert "(0 created," in again.stdout
    assert before["datasets"]["count"] == len(dashboard.DATASETS)
    assert before["charts"]["count"] == len(dashboard.CHARTS) and before["dashboards"]["count"] == 1
    dashboard_id = before["dashboards"][dashboard.DASHBOARD_TITLE]
    on_dashboard = {chart["slice_name"] for chart in client.get(f"/api/v1/dashboard/{dashboard_id}/charts")["result"]}
    assert on_dashboard == {chart.title for chart in dashboard.CHARTS}


def _plain(value: Any) -> Any:
    """A warehouse value as Superset's JSON carries it: numbers as floats, dates and times as epoch milliseconds."""
    if isinstance(value, dt.datetime):
        return round(value.timestamp() * 1000, 1)
    if isinstance(value, dt.date):
        return round(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp() * 1000, 1)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 1) if isinstance(value, (float, Decimal)) else float(value)
    return value


def _chart_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return round(float(value), 1)


def _rows(result: dict[str, Any], columns: list[str]) -> list[tuple]:
    return sorted((tuple(_chart_value(row[column]) for column in columns) for row in result["data"]), key=repr)


@pytest.fixture(scope="module")
def chart_data(superset: dict) -> dict[str, dict[str, Any]]:
    """Each chart's id and result from `GET /api/v1/chart/<id>/data/` (its saved query), by chart key."""
    client = _client(superset)
    ids = {chart["slice_name"]: chart["id"] for chart in client.get("/api/v1/chart/", page_size=100)["result"]}
    return {chart.key: {"id": ids[chart.title], **client.get(f"/api/v1/chart/{ids[chart.title]}/data/")["result"][0]}
            for chart in dashboard.CHARTS}


def test_every_chart_shows_the_warehouse_numbers(superset: dict, chart_data: dict) -> None:
    assert set(EXPECTED_SQL) == {chart.key for chart in dashboard.CHARTS}
    table = [("chart", "rows (Superset)", "rows (SQL)", "values", "equal")]
    failures = []
    with psycopg.connect(superset["night"].role_url(roles.BI)) as connection:  # the same role Superset uses
        for chart in dashboard.CHARTS:
            result = chart_data[chart.key]
            shown = _rows(result, result["colnames"])
            expected = sorted((tuple(_plain(value) for value in row)
                               for row in connection.execute(EXPECTED_SQL[chart.key]).fetchall()), key=repr)  # fmt: skip
            numbers = sum(1 for row in shown for value in row if isinstance(value, float))
            equal = shown == expected
            table.append((chart.key, str(len(shown)), str(len(expected)), str(numbers), "yes" if equal else "NO"))
            if not equal:
                failures.append(f"{chart.key}: Superset {shown[:5]} … SQL {expected[:5]} …")
            assert numbers > 0, f"{chart.key}: not one number to compare"
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    print("\n" + "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in table))
    assert not failures, "\n".join(failures)


def _session_cookie(base: str, password: str) -> str:
    """Log in through Superset's login form (as a person would) and return the session cookie."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=60).read().decode()
    token = re.search(r'name="csrf_token"\s+id="csrf_token"\s+value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "admin", "password": password, "csrf_token": token}).encode()
    opener.open(f"{base}/login/", form, timeout=60).read()
    return next(cookie.value for cookie in jar if cookie.name == "session")


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


CHART_STATE = """
return Array.from(document.querySelectorAll('[data-test-chart-id]')).map(holder => ({
    name: holder.getAttribute('data-test-chart-name'),
    canvas: Array.from(holder.querySelectorAll('canvas')).filter(c => c.width > 0 && c.height > 0).length,
    rows: holder.querySelectorAll('table tbody tr').length,
    errors: holder.querySelectorAll('.ant-alert-error, [role=alert], [data-test=error-tooltip]').length,
}));
"""


def _drawn_data(browser: Any) -> dict[int, dict[str, Any]]:
    """The rows the dashboard's own chart requests got (POST /api/v1/chart/data), by chart id, from Chromium's log."""
    requests = {}
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent" and "/api/v1/chart/data" in message["params"]["request"]["url"]:
            posted = json.loads(message["params"]["request"].get("postData") or "{}")
            requests[message["params"]["requestId"]] = posted.get("form_data", {}).get("slice_id")
    drawn = {}
    for request_id, chart_id in requests.items():
        body = browser.execute_cdp_cmd("Network.getResponseBody", {"requestId": request_id})["body"]
        drawn[chart_id] = json.loads(body)["result"][0]
    return drawn


def test_the_dashboard_renders_in_chromium(superset: dict, chart_data: dict) -> None:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from konvergensi.settings import data_dir

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1600,1200",
                     '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # to read the chart data it fetched
    artefacts = data_dir() / "test-artefacts"  # kept: pytest's tmp directories are rotated by later sessions
    artefacts.mkdir(exist_ok=True)
    screenshot = artefacts / f"superset-dashboard-{time.strftime('%Y%m%dT%H%M%S')}.png"
    tables = {chart.title for chart in dashboard.CHARTS if chart.viz_type == "table"}
    started = time.monotonic()
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        browser.get(f"{superset['base']}/health")
        browser.add_cookie({"name": "session", "value": _session_cookie(superset["base"], superset["password"]),
                            "path": "/"})
        browser.get(f"{superset['base']}/superset/dashboard/{dashboard.DASHBOARD_SLUG}/?standalone=1")

        def drawn(driver: Any) -> list[dict] | bool:
            state = driver.execute_script(CHART_STATE)
            done = len(state) == len(dashboard.CHARTS) and all(
                (chart["rows"] > 0 if chart["name"] in tables else chart["canvas"] > 0) or chart["errors"]
                for chart in state)  # fmt: skip
            return state if done else False

        try:
            state = WebDriverWait(browser, 120, poll_frequency=1).until(drawn)
        except TimeoutException:
            state = browser.execute_script(CHART_STATE)
            browser.save_screenshot(str(screenshot))
            pytest.fail(f"the dashboard did not draw every chart in 120 s (screenshot {screenshot}): {state}")
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1600, max(1200, height + 50))
        time.sleep(1)  # charts resize to the taller window
        state = browser.execute_script(CHART_STATE)
        page_errors = browser.find_elements(By.CSS_SELECTOR, ".ant-alert-error, [data-test=error-tooltip]")
        browser.save_screenshot(str(screenshot))
        drawn_data = _drawn_data(browser)
    finally:
        browser.quit()
    width, height = _png_size(screenshot)
    drawn_charts = sum(1 for chart in state if chart["canvas"] > 0 or chart["rows"] > 0)
    print(f"\ndashboard drawn in {time.monotonic() - started:.1f} s; screenshot {screenshot}: {width}x{height} px, "
          f"{screenshot.stat().st_size // 1024} KiB, {drawn_charts} of {len(dashboard.CHARTS)} charts drawn")
    by_title = {chart.title: chart.key for chart in dashboard.CHARTS}
    different = []
    for chart in state:
        saved = chart_data[by_title[chart["name"]]]
        fetched = drawn_data.get(saved["id"])
        same = fetched is not None and _rows(fetched, saved["colnames"]) == _rows(saved, saved["colnames"])
        if not same:
            different.append(chart["name"])
        print(f"  {chart['name']}: canvas {chart['canvas']}, table rows {chart['rows']}, error boxes {chart['errors']}, "
              f"rows drawn {fetched['rowcount'] if fetched else '—'} = rows of its saved query: {'yes' if same else 'NO'}")
    # the numbers drawn are those compared with SQL above: the frontend's query and the saved one agree
    assert not different, different
    assert {chart["name"] for chart in state} == {chart.title for chart in dashboard.CHARTS}
    assert all(chart["errors"] == 0 for chart in state) and not page_errors
    for chart in state:
        assert (chart["rows"] > 0) if chart["name"] in tables else (chart["canvas"] > 0), chart
    assert width == 1600 and height > 2000


def test_a_taken_port_and_a_missing_installation_are_named(superset: dict, tmp_path: Path) -> None:
    taken = _bi(tmp_path / "data", "run", "--port", str(superset["port"]), WAREHOUSE_URL=superset["night"].url)
    assert taken.returncode == 2
    assert f"port {superset['port']} on 127.0.0.1 is taken" in taken.stderr and "SUPERSET_PORT" in taken.stderr
    missing = _bi(tmp_path / "data", "run", "--port", str(free_port()), WAREHOUSE_URL=superset["night"].url,
                  SUPERSET_VENV=str(tmp_path / "no-venv"))
    assert missing.returncode == 2
    assert "Superset is not installed" in missing.stderr and "make bi" in missing.stderr


def test_a_warehouse_without_a_published_night_is_named(test_database_url: str) -> None:
    """Roles applied, no night published yet: the BI role sees no bi tables, and provisioning says so."""
    from konvergensi.bi.provision import ProvisionError, check_warehouse

    with pytest.raises(ProvisionError, match=r"the BI role sees no bi\.bi_city_target_trend, .* no night has been published"):
        check_warehouse(roles.role_url(roles.BI, test_database_url))


def test_make_stop_stops_superset(superset: dict) -> None:
    gunicorn = json.loads((superset["data"] / "superset" / "superset.json").read_text())["server"]
    stopped = _bi(superset["data"], "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert superset["process"].wait(timeout=60) == 0
    assert not (superset["data"] / "superset" / "superset.json").exists()
    assert not alive(gunicorn) and port_free("127.0.0.1", superset["port"])
