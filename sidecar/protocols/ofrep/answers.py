"""A resolution of the evaluation core as OFREP answers it, and the bulk answer's entity tag.

OFREP carries no flag type (the provider checks the JSON value against what it asked for), so the answer
is the resolution as it is: ``{key, value, variant, reason, metadata}``. A flag without a value to serve
(DISABLED, or DEFAULT without a default variant) answers without ``value`` and ``variant``: OFREP's
"code default", and the application uses its own. Errors are ``{key, errorCode, errorDetails}``: 404 for
FLAG_NOT_FOUND, 500 for GENERAL (a rule that failed is the server's fault, not the request's), 400 for the
rest. Metadata is the flag's (merged with its flag set's) plus what a selector adds, as flagd sends it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sidecar.evaluation.model import Reason, Resolution
from sidecar.protocols.ofrep.request import FLAG_NOT_FOUND, GENERAL

STATUS = {FLAG_NOT_FOUND: 404, GENERAL: 500}
BAD_REQUEST = 400


def answer(resolution: Resolution, scope: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status and body of one flag's evaluation."""
    key = resolution.flag_key
    metadata = {**scope, **resolution.metadata}
    if resolution.error_code is not None:
        code = resolution.error_code.value
        details = resolution.error_message or f"flag {key!r} failed"
        body: dict[str, Any] = {"key": key, "errorCode": code, "errorDetails": details}
        if metadata:
            body["metadata"] = metadata
        return STATUS.get(code, BAD_REQUEST), body
    body = {"key": key, "reason": resolution.reason.value, "metadata": metadata}
    if resolution.variant is not None and resolution.reason not in (Reason.DISABLED, Reason.ERROR):
        body["value"] = resolution.value
        body["variant"] = resolution.variant
    return 200, body


def encode(body: Mapping[str, Any]) -> bytes:
    """The JSON of an answer; sorted keys, so that equal answers are equal bytes (and equal tags)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entity_tag(encoded: bytes) -> str:
    """A strong tag of the bulk answer's bytes: it changes exactly when the answer would."""
    return '"' + hashlib.blake2b(encoded, digest_size=12).hexdigest() + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (weak comparison, as RFC 9110 has it for this header)."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    candidates = (part.strip() for part in if_none_match.split(","))
    return any(candidate == "*" or candidate.removeprefix("W/") == wanted for candidate in candidates)
