"""The names we share with the OpenTelemetry semantic conventions are the conventions' own names.

Each constant is imported from ``opentelemetry-semantic-conventions`` (its incubating attributes and
metrics, where RPC and feature-flag names live), so a rename upstream fails here, and none of the names we
emit may be one the installed conventions mark deprecated.
"""

from __future__ import annotations

import inspect

import pytest
from opentelemetry.semconv._incubating.attributes import (
    event_attributes,
    feature_flag_attributes,
    rpc_attributes,
)
from opentelemetry.semconv._incubating.attributes.feature_flag_attributes import (
    FEATURE_FLAG_CONTEXT_ID,
    FEATURE_FLAG_ERROR_MESSAGE,
    FEATURE_FLAG_KEY,
    FEATURE_FLAG_PROVIDER_NAME,
    FEATURE_FLAG_RESULT_REASON,
    FEATURE_FLAG_RESULT_VALUE,
    FEATURE_FLAG_RESULT_VARIANT,
    FEATURE_FLAG_SET_ID,
    FEATURE_FLAG_VERSION,
    FeatureFlagResultReasonValues,
)
from opentelemetry.semconv._incubating.attributes.rpc_attributes import (
    RPC_METHOD,
    RPC_RESPONSE_STATUS_CODE,
    RPC_SYSTEM_NAME,
)
from opentelemetry.semconv._incubating.metrics.process_metrics import PROCESS_CPU_TIME, PROCESS_MEMORY_USAGE
from opentelemetry.semconv._incubating.metrics.rpc_metrics import RPC_SERVER_CALL_DURATION
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

from sidecar.evaluation.model import Reason
from sidecar.telemetry import flags, grpc_tracing, instruments

SHARED = [
    (flags.FEATURE_FLAG_KEY, FEATURE_FLAG_KEY),
    (flags.FEATURE_FLAG_RESULT_VARIANT, FEATURE_FLAG_RESULT_VARIANT),
    (flags.FEATURE_FLAG_RESULT_VALUE, FEATURE_FLAG_RESULT_VALUE),
    (flags.FEATURE_FLAG_RESULT_REASON, FEATURE_FLAG_RESULT_REASON),
    (flags.FEATURE_FLAG_PROVIDER_NAME, FEATURE_FLAG_PROVIDER_NAME),
    (flags.FEATURE_FLAG_CONTEXT_ID, FEATURE_FLAG_CONTEXT_ID),
    (flags.FEATURE_FLAG_SET_ID, FEATURE_FLAG_SET_ID),
    (flags.FEATURE_FLAG_VERSION, FEATURE_FLAG_VERSION),
    (flags.FEATURE_FLAG_ERROR_MESSAGE, FEATURE_FLAG_ERROR_MESSAGE),
    (flags.ERROR_TYPE, ERROR_TYPE),
    (instruments.FLAG_KEY, FEATURE_FLAG_KEY),
    (instruments.FLAG_VARIANT, FEATURE_FLAG_RESULT_VARIANT),
    (instruments.FLAG_REASON, FEATURE_FLAG_RESULT_REASON),
    (grpc_tracing.RPC_SYSTEM_NAME, RPC_SYSTEM_NAME),
    (grpc_tracing.RPC_METHOD, RPC_METHOD),
    (grpc_tracing.RPC_RESPONSE_STATUS_CODE, RPC_RESPONSE_STATUS_CODE),
    (grpc_tracing.ERROR_TYPE, ERROR_TYPE),
    (instruments.RPC_SERVER_CALL_DURATION, RPC_SERVER_CALL_DURATION),
    (instruments.PROCESS_MEMORY, PROCESS_MEMORY_USAGE),
    (instruments.PROCESS_CPU_TIME, PROCESS_CPU_TIME),
]


@pytest.mark.parametrize(("ours", "theirs"), SHARED, ids=[theirs for _, theirs in SHARED])
def test_shared_names_are_the_conventions(ours: str, theirs: str) -> None:
    assert ours == theirs


def _deprecated(module: object) -> set[str]:
    """Attribute names whose docstring in the generated module starts with 'Deprecated'."""
    source = inspect.getsource(module)  # type: ignore[arg-type]
    names: set[str] = set()
    lines = source.splitlines()
    for i, line in enumerate(lines):
        if ": Final = " in line and i + 2 < len(lines) and lines[i + 2].startswith("Deprecated"):
            names.add(line.split('"')[1])
    return names


def test_we_emit_no_deprecated_name() -> None:
    deprecated = set().union(
        *(_deprecated(m) for m in (feature_flag_attributes, rpc_attributes, event_attributes))
    )
    assert {"rpc.system", "rpc.grpc.status_code", "event.name", "feature_flag.variant"} <= deprecated
    assert not {ours for ours, _ in SHARED} & deprecated


def test_reasons_are_convention_values() -> None:
    values = {v.value for v in FeatureFlagResultReasonValues}
    assert {reason.value.lower() for reason in Reason} <= values
