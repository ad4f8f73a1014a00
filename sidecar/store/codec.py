"""JSON encoding of the domain's frozen dataclasses, driven by their type hints.

Rollout state is stored as JSON so the schema can grow without migrations; decoding follows the dataclass
field types (enums, optional values, tuples, nested dataclasses), so adding a field with a default keeps old
rows readable.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    """Plain JSON-able data for a dataclass, enum, tuple, mapping or scalar."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(cls: type[T], data: Any) -> T:
    """Inverse of :func:`encode` for dataclass ``cls``: unknown keys are ignored, missing ones defaulted."""
    result: T = _decode(cls, data)
    return result


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(annotation: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _decode_union(options, data)
    if origin is tuple:
        args = typing.get_args(annotation)
        item_type = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return tuple(_decode(item_type, item) for item in data)
    if origin in (Mapping, dict, typing.Mapping):
        _, value_type = typing.get_args(annotation)
        return {key: _decode(value_type, value) for key, value in data.items()}
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        hints = _hints(annotation)
        fields = {f.name for f in dataclasses.fields(annotation) if f.init}
        return annotation(
            **{name: _decode(hints[name], value) for name, value in data.items() if name in fields}
        )
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation(data)
    if annotation is float and isinstance(data, int):
        return float(data)
    return data


def _decode_union(options: list[Any], data: Any) -> Any:
    if len(options) == 1:
        return _decode(options[0], data)
    for option in options:  # e.g. ReasonCode | BreakerReason: the first enum that knows the value
        if isinstance(option, type) and issubclass(option, enum.Enum):
            try:
                return option(data)
            except ValueError:
                continue
    return data
