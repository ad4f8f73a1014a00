"""flagd's event stream: ``provider_ready`` on connect, ``configuration_change`` after every change to the
flags a stream sees, ``keep_alive`` when nothing else was sent for a while.

A change lists each changed key under ``data.flags`` with flagd's type: ``write`` (new), ``update`` or
``delete``. A reload or admin write that changes none of a stream's flags sends it nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sidecar.evaluation.model import CompiledFlag
from sidecar.protocols.flagd.selection import Selector
from sidecar.store.config_store import ConfigStore

PROVIDER_READY = "provider_ready"
CONFIGURATION_CHANGE = "configuration_change"
KEEP_ALIVE = "keep_alive"
# flagd's period: long enough to cost nothing, short enough to keep idle proxies from closing the stream.
KEEP_ALIVE_SECONDS = 20.0

Event = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Change:
    flags: dict[str, CompiledFlag]
    """The flags the stream sees now."""
    changed: dict[str, str]
    """flagd's type of change per changed key; empty for the first."""


class EventSource:
    def __init__(self, store: ConfigStore, keep_alive_seconds: float = KEEP_ALIVE_SECONDS) -> None:
        self._store = store
        self._keep_alive = keep_alive_seconds

    def selected(self, selector: Selector) -> dict[str, CompiledFlag]:
        snapshot = self._store.snapshot
        if snapshot is None:
            return {}
        return {flag.key: flag for flag in selector.select(snapshot.flags, self._store.config_dir)}

    async def watch(self, selector: Selector) -> AsyncIterator[Change | None]:
        """The selected flags now, then after every change to them; None when a keep-alive is due."""
        queue = self._store.subscribe()
        try:
            current = self.selected(selector)
            yield Change(current, {})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self._keep_alive)
                except TimeoutError:
                    yield None
                    continue
                following = self.selected(selector)
                # The store names what changed by definition; a rebuilt but equal flag is no change.
                changed = _typed_changes(current, following, event.changed_keys)
                current = following
                if changed:
                    yield Change(current, changed)
        finally:
            self._store.unsubscribe(queue)

    async def stream(self, selector: Selector) -> AsyncIterator[Event]:
        first = True
        async for change in self.watch(selector):
            if change is None:
                yield KEEP_ALIVE, {}
            elif first:
                first = False
                yield PROVIDER_READY, {}
            else:
                yield (
                    CONFIGURATION_CHANGE,
                    {"flags": {key: {"type": kind} for key, kind in change.changed.items()}},
                )


def _typed_changes(
    before: Mapping[str, CompiledFlag], after: Mapping[str, CompiledFlag], keys: Iterable[str]
) -> dict[str, str]:
    changes: dict[str, str] = {}
    for key in sorted(keys):
        if key in before and key in after:
            changes[key] = "update"
        elif key in after:
            changes[key] = "write"
        elif key in before:
            changes[key] = "delete"
    return changes
