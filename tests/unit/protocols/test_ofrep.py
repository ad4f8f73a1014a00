"""OFREP's pure pieces: reading a body into a context, answering a resolution, comparing entity tags."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.evaluation.model import EvalErrorCode, Reason, Resolution
from sidecar.protocols.ofrep.answers import answer, encode, entity_tag, matches
from sidecar.protocols.ofrep.request import OfrepError, parse_context


def test_a_context_reads_as_a_grpc_one_does() -> None:
    body = b'{"context": {"targetingKey": "u1", "n": 3.0, "x": 0.5, "tags": ["a", {"b": true}]}}'
    assert parse_context(body) == {"targetingKey": "u1", "n": 3, "x": 0.5, "tags": ["a", {"b": True}]}
    assert isinstance(parse_context(body)["n"], int)  # integral numbers are ints, as flagd formats them
    assert parse_context(b"") == {}
    assert parse_context(b"{}") == {}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b'{"context": {"n": 1e400}}', "finite", id="infinite"),
        pytest.param(b'{"context": {"n": Infinity}}', "not JSON", id="infinity-literal"),
        pytest.param(b'{"context": {"n": ' + b"9" * 5000 + b"}}", "not JSON", id="huge-integer"),
        pytest.param(b'{"context": {"a": [[[[[[[[1]]]]]]]]}}', "context.depth", id="deep-list"),
        pytest.param(b'{"context": null}', "context must be", id="null-context"),
    ],
)
def test_bad_contexts_are_invalid_context(body: bytes, words: str) -> None:
    with pytest.raises(OfrepError) as refused:
        parse_context(body)
    assert (refused.value.status, refused.value.code) == (400, "INVALID_CONTEXT")
    assert words in refused.value.details


def resolution(**fields: Any) -> Resolution:
    base: dict[str, Any] = {
        "flag_key": "f",
        "value": True,
        "variant": "on",
        "reason": Reason.STATIC,
        "metadata": {"owner": "ann"},
    }
    return Resolution(**{**base, **fields})


def test_answers_by_outcome() -> None:
    served = {"key": "f", "value": True, "variant": "on", "reason": "STATIC"}
    assert answer(resolution(), {"flagSetId": "s"}) == (
        200,
        {**served, "metadata": {"flagSetId": "s", "owner": "ann"}},
    )
    disabled = answer(resolution(value=None, variant=None, reason=Reason.DISABLED), {})
    assert disabled == (200, {"key": "f", "reason": "DISABLED", "metadata": {"owner": "ann"}})
    failed = resolution(reason=Reason.ERROR, error_code=EvalErrorCode.GENERAL, error_message="over budget")
    assert answer(failed, {})[0] == 500
    assert answer(failed, {})[1]["errorDetails"] == "over budget"
    missing = resolution(
        value=None, variant=None, reason=Reason.ERROR, error_code=EvalErrorCode.FLAG_NOT_FOUND
    )
    assert answer(missing, {})[0] == 404
    parse = resolution(reason=Reason.ERROR, error_code=EvalErrorCode.PARSE_ERROR, error_message="bad")
    assert answer(parse, {})[0] == 400


def test_entity_tags_follow_the_bytes_and_compare_weakly() -> None:
    tag = entity_tag(encode({"flags": [], "metadata": {}}))
    assert tag == entity_tag(encode({"metadata": {}, "flags": []}))  # key order does not matter
    assert tag != entity_tag(encode({"flags": [{"key": "a"}], "metadata": {}}))
    assert matches(tag, tag)
    assert matches(f'"other", W/{tag}', tag)
    assert matches("*", tag)
    assert not matches(None, tag)
    assert not matches('"other"', tag)
