"""Hybrid logical clock (Kulkarni et al., 2014) stamping every stored record.

A timestamp is ``(wall_ms, counter, node_id)``; it orders causally related events correctly even when hosts'
wall clocks disagree by seconds, and the node id breaks ties deterministically for last-writer-wins merges.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Self

from sidecar.clock import Clock


@dataclass(frozen=True, slots=True, order=True)
class Timestamp:
    wall_ms: int
    counter: int
    node_id: str

    def encode(self) -> str:
        """A string whose lexical order equals the timestamp order (fixed-width fields)."""
        return f"{self.wall_ms:015d}.{self.counter:06d}.{self.node_id}"

    @classmethod
    def decode(cls, text: str) -> Self:
        wall, counter, node = text.split(".", 2)
        return cls(int(wall), int(counter), node)


class HybridLogicalClock:
    """Thread-safe HLC for one node."""

    def __init__(self, node_id: str, clock: Clock) -> None:
        self._node_id = node_id
        self._clock = clock
        self._last = Timestamp(0, 0, node_id)
        self._lock = threading.Lock()

    @property
    def node_id(self) -> str:
        return self._node_id

    def now(self) -> Timestamp:
        """A timestamp for a local event, strictly greater than every one issued or observed before."""
        physical = int(self._clock.now() * 1000)
        with self._lock:
            if physical > self._last.wall_ms:
                self._last = Timestamp(physical, 0, self._node_id)
            else:
                self._last = Timestamp(self._last.wall_ms, self._last.counter + 1, self._node_id)
            return self._last

    def observe(self, remote: Timestamp) -> Timestamp:
        """Merge a timestamp received from a peer, so later local events order after it."""
        physical = int(self._clock.now() * 1000)
        with self._lock:
            wall = max(physical, self._last.wall_ms, remote.wall_ms)
            if wall == self._last.wall_ms == remote.wall_ms:
                counter = max(self._last.counter, remote.counter) + 1
            elif wall == self._last.wall_ms:
                counter = self._last.counter + 1
            elif wall == remote.wall_ms:
                counter = remote.counter + 1
            else:
                counter = 0
            self._last = Timestamp(wall, counter, self._node_id)
            return self._last
