"""Deciding again after concurrency conflicts: random waits under a doubling ceiling, and a
bound in time rather than in attempts."""

from __future__ import annotations

import pytest

from catalog.commands.conflict_retry import ConflictRetry
from catalog.errors import ConcurrencyConflict, Conflict

POLICY = ConflictRetry(budget=10.0, first_wait=0.01, longest_wait=0.08)


def highest(low: float, high: float) -> float:
    return high


def lowest(low: float, high: float) -> float:
    return low


class FakeTime:
    """A clock that only moves when the code under test sleeps, or when told to."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Contended:
    """An attempt that meets `conflicts` conflicts, each taking `cost` seconds, then succeeds."""

    def __init__(self, time: FakeTime, conflicts: float, cost: float = 0.0) -> None:
        self.time, self.left, self.cost = time, conflicts, cost
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        self.time.now += self.cost
        if self.left:
            self.left -= 1
            raise ConcurrencyConflict("stream", self.attempts)
        return "decided"


def test_the_ceiling_doubles_with_each_conflict_up_to_the_longest_wait() -> None:
    waits = [POLICY.wait(n, elapsed=0.0, uniform=highest) for n in range(1, 7)]
    assert waits == [0.01, 0.02, 0.04, 0.08, 0.08, 0.08]


def test_each_wait_is_drawn_between_nothing_and_the_ceiling() -> None:
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return (low + high) / 2

    assert POLICY.wait(2, elapsed=0.0, uniform=uniform) == 0.01
    assert asked == [(0, 0.02)]
    assert POLICY.wait(3, elapsed=0.0, uniform=lowest) == 0


def test_no_wait_reaches_past_the_budget() -> None:
    assert POLICY.wait(4, elapsed=9.99, uniform=highest) == pytest.approx(0.01)


def test_once_the_budget_is_spent_there_is_no_more_waiting() -> None:
    assert POLICY.wait(1, elapsed=10.0, uniform=highest) is None
    assert POLICY.wait(1, elapsed=12.0, uniform=lowest) is None


def test_a_great_many_conflicts_keep_the_longest_wait() -> None:
    assert POLICY.wait(100_000, elapsed=0.0, uniform=highest) == 0.08


async def test_it_decides_again_as_often_as_the_time_allows() -> None:
    time = FakeTime()
    attempt = Contended(time, conflicts=50)
    outcome = await POLICY.run(attempt, clock=time.clock, sleep=time.sleep, uniform=highest)
    assert (outcome, attempt.attempts) == ("decided", 51)
    assert time.sleeps[:5] == [0.01, 0.02, 0.04, 0.08, 0.08]


async def test_it_gives_up_with_the_conflict_once_the_budget_is_spent() -> None:
    time = FakeTime()
    attempt = Contended(time, conflicts=float("inf"), cost=1.5)
    with pytest.raises(ConcurrencyConflict):
        await POLICY.run(attempt, clock=time.clock, sleep=time.sleep, uniform=lowest)
    # Each attempt began with budget left (at 0, 1.5, ... 9 s); the one ending at 10.5 s was last.
    assert attempt.attempts == 7
    assert time.now - 100.0 == pytest.approx(10.5)


async def test_without_a_budget_the_first_conflict_is_final() -> None:
    time = FakeTime()
    attempt = Contended(time, conflicts=1)
    with pytest.raises(ConcurrencyConflict):
        await ConflictRetry(budget=0).run(attempt, clock=time.clock, sleep=time.sleep)
    assert (attempt.attempts, time.sleeps) == (1, [])


async def test_other_errors_are_the_answer_at_once() -> None:
    time = FakeTime()
    attempts = 0

    async def refused() -> None:
        nonlocal attempts
        attempts += 1
        raise Conflict("the image refuses")

    with pytest.raises(Conflict):
        await POLICY.run(refused, clock=time.clock, sleep=time.sleep)
    assert (attempts, time.sleeps) == (1, [])
