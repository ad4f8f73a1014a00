"""AdminService: authenticated flag writes, status and audit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import grpc

import sidecar
from sidecar.config.limits import LIST_ENTRIES, REASON_CHARS, RECORDS_PER_CALL, check_request_key
from sidecar.errors import InvalidArgumentError, NotFoundError
from sidecar.evaluation.model import CompiledFlag
from sidecar.server.auth import AdminAuth
from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import AuditRecord, StateDatabase, StoredRecord
from sidecar.store.record_batch import Change, RecordDraft
from sidecar.store.sections import FLAG
from sidecar.v1 import admin_pb2, admin_pb2_grpc


def flag_message(flag: CompiledFlag, version: str = "") -> admin_pb2.Flag:
    return admin_pb2.Flag(
        key=flag.key, definition=to_struct(flag.definition), source=flag.source, version=version
    )


def stored_flag_message(stored: StoredRecord) -> admin_pb2.Flag:
    return admin_pb2.Flag(
        key=stored.key, definition=to_struct(stored.definition), source="admin", version=stored.version
    )


def audit_message(record: AuditRecord) -> admin_pb2.AuditEntry:
    entry = admin_pb2.AuditEntry(
        id=record.id,
        timestamp=record.ts,
        actor=record.actor,
        action=record.action,
        target=record.target,
        reason=record.reason,
        version=record.version,
    )
    if record.before is not None:
        entry.before.CopyFrom(to_struct(record.before))
    if record.after is not None:
        entry.after.CopyFrom(to_struct(record.after))
    return entry


def check_reason(reason: str) -> str:
    REASON_CHARS.check("reason", len(reason))
    return reason


class SyncStatusSource(Protocol):
    """What GetStatus shows of peer sync (implemented by :class:`sidecar.sync.service.SyncService`)."""

    def peer_messages(self) -> list[admin_pb2.PeerStatus]: ...

    def digest(self) -> str: ...


class AdminServicer(admin_pb2_grpc.AdminServiceServicer):
    def __init__(
        self,
        store: ConfigStore,
        database: StateDatabase,
        auth: AdminAuth,
        node_id: str,
        environment: str,
        started_at: float,
        sync: SyncStatusSource | None = None,
        health_problems: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._store = store
        self._db = database
        self._auth = auth
        self._node_id = node_id
        self._environment = environment
        self._health_problems = health_problems
        self._started_at = started_at
        self._sync = sync

    async def PutFlag(
        self, request: admin_pb2.PutFlagRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.PutFlagResponse:
        actor = self._auth.authorize(context)
        check_request_key("flag_key", request.flag_key)
        if not request.HasField("definition"):
            raise InvalidArgumentError("definition is required")
        reason = check_reason(request.reason)
        # A definition of megabytes takes tens of milliseconds to convert either way: off the event loop.
        definition = await asyncio.to_thread(struct_to_dict, request.definition)
        stored, revision = await self._store.put_record(FLAG, request.flag_key, definition, actor, reason)
        flag = await asyncio.to_thread(stored_flag_message, stored)
        return admin_pb2.PutFlagResponse(flag=flag, revision=revision)

    async def DeleteFlag(
        self, request: admin_pb2.DeleteFlagRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.DeleteFlagResponse:
        actor = self._auth.authorize(context)
        check_request_key("flag_key", request.flag_key)
        revision = await self._store.delete_record(
            FLAG, request.flag_key, actor, check_reason(request.reason)
        )
        return admin_pb2.DeleteFlagResponse(revision=revision)

    async def GetFlag(
        self, request: admin_pb2.GetFlagRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.GetFlagResponse:
        self._auth.authorize(context)
        check_request_key("flag_key", request.flag_key)
        snapshot = self._store.require_snapshot()
        flag = snapshot.flags.get(request.flag_key)
        if flag is None:
            raise NotFoundError(f"flag {request.flag_key!r} does not exist")
        return admin_pb2.GetFlagResponse(
            flag=flag_message(flag, snapshot.db_versions.get(f"{FLAG}/{flag.key}", ""))
        )

    async def ListFlags(
        self, request: admin_pb2.ListFlagsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.ListFlagsResponse:
        self._auth.authorize(context)
        snapshot = self._store.require_snapshot()
        flags = [
            flag_message(f, snapshot.db_versions.get(f"{FLAG}/{k}", ""))
            for k, f in sorted(snapshot.flags.items())
        ]
        return admin_pb2.ListFlagsResponse(flags=flags, revision=snapshot.revision)

    async def GetStatus(
        self, request: admin_pb2.GetStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.GetStatusResponse:
        self._auth.authorize(context)
        snapshot = self._store.snapshot
        response = admin_pb2.GetStatusResponse(
            uptime_seconds=time.monotonic() - self._started_at,
            node_id=self._node_id,
            environment=self._environment,
            version=sidecar.__version__,
            health_problems=self._health_problems(),
        )
        if self._sync is not None:
            response.peers.extend(self._sync.peer_messages())
            response.sync_digest = self._sync.digest()
        if snapshot is not None:
            response.revision = snapshot.revision
            response.flag_count = len(snapshot.flags)
            response.serving = snapshot.complete
            response.rollout_count = len(snapshot.rollouts)
            for status in snapshot.sources:
                response.sources.append(
                    admin_pb2.SourceStatus(
                        path=status.path,
                        ok=status.ok,
                        errors=[str(p) for p in status.problems],
                        checked_at=status.checked_at,
                        flag_count=status.flag_count,
                    )
                )
        return response

    async def ListAudit(
        self, request: admin_pb2.ListAuditRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.ListAuditResponse:
        self._auth.authorize(context)
        limit = request.limit or 100
        LIST_ENTRIES.check("limit", limit)
        records = await asyncio.to_thread(self._db.list_audit, limit, request.target or None)
        return admin_pb2.ListAuditResponse(entries=[audit_message(r) for r in records])

    async def ExportRecords(
        self, request: admin_pb2.ExportRecordsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.ExportRecordsResponse:
        self._auth.authorize(context)
        served, skipped, revision = await self._store.served_records()
        records = [
            admin_pb2.AdminRecord(kind=kind, key=r.key, definition=to_struct(r.definition), version=r.version)
            for kind, r in served
        ]
        return admin_pb2.ExportRecordsResponse(
            records=records,
            revision=revision,
            node_id=self._node_id,
            environment=self._environment,
            skipped=skipped,
        )

    async def ImportRecords(
        self, request: admin_pb2.ImportRecordsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> admin_pb2.ImportRecordsResponse:
        actor = self._auth.authorize(context)
        RECORDS_PER_CALL.check("records", len(request.records))
        drafts = []
        for record in request.records:
            check_request_key("key", record.key)
            drafts.append(
                RecordDraft(record.kind, record.key, struct_to_dict(record.definition), record.origin)
            )
        counts, revision = await self._store.import_records(
            drafts, actor, check_reason(request.reason), replace=request.replace, dry_run=request.dry_run
        )
        return admin_pb2.ImportRecordsResponse(
            created=counts[Change.CREATED],
            replaced=counts[Change.REPLACED],
            unchanged=counts[Change.UNCHANGED],
            revision=revision,
        )
