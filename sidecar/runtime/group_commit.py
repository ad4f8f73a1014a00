"""Group commit: many callers wait for one durable write that includes all of their changes.

Callers change in-memory state on the event loop, then ``await durable()``. A single writer task collects
everything changed so far and writes it in one transaction; every caller that registered before the
collection is released when that write commits. One fsync thus acknowledges a whole burst of reports.
A failed write fails its callers; when the flush also undid the changes made while it ran
(``failure_undoes_later``), the callers waiting for the next write fail with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sidecar.errors import StorageError
from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class GroupCommit:
    def __init__(self, flush: Callable[[], Awaitable[None]], *, failure_undoes_later: bool = False) -> None:
        # ``flush`` must take its snapshot of pending changes before its first await.
        self._flush = flush
        self._failure_undoes_later = failure_undoes_later
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self._flush_now()  # whatever is still pending goes to disk before shutdown

    def request(self) -> None:
        """Ask for a flush without waiting for it (e.g. after a policy tick)."""
        self._wake.set()

    async def durable(self) -> None:
        """Return once every change made before this call is on disk; raises if that write failed."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake.set()
        await waiter

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush_now()

    async def _flush_now(self) -> None:
        waiters, self._waiters = self._waiters, []
        try:
            await self._flush()
        except Exception as exc:
            if not isinstance(exc, StorageError):  # the database logs a refused write itself, once
                log.exception("durable write failed")
            if self._failure_undoes_later:
                waiters, self._waiters = waiters + self._waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
