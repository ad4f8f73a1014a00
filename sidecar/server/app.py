"""Wiring: the one place where the store, the servicers, health and signals are put together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sidecar.clock import Clock, SystemClock
from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.server.admin import AdminServicer
from sidecar.server.auth import AdminAuth, load_or_create_token
from sidecar.server.evaluation import EvaluationServicer
from sidecar.server.health import ComponentCheck, HealthReporter
from sidecar.server.listen import SOCKET_MODE, ListenAddress, prepare_unix_socket
from sidecar.server.registry import add_service
from sidecar.server.routing import RolloutServicer, RoutingServicer
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.rollout_store import RolloutStore
from sidecar.v1 import admin_pb2, evaluation_pb2, routing_pb2

log = logging.getLogger(__name__)

EVALUATION_SERVICE = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"]
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
ROUTING_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"]
ROLLOUT_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RolloutService"]
SERVICES = (EVALUATION_SERVICE, ADMIN_SERVICE, ROUTING_SERVICE, ROLLOUT_SERVICE)
# The policy loop counts as hung when it has not ticked for this many periods.
STALLED_TICKS = 5
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
HEALTH_INTERVAL_SECONDS = 1.0
DRAIN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ServeSettings:
    config_dir: Path
    state_dir: Path
    listen: tuple[ListenAddress, ...]
    environment: str = "development"
    node_id: str | None = None
    admin_token_file: Path | None = None
    static_context: Mapping[str, Any] = field(default_factory=dict)
    # Policy loop period and outcome bucket size; shorter values make phases of a few seconds testable.
    tick_seconds: float = 1.0
    bucket_seconds: int = 5

    @property
    def token_file(self) -> Path:
        return self.admin_token_file or self.state_dir / "admin.token"


SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Two daemons must never silently share a port.
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


class Daemon:
    def __init__(self, settings: ServeSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.started_at = time.monotonic()
        self.database = StateDatabase(settings.state_dir / "sidecar.db")
        self.node_id = self.database.node_id(settings.node_id)
        self.hlc = HybridLogicalClock(self.node_id, self.clock)
        context = {"environment": settings.environment, **settings.static_context}
        self.store = ConfigStore(settings.config_dir, self.database, self.hlc, self.clock, context)
        self.auth = AdminAuth(load_or_create_token(settings.token_file))
        self.rollouts = RolloutRuntime(
            self.store,
            RolloutStore(self.database, self.node_id, self.hlc),
            self.clock,
            bucket_seconds=settings.bucket_seconds,
            tick_seconds=settings.tick_seconds,
        )
        self.server = grpc.aio.server(options=SERVER_OPTIONS)
        self.health_servicer = health_aio.HealthServicer()
        self.health = HealthReporter(
            self.health_servicer,
            [service.full_name for service in SERVICES],
            [
                ComponentCheck("config", self._config_problem),
                ComponentCheck("database", self._database_problem),
                ComponentCheck("policy-loop", self._policy_problem),
            ],
        )
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _config_problem(self) -> str | None:
        snapshot = self.store.snapshot
        if snapshot is None:
            return "no configuration loaded"
        if not snapshot.complete:
            broken = [str(p) for s in snapshot.sources for p in s.problems if s.path != "database"]
            return "configuration never loaded cleanly: " + "; ".join(broken)
        return None

    def _database_problem(self) -> str | None:
        return None if self.database.healthy() else "state database is not answering"

    def _policy_problem(self) -> str | None:
        last = self.rollouts.last_tick_at
        if last is None or self.clock.now() - last <= STALLED_TICKS * self.settings.tick_seconds:
            return None
        return f"rollout policy loop has not run for {self.clock.now() - last:.0f}s"

    async def start(self) -> None:
        await self.store.start()
        await self.rollouts.start()
        add_service(self.server, EvaluationServicer(self.store, self.clock), EVALUATION_SERVICE)
        add_service(self.server, RoutingServicer(self.rollouts), ROUTING_SERVICE)
        add_service(self.server, RolloutServicer(self.rollouts, self.store, self.auth), ROLLOUT_SERVICE)
        add_service(
            self.server,
            AdminServicer(
                self.store, self.database, self.auth, self.node_id, self.settings.environment, self.started_at
            ),
            ADMIN_SERVICE,
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health_servicer, self.server)
        reflection.enable_server_reflection(
            [
                *(service.full_name for service in SERVICES),
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self.server,
        )
        for address in self.settings.listen:
            if address.unix_path is not None:
                prepare_unix_socket(address.unix_path)
            if self.server.add_insecure_port(address.grpc_target) == 0:
                raise OSError(f"cannot listen on {address.grpc_target}")
        await self.server.start()
        for address in self.settings.listen:
            if address.unix_path is not None:
                address.unix_path.chmod(SOCKET_MODE)
        await self.health.update()
        self._tasks.append(asyncio.create_task(self._monitor_health(), name="health"))
        log.info(
            "listening on %s",
            ", ".join(a.grpc_target for a in self.settings.listen),
            extra={"node_id": self.node_id},
        )

    async def _monitor_health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_SECONDS)
            await self.health.update()

    async def reload(self) -> None:
        await self.store.reload(force=True)
        await self.health.update()

    async def stop(self) -> None:
        await self.health.shutdown()
        await self.server.stop(DRAIN_SECONDS)  # drains in-flight calls, refuses new ones
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.rollouts.stop()
        await self.store.stop()
        self.database.close()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stopping.set)
        loop.add_signal_handler(signal.SIGINT, self._stopping.set)
        loop.add_signal_handler(
            signal.SIGHUP,
            lambda: self._tasks.append(asyncio.create_task(self.reload(), name="sighup-reload")),
        )
        await self.start()
        await self._stopping.wait()
        log.info("stopping: draining in-flight calls")
        await self.stop()


def run(settings: ServeSettings) -> None:
    import uvloop

    async def main() -> None:
        await Daemon(settings).run_until_signalled()

    uvloop.run(main())
