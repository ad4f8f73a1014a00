"""Evaluations that ended in REASON_ERROR: counted for alert rules, and named per flag in status.

A rule that goes over its budget (a ``reduce`` doubling a string with ``cat``, an array with ``merge``)
answers the flag's default with reason ERROR on every evaluation. Operators learn of it once per flag: one
log line when a flag starts failing, and one entry in GetStatus ``health_problems["flag-errors"]`` naming
the flag, the last reason and how many evaluations failed. The entry clears by itself once the flag is
changed or removed, or has not failed for :data:`FORGET_SECONDS`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.evaluation.model import CompiledFlag, Reason, Resolution
from sidecar.store.snapshot import Snapshot

log = logging.getLogger(__name__)

FORGET_SECONDS = 300.0


@dataclass(slots=True)
class _Failing:
    definition: Mapping[str, Any]  # the definition that failed: a changed flag starts afresh
    message: str
    count: int
    last_at: float


class EvaluationErrors:
    """An evaluation observer: it costs the hot path one comparison, and a failing flag one dict update."""

    __slots__ = ("_flags", "total")

    def __init__(self) -> None:
        self.total = 0
        self._flags: dict[str, _Failing] = {}

    def evaluation(
        self,
        snapshot: Snapshot,
        resolution: Resolution,
        context: Mapping[str, Any],  # noqa: ARG002
        now: float,
        started: float,  # noqa: ARG002
    ) -> None:
        if resolution.reason is Reason.ERROR:
            self.total += 1
            self._failed(snapshot, resolution, now)

    def _failed(self, snapshot: Snapshot, resolution: Resolution, now: float) -> None:
        key = resolution.flag_key
        message = resolution.error_message or "evaluation failed"
        entry = self._flags.get(key)
        if entry is None:
            flag = snapshot.flags.get(key)
            if flag is None:  # an unknown key: the caller's mistake, not the flag's
                return
            entry = self._flags[key] = _Failing(flag.definition, message, 0, now)
            log.warning(
                "flag %s answers its default with reason ERROR: %s", key, message, extra={"flag": key}
            )
        entry.count += 1
        entry.message = message
        entry.last_at = now

    def problem(self, flags: Mapping[str, CompiledFlag], now: float) -> str | None:
        """Each failing flag once, or None; forgets flags since changed, removed or quiet."""
        for key in [key for key, entry in self._flags.items() if not _still_failing(key, entry, flags, now)]:
            del self._flags[key]
        if not self._flags:
            return None
        return "; ".join(
            f"flag {key!r} answers its default with reason ERROR: {entry.message} "
            f"({entry.count} evaluation{'s' if entry.count != 1 else ''})"
            for key, entry in sorted(self._flags.items())
        )


def _still_failing(key: str, entry: _Failing, flags: Mapping[str, CompiledFlag], now: float) -> bool:
    flag = flags.get(key)
    return flag is not None and flag.definition == entry.definition and now - entry.last_at < FORGET_SECONDS
