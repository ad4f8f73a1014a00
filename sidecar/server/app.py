"""Wiring: the one place where the store, the servicers, health and signals are put together."""

from __future__ import annotations

import asyncio
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

import sidecar
from sidecar.clock import Clock, SystemClock
from sidecar.hlc import HybridLogicalClock
from sidecar.ops.sdnotify import Notifier, run_watchdog
from sidecar.runtime.alerts import AlertRuntime
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.server.admin import AdminServicer
from sidecar.server.alerts import AlertServicer
from sidecar.server.auth import AdminAuth, load_or_create_token
from sidecar.server.evaluation import EvaluationServicer
from sidecar.server.experiments import ExperimentServicer
from sidecar.server.health import ComponentCheck, HealthReporter
from sidecar.server.listen import SOCKET_MODE, ListenAddress, prepare_unix_socket
from sidecar.server.observability import DaemonTelemetry
from sidecar.server.registry import add_service
from sidecar.server.routing import RolloutServicer, RoutingServicer
from sidecar.store.alert_store import AlertStore
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore
from sidecar.store.rollout_store import RolloutStore
from sidecar.sync.service import SyncService
from sidecar.sync.settings import SyncSettings
from sidecar.tasks import cancel_and_wait
from sidecar.telemetry import TelemetrySettings, setup_telemetry
from sidecar.v1 import admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2

log = logging.getLogger(__name__)

EVALUATION_SERVICE = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"]
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
ROUTING_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"]
ROLLOUT_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RolloutService"]
EXPERIMENT_SERVICE = experiment_pb2.DESCRIPTOR.services_by_name["ExperimentService"]
ALERT_SERVICE = alerts_pb2.DESCRIPTOR.services_by_name["AlertService"]
SERVICES = (
    EVALUATION_SERVICE,
    ADMIN_SERVICE,
    ROUTING_SERVICE,
    ROLLOUT_SERVICE,
    EXPERIMENT_SERVICE,
    ALERT_SERVICE,
)
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
    telemetry: TelemetrySettings = field(default_factory=lambda: TelemetrySettings(enabled=False))
    # Peer sync with other sidecars of the group; None: this sidecar stands alone.
    sync: SyncSettings | None = None

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
        self.telemetry = setup_telemetry(
            settings.telemetry,
            {
                "service.instance.id": self.node_id,
                "deployment.environment.name": settings.environment,
                "service.version": sidecar.__version__,
            },
        )
        self.observability = DaemonTelemetry(self.telemetry)
        self.telemetry.metrics.set_revision_source(self._revision)
        self.store.add_reload_listener(self.observability.config_reload)
        self.rollouts = RolloutRuntime(
            self.store,
            RolloutStore(self.database, self.node_id, self.hlc),
            self.clock,
            bucket_seconds=settings.bucket_seconds,
            tick_seconds=settings.tick_seconds,
            observers=[self.observability],
        )
        self.alerts = AlertRuntime(
            self.store,
            self.rollouts,
            AlertStore(self.database, self.hlc),
            self.clock,
            self.hlc,
            self.node_id,
            observers=[self.observability],
        )
        self.sync = (
            SyncService(
                settings.sync,
                database=self.database,
                hlc=self.hlc,
                clock=self.clock,
                config=self.store,
                runtime=self.rollouts,
                alerts=self.alerts,
            )
            if settings.sync is not None
            else None
        )
        if self.sync is not None:
            self.observability.watch_sync(self.sync.metrics)
        self.experiments = ExperimentRuntime(self.store, ExperimentStore(self.database), self.clock, context)
        self.server = grpc.aio.server(
            options=SERVER_OPTIONS, interceptors=[self.telemetry.server_interceptor()]
        )
        self.notifier = Notifier()
        self.health_servicer = health_aio.HealthServicer()
        self.health = HealthReporter(
            self.health_servicer,
            [service.full_name for service in SERVICES],
            [
                ComponentCheck("config", self._config_problem),
                ComponentCheck("database", self._database_problem),
                ComponentCheck("config-reload", self._reload_problem, critical=False),
                ComponentCheck("policy-loop", self._policy_problem),
                ComponentCheck("telemetry-exporter", self.observability.exporter_problem, critical=False),
                *(
                    [ComponentCheck("peer-sync", self.sync.health_problem, critical=False)]
                    if self.sync is not None
                    else []
                ),
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

    def _reload_problem(self) -> str | None:
        # After a clean start a broken edit degrades but does not stop serving: the last good version serves.
        snapshot = self.store.snapshot
        if snapshot is None or not snapshot.complete:
            return None
        failing = [str(problem) for source in snapshot.sources for problem in source.problems]
        return "last edit rejected, last good version serving: " + "; ".join(failing) if failing else None

    def _revision(self) -> int | None:
        snapshot = self.store.snapshot
        return snapshot.revision if snapshot is not None else None

    def _status_line(self) -> str:
        snapshot = self.store.snapshot
        if snapshot is None:
            return "loading configuration"
        problems = "; ".join(self.health.problems.values())
        state = "serving" if self.health.serving else f"NOT serving: {problems}"
        counts = f"{len(snapshot.flags)} flags, {len(snapshot.rollouts)} rollouts"
        return f"{state}; revision {snapshot.revision}, {counts}"

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
        await self.alerts.start()
        if self.sync is not None:  # after the runtimes it hands remote changes to
            await self.sync.start()
        await self.experiments.start()
        add_service(
            self.server,
            EvaluationServicer(
                self.store,
                self.clock,
                [self.observability, self.alerts.evaluation_errors, self.experiments],
            ),
            EVALUATION_SERVICE,
        )
        add_service(self.server, RoutingServicer(self.rollouts, [self.observability]), ROUTING_SERVICE)
        add_service(self.server, RolloutServicer(self.rollouts, self.store, self.auth), ROLLOUT_SERVICE)
        add_service(
            self.server, ExperimentServicer(self.experiments, self.auth, self.clock), EXPERIMENT_SERVICE
        )
        add_service(self.server, AlertServicer(self.alerts, self.auth), ALERT_SERVICE)
        add_service(
            self.server,
            AdminServicer(
                self.store,
                self.database,
                self.auth,
                self.node_id,
                self.settings.environment,
                self.started_at,
                sync=self.sync,
                health_problems=lambda: dict(self.health.problems),
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
        if self.notifier.watchdog_interval() is not None:
            self._tasks.append(
                asyncio.create_task(
                    run_watchdog(self.notifier, lambda: self._policy_problem() is None), name="watchdog"
                )
            )
        # systemd's READY=1 only once the first configuration loaded and the sockets listen.
        self.notifier.ready(self._status_line())
        log.info(
            "listening on %s",
            ", ".join(a.grpc_target for a in self.settings.listen),
            extra={"node_id": self.node_id},
        )

    async def _monitor_health(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_SECONDS)
            await self.health.update()
            self.notifier.status(self._status_line())
            if self.sync is not None:
                self.sync.peer_messages()  # refreshes the per-peer lag the metrics exporter reads

    async def reload(self) -> None:
        self.notifier.reloading("reloading configuration")
        await self.store.reload(force=True)
        await self.health.update()
        self.notifier.ready(self._status_line())

    async def stop(self) -> None:
        self.notifier.stopping("draining in-flight calls")
        await self.health.shutdown()
        await self.server.stop(DRAIN_SECONDS)  # drains in-flight calls, refuses new ones
        await cancel_and_wait(*self._tasks)
        if self.sync is not None:
            await self.sync.stop()
        await self.alerts.stop()
        await self.rollouts.stop()
        await self.experiments.stop()
        await self.store.stop()
        self.database.close()
        # Flushing exporters may block for their timeout; never on the event loop.
        await asyncio.to_thread(self.telemetry.shutdown)
        self.notifier.close()

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stopping.set)
        loop.add_signal_handler(signal.SIGINT, self._stopping.set)
        reloads: set[asyncio.Task[None]] = set()

        def reload_in_background() -> None:
            task = asyncio.create_task(self.reload(), name="sighup-reload")
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGHUP, reload_in_background)
        await self.start()
        await self._stopping.wait()
        log.info("stopping: draining in-flight calls")
        await self.stop()


def run(settings: ServeSettings) -> None:
    import uvloop

    async def main() -> None:
        await Daemon(settings).run_until_signalled()

    uvloop.run(main())
