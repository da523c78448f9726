"""The pacer keeps a job to its share of the wall time, whatever its pieces last."""

from __future__ import annotations

import pytest

from streams.settlement.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


@pytest.mark.parametrize("share", [0.25, 0.5, 0.8])
def test_work_takes_its_share_of_the_wall_time(share: float) -> None:
    clock = Clock()
    pacer = Pacer(share, clock=clock, sleep=clock.sleep)
    pacer.begin()
    worked = 0.0
    for piece in (0.3, 0.01, 1.7, 0.2):
        clock.now += piece
        worked += piece
        pacer()
    assert worked / clock.now == pytest.approx(share)


def test_unpaced_never_sleeps_and_begin_forgets_idle_time() -> None:
    clock = Clock()
    Pacer(clock=clock, sleep=clock.sleep)()
    assert clock.slept == []
    pacer = Pacer(0.5, clock=clock, sleep=clock.sleep)
    clock.now += 3600  # idle between two runs: not work
    pacer.begin()
    clock.now += 1
    pacer()
    assert clock.slept == [1]


def test_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        Pacer(0)
