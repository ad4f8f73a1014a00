"""The configuration directory: every ``*.yaml``, ``*.yml`` and ``*.json`` file in it, each kept at its last
good version.

A file that fails to parse or validate is recorded with its problems (file, line, reason) while its last
good version keeps serving. A file that defines a key another file already defines is rejected the same
way, naming both files, so the snapshot never depends on which file happened to load first.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sidecar.config.located import LocatedDocument, parse_bytes, parse_file
from sidecar.errors import ConfigError, ConfigProblem
from sidecar.store.sections import FLAG, KNOWN_TOP_LEVEL_KEYS, SECTIONS

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
# A file must have been quiet this long, and read the same twice, before it is loaded (see read_settled).
SETTLE_SECONDS = 0.1
SETTLE_LIMIT_SECONDS = 1.0
# Budget on one file's flags, beside the byte, depth and node budgets of the parser.
MAX_FLAGS_PER_FILE = 50_000
FLAG_SECTION_KEY = next(section.key for section in SECTIONS if section.kind == FLAG)


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
    flags = doc.data.get(FLAG_SECTION_KEY)
    if isinstance(flags, dict) and len(flags) > MAX_FLAGS_PER_FILE:
        message = f"{len(flags)} flags; at most {MAX_FLAGS_PER_FILE} per file (split it into several files)"
        raise ConfigError([doc.problem((FLAG_SECTION_KEY,), message)])
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
    # The file's newest version as compiled on its own (None: it did not parse or validate).
    latest: SourceContent | None
    problems: tuple[ConfigProblem, ...]
    # What serves: the newest version that compiled and clashed with no earlier file.
    last_good: SourceContent | None = None
    status: SourceStatus | None = None


class ConfigDirectory:
    """Tracks the files of one directory; :meth:`refresh` rescans and reports whether anything changed."""

    def __init__(self, directory: Path, clock: Callable[[], float]) -> None:
        self.directory = directory
        self._now = clock
        self._files: dict[str, _FileState] = {}
        self._was_complete = False
        self.unsettled: tuple[str, ...] = ()

    def refresh(self, *, force: bool = False) -> bool:
        """Rescan; recompile files whose bytes changed (every file when ``force``), then resolve keys that
        two files define. Returns True when anything changed."""
        present, self.unsettled = self._scan()
        changed = False
        for path in [p for p in self._files if p not in present and p not in self.unsettled]:
            del self._files[path]
            changed = True
        for path, raw in sorted(present.items()):
            digest = hashlib.sha256(raw).hexdigest()
            state = self._files.get(path)
            if state is not None and state.digest == digest and not force:
                continue
            self._compile(path, raw, digest, state)
            changed = True
        return self._resolve() or changed

    def contents(self) -> list[SourceContent]:
        return [s.last_good for _, s in sorted(self._files.items()) if s.last_good is not None]

    def statuses(self) -> list[SourceStatus]:
        return [s.status for _, s in sorted(self._files.items()) if s.status is not None]

    def complete(self) -> bool:
        """True once every file had a good version together: a daemon that started on a broken file is not
        ready, while a file broken later degrades (its last good version serves) without unreadying it."""
        self._was_complete = self._was_complete or all(s.last_good is not None for s in self._files.values())
        return self._was_complete

    def owner_of(self, kind: str, key: str) -> str | None:
        for content in self.contents():
            if key in content.of(kind):
                return content.path
        return None

    def _scan(self) -> tuple[dict[str, bytes], tuple[str, ...]]:
        found: dict[str, bytes] = {}
        unsettled: list[str] = []
        if not self.directory.is_dir():
            return found, ()
        for path in self.directory.iterdir():
            if not is_config_file(path):
                continue
            try:
                raw = read_settled(path)
            except OSError:
                continue  # vanished between listing and reading; the next event rescans
            if raw is None:
                unsettled.append(str(path))  # still being written: keep what serves, look again soon
            else:
                found[str(path)] = raw
        return found, tuple(unsettled)

    def _compile(self, path: str, raw: bytes, digest: str, previous: _FileState | None) -> None:
        try:
            latest: SourceContent | None = compile_document(parse_bytes(raw, path))
            problems: tuple[ConfigProblem, ...] = ()
        except ConfigError as exc:
            latest, problems = None, tuple(exc.problems)
        if previous is None:
            self._files[path] = _FileState(digest, latest, problems)
        else:
            previous.digest, previous.latest, previous.problems = digest, latest, problems
            previous.status = None  # checked again: a fresh status with this check's time

    def _resolve(self) -> bool:
        """Decide what each file serves, by one rule at every refresh: what serves keeps serving, and a file's
        newer version replaces its last good one only when it defines no key that another file serves (files
        taken in name order). A version refused for a clash is tried again at every refresh, so the clash
        heals by itself once the other file lets go of the key; no file's edit ever withdraws another's."""
        changed = False
        items = sorted(self._files.items())
        served = {path: state.last_good for path, state in items if state.last_good is not None}
        for path, state in items:
            problems = list(state.problems)
            if state.latest is not None and state.latest is not state.last_good:
                clashes = _clashes(state.latest, [c for p, c in served.items() if p != path])
                if clashes:
                    problems.extend(clashes)
                else:
                    served[path] = state.last_good = state.latest
                    changed = True
            count = state.last_good.count(FLAG) if state.last_good else 0
            old = state.status
            if old is None or (old.problems, old.flag_count) != (tuple(problems), count):
                state.status = SourceStatus(path, not problems, tuple(problems), self._now(), count)
                changed = True
        return changed


def _clashes(content: SourceContent, served: list[SourceContent]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for other in served:
        for kind, entries in content.records.items():
            for key in sorted(entries.keys() & other.of(kind).keys()):
                problems.append(
                    ConfigProblem(
                        content.path,
                        _line_of_key(content, kind, key),
                        f"{kind} {key!r} is already defined in {other.path}",
                    )
                )
    return problems


def read_settled(path: Path) -> bytes | None:
    """The file's bytes once it has stopped changing, or None while it is still being written.

    An editor or ``cp`` rewrites a file in place, and a reader can catch the first half of it, which may well
    parse. So a file modified within the last SETTLE_SECONDS (or stamped in the future: a skewed clock, a
    copied timestamp) is looked at again after that quiet time, and taken only when its size, modification
    time and bytes have not changed meanwhile. Atomic renames (write a temporary file, then rename it over
    the old one) are never seen half-written and are the recommended way to deploy configuration.
    """
    deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
    raw, stamp = path.read_bytes(), _stamp(path)
    while True:
        age = time.time() - stamp[0] / 1e9
        if age >= SETTLE_SECONDS:
            again = path.read_bytes()
            if again == raw:
                return raw
            raw, stamp = again, _stamp(path)
            continue
        wait = SETTLE_SECONDS if age < 0 else SETTLE_SECONDS - age
        if time.monotonic() + wait > deadline:
            return None
        time.sleep(wait)
        again, now_stamp = path.read_bytes(), _stamp(path)
        if again == raw and now_stamp == stamp:
            return raw
        raw, stamp = again, now_stamp


def _stamp(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size


def _line_of_key(content: SourceContent, kind: str, key: str) -> int | None:
    # The compiled objects do not keep lines; re-reading is fine on this rare error path.
    try:
        doc = parse_file(Path(content.path))
    except ConfigError:
        return None
    section = next(s.key for s in SECTIONS if s.kind == kind)
    return doc.line_of((section, key))
