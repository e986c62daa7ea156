"""The bad-input catalogue for the pulled sources: broken answers, hostile links, a changed register.

Each case feeds one extract a misbehaving source — the local fake HTTP server of
tests/fixtures/sources/fake_http.py (a real server on 127.0.0.1) or a DTSEN schema changed under
the extractor — and ends in one of three outcomes, each asserted with the exact row accounting of
ops.source_extracts against what raw holds:

* `loaded`: the extract is recorded loaded, records read = loaded + quarantined, raw holds the
  loaded rows and raw.source_quarantine the quarantined ones, each with the reason expected;
* `rejected` (SourceRejected, permanent) or `unavailable` (SourceUnavailable, after the retries):
  the error names the source, the page or table and the reason, the extract is recorded failed
  with the same message and with its counts (read = loaded + quarantined of what was spooled), and
  raw, the quarantine and the watermark are left exactly as they were (nothing half-applied).

The security cases also check that nothing reached the other host: a next link or a redirect
off the configured origin is refused before a request is sent, so the bearer token stays home.
A per-case outcome table is printed at the end.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from konvergensi.extract import SourceRejected, SourceUnavailable, extract_source
from konvergensi.extract import sources as extract_sources
from konvergensi.extract.http import RetryPolicy
from tests.fixtures.sources.dtsen_register import DTSEN_DDL
from tests.fixtures.sources.fake_http import FakeSources, load_fixture

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=3, timeout=0.5, backoff=0.01, max_backoff=0.02, retry_after_cap=0.05)
RAW_TABLES = {
    "services": ("raw.mch_services",),
    "pregnancies": ("raw.mch_pregnancies",),
    "pupr_surveys": ("raw.pupr_household_surveys",),
    "pupr_projects": ("raw.pupr_projects",),
    "dtsen": ("raw.dtsen_households", "raw.dtsen_members", "raw.dtsen_programmes"),
}
CLEARED = ", ".join(
    [*(t for tables in RAW_TABLES.values() for t in tables),
     "raw.source_quarantine", "ops.source_watermarks", "ops.source_extracts"]
)  # fmt: skip


@dataclass
class World:
    """What a case may change: the fake source, a second server on another host, the settings, DTSEN."""

    fake: FakeSources
    other: FakeSources
    warehouse: str
    patch: pytest.MonkeyPatch

    @property
    def services(self) -> str:
        return f"{self.fake.base_url}/api/v1"

    @property
    def first_page(self) -> str:
        return f"{self.services}/layanan?per_page=2&page=1"

    @property
    def elsewhere(self) -> str:
        """The other server, by another host name (localhost, not 127.0.0.1) and port."""
        return self.other.base_url.replace("127.0.0.1", "localhost")

    def dtsen(self, change: str = "") -> None:
        with psycopg.connect(self.warehouse, autocommit=True) as connection:
            connection.execute(DTSEN_DDL + change)
        self.patch.setenv("KONVERGENSI_DTSEN_URL", self.warehouse)


@dataclass
class Case:
    name: str
    source: str
    outcome: str  # loaded | rejected | unavailable
    reason: str  # a regex the error (or each quarantine reason) must match
    counts: tuple[int, int, int]  # records read, loaded, quarantined (as ops.source_extracts records them)
    script: list = field(default_factory=list)
    prepare: Callable[[World], None] | None = None
    policy: RetryPolicy = FAST
    check: Callable[[World], None] | None = None


def _many_services(world: World) -> None:
    template = load_fixture("layanan.json")[0]
    world.fake.collections["layanan"] = [
        {**template, "id": f"LYN-{n:04d}", "updated_at": f"2026-03-02T09:{n % 60:02d}:00+07:00"} for n in range(50)
    ]
    world.fake.page_multiplier = 10
    world.patch.setattr(extract_sources, "PAGE_SIZE", 5)


def _feature(n: int, geometry: object) -> dict:
    feature = dict(load_fixture("survei_rumah_tangga.json")[0])
    return {**feature, "geometry": geometry, "properties": {**feature["properties"], "id_survei": f"SRV-G{n}"}}


def _bad_geometries(world: World) -> None:
    world.fake.collections["survei_rumah_tangga"] = [
        _feature(1, {"type": "Point", "coordinates": [109.6753, -6.8886]}),
        _feature(2, None),
        _feature(3, {"type": "Point", "coordinates": [200.0, -6.9]}),
        _feature(4, {"type": "Point", "coordinates": ["timur", "selatan"]}),
        _feature(5, {"type": "Point"}),
        _feature(6, "POINT(109.67 -6.88)"),
        _feature(7, {"type": "LineString", "coordinates": [[109.6, -6.8], [109.7, -6.9]]}),
        _feature(8, {"type": "Point", "coordinates": [109.6]}),
    ]


def _wrong_token(world: World) -> None:
    world.patch.setenv("KONVERGENSI_SERVICES_API_TOKEN", "salah")


def _nothing_elsewhere(world: World) -> None:
    assert world.other.requests == [], "a request reached the other host"


def _token_followed_same_host_redirect(world: World) -> None:
    assert world.fake.authorizations[:2] == [f"Bearer {world.fake.token}"] * 2


def _not_objects(world: World) -> None:
    world.fake.script = [("json", {"data": [1, "x", None, ["LYN-1"]], "links": {"next": None}})]


URL = r"http://127\.0\.0\.1:\d+/api/v1/layanan\?\S+"
GEO = r"http://127\.0\.0\.1:\d+/pupr/collections/survei_rumah_tangga/items\?\S+"
CASES = [
    # answers that are not what the contract says
    Case("html_instead_of_json", "services", "rejected", rf"services: page 1 at {URL} answered HTML \(text/html", (0, 0, 0),
         ["html"]),
    Case("html_on_page_2", "services", "rejected", rf"services: page 2 at {URL} answered HTML", (2, 2, 0), [None, "html"]),
    Case("proxy_error_page", "services", "rejected", r"services: page 1 at \S+ answered HTML \(application/json\)",
         (0, 0, 0), ["garbage"]),
    Case("truncated_json", "services", "rejected", rf"services: page 2 at {URL} is not valid JSON", (2, 2, 0),
         [None, "truncated"]),
    Case("body_cut_off_every_time", "services", "unavailable",
         rf"services: page 1 at {URL} still failing after 3 attempt\(s\): the answer broke off \(IncompleteRead", (0, 0, 0),
         ["short"] * 3),
    Case("body_cut_off_once_then_whole", "services", "loaded", r"layanan: ", (5, 3, 2), ["short"]),
    Case("document_without_data_list", "services", "rejected", rf"services: page 1 at {URL} has no 'data' list", (0, 0, 0),
         [("json", {"data": {"id": "LYN-0001"}, "links": {}})]),
    Case("top_level_array", "services", "rejected", rf"services: page 1 at {URL} has no 'data' list", (0, 0, 0),
         [("json", [])]),
    Case("next_link_not_a_string", "services", "rejected", rf"services: page 1 at {URL}: links.next is not a URL", (0, 0, 0),
         [("json", {"data": [], "links": {"next": 2}})]),
    Case("records_not_objects", "services", "loaded", r"layanan: record is a (int|str|NoneType|list), not an object",
         (4, 0, 4), prepare=_not_objects),
    Case("not_a_feature_collection", "pupr_surveys", "rejected",
         rf"pupr_surveys: page 1 at {GEO} is not a GeoJSON FeatureCollection", (0, 0, 0), [("json", {"type": "Feature"})]),
    Case("invalid_geojson_geometry", "pupr_surveys", "loaded",
         r"survei_rumah_tangga: (geometry is not a Point|Point coordinates .* (are not \[longitude, latitude\]|are outside WGS 84))",
         (8, 2, 6), prepare=_bad_geometries),
    # paging
    Case("page_loop_back_to_page_1", "services", "rejected",
         rf"services: page 3 at {URL}: next links go round in a circle", (4, 3, 1),
         prepare=lambda w: setattr(w.fake, "script", [None, ("next", w.first_page)])),
    Case("page_loop_relative_self_link", "pupr_surveys", "rejected",
         rf"pupr_surveys: page 2 at {GEO}: next links go round in a circle", (2, 2, 0),
         [("next", "items?limit=2&offset=0")]),
    Case("ten_times_the_page_size", "services", "loaded", r"^$", (50, 50, 0), prepare=_many_services),
    # the connection
    Case("hanging_connection", "services", "unavailable",
         rf"services: page 1 at {URL} still failing after 3 attempt\(s\): no answer within 0\.5 s", (0, 0, 0),
         ["stall"] * 3, prepare=lambda w: setattr(w.fake, "stall_seconds", 0.8)),
    Case("server_error_every_time", "pregnancies", "unavailable",
         r"pregnancies: page 1 at \S+/ibu-hamil\?\S+ still failing after 3 attempt\(s\): HTTP 500", (0, 0, 0), [500] * 3),
    Case("wrong_token", "services", "rejected", rf"services: token rejected by {URL} \(HTTP 401\)", (0, 0, 0),
         prepare=_wrong_token),
    Case("forbidden", "pregnancies", "rejected", r"pregnancies: access forbidden by \S+/ibu-hamil\?\S+ \(HTTP 403\)",
         (0, 0, 0), [403]),
    Case("endpoint_moved", "services", "rejected", rf"services: page 1 at {URL} answered HTTP 404", (0, 0, 0), [404]),
    # where the token may go
    Case("next_link_to_another_host", "services", "rejected",
         r"services: page 2 \(links.next of page 1\) at http://localhost:\d+/api/v1/layanan\?page=2: refused: outside "
         r"the configured source http://127\.0\.0\.1:\d+ \(the token is never sent to another host or scheme\)", (2, 2, 0),
         prepare=lambda w: setattr(w.fake, "script", [("next", f"{w.elsewhere}/api/v1/layanan?page=2")]),
         check=_nothing_elsewhere),
    Case("next_link_to_another_scheme", "services", "rejected",
         r"services: page 2 \(links.next of page 1\) at https://127\.0\.0\.1:\d+/api/v1/layanan\?page=2: refused: outside",
         (2, 2, 0), prepare=lambda w: setattr(w.fake, "script", [("next", w.services.replace("http:", "https:") + "/layanan?page=2")])),
    Case("next_link_to_a_file", "services", "rejected",
         r"services: page 2 \(links.next of page 1\) at file:///etc/passwd: refused: not an http\(s\) URL", (2, 2, 0),
         [("next", "file:///etc/passwd")]),
    Case("geojson_next_link_to_a_file", "pupr_surveys", "rejected",
         r"pupr_surveys: page 2 \(links.next of page 1\) at file:///etc/passwd: refused: not an http\(s\) URL", (2, 2, 0),
         [("next", "file:///etc/passwd")]),
    Case("redirect_to_another_host", "services", "rejected",
         rf"services: page 1 at {URL}: refused: redirected \(HTTP 302\) to http://localhost:\d+/steal, outside "
         r"http://127\.0\.0\.1:\d+; the token is not sent there", (0, 0, 0),
         prepare=lambda w: setattr(w.fake, "script", [("redirect", f"{w.elsewhere}/steal")]), check=_nothing_elsewhere),
    Case("redirect_to_a_file", "services", "rejected",
         rf"services: page 1 at {URL} answered HTTP 302 .*Redirection to url 'file:///etc/passwd' is not allowed",
         (0, 0, 0), [("redirect", "file:///etc/passwd")]),
    Case("redirect_on_the_same_host", "services", "loaded", r"layanan: ", (5, 3, 2),
         prepare=lambda w: setattr(w.fake, "script", [("redirect", w.first_page)]), check=_token_followed_same_host_redirect),
    # size
    Case("response_larger_than_announced_limit", "services", "rejected",
         rf"services: page 1 at {URL} announces \d+ bytes, more than the limit of 600 \(KONVERGENSI_HTTP_MAX_RESPONSE_BYTES\)",
         (0, 0, 0), policy=dataclasses.replace(FAST, max_response_bytes=600)),
    Case("response_larger_than_limit_unannounced", "services", "rejected",
         rf"services: page 1 at {URL} is larger than the limit of 600 bytes", (0, 0, 0), ["unannounced"],
         policy=dataclasses.replace(FAST, max_response_bytes=600)),
    Case("response_unannounced_within_limit", "services", "loaded", r"layanan: ", (5, 3, 2), ["unannounced"] * 3),
    # DTSEN changes its schema
    Case("dtsen_renamed_column", "dtsen", "rejected",
         r'dtsen: dtsen\.rumah_tangga: column "b303_lantai" does not exist', (0, 0, 0),
         prepare=lambda w: w.dtsen("alter table dtsen.rumah_tangga rename column b303_lantai to lantai;")),
    Case("dtsen_dropped_column", "dtsen", "rejected",
         r'dtsen: dtsen\.anggota_rumah_tangga: column "updated_at" does not exist', (2, 2, 0),
         prepare=lambda w: w.dtsen("alter table dtsen.anggota_rumah_tangga drop column updated_at;")),
    Case("dtsen_missing_table", "dtsen", "rejected",
         r'dtsen: dtsen\.penerimaan_program: relation "dtsen\.penerimaan_program" does not exist', (5, 5, 0),
         prepare=lambda w: w.dtsen("drop table dtsen.penerimaan_program;")),
    Case("dtsen_column_changed_type", "dtsen", "loaded", r"rumah_tangga: desil 'tinggi' is not a whole number", (7, 6, 1),
         prepare=lambda w: w.dtsen("alter table dtsen.rumah_tangga alter column desil type text;"
                                   "update dtsen.rumah_tangga set desil = 'tinggi' where id_rt = 'RT-002';")),
    Case("dtsen_unreachable", "dtsen", "unavailable", r"dtsen: dtsen \(connecting\) at postgresql\+psycopg://nobody@127\.0\.0\.1:9/dtsen",
         (0, 0, 0), prepare=lambda w: w.patch.setenv("KONVERGENSI_DTSEN_URL", "postgresql://nobody@127.0.0.1:9/dtsen")),
]
OUTCOMES: list[tuple[str, str, str, tuple[int, int, int], str]] = []


@pytest.fixture(scope="module")
def warehouse(server_url: str) -> Iterator[str]:
    from tests.conftest import _scratch_database

    with _scratch_database(server_url) as url:
        yield url


@pytest.fixture
def world(warehouse: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with psycopg.connect(warehouse, autocommit=True) as connection:
        connection.execute(f"truncate {CLEARED} cascade")
    with FakeSources() as fake, FakeSources() as other:
        for collection, fixture in (
            ("layanan", "layanan.json"), ("ibu-hamil", "ibu_hamil.json"),
            ("survei_rumah_tangga", "survei_rumah_tangga.json"), ("proyek", "proyek.json"),
        ):  # fmt: skip
            fake.collections[collection] = load_fixture(fixture)
        other.collections["layanan"] = load_fixture("layanan.json")
        other.token = fake.token
        monkeypatch.setenv("KONVERGENSI_SERVICES_API_URL", f"{fake.base_url}/api/v1")
        monkeypatch.setenv("KONVERGENSI_SERVICES_API_TOKEN", fake.token)
        monkeypatch.setenv("KONVERGENSI_PUPR_API_URL", f"{fake.base_url}/pupr")
        monkeypatch.setattr(extract_sources, "PAGE_SIZE", 2)
        yield World(fake, other, warehouse, monkeypatch)


def _one(url: str, query: str) -> tuple:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchone()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_http_and_register_input(case: Case, world: World) -> None:
    world.fake.script = list(case.script)
    if case.source == "dtsen" and case.prepare is None:
        world.dtsen()
    if case.prepare is not None:
        case.prepare(world)
    error: Exception | None = None
    try:
        extract_source(case.source, f"bad-input-{case.name}", url=world.warehouse, policy=case.policy)
    except (SourceRejected, SourceUnavailable) as raised:
        error = raised
    extract = _one(world.warehouse, "select status, records_read, records_loaded, records_quarantined, coalesce(error, '') "
                                    "from ops.source_extracts")
    status, read, loaded, quarantined, recorded_error = extract
    raw_rows = sum(_one(world.warehouse, f"select count(*) from {t}")[0] for t in RAW_TABLES[case.source])
    with psycopg.connect(world.warehouse) as connection:
        reasons = [r for (r,) in connection.execute("select reason from raw.source_quarantine")]
    watermarks = _one(world.warehouse, "select count(*) from ops.source_watermarks")[0]

    assert read == loaded + quarantined, extract
    assert (read, loaded, quarantined) == case.counts, extract
    if case.outcome == "loaded":
        assert error is None, error
        assert status == "loaded" and recorded_error == ""
        assert (raw_rows, len(reasons)) == (loaded, quarantined)
        assert all(re.search(case.reason, reason) for reason in reasons), reasons
        assert watermarks == (1 if loaded else 0)
        shown = "; ".join(sorted(set(reasons)))[:110] or "—"
    else:
        expected = SourceRejected if case.outcome == "rejected" else SourceUnavailable
        assert isinstance(error, expected), error
        assert re.search(case.reason, str(error)), str(error)
        assert status == "failed" and recorded_error == str(error)
        assert (raw_rows, len(reasons), watermarks) == (0, 0, 0), "a failed extract changed raw"
        shown = str(error)[:110]
    if case.check is not None:
        case.check(world)
    OUTCOMES.append((case.name, case.source, case.outcome, case.counts, shown))


def test_print_the_outcome_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The catalogue's per-case outcomes (runs last in this module)."""
    assert len(OUTCOMES) == len(CASES), "run the whole module to get the table"
    width = max(len(name) for name, *_ in OUTCOMES)
    lines = [f"{'case':<{width}}  {'source':<12} {'outcome':<11} read loaded quar  reason"]
    for name, source, outcome, (read, loaded, quarantined), shown in OUTCOMES:
        lines.append(f"{name:<{width}}  {source:<12} {outcome:<11} {read:>4} {loaded:>6} {quarantined:>4}  {shown}")
    counts = {o: sum(1 for _, _, outcome, _, _ in OUTCOMES if outcome == o) for o in ("loaded", "rejected", "unavailable")}
    lines.append(f"{len(OUTCOMES)} cases: " + ", ".join(f"{n} {o}" for o, n in counts.items()))
    with capsys.disabled():
        print("\n" + "\n".join(lines))
