"""Admin-written records as configuration files, and configuration files as admin-written records.

``sidecar export`` renders the records a daemon serves from its database into one file per section
(``flags.yaml``, ``rollouts.yaml``) in exactly the format the config directory loads, so the result passes
``sidecar validate`` and can become another host's config directory. ``sidecar import`` reads such a
directory back into records: each file is validated as the config directory would validate it (every problem
with its file and line), then turned into self-contained definitions an admin write accepts (``$ref`` to
``$evaluators`` inlined, flag-set ``metadata`` merged into each flag, as the file would have served them).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sidecar.config.located import LocatedDocument, parse_file
from sidecar.config.render import comment_block, render_yaml
from sidecar.errors import ConfigError, ConfigProblem
from sidecar.store.record_batch import RecordDraft, draft_problems
from sidecar.store.sections import FLAG, SECTIONS
from sidecar.store.sources import CONFIG_SUFFIXES, compile_document, is_config_file

PORTABLE = tuple(section for section in SECTIONS if section.compile_record is not None)
_EVALUATORS = "$evaluators"
_SET_METADATA = "metadata"
_REF = "$ref"
# Fields in the order the documentation writes them (flags, rollouts, phases); other keys follow, sorted.
_FIELD_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "description",
            "state",
            "variants",
            "defaultVariant",
            "targeting",
            "stickiness",
            "minLatencySamples",
            "name",
            "percent",
            "minDuration",
            "minSamples",
            "maxDuration",
            "gates",
            "phases",
            "rollbackTriggers",
            "breaker",
            "metadata",
        )
    )
}


def export_documents(
    records: Sequence[tuple[str, str, Mapping[str, Any]]], header: Sequence[str]
) -> dict[str, str]:
    """File name -> YAML text for ``(kind, key, definition)`` records: one file per section, empty ones too
    (a file left from an earlier export must not keep serving what the daemon no longer holds)."""
    files: dict[str, str] = {}
    for section in PORTABLE:
        entries = {key: _ordered(definition) for kind, key, definition in records if kind == section.kind}
        counted = f"{len(entries)} {section.key}, as written through the admin API."
        body = render_yaml({section.key: entries})
        files[f"{section.key}.yaml"] = comment_block([*header, counted]) + body
    return files


def _ordered(value: Any) -> Any:
    """The same data with mapping keys in a stable, readable order (a stored definition keeps none)."""
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda name: (_FIELD_ORDER.get(name, len(_FIELD_ORDER)), name))
        return {name: _ordered(value[name]) for name in keys}
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


def read_import_directory(directory: Path) -> list[RecordDraft]:
    """Every flag and rollout of the directory's files, in file and key order, ready for one batch write.

    Raises :class:`ConfigError` listing every problem (file and line): a file that does not load, a section
    the admin API cannot write, a key two files define, a key or definition an admin write refuses.
    """
    if not directory.is_dir():
        raise ConfigError([ConfigProblem(str(directory), None, "is not a directory")])
    paths = sorted(path for path in directory.iterdir() if is_config_file(path))
    if not paths:
        suffixes = ", ".join(CONFIG_SUFFIXES)
        raise ConfigError([ConfigProblem(str(directory), None, f"holds no {suffixes} files")])
    problems: list[ConfigProblem] = []
    drafts: list[RecordDraft] = []
    for path in paths:
        try:
            doc = parse_file(path)
            compile_document(doc)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        file_drafts, file_problems = _drafts_of(doc)
        drafts.extend(file_drafts)
        problems.extend(file_problems)
    problems.extend(draft_problems(drafts))
    if problems:
        raise ConfigError(problems)
    return drafts


def _drafts_of(doc: LocatedDocument) -> tuple[list[RecordDraft], list[ConfigProblem]]:
    drafts: list[RecordDraft] = []
    problems: list[ConfigProblem] = []
    portable = " and ".join(s.key for s in PORTABLE)
    for section in SECTIONS:
        entries = doc.data.get(section.key) or {}
        if section.compile_record is None:
            if entries:
                message = (
                    f"{section.key} cannot be imported (only {portable} are written through the admin API);"
                    " put this file in the daemon's config directory instead"
                )
                problems.append(doc.problem((section.key,), message))
            continue
        for key, definition in entries.items():
            portable_definition = _portable_flag(definition, doc.data) if section.kind == FLAG else definition
            line = doc.line_of((section.key, key))
            drafts.append(RecordDraft(section.kind, key, portable_definition, f"{doc.source}:{line}"))
    return drafts, problems


def _portable_flag(definition: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    flag = dict(definition)
    evaluators = document.get(_EVALUATORS) or {}
    if evaluators and "targeting" in flag:
        flag["targeting"] = _inline(flag["targeting"], evaluators)
    set_metadata = document.get(_SET_METADATA)
    if set_metadata:
        flag["metadata"] = {**set_metadata, **(flag.get("metadata") or {})}
    return flag


def _inline(rule: Any, evaluators: Mapping[str, Any]) -> Any:
    # The file compiled, so every $ref names an evaluator and none refers back to itself.
    if isinstance(rule, dict):
        if len(rule) == 1 and _REF in rule:
            return _inline(evaluators[rule[_REF]], evaluators)
        return {name: _inline(value, evaluators) for name, value in rule.items()}
    if isinstance(rule, list):
        return [_inline(item, evaluators) for item in rule]
    return rule


def write_new_files(directory: Path, files: Mapping[str, str], *, force: bool, mode: int) -> list[Path]:
    """Write ``files`` into ``directory`` (created if missing), each atomically, so that a watching daemon
    never reads half a file. Refuses, before writing any, when one exists and ``force`` is not set."""
    targets = [directory / name for name in files]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise FileExistsError(f"{', '.join(existing)} already {verb}; add --force to replace them")
    directory.mkdir(parents=True, exist_ok=True)
    for target, text in zip(targets, files.values(), strict=True):
        # A dot-name: the config directory ignores it until the rename makes it whole.
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(partial, mode)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return targets
