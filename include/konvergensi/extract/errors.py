"""The two ways an extract fails, so that callers can decide whether retrying may help."""

from __future__ import annotations


class ExtractError(RuntimeError):
    """An extract failed; the message names the source, where (URL, page or table) and why."""


class SourceUnavailable(ExtractError):
    """Transient: the source could not be reached or kept failing after the client's retries."""


class SourceRejected(ExtractError):
    """Permanent until someone acts: credentials refused, or the source broke its contract."""
