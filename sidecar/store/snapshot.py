"""The immutable, fully compiled configuration snapshot that request handlers read without locking."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sidecar.errors import ConfigError, ConfigProblem
from sidecar.evaluation.evaluator import Evaluator
from sidecar.evaluation.flags import compile_flag_definition
from sidecar.evaluation.model import CompiledFlag
from sidecar.rollout.model import RolloutDefinition
from sidecar.store.database import StoredFlag
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
    db_versions: Mapping[str, str]

    @property
    def flags(self) -> Mapping[str, CompiledFlag]:
        return self.evaluator.flags


@dataclass(frozen=True, slots=True)
class DatabaseLoad:
    """Database flags compiled, plus the problems of any that no longer compile."""

    flags: Mapping[str, CompiledFlag]
    versions: Mapping[str, str]
    status: SourceStatus


def compile_database_flags(stored: Mapping[str, StoredFlag], now: float) -> DatabaseLoad:
    flags: dict[str, CompiledFlag] = {}
    problems: list[ConfigProblem] = []
    for key, record in sorted(stored.items()):
        try:
            flags[key] = compile_flag_definition(key, record.definition, source=ADMIN_SOURCE)
        except ConfigError as exc:
            # Another process may have written something invalid; skip that flag, keep the rest.
            problems.extend(ConfigProblem(DATABASE_SOURCE, None, f"flag {key!r}: {p.message}") for p in exc.problems)
    status = SourceStatus(DATABASE_SOURCE, not problems, tuple(problems), now, len(flags))
    return DatabaseLoad(flags, {k: stored[k].version for k in flags}, status)


def build_snapshot(
    revision: int,
    files: list[SourceContent],
    file_statuses: list[SourceStatus],
    files_complete: bool,
    database: DatabaseLoad,
    static_context: Mapping[str, object],
) -> Snapshot:
    """Merge file and database flags; a file-owned key shadows a database flag of the same key."""
    flags: dict[str, CompiledFlag] = dict(database.flags)
    rollouts: dict[str, RolloutDefinition] = {}
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
    changed = {k for k in before.keys() ^ after.keys()}
    changed.update(
        k for k in before.keys() & after.keys()
        if before[k].definition != after[k].definition or before[k].source != after[k].source
    )
    return sorted(changed)
