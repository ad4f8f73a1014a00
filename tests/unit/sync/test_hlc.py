"""The hybrid logical clock keeps causal order when hosts' wall clocks disagree by seconds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sidecar.hlc import HybridLogicalClock, Timestamp


class SkewedClock:
    """A host's wall clock: true time plus the host's skew."""

    def __init__(self, true_time: list[float], skew: float) -> None:
        self._true_time = true_time
        self._skew = skew

    def now(self) -> float:
        return self._true_time[0] + self._skew

    def monotonic(self) -> float:
        return self._true_time[0]


skews = st.lists(st.floats(-10.0, 10.0), min_size=2, max_size=4)


@given(skews, st.lists(st.tuples(st.integers(0, 3), st.floats(0.0, 0.5)), min_size=1, max_size=30))
def test_an_event_after_seeing_another_orders_after_it_whatever_the_skew(
    skew: list[float], hops: list[tuple[int, float]]
) -> None:
    """A chain of writes, each made on some host after that host received the previous one (as a flag
    rewritten across the group), gets strictly increasing versions: last writer wins means the last one."""
    true_time = [1_000_000.0]
    clocks = [HybridLogicalClock(f"node-{i}", SkewedClock(true_time, s)) for i, s in enumerate(skew)]
    previous: Timestamp | None = None
    for host, delay in hops:
        true_time[0] += delay
        clock = clocks[host % len(clocks)]
        if previous is not None:
            clock.observe(previous)
        stamp = clock.now()
        assert previous is None or stamp > previous
        assert Timestamp.decode(stamp.encode()) == stamp
        assert previous is None or stamp.encode() > previous.encode()  # text order is time order
        previous = stamp


@given(st.lists(st.floats(-5.0, 5.0), min_size=1, max_size=20))
def test_one_host_never_goes_backwards_even_when_its_wall_clock_does(steps: list[float]) -> None:
    true_time = [1_000_000.0]
    clock = HybridLogicalClock("node-a", SkewedClock(true_time, 0.0))
    last = clock.now()
    for step in steps:
        true_time[0] += step
        stamp = clock.now()
        assert stamp > last
        last = stamp


def test_a_clock_far_ahead_drags_the_others_along_but_no_further() -> None:
    true_time = [1_000_000.0]
    ahead = HybridLogicalClock("node-a", SkewedClock(true_time, 8.0))
    behind = HybridLogicalClock("node-b", SkewedClock(true_time, -8.0))
    remote = ahead.now()
    behind.observe(remote)
    local = behind.now()
    assert local > remote
    assert local.wall_ms == remote.wall_ms  # the logical counter carries the order, not a made-up time
