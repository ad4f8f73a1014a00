"""The one grammar of keys: rollouts, experiments, alert rules, phases and admin-written flags.

Keys end up in URLs, metric labels, audit targets and log lines, so they are short and plain. Flags read
from files follow flagd's looser rule (any non-empty single line, checked by the flag parser) so that flagd
configurations load unchanged; requests are therefore only bounded by :data:`MAX_KEY_LENGTH` (the request
limit ``key.chars`` in :mod:`sidecar.config.limits`), never matched against the pattern, and an unknown key of
any shape answers NOT_FOUND.
"""

from __future__ import annotations

import re
from typing import TypeGuard

from sidecar.errors import InvalidArgumentError

MAX_KEY_LENGTH = 256
KEY_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{MAX_KEY_LENGTH - 1}}}")
KEY_RULE = f"1–{MAX_KEY_LENGTH} letters, digits, '.', '_' or '-', starting alphanumeric"


def is_key(raw: object) -> TypeGuard[str]:
    """Whether ``raw`` is a string in the key grammar (the whole string: no trailing newline)."""
    return isinstance(raw, str) and KEY_PATTERN.fullmatch(raw) is not None


def check_key(kind: str, key: str) -> None:
    """Refuse a key that is not in the grammar, naming its kind (admin writes and deletes)."""
    if not is_key(key):
        raise InvalidArgumentError(f"{kind} key {key!r} is invalid: must be {KEY_RULE}")
