"""How a daemon runs: start order, the ready report, signals, sd_notify, health monitoring and shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from sidecar.clock import Clock, SystemClock
from sidecar.daemon.ready import ready_report, write_ready_file
from sidecar.daemon.settings import Settings
from sidecar.daemon.wiring import Graph, add_services, build
from sidecar.ops.heap import keep_pauses_short
from sidecar.ops.sdnotify import Notifier, run_watchdog
from sidecar.server.listen import bind, restrict_unix_sockets
from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)

HEALTH_INTERVAL_SECONDS = 1.0
DRAIN_SECONDS = 5.0


class StartError(Exception):
    """The daemon cannot start (a port is taken, a certificate unreadable); the message says why."""


class Lifecycle:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.notifier = Notifier()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        g = self.graph
        await g.store.start()
        await g.rollouts.start()
        await g.alerts.start()
        if g.sync is not None:  # after the runtimes it hands remote changes to
            try:
                await g.sync.start()
            except (OSError, RuntimeError) as exc:  # grpc raises RuntimeError for a port it cannot bind
                raise StartError(f"peer sync: {exc}") from exc
        await g.experiments.start()
        add_services(g)
        try:
            bound = bind(g.server, g.settings.listen)
        except OSError as exc:
            raise StartError(str(exc)) from exc
        await g.server.start()
        restrict_unix_sockets(bound)
        flagd_sync = await self._start_flagd_sync()
        await g.health.update()
        http = await self._start_management()
        http["ofrep"] = await self._start_ofrep()
        self._tasks.append(asyncio.create_task(self._monitor_health(), name="health"))
        if self.notifier.watchdog_interval() is not None:

            def healthy() -> bool:
                return g.checks.policy_problem() is None

            self._tasks.append(asyncio.create_task(run_watchdog(self.notifier, healthy), name="watchdog"))
        self._report_ready(tuple(a.grpc_target for a in bound), http, flagd_sync)

    async def _start_management(self) -> dict[str, str | None]:
        """Start the management listener(s); the bound addresses by role (management, prometheus)."""
        g = self.graph
        roles = {
            "management": g.settings.management_listen,
            "prometheus": g.settings.telemetry.prometheus_address,
        }
        asked = {role: address for role, address in roles.items() if address is not None}
        if g.management is None or not asked:
            return dict.fromkeys(roles)
        try:
            bound = await g.management.start(list(asked.values()))
        except OSError as exc:
            raise StartError(f"management listener: {exc.strerror or exc}") from exc
        by_role = dict(zip(asked, bound, strict=True))
        return {role: by_role.get(role) for role in roles}

    async def _start_ofrep(self) -> str | None:
        g = self.graph
        if g.ofrep is None or g.settings.ofrep_listen is None:
            return None
        try:
            (bound,) = await g.ofrep.start([g.settings.ofrep_listen])
        except OSError as exc:
            problem = exc.strerror or exc
            raise StartError(f"OFREP listener: {problem}; choose another --ofrep-listen or off") from exc
        return bound

    async def _start_flagd_sync(self) -> str | None:
        g = self.graph
        if g.flagd_sync_server is None or g.settings.flagd_sync_listen is None:
            return None
        try:
            (bound,) = bind(g.flagd_sync_server, (g.settings.flagd_sync_listen,))
        except OSError as exc:
            raise StartError(f"flagd sync: {exc}; choose another --flagd-sync-listen or off") from exc
        await g.flagd_sync_server.start()
        restrict_unix_sockets((bound,))
        return bound.grpc_target

    def _report_ready(
        self, targets: tuple[str, ...], http: dict[str, str | None], flagd_sync: str | None
    ) -> None:
        g = self.graph
        sync = None
        if g.sync is not None:
            sync = f"{g.sync.settings.listen.rpartition(':')[0]}:{g.sync.port}"
        if g.settings.ready_file is not None:
            write_ready_file(g.settings.ready_file, ready_report(targets, sync, http, flagd_sync))
        # systemd's READY=1 only once the first configuration loaded and the sockets listen.
        self.notifier.ready(g.checks.status_line(g.health))
        management = http.get("management")
        ofrep = http.get("ofrep")
        log.info(
            "listening on %s%s%s%s%s",
            ", ".join(targets),
            f"; peer sync on {sync}" if sync else "",
            f"; management on http://{management}" if management else "",
            f"; flagd sync on {flagd_sync}" if flagd_sync else "",
            f"; OFREP on http://{ofrep}" if ofrep else "",
            extra={
                "node_id": g.node_id,
                "grpc": list(targets),
                "sync": sync,
                "flagd_sync": flagd_sync,
                **http,
            },
        )

    async def _monitor_health(self) -> None:
        g = self.graph
        while True:
            await asyncio.sleep(HEALTH_INTERVAL_SECONDS)
            await asyncio.to_thread(g.database.probe_storage)  # clears the storage problem once writes work
            await g.health.update()
            self.notifier.status(g.checks.status_line(g.health))
            if g.sync is not None:
                g.sync.peer_messages()  # refreshes the per-peer lag the metrics exporter reads

    async def reload(self) -> None:
        g = self.graph
        self.notifier.reloading("reloading configuration")
        await g.store.reload(force=True)
        await g.health.update()
        self.notifier.ready(g.checks.status_line(g.health))

    async def stop(self) -> None:
        g = self.graph
        self.notifier.stopping("draining in-flight calls")
        if g.settings.ready_file is not None:
            g.settings.ready_file.unlink(missing_ok=True)  # no longer ready
        await g.health.shutdown()
        await g.server.stop(DRAIN_SECONDS)  # drains in-flight calls, refuses new ones
        if g.management is not None:  # after the drain, so /readyz says 503 while it lasts
            await g.management.stop()
        if g.ofrep is not None:  # after the drain too; its change streams are ended, not waited for
            await g.ofrep.stop()
        if g.flagd_sync_server is not None:
            await g.flagd_sync_server.stop(0)  # its streams never end by themselves
        await cancel_and_wait(*self._tasks)
        if g.sync is not None:
            await g.sync.stop()
        await g.alerts.stop()
        await g.rollouts.stop()
        await g.experiments.stop()
        await g.store.stop()
        g.database.close()
        g.state_lock.release()
        # Flushing exporters may block for their timeout; never on the event loop.
        await asyncio.to_thread(g.telemetry.shutdown)
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


def run(settings: Settings, clock: Clock | None = None) -> None:
    """Run a daemon until SIGTERM or SIGINT."""
    import uvloop

    # Everything the daemon creates (database, WAL, token, ready file) is private to its user.
    os.umask(0o077)
    keep_pauses_short()

    async def main() -> None:
        await Lifecycle(build(settings, clock or SystemClock())).run_until_signalled()

    uvloop.run(main())
