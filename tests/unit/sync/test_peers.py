"""Whom a sidecar dials: candidates, peers file, fanout, rotation, duplicate sessions, backoff, members."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from sidecar.sync.peers import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    STABLE_SESSION_SECONDS,
    Backoff,
    Members,
    OutgoingLink,
    PeerDirectory,
)
from sidecar.sync.settings import SyncSettings
from sidecar.v1 import sync_pb2 as pb

PEERS = ("10.0.0.1:8017", "10.0.0.2:8017", "10.0.0.3:8017", "10.0.0.4:8017")


def directory(**overrides: object) -> PeerDirectory:
    settings = replace(SyncSettings(group_secret_file=Path("/unused")), peers=PEERS, fanout=2)
    return PeerDirectory(replace(settings, **overrides))  # type: ignore[arg-type]


def test_backoff_doubles_up_to_a_ceiling_and_resets_after_a_stable_session() -> None:
    backoff = Backoff()
    delays = []
    for _ in range(10):
        backoff.ended(0.0, 0.0, jitter=1.0)
        delays.append(backoff.not_before)
    assert delays[:3] == pytest.approx([BACKOFF_INITIAL, 2 * BACKOFF_INITIAL, 4 * BACKOFF_INITIAL])
    assert max(delays) == BACKOFF_MAX
    backoff.ended(0.0, 100.0, jitter=1.0)
    assert not backoff.ready(100.0)
    assert backoff.ready(100.0 + BACKOFF_MAX)
    backoff.ended(STABLE_SESSION_SECONDS, 200.0, jitter=1.0)
    assert backoff.not_before == pytest.approx(200.0 + BACKOFF_INITIAL)
    backoff.ended(0.0, 300.0)  # random jitter: between half and the whole delay
    assert 300.0 + BACKOFF_INITIAL <= backoff.not_before <= 300.0 + 2 * BACKOFF_INITIAL


def test_fanout_limits_outgoing_sessions_and_the_cursor_rotates_through_candidates() -> None:
    peers = directory()
    first = peers.plan("node-a", set(), [], set(), 0.0, rotate=False)
    assert first.dial == PEERS[:2]
    assert not first.cancel
    assert peers.plan("node-a", set(first.dial), [], set(), 0.0, rotate=False).dial == ()
    # One dialer ended: the next one in line is dialed, not the same again.
    assert peers.plan("node-a", {PEERS[0]}, [], set(), 0.0, rotate=False).dial == (PEERS[2],)


def test_rotation_closes_the_oldest_outgoing_session() -> None:
    peers = directory()
    links = [OutgoingLink(PEERS[0], "node-1", 5.0), OutgoingLink(PEERS[1], "node-2", 1.0)]
    plan = peers.plan("node-a", set(PEERS[:2]), links, set(), 0.0, rotate=True)
    assert plan.rotated
    assert plan.cancel == {PEERS[1]}
    assert not peers.plan("node-a", set(PEERS[:2]), links, set(), 0.0, rotate=False).rotated


def test_of_two_sessions_between_the_same_sidecars_the_smaller_node_id_keeps_its_own() -> None:
    peers = directory()
    link = OutgoingLink(PEERS[0], "node-b", 0.0)
    assert peers.plan("node-c", {PEERS[0]}, [link], {"node-b"}, 0.0, rotate=False).cancel == {PEERS[0]}
    assert not peers.plan("node-a", {PEERS[0]}, [link], {"node-b"}, 0.0, rotate=False).cancel
    # A peer already connected to us is not dialed.
    peers.address_nodes[PEERS[1]] = "node-b"
    assert PEERS[1] not in peers.plan("node-a", set(), [], {"node-b"}, 0.0, rotate=False).dial


def test_removed_peers_are_dropped_and_backed_off_peers_wait() -> None:
    peers = directory()
    assert peers.plan("node-a", {"10.9.9.9:1"}, [], set(), 0.0, rotate=False).cancel == {"10.9.9.9:1"}
    peers.backoff[PEERS[0]] = Backoff(1, not_before=10.0)
    assert PEERS[0] not in peers.plan("node-a", set(), [], set(), 5.0, rotate=False).dial
    peers.self_addresses.add(PEERS[1])
    assert PEERS[1] not in peers.candidates()


def test_the_peers_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "peers"
    peers = directory(peers=(), peers_file=path)
    peers.refresh_peers_file()
    assert peers.candidates() == []
    path.write_text("10.0.0.7:8017  # seven\n\n10.0.0.8:8017\n")
    peers.refresh_peers_file()
    assert peers.candidates() == ["10.0.0.7:8017", "10.0.0.8:8017"]
    path.write_text("not an address\n")
    os.utime(path, ns=(1, 1))
    peers.refresh_peers_file()  # a bad file is logged; the last good list stays
    assert peers.candidates() == ["10.0.0.7:8017", "10.0.0.8:8017"]
    path.unlink()
    peers.refresh_peers_file()
    assert peers.candidates() == []
    directory().refresh_peers_file()  # no peers file: nothing to do


def test_members_learn_from_hellos_and_forget_the_long_gone() -> None:
    members = Members("node-a", {"node-a": 1.0, "node-b": 50.0})
    hello = pb.SyncHello(
        node_id="node-c",
        members=[
            pb.SyncMember(node_id="node-a", last_seen=99.0),
            pb.SyncMember(node_id="node-b", last_seen=60.0),
        ],
    )
    members.note_hello(hello, 100.0)
    assert members.last_seen == {"node-b": 60.0, "node-c": 100.0}
    members.heard("node-d", 10.0)
    assert members.forget_older(20.0) == ["node-d"]
    assert [m.node_id for m in members.messages(200.0)] == ["node-b", "node-c", "node-a"]
