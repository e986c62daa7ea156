"""An HTTP server playing the services API and the PUPR feature service from a store directory.

* ``GET /api/v1/layanan`` and ``/api/v1/ibu-hamil`` (Bearer token): ``updated_since``, ``page``,
  ``per_page`` (≤ 1000); ``{"data", "meta", "links": {"next"}}`` ordered by ``(updated_at, id)``.
* ``GET /pupr/collections`` and ``/pupr/collections/{name}/items``: ``updated_since``, ``limit``
  (≤ 1000), ``offset``; a GeoJSON ``FeatureCollection`` with ``numberMatched``, ``numberReturned``
  and a ``rel: next`` link while more remain.
* ``POST /_sim/control`` with JSON ``{"as_of": ISO|null, "down": bool|"services"|"pupr", "fail_next": n,
  "fail_status": 500, "stall_next": n, "fail_rate": f, "stall_rate": f, "stall_seconds": s}`` and
  ``GET /_sim/status``: let a test drive a server running in another process.

Time travel: with ``as_of`` set, versions with ``updated_at > as_of`` do not exist yet. Faults
(random 5xx/429 and stalls) are drawn from a seeded stream; deterministic ones are queued with
``fail_next``/``stall_next`` or ``set_down``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlencode, urlsplit

from konvergensi_simulator.store import (
    COLLECTIONS,
    PUPR_COLLECTIONS,
    SERVICE_COLLECTIONS,
    parse_instant,
    read_collection,
    record_key,
)

MAX_PAGE = 1000
DEFAULT_PER_PAGE = 500
DEFAULT_LIMIT = 100
RANDOM_FAILURES = (500, 502, 503, 429)
SYSTEMS = ("services", "pupr")  # the services API and the public-works endpoint: each can be down alone


class _Collection:
    """Versions sorted by ``(updated_at, id, line)`` with, per version, when it is superseded."""

    def __init__(self, records: list[dict], collection: str) -> None:
        keyed = []
        for line, record in enumerate(records):
            record_id, stamp = record_key(collection, record)
            keyed.append((parse_instant(stamp).timestamp(), record_id, line, record))
        keyed.sort(key=lambda item: (item[0], item[1], item[2]))
        self.times = [k[0] for k in keyed]
        self.ids = [k[1] for k in keyed]
        self.texts = [json.dumps(k[3], ensure_ascii=False, separators=(",", ":")) for k in keyed]
        self.superseded = [float("inf")] * len(keyed)
        last_of: dict[str, int] = {}
        for index, record_id in enumerate(self.ids):
            previous = last_of.get(record_id)
            if previous is not None:
                self.superseded[previous] = self.times[index]
            last_of[record_id] = index

    def visible(self, since: float | None, as_of: float | None) -> list[int]:
        """Indexes of the versions current at ``as_of`` whose ``updated_at >= since``, in order."""
        start = 0 if since is None else bisect.bisect_left(self.times, since)
        end = len(self.times) if as_of is None else bisect.bisect_right(self.times, as_of)
        horizon = sys.float_info.max if as_of is None else as_of  # only the never-superseded remain
        superseded = self.superseded
        return [i for i in range(start, end) if superseded[i] > horizon]


class _BadRequest(Exception):
    pass


class SourceServer:
    """Serve a store over HTTP in a background thread: ``with SourceServer(store, token="t") as s: s.url``.

    ``url`` is the root (``http://127.0.0.1:<port>``); ``services_url`` and ``pupr_url`` are the base
    URLs the extractors take.
    """

    def __init__(
        self, store: str | Path, *, token: str = "secret", as_of: str | dt.datetime | None = None,
        fail_rate: float = 0.0, stall_rate: float = 0.0, stall_seconds: float = 5.0, seed: int = 0,
        host: str = "127.0.0.1", port: int = 0,
    ) -> None:
        self.store = Path(store)
        if not self.store.is_dir():
            raise ValueError(f"store directory {self.store} does not exist")
        self.token = token
        self._lock = threading.Lock()
        self._rng = random.Random(f"konvergensi-simulator/server/{seed}")
        self._collections = {name: _Collection(list(read_collection(self.store, name)), name) for name in COLLECTIONS}
        self._cache: dict[tuple, list[int]] = {}
        self._as_of: float | None = None
        self.set_as_of(as_of)
        self.fail_rate = fail_rate
        self.stall_rate = stall_rate
        self.stall_seconds = stall_seconds
        self._down: set[str] = set()
        self._fail_next = 0
        self._fail_status = 503
        self._stall_next = 0
        self.requests = 0
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def services_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def pupr_url(self) -> str:
        return f"{self.url}/pupr"

    def start(self) -> SourceServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="source-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> SourceServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # --- controls -------------------------------------------------------------------------------
    def set_as_of(self, as_of: str | dt.datetime | None) -> None:
        """Hide versions updated after ``as_of`` (``None``: everything is visible)."""
        if isinstance(as_of, str):
            as_of = parse_instant(as_of)
        if isinstance(as_of, dt.datetime) and as_of.tzinfo is None:
            raise ValueError("as_of needs a time zone")
        with self._lock:
            self._as_of = None if as_of is None else as_of.timestamp()
            self._cache.clear()

    def set_down(self, down: bool | str | list[str]) -> None:
        """While a system is down, its data requests answer 503.

        ``True``/``False``: both systems; ``"services"`` (the services API, serving services and
        pregnancies) or ``"pupr"`` (the public-works endpoint), or a list of them: only those.
        """
        if isinstance(down, bool):
            systems = set(SYSTEMS) if down else set()
        else:
            systems = {down} if isinstance(down, str) else set(down)
            unknown = systems - set(SYSTEMS)
            if unknown:
                raise ValueError(f"unknown systems {sorted(unknown)}; expected some of {list(SYSTEMS)}")
        with self._lock:
            self._down = systems

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next ``count`` data requests fail with ``status``."""
        with self._lock:
            self._fail_next = count
            self._fail_status = status

    def stall_next(self, count: int) -> None:
        """The next ``count`` data requests sleep ``stall_seconds`` before answering."""
        with self._lock:
            self._stall_next = count

    def control(self, settings: dict) -> dict:
        """Apply a ``/_sim/control`` document; unknown keys raise ``ValueError``."""
        known = {"as_of", "down", "fail_next", "fail_status", "stall_next", "fail_rate", "stall_rate", "stall_seconds"}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown control keys {sorted(unknown)}; expected some of {sorted(known)}")
        if "as_of" in settings:
            self.set_as_of(settings["as_of"])
        if "down" in settings:
            self.set_down(settings["down"])
        if "fail_next" in settings:
            self.fail_next(int(settings["fail_next"]), int(settings.get("fail_status", 503)))
        if "stall_next" in settings:
            self.stall_next(int(settings["stall_next"]))
        with self._lock:
            for name in ("fail_rate", "stall_rate", "stall_seconds"):
                if name in settings:
                    setattr(self, name, float(settings[name]))
        return self.status()

    def status(self) -> dict:
        with self._lock:
            as_of = None if self._as_of is None else dt.datetime.fromtimestamp(self._as_of, dt.timezone.utc).isoformat()
            return {
                "as_of": as_of, "down": sorted(self._down), "fail_next": self._fail_next, "stall_next": self._stall_next,
                "fail_rate": self.fail_rate, "stall_rate": self.stall_rate, "stall_seconds": self.stall_seconds,
                "requests": self.requests, "records": {n: len(c.times) for n, c in self._collections.items()},
            }

    # --- answering ------------------------------------------------------------------------------
    def _fault(self, system: str) -> tuple[int | None, float]:
        """``(status to fail with or None, seconds to stall first)`` for one data request to ``system``."""
        with self._lock:
            self.requests += 1
            stall = 0.0
            if self._stall_next > 0:
                self._stall_next -= 1
                stall = self.stall_seconds
            elif self.stall_rate and self._rng.random() < self.stall_rate:
                stall = self.stall_seconds
            if system in self._down:
                return 503, stall
            if self._fail_next > 0:
                self._fail_next -= 1
                return self._fail_status, stall
            if self.fail_rate and self._rng.random() < self.fail_rate:
                return self._rng.choice(RANDOM_FAILURES), stall
            return None, stall

    def _visible(self, collection: str, since: float | None) -> list[int]:
        with self._lock:
            key = (collection, since, self._as_of)
            found = self._cache.get(key)
            as_of = self._as_of
        if found is None:
            found = self._collections[collection].visible(since, as_of)
            with self._lock:
                if len(self._cache) > 32:
                    self._cache.clear()
                self._cache[key] = found
        return found

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
                return

            def _send(self, status: int, body: bytes | str, headers: dict[str, str] | None = None,
                      content_type: str = "application/json") -> None:
                data = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps({"error": message}), headers)

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b"{}"
                if parts.path != "/_sim/control":
                    self._error(404, f"no such resource {parts.path}")
                    return
                try:
                    settings = json.loads(body or b"{}")
                    if not isinstance(settings, dict):
                        raise ValueError("control body must be a JSON object")
                    self._send(200, json.dumps(server.control(settings)))
                except ValueError as error:
                    self._error(400, str(error))

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                parts = urlsplit(self.path)
                path = parts.path.rstrip("/")
                if path == "/_sim/status":
                    self._send(200, json.dumps(server.status()))
                    return
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                try:
                    if path.startswith("/api/v1/"):
                        self._services(path.removeprefix("/api/v1/"), query)
                    elif path == "/pupr/collections":
                        self._send(200, json.dumps({"collections": [
                            {"id": name, "links": [{"rel": "items", "href": f"{server.pupr_url}/collections/{name}/items"}]}
                            for name in PUPR_COLLECTIONS
                        ]}))
                    elif path.startswith("/pupr/collections/") and path.endswith("/items"):
                        self._features(path.removeprefix("/pupr/collections/").removesuffix("/items"), query)
                    else:
                        self._error(404, f"no such resource {parts.path}")
                except _BadRequest as error:
                    self._error(400, str(error))

            def _faulted(self, system: str) -> bool:
                status, stall = server._fault(system)
                if stall:
                    time.sleep(stall)
                if status is None:
                    return False
                headers = {"Retry-After": "1"} if status in (429, 503) else {}
                self._error(status, "simulated failure", headers)
                return True

            def _services(self, collection: str, query: dict[str, str]) -> None:
                if self.headers.get("Authorization", "") != f"Bearer {server.token}":
                    self._error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
                    return
                if collection not in SERVICE_COLLECTIONS:
                    self._error(404, f"no such collection {collection!r}")
                    return
                since = _instant(query.get("updated_since"))
                page = _integer(query, "page", 1, 1, None)
                per_page = _integer(query, "per_page", DEFAULT_PER_PAGE, 1, MAX_PAGE)
                if self._faulted("services"):
                    return
                store = server._collections[collection]
                visible = server._visible(collection, since)
                total = len(visible)
                chosen = visible[(page - 1) * per_page: page * per_page]
                pages = (total + per_page - 1) // per_page
                following = None
                if page < pages:
                    params = {k: v for k, v in query.items() if k not in ("page", "per_page")}
                    params.update(page=str(page + 1), per_page=str(per_page))
                    following = f"{server.services_url}/{collection}?{urlencode(params)}"
                meta = {"page": page, "per_page": per_page, "total": total, "total_pages": pages}
                body = ('{"data":[' + ",".join(store.texts[i] for i in chosen) + '],"meta":' + json.dumps(meta)
                        + ',"links":' + json.dumps({"next": following}) + "}")
                self._send(200, body)

            def _features(self, collection: str, query: dict[str, str]) -> None:
                if collection not in PUPR_COLLECTIONS:
                    self._error(404, f"no such collection {collection!r}")
                    return
                since = _instant(query.get("updated_since"))
                limit = _integer(query, "limit", DEFAULT_LIMIT, 1, MAX_PAGE)
                offset = _integer(query, "offset", 0, 0, None)
                if self._faulted("pupr"):
                    return
                store = server._collections[collection]
                visible = server._visible(collection, since)
                chosen = visible[offset: offset + limit]
                base = f"{server.pupr_url}/collections/{collection}/items"
                links = [{"rel": "self", "href": f"{base}?{urlencode(query)}", "type": "application/geo+json"}]
                if offset + len(chosen) < len(visible):
                    params = {k: v for k, v in query.items() if k not in ("offset", "limit")}
                    params.update(limit=str(limit), offset=str(offset + len(chosen)))
                    links.append({"rel": "next", "href": f"{base}?{urlencode(params)}", "type": "application/geo+json"})
                body = ('{"type":"FeatureCollection","features":[' + ",".join(store.texts[i] for i in chosen)
                        + f'],"numberMatched":{len(visible)},"numberReturned":{len(chosen)},"links":'
                        + json.dumps(links) + "}")
                self._send(200, body, content_type="application/geo+json")

        return Handler


def _instant(text: str | None) -> float | None:
    if text is None or text == "":
        return None
    try:
        return parse_instant(text).timestamp()
    except ValueError as error:
        raise _BadRequest(f"updated_since: {error}") from error


def _integer(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _BadRequest(f"{name} must be an integer, got {text!r}") from None
    if value < low or (high is not None and value > high):
        raise _BadRequest(f"{name} must be between {low} and {high if high is not None else 'any'}, got {value}")
    return value
