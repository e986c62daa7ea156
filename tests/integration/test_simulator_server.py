"""The simulator's DTSEN writer on a real PostgreSQL, and the `serve` command in its own process."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import psycopg
import pytest
from konvergensi_simulator import StoreWriter, write_dtsen
from konvergensi_simulator.city import window_of
from konvergensi_simulator.dirt import DirtRates
from konvergensi_simulator.dtsen import dtsen_rows
from konvergensi_simulator.exports import Simulation, month_sequence
from konvergensi_simulator.households import WIB, build_households
from konvergensi_simulator.reference import load_reference

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def households() -> tuple[list, list[tuple[int, int]]]:
    reference = load_reference()
    sim = Simulation(reference, seed=11, children=1500, dirt=DirtRates())
    months = month_sequence("2026-10", 12)
    sim.begin_month(*months[0])
    return build_households(sim.population, reference, 11, window_of(months)), months


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(f"select count(*) from dtsen.{table}").fetchone()[0]
            for table in ("rumah_tangga", "anggota_rumah_tangga", "penerimaan_program")
        }


def test_dtsen_writer_is_idempotent_and_moves_forward_with_as_of(households, fresh_database_url: str) -> None:
    homes, months = households
    early = dt.datetime(2026, 3, 31, 23, 59, 59, tzinfo=WIB)
    late = dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=WIB)

    first = write_dtsen(fresh_database_url, homes, early, months)
    expected = [len(rows) for rows in dtsen_rows(homes, early, months)]
    assert list(_counts(fresh_database_url).values()) == expected
    assert first["rumah_tangga_changed"] == expected[0] > 0

    again = write_dtsen(fresh_database_url, homes, early, months)
    assert again["rumah_tangga_changed"] == again["anggota_rumah_tangga_changed"] == 0
    assert again["penerimaan_program_changed"] == 0
    assert list(_counts(fresh_database_url).values()) == expected

    later = write_dtsen(fresh_database_url, homes, late, months)
    counts = _counts(fresh_database_url)
    assert counts["rumah_tangga"] > expected[0] and counts["penerimaan_program"] > expected[2]
    assert later["rumah_tangga_changed"] > counts["rumah_tangga"] - expected[0], "some households were updated"

    with psycopg.connect(fresh_database_url) as conn:
        periods = dict(conn.execute(
            "select periode_pemutakhiran, count(*) from dtsen.rumah_tangga group by 1").fetchall())
        assert len(periods) >= 3 and all(p[:4].isdigit() and p[4:6] == "-Q" for p in periods)
        newest = conn.execute("select max(updated_at) from dtsen.rumah_tangga").fetchone()[0]
        assert newest <= late
        moved = conn.execute(
            "select count(*) from dtsen.rumah_tangga where no_kk <> all(%s)",
            ([h.family.kk for h in homes],)).fetchone()[0]
        assert moved > 0, "some KK changed since the e-PPGBM/BKKBN KK"
        assert conn.execute("select count(*) from dtsen.anggota_rumah_tangga where nik is null").fetchone()[0] > 0
        assert conn.execute(
            "select count(*) from dtsen.anggota_rumah_tangga where b409_hubungan = 2 and nik = any(%s)",
            ([h.mother_nik for h in homes],)).fetchone()[0] > 0.85 * counts["rumah_tangga"]
        orphans = conn.execute(
            "select count(*) from dtsen.anggota_rumah_tangga m left join dtsen.rumah_tangga r using (id_rt)"
            " where r.id_rt is null").fetchone()[0]
        assert orphans == 0


def test_serve_command_runs_in_its_own_process_and_obeys_control(tmp_path: Path) -> None:
    with StoreWriter(tmp_path) as writer:
        write = writer.writer("layanan")
        write({"id": "LYN-1", "updated_at": "2026-05-01T09:00:00+07:00"})
        write({"id": "LYN-2", "updated_at": "2026-06-01T09:00:00+07:00"})
    process = subprocess.Popen(
        [sys.executable, "-m", "konvergensi_simulator", "serve", "--store", str(tmp_path), "--port", "0",
         "--token", "abc", "--as-of", "2026-05-15T00:00:00+07:00"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")

        def get() -> tuple[int, dict]:
            request = urllib.request.Request(f"{url}/api/v1/layanan", headers={"Authorization": "Bearer abc"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, {}

        def control(settings: dict) -> dict:
            request = urllib.request.Request(f"{url}/_sim/control", data=json.dumps(settings).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        assert [r["id"] for r in get()[1]["data"]] == ["LYN-1"]
        control({"as_of": None})
        assert [r["id"] for r in get()[1]["data"]] == ["LYN-1", "LYN-2"]
        control({"down": True})
        assert get()[0] == 503
        control({"down": False, "fail_next": 1, "fail_status": 429})
        assert [get()[0], get()[0]] == [429, 200]
        with pytest.raises(urllib.error.HTTPError):
            control({"nonsense": 1})
    finally:
        process.terminate()
        process.wait(timeout=10)
