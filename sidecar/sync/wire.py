"""Conversions between merge entries and their protobuf form, and the hashes of a replica's sections."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from sidecar.alerts.acks import Acknowledgement
from sidecar.rollout.model import Version
from sidecar.store.codec import encode
from sidecar.sync.replica import (
    AuditEntry,
    BucketDigest,
    BucketEntry,
    BucketGroup,
    BucketSlot,
    RecordEntry,
    RolloutStateEntry,
    canonical_json,
)
from sidecar.sync.store import counts_from_json, state_from_json, state_to_json
from sidecar.v1 import sync_pb2 as pb


def _hash(lines: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]


def records_hash(records: Iterable[RecordEntry]) -> str:
    return _hash(sorted(f"{r.kind}\x1f{r.key}\x1f{r.version}\x1f{int(r.deleted)}" for r in records))


def states_hash(states: Iterable[RolloutStateEntry]) -> str:
    return _hash(sorted(f"{s.key}\x1f{s.version}\x1f{s.canonical()}" for s in states))


def fingerprint(entry: BucketEntry) -> str:
    return hashlib.sha256(canonical_json(encode(entry.counts)).encode()).hexdigest()[:16]


def group_hash(buckets: Mapping[BucketSlot, BucketDigest]) -> str:
    return _hash(
        f"{start}\x1f{version}\x1f{req}\x1f{fp}" for (start, version), (req, fp) in sorted(buckets.items())
    )


def ids_hash(ids: Iterable[str]) -> str:
    """Hash of a set of ids (audit entries of an hour, alert acknowledgements)."""
    return _hash(sorted(ids))


def entry_count(message: pb.SyncEntries) -> int:
    return sum(len(m) for m in (message.records, message.states, message.buckets, message.audit)) + len(
        message.alert_acks
    )


# -- entries -------------------------------------------------------------------------------------------


def group_message(group: BucketGroup) -> pb.BucketGroup:
    return pb.BucketGroup(rollout_key=group[0], generation=group[1], node_id=group[2])


def group_of(message: pb.BucketGroup) -> BucketGroup:
    return (message.rollout_key, message.generation, message.node_id)


def record_message(entry: RecordEntry) -> pb.SyncRecord:
    return pb.SyncRecord(
        kind=entry.kind,
        key=entry.key,
        definition_json=entry.definition or "",
        deleted=entry.deleted,
        version=entry.version,
    )


def record_entry(message: pb.SyncRecord) -> RecordEntry:
    definition = None if message.deleted else canonical_json(json.loads(message.definition_json))
    return RecordEntry(message.kind, message.key, definition, message.version)


def state_message(entry: RolloutStateEntry) -> pb.SyncRolloutState:
    return pb.SyncRolloutState(
        rollout_key=entry.key, state_json=state_to_json(entry.state), version=entry.version
    )


def state_entry(message: pb.SyncRolloutState) -> RolloutStateEntry:
    return RolloutStateEntry(message.rollout_key, state_from_json(message.state_json), message.version)


def bucket_message(entry: BucketEntry) -> pb.SyncBucket:
    return pb.SyncBucket(
        group=group_message(entry.group),
        bucket_start=entry.bucket_start,
        version=entry.version.value,
        counts_json=canonical_json(encode(entry.counts)),
    )


def bucket_entry(message: pb.SyncBucket) -> BucketEntry:
    rollout, generation, node = group_of(message.group)
    return BucketEntry(
        rollout,
        generation,
        node,
        message.bucket_start,
        Version(message.version),
        counts_from_json(message.counts_json),
    )


def audit_message(entry: AuditEntry) -> pb.SyncAudit:
    message = pb.SyncAudit(
        id=entry.id,
        timestamp=entry.ts,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        reason=entry.reason,
        version=entry.version,
    )
    if entry.before is not None:
        message.before_json = entry.before
    if entry.after is not None:
        message.after_json = entry.after
    return message


def audit_entry(message: pb.SyncAudit) -> AuditEntry:
    return AuditEntry(
        message.id,
        message.timestamp,
        message.actor,
        message.action,
        message.target,
        canonical_json(json.loads(message.before_json)) if message.HasField("before_json") else None,
        canonical_json(json.loads(message.after_json)) if message.HasField("after_json") else None,
        message.reason,
        message.version,
    )


def alert_ack_message(ack: Acknowledgement) -> pb.SyncAlertAck:
    return pb.SyncAlertAck(
        alert_id=ack.alert_id,
        rule=ack.rule,
        rollout_key=ack.rollout,
        acknowledged_at=ack.at,
        acknowledged_by=ack.by,
        note=ack.note,
        version=ack.version,
    )


def alert_ack(message: pb.SyncAlertAck) -> Acknowledgement:
    return Acknowledgement(
        message.alert_id,
        message.rule,
        message.rollout_key,
        message.acknowledged_at,
        message.acknowledged_by,
        message.note,
        message.version,
    )
