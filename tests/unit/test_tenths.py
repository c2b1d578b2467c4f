"""`bench.tenths.Tenths`: the rate and this process's CPU per item within each tenth of a run,
the time of the phases set aside counted in none."""

from __future__ import annotations

from bench.tenths import Tenths


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Shown:
    def __init__(self) -> None:
        self.told: list[object] = []

    def phase(self, name: str) -> None:
        self.told.append(name)

    def advance(self, replayed: int, total: int) -> None:
        self.told.append((replayed, total))


def test_each_tenth_has_its_rate_and_cpu_per_item_and_the_aside_counts_in_none() -> None:
    wall, cpu, shown = Clock(), Clock(), Shown()
    tenths = Tenths(shown, aside=("indexing",), clock=wall, cpu_clock=cpu)
    for tenth in range(1, 11):
        wall.now += 2.0 if tenth <= 5 else 4.0
        cpu.now += 1.0
        if tenth == 6:
            tenths.phase("indexing")
            wall.now += 100.0  # set aside
            tenths.phase("catching up")
        tenths.advance(tenth * 100, 1000)

    assert tenths.rates() == [50.0] * 5 + [25.0] * 5
    assert tenths.cpu_per_item() == [0.01] * 10
    assert tenths.report().startswith("events/s per tenth: 0.1k 0.1k")
    assert tenths.report().endswith("in none); last/first = 0.50")
    assert tenths.cpu_report().endswith("last/first = 1.00")
    assert shown.told[:2] == [(100, 1000), (200, 1000)]
    assert "indexing" in shown.told


def test_an_advance_past_several_tenths_passes_each_of_them_at_once() -> None:
    wall, cpu = Clock(), Clock()
    tenths = Tenths(Shown(), clock=wall, cpu_clock=cpu)
    wall.now, cpu.now = 1.0, 0.5
    tenths.advance(250, 1000)

    assert tenths.rates() == [250.0, 0.0]
    assert tenths.cpu_per_item() == [0.002, 0.0]


def test_nothing_passed_yet() -> None:
    tenths = Tenths(Shown(), clock=Clock(), cpu_clock=Clock())

    assert tenths.report() == tenths.cpu_report() == "no tenth passed"
