"""The 5-night soak (tests/faults/soak.py): a late correction, a source down for a night, a renamed column.

Too slow for `make test` (each night is a real `dbt build` and gate: about 2–3 minutes on the
shared machine), so it runs in `make faults`. `make soak` runs the long version (30 nights, a
rebuild compared every night).
"""

from __future__ import annotations

import pytest

from tests.faults.soak import Soak

pytestmark = pytest.mark.faults


@pytest.mark.timeout(3600)  # six nights (five and the rebuild), 3–5 minutes each on the shared machine
def test_five_nights(server_url, tmp_path, capsys) -> None:
    soak = Soak(server_url, tmp_path / "soak", nights=5, children=300, months=2, rebuild="end")

    def say(line: str) -> None:  # night by night, as they end, past pytest's capture (it passes, too)
        with capsys.disabled():
            print(line, flush=True)

    for line in ("", "5-night soak:", soak.header()):
        say(line)
    results = soak.run(say=say)
    by_night = {night.number: night for night in results}
    assert all(night.accounting_ok for night in results), [night.problems for night in results]
    assert any("late correction" in event for event in by_night[2].events)
    assert by_night[2].published == "yes"
    # services down for one night: published anyway, services and pregnancies marked stale
    assert by_night[3].published == "yes" and "services" in by_night[3].stale
    # the renamed weight column: that file is rejected or its rows quarantined, never silently loaded
    assert "rejected" in by_night[4].eppgbm or by_night[4].eppgbm.split("+")[-1] != "0"
    assert by_night[5].published == "yes" and by_night[5].rebuild_equal == "yes"
    assert not [night.problems for night in results if night.problems]
