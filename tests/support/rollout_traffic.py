"""Simulated services: route units through a real daemon and report outcomes like a client library."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sidecar.server.convert import to_struct
from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc
from tests.support.daemon import Daemon

# version -> (success, latency_ms)
Behaviour = Callable[[int, random.Random], tuple[bool, float]]


def healthy(version: int, rng: random.Random) -> tuple[bool, float]:
    return rng.random() > 0.005, rng.lognormvariate(2.3, 0.3)


def failing_v2(error_rate: float) -> Behaviour:
    def behave(version: int, rng: random.Random) -> tuple[bool, float]:
        if version == pb.VERSION_V2:
            return rng.random() > error_rate, rng.lognormvariate(2.3, 0.3)
        return rng.random() > 0.005, rng.lognormvariate(2.3, 0.3)

    return behave


def slow_v2(factor: float) -> Behaviour:
    def behave(version: int, rng: random.Random) -> tuple[bool, float]:
        latency = rng.lognormvariate(2.3, 0.2)
        return True, latency * factor if version == pb.VERSION_V2 else latency

    return behave


@dataclass
class Traffic:
    daemon: Daemon
    rollout: str
    behaviour: Behaviour = healthy
    stickiness: str = "targetingKey"
    seed: int = 1
    routed: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stub = routing_pb2_grpc.RoutingServiceStub(self.daemon.channel())
        self.rng = random.Random(self.seed)
        self.units = itertools.count()

    def route(self, unit: str) -> pb.RouteResponse:
        return self.stub.Route(
            pb.RouteRequest(rollout_key=self.rollout, context=to_struct({self.stickiness: unit})), timeout=5
        )

    def step(self, units: int = 100) -> list[pb.RouteResponse]:
        """Route ``units`` new units, call the chosen versions (simulated) and report every outcome."""
        outcomes: list[pb.Outcome] = []
        responses: list[pb.RouteResponse] = []
        for _ in range(units):
            response = self.route(f"user-{next(self.units)}")
            responses.append(response)
            self.routed[response.version] = self.routed.get(response.version, 0) + 1
            success, latency = self.behaviour(response.version, self.rng)
            outcomes.append(
                pb.Outcome(
                    rollout_key=self.rollout,
                    version=response.version,
                    success=success,
                    latency_ms=latency,
                    error_type="" if success else "http_500",
                    generation=response.generation,
                )
            )
        self.stub.ReportOutcomes(pb.ReportOutcomesRequest(outcomes=outcomes), timeout=10)
        return responses
