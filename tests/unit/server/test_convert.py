"""Struct ↔ plain data at the gRPC edge: one walker, with the request limits only where they apply."""

from __future__ import annotations

import math

import pytest
from google.protobuf import struct_pb2

from sidecar.errors import InvalidArgumentError
from sidecar.server.convert import (
    MAX_CONTEXT_BYTES,
    MAX_CONTEXT_DEPTH,
    context_to_dict,
    struct_to_dict,
    to_struct,
)

DATA = {"targetingKey": "u-1", "n": 7, "x": 2.5, "ok": True, "none": None, "list": [1, "a", {"b": False}]}


def convert(struct: struct_pb2.Struct) -> dict[str, object]:
    return context_to_dict(struct, struct.ByteSize())


def nested(levels: int) -> dict[str, object]:
    data: dict[str, object] = {"leaf": 1}
    for _ in range(levels - 1):
        data = {"next": data}
    return data


def test_both_directions_round_trip_and_integral_numbers_come_back_as_int() -> None:
    assert convert(to_struct(DATA)) == DATA
    assert struct_to_dict(to_struct(DATA)) == DATA
    assert type(convert(to_struct({"n": 7}))["n"]) is int  # formats as "7" in rules, like flagd


def test_contexts_are_limited_in_depth_but_admin_definitions_are_not() -> None:
    assert convert(to_struct(nested(MAX_CONTEXT_DEPTH)))
    with pytest.raises(InvalidArgumentError, match=r"over the limit context\.depth"):
        convert(to_struct(nested(MAX_CONTEXT_DEPTH + 1)))
    with pytest.raises(InvalidArgumentError, match=r"over the limit context\.depth"):
        convert(to_struct({"list": [[[[[[[[["deep"]]]]]]]]]}))
    assert struct_to_dict(to_struct(nested(MAX_CONTEXT_DEPTH + 5))) == nested(MAX_CONTEXT_DEPTH + 5)


def test_non_finite_numbers_are_refused_on_both_paths() -> None:
    for number in (math.inf, -math.inf, math.nan):
        struct = struct_pb2.Struct()
        struct.fields["x"].number_value = number
        with pytest.raises(InvalidArgumentError, match="finite"):
            convert(struct)
        with pytest.raises(InvalidArgumentError, match="finite"):
            struct_to_dict(struct)


def test_contexts_are_limited_in_size_and_an_empty_one_costs_nothing() -> None:
    big = to_struct({"s": "x" * MAX_CONTEXT_BYTES})
    with pytest.raises(
        InvalidArgumentError, match=r"context is over the limit context\.bytes \(65551 > 65536"
    ):
        convert(big)
    assert convert(struct_pb2.Struct()) == {}
