"""The unsampled fast path must reproduce the SDK sampler's decisions exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from sidecar.telemetry import TelemetrySettings, TracingInterceptor
from sidecar.telemetry.sampling import PrimableIdGenerator, SamplingShortcut
from sidecar.telemetry.settings import SAMPLERS

trace_ids = st.integers(min_value=1, max_value=(1 << 128) - 1)
ratios = st.sampled_from([0.0, 0.01, 0.05, 0.5, 0.999, 1.0])


def _sdk(sampler: str, ratio: float) -> tuple[TracerProvider, PrimableIdGenerator, SamplingShortcut]:
    ids = PrimableIdGenerator()
    provider = TracerProvider(
        sampler=TelemetrySettings(sampler=sampler, sampler_ratio=ratio).build_sampler(),
        id_generator=ids,
        shutdown_on_exit=False,
    )
    return provider, ids, SamplingShortcut(sampler, ratio, ids)


@settings(max_examples=300, deadline=None)
@given(sampler=st.sampled_from(SAMPLERS), ratio=ratios, trace_id=trace_ids, flags=st.integers(0, 3))
def test_child_decision_matches_the_sdk(sampler: str, ratio: float, trace_id: int, flags: int) -> None:
    provider, _ids, shortcut = _sdk(sampler, ratio)
    parent = SpanContext(trace_id, 0x1234, True, TraceFlags(flags), TraceState([("v", "1")]))
    ctx = trace.set_span_in_context(NonRecordingSpan(parent), Context())
    sdk_span = provider.get_tracer("t").start_span("s", context=ctx)
    fast = shortcut.unsampled_child(trace_id, flags, "v=1")
    if sdk_span.is_recording():
        assert fast is None
    else:
        assert fast is not None
        got, want = fast.get_span_context(), sdk_span.get_span_context()
        assert got.trace_id == want.trace_id == trace_id
        assert got.trace_flags == want.trace_flags
        assert got.trace_state == want.trace_state
        assert not got.is_remote
        assert got.span_id != 0
    sdk_span.end()


@settings(max_examples=300, deadline=None)
@given(sampler=st.sampled_from(SAMPLERS), ratio=ratios, seed=st.integers(0, 2**32))
def test_root_decision_matches_the_sdk(sampler: str, ratio: float, seed: int) -> None:
    import random

    random.seed(seed)
    provider, ids, shortcut = _sdk(sampler, ratio)
    fast = shortcut.unsampled_root()
    if fast is not None:
        # Dropped: the SDK sampler given the same trace id drops it too.
        trace_id = fast.get_span_context().trace_id
        assert fast.get_span_context().trace_flags == TraceFlags(TraceFlags.RANDOM_TRACE_ID)
        ids.prime(trace_id)
        sdk_span = provider.get_tracer("t").start_span("s", context=Context())
        assert not sdk_span.is_recording()
        assert sdk_span.get_span_context().trace_id == trace_id
    else:
        # Sampled (or left to the SDK): the SDK's next root span uses the primed id and records.
        sdk_span = provider.get_tracer("t").start_span("s", context=Context())
        assert sdk_span.is_recording()
    sdk_span.end()


def test_primed_id_is_used_once_then_random_again() -> None:
    ids = PrimableIdGenerator()
    ids.prime(42)
    assert ids.generate_trace_id() == 42
    assert ids.generate_trace_id() != 42
    ids.prime(7)
    ids.clear()
    assert ids.generate_trace_id() != 7


def test_ratio_is_respected_statistically() -> None:
    _provider, _ids, shortcut = _sdk("parentbased_traceidratio", 0.1)
    sampled = 0
    for _ in range(20_000):
        if shortcut.unsampled_root() is None:
            sampled += 1
            shortcut.ids.clear()
    assert 1_700 < sampled < 2_300


class _Ctx:
    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._md = metadata

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._md

    def code(self) -> None:
        return None


TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"


@pytest.mark.parametrize(
    ("metadata", "expected_trace"),
    [
        ((("traceparent", f"00-{TRACE}-{SPAN}-01"),), TRACE),
        ((("traceparent", f"00-{TRACE}-{SPAN}-01"), ("tracestate", "a=1,b=2")), TRACE),
        # a future version with extra fields is accepted (by the SDK propagator's rules)
        ((("traceparent", f"01-{TRACE}-{SPAN}-01-extra"),), TRACE),
        # invalid: upper case, all-zero ids, version ff, garbage -> a fresh root
        ((("traceparent", f"00-{TRACE.upper()}-{SPAN}-01"),), None),
        ((("traceparent", f"00-{'0' * 32}-{SPAN}-01"),), None),
        ((("traceparent", f"00-{TRACE}-{'0' * 16}-01"),), None),
        ((("traceparent", f"ff-{TRACE}-{SPAN}-01"),), None),
        ((("traceparent", "nonsense"),), None),
        ((), None),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_interceptor_continues_only_valid_traceparents(
    metadata: tuple[tuple[str, str], ...], expected_trace: str | None, fast: bool
) -> None:
    provider, _ids, shortcut = _sdk("parentbased_always_on", 1.0)
    interceptor = TracingInterceptor(provider.get_tracer("t"), sampling_shortcut=shortcut if fast else None)
    seen: list[Any] = []

    async def handler(request: bytes, context: Any) -> bytes:
        seen.append(trace.get_current_span())
        return request

    wrapped = interceptor._wrap_unary(interceptor._method("/s.S/M"), handler)
    asyncio.run(wrapped(b"x", _Ctx(metadata)))
    span = seen[0]
    assert span.get_span_context().trace_flags.sampled  # a real SDK span (ended by now)
    got = format(span.get_span_context().trace_id, "032x")
    if expected_trace is None:
        assert got != TRACE
        assert span.parent is None
    else:
        assert got == expected_trace
        assert format(span.parent.span_id, "016x") == SPAN
        assert span.parent.is_remote
    if ("tracestate", "a=1,b=2") in metadata:
        assert dict(span.get_span_context().trace_state) == {"a": "1", "b": "2"}
