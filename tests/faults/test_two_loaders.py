"""Two loads of the same source at once, without the night lock (two deployments, a task cleared by hand).

Real processes: two e-PPGBM loads and two services extracts start together on one warehouse. The
per-source advisory locks serialise them: the second load finds every file already loaded (same
checksum) and skips it; the second extract re-reads from the first one's watermark and changes no
row. Nothing is loaded twice: the raw tables equal those of one load and one extract run alone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from konvergensi.fingerprints import fingerprints
from tests.faults import harness
from tests.faults.conftest import RUN_DATE

pytestmark = pytest.mark.faults

LOAD = "import sys; from konvergensi import nightly_tasks; nightly_tasks.{call}"


def together(city: harness.City, url: str, call: str, runs: tuple[str, str]) -> list[subprocess.CompletedProcess]:
    processes = [
        subprocess.Popen([sys.executable, "-c", LOAD.format(call=call.format(run=run))], env=city.env(url),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=harness.PROJECT)
        for run in runs
    ]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=600), p.stdout.read(), "") for p in processes]


def test_two_loads_and_two_extracts_at_once_load_once(faults_city, server_url, fault_table) -> None:
    from tests.conftest import _scratch_database

    landing = str(faults_city.landing)
    tables = ("raw.eppgbm_measurements", "raw.eppgbm_quarantine", "raw.mch_services", "raw.source_quarantine")
    with _scratch_database(server_url) as alone:
        for done in (together(faults_city, alone, f"ingest('{{run}}', {landing!r})", (f"alone__{RUN_DATE}",))
                     + together(faults_city, alone, "extract('services', '{run}')", (f"alone__{RUN_DATE}",))):
            assert done.returncode == 0, done.stdout[-3000:]
        clean = {t: f for t, f in fingerprints(alone, ("raw",)).items() if t in tables}
    with _scratch_database(server_url) as url:
        loads = together(faults_city, url, f"ingest('{{run}}', {landing!r})", (f"a__{RUN_DATE}", f"b__{RUN_DATE}"))
        extracts = together(faults_city, url, "extract('services', '{run}')", (f"a__{RUN_DATE}", f"b__{RUN_DATE}"))
        for done in loads + extracts:
            assert done.returncode == 0, done.stdout[-3000:]
        files = harness.scalar(url, "select count(distinct file_name) from ops.file_loads where source = 'eppgbm'")
        loaded = harness.scalar(url, "select count(*) from ops.file_loads where source = 'eppgbm' and status = 'loaded'")
        skipped = harness.scalar(url, "select count(*) from ops.file_loads where source = 'eppgbm' and status = 'skipped'")
        assert loaded == files and skipped == files, (files, loaded, skipped)
        changed = harness.scalar(
            url, "select array_agg(records_loaded order by extract_id) from ops.source_extracts where source = 'services'")
        assert len(changed) == 2
        found = fingerprints(url, ("raw",))
        assert clean["raw.eppgbm_measurements"].rows > 0 and clean["raw.mch_services"].rows > 0
        wrong = [t for t, f in clean.items() if (found[t].rows, found[t].checksum) != (f.rows, f.checksum)]
        problems = [p for p in harness.consistency_problems(url) if "schema" not in p]
    fault_table.append(("two e-PPGBM loads and two services extracts at once (no night lock)",
                        f"serialised by the per-source locks: {loaded} files loaded once, {skipped} skipped",
                        "yes (raw)" if not wrong else f"NO: {wrong}"))
    assert not wrong, wrong
    assert not problems, problems
