"""Other sidecars' outcome windows, as peer sync delivers them: by rollout, then (node id, generation)."""

from __future__ import annotations

from collections.abc import Mapping

from sidecar.rollout.state import RolloutState
from sidecar.rollout.windows import BucketCounts, WindowKey, prune

Window = dict[WindowKey, BucketCounts]


class RemoteWindows:
    def __init__(self, node_id: str) -> None:
        self._node_id = node_id
        self._windows: dict[str, dict[tuple[str, int], Window]] = {}

    def load(self, rollout_key: str, generation: int, by_node: Mapping[str, Window]) -> None:
        """Start from what is stored (this node's own rows already taken out)."""
        self._windows[rollout_key] = {(node, generation): window for node, window in by_node.items()}

    def merge(
        self,
        node_id: str,
        rollout_key: str,
        generation: int,
        buckets: Mapping[WindowKey, BucketCounts],
        state: RolloutState | None,
    ) -> None:
        """Newer counts of another node's buckets (whole rows: they replace, never add)."""
        if node_id == self._node_id:
            return
        if state is not None and generation < state.generation:
            return
        self._windows.setdefault(rollout_key, {}).setdefault((node_id, generation), {}).update(buckets)

    def current(self, rollout_key: str, state: RolloutState) -> dict[str, Window]:
        """Other nodes' windows of the rollout's current generation, by node."""
        return {
            node: window
            for (node, generation), window in self._windows.get(rollout_key, {}).items()
            if generation == state.generation
        }

    def prune(self, rollout_key: str, state: RolloutState | None) -> None:
        """Drop older generations and buckets from before the current phase."""
        remote = self._windows.get(rollout_key)
        if state is None or not remote:
            return
        self._windows[rollout_key] = {
            (node, generation): prune(window, state.phase_started_at)
            for (node, generation), window in remote.items()
            if generation >= state.generation
        }
