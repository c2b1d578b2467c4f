"""Which cached images pruning removes: the least recently used, until the rest fit."""

from __future__ import annotations

from infra.image_cache.entries import CacheEntry, ExpectedData, to_prune


def entry(image_id: str, size: int, accessed: float, modified: float = 0.0) -> CacheEntry:
    data = ExpectedData(image_id, size, "md5", "sha512", "value")
    return CacheEntry(data=data, last_modified=modified, last_accessed=accessed, hits=0)


def test_the_least_recently_used_go_first_until_the_rest_fit() -> None:
    entries = [entry("new", 4, 30.0), entry("old", 4, 10.0), entry("mid", 4, 20.0)]
    assert [e.data.image_id for e in to_prune(entries, 8)] == ["old"]
    assert [e.data.image_id for e in to_prune(entries, 4)] == ["old", "mid"]
    assert to_prune(entries, 12) == []


def test_never_used_entries_go_in_the_order_they_came() -> None:
    entries = [entry("second", 1, 0.0, modified=2.0), entry("first", 1, 0.0, modified=1.0)]
    assert [e.data.image_id for e in to_prune(entries, 1)] == ["first"]


def test_a_new_entry_is_more_recent_than_one_hit_before_it_came() -> None:
    entries = [entry("hit-earlier", 1, 5.0, modified=1.0), entry("new", 1, 0.0, modified=9.0)]
    assert [e.data.image_id for e in to_prune(entries, 1)] == ["hit-earlier"]
