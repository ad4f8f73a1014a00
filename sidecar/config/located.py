"""Parse YAML and JSON configuration text into plain data plus the line of every path.

Validation errors must name file and line, so parsing keeps a map from each path (tuple of keys and indexes)
to the 1-based line where that value starts. YAML is read with YAML 1.2 core-schema scalars: ``on``, ``off``,
``yes`` and ``no`` stay strings (flag authors use them as variant names) and dates stay strings (JSON Logic
compares them as text or numbers, never as ``datetime``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from sidecar.errors import ConfigError, ConfigProblem

PathKey: TypeAlias = tuple[str | int, ...]

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKET = re.compile(r"[][{}]")

# Budgets on one file, checked before anything is built, so no file can exhaust memory, time or the stack.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
# Nodes after expanding every YAML alias: a 500-byte file of nested anchors would otherwise be gigabytes.
MAX_NODES = 500_000


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no implicit timestamps."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True, slots=True)
class LocatedDocument:
    source: str
    data: Any
    lines: Mapping[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """Line of ``path``, or of its nearest located ancestor."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def problem(self, path: PathKey, message: str) -> ConfigProblem:
        return ConfigProblem(self.source, self.line_of(path), message)


def parse_file(path: Path) -> LocatedDocument:
    """Parse a ``.yaml``, ``.yml`` or ``.json`` file; raise :class:`ConfigError` naming file and line."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem(source, None, f"cannot read file: {exc.strerror}")]) from exc
    return parse_bytes(raw, source)


def parse_bytes(raw: bytes, source: str) -> LocatedDocument:
    """Parse a file's bytes already read, in the format its name says."""
    return parse_text(raw, source, "json" if source.endswith(".json") else "yaml")


def parse_text(raw: bytes | str, source: str, fmt: str) -> LocatedDocument:
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ConfigError([ConfigProblem(source, None, f"larger than {MAX_DOCUMENT_BYTES} bytes")])
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        message = f"not UTF-8: {exc.reason} at byte {exc.start}"
        raise ConfigError([ConfigProblem(source, line, message)]) from exc
    if not text.strip():
        # A half-written or truncated file is a failed load, never "no flags".
        raise ConfigError([ConfigProblem(source, 1, "file is empty")])
    if fmt == "json":
        return _parse_json(text, source)
    return _parse_yaml(text, source)


def _parse_json(text: str, source: str) -> LocatedDocument:
    _check_json_depth(text, source)

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise _DuplicateKeyError(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ConfigError([ConfigProblem(source, exc.lineno, f"invalid JSON: {exc.msg}")]) from exc
    except _DuplicateKeyError as exc:
        line = _first_line_containing(text, json.dumps(exc.key))
        raise ConfigError([ConfigProblem(source, line, f"duplicate key {exc.key!r}")]) from exc
    # JSON is YAML's flow syntax, so the YAML composer recovers line numbers for each path.
    try:
        lines = _lines_from_yaml(text, source)
    except (yaml.YAMLError, ConfigError):
        lines = {}
    return LocatedDocument(source, data, lines)


def _parse_yaml(text: str, source: str) -> LocatedDocument:
    try:
        _check_yaml_budget(text, source)
        loader = _Yaml12Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                raise ConfigError([ConfigProblem(source, 1, "file is empty")])
            lines: dict[PathKey, int] = {}
            _check_and_locate(node, (), lines, source)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([ConfigProblem(source, line, f"invalid YAML: {reason}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(source, None, f"invalid YAML: {exc}")]) from exc
    return LocatedDocument(source, data, lines)


def _check_json_depth(text: str, source: str) -> None:
    """Refuse nesting beyond MAX_DEPTH before the recursive decoder can overflow the stack."""
    # Strings may hold brackets; JSON strings hold no raw newline, so line numbers survive the blanking.
    bare = _JSON_STRING.sub('""', text)
    depth = 0
    for match in _JSON_BRACKET.finditer(bare):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            line = bare.count("\n", 0, match.start()) + 1
            raise ConfigError([ConfigProblem(source, line, f"nested deeper than {MAX_DEPTH} levels")])


def _check_yaml_budget(text: str, source: str) -> None:
    """Walk the event stream (iterative, no node built) counting depth and values with aliases expanded."""
    sizes: dict[str, int] = {}  # anchor -> values it stands for, so an alias costs what it expands to
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, values so far)
    expanded = 0
    for event in yaml.parse(text, Loader=_Yaml12Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            expanded += 1
            stack.append((event.anchor, 1))
            if len(stack) > MAX_DEPTH:
                line = _line_of(event)
                raise ConfigError([ConfigProblem(source, line, f"nested deeper than {MAX_DEPTH} levels")])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, count = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, count = event.anchor, 1
            expanded += 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, count = None, sizes.get(str(event.anchor), 1)
            expanded += count
        else:
            continue
        if anchor is not None:
            sizes[anchor] = count
        if stack:
            stack[-1] = (stack[-1][0], stack[-1][1] + count)
        if expanded > MAX_NODES:
            line = _line_of(event)
            message = f"more than {MAX_NODES} values once YAML aliases are expanded"
            raise ConfigError([ConfigProblem(source, line, message)])


def _line_of(event: yaml.Event) -> int | None:
    return event.start_mark.line + 1 if event.start_mark is not None else None


def _lines_from_yaml(text: str, source: str) -> dict[PathKey, int]:
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    if node is not None:
        _check_and_locate(node, (), lines, source)
    return lines


def _check_and_locate(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], source: str) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    [ConfigProblem(source, line, f"duplicate key {key!r} (first at line {seen[key]})")]
                )
            seen[key] = line
            _check_and_locate(value_node, (*path, key), lines, source)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_and_locate(item, (*path, index), lines, source)


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _first_line_containing(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1
