"""The immutable, fully compiled configuration snapshot that request handlers read without locking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.errors import ConfigError, ConfigProblem
from sidecar.evaluation.evaluator import Evaluator
from sidecar.evaluation.model import CompiledFlag
from sidecar.rollout.model import RolloutDefinition
from sidecar.store.database import StoredRecord
from sidecar.store.kinds import FLAG, KINDS, ROLLOUT
from sidecar.store.sources import SourceContent, SourceStatus

DATABASE_SOURCE = "database"
ADMIN_SOURCE = "admin"


@dataclass(frozen=True, slots=True)
class Snapshot:
    revision: int
    evaluator: Evaluator
    rollouts: Mapping[str, RolloutDefinition]
    sources: tuple[SourceStatus, ...]
    # Every file has a good version; until then the daemon reports NOT_SERVING.
    complete: bool
    # Versions of database records, keyed "kind/key".
    db_versions: Mapping[str, str]

    @property
    def flags(self) -> Mapping[str, CompiledFlag]:
        return self.evaluator.flags


@dataclass(frozen=True, slots=True)
class DatabaseLoad:
    """Database records compiled, plus the problems of any that no longer compile."""

    flags: Mapping[str, CompiledFlag]
    rollouts: Mapping[str, RolloutDefinition]
    versions: Mapping[str, str]
    status: SourceStatus


def compile_database(stored: Mapping[str, Mapping[str, StoredRecord]], now: float) -> DatabaseLoad:
    compiled: dict[str, dict[str, object]] = {}
    versions: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for kind in KINDS.values():
        compiled[kind.name] = {}
        for key, record in sorted(stored.get(kind.name, {}).items()):
            try:
                compiled[kind.name][key] = kind.compile(key, record.definition)
            except ConfigError as exc:
                # Another process may have written something invalid; skip that record, keep the rest.
                problems.extend(
                    ConfigProblem(DATABASE_SOURCE, None, f"{kind.name} {key!r}: {p.message}")
                    for p in exc.problems
                )
                continue
            versions[f"{kind.name}/{key}"] = record.version
    flags: dict[str, CompiledFlag] = {k: v for k, v in compiled[FLAG].items() if isinstance(v, CompiledFlag)}
    rollouts = {k: v for k, v in compiled[ROLLOUT].items() if isinstance(v, RolloutDefinition)}
    status = SourceStatus(DATABASE_SOURCE, not problems, tuple(problems), now, len(flags))
    return DatabaseLoad(flags, rollouts, versions, status)


def build_snapshot(
    revision: int,
    files: list[SourceContent],
    file_statuses: list[SourceStatus],
    files_complete: bool,
    database: DatabaseLoad,
    static_context: Mapping[str, object],
) -> Snapshot:
    """Merge file and database records; a file-owned key shadows a database record of the same key."""
    flags: dict[str, CompiledFlag] = dict(database.flags)
    rollouts: dict[str, RolloutDefinition] = dict(database.rollouts)
    for content in files:
        flags.update(content.flags)
        rollouts.update(content.rollouts)
    return Snapshot(
        revision=revision,
        evaluator=Evaluator(flags, static_context),
        rollouts=rollouts,
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
        if before[k].definition != after[k].definition or before[k].source != after[k].source
    )
    return sorted(changed)
