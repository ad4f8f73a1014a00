"""Validate flagd flag definitions and compile them into :class:`CompiledFlag` objects.

A document is checked as a whole and every problem found is reported at once, each with its line.
Beyond flagd's schema, a flag may not carry unknown properties (a misspelt ``targeting`` would otherwise
silently serve the default) and all its variants must share one type, as flagd's schema requires.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sidecar.config.located import LocatedDocument, PathKey
from sidecar.errors import ConfigError, ConfigProblem
from sidecar.evaluation.jsonlogic import RuleCompiler
from sidecar.evaluation.model import CompiledFlag

_FLAG_PROPERTIES = ("state", "variants", "defaultVariant", "targeting", "metadata")
_STATES = {"ENABLED": True, "DISABLED": False}
_MAX_SAFE_INTEGER = 2**53 - 1
_FLAG_SET_ID = "flagSetId"
_LINE_BREAKS = ("\n", "\r", "\u2028", "\u2029")
_NONE: Mapping[str, Any] = MappingProxyType({})


def compile_flags(doc: LocatedDocument) -> dict[str, CompiledFlag]:
    """Compile the ``flags`` of a flagd document, with its ``$evaluators`` and flag-set ``metadata``.

    Other top-level keys belong to other parts of the daemon and are ignored; a document without
    ``flags`` holds no flags. Raises :class:`ConfigError` listing every problem found.
    """
    data = doc.data
    if not isinstance(data, Mapping):
        raise ConfigError([doc.problem((), "a flag document is a mapping with a 'flags' key")])
    if "flags" not in data:
        return {}
    checker = _Checker(doc)
    flags = checker.document(data)
    checker.raise_problems()
    return flags


def compile_flag_definition(
    key: str, definition: Mapping[str, Any], *, source: str = "admin"
) -> CompiledFlag:
    """Compile one flag written through the admin API, validated like a flag in a file (no line numbers)."""
    checker = _Checker(LocatedDocument(source, {"flags": {key: definition}}))
    flag = checker.flag(key, definition, {}, {})
    checker.cycles({key: flag} if flag else {})
    checker.raise_problems()
    if flag is None:  # unreachable: a flag that fails to compile always leaves a problem
        raise ConfigError([ConfigProblem(source, None, f"flag {key!r} did not compile")])
    return flag


class _Checker:
    def __init__(self, doc: LocatedDocument) -> None:
        self._doc = doc
        self._problems: list[ConfigProblem] = []

    def report(self, path: PathKey, message: str) -> None:
        problem = self._doc.problem(path, message)
        if problem not in self._problems:  # a shared $evaluators rule reports once, not once per flag
            self._problems.append(problem)

    def raise_problems(self) -> None:
        if self._problems:
            raise ConfigError(self._problems)

    def document(self, data: Mapping[str, Any]) -> dict[str, CompiledFlag]:
        set_metadata = self.metadata(data.get("metadata"), ("metadata",))
        evaluators = self.evaluators(data.get("$evaluators"))
        raw_flags = data["flags"]
        if not isinstance(raw_flags, Mapping):
            self.report(("flags",), "'flags' is a mapping from flag key to flag definition")
            return {}
        flags: dict[str, CompiledFlag] = {}
        for key, definition in raw_flags.items():
            flag = self.flag(key, definition, evaluators, set_metadata)
            if flag is not None:
                flags[key] = flag
        self.cycles(flags)
        return flags

    def evaluators(self, raw: Any) -> Mapping[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.report(("$evaluators",), "'$evaluators' is a mapping from name to rule")
            return {}
        for name, rule in raw.items():  # checked once here, even when no flag uses it
            path = ("$evaluators", name)
            if not isinstance(rule, dict) or not rule:
                self.report(path, f"evaluator {name!r} must be a rule object")
            else:
                RuleCompiler("", raw, self.report).compile(rule, path)
        return raw

    def metadata(self, raw: Any, path: PathKey) -> dict[str, Any]:
        """Metadata values are strings, numbers or booleans, as in flagd."""
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            self.report(path, "metadata is a mapping of names to strings, numbers or booleans")
            return {}
        for name, value in raw.items():
            if not _is_metadata_value(value):
                self.report((*path, name), f"metadata {name!r} must be a string, number or boolean")
        if _FLAG_SET_ID in raw and not isinstance(raw[_FLAG_SET_ID], str):
            self.report((*path, _FLAG_SET_ID), "flagSetId must be a string")
        return dict(raw)

    def flag(
        self, key: Any, definition: Any, evaluators: Mapping[str, Any], set_metadata: Mapping[str, Any]
    ) -> CompiledFlag | None:
        path: PathKey = ("flags", key)
        before = len(self._problems)
        if not _is_name(key):
            self.report(path, f"flag key {key!r} must be a non-empty single-line string")
        if not isinstance(definition, Mapping):
            self.report(path, f"flag {key!r} must be a mapping with state, variants and defaultVariant")
            return None
        for name in definition:
            if name not in _FLAG_PROPERTIES:
                expected = ", ".join(_FLAG_PROPERTIES)
                self.report((*path, name), f"unknown flag property {name!r} (expected one of {expected})")
        enabled = self._state(definition, path)
        variants = self._variants(definition.get("variants"), (*path, "variants"))
        default_variant = definition.get("defaultVariant")
        known = isinstance(default_variant, str) and default_variant in variants
        if default_variant is not None and not known:
            message = f"defaultVariant {default_variant!r} is not one of the variants"
            self.report((*path, "defaultVariant"), message)
        metadata = {**set_metadata, **self.metadata(definition.get("metadata"), (*path, "metadata"))}
        targeting = RuleCompiler(str(key), evaluators, self.report).targeting(
            definition.get("targeting"), (*path, "targeting")
        )
        if len(self._problems) > before:
            return None
        written = copy.deepcopy(dict(definition))
        flag_set_id = metadata.get(_FLAG_SET_ID)
        return CompiledFlag(
            key=key,
            enabled=enabled,
            variants=MappingProxyType(written.get("variants", {})),
            default_variant=default_variant,
            targeting=targeting,
            metadata=MappingProxyType(metadata),
            source=self._doc.source,
            flag_set_id=flag_set_id if isinstance(flag_set_id, str) else None,
            definition=MappingProxyType(written),
            # A view shared by the flags of one document; empty for a flag that names none, so that editing
            # a shared rule changes only the flags that use rules.
            evaluators=MappingProxyType(evaluators) if _names_a_rule(written.get("targeting")) else _NONE,
        )

    def _state(self, definition: Mapping[str, Any], path: PathKey) -> bool:
        state = definition.get("state", "ENABLED")  # flagd treats a flag without state as enabled
        if not isinstance(state, str) or state not in _STATES:
            self.report((*path, "state"), f"state must be ENABLED or DISABLED, not {state!r}")
            return False
        return _STATES[state]

    def _variants(self, raw: Any, path: PathKey) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping) or not raw:
            self.report(path, "variants must be a non-empty mapping of variant name to value")
            return {}
        kinds: set[str] = set()
        for name, value in raw.items():
            if not _is_name(name):
                self.report((*path, name), f"variant name {name!r} must be a non-empty single-line string")
            kind = _variant_kind(value)
            if kind is None:
                self.report(
                    (*path, name),
                    f"variant {name!r} must be a boolean, string, number (within ±2^53-1) or object",
                )
            else:
                kinds.add(kind)
        if len(kinds) > 1:
            self.report(path, f"all variants must have one type, found {', '.join(sorted(kinds))}")
        return raw

    def cycles(self, flags: Mapping[str, CompiledFlag]) -> None:
        """Report the cycles of literal ``flag_value`` references among ``flags`` (depth-first, iterative)."""
        graph = {
            key: sorted(dep for dep in flag.targeting.dependencies if dep in flags)
            for key, flag in flags.items()
            if flag.targeting is not None
        }
        finished: set[str] = set()
        for root in sorted(graph):
            if root in finished:
                continue
            trail, pending = [root], [iter(graph[root])]
            while pending:
                following = next(pending[-1], None)
                if following is None:
                    finished.add(trail.pop())
                    pending.pop()
                elif following in trail:
                    cycle = trail[trail.index(following) :]
                    chain = " -> ".join([*cycle, following])
                    message = f"flag_value references form a cycle: {chain}"
                    self.report(("flags", cycle[0], "targeting"), message)
                elif following not in finished:
                    trail.append(following)
                    pending.append(iter(graph.get(following, ())))


def _names_a_rule(rule: Any) -> bool:
    if isinstance(rule, Mapping):
        return "$ref" in rule or any(_names_a_rule(value) for value in rule.values())
    return isinstance(rule, list) and any(_names_a_rule(item) for item in rule)


def _is_name(value: Any) -> bool:
    """flagd's key pattern ``^.{1,}$``: non-empty, without line breaks."""
    return isinstance(value, str) and value != "" and not any(brk in value for brk in _LINE_BREAKS)


def _is_metadata_value(value: Any) -> bool:
    return isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value))


def _variant_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int):
        return "number" if abs(value) <= _MAX_SAFE_INTEGER else None
    if isinstance(value, float):
        return "number" if math.isfinite(value) and abs(value) <= _MAX_SAFE_INTEGER else None
    if isinstance(value, dict):
        return "object"
    return None
