"""Group commit: queued requests are written together, and one bad request fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from catalog.errors import DatabaseUnavailable
from infra.db.group_commit import GroupCommit


class Writer:
    """Records how requests were written; 'bad' requests fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.alone: list[str] = []

    async def together(self, requests: Sequence[str]) -> list[str | Exception]:
        await asyncio.sleep(0)
        if "down" in requests:
            raise DatabaseUnavailable()
        if "bad" in requests:
            raise RuntimeError("the whole transaction failed")
        self.batches.append(list(requests))
        return [r.upper() for r in requests]

    async def one(self, request: str) -> str:
        await asyncio.sleep(0)
        if request == "bad":
            raise ValueError("bad request")
        self.alone.append(request)
        return request.upper()


async def test_requests_queued_meanwhile_are_written_together() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.together, writer.one)
    first = asyncio.create_task(group.submit("a"))
    await asyncio.sleep(0)  # the writer takes "a" alone: nothing else is queued yet
    rest = [asyncio.create_task(group.submit(r)) for r in ["b", "c", "d"]]
    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert writer.alone == ["a"]
    assert writer.batches == [["b", "c", "d"]]


async def test_a_failing_batch_is_retried_one_by_one_and_fails_only_the_bad_one() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.together, writer.one)
    results = await asyncio.gather(
        *(group.submit(r) for r in ["first", "x", "bad", "y"]), return_exceptions=True
    )
    assert results[0] == "FIRST"
    assert results[1] == "X"
    assert isinstance(results[2], ValueError)
    assert results[3] == "Y"


async def test_a_request_given_up_before_its_turn_is_not_written() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.together, writer.one)
    first = asyncio.create_task(group.submit("first"))
    second = asyncio.create_task(group.submit("second"))
    await asyncio.sleep(0)
    second.cancel()
    assert await first == "FIRST"
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0.01)
    assert writer.alone == ["first"]
    assert writer.batches == []


async def test_a_batch_the_database_is_unavailable_for_fails_whole_without_retries() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.together, writer.one)
    first = asyncio.create_task(group.submit("first"))
    await asyncio.sleep(0)  # "first" goes alone; the rest queue up behind it
    rest = await asyncio.gather(
        *(group.submit(r) for r in ["x", "down", "y"]), return_exceptions=True
    )
    assert await first == "FIRST"
    assert all(isinstance(result, DatabaseUnavailable) for result in rest)
    assert writer.alone == ["first"]  # none of the batch was tried again alone
