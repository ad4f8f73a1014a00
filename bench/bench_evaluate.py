"""Evaluate and EvaluateAll throughput and latency against the real daemon, with a bare echo server as floor.

Run: ``.venv/bin/python -m bench.bench_evaluate [--seconds 3]``. Client and server share this machine's
cores, so compare rows within one run rather than across machines.
"""

from __future__ import annotations

import argparse

import grpc
import uvloop

from bench.harness import Call, Endpoints, closed_loop, echo_server, open_loop, sidecar_daemon
from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc

IN_FLIGHT = (1, 16, 64)
CONTEXTS = [
    to_struct({"targetingKey": f"user-{i}", "email": f"u{i}@shop.test", "plan": "free"}) for i in range(1024)
]
EVALUATE = [evaluation_pb2.EvaluateRequest(flag_key="new-search", context=c) for c in CONTEXTS]
EVALUATE_ALL = [evaluation_pb2.EvaluateAllRequest(context=c) for c in CONTEXTS]


def evaluate_call(stub: evaluation_pb2_grpc.EvaluationServiceStub, rpc: str) -> Call:
    if rpc == "Evaluate":

        async def evaluate(i: int) -> object:
            return await stub.Evaluate(EVALUATE[i & 1023])

        return evaluate

    async def evaluate_all(i: int) -> object:
        return await stub.EvaluateAll(EVALUATE_ALL[i & 1023])

    return evaluate_all


async def measure(name: str, endpoints: Endpoints, seconds: float, rpcs: tuple[str, ...]) -> None:
    for transport, target in (("uds", endpoints.unix), ("tcp", endpoints.tcp)):
        async with grpc.aio.insecure_channel(target) as channel:
            stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
            for rpc in rpcs:
                call = evaluate_call(stub, rpc)
                for in_flight in IN_FLIGHT:
                    result = await closed_loop(call, in_flight, seconds)
                    print(result.line(f"{name} {rpc} {transport} in-flight={in_flight}"), flush=True)


async def fixed_rate(endpoints: Endpoints, seconds: float) -> None:
    for transport, target in (("uds", endpoints.unix), ("tcp", endpoints.tcp)):
        async with grpc.aio.insecure_channel(target) as channel:
            stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
            result = await open_loop(evaluate_call(stub, "Evaluate"), 1000, seconds)
            print(result.line(f"sidecar Evaluate {transport} open-loop 1000 rps"), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"{'':<44} {'throughput':>13}   {'latency':>12}")
    with echo_server() as echo:
        uvloop.run(measure("echo   ", echo, args.seconds, ("Evaluate",)))
    with sidecar_daemon() as (daemon, _state):
        uvloop.run(measure("sidecar", daemon, args.seconds, ("Evaluate", "EvaluateAll")))
        uvloop.run(fixed_rate(daemon, args.seconds))


if __name__ == "__main__":
    main()
