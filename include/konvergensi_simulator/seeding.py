"""Deterministic randomness: named sub-streams and hash-derived draws.

Two mechanisms keep output byte-identical for the same arguments:

* ``stream(seed, name)`` gives an independent ``random.Random`` per purpose (population, growth,
  dirt, ...), so that e.g. raising the dirt rates never changes a child's measured values.
* ``HashDraw`` derives stable per-entity attributes (names, addresses, phone numbers) from one
  integer stored with the entity, so that millions of children need not keep their strings in
  memory. It never uses Python's ``hash()``, which is salted per process.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def mix64(value: int) -> int:
    """Scramble a 64-bit integer (the splitmix64 finaliser): nearby inputs give unrelated outputs."""
    value = (value + _GOLDEN) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def stream(seed: int, name: str) -> random.Random:
    """An independent random stream for one purpose; string seeding is stable across processes."""
    return random.Random(f"konvergensi-simulator/{seed}/{name}")


def text_key(seed: int, text: str) -> int:
    """A stable 64-bit key for a string (e.g. a facility code) under a seed."""
    key = mix64(seed & MASK64)
    for char in text.encode("utf-8"):
        key = mix64(key ^ char)
    return key


class HashDraw:
    """A small counter-based generator: the same start value always yields the same draws.

    Draws are cut from a reservoir of hashed bits in mixed radix (``value = pool % n``), so that a
    name needing five small choices costs one or two hash evaluations rather than five.
    """

    __slots__ = ("_state", "_pool", "_room")

    _MIN_ROOM = 1 << 24  # keep at least this much spare range so modulo bias stays below n / 2^24

    def __init__(self, start: int) -> None:
        self._state = start & MASK64
        self._pool = 0
        self._room = 1

    def bits(self) -> int:
        """A fresh 64-bit hash value."""
        self._state = (self._state + _GOLDEN) & MASK64
        return mix64(self._state)

    def below(self, n: int) -> int:
        """Uniform integer in ``[0, n)``."""
        if self._room < n * self._MIN_ROOM:
            self._pool = (self._pool << 64) | self.bits()
            self._room <<= 64
        value = self._pool % n
        self._pool //= n
        self._room //= n
        return value

    def unit(self) -> float:
        """Uniform in [0, 1) with 2^-24 resolution (plenty for choosing attributes)."""
        return self.below(1 << 24) / float(1 << 24)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def weighted(self, options: Sequence[T], cumulative: Sequence[float]) -> T:
        """Pick from ``options`` given cumulative weights ending at 1.0."""
        u = self.unit()
        for option, edge in zip(options, cumulative):
            if u < edge:
                return option
        return options[-1]
