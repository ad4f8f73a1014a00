"""Tests of the pure evaluation core; helpers shared by its modules."""

from __future__ import annotations

import json
from typing import Any

from sidecar.config.located import parse_text
from sidecar.errors import ConfigError
from sidecar.evaluation.evaluator import Evaluator
from sidecar.evaluation.flags import compile_flags
from sidecar.evaluation.jsonlogic import RuleCompiler
from sidecar.evaluation.model import CompiledFlag

NOW = 1_760_000_000.25
BOOLEAN = {"on": True, "off": False}


def flag(
    targeting: Any = None, *, variants: Any = None, default: Any = "off", **extra: Any
) -> dict[str, Any]:
    """A flag definition: on/off variants, default "off", and the given targeting."""
    definition: dict[str, Any] = {
        "state": "ENABLED",
        "variants": BOOLEAN if variants is None else variants,
        "defaultVariant": default,
        **extra,
    }
    if targeting is not None:
        definition["targeting"] = targeting
    return definition


def compile_document(flags: dict[str, Any], **top_level: Any) -> dict[str, CompiledFlag]:
    text = json.dumps({"flags": flags, **top_level}, indent=2)
    return compile_flags(parse_text(text, "flags.json", "json"))


def evaluator(flags: dict[str, Any], static_context: dict[str, Any] | None = None, **top: Any) -> Evaluator:
    return Evaluator(compile_document(flags, **top), static_context)


def apply(rule: Any, data: Any = None) -> Any:
    """Compile a JSON Logic rule on its own and run it on ``data`` (as json-logic-js ``apply``)."""
    problems: list[str] = []
    compiled = RuleCompiler("flag", {}, lambda _path, message: problems.append(message)).compile(rule, ())
    assert not problems, problems
    return compiled.rule(data, None)


def problems_of(flags: dict[str, Any], **top_level: Any) -> list[tuple[int | None, str]]:
    """The (line, message) problems a document is rejected with."""
    try:
        compile_document(flags, **top_level)
    except ConfigError as exc:
        return [(problem.line, problem.message) for problem in exc.problems]
    raise AssertionError("document compiled without problems")
