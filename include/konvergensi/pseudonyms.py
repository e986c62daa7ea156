"""Keyed pseudonyms (HMAC-SHA256) for identifiers.

PostgreSQL here has no pgcrypto, so pseudonyms are computed while loading. The same key gives the
same pseudonym for the same identifier on every night, which is what lets measurements of one
child be joined over time without carrying the NIK downstream. Without the key a pseudonym cannot
be reversed or recomputed from a guessed NIK.
"""

from __future__ import annotations

import hmac

import polars as pl

PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are out of reach for a city's population


class Pseudonymiser:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key

    def one(self, value: str) -> str:
        return hmac.digest(self._key, value.encode("utf-8"), "sha256").hex()[:PSEUDONYM_HEX_CHARS]

    def column(self, values: pl.Series, prefix: str = "") -> pl.Series:
        """Pseudonym of each value (null stays null); each distinct value is hashed once."""
        distinct = values.drop_nulls().unique().to_list()
        mapping = {value: self.one(prefix + value) for value in distinct}
        return values.replace_strict(mapping, default=None, return_dtype=pl.String)
