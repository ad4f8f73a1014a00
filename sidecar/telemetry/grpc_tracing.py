"""A grpc.aio server interceptor that wraps every RPC in a SERVER span.

* The span is named after the full method (``sidecar.v1.EvaluationService/Evaluate``) and continues
  the caller's trace from W3C ``traceparent``/``tracestate`` metadata (the SDK's
  ``TraceContextTextMapPropagator``). Without a ``traceparent`` the span is a new root: a context
  that happened to be current when the server started is never inherited.
* The span is current while the handler runs, so servicers call ``trace.get_current_span()`` and
  log lines carry its ids. For streaming responses it is current only while the handler's generator
  runs (it is attached and detached around every step, so no context token outlives its task step).
* Attributes follow the current RPC semantic conventions: ``rpc.system.name=grpc``, fully
  qualified ``rpc.method`` and ``rpc.response.status_code`` (the status name, e.g. ``NOT_FOUND``).
  The span status is ERROR for the codes the conventions call server errors (UNKNOWN,
  DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS); client errors such as
  NOT_FOUND leave it unset.
* Every call's duration goes into ``rpc.server.call.duration`` (seconds, with ``rpc.system.name``,
  ``rpc.method`` and ``rpc.response.status_code``), sampled or not, through a
  :class:`~sidecar.telemetry.histograms.FastHistogram` cell cached per method and status code.
* Cheap when unsampled: span names and attribute dicts are built once per method, the wrapped
  handler is cached per method, metadata is scanned without building a carrier unless a
  ``traceparent`` is present, and nothing else is computed for a non-recording span. With a
  no-op tracer (telemetry disabled) handlers are returned untouched.

Supports unary-unary, unary-stream, stream-unary and stream-stream handlers, each as a coroutine /
async generator (the grpc.aio style) or as a plain function / generator (run in grpc's executor).
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TraceState,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from sidecar.telemetry.histograms import FastHistogram, HistogramCell
from sidecar.telemetry.sampling import SamplingShortcut

__all__ = ["TracingInterceptor"]

RPC_SYSTEM_NAME = "rpc.system.name"
RPC_METHOD = "rpc.method"
RPC_RESPONSE_STATUS_CODE = "rpc.response.status_code"
ERROR_TYPE = "error.type"

_SERVER_ERROR_CODES = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_EMPTY_CONTEXT = Context()
# The only traceparent version so far, in its exact form; anything else takes the SDK's slow path.
_TRACEPARENT_V00 = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_BY_VALUE = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True, slots=True)
class _Method:
    name: str
    attributes: Mapping[str, AttributeValue]
    # Duration cells by status code, filled on first use.
    cells: dict[grpc.StatusCode, HistogramCell] = field(default_factory=dict)


class _Remote(NamedTuple):
    """A caller's version-00 traceparent, not yet turned into a SpanContext (often it never is)."""

    trace_id: int
    span_id: int
    flags: int
    tracestate: str | None

    def span_context(self) -> SpanContext:
        state = TraceState.from_header([self.tracestate]) if self.tracestate is not None else None
        return SpanContext(self.trace_id, self.span_id, True, TraceFlags(self.flags), state)


def _status_code(value: object) -> grpc.StatusCode:
    """``ServicerContext.code()`` gives a StatusCode, an int, or None (= OK) depending on the path."""
    if isinstance(value, grpc.StatusCode):
        return value
    if isinstance(value, int):
        return _BY_VALUE.get(value, grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.OK


def _finish(span: Span, code: grpc.StatusCode, error: BaseException | None = None) -> None:
    span.set_attribute(RPC_RESPONSE_STATUS_CODE, code.name)
    if code in _SERVER_ERROR_CODES:
        span.set_attribute(ERROR_TYPE, code.name)
        description = f"{type(error).__name__}: {error}" if error is not None else code.name
        span.set_status(Status(StatusCode.ERROR, description))
        if error is not None:
            span.record_exception(error)
    span.end()


def _code_after_exception(exc: BaseException, context: Any) -> grpc.StatusCode:
    if isinstance(exc, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    # context.abort() raises after setting the code; anything else escaping a handler is UNKNOWN.
    code = _status_code(_safe_code(context))
    return grpc.StatusCode.UNKNOWN if code is grpc.StatusCode.OK else code


def _safe_code(context: Any) -> object:
    try:
        return context.code()
    except Exception:
        return None


def _is_abort(exc: BaseException) -> bool:
    return isinstance(exc, grpc.aio.AbortError)


class TracingInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """``grpc.aio.server(interceptors=[telemetry.server_interceptor()])``.

    ``TracingInterceptor(tracer)`` works with any tracer; ``telemetry.server_interceptor()`` also
    passes the :class:`~sidecar.telemetry.sampling.SamplingShortcut` matching the tracer's sampler,
    which makes unsampled requests several times cheaper.
    """

    def __init__(
        self,
        tracer: Tracer,
        *,
        propagator: TraceContextTextMapPropagator | None = None,
        sampling_shortcut: SamplingShortcut | None = None,
        call_duration: FastHistogram | None = None,
    ) -> None:
        self._tracer = tracer
        self._propagator = propagator or TraceContextTextMapPropagator()
        self._shortcut = sampling_shortcut
        self._durations = call_duration
        self._passthrough = isinstance(tracer, trace.NoOpTracer) and call_duration is None
        self._methods: dict[str, _Method] = {}
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}  # type: ignore[type-arg]

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],  # type: ignore[type-arg]
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:  # type: ignore[type-arg]
        handler = await continuation(handler_call_details)
        if handler is None or self._passthrough:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(self._method(method), handler)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    # -- span plumbing -----------------------------------------------------------------------------

    def _method(self, full_method: str) -> _Method:
        info = self._methods.get(full_method)
        if info is None:
            name = full_method.lstrip("/")
            info = _Method(name, {RPC_SYSTEM_NAME: "grpc", RPC_METHOD: name})
            self._methods[full_method] = info
        return info

    def _remote(self, metadata: Any) -> _Remote | SpanContext | None:
        """The caller's W3C trace context: raw fields for the common exact version-00 form, a parsed
        ``SpanContext`` for anything the SDK propagator has to judge, None when absent or invalid."""
        traceparent = tracestate = None
        for key, value in metadata or ():
            if key == "traceparent":
                traceparent = value
            elif key == "tracestate":
                tracestate = value
        if not isinstance(traceparent, str):
            return None
        state = tracestate if isinstance(tracestate, str) else None
        match = _TRACEPARENT_V00.fullmatch(traceparent)
        if match is None:
            carrier = {"traceparent": traceparent}
            if state is not None:
                carrier["tracestate"] = state
            extracted = self._propagator.extract(carrier, context=_EMPTY_CONTEXT)
            ctx = trace.get_current_span(extracted).get_span_context()
            return ctx if ctx.is_valid else None
        trace_id, span_id = int(match.group(1), 16), int(match.group(2), 16)
        if trace_id == trace.INVALID_TRACE_ID or span_id == trace.INVALID_SPAN_ID:
            return None
        return _Remote(trace_id, span_id, int(match.group(3), 16), state)

    def _start(self, info: _Method, metadata: Any) -> tuple[Span, Context, float]:
        started = time.perf_counter()
        remote = self._remote(metadata)
        shortcut = self._shortcut
        if shortcut is not None:
            if remote is None:
                dropped = shortcut.unsampled_root()
            elif isinstance(remote, _Remote):
                dropped = shortcut.unsampled_child(remote.trace_id, remote.flags, remote.tracestate)
            else:
                dropped = shortcut.unsampled_span(remote)
            if dropped is not None:
                return dropped, trace.set_span_in_context(dropped, _EMPTY_CONTEXT), started
        if remote is None:
            parent_ctx = _EMPTY_CONTEXT
        else:
            parent = remote.span_context() if isinstance(remote, _Remote) else remote
            parent_ctx = trace.set_span_in_context(NonRecordingSpan(parent), _EMPTY_CONTEXT)
        span = self._tracer.start_span(
            info.name, context=parent_ctx, kind=SpanKind.SERVER, attributes=info.attributes
        )
        if shortcut is not None and remote is None:
            shortcut.ids.clear()
        return span, trace.set_span_in_context(span, parent_ctx), started

    def _finish_ok(self, info: _Method, span: Span, started: float, context: Any) -> None:
        if span.is_recording() or self._durations is not None:
            self._end(info, span, started, _status_code(_safe_code(context)), None)

    def _finish_exc(
        self, info: _Method, span: Span, started: float, context: Any, exc: BaseException
    ) -> None:
        if span.is_recording() or self._durations is not None:
            self._end(
                info, span, started, _code_after_exception(exc, context), None if _is_abort(exc) else exc
            )

    def _end(
        self, info: _Method, span: Span, started: float, code: grpc.StatusCode, error: BaseException | None
    ) -> None:
        durations = self._durations
        if durations is not None:
            cell = info.cells.get(code)
            if cell is None:
                attributes = {**info.attributes, RPC_RESPONSE_STATUS_CODE: code.name}
                cell = info.cells[code] = durations.cell(attributes)
            cell.record(time.perf_counter() - started)
        if span.is_recording():  # nothing to do for a non-recording span, not even end()
            _finish(span, code, error)

    # -- handler wrapping --------------------------------------------------------------------------

    def _wrap(self, info: _Method, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:  # type: ignore[type-arg]
        h: Any = handler
        kwargs = {
            "request_deserializer": h.request_deserializer,
            "response_serializer": h.response_serializer,
        }
        if h.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(self._wrap_unary(info, h.unary_unary), **kwargs)
        if h.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(self._wrap_stream(info, h.unary_stream), **kwargs)
        if h.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(self._wrap_unary(info, h.stream_unary), **kwargs)
        if h.stream_stream is not None:
            return grpc.stream_stream_rpc_method_handler(self._wrap_stream(info, h.stream_stream), **kwargs)
        return handler

    def _wrap_unary(self, info: _Method, behavior: Callable[..., Any]) -> Callable[..., Any]:
        """Handlers that return one response (unary-unary and stream-unary)."""
        start, finish_ok, finish_exc = self._start, self._finish_ok, self._finish_exc

        if inspect.iscoroutinefunction(behavior):

            async def async_unary(request: Any, context: Any) -> Any:
                span, ctx, started = start(info, context.invocation_metadata())
                token = otel_context.attach(ctx)
                try:
                    response = await behavior(request, context)
                except BaseException as exc:
                    finish_exc(info, span, started, context, exc)
                    raise
                finally:
                    otel_context.detach(token)
                finish_ok(info, span, started, context)
                return response

            return async_unary

        def sync_unary(request: Any, context: Any) -> Any:
            span, ctx, started = start(info, context.invocation_metadata())
            token = otel_context.attach(ctx)
            try:
                response = behavior(request, context)
            except BaseException as exc:
                finish_exc(info, span, started, context, exc)
                raise
            finally:
                otel_context.detach(token)
            finish_ok(info, span, started, context)
            return response

        return sync_unary

    def _wrap_stream(self, info: _Method, behavior: Callable[..., Any]) -> Callable[..., Any]:
        """Handlers that stream responses (unary-stream and stream-stream)."""
        start, finish_ok, finish_exc = self._start, self._finish_ok, self._finish_exc

        if inspect.isasyncgenfunction(behavior):

            async def async_gen(request: Any, context: Any) -> AsyncIterator[Any]:
                span, ctx, started = start(info, context.invocation_metadata())
                try:
                    token = otel_context.attach(ctx)
                    try:
                        responses = behavior(request, context)
                    finally:
                        otel_context.detach(token)
                    while True:
                        token = otel_context.attach(ctx)
                        try:
                            item = await responses.__anext__()
                        except StopAsyncIteration:
                            break
                        finally:
                            otel_context.detach(token)
                        yield item
                except BaseException as exc:
                    if isinstance(exc, GeneratorExit):
                        exc = asyncio.CancelledError()
                    finish_exc(info, span, started, context, exc)
                    raise
                finish_ok(info, span, started, context)

            return async_gen

        if inspect.iscoroutinefunction(behavior):
            # grpc.aio also accepts a coroutine that streams with ``await context.write(...)``.
            return self._wrap_unary(info, behavior)

        return _sync_stream(self, info, behavior)


def _sync_stream(
    interceptor: TracingInterceptor, info: _Method, behavior: Callable[..., Any]
) -> Callable[..., Any]:
    """A synchronous server's streaming handler, traced like the asyncio one."""
    start, finish_ok, finish_exc = interceptor._start, interceptor._finish_ok, interceptor._finish_exc

    def sync_gen(request: Any, context: Any) -> Iterator[Any]:
        span, ctx, started = start(info, context.invocation_metadata())
        try:
            token = otel_context.attach(ctx)
            try:
                responses = iter(behavior(request, context))
            finally:
                otel_context.detach(token)
            while True:
                token = otel_context.attach(ctx)
                try:
                    item = next(responses)
                except StopIteration:
                    break
                finally:
                    otel_context.detach(token)
                yield item
        except BaseException as exc:
            if isinstance(exc, GeneratorExit):
                exc = asyncio.CancelledError()
            finish_exc(info, span, started, context, exc)
            raise
        finish_ok(info, span, started, context)

    return cast(Callable[..., Any], sync_gen)
