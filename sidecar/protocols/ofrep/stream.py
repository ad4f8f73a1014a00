"""OFREP's change notification: a Server-Sent Events stream that says "evaluate again" after each change.

The bulk answer names it under ``eventStreams`` (``{"type": "sse", "endpoint": {"requestUri": ...}}``,
origin-relative, so it holds behind whatever name the provider reached us by). Each change to the flags
the stream's selector sees sends ``event: message`` with ``data: {"type": "refetchEvaluation"}`` and an
increasing ``id``; a comment line goes out when nothing else was sent for flagd's keep-alive period, so
idle proxies keep the connection. The payload is only a notification: the provider then asks the bulk
endpoint again, whose ETag says whether anything it sees changed.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from aiohttp import web

from sidecar.protocols.flagd.events import EventSource
from sidecar.protocols.flagd.selection import SELECTOR_HEADER, Selector

PATH = "/ofrep/v1/events"
REFETCH = json.dumps({"type": "refetchEvaluation"})
# What an EventSource waits before reconnecting after the stream is cut (a restart, a proxy timeout).
RETRY_MS = 1000


def stream_entry(selector_text: str) -> dict[str, object]:
    """The ``eventStreams`` entry of a bulk answer made under ``selector_text`` (the header as sent)."""
    uri = PATH + (f"?{SELECTOR_HEADER}={quote(selector_text, safe='')}" if selector_text else "")
    return {"type": "sse", "endpoint": {"requestUri": uri}}


class ChangeStreams:
    """Every open stream, so that shutting the listener down ends them instead of waiting for them."""

    def __init__(self, events: EventSource) -> None:
        self._events = events
        self._open: set[asyncio.Task[object]] = set()

    async def serve(self, request: web.Request, selector: Selector) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        task = asyncio.current_task()
        if task is not None:
            self._open.add(task)
        try:
            await self._notify(response, selector)
        except (ConnectionResetError, asyncio.CancelledError):
            # The provider went away, or the listener is shutting down: either way the stream is over.
            pass
        finally:
            if task is not None:
                self._open.discard(task)
        return response

    async def _notify(self, response: web.StreamResponse, selector: Selector) -> None:
        sent = 0
        first = True
        async for change in self._events.watch(selector):
            if change is None:
                await response.write(b": keep-alive\n\n")
            elif first:
                # The flags as they are on connect, which the provider has just fetched: nothing to say
                # but the reconnection delay, sent now so that a change after its arrival is never missed.
                first = False
                await response.write(f"retry: {RETRY_MS}\n\n".encode())
            else:
                sent += 1
                await response.write(f"id: {sent}\nevent: message\ndata: {REFETCH}\n\n".encode())

    async def close_all(self, _app: web.Application) -> None:
        for task in list(self._open):
            task.cancel()
