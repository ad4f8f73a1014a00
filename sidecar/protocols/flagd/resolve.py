"""A resolution of the evaluation core read the way flagd's typed Resolve* methods read theirs.

The core decides value, variant and reason (it already follows flagd: STATIC, DEFAULT, TARGETING_MATCH,
SPLIT, DISABLED, ERROR, with ``$flagd.flagKey`` and ``$flagd.timestamp`` in the context). What is left
to flagd's service layer is done here: the type check of each typed method, flagd's gRPC status for each
error, and the one difference between the two schema versions, a flag that falls through without a
default variant (v1: FLAG_NOT_FOUND; v2: DEFAULT with neither value nor variant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import grpc

from sidecar.evaluation.model import EvalErrorCode, Reason, Resolution


class FlagType(Enum):
    BOOLEAN = "boolean"
    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    OBJECT = "object"


@dataclass(frozen=True, slots=True)
class Typed:
    """What a Resolve* response carries; ``value`` None means the field stays unset."""

    value: Any
    variant: str | None
    reason: str
    metadata: Mapping[str, Any]


class FlagdFailure(Exception):
    """An evaluation flagd answers with a gRPC error status rather than a response."""

    def __init__(self, status: grpc.StatusCode, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.status = status
        self.code = code
        self.message = f"{code}: {detail}"


# flagd's statuses per error code. flagd answers GENERAL with UNKNOWN, which the providers retry and then
# read as GENERAL anyway; INTERNAL reads the same to them and is not retried for a result that won't change.
STATUS: dict[str, grpc.StatusCode] = {
    "FLAG_NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "TYPE_MISMATCH": grpc.StatusCode.INVALID_ARGUMENT,
    "PARSE_ERROR": grpc.StatusCode.DATA_LOSS,
    "INVALID_CONTEXT": grpc.StatusCode.INVALID_ARGUMENT,
    "TARGETING_KEY_MISSING": grpc.StatusCode.INVALID_ARGUMENT,
    "GENERAL": grpc.StatusCode.INTERNAL,
}


def failure(code: str, detail: str) -> FlagdFailure:
    return FlagdFailure(STATUS[code], code, detail)


def typed(resolution: Resolution, flag_type: FlagType, *, v1: bool, scope: Mapping[str, Any]) -> Typed:
    """The response of a typed Resolve* call, or :class:`FlagdFailure` as flagd would fail it."""
    key = resolution.flag_key
    if resolution.error_code is not None:
        raise failure(resolution.error_code.value, resolution.error_message or f"flag {key!r} failed")
    metadata = {**scope, **resolution.metadata}
    if resolution.variant is None:  # DISABLED, or DEFAULT without a default variant
        if v1 and resolution.reason is Reason.DEFAULT:
            raise failure(EvalErrorCode.FLAG_NOT_FOUND.value, f"flag {key!r} has no default variant to serve")
        return Typed(None, None, resolution.reason.value, metadata)
    value = convert(resolution.value, flag_type)
    if value is None:
        raise failure(
            "TYPE_MISMATCH",
            f"flag {key!r} is a {kind_of(resolution.value)} flag, not {flag_type.value}",
        )
    return Typed(value, resolution.variant, resolution.reason.value, metadata)


def convert(value: Any, flag_type: FlagType) -> Any:
    """``value`` as ``flag_type`` by flagd's rules (any number serves both number types), else None."""
    if flag_type is FlagType.BOOLEAN:
        return value if isinstance(value, bool) else None
    if flag_type is FlagType.STRING:
        return value if isinstance(value, str) else None
    if flag_type is FlagType.OBJECT:
        return value if isinstance(value, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    # flagd reads JSON numbers as float64 and ResolveInt truncates them toward zero.
    return float(value) if flag_type is FlagType.FLOAT else int(value)


def kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return FlagType.BOOLEAN.value
    if isinstance(value, str):
        return FlagType.STRING.value
    if isinstance(value, int | float):
        return "number"
    return FlagType.OBJECT.value if isinstance(value, Mapping) else type(value).__name__
