"""grpc.health.v1 status per service and overall, derived from the daemon's components."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# The asyncio servicer; grpc_health re-exports it as health.aio, which type checkers cannot follow.
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True, slots=True)
class ComponentCheck:
    name: str
    # Returns None when healthy, else a short reason.
    probe: Callable[[], str | None]
    # A degraded component is reported but does not take the daemon out of service.
    critical: bool = True


class HealthReporter:
    def __init__(
        self, servicer: health_aio.HealthServicer, services: list[str], checks: list[ComponentCheck]
    ) -> None:
        self._servicer = servicer
        self._services = services
        self._checks = checks
        self.problems: dict[str, str] = {}
        self.draining = False

    @property
    def serving(self) -> bool:
        return self._serving(self.problems)

    def _serving(self, problems: dict[str, str]) -> bool:
        return not self.draining and not any(c.critical and c.name in problems for c in self._checks)

    def check(self) -> tuple[bool, dict[str, str]]:
        """Probe every component now: (would gRPC health say SERVING, the problems found)."""
        problems = {}
        for check in self._checks:
            reason = check.probe()
            if reason is not None:
                problems[check.name] = reason
        if self.draining:
            problems["daemon"] = "shutting down"
        return self._serving(problems), problems

    async def update(self) -> None:
        _, self.problems = self.check()
        status = SERVING if self.serving else NOT_SERVING
        for service in ("", *self._services):
            await self._servicer.set(service, status)

    async def shutdown(self) -> None:
        self.draining = True
        await self._servicer.enter_graceful_shutdown()
