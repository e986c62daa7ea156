"""Headless Chromium for the project: the report's PDF and screenshots of pages (the BI dashboard).

Chromium is the Debian package `make browser` installs. Pages are rendered with the network cut off
except for this machine (--host-resolver-rules): a report or dashboard that tried to fetch a font or a
script from the internet would fail here the same way it would in a closed government network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# Where the Debian and other common packages put the binary; KONVERGENSI_CHROMIUM overrides.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
              "/usr/bin/chromium", "/usr/lib/chromium/chromium", "/snap/bin/chromium")
CHROMIUM_SETTING = "KONVERGENSI_CHROMIUM"
OFFLINE_RULES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
TIMEOUT_SECONDS = 120


class BrowserMissing(RuntimeError):
    """No Chromium on this machine."""


class BrowserFailed(RuntimeError):
    """Chromium ran but did not produce the file."""


def find_chromium() -> str:
    """The path of the Chromium binary, or BrowserMissing saying how to install it."""
    configured = os.environ.get(CHROMIUM_SETTING, "").strip()
    for candidate in ((configured,) if configured else CANDIDATES):
        path = shutil.which(candidate) or (candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None)
        if path:
            return path
    where = f"{CHROMIUM_SETTING}={configured} is not an executable" if configured else "chromium is not installed"
    raise BrowserMissing(f"{where}: run make browser (installs chromium, chromium-driver and poppler-utils)")


def headless_flags(profile_dir: Path) -> list[str]:
    """Flags for a headless run as root in a container, with the network limited to this machine."""
    return [
        "--headless",
        "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--metrics-recording-only",
        "--mute-audio",
        "--hide-scrollbars",
        f"--host-resolver-rules={OFFLINE_RULES}",
        f"--user-data-dir={profile_dir}",
    ]


def _run(arguments: list[str], output: Path, what: str) -> Path:
    chromium = find_chromium()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="konvergensi-chromium-") as profile:
        command = [chromium, *headless_flags(Path(profile)), *arguments]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as expired:
            raise BrowserFailed(f"chromium did not finish {what} within {TIMEOUT_SECONDS} s") from expired
    if not output.is_file() or output.stat().st_size == 0:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-8:])
        raise BrowserFailed(f"chromium did not write {output} ({what}, exit code {done.returncode}):\n{tail}")
    return output


def print_to_pdf(html_path: Path, pdf_path: Path) -> Path:
    """Print a local HTML file to PDF as the page's own @page rules say (no header or footer lines)."""
    return _run(["--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                 f"--print-to-pdf={pdf_path}", Path(html_path).resolve().as_uri()], Path(pdf_path), "the PDF")


def screenshot(url: str, png_path: Path, width: int = 1600, height: int = 1200, wait_ms: int = 0) -> Path:
    """A PNG of `url` (a local file path or an http://127.0.0.1 address) at the given window size."""
    target = Path(url).resolve().as_uri() if "://" not in url else url
    arguments = [f"--window-size={width},{height}", f"--screenshot={png_path}"]
    if wait_ms:
        arguments.append(f"--virtual-time-budget={wait_ms}")
    return _run([*arguments, target], Path(png_path), "the screenshot")
