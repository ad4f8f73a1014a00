"""Stopping background tasks, and giving the event loop back during long work on one request."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

# How long one request's loop over its items may keep the event loop before letting other calls run.
HOLD_SECONDS = 0.0002


async def cancel_and_wait(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel each task and wait until it has finished unwinding (its ``finally`` blocks have run)."""
    for task in tasks:
        if task is not None:
            task.cancel()
    for task in tasks:
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def in_slices(items: Sequence[T], size: int = 16) -> AsyncIterator[Sequence[T]]:
    """``items`` ``size`` at a time, letting every other task run whenever :data:`HOLD_SECONDS` have passed.

    One event loop serves every call, so a request with thousands of items (EvaluateAll, a full outcome
    batch) would otherwise hold it for all of them, and each step of a small call (its arrival, its answer)
    would wait that long. Checking the clock once per slice keeps the cost to a few turns of the loop per
    request while bounding how long any one holds it.
    """
    deadline = time.perf_counter() + HOLD_SECONDS
    for start in range(0, len(items), size):
        if start and time.perf_counter() > deadline:
            await asyncio.sleep(0)
            deadline = time.perf_counter() + HOLD_SECONDS
        yield items[start : start + size]
