"""Hypothesis strategies for well-formed protobuf messages of any type, read from its descriptor.

Garbage bytes mostly stop at deserialization; these reach the handlers: every field of the request type
may be set, strings include flag keys the fuzz daemon serves and values near the request limits, numbers
include the extremes, enums include values the schema does not name, and nesting goes a few levels deep.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

__all__ = ["message_bytes"]

MAX_DEPTH = 4
F = FieldDescriptor
STRINGS = st.one_of(
    st.text(max_size=24),
    st.sampled_from(
        ["beta", "color", "checkout", "new-search", "v1", "v2", "admin", "", " ", "flagSetId=x", "*"]
    ),
    st.sampled_from(["1" * 60_000 + "x", "a" * 300, "é" * 2_000, "../" * 50, "\x00", "1.2.3-" + "9" * 500]),
)
# JSON for Struct and Value fields (flag and rollout definitions, contexts): the words of flag definitions
# and JSON Logic, so that some of it is nearly valid.
KEYS = st.one_of(
    st.sampled_from(
        [
            "state",
            "variants",
            "defaultVariant",
            "targeting",
            "on",
            "off",
            "if",
            "var",
            "==",
            ">",
            "in",
            "cat",
            "fractional",
            "sem_ver",
            "starts_with",
            "reduce",
            "merge",
            "map",
            "$ref",
            "stages",
            "share",
            "gates",
            "targetingKey",
            "age",
            "metadata",
            "flagSetId",
        ]
    ),
    st.text(max_size=8),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    STRINGS,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=24,
)
FLAG = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["ENABLED", "DISABLED", "x"]),
        "variants": st.dictionaries(st.sampled_from(["on", "off", "a"]), SCALARS, max_size=3),
        "defaultVariant": st.sampled_from(["on", "off", "missing"]),
    },
    optional={"targeting": JSON},
)
_JSON_SHAPES: dict[str, st.SearchStrategy[Any]] = {
    "google.protobuf.Struct": st.one_of(FLAG, st.dictionaries(KEYS, JSON, max_size=5)),
    "google.protobuf.Value": JSON,
    "google.protobuf.ListValue": st.lists(JSON, max_size=4),
}
_INTS = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_STRING:
        return STRINGS
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        width = 32 if field.type == F.TYPE_FLOAT else 64
        return st.floats(width=width)
    if field.type == F.TYPE_ENUM:
        named = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(named), st.integers(-(2**31), 2**31 - 1))
    low, high = _INTS[field.type]
    return st.one_of(st.integers(low, high), st.sampled_from([low, high, 0, 1, -1 if low else 2]))


@st.composite
def _message(draw: st.DrawFn, descriptor: Descriptor, depth: int) -> Message:
    message = GetMessageClass(descriptor)()
    shape = _JSON_SHAPES.get(descriptor.full_name)
    if shape is not None:
        json_format.ParseDict(draw(shape), message)
        return message
    for field in descriptor.fields:
        if draw(st.booleans()):
            _fill(draw, message, field, depth)
    return message


def _value(draw: st.DrawFn, field: FieldDescriptor, depth: int) -> Any:
    if field.type == F.TYPE_MESSAGE:
        return draw(_message(field.message_type, depth + 1))
    return draw(_scalar(field))


def _fill(draw: st.DrawFn, message: Message, field: FieldDescriptor, depth: int) -> None:
    nested = field.type == F.TYPE_MESSAGE
    if nested and depth >= MAX_DEPTH:
        return
    target = getattr(message, field.name)
    if nested and field.message_type.GetOptions().map_entry:
        key_field, value_field = (
            field.message_type.fields_by_name["key"],
            field.message_type.fields_by_name["value"],
        )
        for _ in range(draw(st.integers(0, 3))):
            key = draw(_scalar(key_field))
            if value_field.type == F.TYPE_MESSAGE:
                target[key].CopyFrom(_value(draw, value_field, depth))
            else:
                target[key] = _value(draw, value_field, depth)
    elif field.is_repeated:
        for _ in range(draw(st.integers(0, 3))):
            if nested:
                target.add().CopyFrom(_value(draw, field, depth))
            else:
                target.append(_value(draw, field, depth))
    elif nested:
        target.CopyFrom(_value(draw, field, depth))
    else:
        setattr(message, field.name, _value(draw, field, depth))


def message_bytes(descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Serialized messages of ``descriptor``'s type."""
    return _message(descriptor, 0).map(lambda message: message.SerializeToString())
