"""The attributes of flag-evaluation events, and span events for routing and rollout decisions.

``feature_flag.evaluation`` follows the OpenTelemetry semantic conventions for feature flags (semconv
1.3x-1.4x, status Release Candidate): ``feature_flag.key`` (required), ``feature_flag.result.variant``,
``feature_flag.result.value`` (primitive values only: objects are left to the variant),
``feature_flag.result.reason`` (lower-case: static, default, targeting_match, split, disabled, error),
``feature_flag.provider.name``, ``feature_flag.context.id``, ``feature_flag.set.id``,
``feature_flag.version`` and, when the reason is ``error``, ``error.type`` (``flag_not_found``,
``type_mismatch``, ``parse_error``, ``targeting_key_missing``, ``invalid_context``, ``general``) with
``feature_flag.error.message``. The conventions record it as a log-based Event
(:mod:`sidecar.telemetry.evaluation_events`); :func:`record_evaluation` puts the same attributes on the
request's span for backends that only read span events.

Every span helper returns immediately when the span is not recording (unsampled, or no span at all), so
the unsampled cost is one method call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

__all__ = [
    "DEFAULT_PROVIDER_NAME",
    "FLAG_EVALUATION_EVENT",
    "ROLLOUT_DECISION_EVENT",
    "ROUTE_DECISION_EVENT",
    "evaluation_attributes",
    "record_evaluation",
    "record_rollout_decision",
    "record_route_decision",
]

FLAG_EVALUATION_EVENT = "feature_flag.evaluation"
ROUTE_DECISION_EVENT = "rollout.route"
ROLLOUT_DECISION_EVENT = "rollout.decision"
DEFAULT_PROVIDER_NAME = "rollout-sidecar"

FEATURE_FLAG_KEY = "feature_flag.key"
FEATURE_FLAG_RESULT_VARIANT = "feature_flag.result.variant"
FEATURE_FLAG_RESULT_VALUE = "feature_flag.result.value"
FEATURE_FLAG_RESULT_REASON = "feature_flag.result.reason"
FEATURE_FLAG_PROVIDER_NAME = "feature_flag.provider.name"
FEATURE_FLAG_CONTEXT_ID = "feature_flag.context.id"
FEATURE_FLAG_SET_ID = "feature_flag.set.id"
FEATURE_FLAG_VERSION = "feature_flag.version"
FEATURE_FLAG_ERROR_MESSAGE = "feature_flag.error.message"
ERROR_TYPE = "error.type"


def evaluation_attributes(
    *,
    flag_key: str,
    variant: str | None,
    reason: str,
    value: object = None,
    provider_name: str = DEFAULT_PROVIDER_NAME,
    context_id: str | None = None,
    set_id: str | None = None,
    version: str | int | None = None,
    error_type: str | None = None,
    error_message: str | None = None,
) -> dict[str, AttributeValue]:
    """The attributes of one ``feature_flag.evaluation`` event.

    ``reason`` and ``error_type`` are lower-cased (``TARGETING_MATCH`` -> ``targeting_match``).
    ``version`` identifies the ruleset used (the sidecar's configuration revision). Beware that
    ``context_id`` (the targeting key) may be personal data; pass a pseudonymous id.
    """
    attrs: dict[str, AttributeValue] = {
        FEATURE_FLAG_KEY: flag_key,
        FEATURE_FLAG_RESULT_REASON: reason.lower(),
        FEATURE_FLAG_PROVIDER_NAME: provider_name,
    }
    if variant is not None:
        attrs[FEATURE_FLAG_RESULT_VARIANT] = variant
    if isinstance(value, str | bool | int | float):
        attrs[FEATURE_FLAG_RESULT_VALUE] = value
    if context_id is not None:
        attrs[FEATURE_FLAG_CONTEXT_ID] = context_id
    if set_id is not None:
        attrs[FEATURE_FLAG_SET_ID] = set_id
    if version is not None:
        attrs[FEATURE_FLAG_VERSION] = str(version)
    if error_type is not None:
        attrs[ERROR_TYPE] = error_type.lower()
    if error_message is not None:
        attrs[FEATURE_FLAG_ERROR_MESSAGE] = error_message
    return attrs


def record_evaluation(span: Span, **fields: Any) -> None:
    """Add a ``feature_flag.evaluation`` event to ``span`` (no-op unless the span is recording);
    ``fields`` are :func:`evaluation_attributes`'s."""
    if span.is_recording():
        span.add_event(FLAG_EVALUATION_EVENT, evaluation_attributes(**fields))


def record_route_decision(
    span: Span,
    *,
    rollout: str,
    version: str,
    reason: str,
    phase_index: int | None = None,
    v2_percent: float | None = None,
    bucket: float | None = None,
    context_id: str | None = None,
    sticky: bool | None = None,
) -> None:
    """Add a ``rollout.route`` event: which version (v1|v2) a request was routed to, and why.

    ``bucket`` is the request's hash position in [0, 100) that was compared with ``v2_percent``.
    """
    if not span.is_recording():
        return
    attrs: dict[str, AttributeValue] = {
        "rollout.name": rollout,
        "rollout.version": version,
        "rollout.reason": reason,
    }
    if phase_index is not None:
        attrs["rollout.phase.index"] = phase_index
    if v2_percent is not None:
        attrs["rollout.v2_percent"] = float(v2_percent)
    if bucket is not None:
        attrs["rollout.bucket"] = float(bucket)
    if context_id is not None:
        attrs[FEATURE_FLAG_CONTEXT_ID] = context_id
    if sticky is not None:
        attrs["rollout.sticky"] = sticky
    span.add_event(ROUTE_DECISION_EVENT, attrs)


def record_rollout_decision(
    span: Span,
    *,
    rollout: str,
    decision: str,
    reason: str,
    phase_index: int | None = None,
    next_phase_index: int | None = None,
    v2_percent: float | None = None,
    next_v2_percent: float | None = None,
    numbers: Mapping[str, AttributeValue] | None = None,
) -> None:
    """Add a ``rollout.decision`` event from the policy loop (advance, hold, rollback, complete...).

    ``numbers`` carries the evidence under ``rollout.stats.<name>`` (error rates, sample sizes,
    p-values, latency quantiles), e.g. ``{"v2.error_rate": 0.012, "p_value": 0.003}``.
    """
    if not span.is_recording():
        return
    attrs: dict[str, AttributeValue] = {
        "rollout.name": rollout,
        "rollout.decision": decision,
        "rollout.reason": reason,
    }
    if phase_index is not None:
        attrs["rollout.phase.index"] = phase_index
    if next_phase_index is not None:
        attrs["rollout.phase.next_index"] = next_phase_index
    if v2_percent is not None:
        attrs["rollout.v2_percent"] = float(v2_percent)
    if next_v2_percent is not None:
        attrs["rollout.v2_percent.next"] = float(next_v2_percent)
    if numbers:
        for name, value in numbers.items():
            attrs[f"rollout.stats.{name}"] = value
    span.add_event(ROLLOUT_DECISION_EVENT, attrs)
