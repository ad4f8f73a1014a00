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
from sidecar.store.sections import FLAG, KNOWN_TOP_LEVEL_KEYS, SECTIONS

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class SourceContent:
    """What one configuration file contributes, fully compiled: record kind -> key -> compiled record."""

    path: str
    records: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def of(self, kind: str) -> Mapping[str, object]:
        return self.records.get(kind, {})

    def count(self, kind: str) -> int:
        return len(self.of(kind))


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
        names = ", ".join(repr(section.key) for section in SECTIONS)
        raise ConfigError([doc.problem((), f"the top level must be a mapping with any of {names}")])
    for key in doc.data:
        if key not in KNOWN_TOP_LEVEL_KEYS:
            problems.append(doc.problem((key,), f"unknown top-level key {key!r}"))
    records: dict[str, Mapping[str, object]] = {}
    for section in SECTIONS:
        try:
            records[section.kind] = section.compile_document(doc)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return SourceContent(doc.source, records)


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
            if key in content.of(kind):
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
            count = last_good.count(FLAG) if last_good else 0
            status = SourceStatus(path, False, tuple(exc.problems), self._now(), count)
            self._files[path] = _FileState(digest, status, last_good)
            return
        status = SourceStatus(path, True, (), self._now(), content.count(FLAG))
        self._files[path] = _FileState(digest, status, content)

    def _check_conflicts(self, content: SourceContent) -> None:
        problems: list[ConfigProblem] = []
        for other in self.contents():
            if other.path == content.path:
                continue
            for kind, entries in content.records.items():
                for key in sorted(entries.keys() & other.of(kind).keys()):
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
    section = next(s.key for s in SECTIONS if s.kind == kind)
    return doc.line_of((section, key))
