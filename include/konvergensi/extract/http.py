"""A small JSON-over-HTTP client with timeouts and bounded, polite retries (stdlib urllib only).

Retried: 429, 5xx, timeouts (also a response that stalls mid-body), connection errors and bodies
cut short, with exponential backoff and jitter; a `Retry-After` header is honoured up to a cap. Any
other 4xx fails at once: asking again would get the same answer.

The bearer token must never leave the source's host, so a client only speaks to one origin (scheme,
host and port: the configured base URL's): a URL elsewhere (a `next` link, or a redirect) is refused
before anything is sent, and only http(s) can be opened at all (urllib's default opener would also
read `file:`, `ftp:` and `data:` URLs). A body larger than KONVERGENSI_HTTP_MAX_RESPONSE_BYTES is
refused, read in chunks so that it never sits in memory whole.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from konvergensi import settings
from konvergensi.extract.errors import SourceRejected, SourceUnavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
WEB_SCHEMES = frozenset({"http", "https"})
READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    timeout: float = 30.0
    backoff: float = 1.0
    max_backoff: float = 30.0
    retry_after_cap: float = 120.0
    max_response_bytes: int = 64 << 20

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            attempts=settings.http_attempts(),
            timeout=settings.http_timeout_seconds(),
            backoff=settings.http_backoff_seconds(),
            max_backoff=settings.http_max_backoff_seconds(),
            retry_after_cap=settings.http_retry_after_cap_seconds(),
            max_response_bytes=settings.http_max_response_bytes(),
        )

    def should_retry(self, status: int) -> bool:
        return status in RETRY_STATUSES

    def delay(self, failed_attempt: int, retry_after: float | None = None, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after attempt number `failed_attempt` (1-based) failed.

        Without Retry-After: backoff · 2^(n−1), capped, then scaled by a random factor in [0.5, 1) so
        that parallel clients do not retry in lockstep. With Retry-After: what the server asked for,
        capped.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (failed_attempt - 1))
        return ceiling * (0.5 + 0.5 * rng())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def origin(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, with the scheme's default port left out."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


class _Refused(Exception):
    """A URL the client will not open; the message says why (wrapped into SourceRejected)."""


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the client's own origin (the request carries the token)."""

    def __init__(self, allowed: Callable[[], str | None]) -> None:
        self.allowed = allowed

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201 - urllib's signature
        target = urljoin(req.full_url, newurl)
        expected = self.allowed()
        if origin(target) != expected:
            raise _Refused(f"redirected (HTTP {code}) to {target}, outside {expected}; the token is not sent there")
        return super().redirect_request(req, fp, code, msg, headers, target)


def _opener(allowed: Callable[[], str | None]) -> urllib.request.OpenerDirector:
    """An opener with http and https only (no file:, ftp: or data:) and same-origin redirects."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _SameOriginRedirects(allowed),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


class JsonClient:
    """GET JSON documents of one source; counts every request made, retries included."""

    def __init__(
        self,
        source: str,
        policy: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        *,
        base_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`base_url`: the configured URL of the source, whose origin is the only one spoken to
        (default: the origin of the first URL asked for)."""
        self.source = source
        self.policy = policy
        self.headers = {"Accept": "application/json", "User-Agent": "konvergensi-extract/1", **(headers or {})}
        self.sleep = sleep
        self.requests = 0
        self.origin = origin(base_url) if base_url else None
        self._opener = _opener(lambda: self.origin)

    def check_url(self, url: str, what: str) -> None:
        """Raise SourceRejected for a URL this client must not open (another scheme, host or port)."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in WEB_SCHEMES:
            raise SourceRejected(f"{self.source}: {what} at {url}: refused: not an http(s) URL")
        if self.origin is None:
            self.origin = origin(url)
        elif origin(url) != self.origin:
            raise SourceRejected(
                f"{self.source}: {what} at {url}: refused: outside the configured source {self.origin} "
                "(the token is never sent to another host or scheme)"
            )

    def _read_body(self, response: http.client.HTTPResponse, url: str, what: str) -> bytes:
        cap = self.policy.max_response_bytes
        announced = response.headers.get("Content-Length")
        if announced and announced.strip().isdigit() and int(announced) > cap:
            raise SourceRejected(
                f"{self.source}: {what} at {url} announces {int(announced)} bytes, more than the limit of {cap} "
                "(KONVERGENSI_HTTP_MAX_RESPONSE_BYTES)"
            )
        chunks, size = [], 0
        while chunk := response.read(min(READ_CHUNK, cap + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                raise SourceRejected(
                    f"{self.source}: {what} at {url} is larger than the limit of {cap} bytes "
                    "(KONVERGENSI_HTTP_MAX_RESPONSE_BYTES)"
                )
        body = b"".join(chunks)
        if announced and announced.strip().isdigit() and size < int(announced):
            # http.client returns what came when a sized read ends early; a cut-off answer may be whole next time
            raise http.client.IncompleteRead(body, int(announced) - size)
        return body

    def get_json(self, url: str, what: str) -> object:
        """The decoded JSON at `url`; `what` names the page in messages ("page 3")."""
        self.check_url(url, what)
        last_problem = ""
        for attempt in range(1, self.policy.attempts + 1):
            self.requests += 1
            retry_after: float | None = None
            try:
                request = urllib.request.Request(url, headers=self.headers, method="GET")
                with self._opener.open(request, timeout=self.policy.timeout) as response:
                    body = self._read_body(response, url, what)
                    content_type = response.headers.get("Content-Type") or ""
            except _Refused as refusal:
                raise SourceRejected(f"{self.source}: {what} at {url}: refused: {refusal}") from None
            except urllib.error.HTTPError as error:
                status = error.code
                error.close()
                if status == 401:
                    raise SourceRejected(f"{self.source}: token rejected by {url} (HTTP 401)") from None
                if status == 403:
                    raise SourceRejected(f"{self.source}: access forbidden by {url} (HTTP 403)") from None
                if not self.policy.should_retry(status):
                    raise SourceRejected(f"{self.source}: {what} at {url} answered HTTP {status} {error.reason}") from None
                retry_after = parse_retry_after(error.headers.get("Retry-After") if error.headers else None)
                last_problem = f"HTTP {status}"
            except http.client.HTTPException as error:
                last_problem = f"the answer broke off ({type(error).__name__}: {error})"
            except (TimeoutError, socket.timeout):
                last_problem = f"no answer within {self.policy.timeout:g} s"
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_problem = f"no answer within {self.policy.timeout:g} s"
                else:
                    last_problem = f"connection failed ({reason})"
            else:
                if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
                    raise SourceRejected(
                        f"{self.source}: {what} at {url} answered HTML ({content_type or 'no Content-Type'}), "
                        f"not JSON: {body[:80]!r}"
                    )
                try:
                    return json.loads(body)
                except (UnicodeDecodeError, json.JSONDecodeError) as error:
                    raise SourceRejected(f"{self.source}: {what} at {url} is not valid JSON: {error}") from None
            if attempt < self.policy.attempts:
                wait = self.policy.delay(attempt, retry_after)
                log.warning(
                    "%s: %s at %s: %s; retry %d/%d in %.1f s",
                    self.source, what, url, last_problem, attempt, self.policy.attempts - 1, wait,
                )  # fmt: skip
                self.sleep(wait)
        raise SourceUnavailable(
            f"{self.source}: {what} at {url} still failing after {self.policy.attempts} attempt(s): {last_problem}"
        )
