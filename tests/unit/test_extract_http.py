"""The source HTTP client: which answers are retried, how long it waits, how it fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from konvergensi.extract.errors import SourceRejected, SourceUnavailable
from konvergensi.extract.http import JsonClient, RetryPolicy, parse_retry_after
from tests.fixtures.sources.fake_http import FakeSources, load_fixture

pytestmark = pytest.mark.unit


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=5.0)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert [policy.delay(n, rng=lambda: 0.0) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert all(0.5 <= policy.delay(1) <= 1.0 for _ in range(50))


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(backoff=1.0, retry_after_cap=10.0)
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(1, retry_after=3600.0) == 10.0
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_which_statuses_are_retried() -> None:
    policy = RetryPolicy()
    assert all(policy.should_retry(s) for s in (429, 500, 502, 503, 504))
    assert not any(policy.should_retry(s) for s in (400, 401, 403, 404, 422))


@pytest.fixture
def fake() -> FakeSources:
    with FakeSources() as server:
        server.collections["layanan"] = load_fixture("layanan.json")
        yield server


def _client(fake: FakeSources, waits: list[float], **policy: float) -> JsonClient:
    settings = {"attempts": 3, "timeout": 0.5, "backoff": 0.01, **policy}
    return JsonClient("services", RetryPolicy(**settings), {"Authorization": "Bearer rahasia"}, sleep=waits.append)


def test_429_waits_what_the_server_asks_then_succeeds(fake: FakeSources) -> None:
    waits: list[float] = []
    fake.script = [("429", "4"), 503]
    document = _client(fake, waits).get_json(f"{fake.base_url}/api/v1/layanan?page=1&per_page=2", "page 1")
    assert len(document["data"]) == 2
    assert waits[0] == 4.0 and 0.0 < waits[1] <= 0.02
    assert len(fake.requests) == 3


def test_stall_past_the_timeout_is_retried(fake: FakeSources) -> None:
    waits: list[float] = []
    fake.script, fake.stall_seconds = ["stall"], 1.5
    client = _client(fake, waits, timeout=0.3)
    assert client.get_json(f"{fake.base_url}/api/v1/layanan", "page 1")["meta"]["total"] == 5
    assert client.requests == 2


def test_gives_up_after_the_attempts(fake: FakeSources) -> None:
    fake.down = True
    url = f"{fake.base_url}/api/v1/layanan?page=2"
    with pytest.raises(SourceUnavailable, match=r"services: page 2 at .*layanan\?page=2 still failing after 3 attempt\(s\): HTTP 503"):
        _client(fake, []).get_json(url, "page 2")
    assert len(fake.requests) == 3


def test_connection_refused_is_unavailable() -> None:
    with FakeSources() as server:
        url = f"{server.base_url}/api/v1/layanan"
    with pytest.raises(SourceUnavailable, match="connection failed"):
        JsonClient("services", RetryPolicy(attempts=2, backoff=0.01), sleep=lambda s: None).get_json(url, "page 1")


def test_401_and_404_fail_at_once_with_a_clear_message(fake: FakeSources) -> None:
    client = JsonClient("services", RetryPolicy(attempts=3), {"Authorization": "Bearer salah"}, sleep=lambda s: None)
    with pytest.raises(SourceRejected, match=r"services: token rejected by http://127\.0\.0\.1:\d+/api/v1/layanan"):
        client.get_json(f"{fake.base_url}/api/v1/layanan", "page 1")
    with pytest.raises(SourceRejected, match="HTTP 404"):
        _client(fake, []).get_json(f"{fake.base_url}/api/v1/tidak-ada", "page 1")
    assert len(fake.requests) == 2


def test_a_body_that_is_not_json_names_the_url_and_page(fake: FakeSources) -> None:
    fake.script = ["garbage", "truncated"]
    with pytest.raises(SourceRejected, match=r"services: page 7 at http://\S+/api/v1/layanan answered HTML \(application/json\), not JSON"):
        _client(fake, []).get_json(f"{fake.base_url}/api/v1/layanan", "page 7")
    with pytest.raises(SourceRejected, match=r"services: page 8 at http://\S+/api/v1/layanan is not valid JSON"):
        _client(fake, []).get_json(f"{fake.base_url}/api/v1/layanan", "page 8")


def test_only_the_configured_origin_over_http_is_opened(fake: FakeSources) -> None:
    client = JsonClient("services", RetryPolicy(attempts=1), base_url=f"{fake.base_url}/api/v1")
    for url, reason in (
        ("file:///etc/passwd", "not an http\\(s\\) URL"),
        ("data:application/json,{}", "not an http\\(s\\) URL"),
        (fake.base_url.replace("127.0.0.1", "localhost") + "/api/v1/layanan", "outside the configured source"),
        (fake.base_url.replace("http:", "https:") + "/api/v1/layanan", "outside the configured source"),
    ):
        with pytest.raises(SourceRejected, match=f"services: page 1 at .*: refused: {reason}"):
            client.get_json(url, "page 1")
    assert fake.requests == []
