"""The immutable, fully compiled configuration snapshot that request handlers read without locking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sidecar.errors import ConfigError, ConfigProblem
from sidecar.evaluation.evaluator import Evaluator
from sidecar.evaluation.model import CompiledFlag
from sidecar.rollout.model import RolloutDefinition
from sidecar.store.database import StoredRecord
from sidecar.store.sections import FLAG, ROLLOUT, WRITABLE
from sidecar.store.sources import SourceContent, SourceStatus

DATABASE_SOURCE = "database"


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    evaluator: Evaluator
    # Every compiled record by kind ("flag", "rollout", ...) and key; files shadow database records.
    records: Mapping[str, Mapping[str, object]]
    # The "rollout" records, typed: read on every Route call.
    rollouts: Mapping[str, RolloutDefinition]
    sources: tuple[SourceStatus, ...]
    # Every file has a good version; until then the daemon reports NOT_SERVING.
    complete: bool
    # Versions of database records, keyed "kind/key".
    db_versions: Mapping[str, str]

    @property
    def flags(self) -> Mapping[str, CompiledFlag]:
        return self.evaluator.flags

    def section(self, kind: str) -> Mapping[str, object]:
        """The records of one kind, e.g. ``snapshot.section("experiment")``."""
        return self.records.get(kind, {})


@dataclass(frozen=True, slots=True)
class DatabaseLoad:
    """Database records compiled, plus the problems of any that no longer compile."""

    records: Mapping[str, Mapping[str, object]]
    versions: Mapping[str, str]
    status: SourceStatus


def compile_database(stored: Mapping[str, Mapping[str, StoredRecord]], now: float) -> DatabaseLoad:
    records: dict[str, dict[str, object]] = {}
    versions: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for kind, compile_record in WRITABLE.items():
        records[kind] = {}
        for key, record in sorted(stored.get(kind, {}).items()):
            try:
                records[kind][key] = compile_record(key, record.definition)
            except ConfigError as exc:
                # Another process may have written something invalid; skip that record, keep the rest.
                problems.extend(
                    ConfigProblem(DATABASE_SOURCE, None, f"{kind} {key!r}: {p.message}") for p in exc.problems
                )
                continue
            versions[f"{kind}/{key}"] = record.version
    status = SourceStatus(DATABASE_SOURCE, not problems, tuple(problems), now, len(records.get(FLAG, {})))
    return DatabaseLoad(records, versions, status)


def build_snapshot(
    revision: int,
    files: list[SourceContent],
    file_statuses: list[SourceStatus],
    files_complete: bool,
    database: DatabaseLoad,
    static_context: Mapping[str, Any],
) -> Snapshot:
    """Merge file and database records; a file-owned key shadows a database record of the same key."""
    records: dict[str, dict[str, object]] = {
        kind: dict(entries) for kind, entries in database.records.items()
    }
    for content in files:
        for kind, entries in content.records.items():
            records.setdefault(kind, {}).update(entries)
    flags = cast("dict[str, CompiledFlag]", records.get(FLAG, {}))
    return Snapshot(
        revision=revision,
        evaluator=Evaluator(flags, static_context),
        records=records,
        rollouts=cast("dict[str, RolloutDefinition]", records.get(ROLLOUT, {})),
        sources=(*file_statuses, database.status),
        complete=files_complete,
        db_versions=dict(database.versions),
    )


def changed_flag_keys(old: Snapshot | None, new: Snapshot) -> list[str]:
    """Keys added, removed or redefined between two snapshots."""
    if old is None:
        return sorted(new.flags)
    before, after = old.flags, new.flags
    changed = set(before.keys() ^ after.keys())
    changed.update(
        k
        for k in before.keys() & after.keys()
        if before[k].definition != after[k].definition
        or before[k].source != after[k].source
        or before[k].evaluators != after[k].evaluators  # a shared rule it names was edited
    )
    return sorted(changed)
