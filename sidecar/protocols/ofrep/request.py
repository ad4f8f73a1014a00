"""Reading an OFREP request body, ``{"context": {...}}``, into an evaluation context, within the limits.

The context gets the same limits and the same reading as a gRPC one: the body is refused before it is
parsed when it is over ``context.bytes``; the parsed context goes through the protobuf ``Struct`` reading
of :func:`sidecar.server.convert.context_to_dict`, so depth, number and ``targetingKey`` rules are one set.
An empty body is an empty context (as flagd reads it). What is refused is an :class:`OfrepError`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, NoReturn

from aiohttp import web
from google.protobuf import struct_pb2

from sidecar.config.limits import CONTEXT_BYTES, CONTEXT_DEPTH
from sidecar.errors import InvalidArgumentError
from sidecar.server.convert import context_to_dict
from sidecar.server.evaluation import OFFLOAD_CONTEXT_BYTES

INVALID_CONTEXT = "INVALID_CONTEXT"
GENERAL = "GENERAL"
FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
# A body is the context and its wrapper; the wrapper's few bytes are not the caller's to count.
BODY_BYTES = CONTEXT_BYTES.value + 64


class OfrepError(Exception):
    """A request answered with an OFREP error body: ``{key, errorCode, errorDetails}`` and a status."""

    def __init__(self, status: int, code: str, details: str) -> None:
        super().__init__(details)
        self.status = status
        self.code = code
        self.details = details


def refuse(status: int, code: str, details: str) -> NoReturn:
    raise OfrepError(status, code, details)


async def read_context(request: web.Request) -> dict[str, Any]:
    """The request's evaluation context; a large one is parsed in a worker thread, off the event loop."""
    _check_content_type(request)
    body = await _read_body(request)
    if len(body) > OFFLOAD_CONTEXT_BYTES:
        return await asyncio.to_thread(parse_context, body)
    return parse_context(body)


def parse_context(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        refuse(400, INVALID_CONTEXT, f"the request body is not JSON: {_short(exc)}")
    if not isinstance(document, dict):
        refuse(400, INVALID_CONTEXT, 'the request body must be a JSON object: {"context": {...}}')
    context = document.get("context", {})
    if not isinstance(context, dict):
        refuse(400, INVALID_CONTEXT, "context must be a JSON object")
    _check_depth(context)
    struct = struct_pb2.Struct()
    try:
        struct.update(context)
    except (ValueError, TypeError, OverflowError) as exc:
        refuse(400, INVALID_CONTEXT, f"context is not valid: {_short(exc)}")
    try:
        return context_to_dict(struct, struct.ByteSize())
    except InvalidArgumentError as exc:
        refuse(400, INVALID_CONTEXT, str(exc))


def _check_content_type(request: web.Request) -> None:
    if not request.body_exists:
        return
    kind = request.content_type  # "application/octet-stream" when the header is missing
    if "Content-Type" in request.headers and not (kind == "application/json" or kind.endswith("+json")):
        refuse(415, INVALID_CONTEXT, f"the request body must be application/json, not {kind}")


async def _read_body(request: web.Request) -> bytes:
    """The body, never more than :data:`BODY_BYTES` of it: a larger one is refused as soon as it shows."""
    declared = request.content_length
    if declared is not None and declared > BODY_BYTES:
        refuse(413, INVALID_CONTEXT, CONTEXT_BYTES.refusal("the request body", declared).message)
    body = bytearray()
    while chunk := await request.content.readany():
        body += chunk
        if len(body) > BODY_BYTES:
            refuse(413, INVALID_CONTEXT, CONTEXT_BYTES.refusal("the request body").message)
    return bytes(body)


def _check_depth(context: dict[str, Any]) -> None:
    """Refuse nesting past ``context.depth`` before anything recursive walks it (iteratively, so a deep
    document cannot overflow the stack here either)."""
    stack: list[tuple[Any, int]] = [(context, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > CONTEXT_DEPTH.value:
            refuse(400, INVALID_CONTEXT, CONTEXT_DEPTH.refusal("context", depth).message)
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."
