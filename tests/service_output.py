"""A free local port and a long-running service's stdout read in a thread (make airflow, make bi tests)."""

from __future__ import annotations

import queue
import socket
import subprocess
import threading
import time

import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Output:
    """The service's stdout, read in a thread so that waiting for a line can time out."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)

    def wait_for(self, text: str, process: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if process.poll() is not None and self._queue.empty():
                break
            try:
                self._queue.get(timeout=1)
            except queue.Empty:
                pass
        pytest.fail(f"`{text}` not printed (exit {process.poll()}):\n" + "\n".join(self.lines[-40:]))
