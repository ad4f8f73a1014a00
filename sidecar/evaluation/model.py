"""Value types of flag evaluation: compiled flags and the resolutions they produce."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeAlias

_NO_EVALUATORS: Mapping[str, Any] = MappingProxyType({})

FlagResolver: TypeAlias = Callable[[str], Any]
"""Resolves another flag's value for the request being evaluated (``flag_value``); None when unknown."""

Rule: TypeAlias = Callable[[Any, FlagResolver | None], Any]
"""A compiled JSON Logic expression: ``rule(data, resolver) -> JSON value``."""


class Reason(StrEnum):
    STATIC = "STATIC"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DEFAULT = "DEFAULT"
    DISABLED = "DISABLED"
    ERROR = "ERROR"


class EvalErrorCode(StrEnum):
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    PARSE_ERROR = "PARSE_ERROR"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
    INVALID_CONTEXT = "INVALID_CONTEXT"
    GENERAL = "GENERAL"


@dataclass(frozen=True, slots=True)
class Resolution:
    """The outcome of evaluating one flag; its value is shared with the compiled flag: treat it read-only."""

    flag_key: str
    value: Any
    variant: str | None
    reason: Reason
    metadata: Mapping[str, Any]
    error_code: EvalErrorCode | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Targeting:
    """A flag's compiled targeting rule and what it needs from the evaluator."""

    rule: Rule
    dependencies: frozenset[str]
    """Keys of the flags it reads through ``flag_value`` with a literal key."""
    dynamic_dependencies: bool
    """Whether some ``flag_value`` key is only known at evaluation time."""
    reads: frozenset[str] | None
    """Top-level context keys the rule may read (``$flagd`` included); None when that is not known."""
    iterates: bool = False
    """Whether it holds an operator that runs logic per array item, so its evaluation needs a step budget."""

    @property
    def reads_flags(self) -> bool:
        return self.dynamic_dependencies or bool(self.dependencies)


@dataclass(frozen=True, slots=True)
class CompiledFlag:
    key: str
    enabled: bool
    variants: Mapping[str, Any]
    default_variant: str | None
    targeting: Targeting | None
    """None when the flag has no targeting or an empty ``{}`` rule (reason STATIC)."""
    metadata: Mapping[str, Any]
    """Flag-set metadata overlaid by the flag's own metadata, as flagd returns it."""
    source: str
    flag_set_id: str | None
    definition: Mapping[str, Any]
    """The flag's definition as written (``$ref`` not expanded), for GetFlag round trips."""
    evaluators: Mapping[str, Any] = field(default_factory=lambda: _NO_EVALUATORS)
    """The ``$evaluators`` of the flag's document, which its ``$ref`` names (shared, read-only)."""
