"""Validated tokens kept for a while, so a busy catalog asks Keystone once per token.

Bounded in size (the least recently used entry goes first) and in time (each entry carries its
own deadline: the token's expiry or the cache's lifetime, whichever comes first). Keys are
digests of the tokens, so the cache never holds a credential that could be replayed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


def token_key(token: str) -> str:
    """The cache's key for `token`: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class TokenCache(Generic[V]):
    """At most `max_entries` values, each until its own deadline on `clock` (monotonic seconds)."""

    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("a token cache holds at least one entry")
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        deadline, value = entry
        if self._clock() >= deadline:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: str, value: V, lifetime: float) -> None:
        """Keep `value` for `lifetime` seconds from now (nothing kept if that is not positive)."""
        if lifetime <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (self._clock() + lifetime, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
