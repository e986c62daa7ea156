"""A small JSON-over-HTTP client with timeouts and bounded, polite retries (stdlib urllib only).

Retried: 429, 5xx, timeouts (also a response that stalls mid-body) and connection errors, with
exponential backoff and jitter; a `Retry-After` header is honoured up to a cap. Any other 4xx
fails at once: asking again would get the same answer.
"""

from __future__ import annotations

import email.utils
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

from konvergensi import settings
from konvergensi.extract.errors import SourceRejected, SourceUnavailable

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    timeout: float = 30.0
    backoff: float = 1.0
    max_backoff: float = 30.0
    retry_after_cap: float = 120.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            attempts=settings.http_attempts(),
            timeout=settings.http_timeout_seconds(),
            backoff=settings.http_backoff_seconds(),
            max_backoff=settings.http_max_backoff_seconds(),
            retry_after_cap=settings.http_retry_after_cap_seconds(),
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


class JsonClient:
    """GET JSON documents of one source; counts every request made, retries included."""

    def __init__(
        self,
        source: str,
        policy: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self.policy = policy
        self.headers = {"Accept": "application/json", "User-Agent": "konvergensi-extract/1", **(headers or {})}
        self.sleep = sleep
        self.requests = 0

    def get_json(self, url: str, what: str) -> object:
        """The decoded JSON at `url`; `what` names the page in messages ("page 3")."""
        last_problem = ""
        for attempt in range(1, self.policy.attempts + 1):
            self.requests += 1
            retry_after: float | None = None
            try:
                request = urllib.request.Request(url, headers=self.headers, method="GET")
                with urllib.request.urlopen(request, timeout=self.policy.timeout) as response:
                    body = response.read()
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
            except (TimeoutError, socket.timeout):
                last_problem = f"no answer within {self.policy.timeout:g} s"
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    last_problem = f"no answer within {self.policy.timeout:g} s"
                else:
                    last_problem = f"connection failed ({reason})"
            else:
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
