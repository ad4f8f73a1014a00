"""``flagd.evaluation.v1.Service`` and ``flagd.evaluation.v2.Service``: flagd's RPC evaluation API.

Each Resolve* call is our Evaluate: the same request limits (key length, context size and depth), the
same snapshot read and evaluator call, the same observers (telemetry, alert error counts, exposures), no
credential. Only the reading of the result is flagd's (:mod:`sidecar.protocols.flagd.resolve`), and a
``flagd-selector`` header narrows the flags a call sees to one flag set or source.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from types import ModuleType
from typing import Any

import grpc

from sidecar.clock import Clock
from sidecar.config.limits import check_request_key
from sidecar.evaluation.model import Reason, Resolution
from sidecar.protocols.flagd.events import EventSource
from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2 as v1
from sidecar.protocols.flagd.pb.evaluation.v2 import evaluation_pb2 as v2
from sidecar.protocols.flagd.resolve import FlagdFailure, FlagType, Typed, kind_of, typed
from sidecar.protocols.flagd.selected import SelectedEvaluator
from sidecar.protocols.flagd.selection import request_selector
from sidecar.server.convert import fill_struct
from sidecar.server.evaluation import EvaluationObserver, read_context
from sidecar.store.config_store import ConfigStore

V1_SERVICE = v1.DESCRIPTOR.services_by_name["Service"]
V2_SERVICE = v2.DESCRIPTOR.services_by_name["Service"]


class FlagdEvaluation:
    """The Resolve* methods and EventStream of one schema version (``schema`` is its generated module)."""

    def __init__(
        self,
        schema: ModuleType,
        store: ConfigStore,
        clock: Clock,
        events: EventSource,
        observers: Sequence[EvaluationObserver] = (),
    ) -> None:
        self._schema = schema
        self._v1 = schema is v1
        self._flags = SelectedEvaluator(store, clock, observers)
        self._events = events

    async def ResolveBoolean(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await self._resolve(request, context, FlagType.BOOLEAN, self._schema.ResolveBooleanResponse)

    async def ResolveString(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await self._resolve(request, context, FlagType.STRING, self._schema.ResolveStringResponse)

    async def ResolveInt(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await self._resolve(request, context, FlagType.INTEGER, self._schema.ResolveIntResponse)

    async def ResolveFloat(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await self._resolve(request, context, FlagType.FLOAT, self._schema.ResolveFloatResponse)

    async def ResolveObject(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await self._resolve(request, context, FlagType.OBJECT, self._schema.ResolveObjectResponse)

    async def ResolveAll(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        """v1 only: every selected flag, typed by its default variant; flags without one are left out."""
        snapshot = self._flags.snapshot()
        selector = request_selector(context.invocation_metadata())
        evaluation_context = await read_context(request.context)
        response = v1.ResolveAllResponse()
        selected = await self._flags.every(
            snapshot, selector, evaluation_context, lambda flag: flag.default_variant is not None
        )
        for item in selected:
            flag, resolution = item.flag, item.resolution
            if flag.default_variant is None:  # not admitted above; this tells the type checker
                continue
            _fill_any(response.flags[flag.key], resolution, flag.variants[flag.default_variant])
            fill_struct(response.flags[flag.key].metadata, {**selector.metadata, **resolution.metadata})
        fill_struct(response.metadata, selector.metadata)
        return response

    async def EventStream(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        selector = request_selector(context.invocation_metadata())
        async for kind, data in self._events.stream(selector):
            message = self._schema.EventStreamResponse(type=kind)
            fill_struct(message.data, data)
            yield message

    async def _resolve(
        self,
        request: Any,
        context: grpc.aio.ServicerContext[Any, Any],
        flag_type: FlagType,
        response_class: Any,
    ) -> Any:
        started = time.perf_counter()
        snapshot = self._flags.snapshot()
        check_request_key("flag_key", request.flag_key)
        selector = request_selector(context.invocation_metadata())
        evaluation_context = await read_context(request.context)
        try:
            resolution = self._flags.one(snapshot, selector, request.flag_key, evaluation_context, started)
            result = typed(resolution, flag_type, v1=self._v1, scope=selector.metadata)
        except FlagdFailure as exc:
            await context.abort(exc.status, exc.message)
        return _response(response_class, result)


def _response(response_class: Any, result: Typed) -> Any:
    response = response_class(reason=result.reason)
    if result.variant:
        response.variant = result.variant
    if result.value is not None:
        if isinstance(result.value, Mapping):
            response.value.SetInParent()  # an empty object is still a value
            fill_struct(response.value, result.value)
        else:
            response.value = result.value
    fill_struct(response.metadata, result.metadata)
    return response


def _fill_any(flag: Any, resolution: Resolution, default_value: Any) -> None:
    """One ResolveAll entry as flagd fills it: a disabled or failed flag gets its type's zero value."""
    flag.reason = resolution.reason.value
    served = resolution.variant is not None and resolution.reason not in (Reason.DISABLED, Reason.ERROR)
    flag.variant = resolution.variant if served and resolution.variant else ""
    value = resolution.value if served else None
    kind = kind_of(default_value)
    if kind == FlagType.BOOLEAN.value:
        flag.bool_value = bool(value)
    elif kind == FlagType.STRING.value:
        flag.string_value = value or ""
    elif kind == "number":
        flag.double_value = float(value or 0)
    else:
        flag.object_value.SetInParent()
        fill_struct(flag.object_value, value or {})


def servicers(
    store: ConfigStore, clock: Clock, events: EventSource, observers: Sequence[EvaluationObserver]
) -> list[tuple[FlagdEvaluation, Any]]:
    """Both versions' servicers with the service descriptor each is registered under."""
    return [
        (FlagdEvaluation(v1, store, clock, events, observers), V1_SERVICE),
        (FlagdEvaluation(v2, store, clock, events, observers), V2_SERVICE),
    ]
