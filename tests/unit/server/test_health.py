"""Health per component: a critical problem takes every service out of rotation, a degraded one does not."""

from __future__ import annotations

import asyncio

import pytest
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.server.health import NOT_SERVING, SERVING, ComponentCheck, HealthReporter
from tests.unit.server.harness import TIMEOUT, Stack

SERVICES = ["sidecar.v1.EvaluationService", "sidecar.v1.AdminService"]


async def statuses(servicer: health_aio.HealthServicer) -> dict[str, int]:
    answers = {}
    for name in ("", *SERVICES):
        response = await servicer.Check(health_pb2.HealthCheckRequest(service=name), None)  # type: ignore[arg-type]
        answers[name] = response.status
    return answers


@pytest.mark.parametrize(
    ("critical", "serving", "status"),
    [
        pytest.param(True, False, NOT_SERVING, id="critical-problem"),
        pytest.param(False, True, SERVING, id="degraded-only"),
    ],
)
def test_a_problem_is_reported_and_only_a_critical_one_stops_serving(
    critical: bool, serving: bool, status: int
) -> None:
    problem: list[str | None] = [None]

    async def scenario() -> None:
        servicer = health_aio.HealthServicer()
        reporter = HealthReporter(
            servicer, SERVICES, [ComponentCheck("part", lambda: problem[0], critical=critical)]
        )
        await reporter.update()
        assert reporter.serving
        assert set((await statuses(servicer)).values()) == {SERVING}
        problem[0] = "part is broken"
        await reporter.update()
        assert reporter.problems == {"part": "part is broken"}
        assert reporter.serving is serving
        assert set((await statuses(servicer)).values()) == {status}
        problem[0] = None
        await reporter.update()
        assert reporter.problems == {}
        await reporter.shutdown()

    asyncio.run(scenario())


def test_the_stack_answers_health_checks_for_every_service(stack: Stack) -> None:
    stub = health_pb2_grpc.HealthStub(stack.channel)
    for name in ("", "sidecar.v1.EvaluationService", "sidecar.v1.AlertService"):
        response = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=TIMEOUT)
        assert response.status == SERVING
