"""Reading a configuration section, collecting every problem (each located) instead of stopping at the first.

Shared by the rollout, experiment and alert parsers so that their messages read alike:
``rollouts.api.phases[0].minDurtion: unknown field 'minDurtion' (did you mean 'minDuration'?)``.
Checkers passed to :meth:`ProblemCollector.value` raise ``ValueError`` with a message completing
"<path>: ...".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sidecar.config.keys import KEY_RULE, is_key
from sidecar.config.located import LocatedDocument, PathKey
from sidecar.errors import ConfigError, ConfigProblem

# The experiment parser still reads the key grammar under these names; sidecar.config.keys owns it.


@dataclass
class ProblemCollector:
    doc: LocatedDocument
    problems: list[ConfigProblem] = field(default_factory=list)

    def report(self, path: PathKey, message: str) -> None:
        where = display_path(path)
        self.problems.append(self.doc.problem(path, f"{where}: {message}" if where else message))

    def raise_problems(self) -> None:
        if self.problems:
            raise ConfigError(sorted(self.problems, key=lambda problem: problem.line or 0))

    def mapping(self, path: PathKey, raw: object, allowed: Collection[str]) -> Mapping[str, Any] | None:
        """``raw`` as a mapping of ``allowed`` keys (others reported with a suggestion); None if not one."""
        if not isinstance(raw, Mapping):
            self.report(path, "must be a mapping")
            return None
        for name in raw:
            if name not in allowed:
                close = difflib.get_close_matches(str(name), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; known fields: {', '.join(allowed)}"
                self.report((*path, str(name)), f"unknown field {name!r}{hint}")
        return raw

    def value(
        self, path: PathKey, data: Mapping[str, Any], name: str, check: Callable[[Any], Any], default: Any
    ) -> Any:
        """``check(data[name])``, or ``default`` when absent or invalid (the problem is recorded)."""
        if name not in data:
            return default
        try:
            return check(data[name])
        except ValueError as exc:
            self.report((*path, name), str(exc))
            return default


def display_path(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"must be a number, got {raw!r}")
    return float(raw)


def text(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string")
    return raw.strip()


def key_name(raw: object) -> str:
    """A checker for a name in the key grammar (phase and step names)."""
    if not is_key(raw):
        raise ValueError(f"must be {KEY_RULE}, got {raw!r}")
    return raw
