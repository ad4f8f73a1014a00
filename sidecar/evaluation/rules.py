"""Compile-time building blocks shared by the JSON Logic compiler and its operators."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sidecar.config.located import PathKey
from sidecar.evaluation.model import FlagResolver, Rule


@dataclass(frozen=True, slots=True)
class Compiled:
    """A compiled expression; ``constant`` ones carry their ``value`` so operators can fold or precompute."""

    rule: Rule
    constant: bool = False
    value: Any = None


def constant(value: Any) -> Compiled:
    def rule(_data: Any, _resolver: FlagResolver | None) -> Any:
        return value

    return Compiled(rule, True, value)


NULL = constant(None)


class InvalidRuleError(Exception):
    """Raised by an operator builder for arguments no evaluation could make sense of."""


@dataclass(frozen=True, slots=True)
class Operator:
    build: Callable[[Sequence[Compiled]], Rule]
    min_args: int
    max_args: int | None
    pure: bool = True
    """The result depends on the arguments alone, so an operation on constants folds at load time."""


class SubCompiler(Protocol):
    """What operators with their own argument grammar (``fractional``) need from the compiler."""

    @property
    def flag_key(self) -> str: ...

    def compile(self, node: Any, path: PathKey) -> Compiled: ...

    def report(self, path: PathKey, message: str) -> None: ...

    def note_read(self, key: str) -> None:
        """Record that the rule reads the top-level context key ``key``."""
