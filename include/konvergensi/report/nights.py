"""Which night a report shows: the last published one, and what became of the night that was asked for.

A run id says how a run was started, not which night it is for: `airflow dags test DAG 2026-11-02`
(what `make run` starts) names its run after the moment it started (`manual__2026-12-03T08:15:02…`).
So the gate records each run's run date (the Airflow logical date in WIB) in ops.night_runs, and a
requested date is matched on that record, never on a time parsed out of a run id.

The published marts hold exactly one night, the last published: a report always shows that night. When
the night asked for is another one (its gate failed, it never reached the gate, it was never run, or a
later night replaced it), the report says so in a banner above that night's figures.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import psycopg

from konvergensi import settings

WIB = ZoneInfo("Asia/Jakarta")

# What became of the night asked for (NightChoice.status).
SHOWN = "terbit"  # it is the last published night (or no night was asked for)
SUPERSEDED = "digantikan"  # it was published, but a later night has replaced it since
GATE_FAILED = "gerbang_gagal"  # its latest run failed the quality gate: nothing of it was published
NOT_PUBLISHED = "tidak_terbit"  # it ran but stopped before its gate verdict, or passed and never published
NEVER_RUN = "tidak_ada"  # no run of that date reached the gate (the gate records the date), none was published


class NoPublishedNight(RuntimeError):
    """No night has been published on this warehouse yet: there is nothing to report."""


def run_date_of(logical_date: dt.datetime | None, run_after: dt.datetime | None = None) -> dt.date:
    """The night a DAG run is for: its logical date (else when it was due to run) as a WIB calendar date.

    The schedule 19:00 UTC is 02:00 WIB of the run date; `airflow dags test DAG 2026-11-02` has the
    logical date 2026-11-02 00:00 UTC, 07:00 WIB the same day.
    """
    moment = logical_date or run_after
    if moment is None:
        raise ValueError("a DAG run has neither a logical date nor a run_after")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(WIB).date()


def record_run_date(connection: psycopg.Connection, run_id: str, run_date: dt.date) -> None:
    """Remember which night `run_id` is for (the first record of a run stands: a retried gate repeats it)."""
    connection.execute(
        "insert into ops.night_runs (run_id, run_date) values (%s, %s) on conflict (run_id) do nothing",
        (run_id, run_date),
    )


@dataclass(frozen=True)
class PublishedNight:
    publish_id: int
    run_id: str
    run_date: dt.date | None  # None: published before run dates were recorded
    published_at: dt.datetime

    @property
    def date(self) -> dt.date:
        """The night's date: its run date, else the WIB day it was published on."""
        return self.run_date or self.published_at.astimezone(WIB).date()


@dataclass(frozen=True)
class NightChoice:
    shown: PublishedNight
    requested: dt.date | None
    status: str
    requested_run_id: str | None = None
    failed_checks: int = 0

    @property
    def output_date(self) -> dt.date:
        """The date the report files are named after: the night asked for, else the night shown."""
        return self.requested or self.shown.date

    @property
    def is_current(self) -> bool:
        """The report shows the night it was asked for (so it may become reports/latest/)."""
        return self.status == SHOWN

    @property
    def banner(self) -> str | None:
        """The sentence above the report when it shows another night than the one asked for."""
        if self.status == SHOWN or self.requested is None:
            return None
        asked, shown = _tanggal(self.requested), _tanggal(self.shown.date)
        tail = (f" Laporan ini menampilkan malam terbit terakhir, {shown} "
                f"(diterbitkan {self.shown.published_at.astimezone(WIB):%d-%m-%Y %H:%M} WIB).")
        if self.status == GATE_FAILED:
            checks = f" ({self.failed_checks} pemeriksaan gagal)" if self.failed_checks else ""
            return (f"Data malam {asked} TIDAK DITERBITKAN: gerbang mutu (quality gate) gagal{checks}, "
                    "sehingga mart malam itu tidak pernah menggantikan data yang terbit." + tail)
        if self.status == NOT_PUBLISHED:
            return (f"Data malam {asked} TIDAK DITERBITKAN: proses malam itu berhenti sebelum penerbitan." + tail)
        if self.status == SUPERSEDED:
            return (f"Data malam {asked} pernah diterbitkan, tetapi sudah digantikan oleh malam yang lebih baru; "
                    f"laporan asli malam itu ada di reports/{self.requested.isoformat()}/ bila dibuat saat itu." + tail)
        return (f"Tidak ada proses malam untuk tanggal {asked} yang tercatat sampai gerbang mutu; data malam itu "
                "tidak pernah diterbitkan." + tail)


BULAN = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
         "November", "Desember")


def _tanggal(day: dt.date) -> str:
    return f"{day.day} {BULAN[day.month - 1]} {day.year}"


def last_published(connection: psycopg.Connection) -> PublishedNight | None:
    row = connection.execute(
        """
        select publish_log.publish_id, publish_log.run_id, night_runs.run_date, publish_log.published_at
        from ops.publish_log
        left join ops.night_runs on night_runs.run_id = publish_log.run_id
        where publish_log.target_schema = %s
        order by publish_log.publish_id desc
        limit 1
        """,
        (settings.PUBLISHED_MARTS_SCHEMA,),
    ).fetchone()
    return PublishedNight(*row) if row else None


def choose(connection: psycopg.Connection, requested: dt.date | None = None) -> NightChoice:
    """The night to show (the last published) and what became of `requested` (None: the last published)."""
    shown = last_published(connection)
    if shown is None:
        raise NoPublishedNight("no night has been published yet (ops.publish_log is empty): run a night first "
                               "(make run), then make report")
    if requested is None or shown.date == requested:
        return NightChoice(shown, requested, SHOWN)
    runs = connection.execute(
        """
        select night_runs.run_id,
               exists (select from ops.publish_log where publish_log.run_id = night_runs.run_id
                       and publish_log.target_schema = %s) as published,
               gate.success,
               coalesce(jsonb_array_length(gate.failed_expectations), 0)
        from ops.night_runs
        left join lateral (
            select success, failed_expectations from ops.gate_runs
            where gate_runs.run_id = night_runs.run_id
            order by gate_run_id desc limit 1
        ) as gate on true
        where night_runs.run_date = %s
        order by night_runs.recorded_at desc, night_runs.run_id desc
        """,
        (settings.PUBLISHED_MARTS_SCHEMA, requested),
    ).fetchall()
    if not runs:
        return NightChoice(shown, requested, NEVER_RUN)
    published = [run for run in runs if run[1]]
    if published:
        return NightChoice(shown, requested, SUPERSEDED, requested_run_id=published[0][0])
    run_id, _, success, failed = runs[0]
    if success is False:
        return NightChoice(shown, requested, GATE_FAILED, requested_run_id=run_id, failed_checks=int(failed))
    return NightChoice(shown, requested, NOT_PUBLISHED, requested_run_id=run_id)


def publish_generation(connection: psycopg.Connection) -> int | None:
    """The id of the publish the marts come from now (a report re-reads when it changed while reading)."""
    row = connection.execute(
        "select max(publish_id) from ops.publish_log where target_schema = %s", (settings.PUBLISHED_MARTS_SCHEMA,)
    ).fetchone()
    return row[0] if row else None
