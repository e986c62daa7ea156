"""The fault-injection pause points are inert in production, and pause and resume as the kill tests need."""

from __future__ import annotations

import threading
import time

import pytest

from konvergensi import faults
from konvergensi.fingerprints import Fingerprint, differences

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "_paused", set())


def test_unset_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.PAUSE_SETTING, raising=False)
    started = time.monotonic()
    for step in faults.STEPS:
        faults.pause_point(step)
    assert time.monotonic() - started < 0.1


def test_other_step_does_not_pause(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(faults.PAUSE_SETTING, "publish")
    monkeypatch.setenv(faults.MARKER_SETTING, str(tmp_path / "marker"))
    faults.pause_point("gate")
    assert not (tmp_path / "marker").exists()


def test_pauses_once_until_the_marker_is_removed(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv(faults.PAUSE_SETTING, "gate")
    monkeypatch.setenv(faults.MARKER_SETTING, str(marker))
    done = threading.Event()
    thread = threading.Thread(target=lambda: (faults.pause_point("gate"), done.set()))
    thread.start()
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.read_text().split()[1] == "gate"
    assert not done.wait(0.3)  # still paused
    marker.unlink()
    assert done.wait(5)
    thread.join()
    started = time.monotonic()
    faults.pause_point("gate")  # once per process
    assert time.monotonic() - started < 0.1


def test_differences_name_the_tables() -> None:
    a = {"marts.x": Fingerprint("marts.x", 2, "aa", 0), "raw.y": Fingerprint("raw.y", 1, "bb", 0)}
    b = {"marts.x": Fingerprint("marts.x", 3, "cc", 0), "raw.z": Fingerprint("raw.z", 1, "bb", 0)}
    found = differences(a, b)
    assert any(line.startswith("marts.x: 2 rows") for line in found)
    assert "raw.y: only in the first warehouse" in found and "raw.z: only in the second warehouse" in found
    assert differences(a, a) == []
