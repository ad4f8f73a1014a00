"""A fast path for server spans the configured sampler will certainly drop.

The SDK's ``Tracer.start_span`` is generic (context lookups, sampler objects, ``SamplingResult``
allocation) and costs several microseconds even for a span it then drops. Most requests are not
sampled, so the gRPC interceptor first asks :class:`SamplingShortcut`, which knows the sampler
configuration and reproduces its decision exactly:

* a caller's traceparent with the sampled flag clear, under any ``parentbased_*`` sampler: dropped;
* a root request under ``*traceidratio``: a trace id is drawn and compared with the same bound
  ``TraceIdRatioBased`` uses (the 64 low bits); when it would be dropped, the shortcut returns a
  non-recording span carrying that id; when it would be sampled, the id is *primed* into the
  provider's :class:`PrimableIdGenerator`, so the SDK's span gets exactly that id and the SDK
  sampler, deciding again on the same id, agrees;
* ``always_off`` roots: dropped. Everything else goes to the SDK.

A dropped span still carries a valid trace id and span id, so logs correlate and servicers see the
same ``trace.get_current_span()`` they would without the shortcut.
"""

from __future__ import annotations

import random
import threading

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    Span,
    SpanContext,
    TraceFlags,
    TraceState,
)

__all__ = ["PrimableIdGenerator", "SamplingShortcut"]

_LOW_64 = TraceIdRatioBased.TRACE_ID_LIMIT
_UNSAMPLED_RANDOM = TraceFlags(TraceFlags.RANDOM_TRACE_ID)
_UNSAMPLED = TraceFlags(TraceFlags.DEFAULT)


def _span_id() -> int:
    span_id = random.getrandbits(64)
    while span_id == INVALID_SPAN_ID:
        span_id = random.getrandbits(64)
    return span_id


class PrimableIdGenerator(RandomIdGenerator):
    """``RandomIdGenerator`` whose next trace id (on this thread) can be chosen in advance."""

    def __init__(self) -> None:
        self._primed = threading.local()

    def prime(self, trace_id: int) -> None:
        self._primed.trace_id = trace_id

    def clear(self) -> None:
        self._primed.trace_id = INVALID_TRACE_ID

    def generate_trace_id(self) -> int:
        primed: int = getattr(self._primed, "trace_id", INVALID_TRACE_ID)
        if primed != INVALID_TRACE_ID:
            self._primed.trace_id = INVALID_TRACE_ID
            return primed
        return super().generate_trace_id()


class SamplingShortcut:
    """Mirrors one of the ``OTEL_TRACES_SAMPLER`` samplers (see ``TelemetrySettings.build_sampler``)."""

    def __init__(self, sampler: str, ratio: float, ids: PrimableIdGenerator) -> None:
        self._parent_based = sampler.startswith("parentbased_")
        root = sampler.removeprefix("parentbased_")
        self._root_always_on = root == "always_on"
        self._root_always_off = root == "always_off"
        self._bound = TraceIdRatioBased.get_bound_for_rate(ratio) if root == "traceidratio" else None
        self._ids = ids

    @property
    def ids(self) -> PrimableIdGenerator:
        return self._ids

    def unsampled_span(self, parent: SpanContext | None) -> Span | None:
        """A non-recording span if the sampler would drop this server span; None: let the SDK start it.

        ``parent`` is the caller's (remote, valid) span context, or None for a root request.
        """
        if parent is None:
            return self.unsampled_root()
        return self.unsampled_child(parent.trace_id, parent.trace_flags, parent.trace_state)

    def unsampled_child(self, trace_id: int, flags: int, trace_state: TraceState | str | None) -> Span | None:
        """Like :meth:`unsampled_span` for a caller's raw traceparent fields (and tracestate header)."""
        if self._parent_based:
            # Every parentbased_* sampler drops a span whose remote parent was not sampled.
            if flags & TraceFlags.SAMPLED:
                return None
        elif not self._drops(trace_id):
            return None
        if isinstance(trace_state, str):
            trace_state = TraceState.from_header([trace_state])
        child_flags = _UNSAMPLED_RANDOM if flags & TraceFlags.RANDOM_TRACE_ID else _UNSAMPLED
        return NonRecordingSpan(SpanContext(trace_id, _span_id(), False, child_flags, trace_state))

    def unsampled_root(self) -> Span | None:
        """For a request without a caller trace context (see the module docstring)."""
        if self._root_always_on:
            return None
        trace_id = random.getrandbits(128)
        while trace_id == INVALID_TRACE_ID:
            trace_id = random.getrandbits(128)
        if self._drops(trace_id):
            return NonRecordingSpan(SpanContext(trace_id, _span_id(), False, _UNSAMPLED_RANDOM))
        self._ids.prime(trace_id)
        return None

    def _drops(self, trace_id: int) -> bool:
        """The root sampler's verdict (always_on never drops; the callers handle it first)."""
        if self._root_always_off:
            return True
        return self._bound is not None and trace_id & _LOW_64 >= self._bound
