"""The peer-sync layer of one sidecar: its listener, its sessions with peers and its replica, composed.

:mod:`~sidecar.sync.transport` opens sessions, :mod:`~sidecar.sync.peers` picks whom to dial,
:mod:`~sidecar.sync.replicator` merges and stores, :mod:`~sidecar.sync.status` reports. This module runs the
loops: session management, anti-entropy every few seconds (which repairs whatever a session missed), the scan
of local changes and the persistence of rollout states.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any

import grpc

from sidecar.alerts.acks import Acknowledgement
from sidecar.clock import Clock
from sidecar.hlc import HybridLogicalClock
from sidecar.sync.auth import GroupAuth, load_secret
from sidecar.sync.link import Link, PeerRecord
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.peers import Backoff, Members, OutgoingLink, PeerDirectory, resolve_peers
from sidecar.sync.ports import Alerts, ConfigSource, Database, LocalBucket, Rollouts
from sidecar.sync.replica import Entry
from sidecar.sync.replicator import Replicator
from sidecar.sync.settings import SyncSettings
from sidecar.sync.status import HealthWatch, PeerKey, digest, peer_messages
from sidecar.sync.store import SyncStore
from sidecar.sync.transport import PROTOCOL_VERSION, PeerIsSelf, Refused, Session, SyncServer, dial
from sidecar.sync.wire import entry_count
from sidecar.v1 import admin_pb2
from sidecar.v1 import sync_pb2 as pb

log = logging.getLogger(__name__)

MANAGER_PERIOD = 0.2


class SyncService:
    def __init__(
        self,
        settings: SyncSettings,
        *,
        database: Database,
        hlc: HybridLogicalClock,
        clock: Clock,
        config: ConfigSource,
        runtime: Rollouts,
        alerts: Alerts | None = None,
        metrics: SyncMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.node_id = hlc.node_id
        self.metrics = metrics or SyncMetrics()
        self._config = config
        self._runtime = runtime
        self._alerts = alerts
        self._auth = GroupAuth(load_secret(settings.group_secret_file))
        self._server = SyncServer(settings.listen, settings.tls, self._auth, self.node_id, self.metrics)
        self.port = 0
        self._replica = Replicator(
            settings, SyncStore(database), hlc, clock, config, runtime, alerts, self._publish
        )
        self._directory = PeerDirectory(settings)
        self._members = Members(self.node_id)
        self._health = HealthWatch(settings.anti_entropy_seconds, time.monotonic())
        self._peers: dict[PeerKey, PeerRecord] = {}
        self._links: set[Link] = set()
        self._dialers: dict[str, asyncio.Task[None]] = {}
        self._last_rotation = time.monotonic()
        self._scan_wake = asyncio.Event()
        self._config_events: asyncio.Queue[Any] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sessions: set[asyncio.Task[None]] = set()
        self._applying = Uninterrupted()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self._replica.load()
        self._members = Members(self.node_id, await asyncio.to_thread(self._replica.store.load_members))
        self._runtime.add_change_listener(self)
        if self._alerts is not None:
            self._alerts.add_ack_listener(self.on_alert_acks)
        self._config_events = self._config.subscribe()
        self.port = self._server.bind(self._hello, self._accept)
        host = self.settings.listen.rpartition(":")[0].strip("[]")
        if self.settings.tls is None and host not in ("127.0.0.1", "::1", "localhost"):
            log.warning(
                "peer sync listens on %s without TLS: sessions are readable on the network; use --sync-tls-*",
                self.settings.listen,
            )
        await self._server.start()
        self._directory.refresh_peers_file()
        loops = [self._manage_sessions, self._anti_entropy, self._watch_config, self._scan_loop]
        self._tasks = [asyncio.create_task(loop(), name=f"sync-{loop.__name__[1:]}") for loop in loops]
        self._tasks.append(asyncio.create_task(self._persist_loop(), name="sync-persist"))
        if self.settings.peer_dns:
            self._tasks.append(asyncio.create_task(self._resolve_dns(), name="sync-dns"))
        tls = self.settings.tls
        log.info(
            "peer sync listening on %s (%s), %d configured peers, fanout %d",
            self.settings.listen,
            "plaintext" if tls is None else "mutual TLS" if tls.ca else "TLS",
            len(self._directory.candidates()),
            self.settings.fanout,
        )

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._dialers.values(), *self._sessions]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._applying.wait()
        await self._server.stop(0.5)
        if self._config_events is not None:
            self._config.unsubscribe(self._config_events)
        await self._replica.persist()

    # -- what the rest of the daemon calls -------------------------------------------------------------

    def peer_messages(self) -> list[admin_pb2.PeerStatus]:
        return peer_messages(self._peers, self.metrics)

    def health_problem(self) -> str | None:
        errors = [p.last_error for p in self._peers.values() if p.last_error]
        candidates = len(self._directory.candidates())
        return self._health.problem(self._links, candidates, errors, time.monotonic())

    def digest(self) -> str:
        return digest(self._replica.index)

    def on_flushed(self, state_keys: Sequence[str], buckets: Sequence[LocalBucket]) -> None:
        """Rollout runtime listener: publish state transitions and this node's outcome buckets."""
        self._replica.on_flushed(state_keys, buckets)
        self._scan_wake.set()  # the same transaction may have written audit entries

    def on_alert_acks(self, acks: Sequence[Acknowledgement]) -> None:
        """Alert runtime listener: publish acknowledgements made here once they are durable."""
        self._replica.on_alert_acks(acks)
        self._scan_wake.set()  # with the acknowledgement came its audit entry

    def _publish(self, entries: Sequence[Entry], exclude: Link | None = None) -> None:
        if entries:
            for link in self._links:
                if link is not exclude:
                    link.enqueue(entries)

    # -- sessions --------------------------------------------------------------------------------------

    def _hello(self, proof: str) -> pb.SyncFrame:
        return hello_frame(self.node_id, self.settings.listen, self._members, proof)

    async def _accept(self, node: str, address: str, session: Session) -> None:
        # Incoming sessions are kept per node id, so a peer's counters survive its reconnects.
        peer = self._peers.setdefault((False, node), PeerRecord(address=address, outgoing=False))
        peer.address = address
        await self._run_session(peer, session)

    async def _dial(self, address: str) -> None:
        peer = self._peers.setdefault((True, address), PeerRecord(address=address, outgoing=True))
        started = time.monotonic()
        try:
            async with dial(address, self.settings.tls, self._auth, self.node_id, self._hello) as session:
                self._directory.address_nodes[address] = session.hello.node_id
                await self._run_session(peer, session)
        except PeerIsSelf:
            self._directory.self_addresses.add(address)
        except Refused as exc:
            self.metrics.connect_failures += 1
            if exc.auth:
                self.metrics.auth_failures += 1
                log.warning("peer-sync session with %s refused: %s", address, exc.line)
            peer.last_error = exc.line
        except (ConnectionError, OSError) as exc:
            self.metrics.connect_failures += 1
            peer.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            peer.connected = False
            now = time.monotonic()
            self._directory.backoff.setdefault(address, Backoff()).ended(now - started, now)
            self._dialers.pop(address, None)

    async def _run_session(self, peer: PeerRecord, session: Session) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        peer.node_id = session.hello.node_id
        peer.connected = True
        peer.last_error = ""
        peer.last_contact = time.time()
        self._members.note_hello(session.hello, time.time())
        link = Link(
            peer,
            session.write,
            session.read,
            self._replica.index.summary,
            self.metrics,
            self.settings.max_pending_entries,
        )
        peer.link = link
        self._links.add(link)
        self.metrics.sessions_opened += 1
        log.info("peer-sync session with %s (%s) open", peer.node_id, peer.address)
        link.request_summary()
        writer = asyncio.create_task(link.run_writer(), name=f"sync-writer-{peer.node_id}")
        reader = asyncio.create_task(self._read_loop(link), name=f"sync-reader-{peer.node_id}")
        try:
            done, _ = await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                if not finished.cancelled() and (exc := finished.exception()) is not None:
                    peer.last_error = _session_error(peer, exc)
        finally:
            for t in (writer, reader):
                t.cancel()
            for t in (writer, reader):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            self._links.discard(link)
            peer.link = None
            peer.connected = False
            if task is not None:
                self._sessions.discard(task)
            log.info("peer-sync session with %s (%s) closed", peer.node_id, peer.address)

    async def _read_loop(self, link: Link) -> None:
        while (frame := await link.read()) is not None:
            size = frame.ByteSize()
            link.peer.bytes_received += size
            link.peer.last_contact = time.time()
            self._members.heard(link.node_id, time.time())
            self.metrics.bytes_received += size
            self.metrics.frames_received += 1
            body = frame.WhichOneof("body")
            if body == "summary":
                detail = self._replica.index.detail(link.node_id, frame.summary)
                if detail is not None:
                    link.send(pb.SyncFrame(detail=detail))
            elif body == "detail":
                await self._applying.run(self._on_detail(link, frame.detail))
            elif body == "entries":
                await self._applying.run(self._on_entries(link, frame.entries))

    async def _on_detail(self, link: Link, detail: pb.SyncDetail) -> None:
        changed, lacking = await self._replica.answer_detail(link.node_id, detail)
        self._publish(changed, exclude=link)
        link.enqueue(lacking)

    async def _on_entries(self, link: Link, message: pb.SyncEntries) -> None:
        count = entry_count(message)
        link.peer.entries_received += count
        self.metrics.entries_received += count
        changed = await self._replica.apply(message)
        self.metrics.entries_applied += len(changed)
        self._publish(changed, exclude=link)

    # -- loops -----------------------------------------------------------------------------------------

    async def _manage_sessions(self) -> None:
        while True:
            try:
                self._directory.refresh_peers_file()
                self._pick_sessions()
            except Exception:
                log.exception("peer selection failed")
            await asyncio.sleep(MANAGER_PERIOD)

    def _pick_sessions(self) -> None:
        wanted = set(self._directory.candidates())
        for key in [k for k in self._peers if k[0] and k[1] not in wanted and k[1] not in self._dialers]:
            del self._peers[key]
        now = time.monotonic()
        outgoing = [
            OutgoingLink(x.peer.address, x.node_id, x.opened_at) for x in self._links if x.peer.outgoing
        ]
        incoming = {link.node_id for link in self._links if not link.peer.outgoing}
        rotate = now - self._last_rotation >= self.settings.rotate_seconds
        plan = self._directory.plan(self.node_id, set(self._dialers), outgoing, incoming, now, rotate)
        if plan.rotated:
            self._last_rotation = now
        for address in plan.cancel:
            if (dialer := self._dialers.get(address)) is not None:
                dialer.cancel()
        for address in plan.dial:
            self._dialers[address] = asyncio.create_task(self._dial(address), name=f"sync-dial-{address}")

    async def _resolve_dns(self) -> None:
        while True:
            self._directory.dns_addresses = await resolve_peers(self.settings.peer_dns)
            await asyncio.sleep(self.settings.dns_refresh_seconds)

    async def _anti_entropy(self) -> None:
        while True:
            await asyncio.sleep(self.settings.anti_entropy_seconds)
            try:
                self.metrics.anti_entropy_rounds += 1
                await self._replica.reconcile_records()
                await self._replica.scan_audit()
                for link in self._links:  # each side's summary repairs what the *other* side lacks
                    link.request_summary()
                await self._expire()
            except Exception:
                log.exception("anti-entropy round failed")

    async def _expire(self) -> None:
        now = time.time()
        forgotten = self._members.forget_older(now - self.settings.member_expiry_seconds)
        expired = await self._replica.expire(self._members.last_seen, forgotten, now)
        self.metrics.tombstones_expired += expired

    async def _watch_config(self) -> None:
        if self._config_events is None:
            return
        while True:
            await self._config_events.get()
            self._scan_wake.set()

    async def _scan_loop(self) -> None:
        while True:
            await self._scan_wake.wait()
            self._scan_wake.clear()
            try:
                await self._replica.reconcile_records()
                await self._replica.scan_audit()
            except Exception:
                log.exception("scanning local changes failed")

    async def _persist_loop(self) -> None:
        while True:
            await self._replica.persist_wake.wait()
            self._replica.persist_wake.clear()
            try:
                await self._replica.persist()
            except Exception:
                log.exception("saving sync state failed")


def hello_frame(node_id: str, listen: str, members: Members, proof: str) -> pb.SyncFrame:
    hello = pb.SyncHello(
        node_id=node_id,
        protocol_version=PROTOCOL_VERSION,
        proof=proof,
        listen_address=listen,
        members=members.messages(time.time()),
    )
    return pb.SyncFrame(hello=hello)


class Uninterrupted:
    """Work that runs to its end even if the session that started it is closed meanwhile (a duplicate
    session is closed at any moment): an entry is marked as held before it is stored and served, so stopping
    halfway would leave it stored but never served, and never sent again."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        await asyncio.shield(task)

    async def wait(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("applying entries from a peer failed", exc_info=exc)


def _session_error(peer: PeerRecord, exc: BaseException) -> str:
    """How a session's end reads in peer status; unexpected failures are logged with their cause."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if not isinstance(exc, ConnectionError | asyncio.InvalidStateError):
        log.error("peer-sync session with %s failed", peer.node_id, exc_info=exc)
    return f"{type(exc).__name__}: {exc}"
