"""Two nights at once on one warehouse (a manual run during the scheduled night, a backfill beside today's).

Real processes: night A is held at a known point (paused inside its first extract); nights B (same
run date) and C (another run date, a backfill) start meanwhile and fail at once, clearly, having
done nothing; night D, started with --wait, waits for A and then runs. Afterwards nothing was loaded
twice and the warehouse equals a clean run's.
"""

from __future__ import annotations

import pytest

from konvergensi.fingerprints import differences, fingerprints
from tests.faults import harness
from tests.faults.conftest import RUN_DATE
from tests.faults.night_runner import EXIT_LOCKED

pytestmark = pytest.mark.faults


def test_second_night_fails_clearly_and_a_waiting_one_runs_after(faults_city, clean_warehouse, server_url,
                                                                  fault_table) -> None:
    from tests.conftest import _scratch_database

    city = faults_city
    with _scratch_database(server_url) as url:
        marker = city.root / "two-nights.marker"
        marker.unlink(missing_ok=True)
        night_a, _ = harness.start_night(city, url, f"scheduled__{RUN_DATE}", "two-A",
                                         KONVERGENSI_FAULT_PAUSE="extract", KONVERGENSI_FAULT_MARKER=str(marker))
        try:
            harness.wait_until(marker.exists, "night A to be inside its first extract", night_a)
            loads_before = harness.scalar(url, "select count(*) from ops.load_batches")
            code_b, output_b = harness.run_night(city, url, f"manual__{RUN_DATE}", "two-B")
            code_c, output_c = harness.run_night(city, url, "backfill__2026-10-26", "two-C",
                                                 landing=city.landing)
            night_d, log_d = harness.start_night(city, url, f"manual-wait__{RUN_DATE}", "two-D", wait=900)
            harness.wait_until(lambda: harness.scalar(
                url, "select count(*) from pg_stat_activity where application_name like 'konvergensi night manual-wait%%'"),
                "night D to ask for the night lock", night_d, timeout=120)
            assert "loads from" not in log_d.read_text(), "night D waits for A"
            assert harness.scalar(url, "select count(*) from ops.load_batches") == loads_before  # B, C, D loaded nothing
            marker.unlink()  # night A goes on
            assert night_a.wait(timeout=harness.NIGHT_TIMEOUT) == 0
            code_d = night_d.wait(timeout=harness.NIGHT_TIMEOUT)
        finally:
            for night in (night_a,):
                if night.poll() is None:
                    harness.kill_night(night)
        for code, output, run in ((code_b, output_b, "B"), (code_c, output_c, "C")):
            assert code == EXIT_LOCKED, f"night {run}: exit {code}\n{output[-2000:]}"
            assert f"scheduled__{RUN_DATE}" in output and "is still running" in output and "nothing was loaded" in output
        assert code_d == 0, log_d.read_text()[-3000:]
        diff = differences(clean_warehouse["fingerprints"], fingerprints(url))
        problems = harness.consistency_problems(url)
        # D found every file already loaded and every source unchanged: it added no file load
        loaded_twice = harness.scalar(url, "select count(*) from ops.file_loads where status = 'loaded' and run_id like 'manual-wait%%'")
        fault_table.append(("second night (same date, and a backfill) while one runs",
                            f"refused at once (exit {EXIT_LOCKED}), nothing done; a --wait night ran after",
                            "yes" if not diff else f"NO ({len(diff)} tables differ)"))
        assert loaded_twice == 0
        assert not diff, diff
        assert not problems, problems
