"""The store: the pulled sources' records as JSON lines, one file per collection.

Format (simple on purpose, so a test can write a fixture store by hand):

* ``layanan.jsonl`` and ``ibu-hamil.jsonl``: one record per line, as the services API returns it;
  it must have ``id`` and ``updated_at`` (ISO-8601; without an offset it is read as WIB, +07:00).
* ``survei_rumah_tangga.jsonl`` and ``proyek.jsonl``: one GeoJSON ``Feature`` per line; the id is
  ``properties.id_survei`` / ``properties.id_proyek`` and the time ``properties.updated_at``.

A line is one *version*. Several lines may share an id (a correction, a voiding, a delivery); the
server shows, for an instant ``as_of``, the latest version with ``updated_at <= as_of`` (by time,
then by line order). Missing files are empty collections.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

WIB = dt.timezone(dt.timedelta(hours=7))
SERVICE_COLLECTIONS = ("layanan", "ibu-hamil")
PUPR_COLLECTIONS = ("survei_rumah_tangga", "proyek")
PUPR_ID_FIELD = {"survei_rumah_tangga": "id_survei", "proyek": "id_proyek"}
COLLECTIONS = SERVICE_COLLECTIONS + PUPR_COLLECTIONS


def parse_instant(text: str) -> dt.datetime:
    """An ISO-8601 instant; a naive one is taken as WIB. Raises ``ValueError`` naming the text."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        head, sep, tail = text.strip().rpartition(" ")
        try:
            value = dt.datetime.fromisoformat(f"{head}+{tail}") if sep else None
        except ValueError:
            value = None
        if value is None:
            raise ValueError(f"not an ISO-8601 instant: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=WIB)


def record_key(collection: str, record: dict) -> tuple[str, str]:
    """``(id, updated_at)`` of one stored line."""
    if collection in PUPR_ID_FIELD:
        properties = record.get("properties") or {}
        return str(properties[PUPR_ID_FIELD[collection]]), str(properties["updated_at"])
    return str(record["id"]), str(record["updated_at"])


class StoreWriter:
    """Appends versions to the four files of a store directory (created, emptied first)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._files = {
            name: (self.directory / f"{name}.jsonl").open("w", encoding="utf-8", newline="\n")
            for name in COLLECTIONS
        }
        self.lines = {name: 0 for name in COLLECTIONS}

    def writer(self, collection: str):
        handle = self._files[collection]

        def write(record: dict) -> None:
            handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            handle.write("\n")
            self.lines[collection] += 1

        return write

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def read_collection(directory: str | Path, collection: str) -> Iterator[dict]:
    """The stored versions of one collection in line order; a bad line raises naming file and line."""
    path = Path(directory) / f"{collection}.jsonl"
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                record_key(collection, record)
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise ValueError(f"{path}, line {number}: not a {collection} record ({error})") from error
            yield record
