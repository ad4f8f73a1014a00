"""``sem_ver``: Semantic Versioning 2.0.0 precedence with flagd's parsing rules."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.evaluation.semver import parse_version
from tests.unit.evaluation import apply

# (id, version, operator, target, expected)
CASES = [
    ("equal", "1.2.3", "=", "1.2.3", True),
    ("equal-v-prefix-left", "v1.2.3", "=", "1.2.3", True),
    ("equal-v-prefix-right", "1.2.3", "=", "v1.2.3", True),
    ("build-metadata-ignored", "1.2.3+build.5", "=", "1.2.3+other", True),
    ("not-equal", "1.2.3", "!=", "1.2.4", True),
    ("not-equal-same", "1.2.3", "!=", "1.2.3", False),
    ("less-patch", "1.2.3", "<", "1.2.4", True),
    ("less-numeric-not-lexical", "1.10.0", "<", "1.9.0", False),
    ("less-large-numbers", "1234.0.1", "<", "1235.0.2", True),
    ("less-or-equal", "1.2.3", "<=", "1.2.3", True),
    ("greater", "2.0.0", ">", "1.99.99", True),
    ("greater-or-equal", "2.0.0", ">=", "2.0.0", True),
    ("prerelease-below-release", "1.0.0-alpha", "<", "1.0.0", True),
    ("prerelease-not-greater", "1.0.0-preview.1.2", ">", "1.0.0", False),
    ("prerelease-numeric-identifiers", "1.0.0-preview.1.3", ">", "1.0.0-preview.1.2", True),
    ("prerelease-numeric-by-value", "1.0.0-alpha.10", ">", "1.0.0-alpha.9", True),
    ("prerelease-numeric-before-alpha", "1.0.0-alpha.1", "<", "1.0.0-alpha.beta", True),
    ("prerelease-shorter-first", "1.0.0-alpha", "<", "1.0.0-alpha.1", True),
    ("prerelease-lexical", "1.0.0-beta", "<", "1.0.0-rc.1", True),
    ("prerelease-vs-lower-release", "2.0.0-alpha", ">", "1.9.9", True),
    ("caret-same-major", "1.3.4", "^", "1.5.3", True),
    ("caret-other-major", "2.1.1", "^", "1.1.1", False),
    ("tilde-same-minor", "1.3.4", "~", "1.3.1", True),
    ("tilde-other-minor", "2.2.1", "~", "2.1.1", False),
    ("shorthand-major-minor", "1.0", "<", "1.2", True),
    ("shorthand-major", "1", "=", "1.0.0", True),
    ("number-version", 1.2, "=", "1.2", True),
    ("integer-version", 1, "=", "v1.0.0", True),
    ("four-parts-invalid", "2.0.0.0", "=", "2.0.0", False),
    ("leading-zero-invalid", "01.0.0", "=", "1.0.0", False),
    ("prerelease-leading-zero-invalid", "1.0.0-01", "<", "1.0.0", False),
    ("shorthand-with-prerelease-invalid", "1.2-beta", "<", "1.2.0", False),
    ("double-v-invalid", "vv1.0.0", "=", "1.0.0", False),
    ("upper-v-invalid", "V1.0.0", "=", "1.0.0", False),
    ("garbage", "latest", ">", "1.0.0", False),
    ("not-a-string", None, ">", "1.0.0", False),
    ("invalid-target", "1.0.0", "<", "x", False),
    ("trailing-newline", "1.0.0\n", "=", "1.0.0", False),
]


@pytest.mark.parametrize(
    ("version", "operator", "target", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_sem_ver(version: Any, operator: str, target: str, expected: bool) -> None:
    assert apply({"sem_ver": [{"var": "v"}, operator, target]}, {"v": version}) is expected


def test_dynamic_unknown_operator_is_false() -> None:
    assert apply({"sem_ver": ["1.0.0", {"var": "op"}, "1.0.0"]}, {"op": "=>"}) is False


def test_unbounded_numbers_parse() -> None:
    assert parse_version("99999999999999999999.0.0") is not None
