"""Conversions between protobuf ``Struct``/``Value`` and plain Python data, with the request limits.

Hand-written rather than ``json_format`` because this runs on every request: it walks the message once,
enforces nesting depth and size, and turns integral numbers into ``int`` so that string concatenation in
rules (e.g. a fractional bucket-by) formats ``7`` as ``"7"`` like flagd does, not ``"7.0"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2

from sidecar.config.limits import CONTEXT_BYTES, CONTEXT_DEPTH
from sidecar.errors import InvalidArgumentError

# Plain integers: read on every request.
MAX_CONTEXT_BYTES = CONTEXT_BYTES.value
MAX_CONTEXT_DEPTH = CONTEXT_DEPTH.value
_MAX_SAFE_INT = 2**53


def context_to_dict(context: struct_pb2.Struct, size: int) -> dict[str, Any]:
    """The evaluation context as plain data, given its encoded ``size`` (``context.ByteSize()``, which the
    caller has already asked for); INVALID_ARGUMENT when too large, too deep or malformed."""
    if not size:
        return {}
    if size > MAX_CONTEXT_BYTES:
        raise CONTEXT_BYTES.refusal("context", size)
    result = _struct(context, 1)
    targeting_key = result.get("targetingKey")
    if targeting_key is not None and not isinstance(targeting_key, str):
        raise InvalidArgumentError("context field 'targetingKey' must be a string")
    return result


def _struct(message: struct_pb2.Struct, depth: int, max_depth: float = MAX_CONTEXT_DEPTH) -> dict[str, Any]:
    if depth > max_depth:
        raise CONTEXT_DEPTH.refusal("context", depth)
    fields = message.fields
    # Keys, then indexing: the map's items() is a pure-Python view, twice as slow.
    return {key: _value(fields[key], depth, max_depth) for key in fields}


def _value(value: struct_pb2.Value, depth: int, max_depth: float = MAX_CONTEXT_DEPTH) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if number.is_integer() and -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT:
            return int(number)
        if not math.isfinite(number):
            raise InvalidArgumentError("numbers must be finite")
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct(value.struct_value, depth + 1, max_depth)
    if kind == "list_value":
        if depth + 1 > max_depth:
            raise CONTEXT_DEPTH.refusal("context", depth + 1)
        return [_value(item, depth + 1, max_depth) for item in value.list_value.values]
    return None  # null_value, or a Value with no kind set


def to_value(data: Any) -> struct_pb2.Value:
    """A protobuf ``Value`` for JSON-able data."""
    value = struct_pb2.Value()
    fill_value(value, data)
    return value


def fill_value(value: struct_pb2.Value, data: Any) -> None:
    if data is None:
        value.null_value = struct_pb2.NULL_VALUE
    elif isinstance(data, bool):
        value.bool_value = data
    elif isinstance(data, int | float):
        value.number_value = data
    elif isinstance(data, str):
        value.string_value = data
    elif isinstance(data, Mapping):
        value.struct_value.SetInParent()  # an empty mapping must still read back as a struct
        fill_struct(value.struct_value, data)
    elif isinstance(data, list | tuple):
        value.list_value.SetInParent()
        for item in data:
            fill_value(value.list_value.values.add(), item)
    else:
        raise TypeError(f"not JSON-able: {type(data).__name__}")


def fill_struct(struct: struct_pb2.Struct, data: Mapping[str, Any]) -> None:
    for key, item in data.items():
        fill_value(struct.fields[key], item)


def to_struct(data: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    fill_struct(struct, data)
    return struct


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct from an admin request as plain data (no limits beyond the message's own)."""
    return _struct(struct, 1, max_depth=math.inf)


def stickiness_value(context: struct_pb2.Struct, attribute: str) -> str | None:
    """The unit identity for routing: one context field as text, without converting the whole context."""
    size = context.ByteSize()
    if size > MAX_CONTEXT_BYTES:
        raise CONTEXT_BYTES.refusal("context", size)
    if attribute not in context.fields:
        return None
    value = _value(context.fields[attribute], MAX_CONTEXT_DEPTH)
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
