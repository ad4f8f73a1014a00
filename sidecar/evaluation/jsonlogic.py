"""Compile flagd targeting rules (JSON Logic) into nested Python closures, once, at load time.

Per request nothing walks the JSON tree: every operator has already been resolved to a closure, ``var``
paths are pre-split, literal string lists are sets, and operations on constants are folded. ``$ref``
names a shared rule under ``$evaluators`` and is inlined here. Every rule object holds exactly one
operator; unknown operators, wrong argument counts, ``$ref`` to nothing, nesting deeper than
:data:`MAX_RULE_DEPTH` and rules larger than :data:`MAX_RULE_NODES` are reported as problems located by
path (for line numbers). Operators only compute on JSON values, so no rule can run arbitrary code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sidecar.config.located import PathKey
from sidecar.evaluation.flagd_operators import FLAGD_OPERATORS
from sidecar.evaluation.fractional import compile_fractional
from sidecar.evaluation.model import Targeting
from sidecar.evaluation.operators import STANDARD_OPERATORS
from sidecar.evaluation.rules import NULL, Compiled, InvalidRuleError, Operator, constant
from sidecar.evaluation.variables import split_path

MAX_RULE_DEPTH = 64
MAX_RULE_NODES = 50_000

OPERATORS: Mapping[str, Operator] = {**STANDARD_OPERATORS, **FLAGD_OPERATORS}
# Operators that run logic once per array item: the only ones whose cost a request's data can multiply.
ITERATING = frozenset({"map", "filter", "all", "none", "some", "reduce"})
_FRACTIONAL = "fractional"
_FLAG_VALUE = "flag_value"

Reporter = Callable[[PathKey, str], None]


class RuleCompiler:
    """Compiles the rules of one flag; problems go to ``report`` and compilation carries on past them."""

    def __init__(self, flag_key: str, evaluators: Mapping[str, Any], report: Reporter) -> None:
        self._flag_key = flag_key
        self._evaluators = evaluators
        self._report = report
        self._depth = 0
        self._nodes = 0
        self._limit_reported = False
        self._refs: list[str] = []
        self._dependencies: set[str] = set()
        self._dynamic_dependencies = False
        self._reads: set[str] | None = set()
        self._iterates = False

    @property
    def flag_key(self) -> str:
        return self._flag_key

    def report(self, path: PathKey, message: str) -> None:
        self._report(path, message)

    def note_read(self, key: str) -> None:
        if self._reads is not None:
            self._reads.add(key)

    def targeting(self, node: Any, path: PathKey) -> Targeting | None:
        """Compile a flag's ``targeting``; None when there is none (absent, null or ``{}``)."""
        if node is None or node == {}:
            return None
        if not isinstance(node, dict):
            self.report(path, 'targeting must be a rule object such as {"if": [...]}')
            return None
        rule = self.compile(node, path).rule
        reads = None if self._reads is None else frozenset(self._reads)
        dependencies = frozenset(self._dependencies)
        return Targeting(rule, dependencies, self._dynamic_dependencies, reads, self._iterates)

    def compile(self, node: Any, path: PathKey) -> Compiled:
        self._nodes += 1
        if self._nodes > MAX_RULE_NODES or self._depth >= MAX_RULE_DEPTH:
            if not self._limit_reported:
                self._limit_reported = True
                self.report(
                    path, f"rule is too large (over {MAX_RULE_NODES} nodes or {MAX_RULE_DEPTH} levels deep)"
                )
            return NULL
        self._depth += 1
        try:
            if isinstance(node, dict):
                return self._operation(node, path)
            if isinstance(node, list):
                return self._array(node, path)
            if node is None or isinstance(node, str | bool | int | float):
                return constant(node)
            self.report(path, f"unsupported value of type {type(node).__name__} in a rule")
            return NULL
        finally:
            self._depth -= 1

    def _array(self, items: list[Any], path: PathKey) -> Compiled:
        compiled = [self.compile(item, (*path, index)) for index, item in enumerate(items)]
        if all(item.constant for item in compiled):
            return constant([item.value for item in compiled])
        rules = tuple(item.rule for item in compiled)
        return Compiled(lambda data, resolver: [rule(data, resolver) for rule in rules])

    def _operation(self, node: dict[str, Any], path: PathKey) -> Compiled:
        if len(node) != 1:
            keys = ", ".join(repr(key) for key in node) or "none"
            self.report(path, f"a rule object holds exactly one operator (found {keys})")
            return NULL
        ((name, raw),) = node.items()
        op_path = (*path, name)
        if name == "$ref":
            return self._reference(raw, op_path)
        if name == _FRACTIONAL:
            return compile_fractional(self, raw if isinstance(raw, list) else [raw], op_path)
        if isinstance(raw, list):
            return self._call(name, [(arg, (*op_path, index)) for index, arg in enumerate(raw)], op_path)
        return self._call(name, [(raw, op_path)], op_path)

    def _call(self, name: str, args: list[tuple[Any, PathKey]], path: PathKey) -> Compiled:
        operator = OPERATORS.get(name)
        if operator is None:
            self.report(path, f"unknown operator {name!r}")
            return NULL
        if not self._arity_ok(name, operator, len(args), path):
            return NULL
        compiled = [self.compile(arg, arg_path) for arg, arg_path in args]
        self._iterates = self._iterates or name in ITERATING
        if name == _FLAG_VALUE:
            self._note_dependency(compiled[0])
        elif name in ("var", "missing", "missing_some"):
            self._note_paths(_path_arguments(name, compiled))
        try:
            rule = operator.build(compiled)
        except InvalidRuleError as exc:
            self.report(path, str(exc))
            return NULL
        if operator.pure and all(arg.constant for arg in compiled):
            return constant(rule(None, None))
        return Compiled(rule)

    def _arity_ok(self, name: str, operator: Operator, count: int, path: PathKey) -> bool:
        low, high = operator.min_args, operator.max_args
        if low <= count and (high is None or count <= high):
            return True
        expected = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        self.report(path, f"{name!r} takes {expected} argument{'s' if expected != '1' else ''}, got {count}")
        return False

    def _note_dependency(self, key: Compiled) -> None:
        if key.constant and isinstance(key.value, str):
            self._dependencies.add(key.value)
        elif not key.constant:
            self._dynamic_dependencies = True

    def _note_paths(self, paths: list[Any] | None) -> None:
        """Record the top-level keys that ``paths`` start with; unknown paths may read anything."""
        for path in paths if paths is not None else [None]:
            segments = split_path(path) if isinstance(path, str | int) else None
            if segments is None:
                self._reads = None
                return
            self.note_read(segments[0][0])

    def _reference(self, name: Any, path: PathKey) -> Compiled:
        if not isinstance(name, str) or name not in self._evaluators:
            self.report(path, f"$ref names no evaluator under $evaluators: {name!r}")
            return NULL
        if name in self._refs:
            cycle = " -> ".join([*self._refs[self._refs.index(name) :], name])
            self.report(path, f"$evaluators reference each other in a cycle: {cycle}")
            return NULL
        self._refs.append(name)
        try:
            return self.compile(self._evaluators[name], ("$evaluators", name))
        finally:
            self._refs.pop()


def _path_arguments(name: str, args: list[Compiled]) -> list[Any] | None:
    """The paths a ``var``, ``missing`` or ``missing_some`` reads (as json-logic-js picks them), or None."""
    if name == "var":
        chosen = args[:1] or [NULL]  # no path: the whole data
    elif name == "missing":
        chosen = args[:1] if args and isinstance(args[0].value, list) else args
    else:
        chosen = args[1:2]
    if not all(arg.constant for arg in chosen):
        return None
    if name != "var" and len(chosen) == 1 and isinstance(chosen[0].value, list):
        return list(chosen[0].value)
    return [arg.value for arg in chosen]
