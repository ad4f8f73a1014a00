"""The request context as the sidecar takes it: JSON values, converted from common Python types first.

Conversions (documented in the README): ``UUID`` and ``Decimal`` to strings, ``datetime`` to RFC 3339
(a naive one is taken as UTC), ``date`` to ``YYYY-MM-DD``, ``bytes`` to base64, ``None`` to null, tuples
and lists to arrays, mappings with string keys to objects. Anything else raises ``TypeError`` naming the
key, before any I/O: a context that cannot be sent is the caller's bug, not the sidecar's outage.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ["to_json_context"]


def to_json_context(context: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON-like copy of ``context``; raises TypeError naming the first key it cannot convert."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise TypeError(f"the context must be a mapping of strings to values, not {type(context).__name__}")
    return _object(context, "")


def _object(mapping: Mapping[Any, Any], path: str) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"context key {key!r} under {path or 'the top level'} is not a string")
        converted[key] = _value(value, f"{path}.{key}" if path else key)
    return converted


def _value(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str | int | float):
        return value
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return _object(value, path)
    if isinstance(value, list | tuple):
        return [_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(
        f"context value at {path!r} is a {type(value).__name__}: use a string, number, bool, None, list, "
        "mapping, UUID, Decimal, datetime, date or bytes"
    )
