"""How each pulled source is read: pages of records, in the source's own field names.

A source is a name, the raw tables it feeds (`Target`s) and a `fetch` that yields `Page`s for the
window asked (`updated_since`, or everything on the first run). Fetching only reads; the framework
validates, spools and applies.

DTSEN is ONE extract and ONE watermark covering its three tables: they are read in one read-only,
repeatable-read snapshot, so a household, its members and its programmes always arrive together
(a household without the members changed at the same moment cannot happen), and the night has one
freshness answer for the register.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode, urljoin

from konvergensi import settings
from konvergensi.extract.errors import SourceRejected, SourceUnavailable
from konvergensi.extract.http import JsonClient, RetryPolicy
from konvergensi.extract.targets import HOUSEHOLDS, MEMBERS, PREGNANCIES, PROGRAMMES, PROJECTS, SERVICES, SURVEYS, Target

PAGE_SIZE = 500
DTSEN_BATCH = 2_000
MAX_PAGES = 100_000  # a guard against a server whose next links never end


@dataclass
class Page:
    label: str  # names the page in messages: "page 3 (http://…)"
    target: str
    records: list


@dataclass
class FetchRun:
    """One extract's view of the source: the window asked for and the clients' request counts."""

    source: str
    since: datetime | None
    policy: RetryPolicy
    clients: list[JsonClient] = field(default_factory=list)
    database_attempts: int = 0

    def http_client(self, base_url: str, headers: Mapping[str, str] | None = None) -> JsonClient:
        """A client that speaks only to `base_url`'s scheme, host and port (the token stays there)."""
        client = JsonClient(self.source, self.policy, headers, base_url=base_url)
        self.clients.append(client)
        return client

    @property
    def attempts(self) -> int:
        return sum(c.requests for c in self.clients) + self.database_attempts


@dataclass(frozen=True)
class Source:
    name: str
    targets: tuple[Target, ...]
    fetch: Callable[[FetchRun], Iterator[Page]]

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


def _follow(run: FetchRun, client: JsonClient, first_url: str, read: Callable[[object, str, str], tuple[list, str | None]], target: str) -> Iterator[Page]:
    """Yield pages from first_url on, following each page's next link until there is none.

    A next link is resolved against its page and must stay on the configured origin: the client
    refuses anything else before sending a request (see JsonClient.check_url).
    """
    url: str | None = first_url
    seen: set[str] = set()
    number = 0
    while url:
        number += 1
        if url in seen or number > MAX_PAGES:
            raise SourceRejected(f"{run.source}: page {number} at {url}: next links go round in a circle")
        seen.add(url)
        what = f"page {number}"
        records, next_url = read(client.get_json(url, what), url, what)
        yield Page(f"{what} ({url})", target, records)
        if next_url:
            following = urljoin(url, next_url)
            client.check_url(following, f"page {number + 1} (links.next of {what})")
            url = following
        else:
            url = None


def _services_page(source: str) -> Callable[[object, str, str], tuple[list, str | None]]:
    def read(document: object, url: str, what: str) -> tuple[list, str | None]:
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise SourceRejected(f"{source}: {what} at {url} has no 'data' list")
        links = document.get("links") or {}
        next_url = links.get("next") if isinstance(links, dict) else None
        if next_url is not None and not isinstance(next_url, str):
            raise SourceRejected(f"{source}: {what} at {url}: links.next is not a URL")
        return document["data"], next_url

    return read


def _services_fetch(path: str, target: Target) -> Callable[[FetchRun], Iterator[Page]]:
    def fetch(run: FetchRun) -> Iterator[Page]:
        base = settings.services_api_url()
        client = run.http_client(base, {"Authorization": f"Bearer {settings.services_api_token()}"})
        query = {"per_page": PAGE_SIZE, "page": 1}
        if run.since is not None:
            query["updated_since"] = run.since.isoformat()
        first = f"{base}/{path}?{urlencode(query)}"
        yield from _follow(run, client, first, _services_page(run.source), target.name)

    return fetch


def _geojson_page(source: str) -> Callable[[object, str, str], tuple[list, str | None]]:
    def read(document: object, url: str, what: str) -> tuple[list, str | None]:
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise SourceRejected(f"{source}: {what} at {url} is not a GeoJSON FeatureCollection")
        features = document.get("features")
        if not isinstance(features, list):
            raise SourceRejected(f"{source}: {what} at {url} has no 'features' list")
        next_url = None
        for link in document.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "next":
                next_url = link.get("href")
                if not isinstance(next_url, str):
                    raise SourceRejected(f"{source}: {what} at {url}: the next link has no href")
        return features, next_url

    return read


def _pupr_fetch(collection: str, target: Target) -> Callable[[FetchRun], Iterator[Page]]:
    def fetch(run: FetchRun) -> Iterator[Page]:
        base = settings.pupr_api_url()
        client = run.http_client(base)
        query: dict[str, object] = {"limit": PAGE_SIZE, "offset": 0}
        if run.since is not None:
            query["updated_since"] = run.since.isoformat()
        first = f"{base}/collections/{collection}/items?{urlencode(query)}"
        yield from _follow(run, client, first, _geojson_page(run.source), target.name)

    return fetch


DTSEN_QUERIES: tuple[tuple[Target, str, str], ...] = (
    (
        HOUSEHOLDS, "rumah_tangga",
        "id_rt, no_kk, kode_kelurahan, nama_kelurahan, alamat, rt, rw, desil, b302_luas_lantai, b303_lantai, "
        "b304_dinding, b305_atap, b306a_air_minum, b309a_fasilitas_bab, b309b_jenis_kloset, b310_pembuangan_akhir, "
        "jumlah_art, periode_pemutakhiran, updated_at",
    ),
    (
        MEMBERS, "anggota_rumah_tangga",
        "id_art, id_rt, nik, nama, b409_hubungan, jenis_kelamin, tgl_lahir, b411_akta_lahir, b417_lapangan_usaha, "
        "b418_status_pekerjaan, b427_catatan_kms, b431a_jaminan_kesehatan, status_keberadaan, updated_at",
    ),
    (PROGRAMMES, "penerimaan_program", "id_rt, program, tahun, bulan, updated_at"),
)  # fmt: skip


def _dtsen_fetch(run: FetchRun) -> Iterator[Page]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
    from sqlalchemy.pool import NullPool

    url = settings.dtsen_url()
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": max(1, int(run.policy.timeout))})
    where = "dtsen (connecting)"
    try:
        run.database_attempts += 1
        with engine.connect() as connection:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True, stream_results=True, yield_per=DTSEN_BATCH
            )
            for target, table, columns in DTSEN_QUERIES:
                where = f"dtsen.{table}"
                condition = "where updated_at >= :since " if run.since is not None else ""
                statement = text(f"select {columns} from dtsen.{table} {condition}order by updated_at")
                result = connection.execute(statement, {"since": run.since} if run.since is not None else {})
                for number, rows in enumerate(result.mappings().partitions(), start=1):
                    yield Page(f"dtsen.{table} batch {number}", target.name, [dict(row) for row in rows])
    except OperationalError as error:
        raise SourceUnavailable(f"dtsen: {where} at {engine.url.render_as_string(hide_password=True)}: {_first_line(error)}") from None
    except DBAPIError as error:
        raise SourceRejected(f"dtsen: {where}: {_first_line(error)}") from None
    except SQLAlchemyError as error:
        raise SourceUnavailable(f"dtsen: {where}: {_first_line(error)}") from None
    finally:
        engine.dispose()


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source("services", (SERVICES,), _services_fetch("layanan", SERVICES)),
        Source("pregnancies", (PREGNANCIES,), _services_fetch("ibu-hamil", PREGNANCIES)),
        Source("dtsen", (HOUSEHOLDS, MEMBERS, PROGRAMMES), _dtsen_fetch),
        Source("pupr_surveys", (SURVEYS,), _pupr_fetch("survei_rumah_tangga", SURVEYS)),
        Source("pupr_projects", (PROJECTS,), _pupr_fetch("proyek", PROJECTS)),
    )
}


# The setting that reaches each pulled source (which sources are configured: settings.configured_sources).
CONFIGURED_BY = {name: setting for name, setting in settings.KNOWN_SOURCES.items() if setting}


def is_configured(name: str) -> bool:
    """Whether this deployment pulls `name` (see settings.configured_sources)."""
    if name not in CONFIGURED_BY:
        raise KeyError(f"unknown source {name!r}; expected one of {', '.join(CONFIGURED_BY)}")
    return settings.is_configured(name)
