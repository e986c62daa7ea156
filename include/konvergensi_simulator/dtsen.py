"""DTSEN as the social-affairs office holds it: schema ``dtsen`` in a PostgreSQL database.

:func:`write_dtsen` writes the register as it stood at an instant ``as_of``: each household's latest
quarterly update made by then, its members at that update, and the programme receipts reported by
then. Rows go in with COPY into temporary tables and are merged by primary key, keeping the newer
``updated_at``, so writing again with a later ``as_of`` adds and changes rows and writing the same
``as_of`` twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import psycopg

from konvergensi_simulator.households import WIB, Household, ordinal_to_iso

DDL = """
create schema if not exists dtsen;
create table if not exists dtsen.rumah_tangga (
    id_rt text primary key, no_kk text, kode_kelurahan text, nama_kelurahan text, alamat text,
    rt text, rw text, desil smallint, b302_luas_lantai integer, b303_lantai smallint, b304_dinding smallint,
    b305_atap smallint, b306a_air_minum smallint, b309a_fasilitas_bab smallint, b309b_jenis_kloset smallint,
    b310_pembuangan_akhir smallint, jumlah_art smallint, periode_pemutakhiran text,
    updated_at timestamptz not null
);
create table if not exists dtsen.anggota_rumah_tangga (
    id_art text primary key, id_rt text not null, nik text, nama text, b409_hubungan smallint,
    jenis_kelamin smallint, tgl_lahir date, b411_akta_lahir smallint, b417_lapangan_usaha smallint,
    b418_status_pekerjaan smallint, b427_catatan_kms smallint, b431a_jaminan_kesehatan smallint,
    status_keberadaan smallint, updated_at timestamptz not null
);
create table if not exists dtsen.penerimaan_program (
    id_rt text not null, program text not null, tahun smallint not null, bulan smallint not null,
    updated_at timestamptz not null, primary key (id_rt, program, tahun, bulan)
);
"""

HOUSEHOLD_COLUMNS = (
    "id_rt", "no_kk", "kode_kelurahan", "nama_kelurahan", "alamat", "rt", "rw", "desil", "b302_luas_lantai",
    "b303_lantai", "b304_dinding", "b305_atap", "b306a_air_minum", "b309a_fasilitas_bab", "b309b_jenis_kloset",
    "b310_pembuangan_akhir", "jumlah_art", "periode_pemutakhiran", "updated_at",
)
MEMBER_COLUMNS = (
    "id_art", "id_rt", "nik", "nama", "b409_hubungan", "jenis_kelamin", "tgl_lahir", "b411_akta_lahir",
    "b417_lapangan_usaha", "b418_status_pekerjaan", "b427_catatan_kms", "b431a_jaminan_kesehatan",
    "status_keberadaan", "updated_at",
)
PROGRAMME_COLUMNS = ("id_rt", "program", "tahun", "bulan", "updated_at")
TABLES = (
    ("rumah_tangga", HOUSEHOLD_COLUMNS, ("id_rt",)),
    ("anggota_rumah_tangga", MEMBER_COLUMNS, ("id_art",)),
    ("penerimaan_program", PROGRAMME_COLUMNS, ("id_rt", "program", "tahun", "bulan")),
)


def _moment(day: int, seconds: int) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromordinal(day), dt.time(), WIB) + dt.timedelta(seconds=seconds)


def dtsen_rows(
    households: list[Household], as_of: dt.datetime, months: list[tuple[int, int]],
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Household, member and programme rows of the register as it stood at ``as_of``."""
    household_rows, member_rows, programme_rows = [], [], []
    for h in households:
        versions = [v for v in h.dtsen_versions if _moment(v.day, v.seconds) <= as_of]
        if not versions or h.id_rt is None:
            continue
        v = versions[-1]
        stamp = ordinal_to_iso(v.day, v.seconds)
        present = [
            (i, m) for i, m in enumerate(h.members) if m.child is None or m.child.birth <= v.day
        ]
        codes = {
            "b303_lantai": v.floor, "b306a_air_minum": v.water, "b309a_fasilitas_bab": h.defecation,
        }
        codes.update(h.bad_codes)
        household_rows.append((
            h.id_rt, v.kk, h.kelurahan.code, h.kelurahan.name, h.address, f"{h.rt:03d}", f"{h.rw:03d}", v.desil,
            v.area, codes["b303_lantai"], h.wall, h.roof, codes["b306a_air_minum"], codes["b309a_fasilitas_bab"],
            h.toilet, h.disposal, len(present), v.periode, stamp,
        ))
        for i, m in present:
            member_rows.append((
                f"{h.id_rt}{i + 1:02d}", h.id_rt, None if i in h.member_nik_missing else m.nik,
                h.member_names.get(i, m.name), m.relation, m.sex, m.birth.isoformat(), m.akta, m.sector, m.status,
                m.kms if m.child is not None and v.day - m.child.birth <= 1826 else None, m.insurance, 1, stamp,
            ))
        for programme in h.programmes:
            for year, month in months:
                reported = dt.date(year + month // 12, month % 12 + 1, 1).toordinal() + 2 + (len(h.id_rt) + month) % 20
                if _moment(reported, 36000) <= as_of:
                    programme_rows.append((h.id_rt, programme, year, month, ordinal_to_iso(reported, 36000)))
    return household_rows, member_rows, programme_rows


def write_dtsen(url: str, households: list[Household], as_of: dt.datetime, months: list[tuple[int, int]]) -> Counter:
    """Create ``dtsen`` if missing and merge the register at ``as_of`` into it; returns rows written per table
    (``<table>``) and rows actually inserted or changed (``<table>_changed``)."""
    counts: Counter = Counter()
    tables = dict(zip((t[0] for t in TABLES), dtsen_rows(households, as_of, months)))
    with psycopg.connect(url) as conn:
        conn.execute(DDL)
        for table, columns, key in TABLES:
            rows = tables[table]
            column_list = ", ".join(columns)
            conn.execute(f"create temporary table incoming_{table} (like dtsen.{table}) on commit drop")
            with conn.cursor().copy(f"copy incoming_{table} ({column_list}) from stdin") as copy:
                for row in rows:
                    copy.write_row(row)
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
            changed = conn.execute(
                f"insert into dtsen.{table} ({column_list}) select {column_list} from incoming_{table} "
                f"on conflict ({', '.join(key)}) do update set {updates} "
                f"where excluded.updated_at > dtsen.{table}.updated_at",
            ).rowcount
            counts[table] = len(rows)
            counts[f"{table}_changed"] = changed
    return counts
