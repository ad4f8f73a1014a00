"""Semantic Versioning 2.0.0 precedence, accepting exactly what flagd's ``sem_ver`` accepts.

flagd prefixes a missing ``v`` and validates with Go's ``golang.org/x/mod/semver``, which also takes the
shorthands ``1`` and ``1.2`` (meaning ``1.0.0`` and ``1.2.0``, without prerelease or build). Numbers are
unbounded, prerelease identifiers order numeric-before-alphanumeric, and build metadata is ignored.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import TypeAlias

_NUMBER = r"(0|[1-9][0-9]*)"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(
    rf"v?{_NUMBER}(?:\.{_NUMBER}(?:\.{_NUMBER}(?:-(?P<pre>{_IDENTIFIERS}))?(?:\+{_IDENTIFIERS})?)?)?"
)

# (major, minor, patch, is_release, prerelease identifiers as (is_alphanumeric, value)); tuples order by
# precedence, so a release sorts after its prereleases and a shorter identifier list before a longer one.
Version: TypeAlias = tuple[int, int, int, bool, tuple[tuple[bool, int | str], ...]]


# Longer strings are not versions anyone writes; callers refuse them before the cache below can hold them.
MAX_VERSION_CHARS = 256


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version | None:
    """The precedence key of ``text`` (at most MAX_VERSION_CHARS long), or None when flagd would reject it."""
    match = _VERSION.fullmatch(text)
    if match is None:
        return None
    major, minor, patch, pre = match.group(1, 2, 3, "pre")
    identifiers: list[tuple[bool, int | str]] = []
    for identifier in pre.split(".") if pre else ():
        if identifier.isdigit():
            if len(identifier) > 1 and identifier[0] == "0":
                return None
            identifiers.append((False, int(identifier)))
        else:
            identifiers.append((True, identifier))
    return (int(major), int(minor or 0), int(patch or 0), pre is None, tuple(identifiers))


def _same_major(version: Version, target: Version) -> bool:
    return version[0] == target[0]


def _same_minor(version: Version, target: Version) -> bool:
    return version[:2] == target[:2]


COMPARATORS: Mapping[str, Callable[[Version, Version], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "^": _same_major,
    "~": _same_minor,
}
"""``sem_ver`` operators: ``version <op> target``; ``^`` matches the major, ``~`` major and minor."""
