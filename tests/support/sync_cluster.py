"""A group of real sidecar processes on 127.0.0.1 that sync with each other (tests and the sync benchmark).

Every member listens on port 0; each learns the others' sync addresses from its peers file, which the group
writes from the members' ready reports once they have started, and again whenever one moved to new ports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import yaml

from sidecar.server.convert import to_struct
from sidecar.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    alerts_pb2,
    alerts_pb2_grpc,
    evaluation_pb2,
    evaluation_pb2_grpc,
    routing_pb2_grpc,
)
from sidecar.v1 import routing_pb2 as rpb
from tests.support.daemon import Daemon

SECRET = "group-secret-for-tests-0123456789"
FAST = ("--tick-seconds", "0.2", "--outcome-bucket-seconds", "1")


def flag(value: str) -> dict[str, Any]:
    return {"state": "ENABLED", "variants": {"a": "A", "b": "B", "c": "C"}, "defaultVariant": value}


def holding_rollout() -> dict[str, Any]:
    """A rollout that stays in its first phase for the length of a test (so counts can be compared)."""
    return {
        "phases": [
            {"name": "CANARY", "percent": 10, "minDuration": "1h", "minSamples": 1_000_000},
            {"name": "FULL", "percent": 100, "minDuration": "1h", "minSamples": 1_000_000},
        ],
        "rollbackTriggers": {"minRequests": 1_000_000},
        "breaker": {"enabled": False},
    }


class Member:
    def __init__(
        self,
        index: int,
        base: Path,
        peers_file: Path,
        extra: Sequence[str],
        clock_offset: float = 0.0,
        on_moved: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.node_id = f"node-{index}"
        self.peers_file = peers_file
        config = base / f"config-{index}"
        config.mkdir(parents=True, exist_ok=True)
        self.daemon = Daemon(
            config,
            base / f"state-{index}",
            "--peers-file",
            str(peers_file),
            *extra,
            env={"SIDECAR_NODE_ID": self.node_id, "SIDECAR_LOG_LEVEL": "info"},
            clock_offset=clock_offset,
            sync_listen=True,
            on_moved=on_moved,
        )

    @property
    def sync_address(self) -> str:
        return self.daemon.sync_address

    def channel(self) -> grpc.Channel:
        """One channel per daemon process (a new one after a restart), so polling costs no handshakes."""
        process = self.daemon.process
        pid = process.pid if process is not None else None
        cached = getattr(self, "_channel", None)
        if cached is None or getattr(self, "_pid", None) != pid:
            if cached is not None:
                cached.close()
            self._channel: grpc.Channel = grpc.insecure_channel(self.daemon.tcp_target)
            self._pid = pid
        return self._channel

    # -- calls -----------------------------------------------------------------------------------------

    def put_flag(self, key: str, definition: dict[str, Any]) -> None:
        d = self.daemon
        admin_pb2_grpc.AdminServiceStub(self.channel()).PutFlag(
            admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(definition), reason="sync test"),
            metadata=d.auth(),
            timeout=5,
        )

    def delete_flag(self, key: str) -> None:
        d = self.daemon
        admin_pb2_grpc.AdminServiceStub(self.channel()).DeleteFlag(
            admin_pb2.DeleteFlagRequest(flag_key=key, reason="sync test"), metadata=d.auth(), timeout=5
        )

    def variant(self, key: str) -> str | None:
        """The variant served for ``key``, None when the flag is unknown."""
        try:
            response = evaluation_pb2_grpc.EvaluationServiceStub(self.channel()).Evaluate(
                evaluation_pb2.EvaluateRequest(flag_key=key), timeout=2
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                return None
            raise
        return response.variant

    def status(self) -> admin_pb2.GetStatusResponse:
        d = self.daemon
        return admin_pb2_grpc.AdminServiceStub(self.channel()).GetStatus(
            admin_pb2.GetStatusRequest(), metadata=d.auth(), timeout=5
        )

    def flags(self) -> dict[str, tuple[str, str]]:
        d = self.daemon
        listing = admin_pb2_grpc.AdminServiceStub(self.channel()).ListFlags(
            admin_pb2.ListFlagsRequest(), metadata=d.auth(), timeout=5
        )
        return {f.key: (str(f.definition), f.version) for f in listing.flags}

    def rollouts(self) -> routing_pb2_grpc.RolloutServiceStub:
        return routing_pb2_grpc.RolloutServiceStub(self.channel())

    def rollout(self, key: str = "svc") -> rpb.RolloutStatus:
        return (
            self.rollouts()
            .GetRollout(rpb.GetRolloutRequest(rollout_key=key), metadata=self.daemon.auth(), timeout=5)
            .rollout
        )

    def act(self, action: str, key: str = "svc", **fields: Any) -> None:
        stub = self.rollouts()
        request = getattr(rpb, f"{action}RolloutRequest")(rollout_key=key, reason="sync test", **fields)
        getattr(stub, f"{action}Rollout")(request, metadata=self.daemon.auth(), timeout=5)

    def route(self, unit: str, key: str = "svc") -> rpb.RouteResponse:
        stub = routing_pb2_grpc.RoutingServiceStub(self.channel())
        return stub.Route(
            rpb.RouteRequest(rollout_key=key, context=to_struct({"targetingKey": unit})), timeout=5
        )

    def report(
        self, version: int, count: int, generation: int, key: str = "svc", *, success: bool = True
    ) -> None:
        stub = routing_pb2_grpc.RoutingServiceStub(self.channel())
        outcomes = [
            rpb.Outcome(
                rollout_key=key, version=version, success=success, latency_ms=10.0, generation=generation
            )
            for _ in range(count)
        ]
        stub.ReportOutcomes(rpb.ReportOutcomesRequest(outcomes=outcomes), timeout=10)

    def alerts(self) -> list[alerts_pb2.Alert]:
        """Every alert this sidecar holds, newest first."""
        stub = alerts_pb2_grpc.AlertServiceStub(self.channel())
        request = alerts_pb2.ListAlertsRequest(filter=alerts_pb2.ALERT_FILTER_ALL)
        return list(stub.ListAlerts(request, metadata=self.daemon.auth(), timeout=5).alerts)

    def acknowledge(self, alert_id: str, actor: str, note: str) -> alerts_pb2.Alert:
        stub = alerts_pb2_grpc.AlertServiceStub(self.channel())
        request = alerts_pb2.AcknowledgeAlertRequest(id=alert_id, note=note)
        return stub.AcknowledgeAlert(request, metadata=self.daemon.auth(actor), timeout=5).alert

    def connected_nodes(self) -> set[str]:
        return {p.node_id for p in self.status().peers if p.connected}


class Cluster:
    def __init__(
        self,
        base: Path,
        size: int,
        *,
        extra: Sequence[str] = (),
        rollouts: Mapping[str, dict[str, Any]] | None = None,
        clock_offsets: Sequence[float] = (),
    ) -> None:
        """``clock_offsets[i]``: seconds member i's wall clock is off by (default 0)."""
        base.mkdir(parents=True, exist_ok=True)
        self.base = base
        self.secret_file = base / "group.secret"
        self.secret_file.write_text(SECRET + "\n")
        self._peers_lock = threading.Lock()
        self.members = [
            Member(
                i,
                base,
                base / f"peers-{i}.txt",
                ("--group-secret-file", str(self.secret_file), *extra),
                clock_offsets[i] if i < len(clock_offsets) else 0.0,
                on_moved=self.write_peers,
            )
            for i in range(size)
        ]
        # Whom each member is told about; the files list those of them that have started.
        self._views: dict[int, tuple[Member, ...]] = {}
        for member in self.members:
            if rollouts:
                (member.daemon.config_dir / "rollouts.yaml").write_text(
                    yaml.safe_dump({"rollouts": dict(rollouts)})
                )
        self.connect_all()

    def set_peers(self, member: Member, peers: Iterable[Member]) -> None:
        self._views[member.index] = tuple(peers)
        self._write(member)

    def write_peers(self) -> None:
        """Rewrite every member's peers file with the current addresses of the peers it is told about."""
        for member in self.members:
            self._write(member)

    def _write(self, member: Member) -> None:
        peers = self._views.get(member.index, ())
        text = "".join(f"{p.sync_address}\n" for p in peers if p.daemon.sync_port)
        with self._peers_lock:  # members started on several threads report at once
            if member.peers_file.exists() and member.peers_file.read_text() == text:
                return  # unchanged: no new mtime for the daemon to re-read
            tmp = member.peers_file.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(member.peers_file)

    def connect_all(self) -> None:
        for member in self.members:
            self.set_peers(member, self.members)  # its own address too: a sidecar recognises itself

    def partition(self, *halves: Sequence[Member]) -> None:
        for half in halves:
            for member in half:
                self.set_peers(member, half)

    def start(self, batch: int = 5) -> Cluster:
        """Start every member, ``batch`` at a time (a few cores cannot boot twenty at once quickly)."""
        try:
            for first in range(0, len(self.members), batch):
                start_all([m.daemon for m in self.members[first : first + batch]])
                self.write_peers()  # the members started so far now know each other's addresses
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for member in self.members:
            member.daemon.stop()
            if (channel := getattr(member, "_channel", None)) is not None:
                channel.close()

    def digests(self) -> list[str]:
        return [m.status().sync_digest for m in self.members]

    def converged(self) -> bool:
        digests = self.digests()
        return len(set(digests)) == 1 and bool(digests[0])


def start_all(daemons: Sequence[Daemon]) -> None:
    """Start daemons concurrently (each start waits until it serves)."""
    errors: list[BaseException] = []

    def start(d: Daemon) -> None:
        try:
            d.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in daemons]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def time_until(predicate: Any, timeout: float, interval: float = 0.005) -> float:
    """Seconds until ``predicate()`` is truthy; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not reached within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - started
