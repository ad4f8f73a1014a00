"""Who this sidecar talks to: configured, file-listed and DNS-resolved peers, the group's members, which
peers get an outgoing session (fanout, rotation, duplicate sessions), and when a failed peer is retried."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sidecar.sync.settings import SyncSettings, read_peers_file
from sidecar.v1 import sync_pb2 as pb

log = logging.getLogger(__name__)

BACKOFF_INITIAL = 0.1
BACKOFF_MAX = 5.0
STABLE_SESSION_SECONDS = 10.0  # a session that lasted this long resets the peer's backoff


@dataclass
class Backoff:
    """Exponential backoff with jitter between dials of one peer."""

    failures: int = 0
    not_before: float = 0.0

    def ended(self, lasted: float, now: float, jitter: float | None = None) -> None:
        """A session (or attempt) that lasted ``lasted`` seconds ended at ``now``."""
        if lasted >= STABLE_SESSION_SECONDS:
            self.failures = 0
        factor = random.uniform(0.5, 1.0) if jitter is None else jitter
        self.not_before = now + min(BACKOFF_MAX, BACKOFF_INITIAL * 2**self.failures) * factor
        self.failures += 1

    def ready(self, now: float) -> bool:
        return self.not_before <= now


@dataclass(frozen=True, slots=True)
class OutgoingLink:
    address: str
    node_id: str
    opened_at: float


@dataclass(frozen=True, slots=True)
class Plan:
    cancel: frozenset[str]  # addresses whose dialer to stop
    dial: tuple[str, ...]
    rotated: bool = False


@dataclass
class PeerDirectory:
    """Candidate addresses, and what was learned about them (which are this sidecar, who answers where)."""

    settings: SyncSettings
    self_addresses: set[str] = field(default_factory=set)
    address_nodes: dict[str, str] = field(default_factory=dict)
    dns_addresses: tuple[str, ...] = ()
    file_peers: tuple[str, ...] = ()
    backoff: dict[str, Backoff] = field(default_factory=dict)
    cursor: int = 0
    _file_mtime: float | None = None

    def candidates(self) -> list[str]:
        seen: dict[str, None] = {}
        for address in (*self.settings.peers, *self.file_peers, *self.dns_addresses):
            if address not in self.self_addresses:
                seen[address] = None
        return list(seen)

    def refresh_peers_file(self) -> None:
        """Re-read the peers file if it changed (a bad file is logged and the last good list kept)."""
        path = self.settings.peers_file
        if path is None:
            return
        try:
            mtime: float | None = path.stat().st_mtime_ns / 1e9
        except FileNotFoundError:
            mtime = None
        if mtime == self._file_mtime:
            return
        self._file_mtime = mtime
        try:
            self.file_peers = read_peers_file(path)
        except Exception as exc:
            log.error("cannot read peers file %s: %s", path, exc)
            return
        log.info("peers file %s: %d peers", path, len(self.file_peers))

    def plan(
        self,
        node_id: str,
        dialing: Collection[str],
        outgoing: Iterable[OutgoingLink],
        incoming: Collection[str],
        now: float,
        rotate: bool,
    ) -> Plan:
        """Which dialers to stop and which addresses to dial, at most ``fanout`` at a time.

        ``rotate``: the rotation period passed; with more candidates than the fanout the oldest outgoing
        session is closed so the next peer in line gets one. When both sides dialed each other, the sidecar
        with the smaller node id keeps its session.
        """
        candidates = self.candidates()
        links = list(outgoing)
        cancel = {address for address in dialing if address not in candidates}
        fanout = max(1, self.settings.fanout)
        rotated = rotate and len(candidates) > fanout and len(dialing) >= fanout
        if rotated and links:
            cancel.add(min(links, key=lambda link: link.opened_at).address)
        cancel.update(link.address for link in links if link.node_id in incoming and node_id > link.node_id)
        running = len(dialing)  # a stopped dialer counts until it has closed its session
        dial: list[str] = []
        for _ in range(len(candidates)):
            if running + len(dial) >= fanout:
                break
            address = candidates[self.cursor % len(candidates)]
            self.cursor += 1
            if address in dialing or address in dial or self.address_nodes.get(address) in incoming:
                continue
            backoff = self.backoff.get(address)
            if backoff is None or backoff.ready(now):
                dial.append(address)
        return Plan(frozenset(cancel), tuple(dial), rotated)


class Members:
    """Every node id of the group this sidecar heard of, with when it was last seen (tombstones expire only
    once every member holds them)."""

    def __init__(self, node_id: str, seen: Mapping[str, float] | None = None) -> None:
        self.node_id = node_id
        self.last_seen = {n: s for n, s in (seen or {}).items() if n != node_id}

    def heard(self, node_id: str, now: float) -> None:
        self.last_seen[node_id] = now

    def note_hello(self, hello: pb.SyncHello, now: float) -> None:
        self.last_seen[hello.node_id] = now
        for member in hello.members:
            if member.node_id != self.node_id:
                previous = self.last_seen.get(member.node_id, 0.0)
                self.last_seen[member.node_id] = max(previous, member.last_seen)

    def messages(self, now: float) -> list[pb.SyncMember]:
        members = [pb.SyncMember(node_id=n, last_seen=s) for n, s in self.last_seen.items()]
        members.append(pb.SyncMember(node_id=self.node_id, last_seen=now))
        return members

    def forget_older(self, cutoff: float) -> list[str]:
        forgotten = [n for n, seen in self.last_seen.items() if seen < cutoff]
        for node in forgotten:
            del self.last_seen[node]
        return forgotten


async def resolve_peers(names: Iterable[str]) -> tuple[str, ...]:
    """Every address the ``NAME:PORT`` entries resolve to (unresolvable names are logged and skipped)."""
    loop = asyncio.get_running_loop()
    addresses: list[str] = []
    for name_port in names:
        host, _, port = name_port.rpartition(":")
        try:
            infos = await loop.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        except OSError as exc:
            log.warning("cannot resolve peer name %s: %s", host, exc)
            continue
        for info in infos:
            ip = str(info[4][0])
            addresses.append(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return tuple(dict.fromkeys(addresses))
