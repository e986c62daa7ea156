"""How fresh each pulled source is: its last loaded extract and whether its latest attempt failed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from konvergensi.extract.sources import SOURCES


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    last_loaded_extract_id: int | None
    last_loaded_at: datetime | None  # when the last successful extract finished
    last_loaded_records: int | None
    latest_status: str | None  # of the latest finished attempt ('loaded' or 'failed'); None: never tried
    latest_attempt_at: datetime | None
    latest_error: str | None
    days_since_load: float | None  # None when it never loaded

    @property
    def never_loaded(self) -> bool:
        return self.last_loaded_extract_id is None

    @property
    def is_stale(self) -> bool:
        """The raw data of this source is not tonight's: the latest attempt failed, or none ever loaded."""
        return self.never_loaded or self.latest_status == "failed"

    def exceeds(self, max_stale_days: float) -> bool:
        """Stale for longer than allowed (a source that never loaded always exceeds)."""
        return self.is_stale and (self.days_since_load is None or self.days_since_load > max_stale_days)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "last_loaded_extract_id": self.last_loaded_extract_id,
            "last_loaded_at": self.last_loaded_at.isoformat() if self.last_loaded_at else None,
            "last_loaded_records": self.last_loaded_records,
            "latest_status": self.latest_status,
            "latest_attempt_at": self.latest_attempt_at.isoformat() if self.latest_attempt_at else None,
            "latest_error": self.latest_error,
            "days_since_load": self.days_since_load,
            "is_stale": self.is_stale,
        }


def source_freshness(connection: psycopg.Connection, sources: list[str] | None = None) -> list[SourceFreshness]:
    """One row per pulled source (all of SOURCES by default), stale or not.

    Attempts still 'running' (or left so by a crash) are ignored: only finished attempts count.
    """
    rows = connection.execute(
        """
        select s.source, l.extract_id, l.finished_at, l.records_read, a.status, a.finished_at, a.error,
               extract(epoch from now() - l.finished_at) / 86400.0
        from unnest(%s::text[]) with ordinality as s(source, position)
        left join lateral (
            select extract_id, finished_at, records_read from ops.source_extracts e
            where e.source = s.source and e.status = 'loaded' order by extract_id desc limit 1
        ) l on true
        left join lateral (
            select status, finished_at, error from ops.source_extracts e
            where e.source = s.source and e.status <> 'running' order by extract_id desc limit 1
        ) a on true
        order by s.position
        """,
        (list(sources or SOURCES),),
    ).fetchall()
    return [
        SourceFreshness(
            source=row[0],
            last_loaded_extract_id=row[1],
            last_loaded_at=row[2],
            last_loaded_records=row[3],
            latest_status=row[4],
            latest_attempt_at=row[5],
            latest_error=row[6],
            days_since_load=float(row[7]) if row[7] is not None else None,
        )
        for row in rows
    ]
