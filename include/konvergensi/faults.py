"""Fault-injection points for the kill tests (tests/faults/): a no-op unless KONVERGENSI_FAULT_PAUSE is set.

A kill test sets KONVERGENSI_FAULT_PAUSE=<step> (one of STEPS) and KONVERGENSI_FAULT_MARKER=<file>
in the environment of a night it starts. When the night reaches that step, `pause_point(step)`
writes the marker (the process id and the step) and sleeps, so the test knows the night is exactly
there (in the middle of the e-PPGBM COPY, inside the extract's transaction, …) and kills it with
`kill -9` — or removes the marker to let the night go on. The pause happens once per process; with the setting unset (production) the call only
reads one environment variable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_SETTING = "KONVERGENSI_FAULT_PAUSE"
MARKER_SETTING = "KONVERGENSI_FAULT_MARKER"
# Where the pause points are: the loaders' COPY, a pulled source's raw upsert, the gate between two
# checkpoints, the publish transaction after the renames and before the commit.
STEPS = ("eppgbm_copy", "extract", "gate", "publish")
PAUSE_SECONDS = 600.0

_paused: set[str] = set()


def pause_point(step: str) -> None:
    """Pause here (marker written, then sleep) when the kill test asked for `step`; otherwise nothing."""
    if os.environ.get(PAUSE_SETTING) != step or step in _paused:
        return
    _paused.add(step)
    marker = os.environ.get(MARKER_SETTING)
    if not marker:
        time.sleep(PAUSE_SECONDS)
        return
    path = Path(marker)
    # Written aside and renamed, so a watcher that sees the marker also sees its content.
    pending = path.with_name(path.name + ".pending")
    pending.write_text(f"{os.getpid()} {step}\n", encoding="utf-8")
    pending.replace(path)
    deadline = time.monotonic() + PAUSE_SECONDS
    while path.exists() and time.monotonic() < deadline:  # the test removes the marker to let the night go on
        time.sleep(0.1)
