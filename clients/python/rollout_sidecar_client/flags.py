"""Typed flag evaluation over ``EvaluationService.Evaluate``: always a value, the default when in doubt.

The default is answered, with reason ERROR and an OpenFeature error code, when the sidecar does not answer
(PROVIDER_NOT_READY), the flag is unknown (FLAG_NOT_FOUND), the context is refused (INVALID_CONTEXT), the
flag's value has another type (TYPE_MISMATCH) or its rule failed (the sidecar's code). A disabled flag, or
one whose rule names no variant, answers the default with the sidecar's reason and no error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import grpc
from google.protobuf import json_format

from rollout_sidecar_client._proto import evaluation_pb2
from rollout_sidecar_client.circuit import Circuit, SidecarUnavailable
from rollout_sidecar_client.context import to_json_context

__all__ = ["FlagDetails", "FlagEvaluator"]
T = TypeVar("T")
_ERRORS = {grpc.StatusCode.NOT_FOUND: "FLAG_NOT_FOUND", grpc.StatusCode.INVALID_ARGUMENT: "INVALID_CONTEXT"}


@dataclass(frozen=True, slots=True)
class FlagDetails(Generic[T]):
    flag_key: str
    value: T
    variant: str = ""
    reason: str = ""  # STATIC, TARGETING_MATCH, SPLIT, DEFAULT, DISABLED or ERROR
    error_code: str = ""
    error_message: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _is_object(value: Any) -> bool:
    return isinstance(value, dict | list)


class FlagEvaluator:
    def __init__(self, channel: grpc.Channel, circuit: Circuit, timeout: float) -> None:
        self._evaluate = channel.unary_unary(
            "/sidecar.v1.EvaluationService/Evaluate",
            request_serializer=evaluation_pb2.EvaluateRequest.SerializeToString,
            response_deserializer=evaluation_pb2.EvaluateResponse.FromString,
        )
        self._circuit = circuit
        self._timeout = timeout

    def details(
        self, key: str, default: T, context: Mapping[str, Any] | None, accepts: Callable[[Any], bool]
    ) -> FlagDetails[T]:
        request = evaluation_pb2.EvaluateRequest(flag_key=key)
        request.context.update(to_json_context(context))  # TypeError before any I/O
        try:
            response = self._circuit.call(self._evaluate, request, self._timeout)
        except SidecarUnavailable as exc:
            return FlagDetails(
                key, default, reason="ERROR", error_code="PROVIDER_NOT_READY", error_message=str(exc)
            )
        except grpc.RpcError as exc:
            code = _ERRORS.get(exc.code(), "GENERAL")
            return FlagDetails(
                key, default, reason="ERROR", error_code=code, error_message=exc.details() or ""
            )
        reason = evaluation_pb2.Reason.Name(response.reason).removeprefix("REASON_")
        metadata = json_format.MessageToDict(response.metadata)
        if response.error_code:
            return FlagDetails(
                key, default, response.variant, "ERROR", response.error_code, response.error_message, metadata
            )
        if not response.HasField("value"):
            return FlagDetails(key, default, response.variant, reason, metadata=metadata)
        value: Any = json_format.MessageToDict(response.value)  # a Value: the JSON value itself
        if not accepts(value):
            message = f"flag {key!r} has a {type(value).__name__} value, not the type asked for"
            return FlagDetails(key, default, response.variant, "ERROR", "TYPE_MISMATCH", message, metadata)
        if accepts is _is_int:
            value = int(value)
        elif accepts is _is_number:
            value = float(value)
        return FlagDetails(key, value, response.variant, reason, metadata=metadata)


CHECKS = {"bool": _is_bool, "string": _is_string, "int": _is_int, "float": _is_number, "object": _is_object}
