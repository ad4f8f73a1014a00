"""Route and ReportOutcomes throughput and latency against the real daemon.

Run: ``.venv/bin/python -m bench.bench_routing [--seconds 3]``. ReportOutcomes is acknowledged only once the
batch is durable in SQLite (group commit), so its latency includes an fsync shared by concurrent callers.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import grpc
import uvloop

from bench.harness import Call, Endpoints, closed_loop, open_loop, sidecar_daemon
from sidecar.server.convert import to_struct
from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc

IN_FLIGHT = (1, 16, 64)
ROUTES = [
    pb.RouteRequest(rollout_key="svc", context=to_struct({"targetingKey": f"user-{i}"})) for i in range(1024)
]
RNG = random.Random(7)


def batch(size: int) -> pb.ReportOutcomesRequest:
    return pb.ReportOutcomesRequest(
        outcomes=[
            pb.Outcome(
                rollout_key="svc",
                version=pb.VERSION_V2 if i % 2 else pb.VERSION_V1,
                success=RNG.random() > 0.01,
                latency_ms=RNG.lognormvariate(2.3, 0.4),
            )
            for i in range(size)
        ]
    )


def route_call(stub: routing_pb2_grpc.RoutingServiceStub) -> Call:
    async def call(i: int) -> object:
        return await stub.Route(ROUTES[i & 1023])

    return call


def report_call(stub: routing_pb2_grpc.RoutingServiceStub, request: pb.ReportOutcomesRequest) -> Call:
    async def call(_: int) -> object:
        return await stub.ReportOutcomes(request)

    return call


async def measure(endpoints: Endpoints, seconds: float) -> None:
    for transport, target in (("uds", endpoints.unix), ("tcp", endpoints.tcp)):
        async with grpc.aio.insecure_channel(target) as channel:
            stub = routing_pb2_grpc.RoutingServiceStub(channel)
            for in_flight in IN_FLIGHT:
                result = await closed_loop(route_call(stub), in_flight, seconds)
                print(result.line(f"Route {transport} in-flight={in_flight}"), flush=True)
            for size in (1, 100, 1000):
                request = batch(size)
                for in_flight in (1, 16):
                    result = await closed_loop(report_call(stub, request), in_flight, seconds)
                    print(
                        result.line(f"ReportOutcomes x{size} {transport} in-flight={in_flight}")
                        + f"   = {result.rps * size:,.0f} outcomes/s",
                        flush=True,
                    )
    async with grpc.aio.insecure_channel(endpoints.unix) as channel:
        result = await open_loop(route_call(routing_pb2_grpc.RoutingServiceStub(channel)), 1000, seconds)
        print(result.line("Route uds open-loop 1000 rps"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp)
        (config / "rollouts.yaml").write_text(
            "rollouts:\n  svc:\n    phases:\n      - {name: HALF, percent: 50, minDuration: 1h}\n"
            "      - {name: FULL, percent: 100}\n"
        )
        with sidecar_daemon(config=config) as (daemon, _state):
            uvloop.run(measure(daemon, args.seconds))


if __name__ == "__main__":
    main()
