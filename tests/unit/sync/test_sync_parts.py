"""Peer-sync pieces that need no cluster: credential, outbound queue, peer lists, wire format."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sidecar.errors import UnauthenticatedError
from sidecar.rollout.model import Version
from sidecar.rollout.state import initial_state
from sidecar.rollout.windows import BucketCounts
from sidecar.sync import wire
from sidecar.sync.auth import AUTH_HEADER, TIME_HEADER, GroupAuth, load_secret
from sidecar.sync.link import Link, PeerRecord
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.peers import resolve_peers
from sidecar.sync.replica import AuditEntry, BucketEntry, RecordEntry, RolloutStateEntry
from sidecar.sync.settings import read_peers_file
from sidecar.v1 import sync_pb2 as pb

SECRET = b"0123456789abcdef-secret"


def test_group_credential_round_trip_and_refusals() -> None:
    auth = GroupAuth(SECRET)
    metadata, tag = auth.client_metadata("node-a", 1000.0)
    assert auth.verify_client(metadata, 1010.0) == ("node-a", tag)
    proof = auth.server_proof("node-b", tag)
    assert auth.verify_server(proof, "node-b", tag)
    assert not GroupAuth(b"another-secret-entirely").verify_server(proof, "node-b", tag)
    with pytest.raises(UnauthenticatedError, match="another group secret"):
        GroupAuth(b"another-secret-entirely").verify_client(metadata, 1000.0)
    with pytest.raises(UnauthenticatedError, match="stale"):
        auth.verify_client(metadata, 2000.0)
    with pytest.raises(UnauthenticatedError, match="needs the group credential"):
        auth.verify_client([(AUTH_HEADER, tag)], 1000.0)
    forged = [(k, "999.000" if k == TIME_HEADER else v) for k, v in metadata]
    with pytest.raises(UnauthenticatedError):
        auth.verify_client(forged, 999.0)  # the time is covered by the tag


def test_secret_file_must_exist_and_be_long_enough(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("tiny\n")
    with pytest.raises(ValueError, match="shorter"):
        load_secret(short)
    with pytest.raises(ValueError, match="cannot read"):
        load_secret(tmp_path / "missing")


def make_link(max_pending: int = 100) -> tuple[Link, list[pb.SyncFrame], SyncMetrics]:
    sent: list[pb.SyncFrame] = []
    metrics = SyncMetrics()

    async def write(frame: pb.SyncFrame) -> None:
        sent.append(frame)

    async def read() -> pb.SyncFrame | None:
        return None

    link = Link(
        PeerRecord("peer:1", True, "node-b"),
        write,
        read,
        lambda: pb.SyncFrame(summary=pb.SyncSummary(records_hash="h")),
        metrics,
        max_pending,
    )
    return link, sent, metrics


def counts(requests: int) -> BucketCounts:
    return BucketCounts(requests=requests, successes=requests)


async def drain(link: Link) -> None:
    writer = asyncio.create_task(link.run_writer())
    for _ in range(20):
        await asyncio.sleep(0)
    writer.cancel()


def test_the_outbound_queue_coalesces_updates_of_one_entry() -> None:
    link, sent, metrics = make_link()
    bucket = BucketEntry("svc", 1, "node-a", 10, Version.V2, counts(5))
    link.enqueue([bucket, BucketEntry("svc", 1, "node-a", 10, Version.V2, counts(9)), bucket])
    link.enqueue([RecordEntry("flag", "f", "{}", "v1"), RecordEntry("flag", "f", None, "v2")])
    assert link.pending == 2
    assert link.lag_seconds() >= 0.0
    asyncio.run(drain(link))
    assert len(sent) == 1
    entries = sent[0].entries
    assert [wire.bucket_entry(b).counts.requests for b in entries.buckets] == [9]  # the merge, not the last
    assert [wire.record_entry(r).deleted for r in entries.records] == [True]
    assert metrics.entries_sent == 2
    assert link.peer.bytes_sent == sent[0].ByteSize() > 0
    assert link.pending == 0
    assert link.lag_seconds() == 0.0


def test_a_slow_peer_costs_bounded_memory_and_gets_a_summary_instead() -> None:
    link, sent, metrics = make_link(max_pending=10)
    link.enqueue(RecordEntry("flag", f"f{i}", "{}", "v") for i in range(50))
    assert link.pending == 0
    assert metrics.queue_overflows == 1
    asyncio.run(drain(link))
    assert [f.WhichOneof("body") for f in sent] == ["summary"]


def test_entries_survive_the_wire_format() -> None:
    state = initial_state("svc", 12.5)
    entries = [
        RecordEntry("flag", "f", '{"a":1}', "v"),
        RecordEntry("rollout", "r", None, "v"),
        RolloutStateEntry("svc", state, "v"),
        BucketEntry(
            "svc",
            2,
            "node-a",
            10,
            Version.V1,
            BucketCounts(3, 2, 1, 0, 2, 10, 2**70, error_types=(("x", 1),)),
        ),
        AuditEntry("id", 1.5, "admin", "flag.put", "f", None, '{"a":1}', "why", "v"),
    ]
    record, tombstone, rollout, bucket, audit = entries
    assert wire.record_entry(wire.record_message(record)) == record
    assert wire.record_entry(wire.record_message(tombstone)) == tombstone
    assert wire.state_entry(wire.state_message(rollout)) == rollout
    assert wire.bucket_entry(wire.bucket_message(bucket)) == bucket
    assert wire.audit_entry(wire.audit_message(audit)) == audit


def test_peers_file_lines_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "peers"
    assert read_peers_file(path) == ()
    path.write_text("# group east\n10.0.0.1:8017\n\n  10.0.0.2:8017  # rack 2\n")
    assert read_peers_file(path) == ("10.0.0.1:8017", "10.0.0.2:8017")


def test_peer_dns_names_resolve_to_every_address() -> None:
    addresses = asyncio.run(resolve_peers(["localhost:8017", "no-such-host.invalid:8017"]))
    assert "127.0.0.1:8017" in addresses
    assert all(a.endswith(":8017") for a in addresses)
