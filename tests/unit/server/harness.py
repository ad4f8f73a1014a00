"""The daemon's object graph in-process: real stores on a SQLite file, real runtimes, the servicers behind a
``grpc.aio`` server on 127.0.0.1:0, and a synchronous client channel to it.

The graph is put together in the same order as the daemon's wiring, but here, so that the servicers are
tested as units and the tests do not depend on where the wiring lives. The server and its runtimes run on
an event loop in a background thread; tests call it with blocking stubs and reach into the loop with
:meth:`Stack.run` and :meth:`Stack.call`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2_grpc

from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.alerts import AlertRuntime
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.runtime.rollouts import RolloutRuntime
from sidecar.server.admin import AdminServicer
from sidecar.server.alerts import AlertServicer
from sidecar.server.auth import AdminAuth, load_or_create_token
from sidecar.server.evaluation import EvaluationServicer
from sidecar.server.experiments import ExperimentServicer
from sidecar.server.health import ComponentCheck, HealthReporter
from sidecar.server.observability import DaemonTelemetry
from sidecar.server.registry import add_service
from sidecar.server.routing import RolloutServicer, RoutingServicer
from sidecar.store.alert_store import AlertStore
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore
from sidecar.store.rollout_store import RolloutStore
from sidecar.telemetry import TelemetrySettings, setup_telemetry
from sidecar.v1 import admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2

T = TypeVar("T")
# Generous: five test suites may share two cores.
TIMEOUT = 30.0
ENVIRONMENT = "test"
NODE_ID = "node-unit"


def service(module: Any, name: str) -> Any:
    return module.DESCRIPTOR.services_by_name[name]


EVALUATION = service(evaluation_pb2, "EvaluationService")
ADMIN = service(admin_pb2, "AdminService")
ROUTING = service(routing_pb2, "RoutingService")
ROLLOUT = service(routing_pb2, "RolloutService")
EXPERIMENT = service(experiment_pb2, "ExperimentService")
ALERT = service(alerts_pb2, "AlertService")


class ManualClock:
    """Wall time that moves only when a test says so; monotonic time follows it."""

    def __init__(self, start: float = 1.8e9) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


@dataclass
class Stack:
    config_dir: Path
    state_dir: Path
    clock: ManualClock
    loop: asyncio.AbstractEventLoop
    database: StateDatabase
    store: ConfigStore
    rollouts: RolloutRuntime
    alerts: AlertRuntime
    experiments: ExperimentRuntime
    health: HealthReporter
    token: str
    port: int = 0
    channel: grpc.Channel = field(init=False)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def auth(self, actor: str = "tester", token: str | None = None) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {token or self.token}"), ("x-actor", actor)]

    def call(self, awaitable: Awaitable[T]) -> T:
        """Await something on the server's loop and return its result."""

        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(TIMEOUT)

    def run(self, function: Callable[[], T]) -> T:
        """Run a synchronous step (a policy tick, an alert evaluation) on the server's loop."""

        async def wrapped() -> T:
            return function()

        return self.call(wrapped())

    def reload(self) -> None:
        self.call(self.store.reload(force=True))


async def _build(config_dir: Path, state_dir: Path, clock: ManualClock) -> tuple[Stack, grpc.aio.Server]:
    database = StateDatabase(state_dir / "sidecar.db")
    node_id = database.node_id(NODE_ID)
    hlc = HybridLogicalClock(node_id, clock)
    context = {"environment": ENVIRONMENT}
    store = ConfigStore(config_dir, database, hlc, clock, context)
    token = load_or_create_token(state_dir / "admin.token")
    auth = AdminAuth(token)
    telemetry = setup_telemetry(TelemetrySettings(enabled=False))
    observability = DaemonTelemetry(telemetry)
    store.add_reload_listener(observability.config_reload)
    # The policy loop never ticks by itself here: tests tick it with Stack.run(stack.rollouts.tick).
    rollouts = RolloutRuntime(
        store, RolloutStore(database, node_id, hlc), clock, tick_seconds=3600.0, observers=[observability]
    )
    alerts = AlertRuntime(
        store, rollouts, AlertStore(database, hlc), clock, hlc, node_id, observers=[observability]
    )
    experiments = ExperimentRuntime(store, ExperimentStore(database), clock, context)
    health_servicer = health_aio.HealthServicer()
    health = HealthReporter(
        health_servicer,
        [s.full_name for s in (EVALUATION, ADMIN, ROUTING, ROLLOUT, EXPERIMENT, ALERT)],
        [ComponentCheck("config", lambda: None if store.snapshot else "no configuration loaded")],
    )
    await store.start()
    await rollouts.start()
    await alerts.start()
    await experiments.start()
    server = grpc.aio.server()
    evaluation_observers = [observability, alerts.evaluation_errors, experiments]
    add_service(server, EvaluationServicer(store, clock, evaluation_observers), EVALUATION)
    add_service(server, RoutingServicer(rollouts, [observability]), ROUTING)
    add_service(server, RolloutServicer(rollouts, store, auth), ROLLOUT)
    add_service(server, ExperimentServicer(experiments, auth, clock), EXPERIMENT)
    add_service(server, AlertServicer(alerts, auth), ALERT)
    admin = AdminServicer(
        store,
        database,
        auth,
        node_id,
        ENVIRONMENT,
        time.monotonic(),
        health_problems=lambda: dict(health.problems),
    )
    add_service(server, admin, ADMIN)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        raise OSError("cannot listen on 127.0.0.1:0")
    await server.start()
    await health.update()
    loop = asyncio.get_running_loop()
    stack = Stack(
        config_dir,
        state_dir,
        clock,
        loop,
        database,
        store,
        rollouts,
        alerts,
        experiments,
        health,
        token,
        port,
    )
    return stack, server


async def _stop(stack: Stack, server: grpc.aio.Server) -> None:
    await stack.health.shutdown()
    await server.stop(1.0)
    await stack.alerts.stop()
    await stack.rollouts.stop()
    await stack.experiments.stop()
    await stack.store.stop()
    stack.database.close()


@contextmanager
def running_stack(config_dir: Path, state_dir: Path, clock: ManualClock | None = None) -> Iterator[Stack]:
    """Start the stack on a loop in a background thread; stop it and the loop on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="unit-server", daemon=True)
    thread.start()
    try:
        future = asyncio.run_coroutine_threadsafe(_build(config_dir, state_dir, clock or ManualClock()), loop)
        stack, server = future.result(TIMEOUT)
        stack.channel = grpc.insecure_channel(stack.target)
        try:
            yield stack
        finally:
            stack.channel.close()
            asyncio.run_coroutine_threadsafe(_stop(stack, server), loop).result(TIMEOUT)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TIMEOUT)
        loop.close()


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    """The error a blocking call fails with; fails the test when it succeeds."""
    try:
        call()
    except grpc.RpcError as error:
        return error
    raise AssertionError("the call succeeded")
