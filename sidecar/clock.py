"""The one injectable clock: everything time-dependent takes a :class:`Clock`."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (used for schedules, windows and records)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (used for durations and timeouts)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
