"""The convergence sources of the simulator: one population in every source, dirt, determinism,
and the services/PUPR server over real HTTP."""

from __future__ import annotations

import csv
import datetime as dt
import json
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from konvergensi_simulator import SourceServer, StoreWriter, read_collection, write_city_sources, write_eppgbm_exports
from konvergensi_simulator.bkkbn import HEADER
from konvergensi_simulator.city import window_of
from konvergensi_simulator.dirt import DirtRates
from konvergensi_simulator.exports import Simulation, month_sequence
from konvergensi_simulator.households import build_households, kelurahan_convergence
from konvergensi_simulator.reference import load_reference

pytestmark = pytest.mark.unit

RUN = {"seed": 7, "children": 900, "months": 7, "end_month": "2026-10"}


def _city(root: Path, **overrides: object) -> tuple[Path, Path, dict]:
    landing, store = root / "landing", root / "store"
    truth = write_city_sources(landing, store, None, progress=False, **{**RUN, **overrides})
    return landing, store, truth


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    return _city(tmp_path_factory.mktemp("city"))


def _latest(store: Path, collection: str) -> dict[str, dict]:
    """The current version of every record (later updated_at wins)."""
    latest: dict[str, dict] = {}
    for record in read_collection(store, collection):
        key = record["properties"] if "properties" in record else record
        record_id = key.get("id") or key.get("id_survei") or key.get("id_proyek")
        if record_id not in latest or (latest[record_id].get("properties") or latest[record_id])["updated_at"] \
                <= key["updated_at"]:
            latest[record_id] = record
    return latest


def _bkkbn_rows(landing: Path) -> list[tuple[str, dict[str, str]]]:
    rows = []
    for path in sorted((landing / "bkkbn").iterdir()):
        raw = path.read_bytes()
        try:
            text, delimiter = raw.decode("utf-8"), ","
        except UnicodeDecodeError:
            text, delimiter = raw.decode("cp1252"), ";"
        if text.split("\r\n", 1)[0].count(";") > 5:
            delimiter = ";"
        reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
        assert tuple(reader.fieldnames or ()) == HEADER, path.name
        rows += [(path.name, row) for row in reader]
    return rows


# --- determinism and the e-PPGBM files ------------------------------------------------------------

def test_city_writes_the_same_eppgbm_files_as_the_eppgbm_command(city, tmp_path: Path) -> None:
    landing, _, truth = city
    write_eppgbm_exports(tmp_path, progress=False, **RUN)
    expected = sorted(p.name for p in tmp_path.iterdir())
    assert expected == sorted(truth["eppgbm"]["files"])
    for name in expected:
        assert (landing / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_same_seed_same_store_and_csv_bytes_other_seed_differs(city, tmp_path: Path) -> None:
    landing, store, truth = city
    landing2, store2, truth2 = _city(tmp_path / "again")
    for name in ("layanan", "ibu-hamil", "survei_rumah_tangga", "proyek"):
        assert (store / f"{name}.jsonl").read_bytes() == (store2 / f"{name}.jsonl").read_bytes(), name
    names = sorted(p.name for p in (landing / "bkkbn").iterdir())
    assert names == sorted(p.name for p in (landing2 / "bkkbn").iterdir())
    for name in names:
        assert (landing / "bkkbn" / name).read_bytes() == (landing2 / "bkkbn" / name).read_bytes(), name
    assert truth["families"] == truth2["families"]
    _, store3, _ = _city(tmp_path / "other", seed=8)
    assert (store3 / "layanan.jsonl").read_bytes() != (store / "layanan.jsonl").read_bytes()


# --- one population everywhere --------------------------------------------------------------------

def test_every_source_names_the_same_mothers_children_and_kk(city) -> None:
    landing, store, truth = city
    families = truth["families"]
    mothers = {f["mother_nik"]: f for f in families}
    kks = {f["kk"]: f for f in families}
    children = {nik for f in families for nik in f["child_niks"]}
    dtsen_kks = {f["dtsen_kk"] for f in families if f["dtsen_kk"]}

    pregnancies = _latest(store, "ibu-hamil")
    assert pregnancies
    for record in pregnancies.values():
        assert record["nik_ibu"] is None or record["nik_ibu"] in mothers
        assert truth["pregnancies"][record["id"]] in mothers
        if record["no_kk"]:
            assert kks[record["no_kk"]]["mother_nik"] == truth["pregnancies"][record["id"]]

    services = list(read_collection(store, "layanan"))
    child_records = [r for r in services if r["jenis_sasaran"] in ("BADUTA", "BALITA", "ANAK_PRASEKOLAH")]
    with_nik = [r for r in child_records if r["nik_sasaran"]]
    assert with_nik and all(r["nik_sasaran"] in children for r in with_nik)
    assert 0.3 < 1 - len(with_nik) / len(child_records) < 0.8, "children's services are often without NIK"
    for r in child_records:
        if r["nik_ibu"] and r["no_kk"]:
            assert kks[r["no_kk"]]["mother_nik"] == r["nik_ibu"]

    rows = _bkkbn_rows(landing)
    good = [row for _, row in rows if len(row["No KK"]) == 16]
    assert all(kks[row["No KK"]]["mother_nik"] == row["NIK Istri"] for row in good)

    surveys = _latest(store, "survei_rumah_tangga")
    for feature in surveys.values():
        kk = feature["properties"]["no_kk"]
        assert kk is None or kk in kks or kk in dtsen_kks
    surveyed = {s for f in families for s in f["id_survei"]}
    assert surveyed == set(surveys)

    eppgbm_pairs = Counter()
    for path in landing.glob("eppgbm_*.csv"):
        raw = path.read_bytes()
        semicolon = raw.startswith(b"\xef\xbb\xbf")
        reader = csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";" if semicolon else ",")
        for row in reader:
            if row.get("Nomor KK"):
                family = kks.get(row["Nomor KK"])
                eppgbm_pairs[family is not None and family["mother_nik"] == row["NIK Orang Tua"]] += 1
    assert eppgbm_pairs[True] > 0.95 * sum(eppgbm_pairs.values())


def test_bkkbn_covers_most_families_with_under_fives_and_applies_the_krs_rule(city) -> None:
    landing, _, truth = city
    rows = _bkkbn_rows(landing)
    last_round = max(name[-10:-4] for name, _ in rows)
    latest = [row for name, row in rows if name.endswith(f"_{last_round}.csv")]
    with_kids = sum(1 for f in truth["families"] if f["child_niks"])
    assert 0.6 * with_kids < len(latest) <= with_kids
    yes = {"Ya", "Y", "1", "ya"}
    for row in latest:
        factors = [row["Sumber Air Minum Layak"] not in yes, row["Jamban Layak"] not in yes] + [
            row[k] in yes for k in ("Terlalu Muda", "Terlalu Tua", "Terlalu Dekat", "Terlalu Banyak")
        ]
        assert (row["Berisiko Stunting"] in yes) == any(factors)
    notations = {frozenset({row["Punya Baduta"], row["PUS"]}) for _, row in rows}
    assert len({v for n in notations for v in n}) >= 4, "several flag notations"
    assert truth["bkkbn"]["files_cp1252"] > 0
    assert any(name.startswith("PK_3375") and name.endswith(f"_{last_round}.csv") for name in truth["bkkbn"]["file_names"])


def test_household_risk_follows_children_growth_and_kelurahan() -> None:
    reference = load_reference()
    sim = Simulation(reference, seed=3, children=4000, dirt=DirtRates())
    months = month_sequence("2026-10", 1)
    sim.begin_month(*months[0])
    households = build_households(sim.population, reference, 3, window_of(months))
    growth = sim.population.growth_of
    stunted, others = [], []
    for h in households:
        if not h.children:
            continue
        haz = [c.growth.true_z(growth(h.kelurahan.code), 900)[0] for c in h.children]
        (stunted if min(haz) < -2 else others).append(h)
    share = lambda group, test: sum(1 for h in group if test(h)) / len(group)  # noqa: E731
    assert share(stunted, lambda h: not h.improved_water) > 1.3 * share(others, lambda h: not h.improved_water)
    assert share(stunted, lambda h: not h.proper_latrine) > 1.3 * share(others, lambda h: not h.proper_latrine)
    assert share(stunted, lambda h: h.desil <= 4) > 1.2 * share(others, lambda h: h.desil <= 4)
    levels = kelurahan_convergence(reference, 3)
    assert max(levels.values()) - min(levels.values()) > 0.5
    in_dtsen = sum(1 for h in households if h.id_rt) / len(households)
    assert 0.83 < in_dtsen < 0.92


# --- dirt -----------------------------------------------------------------------------------------

def test_service_dirt_is_present_at_its_rate(city) -> None:
    _, store, truth = city
    services = list(read_collection(store, "layanan"))
    n = truth["services"]["services"]
    versions = Counter(r["id"] for r in services)
    resent = sum(1 for c in versions.values() if c > 1)
    dirt = truth["services_dirt"]
    assert resent == dirt["correction"] + dirt["voided"]
    assert sum(1 for r in services if r["status"] == "BATAL") == dirt["voided"]
    known = {"ANC", "TTD", "PMT_BUMIL_KEK", "KF", "KELAS_IBU_HAMIL", "KUNJUNGAN_RUMAH", "IMUNISASI_DASAR_LENGKAP",
             "VITAMIN_A", "AKTA_KELAHIRAN", "JKN", "PAUD", "KONSELING_GIZI", "KELAS_BKB", "PMT_BALITA",
             "TATA_LAKSANA_GIZI_BURUK", "ASI_EKSKLUSIF", "MPASI"}
    assert {r["kode_layanan"] for r in services} & known == known
    unknown = {r["id"] for r in services if r["kode_layanan"] not in known}
    assert len(unknown) == dirt["unknown_code"]
    assert 0.01 * n < dirt["correction"] < 0.03 * n
    assert 0.0005 * n < dirt["unknown_code"] < 0.005 * n
    assert 0 < dirt["impossible_date"] < 0.003 * n
    for r in services:
        if r["kode_layanan"] == "TTD":
            assert r["jumlah"] % 10 == 0
        lag = dt.datetime.fromisoformat(r["updated_at"]).date()
        assert r["updated_at"].endswith("+07:00")
        try:
            served = dt.date.fromisoformat(r["tanggal_layanan"])
        except ValueError:
            continue
        if served.year in (1900, 2099):
            continue
        assert 0 <= (lag - served).days <= 70


def test_pregnancies_have_their_lifecycle(city) -> None:
    _, store, truth = city
    versions = defaultdict(list)
    for record in read_collection(store, "ibu-hamil"):
        versions[record["id"]].append(record)
    latest = {k: max(v, key=lambda r: r["updated_at"]) for k, v in versions.items()}
    status = Counter(r["status_kehamilan"] for r in latest.values())
    assert status["BERSALIN"] and status["HAMIL"] and status["KEGUGURAN"]
    for pregnancy_id, rows in versions.items():
        last = latest[pregnancy_id]
        if last["status_kehamilan"] == "BERSALIN":
            assert rows[0]["status_kehamilan"] == "HAMIL" and rows[0]["updated_at"] < last["updated_at"]
            gestation = (dt.date.fromisoformat(last["tanggal_persalinan"]) - dt.date.fromisoformat(last["hpht"])).days
            assert 230 <= gestation <= 320
        assert last["kek"] == (last["lila_cm"] < 23.5)
    assert truth["services"]["pregnancies"] == len(versions)


def test_registers_differ_as_real_ones_do(city) -> None:
    _, store, truth = city
    families = truth["families"]
    registered = [f for f in families if f["id_rt"]]
    assert 0.02 < sum(1 for f in registered if f["dtsen_kk"] != f["kk"]) / len(registered) < 0.12
    dtsen = truth["dtsen_dirt"]
    assert dtsen["child_nik_missing"] > 0 and dtsen["name_variants"] > 0 and dtsen["codes_out_of_domain"] > 0
    surveys = [f["properties"] for f in _latest(store, "survei_rumah_tangga").values()]
    assert 0.5 < len(surveys) / len(families) < 0.7
    assert 0.2 < sum(1 for s in surveys if s["no_kk"] is None) / len(surveys) < 0.4
    assert any(s["alamat"].startswith("Jalan ") or s["alamat"].startswith("JALAN ") for s in surveys)
    assert any(len(s["rt"]) < 3 for s in surveys)
    projects = [f["properties"] for f in _latest(store, "proyek").values()]
    assert projects and {p["status"] for p in projects} >= {"SELESAI"}
    assert all((p["status"] == "SELESAI") == (p["tanggal_selesai"] is not None) for p in projects)
    assert truth["bkkbn"]["flags_disagreeing"] > 0


# --- the server over real HTTP ---------------------------------------------------------------------

def _fixture_store(directory: Path) -> Path:
    with StoreWriter(directory) as writer:
        write = writer.writer("layanan")
        for i in range(25):
            write({"id": f"LYN-{i:03d}", "kode_layanan": "ANC", "updated_at": f"2026-03-{1 + i:02d}T10:00:00+07:00"})
        write({"id": "LYN-003", "kode_layanan": "ANC", "status": "BATAL", "updated_at": "2026-04-10T10:00:00+07:00"})
        survey = writer.writer("survei_rumah_tangga")
        for i in range(7):
            survey({"type": "Feature", "geometry": None, "properties": {
                "id_survei": f"SRT-{i}", "updated_at": f"2026-02-0{1 + i}T08:00:00+07:00"}})
    return directory


def _get(url: str, token: str | None = "t0k") -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), dict(error.headers)


def _all_pages(url: str) -> list[dict]:
    records = []
    while url:
        status, body, _ = _get(url)
        assert status == 200
        records += body["data"]
        url = body["links"]["next"]
    return records


def test_services_api_paginates_filters_and_travels_in_time(tmp_path: Path) -> None:
    store = _fixture_store(tmp_path / "store")
    with SourceServer(store, token="t0k") as server:
        base = f"{server.services_url}/layanan"
        status, body, _ = _get(f"{base}?per_page=10")
        assert status == 200 and body["meta"] == {"page": 1, "per_page": 10, "total": 25, "total_pages": 3}
        records = _all_pages(f"{base}?per_page=10")
        assert len(records) == 25 and len({r["id"] for r in records}) == 25
        assert [(r["updated_at"], r["id"]) for r in records] == sorted((r["updated_at"], r["id"]) for r in records)
        assert records[-1] == {"id": "LYN-003", "kode_layanan": "ANC", "status": "BATAL",
                               "updated_at": "2026-04-10T10:00:00+07:00"}
        since = _all_pages(f"{base}?updated_since=2026-03-20T10:00:00%2B07:00&per_page=4")
        assert [r["id"] for r in since] == [f"LYN-{i:03d}" for i in range(19, 25)] + ["LYN-003"]
        server.set_as_of("2026-03-05T12:00:00+07:00")
        early = _all_pages(f"{base}?per_page=1000")
        assert [r["id"] for r in early] == ["LYN-000", "LYN-001", "LYN-002", "LYN-003", "LYN-004"]
        assert "status" not in early[3], "the voiding is not visible before it happened"
        assert _get(f"{base}?per_page=1001")[0] == 400
        assert _get(f"{base}?updated_since=yesterday")[0] == 400
        assert _get(base, token=None)[0] == 401
        assert _get(base, token="wrong")[0] == 401
        assert _get(f"{server.services_url}/nothing")[0] == 404


def test_pupr_features_paginate_with_offsets(tmp_path: Path) -> None:
    store = _fixture_store(tmp_path / "store")
    with SourceServer(store, token="t0k", as_of="2026-02-06T00:00:00+07:00") as server:
        url = f"{server.pupr_url}/collections/survei_rumah_tangga/items?limit=2"
        seen = []
        while url:
            status, body, _ = _get(url, token=None)
            assert status == 200 and body["type"] == "FeatureCollection" and body["numberMatched"] == 5
            assert body["numberReturned"] == len(body["features"])
            seen += [f["properties"]["id_survei"] for f in body["features"]]
            url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
        assert seen == [f"SRT-{i}" for i in range(5)]
        status, body, _ = _get(
            f"{server.pupr_url}/collections/survei_rumah_tangga/items?updated_since=2026-02-04T08:00:00%2B07:00",
            token=None,
        )
        assert [f["properties"]["id_survei"] for f in body["features"]] == ["SRT-3", "SRT-4"]
        assert _get(f"{server.pupr_url}/collections/proyek/items", token=None)[1]["numberMatched"] == 0


def test_faults_deterministic_and_seeded(tmp_path: Path) -> None:
    store = _fixture_store(tmp_path / "store")
    with SourceServer(store, token="t0k", stall_seconds=0.3) as server:
        base = f"{server.services_url}/layanan"
        server.fail_next(2, status=502)
        assert [_get(base)[0] for _ in range(3)] == [502, 502, 200]
        server.set_down(True)
        status, _, headers = _get(base)
        assert status == 503 and headers.get("Retry-After") == "1"
        server.set_down("pupr")  # only the public-works endpoint is down: the services API answers
        assert _get(base)[0] == 200
        assert _get(f"{server.pupr_url}/collections/proyek/items")[0] == 503
        server.set_down(False)
        server.stall_next(1)
        started = dt.datetime.now()
        assert _get(base)[0] == 200
        assert (dt.datetime.now() - started).total_seconds() >= 0.3
        server.control({"fail_rate": 0.5})
        statuses = [_get(base)[0] for _ in range(60)]
        assert 10 < sum(s != 200 for s in statuses) < 50
        assert set(statuses) <= {200, 429, 500, 502, 503}
    runs = []
    for _ in range(2):
        with SourceServer(store, token="t0k", fail_rate=0.3, seed=5) as server:
            runs.append([_get(f"{server.services_url}/layanan")[0] for _ in range(30)])
    assert runs[0] == runs[1]


def test_server_on_a_generated_store_serves_each_record_once(city) -> None:
    _, store, truth = city
    with SourceServer(store, token="t0k") as server:
        records = _all_pages(f"{server.services_url}/ibu-hamil?per_page=1000")
        assert len(records) == len({r["id"] for r in records}) == truth["services"]["pregnancies"]
        end = truth["window"][1]
        server.set_as_of(f"{end}T23:59:59+07:00")
        visible = _get(f"{server.services_url}/layanan?per_page=1")[1]["meta"]["total"]
        server.set_as_of(None)
        assert visible < _get(f"{server.services_url}/layanan?per_page=1")[1]["meta"]["total"]


def test_store_line_without_id_is_refused_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "layanan.jsonl").write_text('{"id": "A", "updated_at": "2026-01-01T00:00:00+07:00"}\n{"x": 1}\n')
    with pytest.raises(ValueError, match=r"layanan.jsonl, line 2"):
        SourceServer(tmp_path)
