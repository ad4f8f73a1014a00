"""OFREP's endpoints on an HTTP listener of their own.

* ``POST /ofrep/v1/evaluate/flags/{key}``: one flag, for providers with a per-request context.
* ``POST /ofrep/v1/evaluate/flags``: every flag the ``flagd-selector`` header selects, with an ``ETag``
  of the answer; ``If-None-Match`` with the current tag answers 304 without a body.
* ``GET /ofrep/v1/events``: the change notification stream the bulk answer names
  (:mod:`sidecar.protocols.ofrep.stream`).

Evaluation is flagd's (:class:`sidecar.protocols.flagd.selected.SelectedEvaluator`): the same limits,
selection, rules and observers as the flagd RPCs and our own Evaluate. Whatever goes wrong answers an
OFREP error body with a 4xx (a 5xx only for the server's own failures), never a bare text page.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from sidecar.config.limits import check_request_key
from sidecar.errors import InvalidArgumentError, UnavailableError
from sidecar.protocols.flagd.events import EventSource
from sidecar.protocols.flagd.selected import SelectedEvaluator
from sidecar.protocols.flagd.selection import SELECTOR_HEADER, Selector, parse_selector
from sidecar.protocols.management import Handler, ManagementServer
from sidecar.protocols.ofrep.answers import answer, encode, entity_tag, matches
from sidecar.protocols.ofrep.request import GENERAL, OfrepError, read_context
from sidecar.protocols.ofrep.stream import PATH as EVENTS_PATH
from sidecar.protocols.ofrep.stream import ChangeStreams, stream_entry

__all__ = ["add_ofrep_routes", "ofrep_server"]

SINGLE = "/ofrep/v1/evaluate/flags/{key}"
BULK = "/ofrep/v1/evaluate/flags"
# Past this many flags the bulk answer is encoded in a worker thread, off the event loop.
OFFLOAD_FLAGS = 1000
log = logging.getLogger(__name__)


def ofrep_server() -> ManagementServer:
    """An HTTP listener whose every failure answers an OFREP error body."""
    return ManagementServer(middlewares=[_error_bodies])


def add_ofrep_routes(server: ManagementServer, flags: SelectedEvaluator, events: EventSource) -> None:
    routes = OfrepRoutes(flags, ChangeStreams(events))
    server.add_post(SINGLE, routes.evaluate)
    server.add_post(BULK, routes.evaluate_all)
    server.add_post(BULK + "/", routes.evaluate_all)
    server.add_get(EVENTS_PATH, routes.changes)
    server.app.on_shutdown.append(routes.streams.close_all)


class OfrepRoutes:
    def __init__(self, flags: SelectedEvaluator, streams: ChangeStreams) -> None:
        self._flags = flags
        self.streams = streams

    async def evaluate(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        key = request.match_info["key"]
        check_request_key("flag key", key)
        snapshot = self._flags.snapshot()
        selector = _selector(request)
        context = await read_context(request)
        resolution = self._flags.one(snapshot, selector, key, context, started)
        status, body = answer(resolution, selector.metadata)
        return _json(status, body)

    async def evaluate_all(self, request: web.Request) -> web.Response:
        snapshot = self._flags.snapshot()
        selector = _selector(request)
        context = await read_context(request)
        selected = await self._flags.every(snapshot, selector, context)
        body = {
            "flags": [answer(item.resolution, selector.metadata)[1] for item in selected],
            "metadata": dict(selector.metadata),
            "eventStreams": [stream_entry(request.headers.get(SELECTOR_HEADER, ""))],
        }
        if len(selected) > OFFLOAD_FLAGS:
            encoded = await asyncio.to_thread(encode, body)
        else:
            encoded = encode(body)
        tag = entity_tag(encoded)
        if matches(request.headers.get("If-None-Match"), tag):
            return web.Response(status=304, headers={"ETag": tag})
        return web.Response(body=encoded, content_type="application/json", headers={"ETag": tag})

    async def changes(self, request: web.Request) -> web.StreamResponse:
        text = request.headers.get(SELECTOR_HEADER) or request.query.get(SELECTOR_HEADER, "")
        return await self.streams.serve(request, parse_selector(text))


def _selector(request: web.Request) -> Selector:
    return parse_selector(request.headers.get(SELECTOR_HEADER, ""))


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=encode(body), content_type="application/json", headers=headers)


def _error(request: web.Request, status: int, code: str, details: str, **headers: str) -> web.Response:
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    key = request.match_info.get("key")
    if key is not None:
        body = {"key": key, **body}
    return _json(status, body, headers or None)


@web.middleware
async def _error_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OfrepError as exc:
        return _error(request, exc.status, exc.code, exc.details)
    except InvalidArgumentError as exc:  # a key or selector over its limit, a selector of unknown kind
        return _error(request, 400, GENERAL, exc.message)
    except UnavailableError as exc:  # no configuration has loaded yet
        return _error(request, 503, GENERAL, exc.message, **{"Retry-After": "1"})
    except web.HTTPException as exc:  # no such route, wrong method
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return _error(request, exc.status, GENERAL, f"{exc.reason}: {request.method} {request.path}", **allow)
    except Exception:
        log.exception("OFREP request %s %s failed", request.method, request.path)
        return _json(500, {"errorDetails": "internal error; the daemon's log has the details"})
