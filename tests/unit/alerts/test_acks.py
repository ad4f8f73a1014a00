"""Which local alert a shared acknowledgement covers, and that the group agrees on who took an incident on."""

from __future__ import annotations

from functools import reduce

from hypothesis import given
from hypothesis import strategies as st

from sidecar.alerts.acks import ACK_SKEW_S, Acknowledgement, acknowledged, acknowledgement_of, covered_episode
from sidecar.alerts.model import Alert, AlertStatus, Severity


def episode(
    alert_id: str, fired_at: float, resolved_at: float | None = None, rule: str = "v2-errors"
) -> Alert:
    return Alert(
        id=alert_id,
        rule=rule,
        rollout="svc",
        metric="error_rate{version=V2}",
        description="",
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING if resolved_at is None else AlertStatus.RESOLVED,
        fired_at=fired_at,
        value=0.5,
        threshold=0.1,
        resolved_at=resolved_at,
    )


def ack(at: float, by: str = "alice", alert_id: str = "origin", rule: str = "v2-errors") -> Acknowledgement:
    return Acknowledgement(alert_id, rule, "svc", at, by, "on it", f"{int(at * 1000):013d}.0000.node-a")


def test_the_acknowledged_alert_itself_is_covered_where_it_was_made() -> None:
    earlier = episode("earlier", 90.0, resolved_at=95.0)  # resolved within the skew of the acknowledgement
    origin = episode("origin", 100.0)
    assert covered_episode(ack(110.0), [earlier, origin]) is origin


def test_elsewhere_the_episode_firing_at_that_moment_is_covered() -> None:
    before = episode("before", 50.0, resolved_at=105.0)
    firing = episode("firing", 101.0)
    assert covered_episode(ack(100.0), [firing, before]) is before  # the one firing at exactly 100.0
    assert covered_episode(ack(120.0), [before, firing]) is firing  # before is within the skew, not firing


def test_an_episode_firing_a_little_later_elsewhere_is_covered_but_only_one() -> None:
    late = episode("late", 110.0, resolved_at=112.0)
    again = episode("again", 115.0)
    assert covered_episode(ack(100.0), [again, late]) is late  # the earliest within the skew, once


def test_episodes_outside_the_skew_other_rules_and_resolved_ones_are_not_covered() -> None:
    assert covered_episode(ack(100.0), [episode("much-later", 100.0 + ACK_SKEW_S + 1)]) is None
    assert covered_episode(ack(100.0), [episode("long-gone", 10.0, resolved_at=60.0)]) is None
    assert covered_episode(ack(100.0), [episode("other", 100.0, rule="memory")]) is None


def test_the_earliest_acknowledgement_wins() -> None:
    alert = episode("a", 100.0)
    first = acknowledged(alert, ack(120.0, "alice"))
    assert first is not None
    assert first.ack_by == "alice"
    assert acknowledged(first, ack(130.0, "bob")) is None  # later: the first one stands
    assert acknowledged(first, ack(120.0, "alice")) is None  # the same one again: nothing changes
    replaced = acknowledged(first, ack(110.0, "carol"))  # an earlier one arrives late from a peer
    assert replaced is not None
    assert (replaced.ack_by, replaced.ack_at) == ("carol", 110.0)


@given(st.permutations([ack(110.0, "carol"), ack(120.0, "alice"), ack(130.0, "bob"), ack(120.0, "alex")]))
def test_any_arrival_order_ends_with_the_same_acknowledgement(order: list[Acknowledgement]) -> None:
    final = reduce(lambda alert, a: acknowledged(alert, a) or alert, order, episode("a", 100.0))
    assert (final.ack_by, final.ack_at) == ("carol", 110.0)


def test_an_acknowledged_alert_round_trips_to_its_shared_form() -> None:
    alert = acknowledged(episode("a", 100.0), ack(120.0))
    assert alert is not None
    shared = acknowledgement_of(alert, "v1")
    assert (shared.alert_id, shared.key, shared.at, shared.by, shared.note) == (
        "a",
        ("v2-errors", "svc"),
        120.0,
        "alice",
        "on it",
    )
