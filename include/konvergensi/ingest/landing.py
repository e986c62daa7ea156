"""The landing scan: which entries of a landing directory are delivered files to load tonight.

A delivered file is a regular, visible file not still being uploaded. Entries that are not left
for a later night but can never be loaded are refused with a reason, so the loaders record them
(ops.file_loads, status 'rejected') instead of passing over them in silence:
- a symbolic link is not followed: whoever can write to the landing directory could otherwise make
  the loader read any file the loader's account can read (another source's files, a key file) and
  load it as an export;
- anything else that is not a regular file (a FIFO would hang the reader, a device never ends);
- a file above KONVERGENSI_MAX_FILE_BYTES, refused before anything (even its checksum) reads it.
Hidden files and files still being uploaded (`~$…`, `.part`, `.tmp`, …) are left for a later night.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from konvergensi.ingest.file_loads import IN_FLIGHT_MARKERS, FileResult
from konvergensi.ingest.readers import too_large

log = logging.getLogger(__name__)

@dataclass
class LandingScan:
    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)  # (entry, reason)


def is_in_flight(path: Path) -> bool:
    return path.name.startswith(".") or any(marker in path.name for marker in IN_FLIGHT_MARKERS)


def scan_landing(directory: Path) -> LandingScan:
    """The delivered files directly in `directory` (sorted) and the entries refused, with why.

    Sub-directories are other sources' landing places and are not entered.
    """
    scan = LandingScan()
    for path in sorted(directory.iterdir()):
        if is_in_flight(path):
            log.debug("%s: left for a later night (hidden or still being uploaded)", path.name)
            continue
        status = path.lstat()
        mode = status.st_mode
        if stat.S_ISLNK(mode):
            reason = f"symbolic link to {os.readlink(path)} not followed: deliver the file itself"
        elif stat.S_ISDIR(mode):
            continue
        elif not stat.S_ISREG(mode):
            reason = "not a regular file (a pipe, socket or device), not read"
        elif oversize := too_large(status.st_size):
            reason = oversize
        else:
            scan.files.append(path)
            continue
        log.warning("%s refused: %s", path.name, reason)
        scan.refused.append((path, reason))
    return scan


def source_directory(landing_dir: Path, subdirectory: str) -> Path | None:
    """`<landing>/<subdirectory>` when it is a real directory; a symbolic link there is refused (logged)."""
    directory = landing_dir / subdirectory
    if directory.is_symlink():
        log.warning("%s is a symbolic link: not followed, no %s files read", directory, subdirectory)
        return None
    return directory if directory.is_dir() else None


def refused_checksum(path: Path) -> str:
    """What ops.file_loads records as the checksum of a refused entry (its content is never read)."""
    status = path.lstat()
    target = os.readlink(path) if path.is_symlink() else f"{status.st_size}:{status.st_mtime_ns}"
    return "refused:" + hashlib.sha256(f"{path.name}\0{target}".encode()).hexdigest()


def refused_results(scan: LandingScan, landing_dir: Path) -> list[FileResult]:
    """One rejected FileResult per refused entry, named as its files would be (relative to the landing dir)."""
    return [
        FileResult(path.relative_to(landing_dir).as_posix(), refused_checksum(path), None, "rejected", error=reason)
        for path, reason in scan.refused
    ]
