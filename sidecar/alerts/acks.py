"""Acknowledgements shared by the sidecars of a group, and which local alert each one covers.

Every sidecar evaluates the alert rules itself (on the same fleet-wide outcome counts), so one incident is
one alert *per sidecar*, each with its own id and firing time. An operator acknowledges one of them; the
acknowledgement then names the alert instance (rule, rollout) and the moment it was made, and on every other
sidecar it covers the episode of that instance that was firing at that moment. Clocks of different hosts
disagree and alerts fire a rule interval apart, so "at that moment" allows :data:`ACK_SKEW_S` either way.

When two operators acknowledge the same incident on different sidecars, the earliest acknowledgement wins on
every sidecar, so the group agrees on who took it on whatever order the acknowledgements arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from sidecar.alerts.model import Alert, AlertKey

ACK_SKEW_S = 30.0


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """An operator's acknowledgement as the group shares it; immutable once made."""

    alert_id: str  # the alert acknowledged on the sidecar where it was made; unique, the identity
    rule: str
    rollout: str
    at: float  # wall clock of the sidecar where it was made
    by: str
    note: str
    version: str  # HLC timestamp of the acknowledgement

    @property
    def key(self) -> AlertKey:
        return self.rule, self.rollout


def acknowledgement_of(alert: Alert, version: str) -> Acknowledgement:
    """The shareable form of an acknowledged alert's acknowledgement."""
    if alert.ack_by is None or alert.ack_at is None:
        raise ValueError(f"alert {alert.id} is not acknowledged")
    return Acknowledgement(
        alert.id, alert.rule, alert.rollout, alert.ack_at, alert.ack_by, alert.ack_note or "", version
    )


def _firing_at(alert: Alert, at: float, slack: float) -> bool:
    return alert.fired_at <= at + slack and (alert.resolved_at is None or alert.resolved_at >= at - slack)


def covered_episode(ack: Acknowledgement, episodes: Iterable[Alert]) -> Alert | None:
    """The one episode of ``ack``'s instance it covers among one sidecar's ``episodes``, if any.

    The acknowledged alert itself on the sidecar where it was made; elsewhere the episode firing at the
    acknowledgement's moment, else the earliest firing within :data:`ACK_SKEW_S` of it. An acknowledgement
    covers at most one episode per sidecar, so an incident that resolves and fires again shortly after is not
    silently acknowledged a second time.
    """
    candidates = [a for a in episodes if a.key == ack.key and _firing_at(a, ack.at, ACK_SKEW_S)]
    for alert in candidates:
        if alert.id == ack.alert_id:
            return alert
    return min(candidates, key=lambda a: (not _firing_at(a, ack.at, 0.0), a.fired_at, a.id), default=None)


def acknowledged(alert: Alert, ack: Acknowledgement) -> Alert | None:
    """``alert`` carrying ``ack``, or None when it already carries that or an earlier acknowledgement."""
    if alert.ack_at is not None and (alert.ack_at, alert.ack_by or "", alert.ack_note or "") <= (
        ack.at,
        ack.by,
        ack.note,
    ):  # the earliest acknowledgement wins
        return None
    return replace(alert, ack_by=ack.by, ack_at=ack.at, ack_note=ack.note)
