"""flagd's selector: which flags a request or a sync stream sees (``flagSetId=ID``, ``source=NAME``).

flagd accepts one ``key=value`` pair, and a bare value as a source for backward compatibility. A
``flagSetId`` with an empty value selects the flags that belong to no flag set. A source is named as
flagd names its sources: here the file's path as loaded, its path inside the configuration directory,
or ``admin`` for flags written through the admin API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.config.limits import SELECTOR_CHARS
from sidecar.errors import InvalidArgumentError
from sidecar.evaluation.model import CompiledFlag

SELECTOR_HEADER = "flagd-selector"
FLAG_SET_ID = "flagSetId"
SOURCE = "source"


@dataclass(frozen=True, slots=True)
class Selector:
    key: str | None = None
    value: str = ""

    @property
    def metadata(self) -> Mapping[str, Any]:
        """What flagd adds to response metadata for a selection (the selected set or source)."""
        if self.key is None or not self.value:
            return {}
        return {self.key: self.value}

    def admits(self, flag: CompiledFlag, config_dir: Path) -> bool:
        if self.key is None:
            return True
        if self.key == FLAG_SET_ID:
            return (flag.flag_set_id or "") == self.value
        return self.value in _source_names(flag.source, config_dir)

    def select(self, flags: Mapping[str, CompiledFlag], config_dir: Path) -> list[CompiledFlag]:
        """The admitted flags, sorted by key."""
        return [flags[key] for key in sorted(flags) if self.admits(flags[key], config_dir)]


ALL = Selector()


def parse_selector(expression: str) -> Selector:
    """A selector expression as flagd reads it; INVALID_ARGUMENT naming the accepted keys otherwise."""
    SELECTOR_CHARS.check("selector", len(expression))
    if not expression:
        return ALL
    key, sep, value = expression.partition("=")
    if not sep:
        return Selector(SOURCE, expression)
    if key not in (FLAG_SET_ID, SOURCE):
        raise InvalidArgumentError(
            f"invalid selector key {key!r}: expected {FLAG_SET_ID}=ID or {SOURCE}=NAME"
        )
    return Selector(key, value)


def request_selector(metadata: Iterable[tuple[str, Any]] | None, body: str = "") -> Selector:
    """The ``flagd-selector`` header if sent, else the (deprecated) request field, as flagd prefers."""
    for name, value in metadata or ():
        if name == SELECTOR_HEADER:
            return parse_selector(value if isinstance(value, str) else bytes(value).decode(errors="replace"))
    return parse_selector(body)


def _source_names(source: str, config_dir: Path) -> Iterable[str]:
    yield source
    try:
        yield str(Path(source).relative_to(config_dir))
    except ValueError:
        return
