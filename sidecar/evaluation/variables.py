"""JSON Logic's access to the data: ``var``, ``missing`` and ``missing_some``, with json-logic-js semantics.

Paths are split once, at load time; :func:`lookup` then walks them as JavaScript property access would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sidecar.evaluation.coercion import less_or_equal, to_string
from sidecar.evaluation.model import FlagResolver, Rule
from sidecar.evaluation.rules import Compiled

_MISSING: Any = object()

Segment: TypeAlias = tuple[str, int | None]
"""One ``var`` path segment: the key, and its array index when the key is a canonical one."""


def null_rule(_data: Any, _resolver: FlagResolver | None) -> Any:
    return None


def _whole_data(data: Any, _resolver: FlagResolver | None) -> Any:
    return data


def split_path(path: Any) -> tuple[Segment, ...] | None:
    """``var``'s dotted path, pre-split; None for ``""`` and null, which name the whole data."""
    if path is None or path == "":
        return None
    return tuple(
        (key, int(key) if key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") else None)
        for key in to_string(path).split(".")
    )


def lookup(data: Any, segments: tuple[Segment, ...] | None) -> Any:
    """The value at ``segments`` as JavaScript property access finds it, or ``_MISSING``."""
    if segments is None:
        return data
    for key, index in segments:
        if isinstance(data, dict):
            data = data.get(key, _MISSING)
            if data is _MISSING:
                return _MISSING
        elif isinstance(data, (list, str)):
            if index is not None and index < len(data):
                data = data[index]
            elif key == "length":
                data = len(data)
            else:
                return _MISSING
        else:
            return _MISSING
    return data


def build_var(args: Sequence[Compiled]) -> Rule:
    if not args:
        return _whole_data
    path = args[0]
    fallback = args[1].rule if len(args) > 1 else null_rule
    if not path.constant:
        path_rule = path.rule

        def var_dynamic(data: Any, resolver: FlagResolver | None) -> Any:
            value = lookup(data, split_path(path_rule(data, resolver)))
            return fallback(data, resolver) if value is _MISSING else value

        return var_dynamic
    segments = split_path(path.value)
    if segments is None:
        return _whole_data
    if len(segments) == 1 and segments[0][1] is None:
        key = segments[0][0]

        def var_key(data: Any, resolver: FlagResolver | None) -> Any:
            value = data.get(key, _MISSING) if type(data) is dict else lookup(data, segments)
            return fallback(data, resolver) if value is _MISSING else value

        return var_key

    def var_path(data: Any, resolver: FlagResolver | None) -> Any:
        value = lookup(data, segments)
        return fallback(data, resolver) if value is _MISSING else value

    return var_path


def _is_missing(data: Any, segments: tuple[Segment, ...] | None) -> bool:
    value = lookup(data, segments)
    return value is _MISSING or value is None or value == ""


def _missing_keys(data: Any, keys: Any) -> list[Any]:
    return [key for key in keys if _is_missing(data, split_path(key))]


def build_missing(args: Sequence[Compiled]) -> Rule:
    rules = [arg.rule for arg in args]

    def missing(data: Any, resolver: FlagResolver | None) -> Any:
        values = [rule(data, resolver) for rule in rules]
        keys = values[0] if values and isinstance(values[0], list) else values
        return _missing_keys(data, keys)

    return missing


def build_missing_some(args: Sequence[Compiled]) -> Rule:
    need_rule, options_rule = args[0].rule, args[1].rule

    def missing_some(data: Any, resolver: FlagResolver | None) -> Any:
        need, options = need_rule(data, resolver), options_rule(data, resolver)
        if not isinstance(options, list):
            return _missing_keys(data, [options])
        absent = _missing_keys(data, options)
        return [] if less_or_equal(need, len(options) - len(absent)) else absent

    return missing_some
