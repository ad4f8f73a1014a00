"""EvaluationService: proto in, evaluator call, proto out. The hot path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

import grpc
from google.protobuf import struct_pb2

from sidecar.clock import Clock
from sidecar.config.limits import MESSAGE_BYTES, check_request_key
from sidecar.errors import NotFoundError, ResourceExhaustedError
from sidecar.evaluation.model import EvalErrorCode, Reason, Resolution
from sidecar.server.convert import context_to_dict, to_struct, to_value
from sidecar.store.config_store import ConfigStore
from sidecar.store.snapshot import Snapshot
from sidecar.tasks import in_slices
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc

# A context this large takes milliseconds to convert and evaluate (thousands of fields, or a 60,000-digit
# "number" compared): that work runs in a worker thread so that the event loop keeps serving other calls.
OFFLOAD_CONTEXT_BYTES = 8 * 1024

REASONS: dict[Reason, int] = {
    Reason.STATIC: evaluation_pb2.REASON_STATIC,
    Reason.TARGETING_MATCH: evaluation_pb2.REASON_TARGETING_MATCH,
    Reason.SPLIT: evaluation_pb2.REASON_SPLIT,
    Reason.DEFAULT: evaluation_pb2.REASON_DEFAULT,
    Reason.DISABLED: evaluation_pb2.REASON_DISABLED,
    Reason.ERROR: evaluation_pb2.REASON_ERROR,
}


class ResponseCache:
    """Prebuilt responses per (flag, variant, reason) for one snapshot.

    A resolution without an error is fully described by those three and the revision, so the response
    message is built once and reused: the per-request path then allocates no protobuf objects.
    """

    def __init__(self) -> None:
        self._revision = -1
        self._responses: dict[tuple[str, str | None, Reason], evaluation_pb2.EvaluateResponse] = {}

    def response(self, snapshot: Snapshot, resolution: Resolution) -> evaluation_pb2.EvaluateResponse:
        if resolution.error_code is not None:
            return build_response(resolution, snapshot.revision)
        if self._revision != snapshot.revision:
            self._responses = {}
            self._revision = snapshot.revision
        key = (resolution.flag_key, resolution.variant, resolution.reason)
        response = self._responses.get(key)
        if response is None:
            response = build_response(resolution, snapshot.revision)
            self._responses[key] = response
        return response


def build_response(resolution: Resolution, revision: int) -> evaluation_pb2.EvaluateResponse:
    response = evaluation_pb2.EvaluateResponse(
        flag_key=resolution.flag_key,
        variant=resolution.variant or "",
        reason=REASONS[resolution.reason],  # type: ignore[arg-type]
        revision=revision,
        error_code=resolution.error_code.value if resolution.error_code else "",
        error_message=resolution.error_message or "",
    )
    if resolution.variant is not None and resolution.reason not in (Reason.DISABLED, Reason.ERROR):
        response.value.CopyFrom(to_value(resolution.value))
    if resolution.metadata:
        response.metadata.CopyFrom(to_struct(resolution.metadata))
    return response


class EvaluationObserver(Protocol):
    """Sees every resolution served, with the snapshot and context it came from and the request's start
    (telemetry, exposure logging, error counting). Runs on the request path: must neither block nor raise."""

    def evaluation(
        self,
        snapshot: Snapshot,
        resolution: Resolution,
        context: Mapping[str, Any],
        now: float,
        started: float,
    ) -> None: ...


class EvaluationServicer(evaluation_pb2_grpc.EvaluationServiceServicer):
    def __init__(
        self,
        store: ConfigStore,
        clock: Clock,
        observers: Sequence[EvaluationObserver] = (),
        miss_observers: Sequence[EvaluationObserver] = (),
    ) -> None:
        """``observers`` see every resolution served; ``miss_observers`` also see the FLAG_NOT_FOUND
        resolutions of unknown keys, answered NOT_FOUND (telemetry wants them, exposures do not)."""
        self._store = store
        self._clock = clock
        self._cache = ResponseCache()
        self._observers = tuple(observers)
        self._miss_observers = tuple(miss_observers)

    async def Evaluate(
        self, request: evaluation_pb2.EvaluateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> evaluation_pb2.EvaluateResponse:
        started = time.perf_counter()
        snapshot = self._store.require_snapshot()
        check_request_key("flag_key", request.flag_key)
        now = self._clock.now()
        size = request.context.ByteSize()
        if size > OFFLOAD_CONTEXT_BYTES:
            evaluation_context, resolution = await asyncio.to_thread(
                _evaluate, snapshot, request.flag_key, request.context, size, now
            )
        else:
            evaluation_context, resolution = _evaluate(snapshot, request.flag_key, request.context, size, now)
        if resolution.error_code is EvalErrorCode.FLAG_NOT_FOUND:
            for observer in self._miss_observers:
                observer.evaluation(snapshot, resolution, evaluation_context, now, started)
            raise NotFoundError(f"flag {request.flag_key!r} does not exist")
        for observer in self._observers:
            observer.evaluation(snapshot, resolution, evaluation_context, now, started)
        return self._cache.response(snapshot, resolution)

    async def EvaluateAll(
        self, request: evaluation_pb2.EvaluateAllRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> evaluation_pb2.EvaluateAllResponse:
        started = time.perf_counter()
        snapshot = self._store.require_snapshot()
        evaluation_context = await read_context(request.context)
        now = self._clock.now()
        evaluate = snapshot.evaluator.evaluate
        response = evaluation_pb2.EvaluateAllResponse(revision=snapshot.revision)
        flags = response.flags
        async for keys in in_slices(snapshot.evaluator.keys):
            for key in keys:
                resolution = evaluate(key, evaluation_context, now)
                flags[key].CopyFrom(self._cache.response(snapshot, resolution))
                for observer in self._observers:
                    observer.evaluation(snapshot, resolution, evaluation_context, now, started)
        answer = response.ByteSize()
        if answer > MESSAGE_BYTES.value:
            raise ResourceExhaustedError(
                f"the answer for all {len(flags)} flags would be {answer} bytes, over the limit "
                f"{MESSAGE_BYTES.name} ({MESSAGE_BYTES.value} bytes); evaluate the flags you need one by one"
            )
        return response

    async def Watch(
        self, request: evaluation_pb2.WatchRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[evaluation_pb2.WatchResponse]:
        queue = self._store.subscribe()
        try:
            snapshot = self._store.snapshot
            yield _event(snapshot.revision if snapshot else 0, ())
            while True:
                event = await queue.get()
                yield _event(event.revision, event.changed_keys)
        finally:
            self._store.unsubscribe(queue)


async def read_context(context: struct_pb2.Struct) -> dict[str, Any]:
    """The request's context as plain data; a large one is converted in a worker thread, off the loop."""
    size = context.ByteSize()
    if size > OFFLOAD_CONTEXT_BYTES:
        return await asyncio.to_thread(context_to_dict, context, size)
    return context_to_dict(context, size)


def _evaluate(
    snapshot: Snapshot, key: str, context: struct_pb2.Struct, size: int, now: float
) -> tuple[dict[str, Any], Resolution]:
    evaluation_context = context_to_dict(context, size)
    return evaluation_context, snapshot.evaluator.evaluate(key, evaluation_context, now)


def _event(revision: int, keys: tuple[str, ...]) -> evaluation_pb2.WatchResponse:
    return evaluation_pb2.WatchResponse(
        event=evaluation_pb2.ConfigEvent(revision=revision, changed_keys=list(keys))
    )
