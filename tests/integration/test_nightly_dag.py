"""The whole night through real Airflow, dbt, Great Expectations and PostgreSQL on a small city.

Every source takes part: e-PPGBM and BKKBN files in the landing directory, the DTSEN database, and
the services API and public-works GeoJSON served over real HTTP by the source simulator (which now
and then answers 5xx). One module-scoped warehouse goes through three nights and a refused run:
1. a first night publishes the marts and the field teams' lists, although the services API fails
   its first requests (retried);
2. the same night again with the services API down all night: the night still publishes, with
   services and pregnancies marked stale and their previous data, and every other mart is exactly
   night 1's (idempotent re-run);
3. a bad batch (a puskesmas typed the year wrong: measurements in the future) fails the gate, the
   run fails naming the check, and the marts of night 2 stay published;
4. a run started while another night holds the night lease fails at its first task, loading nothing.
Each night's dbt work is one `dbt build` (Cosmos watcher mode) with a task per dbt node reporting
its result. Incremental pulls (only new and changed records) are tested per extractor in
test_source_extracts.py; the gate's checks one by one on synthetic marts in test_gate_publish.py.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from konvergensi.settings import dbt_env

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
RUN_DATE = "2026-11-02"
AS_OF = "2026-11-02T00:00:00+07:00"
TOKEN = "night-test-token"
# mart_source_freshness changes with every attempt by design; every other published table is compared.
UNCOMPARED_MARTS = {"mart_source_freshness"}
MART_TABLES = (
    "dim_date", "dim_wilayah", "dim_facility", "dim_child", "fct_anthropometry",
    "mart_stunting_prevalence_monthly", "mart_data_quality_monthly", "dim_intervention", "dim_pregnancy",
    "dim_household", "fct_intervention_delivered", "fct_household_risk_monthly", "fct_child_monthly",
    "mart_convergence_scorecard", "mart_convergence_scorecard_indicators", "mart_linkage_rates",
    "mart_target_progress", "mart_risk_factor_profile", "mart_situation_analysis",
    "mart_household_complete_services_quarterly", "mart_missing_interventions_by_agency",
    "mart_perpres_coverage_quarterly", "mart_anthropometry_quality_monthly", "mart_posyandu_monthly",
)  # fmt: skip
PERSONAL_COLUMNS = ("nik", "child_name", "parent_name", "mother_name", "member_name", "address", "kk_number",
                    "phone", "birth_date", "rt", "rw", "head_name", "recipient_name", "longitude", "latitude")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[dict]:
    """A small simulated city with every source, its servers, and an environment to run Airflow in."""
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("night")
    landing, store = root / "landing", root / "store"
    landing.mkdir()
    # a warehouse of its own: the session database is shared with other modules
    with _scratch_database(server_url) as test_database_url, _scratch_database(server_url) as dtsen_url:
        truth = write_city_sources(landing, store, dtsen_url, seed=11, children=600, months=3, end_month="2026-10",
                                   as_of=AS_OF, progress=False)
        airflow_home = root / "airflow"
        source_home = Path(os.environ.get("AIRFLOW_HOME", PROJECT / ".data" / "airflow"))
        shutil.copytree(source_home, airflow_home, ignore=shutil.ignore_patterns("logs"))
        with SourceServer(store, token=TOKEN, as_of=AS_OF, seed=3) as server:
            environment = dict(
                os.environ,
                WAREHOUSE_URL=test_database_url,
                KONVERGENSI_LANDING_DIR=str(landing),
                KONVERGENSI_DATA_DIR=str(root / "data"),
                KONVERGENSI_SERVICES_API_URL=server.services_url,
                KONVERGENSI_SERVICES_API_TOKEN=TOKEN,
                KONVERGENSI_PUPR_API_URL=server.pupr_url,
                KONVERGENSI_DTSEN_URL=dtsen_url,
                KONVERGENSI_HTTP_BACKOFF_SECONDS="0.2",
                KONVERGENSI_HTTP_TIMEOUT_SECONDS="10",
                # a source that is down is retried as in production, only without waiting seconds between tries
                KONVERGENSI_HTTP_RETRY_AFTER_CAP_SECONDS="0.2",
                KONVERGENSI_EXTRACT_PAUSE_SECONDS="0.2",
                AIRFLOW_HOME=str(airflow_home),
                PYTHONPATH=str(PROJECT / "include"),
                **dbt_env(test_database_url),
            )
            yield {"landing": landing, "env": environment, "url": test_database_url, "truth": truth, "root": root,
                   "server": server}


def failure_report(result: subprocess.CompletedProcess) -> str:
    """The lines of a failed night that say what failed, then its end."""
    lines = (result.stdout + result.stderr).splitlines()
    said = [line for line in lines if "[error" in line or "Task failed" in line or "FAIL " in line or "Error" in line]
    return "\n".join(said[-60:]) + "\n…\n" + "\n".join(lines[-40:])


def run_night(city: dict) -> subprocess.CompletedProcess:
    """One night through `airflow dags test`; its whole output is kept beside the city (night-N.log)."""
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run(
        [str(airflow), "dags", "test", "konvergensi_nightly", RUN_DATE],
        env=city["env"], capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    city["nights"] = city.get("nights", 0) + 1
    (city["root"] / f"night-{city['nights']}.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return result


def transform_tasks(result: subprocess.CompletedProcess) -> dict[str, int]:
    """How many tasks of the night were dbt tasks, and how many of those started dbt."""
    output = result.stdout + result.stderr
    started = re.findall(r"\[DAG TEST\] starting task_id=(\S+)", output)
    return {
        "tasks": len(started),
        "dbt tasks": sum(1 for task_id in started if task_id.startswith("transform.")),
        "dbt invocations": len(re.findall(r"Trying to run dbtRunner with", output)),
    }


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


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def latest_extracts(url: str) -> dict[str, tuple]:
    """source -> (status, read, loaded, quarantined) of the latest run's extracts."""
    found = rows(url, """
        select source, status, records_read, records_loaded, records_quarantined from ops.source_extracts
        where run_id = (select run_id from ops.source_extracts order by extract_id desc limit 1)
        order by extract_id""")
    return {source: rest for source, *rest in found}


@pytest.fixture(scope="module")
def first_night(city: dict) -> dict:
    city["server"].fail_next(2)  # the services API stumbles at first: its requests are retried
    result = run_night(city)
    assert result.returncode == 0, failure_report(result)
    city["first_night_tasks"] = transform_tasks(result)
    print(f"\nnight 1: {city['first_night_tasks']}")
    return mart_state(city["url"])


def test_the_nights_compare_every_published_mart() -> None:
    """A mart added to the project without being added here would escape the idempotency and blocked-night checks."""
    marts = {path.stem for path in (PROJECT / "dbt_project" / "models" / "marts").rglob("*.sql")}
    assert marts - UNCOMPARED_MARTS == set(MART_TABLES)


def test_first_night_publishes_every_source(city: dict, first_night: dict) -> None:
    url = city["url"]
    assert scalar(url, "select count(*) from ops.file_loads where status <> 'loaded'") == 0
    read, loaded, quarantined = rows(
        url, "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ops.file_loads")[0]
    assert read == loaded + quarantined and quarantined > 0
    eppgbm_rows = scalar(url, "select sum(rows_read) from ops.file_loads where source = 'eppgbm'")
    assert eppgbm_rows == sum(f["rows"] for f in city["truth"]["eppgbm"]["files"].values())
    extracts = latest_extracts(url)
    assert set(extracts) == {"services", "pregnancies", "dtsen", "pupr_surveys", "pupr_projects"}
    for source, (status, read, loaded, quarantined) in extracts.items():
        assert status == "loaded" and read == loaded + quarantined and loaded > 0, source
    assert scalar(url, "select max(attempts) from ops.source_extracts where source = 'services'") > 1  # retried
    assert scalar(url, "select bool_and(success) from ops.gate_runs") is True
    assert scalar(url, "select count(*) from ops.publish_log") == 1
    assert rows(url, "select run_id from ops.night_lease") == []  # released by the teardown task
    assert scalar(url, "select count(*) from marts.mart_convergence_scorecard where wilayah_level = 'kota'") > 0
    assert scalar(url, "select count(*) from restricted.case_followup_children") > 0
    assert scalar(url, "select bool_or(is_stale) from marts.mart_source_freshness") is False
    # one `dbt build` did the whole night's dbt work: every node of it is in run_results, none failed
    assert city["first_night_tasks"]["dbt invocations"] == 1
    nodes, failed, sql_wall, task_seconds = rows(
        url, "select nodes, failed_nodes, sql_wall_seconds, task_seconds from ops.transform_runs")[0]
    assert nodes > 300 and failed == 0 and 0 < sql_wall < task_seconds
    for schema in ("marts",):
        columns = {r[0] for r in rows(url, f"select column_name from information_schema.columns where table_schema = '{schema}'")}
        assert not columns & set(PERSONAL_COLUMNS), columns & set(PERSONAL_COLUMNS)


def test_the_published_night_has_its_report_and_documentation(city: dict, first_night: dict) -> None:
    """The two tasks after publish_marts: both editions of the report, and the docs index linking them."""
    data_dir = city["root"] / "data"
    index = (data_dir / "index.html").read_text()
    assert (data_dir / "docs" / "dbt" / "static_index.html").is_file()
    assert 'href="docs/dbt/static_index.html"' in index
    assert scalar(city["url"], "select run_id from ops.publish_log") in index
    for edition in ("laporan-konvergensi", "laporan-konvergensi-publik"):
        for suffix in (".html", ".pdf"):
            assert (data_dir / "reports" / "latest" / f"{edition}{suffix}").stat().st_size > 10_000, edition + suffix
        assert f'href="reports/latest/{edition}.html"' in index, edition


def test_summary_reads_the_night(city: dict, first_night: dict) -> None:
    from konvergensi.summary import night_summary

    with psycopg.connect(city["url"]) as connection:
        text = night_summary(connection)
    loaded = scalar(city["url"], "select sum(rows_loaded) from ops.file_loads")
    assert f"loaded {loaded:,}" in text and "✓" in text
    assert "Quality gate: PASSED" in text and "Published: yes" in text
    assert "dbt build (one invocation" in text and "SQL share of the task" in text
    assert "Tingkat konvergensi" in text and "Pekalongan Utara" in text and "Family linkage" in text
    assert "October 2026" in text and "SSGI" in text


@pytest.fixture(scope="module")
def night_with_services_down(city: dict, first_night: dict) -> dict:
    services_before = scalar(city["url"], "select count(*) from raw.mch_services")
    city["server"].set_down("services")
    try:
        result = run_night(city)
    finally:
        city["server"].set_down(False)
    assert result.returncode == 0, failure_report(result)
    return {"state": mart_state(city["url"]), "services_before": services_before, "output": result.stdout}


def test_a_source_down_publishes_with_it_marked_stale(city: dict, first_night: dict, night_with_services_down: dict) -> None:
    url = city["url"]
    extracts = latest_extracts(url)
    assert extracts["services"][0] == "failed" and extracts["pregnancies"][0] == "failed"
    assert extracts["dtsen"][0] == "loaded" and extracts["pupr_surveys"][0] == "loaded"
    stale = dict(rows(url, "select source, is_stale from marts.mart_source_freshness"))
    assert stale["services"] is True and stale["pregnancies"] is True and stale["dtsen"] is False
    assert scalar(url, "select count(*) from raw.mch_services") == night_with_services_down["services_before"]
    # nothing new arrived anywhere else, so every other mart is exactly night 1's
    assert night_with_services_down["state"] == first_night
    from konvergensi.summary import night_summary

    with psycopg.connect(url) as connection:
        assert "STALE SOURCES" in night_summary(connection)


def test_bad_batch_is_blocked_and_yesterdays_marts_stay(city: dict, night_with_services_down: dict) -> None:
    url = city["url"]
    source = sorted(city["landing"].glob("eppgbm_*.csv"))[0]
    text = source.read_text(encoding="utf-8")
    assert "/2026" in text
    (city["landing"] / f"typo_year_{source.name}").write_text(text.replace("/2026", "/2062"), encoding="utf-8")
    freshness_before = rows(url, "select * from marts.mart_source_freshness order by 1")

    result = run_night(city)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "measured_on_not_in_future" in output, failure_report(result)
    assert scalar(url, "select success from ops.gate_runs order by gate_run_id desc limit 1") is False
    assert scalar(url, "select count(*) from ops.publish_log") == 2
    assert mart_state(url) == night_with_services_down["state"]
    assert rows(url, "select * from marts.mart_source_freshness order by 1") == freshness_before
    assert scalar(url, "select count(*) from ops.transform_runs") == 3
    # the teardown gave the night lease back although the night failed, and the run stayed failed
    assert rows(url, "select run_id from ops.night_lease") == []
    assert "release_night_lease" in output
    from konvergensi.summary import night_summary

    with psycopg.connect(url) as connection:
        assert "Quality gate: FAILED" in night_summary(connection)


def test_a_run_beside_another_nights_lease_is_refused_and_loads_nothing(city: dict) -> None:
    """A backfill or a second deployment's run while another night holds the lease (this process holds it)."""
    from konvergensi import night_lease

    url = city["url"]
    loads_before = rows(url, "select (select count(*) from ops.load_batches), (select count(*) from ops.source_extracts)")
    night_lease.take("scheduled__2026-11-02", "another deployment's night", url=url)
    try:
        result = run_night(city)
        assert rows(url, "select run_id from ops.night_lease") == [("scheduled__2026-11-02",)]
    finally:
        night_lease.release("scheduled__2026-11-02", url)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "night run scheduled__2026-11-02" in output and "did not start (nothing was loaded)" in output, failure_report(result)
    # no task after the lease started, the teardown neither (it releases only a lease its run took)
    assert re.findall(r"\[DAG TEST\] starting task_id=(\S+)", output) == ["take_night_lease"]
    assert rows(url, "select (select count(*) from ops.load_batches), (select count(*) from ops.source_extracts)") == loads_before
