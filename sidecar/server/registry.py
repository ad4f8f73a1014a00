"""Registers servicers with the gRPC server, wrapping every method in the same two edge rules.

1. A request that does not deserialize is answered INVALID_ARGUMENT (grpc's default would be INTERNAL).
2. A :class:`SidecarError` is answered with its status from :data:`GRPC_STATUS`; anything else is
   logged and answered INTERNAL without leaking internals.

Doing this once here, rather than in each servicer, keeps the servicers to their one job: translating.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import descriptor as descriptor_mod
from google.protobuf import message as message_mod
from google.protobuf import message_factory

from sidecar.errors import InvalidArgumentError, SidecarError
from sidecar.server.status import GRPC_STATUS

log = logging.getLogger(__name__)


class _Malformed:
    """Stands in for a request whose bytes did not parse."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _safe_deserializer(parse: Callable[[bytes], object]) -> Callable[[bytes], object]:
    def deserialize(data: bytes) -> object:
        try:
            return parse(data)
        except message_mod.DecodeError as exc:
            return _Malformed(str(exc))

    return deserialize


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: BaseException) -> None:
    if isinstance(exc, SidecarError):
        await context.abort(GRPC_STATUS[exc.code], exc.message)
    if isinstance(exc, NotImplementedError):  # a library servicer's method its server does not offer
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this method is not implemented by the sidecar")
    log.exception("unexpected error in RPC handler", exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the sidecar log")


def _check(request: object) -> None:
    if isinstance(request, _Malformed):
        raise InvalidArgumentError(f"request is not a valid protobuf message: {request.reason}")


def _unary_unary(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            _check(request)
            return await method(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return handler


def _unary_stream(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def handler(request: object, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        try:
            _check(request)
            async for item in method(request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return handler


async def _checked(requests: AsyncIterator[object]) -> AsyncIterator[object]:
    async for request in requests:
        _check(request)
        yield request


def _stream_unary(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def handler(requests: AsyncIterator[object], context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        try:
            return await method(_checked(requests), context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return handler


def add_service(server: grpc.aio.Server, servicer: object, service: descriptor_mod.ServiceDescriptor) -> None:
    """Register every method of ``service`` implemented by ``servicer``."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        implementation = getattr(servicer, method.name)
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        options: dict[str, Any] = {
            "request_deserializer": _safe_deserializer(request_class.FromString),
            "response_serializer": response_class.SerializeToString,
        }
        if method.client_streaming and method.server_streaming:
            raise NotImplementedError("bidirectional streaming is not used by this API")
        if method.client_streaming:
            handlers[method.name] = grpc.stream_unary_rpc_method_handler(
                _stream_unary(implementation), **options
            )
        elif method.server_streaming:
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                _unary_stream(implementation), **options
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                _unary_unary(implementation), **options
            )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))


def _stream_stream(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
    async def handler(
        requests: AsyncIterator[object], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            async for item in method(_checked(requests), context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort(context, exc)

    return handler


_GUARDS: dict[tuple[bool, bool], tuple[str, Callable[[Any], Any]]] = {
    (False, False): ("unary_unary", _unary_unary),
    (False, True): ("unary_stream", _unary_stream),
    (True, False): ("stream_unary", _stream_unary),
    (True, True): ("stream_stream", _stream_stream),
}


def guarded(handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
    """``handler`` (made by generated or library code) under the same two edge rules as our own methods."""
    field, guard = _GUARDS[(handler.request_streaming, handler.response_streaming)]
    behavior = getattr(handler, field)
    if handler.response_streaming and not inspect.isasyncgenfunction(behavior):
        # A coroutine that streams with ``await context.write(...)`` is awaited like a unary method.
        guard = _stream_unary if handler.request_streaming else _unary_unary
    replaced: grpc.RpcMethodHandler[Any, Any] = handler._replace(  # type: ignore[attr-defined]
        request_deserializer=_safe_deserializer(handler.request_deserializer or bytes),
        **{field: guard(behavior)},
    )
    return replaced


class GuardingServer:
    """Stands in for the server while a library's ``add_*_to_server`` registers its service (health,
    reflection), so that malformed requests to it answer INVALID_ARGUMENT rather than UNKNOWN."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, _handlers: Any) -> None:
        # Generated code registers the same method table below as well; that one is wrapped and used.
        return None

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        wrapped = {name: guarded(handler) for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))
