"""How a rollout's state is shared between the sidecars of a group, and how two copies of it merge.

The group agrees on a rollout's generation, phase, status, pause and phase clock; the circuit breaker and the
last decision stay with each host (:func:`shared_state`). Two copies are ordered by :func:`state_order`:
a newer generation beats everything older; within a generation ROLLED_BACK beats COMPLETED beats
RUNNING/PAUSED, and an active rollout only moves forward through its phases; between equals the later change
(pause, resume) wins. A stale peer can therefore never undo a rollback. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sidecar.rollout.breaker import CLOSED
from sidecar.rollout.state import RolloutState, RolloutStatus, initial_state
from sidecar.rollout.windows import BucketCounts, WindowKey, merge_windows

_STATUS_RANK = {
    RolloutStatus.RUNNING: 0,
    RolloutStatus.PAUSED: 0,
    RolloutStatus.COMPLETED: 1,
    RolloutStatus.ROLLED_BACK: 2,
}


def shared_state(state: RolloutState) -> RolloutState:
    """The part of a rollout's state the group agrees on: host-local fields reset to their defaults.

    The circuit breaker protects one host's callers and the last decision is each host's own evaluation, so
    neither is shared (and changes to them do not create new versions).
    """
    return replace(state, last_decision=None, last_decided_at=None, consecutive_v2_failures=0, breaker=CLOSED)


def adopt_shared(local: RolloutState | None, shared: RolloutState) -> RolloutState:
    """A host's state after adopting the group's ``shared`` state: its own breaker and last decision are kept
    within a generation; a new generation starts them afresh."""
    if local is None or local.generation != shared.generation:
        return shared_state(shared)
    return replace(
        shared,
        last_decision=local.last_decision,
        last_decided_at=local.last_decided_at,
        consecutive_v2_failures=local.consecutive_v2_failures,
        breaker=local.breaker,
    )


def is_genesis(state: RolloutState) -> bool:
    """The state a sidecar creates by itself when it first sees a rollout (generation 1, first phase)."""
    return shared_state(state) == initial_state(state.key, state.phase_started_at)


def state_rank(state: RolloutState) -> tuple[int, int, int]:
    """``(generation, status rank, phase)``: what a merge may never move backwards (monotonic rollback)."""
    return (state.generation, _STATUS_RANK[state.status], state.phase_index)


def state_order(state: RolloutState, version: str) -> tuple[int, int, int, str, float]:
    """The order two shared copies merge by: rank, then the change's version; at equal rank and version (two
    sidecars adopted the rollout by themselves) the earlier phase clock wins."""
    return (*state_rank(state), version, -state.phase_started_at)


def fleet_window(
    local: Mapping[WindowKey, BucketCounts],
    remote: Mapping[str, Mapping[WindowKey, BucketCounts]],
    self_node: str,
) -> dict[WindowKey, BucketCounts]:
    """This host's window plus every other node's: the fleet-wide counts the policy gates read.

    ``remote`` maps node ids to their windows; an entry for ``self_node`` (our own rows echoed back by a peer)
    is ignored, so nothing is counted twice. Integer sums: the result does not depend on the order.
    """
    merged = dict(local)
    for node, window in remote.items():
        if node != self_node:
            merged = merge_windows(merged, window)
    return merged
