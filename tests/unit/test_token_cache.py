"""The cache of validated tokens: bounded in size and in time, keyed by digests."""

from __future__ import annotations

from infra.keystone.token_cache import TokenCache, token_key
from tests.clock import Clock


def test_an_entry_lives_until_its_own_deadline() -> None:
    clock = Clock(1000.0)
    cache: TokenCache[str] = TokenCache(10, clock)
    cache.put("short", "a", 5)
    cache.put("long", "b", 60)
    clock.now += 5
    assert cache.get("short") is None
    assert cache.get("long") == "b"
    clock.now += 55
    assert cache.get("long") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first_when_full() -> None:
    cache: TokenCache[int] = TokenCache(2, Clock(1000.0))
    cache.put("a", 1, 60)
    cache.put("b", 2, 60)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3, 60)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_a_lifetime_that_is_not_positive_keeps_nothing() -> None:
    cache: TokenCache[int] = TokenCache(2, Clock(1000.0))
    cache.put("a", 1, 60)
    cache.put("a", 2, 0)
    assert cache.get("a") is None


def test_keys_are_digests_not_tokens() -> None:
    key = token_key("gAAAAABsecret")
    assert "secret" not in key
    assert len(key) == 64
    assert key == token_key("gAAAAABsecret")
