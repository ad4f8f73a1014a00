"""flagd's custom operators ``starts_with``, ``ends_with``, ``sem_ver``, plus our ``flag_value``.

flagd's quirks are kept on purpose: with a non-string argument ``starts_with`` yields null while
``ends_with`` yields false; ``sem_ver`` yields false for anything it cannot parse and, like current flagd,
accepts a number as a version (``1.2`` means ``1.2.0``).

``{"flag_value": "other-flag"}`` is ours: the value ``other-flag`` resolves to for the same request
context, or null when that flag is unknown, disabled, erroring or resolves to no value. The evaluator
bounds how deep such references nest, so a cycle ends in an ERROR resolution, never a RecursionError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sidecar.evaluation.coercion import is_number, number_to_string, to_number
from sidecar.evaluation.model import FlagResolver, Rule
from sidecar.evaluation.rules import Compiled, InvalidRuleError, Operator
from sidecar.evaluation.semver import COMPARATORS, MAX_VERSION_CHARS, Version, parse_version


def _string_test(test: Callable[[str, str], bool], on_invalid: Any) -> Callable[[Sequence[Compiled]], Rule]:
    def build(args: Sequence[Compiled]) -> Rule:
        subject_rule, affix_rule = args[0].rule, args[1].rule

        def string_test(data: Any, resolver: FlagResolver | None) -> Any:
            subject, affix = subject_rule(data, resolver), affix_rule(data, resolver)
            if isinstance(subject, str) and isinstance(affix, str):
                return test(subject, affix)
            return on_invalid

        return string_test

    return build


def _version(value: Any) -> Version | None:
    if isinstance(value, str):
        return parse_version(value) if len(value) <= MAX_VERSION_CHARS else None
    if is_number(value):
        return parse_version(number_to_string(to_number(value)))
    return None


def _sem_ver(args: Sequence[Compiled]) -> Rule:
    version_rule, operator_arg, target_rule = args[0].rule, args[1], args[2].rule
    # A constant operator must be a known one; a list or object literal is no operator at all.
    if operator_arg.constant and not (
        isinstance(operator_arg.value, str) and operator_arg.value in COMPARATORS
    ):
        raise InvalidRuleError(f"sem_ver operator must be one of {', '.join(COMPARATORS)}")
    operator_rule = operator_arg.rule

    def sem_ver(data: Any, resolver: FlagResolver | None) -> bool:
        operator = operator_rule(data, resolver)
        compare = COMPARATORS.get(operator) if isinstance(operator, str) else None
        version = _version(version_rule(data, resolver))
        target = _version(target_rule(data, resolver))
        return compare is not None and version is not None and target is not None and compare(version, target)

    return sem_ver


def _flag_value(args: Sequence[Compiled]) -> Rule:
    key = args[0]
    if key.constant and not isinstance(key.value, str):
        raise InvalidRuleError("flag_value takes the key of another flag")
    key_rule = key.rule

    def flag_value(data: Any, resolver: FlagResolver | None) -> Any:
        other = key_rule(data, resolver)
        return resolver(other) if resolver is not None and isinstance(other, str) else None

    return flag_value


FLAGD_OPERATORS: Mapping[str, Operator] = {
    "starts_with": Operator(_string_test(str.startswith, None), 2, 2),
    "ends_with": Operator(_string_test(str.endswith, False), 2, 2),
    "sem_ver": Operator(_sem_ver, 3, 3),
    "flag_value": Operator(_flag_value, 1, 1, pure=False),
}
