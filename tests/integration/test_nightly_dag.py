"""The whole night through real Airflow, dbt, Great Expectations and PostgreSQL on a small city.

One module-scoped warehouse goes through three nights:
1. a first night publishes marts;
2. the same night again changes no row (idempotent);
3. a bad batch (a puskesmas typed the year wrong: measurements in the future) fails the gate,
   the run fails naming the check, and the marts of night 1 stay published.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from konvergensi.settings import dbt_env

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
RUN_DATE = "2026-11-02"
MART_TABLES = (
    "dim_date", "dim_wilayah", "dim_facility", "dim_child", "fct_anthropometry",
    "mart_stunting_prevalence_monthly", "mart_data_quality_monthly",
)  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, test_database_url: str) -> dict:
    """A small simulated city, its landing dir, and an environment to run Airflow in."""
    from konvergensi_simulator import write_eppgbm_exports

    root = tmp_path_factory.mktemp("night")
    landing = root / "landing"
    landing.mkdir()
    truth = write_eppgbm_exports(landing, seed=11, children=800, months=3, end_month="2026-10")
    airflow_home = root / "airflow"
    source_home = Path(os.environ.get("AIRFLOW_HOME", PROJECT / ".data" / "airflow"))
    shutil.copytree(source_home, airflow_home, ignore=shutil.ignore_patterns("logs"))
    environment = dict(
        os.environ,
        WAREHOUSE_URL=test_database_url,
        KONVERGENSI_LANDING_DIR=str(landing),
        KONVERGENSI_DATA_DIR=str(root / "data"),
        AIRFLOW_HOME=str(airflow_home),
        PYTHONPATH=str(PROJECT / "include"),
        **dbt_env(test_database_url),
    )
    return {"landing": landing, "env": environment, "url": test_database_url, "truth": truth, "root": root}


def run_night(city: dict) -> subprocess.CompletedProcess:
    airflow = Path(sys.executable).parent / "airflow"
    return subprocess.run(
        [str(airflow), "dags", "test", "konvergensi_nightly", RUN_DATE],
        env=city["env"], capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def mart_state(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every published mart."""
    state = {}
    with psycopg.connect(url) as connection:
        for name in MART_TABLES:
            state[name] = connection.execute(
                f"select count(*), coalesce(md5(string_agg(md5(t::text), '' order by md5(t::text))), '') from marts.{name} t"
            ).fetchone()
    return state


def scalar(url: str, sql: str) -> object:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchone()[0]


@pytest.fixture(scope="module")
def first_night(city: dict) -> dict:
    result = run_night(city)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return mart_state(city["url"])


def test_first_night_publishes(city: dict, first_night: dict) -> None:
    url = city["url"]
    files = sum(1 for _ in city["landing"].iterdir())
    assert scalar(url, "select count(*) from ops.file_loads where status = 'loaded'") == files
    read, loaded, quarantined = (
        scalar(url, "select sum(rows_read) from ops.file_loads"),
        scalar(url, "select sum(rows_loaded) from ops.file_loads"),
        scalar(url, "select sum(rows_quarantined) from ops.file_loads"),
    )
    assert read == loaded + quarantined and quarantined > 0
    assert read == sum(f["rows"] for f in city["truth"]["files"].values())
    assert first_night["fct_anthropometry"][0] > 0.9 * loaded * 0.95
    assert scalar(url, "select bool_and(success) from ops.gate_runs") is True
    assert scalar(url, "select count(*) from ops.publish_log") == 1
    assert scalar(url, "select count(*) from marts.mart_stunting_prevalence_monthly where wilayah_level = 'city'") == 3
    # no personal data in the published schema
    columns = scalar(
        url,
        "select string_agg(column_name, ',') from information_schema.columns where table_schema = 'marts'",
    )
    for forbidden in ("nik", "child_name", "parent_name", "address", "kk_number", "phone", "birth_date"):
        assert forbidden not in columns.split(","), forbidden


def test_summary_reads_the_night(city: dict, first_night: dict) -> None:
    from konvergensi.summary import night_summary

    with psycopg.connect(city["url"]) as connection:
        text = night_summary(connection)
    loaded = scalar(city["url"], "select sum(rows_loaded) from ops.file_loads")
    assert f"loaded {loaded:,}" in text and "✓" in text
    assert "Quality gate: PASSED" in text and "Published: yes" in text
    assert "Kota Pekalongan" in text and "Pekalongan Utara" in text and "October 2026" in text


def test_same_night_again_changes_nothing(city: dict, first_night: dict) -> None:
    result = run_night(city)
    assert result.returncode == 0, result.stdout[-6000:]
    assert mart_state(city["url"]) == first_night
    last_run = scalar(city["url"], "select run_id from ops.load_batches order by batch_id desc limit 1")
    statuses = scalar(
        city["url"], f"select string_agg(distinct status, ',') from ops.file_loads where run_id = '{last_run}'"
    )
    assert statuses == "skipped"


def test_bad_batch_is_blocked_and_yesterdays_marts_stay(city: dict, first_night: dict) -> None:
    source = sorted(city["landing"].glob("*.csv"))[0]
    text = source.read_text(encoding="utf-8")
    bad = city["landing"] / ("typo_year_" + source.name)
    bad.write_text(text.replace("/2026", "/2062"), encoding="utf-8")
    result = run_night(city)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "quality gate failed" in output.lower() or "gatefailed" in output.lower(), output[-4000:]
    assert mart_state(city["url"]) == first_night
    assert scalar(city["url"], "select success from ops.gate_runs order by gate_run_id desc limit 1") is False
    assert scalar(city["url"], "select count(*) from ops.publish_log") == 2
