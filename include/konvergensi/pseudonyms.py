"""Keyed pseudonyms (HMAC-SHA256) for identifiers.

PostgreSQL here has no pgcrypto, so pseudonyms are computed while loading. The same key gives the
same pseudonym for the same identifier on every night, which is what lets measurements of one
child be joined over time without carrying the NIK downstream. Without the key a pseudonym cannot
be reversed or recomputed from a guessed NIK.
"""

from __future__ import annotations

import hashlib
import hmac

import polars as pl

PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are out of reach for a city's population
CACHE_ENTRIES = 500_000  # a child appears once a month: most identifiers repeat across files and chunks


class Pseudonymiser:
    """HMAC-SHA256 (RFC 2104) of identifiers, hex, truncated to 128 bits.

    The inner and outer hash states of the key are prepared once and copied per value, which is
    several times faster than a fresh HMAC per call; results are cached per run.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._cache: dict[str, str] = {}

    def one(self, value: str) -> str:
        inner = self._inner.copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def column(self, values: pl.Series, prefix: str = "") -> pl.Series:
        """Pseudonym of each value (null stays null); each distinct value is hashed once per run."""
        cache = self._cache
        if len(cache) > CACHE_ENTRIES:
            cache.clear()
        distinct = values.drop_nulls().unique().to_list()
        mapping = {}
        for value in distinct:
            material = prefix + value
            key = cache.get(material)
            if key is None:
                key = cache[material] = self.one(material)
            mapping[value] = key
        return values.replace_strict(mapping, default=None, return_dtype=pl.String)


ANALYST_KEY_CONTEXT = b"konvergensi analyst marts v1"


def analyst_hmac_pads(pseudonym_key: bytes) -> tuple[str, str]:
    """The inner and outer HMAC pads (hex) of the analyst marts' key, for dbt's analyst_key macro.

    The analyst key is derived from the pseudonym key (HMAC of a fixed context), so the analyst marts'
    keys differ from the warehouse's pseudonyms: an analyst cannot join them to the internal marts or
    the field teams' lists. PostgreSQL has sha256() but no HMAC, so dbt gets the two padded keys and
    computes sha256(outer || sha256(inner || message)), which is RFC 2104 HMAC-SHA256.
    """
    key = hmac.new(pseudonym_key, ANALYST_KEY_CONTEXT, hashlib.sha256).digest()
    padded = key.ljust(hashlib.sha256().block_size, b"\0")
    return bytes(b ^ 0x36 for b in padded).hex(), bytes(b ^ 0x5C for b in padded).hex()
