"""The simulator's linkage truth: written beside the sources, never in the landing directory, and true
to the records it describes (row by row for the files, id by id for the pulled sources)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest
from konvergensi_simulator import write_city_sources
from konvergensi_simulator.linkage_truth import FILES

pytestmark = pytest.mark.unit

RUN = {"seed": 5, "children": 400, "months": 4, "end_month": "2026-10", "progress": False,
       "formats": {"csv_comma": 1.0}}  # fmt: skip


def _read(truth: Path, name: str) -> list[dict[str, str]]:
    with (truth / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("truth")
    landing, store, truth = root / "landing", root / "store", root / "truth"
    summary = write_city_sources(landing, store, None, linkage_truth=truth, **RUN)
    return {"landing": landing, "store": store, "truth": truth, "summary": summary}


def test_truth_inside_the_landing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must not be inside the landing directory"):
        write_city_sources(tmp_path / "landing", tmp_path / "store", None, linkage_truth=tmp_path / "landing" / "t",
                           **RUN)


def test_every_truth_file_is_written_beside_the_sources(city: dict) -> None:
    assert sorted(p.stem for p in city["truth"].iterdir()) == sorted(FILES)
    assert not list(city["landing"].rglob("households.csv"))


def test_eppgbm_rows_name_the_child_whose_nik_the_row_carries(city: dict) -> None:
    rows = _read(city["truth"], "eppgbm_rows")
    children = {r["child_nik"] for r in _read(city["truth"], "children")}
    assert len(rows) == city["summary"]["eppgbm"]["rows"]
    by_file = defaultdict(dict)
    for row in rows:
        assert row["child_nik"] in children
        by_file[row["source_file"]][int(row["source_row"])] = row["child_nik"]
    compared = 0
    for name, numbered in by_file.items():
        with (city["landing"] / name).open(encoding="utf-8", newline="") as handle:
            for number, cells in enumerate(csv.reader(handle), start=1):
                if number == 1:
                    continue
                assert number in numbered, (name, number)
                nik = cells[0]
                if len(nik) == 16 and nik.isdigit():  # a NIK the dirt left as it was
                    assert nik == numbered[number], (name, number)
                    compared += 1
    assert compared > 0.9 * len(rows)


def test_pulled_records_and_bkkbn_rows_name_their_household(city: dict) -> None:
    truth = city["truth"]
    households = {r["household"] for r in _read(truth, "households")}
    pregnancies = {r["pregnancy_id"]: r["household"] for r in _read(truth, "pregnancies")}
    services = _read(truth, "services")
    stored = {json.loads(line)["id"] for line in (city["store"] / "layanan.jsonl").open(encoding="utf-8")}
    assert {s["service_id"] for s in services} == stored
    for service in services:
        assert service["household"] in households
        assert bool(service["child_nik"]) != bool(service["pregnancy_id"]), service
        if service["pregnancy_id"]:
            assert pregnancies[service["pregnancy_id"]] == service["household"]
    mothers = {r["household"]: r["mother_nik"] for r in _read(truth, "households")}
    for line in (city["store"] / "ibu-hamil.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        assert record["nik_ibu"] in (None, mothers[pregnancies[record["id"]]]), record["id"]
    assert set(pregnancies) == {json.loads(line)["id"] for line in (city["store"] / "ibu-hamil.jsonl").open()}
    bkkbn = _read(truth, "bkkbn_rows")
    assert len(bkkbn) == city["summary"]["bkkbn"]["rows"]
    assert all(r["source_file"].startswith("bkkbn/PK_") and r["household"] in households for r in bkkbn)
    pupr = _read(truth, "pupr")
    assert {r["record_source"] for r in pupr} == {"pupr_survey", "pupr_project"}
    assert len(pupr) == city["summary"]["pupr"]["surveys"] + city["summary"]["pupr"]["projects"]


def test_a_woman_carries_one_pregnancy_at_a_time(city: dict) -> None:
    household_of = {r["pregnancy_id"]: r["household"] for r in _read(city["truth"], "pregnancies")}
    spans = defaultdict(list)
    for line in (city["store"] / "ibu-hamil.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        spans[household_of[record["id"]]].append(record["hpht"])
    for hphts in spans.values():
        days = sorted({dt.date.fromisoformat(d).toordinal() for d in hphts})
        # the shortest pregnancy (a miscarriage after 56 days) and the 60-day gap before the next HPHT
        assert all(later - earlier >= 56 + 60 for earlier, later in zip(days, days[1:])), hphts
