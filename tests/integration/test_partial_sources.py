"""A city with only some of the sources: the night publishes what is configured (issue 11).

A tiny simulated city deploys its sources one by one, night after night, in one warehouse, through
the functions the DAG tasks call (nightly_tasks.ingest, ingest_family_data, extract, gate, publish)
and one real `dbt build` per night. The first night's build also runs every dbt unit test (they do
not depend on the data, and the production DAG leaves them out, as dbt advises); seeds are loaded on
the first night only, as they do not change:
1. e-PPGBM files only, nothing else configured (the default: no pulled-source URL, no bkkbn/ folder);
   then DTSEN is named in the settings at an address nobody answers: stale from the start, the gate
   fails and the night-1 marts stay published; and a setting naming an unknown source fails at start;
2. e-PPGBM and BKKBN files only (the default again: the bkkbn/ folder has arrived, DTSEN is dropped);
3. everything but DTSEN, named in KONVERGENSI_SOURCES although a DTSEN URL is in the environment.
Each night must pass the gate (warning for the sources that are not configured) and publish: the
health marts full, the convergence marts that need an absent source empty with the reason in
mart_source_freshness and in the summary, and the scorecard showing "no data" where a source is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from konvergensi import nightly_tasks, settings
from konvergensi.gate import GateFailed
from konvergensi.settings import dbt_env

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-02T00:00:00+07:00"
TOKEN = "partial-sources-token"
SOURCE_SETTINGS = ("KONVERGENSI_SOURCES", "KONVERGENSI_SERVICES_API_URL", "KONVERGENSI_SERVICES_API_TOKEN",
                   "KONVERGENSI_PUPR_API_URL", "KONVERGENSI_DTSEN_URL")
HEALTH_MARTS = ("fct_anthropometry", "dim_child", "mart_stunting_prevalence_monthly", "mart_data_quality_monthly",
                "mart_target_progress")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[dict]:
    """One tiny simulated city (its files, its API store served, its DTSEN database) and its warehouse."""
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("partial")
    files, store = root / "files", root / "store"
    files.mkdir()
    with _scratch_database(server_url) as dtsen_url, _scratch_database(server_url) as warehouse:
        write_city_sources(files, store, dtsen_url, seed=5, children=150, months=2, end_month="2026-10",
                           as_of=AS_OF, progress=False)
        landing = root / "landing"  # what has been delivered so far: the e-PPGBM exports
        shutil.copytree(files, landing, ignore=shutil.ignore_patterns("bkkbn"))
        with SourceServer(store, token=TOKEN, as_of=AS_OF, seed=2) as server:
            yield {"root": root, "files": files, "landing": landing, "server": server, "dtsen_url": dtsen_url,
                   "url": warehouse}


def night(city: dict, name: str, environment: dict[str, str], *, seeds: bool = False) -> dict:
    """Run one night as the DAG does; return what the tests look at."""
    landing, warehouse = city["landing"], city["url"]
    run_id = f"partial__{name}"
    with pytest.MonkeyPatch.context() as patch:
        for variable in SOURCE_SETTINGS:
            patch.delenv(variable, raising=False)
        for variable, value in {"WAREHOUSE_URL": warehouse, "KONVERGENSI_LANDING_DIR": str(landing),
                                "KONVERGENSI_HTTP_BACKOFF_SECONDS": "0.1", **environment}.items():
            patch.setenv(variable, value)
        patch.setattr(nightly_tasks, "EXTRACT_PAUSE_SECONDS", 0.0)
        clock = Clock(name)
        loads = {
            "eppgbm": nightly_tasks.ingest(run_id, str(landing)),
            "bkkbn": nightly_tasks.ingest_family_data(run_id, str(landing)),
            **{source: nightly_tasks.extract(source, run_id) for source in nightly_tasks.PULLED_SOURCES},
        }
        clock.lap("loads")
        build = dbt_build(warehouse, city["root"] / f"dbt-{name}", exclude=() if seeds else ("seed",), unit_tests=seeds)
        assert build.returncode == 0, build.stdout[-6000:]
        if seeds:  # the project's unit tests ran here, all passed
            results = json.loads((city["root"] / f"dbt-{name}" / "run_results.json").read_text())["results"]
            unit = [r["status"] for r in results if r["unique_id"].startswith("unit_test.")]
            assert len(unit) >= 40 and set(unit) == {"pass"}, (len(unit), set(unit))
        clock.lap("dbt build")
        gate = None
        try:
            gate = nightly_tasks.gate(run_id)
        except GateFailed as failure:
            gate = failure
            print(json.dumps(failure.result.failed, default=str)[:3000])
        clock.lap("gate")
        if not isinstance(gate, GateFailed):
            nightly_tasks.publish(run_id)
            clock.lap("publish")
    from konvergensi.summary import night_summary

    with psycopg.connect(warehouse) as connection:
        summary = night_summary(connection, run_id)
    print(f"\n──── night {name} ────\n{summary}")
    return {"loads": loads, "gate": gate, "summary": summary, "url": warehouse, "run_id": run_id,
            "extracts": count(warehouse, "ops.source_extracts"),
            "bkkbn_files": rows(warehouse, "select count(*) from ops.file_loads where source = 'bkkbn'")[0][0]}


class Clock:
    """Prints how long each step of a night took (the tests' time budget is reported, not asserted)."""

    def __init__(self, name: str) -> None:
        self.name, self.started = name, time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        print(f"[{self.name}] {step}: {now - self.started:.1f} s", flush=True)
        self.started = now


def dbt_build(warehouse: str, target: Path, select: str | None = None,
              exclude: tuple[str, ...] = (), unit_tests: bool = False) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).parent / "dbt"
    command = [str(dbt), "build", "--target-path", str(target), "--log-path", str(target)]
    for resource_type in (*(() if unit_tests else ("unit_test",)), *exclude):
        command += ["--exclude-resource-type", resource_type]
    if select:
        command += ["--select", select]
    environment = dict(os.environ, WAREHOUSE_URL=warehouse, **dbt_env(warehouse))
    return subprocess.run(command, cwd=PROJECT / "dbt_project", env=environment, capture_output=True, text=True,
                          timeout=900)  # fmt: skip


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def count(url: str, table: str) -> int:
    return rows(url, f"select count(*) from {table}")[0][0]


def freshness(url: str) -> dict[str, tuple]:
    return {source: tuple(rest) for source, *rest in rows(
        url, "select source, is_configured, source_status, is_stale, exceeds_max_staleness from marts.mart_source_freshness")}


def scorecard_no_data(url: str) -> set[str]:
    """Indicators of the city's latest quarter marked "no data"; each with null counts."""
    found = rows(url, """
        select indicator_code, y_count, t_count, ts_count from marts.mart_convergence_scorecard_indicators
        where wilayah_level = 'kota' and not has_data
          and quarter = (select max(quarter) from marts.mart_convergence_scorecard_indicators)""")
    assert all(counts == [None, None, None] for _, *counts in found), found
    return {code for code, *_ in found}


def warned(result: dict) -> set[tuple[str, str]]:
    return {(w["table"], w["expectation"]) for w in gate_row(result)[1]}


def gate_row(result: dict) -> tuple:
    return rows(result["url"], f"""
        select success, warnings, failed_expectations from ops.gate_runs
        where run_id = '{result['run_id']}' order by gate_run_id desc limit 1""")[0]


def assert_health_marts_published(url: str) -> None:
    for table in HEALTH_MARTS:
        assert count(url, f"marts.{table}") > 0, table


@pytest.fixture(scope="module")
def eppgbm_only(city: dict) -> dict:
    return night(city, "eppgbm-only", {}, seeds=True)


def test_eppgbm_only_publishes_the_health_marts(eppgbm_only: dict) -> None:
    result, url = eppgbm_only, eppgbm_only["url"]
    assert not isinstance(result["gate"], GateFailed), str(result["gate"])
    assert result["loads"]["eppgbm"]["files_loaded"] > 0
    assert all(result["loads"][s]["status"] == "not_configured" for s in ("bkkbn", *nightly_tasks.PULLED_SOURCES))
    assert result["extracts"] == 0 and result["bkkbn_files"] == 0
    assert_health_marts_published(url)
    for table in ("dim_household", "fct_intervention_delivered", "dim_pregnancy"):
        assert count(url, f"marts.{table}") == 0, table
    states = freshness(url)
    assert states["eppgbm"] == (True, "mutakhir", False, False)
    for source in ("bkkbn", *nightly_tasks.PULLED_SOURCES):
        assert states[source] == (False, "tidak dikonfigurasi", False, False), source
    assert ("mart_source_freshness", "source_not_configured") in warned(result)
    # only the measurements answer: weighed monthly and length measured; every other indicator has no data
    assert scorecard_no_data(url) == {f"IBU_0{n}" for n in range(1, 9)} | {
        "ANAK_01", "ANAK_04", "ANAK_05", "ANAK_06", "ANAK_07", "ANAK_08", "ANAK_09", "ANAK_10", "PAUD_01"}
    no_data = sorted(scorecard_no_data(url))
    assert rows(url, f"select count(*) from restricted.case_followup_tasks where task_code = any(array{no_data})") == [(0,)]
    assert count(url, "restricted.case_followup_children") > 0  # the stunted children are still listed
    assert rows(url, """select count(*) filter (where ind_anak_01 is not null), count(*) filter (where ind_anak_02 is not null)
                        from marts.fct_child_monthly""")[0][0] == 0  # no data, not T; weighing still answered
    assert rows(url, "select count(*) filter (where ind_anak_02 is not null) from marts.fct_child_monthly")[0][0] > 0
    assert rows(url, """select children_indicators_without_data, children_level is not null
                        from marts.mart_convergence_scorecard where wilayah_level = 'kota'
                        order by quarter desc limit 1""") == [(9, True)]
    text = result["summary"]
    assert "Quality gate: PASSED" in text and "Published: yes" in text
    assert "SOURCES NOT CONFIGURED" in text and "tidak dikonfigurasi" in text and "dtsen" in text
    assert "Stunting prevalence" in text


@pytest.fixture(scope="module")
def dtsen_unreachable(city: dict, eppgbm_only: dict) -> dict:
    """After night 1: DTSEN named at an address nobody answers (its freshness rebuilt, then the gate)."""
    url = city["url"]
    published_before = count(url, "ops.publish_log")
    run_id = "partial__dtsen-unreachable"
    with pytest.MonkeyPatch.context() as patch:
        for variable in SOURCE_SETTINGS:
            patch.delenv(variable, raising=False)
        patch.setenv("WAREHOUSE_URL", url)
        patch.setenv("KONVERGENSI_SOURCES", "eppgbm,dtsen")
        patch.setenv("KONVERGENSI_DTSEN_URL", "postgresql://nobody@127.0.0.1:9/dtsen")  # the discard port: refused
        patch.setattr(nightly_tasks, "EXTRACT_PAUSE_SECONDS", 0.0)
        assert nightly_tasks.extract("dtsen", run_id)["status"] == "stale"
        audit_like_published(url)  # stands for tonight's other marts: nothing else changed since night 1
        build = dbt_build(url, city["root"] / "dbt-unreachable", select="+mart_source_freshness")
        assert build.returncode == 0, build.stdout[-4000:]
        with pytest.raises(GateFailed) as failure:
            nightly_tasks.gate(run_id)
    return {"failure": str(failure.value), "published_before": published_before, "url": url,
            "freshness": rows(url, """select is_configured, source_status, is_stale, exceeds_max_staleness
                                      from marts_audit.mart_source_freshness where source = 'dtsen'""")}


def audit_like_published(url: str) -> None:
    """marts_audit and restricted_audit as copies of the published schemas (publish moved them there).

    Built as the transformer, who owns what dbt builds (docs/roles.md)."""
    with psycopg.connect(url) as connection:
        connection.execute("set role konvergensi_transformer")
        for audit, published in ((settings.marts_audit_schema(), "marts"), (settings.restricted_audit_schema(), "restricted")):
            connection.execute(f"drop schema if exists {audit} cascade")
            connection.execute(f"create schema {audit}")
            for (table,) in connection.execute(  # a partitioned table is copied whole, not partition by partition
                    "select c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace"
                    " where n.nspname = %s and c.relkind in ('r', 'p') and not c.relispartition", (published,)).fetchall():
                connection.execute(f"create table {audit}.{table} as table {published}.{table}")


def test_a_source_named_but_unreachable_is_stale_from_the_start_and_fails_the_gate(dtsen_unreachable: dict) -> None:
    failure = dtsen_unreachable["failure"]
    assert "mart_source_freshness_fail on mart_source_freshness: no_source_stale_too_long" in failure, failure
    # DTSEN being configured, the marts it feeds must not be empty and the linkage thresholds apply again
    assert "dim_household_fail on dim_household: not_empty" in failure, failure
    assert dtsen_unreachable["freshness"] == [(True, "belum pernah berhasil dimuat", True, True)]
    assert count(dtsen_unreachable["url"], "ops.publish_log") == dtsen_unreachable["published_before"]


def test_a_setting_naming_an_unknown_source_fails_at_start(city: dict, eppgbm_only: dict, dtsen_unreachable: dict,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", eppgbm_only["url"])
    monkeypatch.setenv("KONVERGENSI_SOURCES", "eppgbm,simpus")
    with pytest.raises(Exception, match="unknown source 'simpus'"):
        nightly_tasks.ingest("partial__unknown", str(city["landing"]))
    assert rows(eppgbm_only["url"], "select count(*) from ops.file_loads where run_id = 'partial__unknown'") == [(0,)]


@pytest.fixture(scope="module")
def eppgbm_and_bkkbn(city: dict, eppgbm_only: dict, dtsen_unreachable: dict) -> dict:
    shutil.copytree(city["files"] / "bkkbn", city["landing"] / "bkkbn")  # the family data arrive
    return night(city, "eppgbm-bkkbn", {})


def test_eppgbm_and_bkkbn_publish_households_from_the_family_data(eppgbm_and_bkkbn: dict) -> None:
    result, url = eppgbm_and_bkkbn, eppgbm_and_bkkbn["url"]
    assert not isinstance(result["gate"], GateFailed), str(result["gate"])
    assert result["loads"]["bkkbn"]["files_loaded"] > 0
    assert_health_marts_published(url)
    assert count(url, "marts.dim_household") > 0
    assert count(url, "marts.fct_intervention_delivered") == 0
    states = freshness(url)
    assert states["bkkbn"] == (True, "mutakhir", False, False)
    assert {s for s, state in states.items() if not state[0]} == set(nightly_tasks.PULLED_SOURCES)
    # BKKBN answers water and latrine; without the pregnancy register there are no women's targets at all
    assert scorecard_no_data(url) == {f"IBU_0{n}" for n in range(1, 9)} | {
        "ANAK_01", "ANAK_04", "ANAK_05", "ANAK_08", "ANAK_09", "ANAK_10", "PAUD_01"}
    assert "Published: yes" in result["summary"] and "SOURCES NOT CONFIGURED" in result["summary"]


@pytest.fixture(scope="module")
def all_but_dtsen(city: dict, eppgbm_and_bkkbn: dict) -> dict:
    server = city["server"]
    environment = {
        "KONVERGENSI_SOURCES": "eppgbm,bkkbn,services,pregnancies,pupr",
        "KONVERGENSI_SERVICES_API_URL": server.services_url,
        "KONVERGENSI_SERVICES_API_TOKEN": TOKEN,
        "KONVERGENSI_PUPR_API_URL": server.pupr_url,
        "KONVERGENSI_DTSEN_URL": city["dtsen_url"],  # present, but not named: not configured
    }
    return night(city, "all-but-dtsen", environment)


def test_everything_but_dtsen_publishes_the_convergence_marts(all_but_dtsen: dict) -> None:
    result, url = all_but_dtsen, all_but_dtsen["url"]
    assert not isinstance(result["gate"], GateFailed), str(result["gate"])
    assert result["loads"]["dtsen"]["status"] == "not_configured"
    for source in ("services", "pregnancies", "pupr_surveys", "pupr_projects"):
        assert result["loads"][source]["records_loaded"] > 0, source
    assert_health_marts_published(url)
    for table in ("dim_household", "fct_intervention_delivered", "dim_pregnancy", "mart_convergence_scorecard"):
        assert count(url, f"marts.{table}") > 0, table
    states = freshness(url)
    assert {s for s, state in states.items() if not state[0]} == {"dtsen"}
    assert states["dtsen"] == (False, "tidak dikonfigurasi", False, False)
    assert scorecard_no_data(url) == set()  # services, BKKBN and the surveys answer every indicator
    assert rows(url, "select count(*) from raw.dtsen_households")[0][0] == 0
    assert "Published: yes" in result["summary"] and "dtsen" in result["summary"]
