"""``/healthz``, ``/readyz`` and ``/metrics`` on the management listener.

* ``/healthz`` is liveness: it answers 200 from the event loop, so an answer means the loop runs.
* ``/readyz`` is readiness: 200 when the gRPC health service would say SERVING, else 503; the body
  names every current problem (degraded ones too), as text or, for ``Accept: application/json`` or
  ``?format=json``, as JSON.
* ``/metrics`` is the Prometheus exposition (text 0.0.4, or OpenMetrics 1.0 when the scraper asks for
  ``application/openmetrics-text``); collecting runs on a worker thread, never on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from sidecar.protocols.management import ManagementServer

__all__ = ["Readiness", "Scrape", "add_probe_routes"]

# The Prometheus body and content type for an Accept header; None when no metrics are collected.
Scrape = Callable[[str], tuple[bytes, str] | None]


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    # Component name -> problem sentence, critical or not.
    problems: Mapping[str, str] = field(default_factory=dict)


def add_probe_routes(server: ManagementServer, readiness: Callable[[], Readiness], scrape: Scrape) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        state = readiness()
        status = 200 if state.ready else 503
        word = "ready" if state.ready else "not ready"
        if "application/json" in request.headers.get("Accept", "") or request.query.get("format") == "json":
            body = {"status": word, "problems": dict(state.problems)}
            return web.json_response(body, status=status)
        lines = [word, *(f"{name}: {problem}" for name, problem in state.problems.items())]
        return web.Response(text="\n".join(lines) + "\n", status=status)

    async def metrics(request: web.Request) -> web.Response:
        result = await asyncio.to_thread(scrape, request.headers.get("Accept", ""))
        if result is None:
            return web.Response(text="metrics are off: telemetry is disabled\n", status=404)
        body, content_type = result
        return web.Response(body=body, headers={"Content-Type": content_type})

    server.add_get("/healthz", healthz)
    server.add_get("/readyz", readyz)
    server.add_get("/metrics", metrics)
