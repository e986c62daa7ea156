"""The faults package's city: one small simulated city, its servers, and a clean warehouse to compare with."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import harness

RUN_DATE = "2026-11-02"
AS_OF = "2026-11-02T00:00:00+07:00"


@pytest.fixture(scope="session")
def faults_city(tmp_path_factory: pytest.TempPathFactory, server_url: str) -> Iterator[harness.City]:
    """A small city with every source: files in the landing directory, DTSEN, the HTTP sources."""
    from konvergensi_simulator import write_city_sources
    from konvergensi_simulator.server import SourceServer

    from tests.conftest import _scratch_database

    root = tmp_path_factory.mktemp("faults")
    landing, store = root / "landing", root / "store"
    landing.mkdir()
    with _scratch_database(server_url) as dtsen_url:
        write_city_sources(landing, store, dtsen_url, seed=11, children=harness.CHILDREN, months=harness.MONTHS,
                           end_month="2026-10", as_of=AS_OF, progress=False)
        with SourceServer(store, token=harness.TOKEN, as_of=AS_OF, seed=3) as server:
            yield harness.City(root, landing, store, dtsen_url, server.services_url, server.pupr_url)


@pytest.fixture(scope="session")
def clean_warehouse(faults_city: harness.City, server_url: str) -> Iterator[dict]:
    """One clean night over the city's inputs: the warehouse every faulted one must equal."""
    from konvergensi.fingerprints import fingerprints

    from tests.conftest import _scratch_database

    with _scratch_database(server_url) as url:
        code, output = harness.run_night(faults_city, url, f"clean__{RUN_DATE}", "clean")
        assert code == 0, output[-4000:]
        yield {"url": url, "fingerprints": fingerprints(url), "reader_answer": reader_answer(url)}


def reader_answer(url: str) -> tuple:
    import psycopg

    with psycopg.connect(url) as connection:
        return tuple(connection.execute(harness.MartsReader.query()).fetchone())


@pytest.fixture(scope="session")
def fault_table(request: pytest.FixtureRequest) -> Iterator[list[tuple[str, str, str]]]:
    """Rows (fault, outcome, tables equal) the tests add; printed as a table at the end of the session."""
    rows: list[tuple[str, str, str]] = []
    yield rows
    if not rows:
        return
    widths = [max(len(r[i]) for r in [("fault", "outcome", "tables equal"), *rows]) for i in range(3)]
    lines = ["", "Kill tests and two nights at once:"]
    for row in [("fault", "outcome", "tables equal"), tuple("-" * w for w in widths), *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    text = "\n".join(lines)
    out = Path(os.environ.get("KONVERGENSI_DATA_DIR", ".data")) / "faults-table.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for line in lines:
            reporter.write_line(line)
