"""The configuration directory: every ``*.yaml``, ``*.yml`` and ``*.json`` file in it, each kept at its last
good version.

A file that fails to parse or validate is recorded with its problems (file, line, reason) while its last
good version keeps serving. A file that defines a key another file already defines is rejected the same
way, naming both files, so the snapshot never depends on which file happened to load first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.config.located import LocatedDocument, parse_file
from sidecar.errors import ConfigError, ConfigProblem
from sidecar.evaluation.flags import compile_flags
from sidecar.evaluation.model import CompiledFlag
from sidecar.rollout.model import RolloutDefinition
from sidecar.rollout.parse import parse_rollouts

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
KNOWN_SECTIONS = frozenset({"$schema", "flags", "$evaluators", "metadata", "rollouts"})


@dataclass(frozen=True, slots=True)
class SourceContent:
    """What one configuration file contributes, fully compiled."""

    path: str
    flags: Mapping[str, CompiledFlag] = field(default_factory=dict)
    rollouts: Mapping[str, RolloutDefinition] = field(default_factory=dict)

    def keys(self) -> dict[str, frozenset[str]]:
        return {"flag": frozenset(self.flags), "rollout": frozenset(self.rollouts)}


@dataclass(frozen=True, slots=True)
class SourceStatus:
    path: str
    ok: bool
    problems: tuple[ConfigProblem, ...]
    checked_at: float
    flag_count: int


def compile_document(doc: LocatedDocument) -> SourceContent:
    """Compile every section of one document, reporting the problems of all sections together."""
    problems: list[ConfigProblem] = []
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [doc.problem((), "the top level must be a mapping with a 'flags' or 'rollouts' key")]
        )
    for key in doc.data:
        if key not in KNOWN_SECTIONS:
            problems.append(doc.problem((key,), f"unknown top-level key {key!r}"))
    flags: dict[str, CompiledFlag] = {}
    rollouts: dict[str, RolloutDefinition] = {}
    try:
        flags = compile_flags(doc)
    except ConfigError as exc:
        problems.extend(exc.problems)
    try:
        rollouts = parse_rollouts(doc)
    except ConfigError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return SourceContent(doc.source, flags, rollouts)


def is_config_file(path: Path) -> bool:
    # Editors' swap and backup files (.#x, x~, .x.swp) are not configuration.
    name = path.name
    return path.suffix in CONFIG_SUFFIXES and not name.startswith(".") and path.is_file()


@dataclass(slots=True)
class _FileState:
    digest: str
    status: SourceStatus
    last_good: SourceContent | None


class ConfigDirectory:
    """Tracks the files of one directory; :meth:`refresh` rescans and reports whether anything changed."""

    def __init__(self, directory: Path, clock: Callable[[], float]) -> None:
        self.directory = directory
        self._now = clock
        self._files: dict[str, _FileState] = {}

    def refresh(self) -> bool:
        """Rescan the directory; recompile files whose bytes changed. Returns True when anything changed."""
        present = self._scan()
        changed = False
        for path in [p for p in self._files if p not in present]:
            del self._files[path]
            changed = True
        for path, raw in sorted(present.items()):
            digest = hashlib.sha256(raw).hexdigest()
            state = self._files.get(path)
            if state is not None and state.digest == digest:
                continue
            self._load(path, digest, state)
            changed = True
        return changed

    def contents(self) -> list[SourceContent]:
        return [s.last_good for _, s in sorted(self._files.items()) if s.last_good is not None]

    def statuses(self) -> list[SourceStatus]:
        return [s.status for _, s in sorted(self._files.items())]

    def complete(self) -> bool:
        """True when every file has a good version: a daemon that started on a broken file is not ready."""
        return all(s.last_good is not None for s in self._files.values())

    def owner_of(self, kind: str, key: str) -> str | None:
        for content in self.contents():
            if key in content.keys()[kind]:
                return content.path
        return None

    def _scan(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        if not self.directory.is_dir():
            return found
        for path in self.directory.iterdir():
            if not is_config_file(path):
                continue
            try:
                found[str(path)] = path.read_bytes()
            except OSError:
                continue  # vanished between listing and reading; the next event rescans
        return found

    def _load(self, path: str, digest: str, previous: _FileState | None) -> None:
        last_good = previous.last_good if previous else None
        try:
            content = compile_document(parse_file(Path(path)))
            self._check_conflicts(content)
        except ConfigError as exc:
            count = len(last_good.flags) if last_good else 0
            status = SourceStatus(path, False, tuple(exc.problems), self._now(), count)
            self._files[path] = _FileState(digest, status, last_good)
            return
        status = SourceStatus(path, True, (), self._now(), len(content.flags))
        self._files[path] = _FileState(digest, status, content)

    def _check_conflicts(self, content: SourceContent) -> None:
        problems: list[ConfigProblem] = []
        for other in self.contents():
            if other.path == content.path:
                continue
            for kind, keys in content.keys().items():
                for key in sorted(keys & other.keys()[kind]):
                    problems.append(
                        ConfigProblem(
                            content.path,
                            _line_of_key(content, kind, key),
                            f"{kind} {key!r} is already defined in {other.path}",
                        )
                    )
        if problems:
            raise ConfigError(problems)


def _line_of_key(content: SourceContent, kind: str, key: str) -> int | None:
    # The compiled objects do not keep lines; re-reading is fine on this rare error path.
    try:
        doc = parse_file(Path(content.path))
    except ConfigError:
        return None
    section = "flags" if kind == "flag" else "rollouts"
    return doc.line_of((section, key))
