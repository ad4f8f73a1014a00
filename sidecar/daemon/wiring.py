"""The object graph of one daemon, built from :class:`Settings`: the one place its parts meet."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc
from grpc_reflection.v1alpha._async import ReflectionServicer

import sidecar
from sidecar.clock import Clock
from sidecar.config.limits import MESSAGE_BYTES, grpc_options
from sidecar.daemon.checks import Checks
from sidecar.daemon.settings import Settings
from sidecar.hlc import HybridLogicalClock
from sidecar.ops.heap import freeze_long_lived
from sidecar.protocols.flagd import evaluation as flagd_evaluation
from sidecar.protocols.flagd.events import EventSource
from sidecar.protocols.flagd.selected import SelectedEvaluator
from sidecar.protocols.flagd.sync import SYNC_SERVICE as FLAGD_SYNC_SERVICE
from sidecar.protocols.flagd.sync import FlagSyncServicer
from sidecar.protocols.management import ManagementServer
from sidecar.protocols.ofrep.routes import add_ofrep_routes, ofrep_server
from sidecar.protocols.probes import Readiness, add_probe_routes
from sidecar.runtime.alerts import AlertRuntime
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.server.admin import AdminServicer
from sidecar.server.alerts import AlertServicer
from sidecar.server.auth import AdminAuth, load_or_create_token
from sidecar.server.evaluation import EvaluationObserver, EvaluationServicer
from sidecar.server.experiments import ExperimentServicer
from sidecar.server.health import ComponentCheck, HealthReporter
from sidecar.server.observability import DaemonTelemetry
from sidecar.server.registry import GuardingServer, add_service
from sidecar.server.routing import RolloutServicer, RoutingServicer
from sidecar.store.alert_store import AlertStore
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore
from sidecar.store.integrity import mark_in_use
from sidecar.store.rollout_store import RolloutStore
from sidecar.store.state_files import DATABASE, StateLock, open_state
from sidecar.sync.service import SyncService
from sidecar.telemetry import Telemetry, setup_telemetry
from sidecar.v1 import admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2

EVALUATION_SERVICE = evaluation_pb2.DESCRIPTOR.services_by_name["EvaluationService"]
ADMIN_SERVICE = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
ROUTING_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RoutingService"]
ROLLOUT_SERVICE = routing_pb2.DESCRIPTOR.services_by_name["RolloutService"]
EXPERIMENT_SERVICE = experiment_pb2.DESCRIPTOR.services_by_name["ExperimentService"]
ALERT_SERVICE = alerts_pb2.DESCRIPTOR.services_by_name["AlertService"]
log = logging.getLogger(__name__)

SERVICES = (
    EVALUATION_SERVICE,
    ADMIN_SERVICE,
    ROUTING_SERVICE,
    ROLLOUT_SERVICE,
    EXPERIMENT_SERVICE,
    ALERT_SERVICE,
)
# Served beside ours for OpenFeature's flagd providers. Their descriptors live in a pool of their own
# (see sidecar.protocols.flagd.pool), which the reflection service cannot read: it does not list them.
FLAGD_SERVICES = (flagd_evaluation.V1_SERVICE, flagd_evaluation.V2_SERVICE)
SERVER_OPTIONS = [
    *grpc_options(MESSAGE_BYTES),
    # Two daemons must never silently share a port.
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
]


@dataclass(slots=True)
class Graph:
    settings: Settings
    clock: Clock
    started_at: float
    state_lock: StateLock
    database: StateDatabase
    node_id: str
    store: ConfigStore
    auth: AdminAuth
    telemetry: Telemetry
    observability: DaemonTelemetry
    rollouts: RolloutRuntime
    alerts: AlertRuntime
    sync: SyncService | None
    experiments: ExperimentRuntime
    checks: Checks
    server: grpc.aio.Server
    health_servicer: health_aio.HealthServicer
    health: HealthReporter
    # The HTTP listener(s) for /metrics, /healthz and /readyz; None when switched off.
    management: ManagementServer | None
    static_context: dict[str, object]
    flagd_events: EventSource
    # flagd's sync service on its own listener (where in-process providers look); None when turned off.
    flagd_sync_server: grpc.aio.Server | None
    # The OFREP HTTP listener (OFREP providers); None when turned off.
    ofrep: ManagementServer | None


def build(settings: Settings, clock: Clock) -> Graph:
    """Every part of the daemon, connected but not started."""
    started_at = time.monotonic()
    state_lock, database = _open_database(settings)
    node_id = database.node_id(settings.node_id)
    hlc = HybridLogicalClock(node_id, clock)
    context = {"environment": settings.environment, **settings.static_context}
    store = ConfigStore(settings.config_dir, database, hlc, clock, context)
    telemetry = _telemetry(settings, node_id)
    observability = DaemonTelemetry(telemetry)
    store.add_reload_listener(observability.config_reload)
    store.add_snapshot_listener(lambda _snapshot: freeze_long_lived())
    observability.watch_config_files(lambda: store.snapshot.sources if store.snapshot else ())
    rollouts = RolloutRuntime(
        store,
        RolloutStore(database, node_id, hlc),
        clock,
        bucket_seconds=settings.bucket_seconds,
        tick_seconds=settings.tick_seconds,
        observers=[observability],
    )
    alerts = AlertRuntime(
        store, rollouts, AlertStore(database, hlc), clock, hlc, node_id, observers=[observability]
    )
    sync = None
    if settings.sync is not None:
        sync = SyncService(
            settings.sync,
            database=database,
            hlc=hlc,
            clock=clock,
            config=store,
            runtime=rollouts,
            alerts=alerts,
        )
        observability.watch_sync(sync.metrics)
    checks = Checks(store, database, rollouts, clock, settings.tick_seconds, alerts.evaluation_errors)
    telemetry.metrics.set_revision_source(checks.revision)
    health_servicer = health_aio.HealthServicer()
    health = HealthReporter(
        health_servicer,
        [service.full_name for service in (*SERVICES, *FLAGD_SERVICES)],
        _components(checks, observability, sync),
    )
    return Graph(
        settings=settings,
        clock=clock,
        started_at=started_at,
        state_lock=state_lock,
        database=database,
        node_id=node_id,
        store=store,
        auth=AdminAuth(load_or_create_token(settings.token_file)),
        telemetry=telemetry,
        observability=observability,
        rollouts=rollouts,
        alerts=alerts,
        sync=sync,
        experiments=ExperimentRuntime(store, ExperimentStore(database), clock, context),
        checks=checks,
        server=grpc.aio.server(options=SERVER_OPTIONS, interceptors=[telemetry.server_interceptor()]),
        health_servicer=health_servicer,
        health=health,
        management=_management(settings, telemetry, health),
        static_context=context,
        flagd_events=EventSource(store),
        flagd_sync_server=(
            None
            if settings.flagd_sync_listen is None
            else grpc.aio.server(options=SERVER_OPTIONS, interceptors=[telemetry.server_interceptor()])
        ),
        ofrep=None if settings.ofrep_listen is None else ofrep_server(),
    )


def _open_database(settings: Settings) -> tuple[StateLock, StateDatabase]:
    """Lock the state directory, refuse damaged state (unless told to start empty), open the database."""
    state_lock, set_aside = open_state(settings.state_dir, start_empty=settings.start_empty)
    if set_aside is not None:
        log.warning("state was missing or damaged; set aside as %s, starting empty", set_aside)
    database = StateDatabase(settings.state_dir / DATABASE, settings.state_max_size)
    mark_in_use(settings.state_dir)
    return state_lock, database


def _telemetry(settings: Settings, node_id: str) -> Telemetry:
    resource = {
        "service.instance.id": node_id,
        "deployment.environment.name": settings.environment,
        "service.version": sidecar.__version__,
    }
    return setup_telemetry(settings.telemetry, resource)


def _management(settings: Settings, telemetry: Telemetry, health: HealthReporter) -> ManagementServer | None:
    if settings.management_listen is None and settings.telemetry.prometheus_address is None:
        return None
    server = ManagementServer()
    add_probe_routes(server, lambda: Readiness(*health.check()), telemetry.scrape)
    return server


def _components(
    checks: Checks, observability: DaemonTelemetry, sync: SyncService | None
) -> list[ComponentCheck]:
    components = [
        ComponentCheck("config", checks.config_problem),
        ComponentCheck("database", checks.database_problem),
        ComponentCheck("storage", checks.storage_problem),
        ComponentCheck("config-reload", checks.reload_problem, critical=False),
        ComponentCheck("policy-loop", checks.policy_problem),
        ComponentCheck("telemetry-exporter", observability.exporter_problem, critical=False),
        ComponentCheck("flag-errors", checks.flag_errors_problem, critical=False),
    ]
    if sync is not None:
        components.append(ComponentCheck("peer-sync", sync.health_problem, critical=False))
    return components


def add_services(graph: Graph) -> None:
    """Put every servicer, health and reflection on the gRPC server (once the runtimes have started)."""
    g = graph
    server = g.server
    evaluation_observers: list[EvaluationObserver] = [
        g.observability,
        g.alerts.evaluation_errors,
        g.experiments,
    ]
    evaluation = EvaluationServicer(g.store, g.clock, evaluation_observers, miss_observers=[g.observability])
    add_service(server, evaluation, EVALUATION_SERVICE)
    add_service(server, RoutingServicer(g.rollouts, [g.observability]), ROUTING_SERVICE)
    add_service(server, RolloutServicer(g.rollouts, g.store, g.auth), ROLLOUT_SERVICE)
    add_service(server, ExperimentServicer(g.experiments, g.auth, g.clock), EXPERIMENT_SERVICE)
    add_service(server, AlertServicer(g.alerts, g.auth), ALERT_SERVICE)
    admin = AdminServicer(
        g.store,
        g.database,
        g.auth,
        g.node_id,
        g.settings.environment,
        g.started_at,
        sync=g.sync,
        health_problems=lambda: dict(g.health.problems),
    )
    add_service(server, admin, ADMIN_SERVICE)
    for servicer, service in flagd_evaluation.servicers(
        g.store, g.clock, g.flagd_events, evaluation_observers
    ):
        add_service(server, servicer, service)
    if g.ofrep is not None:
        add_ofrep_routes(g.ofrep, SelectedEvaluator(g.store, g.clock, evaluation_observers), g.flagd_events)
    if g.flagd_sync_server is not None:
        add_service(
            g.flagd_sync_server, FlagSyncServicer(g.flagd_events, g.static_context), FLAGD_SYNC_SERVICE
        )
    # The libraries' own registration, through a stand-in that puts our edge rules on their methods too.
    guarded = GuardingServer(server)
    health_pb2_grpc.add_HealthServicer_to_server(g.health_servicer, guarded)
    names = [
        *(service.full_name for service in SERVICES),
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    ]
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(ReflectionServicer(names), guarded)
