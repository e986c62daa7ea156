"""Public-works features: household sanitation/water surveys and delivered projects (GeoJSON).

Surveys cover about 60 % of families. Their ladders follow the household's Regsosek codes; the
address is written the surveyor's way (``Jalan``/``Jl.``, ``Gang``/``Gg.``, ``RT 03``/``RT 3``,
case), the KK is often missing or an old one. Projects go to a few percent of at-risk households,
first ``DIRENCANAKAN`` and later ``SELESAI`` (or ``BATAL``) under the same id.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from collections.abc import Callable

from konvergensi_simulator.households import Household, ordinal_to_iso
from konvergensi_simulator.seeding import stream

SURVEY_SHARE = 0.6
SURVEY_KK_NULL_SHARE = 0.3
PROJECT_SHARE = 0.05  # of at-risk households
NULL_GEOMETRY_SHARE = 0.04


def sanitation_ladder(h: Household, rng: random.Random) -> str:
    if h.defecation in (5, 6):
        return "BABS"
    if h.toilet == 1 and h.disposal in (1, 2):
        if h.defecation == 1:
            return "aman" if rng.random() < 0.2 else "layak sendiri"
        return "layak bersama"
    return "belum layak"


def water_ladder(h: Household, rng: random.Random) -> str:
    if h.water == 9:
        return "tidak tersedia"
    if not h.improved_water:
        return "tidak layak"
    if h.water in (1, 3) and rng.random() < 0.4:
        return "aman"
    return "layak terbatas" if rng.random() < 0.1 else "layak dasar"


def surveyor_address(text: str, rng: random.Random) -> str:
    """The same address as a surveyor types it."""
    if rng.random() < 0.5:
        text = text.replace("Jl. ", "Jalan ")
    if rng.random() < 0.4:
        text = text.replace("Gg. ", "Gang ")
    elif rng.random() < 0.3:
        text = text.replace("Gang ", "Gg. ")
    if rng.random() < 0.3:
        text = text.replace("No. ", "No.")
    roll = rng.random()
    if roll < 0.25:
        text = text.upper()
    elif roll < 0.35:
        text = text.lower()
    return re.sub(r"\s+", " ", text).strip()


def _rt_text(value: int, rng: random.Random) -> str:
    return f"{value:03d}" if rng.random() < 0.5 else (f"{value:02d}" if rng.random() < 0.5 else str(value))


def _geometry(h: Household, rng: random.Random) -> dict | None:
    if rng.random() < NULL_GEOMETRY_SHARE:
        return None
    return {"type": "Point", "coordinates": [round(h.lon + rng.gauss(0, 0.00005), 6),
                                             round(h.lat + rng.gauss(0, 0.00005), 6)]}


def generate_pupr(
    households: list[Household], seed: int, window: tuple[int, int],
    write_survey: Callable[[dict], None], write_project: Callable[[dict], None],
) -> Counter:
    """Write survey and project feature versions; returns counts (and dirt counts) for the truth."""
    rng = stream(seed, "pupr")
    first_day, last_day = window
    counts: Counter = Counter()
    serial = 0
    for h in households:
        if rng.random() >= SURVEY_SHARE:
            continue
        serial += 1
        day = first_day - 540 + rng.randrange(last_day - first_day + 541)
        survey_id = f"SRT-{h.kelurahan.code.replace('.', '')[-4:]}-{serial:06d}"
        h.survey_ids.append(survey_id)
        kk = h.family.kk
        roll = rng.random()
        if roll < SURVEY_KK_NULL_SHARE:
            kk = None
            counts["survey_kk_null"] += 1
        elif h.dtsen_kk and h.dtsen_kk != h.family.kk and rng.random() < 0.5:
            kk = h.dtsen_kk
        people = h.people + (1 if rng.random() < 0.2 else 0)
        properties = {
            "id_survei": survey_id, "no_kk": kk, "nama_kepala_keluarga": h.head_name.upper() if rng.random() < 0.4
            else h.head_name, "alamat": surveyor_address(h.address, rng), "rt": _rt_text(h.rt, rng),
            "rw": _rt_text(h.rw, rng), "kelurahan": h.kelurahan.name.upper() if rng.random() < 0.5 else h.kelurahan.name,
            "tanggal_survei": dt.date.fromordinal(day).isoformat(), "akses_sanitasi": sanitation_ladder(h, rng),
            "akses_air_minum": water_ladder(h, rng), "rtlh": h.rtlh, "luas_lantai_m2": h.area,
            "jumlah_penghuni": people,
            "updated_at": ordinal_to_iso(day + 1 + rng.randrange(30), 28800 + rng.randrange(30000)),
        }
        write_survey({"type": "Feature", "id": survey_id, "geometry": _geometry(h, rng), "properties": properties})
        counts["surveys"] += 1
    serial = 0
    for h in households:
        needs = []
        if not h.proper_latrine:
            needs.append("JAMBAN_SEHAT" if h.defecation == 6 else "TANGKI_SEPTIK")
        if not h.improved_water:
            needs.append("SAMBUNGAN_AIR_MINUM")
        if h.rtlh:
            needs.append("BEDAH_RUMAH")
        if not needs or rng.random() >= PROJECT_SHARE * len(needs):
            continue
        serial += 1
        kind = rng.choice(needs) if rng.random() > 0.05 else "IPAL_KOMUNAL"
        planned = first_day - 200 + rng.randrange(last_day - first_day + 170)
        project_id = f"PRY-{dt.date.fromordinal(planned).year}-{serial:05d}"
        h.project_ids.append(project_id)
        properties = {
            "id_proyek": project_id, "jenis": kind, "no_kk": h.family.kk if rng.random() < 0.75 else None,
            "nama_penerima": h.head_name, "alamat": surveyor_address(h.address, rng), "rt": _rt_text(h.rt, rng),
            "rw": _rt_text(h.rw, rng), "kelurahan": h.kelurahan.name, "tanggal_selesai": None,
            "tahun_anggaran": dt.date.fromordinal(planned).year, "status": "DIRENCANAKAN",
            "updated_at": ordinal_to_iso(planned, 32400),
        }
        geometry = _geometry(h, rng)
        write_project({"type": "Feature", "id": project_id, "geometry": geometry, "properties": properties})
        counts["projects"] += 1
        counts["project_versions"] += 1
        finish = planned + 60 + rng.randrange(150)
        if finish <= last_day:
            done = dict(properties)
            if rng.random() < 0.06:
                done["status"] = "BATAL"
                counts["projects_batal"] += 1
            else:
                done["status"] = "SELESAI"
                done["tanggal_selesai"] = dt.date.fromordinal(finish).isoformat()
                counts["projects_selesai"] += 1
            done["updated_at"] = ordinal_to_iso(finish + rng.randrange(10), 32400)
            write_project({"type": "Feature", "id": project_id, "geometry": geometry, "properties": done})
            counts["project_versions"] += 1
    return counts
