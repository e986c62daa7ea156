"""A small client for Superset's REST API (/api/v1): JWT login, CSRF token, JSON in and out.

Superset wants a JWT (`POST /api/v1/security/login`) on every call and, on the calls that change
something, a CSRF token fetched with that JWT on the same cookie session, sent back as X-CSRFToken
with a Referer. List endpoints take their filters as a rison-encoded `q` parameter.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class SupersetApiError(RuntimeError):
    """A call to Superset's REST API failed; the message names the method, path, status and Superset's reason."""

    def __init__(self, method: str, path: str, status: int, reason: str) -> None:
        super().__init__(f"Superset API {method} {path} answered {status}: {reason}")
        self.status = status


_RISON_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/~]*$")


def rison(value: Any) -> str:
    """Encode `value` as rison (https://github.com/Nanonid/rison), the format of Superset's `q` parameter."""
    if value is True:
        return "!t"
    if value is False:
        return "!f"
    if value is None:
        return "!n"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if value and _RISON_PLAIN.match(value) and not value[0].isdigit() and value[0] != "-":
            return value
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, dict):
        return "(" + ",".join(f"{rison(str(key))}:{rison(item)}" for key, item in value.items()) + ")"
    if isinstance(value, (list, tuple)):
        return "!(" + ",".join(rison(item) for item in value) + ")"
    raise TypeError(f"cannot encode {type(value).__name__} as rison")


class SupersetClient:
    """One logged-in session on a Superset server."""

    def __init__(self, base_url: str, user: str, password: str, *, timeout: float = 120) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._headers: dict[str, str] = {"Accept": "application/json"}
        token = self.request("POST", "/api/v1/security/login",
                             {"username": user, "password": password, "provider": "db", "refresh": False})
        self._headers["Authorization"] = f"Bearer {token['access_token']}"
        csrf = self.request("GET", "/api/v1/security/csrf_token/")["result"]
        self._headers.update({"X-CSRFToken": csrf, "Referer": self.base_url})

    def request(self, method: str, path: str, body: Any = None, *, query: dict[str, Any] | None = None) -> Any:
        url = self.base_url + path
        if query is not None:
            url += "?" + urllib.parse.urlencode({"q": rison(query)})
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            with self._opener.open(urllib.request.Request(url, data=data, method=method, headers=headers),
                                   timeout=self.timeout) as response:  # noqa: S310 - our own server
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise SupersetApiError(method, path, error.code, _reason(error)) from None
        return json.loads(raw) if raw else None

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def find(self, resource: str, column: str, value: Any, *, columns: list[str] | None = None) -> list[dict[str, Any]]:
        """Every `resource` (chart, dataset, dashboard, database) whose `column` equals `value`."""
        query: dict[str, Any] = {"filters": [{"col": column, "opr": "eq", "value": value}], "page_size": 100}
        if columns:
            query["columns"] = columns
        return self.get(f"/api/v1/{resource}/", **query)["result"]


def _reason(error: urllib.error.HTTPError) -> str:
    raw = error.read().decode(errors="replace")
    try:
        payload = json.loads(raw)
    except ValueError:
        return raw[:500] or error.reason
    message = payload.get("message") or payload.get("errors") or payload
    return json.dumps(message, ensure_ascii=False)[:1000] if not isinstance(message, str) else message
