"""Counters of the sync layer, for the telemetry exporter to read (plain integers, updated on the loop)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SyncMetrics:
    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    entries_sent: int = 0
    entries_received: int = 0
    entries_applied: int = 0  # received entries that changed this replica
    sessions_opened: int = 0
    connect_failures: int = 0
    auth_failures: int = 0  # refused peers, both directions
    anti_entropy_rounds: int = 0
    queue_overflows: int = 0  # a slow peer's queue was dropped (anti-entropy repairs it)
    tombstones_expired: int = 0
    # Per peer node id: seconds the oldest queued change has waited (refreshed on every status read).
    lag_seconds: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
