"""Owns the current snapshot: rebuilds it when files or the database change and swaps it atomically.

Readers take ``store.snapshot`` (one attribute read) and never lock. Writers (file events, admin writes,
another process editing the database) serialise on one asyncio lock; a failed rebuild leaves the old
snapshot in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import watchfiles

from sidecar.clock import Clock
from sidecar.config.keys import check_key
from sidecar.errors import FailedPreconditionError, NotFoundError, StorageError, UnavailableError
from sidecar.hlc import HybridLogicalClock, Timestamp
from sidecar.store.database import AuditDraft, BatchWrite, StateDatabase, StoredRecord
from sidecar.store.record_batch import Change, RecordDraft, check_drafts, plan_batch
from sidecar.store.sections import FLAG, WRITABLE
from sidecar.store.snapshot import (
    DatabaseLoad,
    Snapshot,
    build_snapshot,
    changed_flag_keys,
    compile_database,
)
from sidecar.store.sources import ConfigDirectory, SourceContent, SourceStatus
from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)

DB_POLL_SECONDS = 0.2
DIRECTORY_POLL_SECONDS = 10.0
SUBSCRIBER_QUEUE = 64


@dataclass(frozen=True, slots=True)
class ConfigEvent:
    revision: int
    changed_keys: tuple[str, ...]


class ConfigStore:
    def __init__(
        self,
        config_dir: Path,
        database: StateDatabase,
        hlc: HybridLogicalClock,
        clock: Clock,
        static_context: Mapping[str, Any],
    ) -> None:
        self._directory = ConfigDirectory(config_dir, clock.now)
        self._db = database
        self._hlc = hlc
        self._clock = clock
        self._static_context = dict(static_context)
        self._lock = asyncio.Lock()
        self._revision = database.last_revision()
        self._database_load: DatabaseLoad | None = None
        self._snapshot: Snapshot | None = None
        self._subscribers: set[asyncio.Queue[ConfigEvent]] = set()
        self._data_version = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._reload_listeners: list[Callable[[bool], None]] = []
        self._snapshot_listeners: list[Callable[[Snapshot], None]] = []

    # -- reading ---------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    @property
    def config_dir(self) -> Path:
        return self._directory.directory

    def require_snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise UnavailableError("no configuration has loaded yet")
        return snapshot

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        # Later local writes must order after every stored version, even if this host's clock went back.
        if latest := await asyncio.to_thread(self._db.max_record_version):
            self._hlc.observe(Timestamp.decode(latest))
        await self.reload(force=True)
        self._tasks = [
            asyncio.create_task(self._watch_directory(), name="config-watch"),
            asyncio.create_task(self._poll(), name="config-poll"),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await cancel_and_wait(*self._tasks)

    def add_reload_listener(self, listener: Callable[[bool], None]) -> None:
        """Called after every reload with whether every source is loaded cleanly (metrics, alerts)."""
        self._reload_listeners.append(listener)

    def add_snapshot_listener(self, listener: Callable[[Snapshot], None]) -> None:
        """Called with every new snapshot once it serves (on the event loop; must be quick)."""
        self._snapshot_listeners.append(listener)

    def subscribe(self) -> asyncio.Queue[ConfigEvent]:
        queue: asyncio.Queue[ConfigEvent] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ConfigEvent]) -> None:
        self._subscribers.discard(queue)

    # -- reloading -------------------------------------------------------------------------------------

    async def reload(self, *, force: bool = False) -> bool:
        """Rescan files and database; swap in a new snapshot when anything changed."""
        async with self._lock:
            # Forced (SIGHUP, start) re-reads every file but keeps each one's last good version.
            files_changed = await asyncio.to_thread(self._directory.refresh, force=force)
            db_changed = await self._reload_database_locked(force)
            if not (files_changed or db_changed or self._snapshot is None):
                return False
            await self._swap_locked()
            ok = self._snapshot is not None and all(status.ok for status in self._snapshot.sources)
            for listener in self._reload_listeners:
                listener(ok)
            return True

    async def reload_database(self) -> None:
        """Rebuild from the database now, e.g. after peer sync wrote to it through this process's connection
        (whose own commits ``PRAGMA data_version`` does not report)."""
        async with self._lock:
            await self._reload_database_locked(force=True)
            await self._swap_locked()

    async def _reload_database_locked(self, force: bool) -> bool:
        version = await asyncio.to_thread(self._db.data_version)
        if not force and self._database_load is not None and version == self._data_version:
            return False
        self._data_version = version
        stored = {kind: await asyncio.to_thread(self._db.live_records, kind) for kind in WRITABLE}
        # Compiling every stored rule takes long for large ones: in a worker thread, off the event loop.
        self._database_load = await asyncio.to_thread(compile_database, stored, self._clock.now())
        return True

    async def _swap_locked(self) -> None:
        assert self._database_load is not None  # loaded before the first swap
        previous = self._snapshot
        # Building thousands of flags' evaluator and comparing them with the last snapshot's takes tens of
        # milliseconds: in a worker thread (the inputs are taken here, under the lock).
        snapshot, changed = await asyncio.to_thread(
            _next_snapshot,
            previous,
            self._revision + 1,
            self._directory.contents(),
            self._directory.statuses(),
            self._directory.complete(),
            self._database_load,
            self._static_context,
        )
        if (
            previous is not None
            and not changed
            and previous.sources == snapshot.sources
            and _without_flags(previous.records) == _without_flags(snapshot.records)
        ):
            return
        self._revision = snapshot.revision
        self._snapshot = snapshot
        for listener in self._snapshot_listeners:
            listener(snapshot)
        # Files still serve on a full disk, and an admin write that got here is already stored; only the
        # revision counter is not remembered then (the ``storage`` problem says why).
        with contextlib.suppress(StorageError):
            await asyncio.to_thread(self._db.save_revision, snapshot.revision)
        _log_problem_changes(previous.sources if previous else (), snapshot.sources)
        log.info(
            "configuration revision %d: %d flags, %d changed",
            snapshot.revision,
            len(snapshot.flags),
            len(changed),
        )
        self._publish(ConfigEvent(snapshot.revision, tuple(changed)))

    def _publish(self, event: ConfigEvent) -> None:
        for queue in self._subscribers:
            if queue.full():
                # A slow watcher gets one coalesced event rather than unbounded memory.
                keys: set[str] = set(event.changed_keys)
                while not queue.empty():
                    keys.update(queue.get_nowait().changed_keys)
                event = ConfigEvent(event.revision, tuple(sorted(keys)))
            queue.put_nowait(event)

    async def _watch_directory(self) -> None:
        directory = self._directory.directory
        async for _changes in watchfiles.awatch(
            directory, stop_event=self._stop, debounce=50, step=20, recursive=True, force_polling=False
        ):
            try:
                await self.reload()
            except Exception:
                log.exception("reload after file change failed")

    async def _poll(self) -> None:
        # The database is polled cheaply (PRAGMA data_version) for edits by other processes; the directory
        # is rescanned now and then in case a file event was missed.
        elapsed = 0.0
        while True:
            await asyncio.sleep(DB_POLL_SECONDS)
            elapsed += DB_POLL_SECONDS
            try:
                # A file still being written when last read is looked at again at the next poll.
                if elapsed >= DIRECTORY_POLL_SECONDS or self._directory.unsettled:
                    elapsed = 0.0
                    await self.reload()
                elif await asyncio.to_thread(self._db.data_version) != self._data_version:
                    await self.reload()
            except Exception:
                log.exception("periodic reload failed")

    # -- admin writes ----------------------------------------------------------------------------------

    async def put_record(
        self, kind: str, key: str, definition: Mapping[str, Any], actor: str, reason: str
    ) -> tuple[StoredRecord, int]:
        """Validate like a file, refuse file-owned keys, store durably, then serve it in a new snapshot."""
        check_key(kind, key)
        # Raises ConfigError (INVALID_ARGUMENT) with the reasons; a large rule compiles for long.
        await asyncio.to_thread(WRITABLE[kind], key, definition)
        async with self._lock:
            self._refuse_file_owned(kind, key)
            draft = AuditDraft(self._clock.now(), actor, f"{kind}.put", key, reason)
            stored, _ = await asyncio.to_thread(
                self._db.put_record, kind, key, dict(definition), self._hlc, draft
            )
            await self._reload_database_locked(force=True)
            await self._swap_locked()
            return stored, self._revision

    async def delete_record(self, kind: str, key: str, actor: str, reason: str) -> int:
        check_key(kind, key)
        async with self._lock:
            self._refuse_file_owned(kind, key)
            draft = AuditDraft(self._clock.now(), actor, f"{kind}.delete", key, reason)
            deleted = await asyncio.to_thread(self._db.delete_record, kind, key, self._hlc, draft)
            if deleted is None:
                raise NotFoundError(f"no {kind} {key!r} is stored in the database")
            await self._reload_database_locked(force=True)
            await self._swap_locked()
            return self._revision

    async def import_records(
        self, drafts: Sequence[RecordDraft], actor: str, reason: str, *, replace: bool, dry_run: bool
    ) -> tuple[Counter[Change], int]:
        """Validate and plan the whole batch, then write all of it in one transaction (or, with ``dry_run``,
        nothing); returns how many records each change got and the revision that serves them."""
        check_drafts(drafts)
        async with self._lock:
            stored = {kind: await asyncio.to_thread(self._db.live_records, kind) for kind in WRITABLE}
            plan = plan_batch(drafts, stored, self._directory.owner_of, replace=replace)
            counts = Counter(write.change for write in plan)
            writes = [
                BatchWrite(
                    w.draft.kind,
                    w.draft.key,
                    dict(w.draft.definition),
                    w.expected_version,
                    AuditDraft(self._clock.now(), actor, f"{w.draft.kind}.import", w.draft.key, reason),
                )
                for w in plan
                if w.change is not Change.UNCHANGED
            ]
            if writes and not dry_run:
                await asyncio.to_thread(self._db.put_batch, writes, self._hlc)
                await self._reload_database_locked(force=True)
                await self._swap_locked()
            return counts, self._revision

    async def served_records(self) -> tuple[list[tuple[str, StoredRecord]], list[str], int]:
        """The database records the current snapshot serves, by kind and key, the ones it does not (each
        with why), and the snapshot's revision."""
        async with self._lock:
            snapshot = self.require_snapshot()
            served: list[tuple[str, StoredRecord]] = []
            skipped: list[str] = []
            for kind in sorted(WRITABLE):
                stored = await asyncio.to_thread(self._db.live_records, kind)
                for key, record in sorted(stored.items()):
                    owner = self._directory.owner_of(kind, key)
                    if owner is not None:
                        skipped.append(f"{kind} {key!r} is shadowed by {owner}")
                    elif f"{kind}/{key}" not in snapshot.db_versions:
                        skipped.append(f"{kind} {key!r} is not valid (see the database source's errors)")
                    else:
                        served.append((kind, record))
            return served, skipped, snapshot.revision

    def _refuse_file_owned(self, kind: str, key: str) -> None:
        owner = self._directory.owner_of(kind, key)
        if owner is not None:
            raise FailedPreconditionError(f"{kind} {key!r} is defined in {owner}; edit that file instead")


def _log_problem_changes(before: Sequence[SourceStatus], after: Sequence[SourceStatus]) -> None:
    """Log each problem once, when it appears (not at every later rebuild), and a source that loads again."""
    known = {(status.path, problem) for status in before for problem in status.problems}
    failing = {status.path for status in before if not status.ok}
    for status in after:
        for problem in status.problems:
            if (status.path, problem) not in known:
                fields = {"file": problem.source, "line": problem.line, "reason": problem.message}
                log.error("configuration rejected: %s", problem, extra=fields)
        if status.ok and status.path in failing:
            log.info("configuration source %s loads again", status.path, extra={"file": status.path})


def _next_snapshot(
    previous: Snapshot | None,
    revision: int,
    files: list[SourceContent],
    statuses: list[SourceStatus],
    complete: bool,
    database: DatabaseLoad,
    static_context: Mapping[str, Any],
) -> tuple[Snapshot, list[str]]:
    snapshot = build_snapshot(revision, files, statuses, complete, database, static_context)
    return snapshot, changed_flag_keys(previous, snapshot)


def _without_flags(records: Mapping[str, Mapping[str, object]]) -> dict[str, Mapping[str, object]]:
    # Compiled flags hold closures (equal only to themselves); flags are compared by definition instead.
    return {kind: entries for kind, entries in records.items() if kind != FLAG}
