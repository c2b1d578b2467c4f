"""What the operator sees while a rebuild runs: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from infra.rebuild_progress import ProgressDisplay
from tests.clock import Clock


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_one_bar_redrawn_in_place() -> None:
    screen, clock = Terminal(), Clock(100.0)
    display = ProgressDisplay(screen, clock=clock)
    display.phase("replaying the log into new tables")
    clock.now += 2
    display.advance(50_000, 200_000)
    clock.now += 0.01
    display.advance(50_100, 200_000)  # too soon after the last: not drawn
    clock.now += 2
    display.advance(100_000, 200_000)
    display.phase("switching")

    lines = screen.getvalue().split("\n")
    assert lines[0] == "rebuild: replaying the log into new tables"
    bars = lines[1].split("\r")[1:]
    assert bars == [
        "[########......................]  25.0%  50,000/200,000 events  25,000 events/s ",
        "[###############...............]  50.0%  100,000/200,000 events  24,938 events/s ",
    ]
    assert lines[2] == "rebuild: switching"


def test_elsewhere_a_plain_line_every_few_seconds() -> None:
    log, clock = io.StringIO(), Clock(100.0)
    display = ProgressDisplay(log, clock=clock)
    for _ in range(12):
        clock.now += 1
        display.advance(int((clock.now - 100) * 1000), 20_000)

    assert log.getvalue().splitlines() == [
        "rebuild: 1000/20000 events (5%), 1000 events/s",
        "rebuild: 6000/20000 events (30%), 1000 events/s",
        "rebuild: 11000/20000 events (55%), 1000 events/s",
    ]


def test_the_last_step_is_always_drawn_in_the_command_s_words() -> None:
    screen, clock = Terminal(), Clock(100.0)
    display = ProgressDisplay(screen, clock=clock, label="import-glance", unit="images")
    clock.now += 1
    display.advance(1, 4)
    clock.now += 0.01
    display.advance(2, 4)  # too soon: not drawn
    clock.now += 0.01
    display.advance(4, 4)  # the end, drawn however soon
    display.close()

    bars = screen.getvalue().split("\r")[1:]
    assert bars == [
        "[########......................]  25.0%  1/4 images  1 images/s ",
        "[##############################] 100.0%  4/4 images  4 images/s \n",
    ]
