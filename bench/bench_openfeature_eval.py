"""One flag evaluated through every door the sidecar offers OpenFeature applications, against their floors.

Over the network, one grpc.aio client (same channel options, same contexts, same fractional flag) calls our
``EvaluationService.Evaluate`` and flagd's ``flagd.evaluation.v1`` ``ResolveBoolean``; the floor is the same
client against a bare grpc.aio echo server. OFREP's single-flag POST is timed from an aiohttp client.

In the application, the Python flagd provider evaluates in-process from the flags it synced, and in RPC mode
it sends every call to the daemon; the floor for in-process evaluation is openfeature-flagd-core (the
evaluator the provider runs) called directly on the same flags, without the OpenFeature client around it.

Run: ``.venv/bin/python -m bench.bench_openfeature_eval [--seconds 3]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import uvloop
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import CacheType, ResolverType
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from bench.harness import Call, closed_loop, echo_server
from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2 as flagd_pb
from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2_grpc as flagd_grpc
from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc
from tests.support.daemon import Daemon

IN_FLIGHT = (1, 16)
KEY = "new-search"
FLAGS = {
    "flags": {
        KEY: {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", 20], ["off", 80]]},
        }
    }
}
USERS = [{"targetingKey": f"user-{i}", "email": f"u{i}@shop.test", "plan": "free"} for i in range(1024)]


def ours(channel: grpc.aio.Channel) -> Call:
    stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
    requests = [evaluation_pb2.EvaluateRequest(flag_key=KEY, context=to_struct(u)) for u in USERS]

    async def call(i: int) -> object:
        return await stub.Evaluate(requests[i & 1023])

    return call


def flagd_resolve(channel: grpc.aio.Channel) -> Call:
    stub = flagd_grpc.ServiceStub(channel)
    requests = []
    for user in USERS:
        request = flagd_pb.ResolveBooleanRequest(flag_key=KEY)
        request.context.update(user)
        requests.append(request)

    async def call(i: int) -> object:
        return await stub.ResolveBoolean(requests[i & 1023])

    return call


async def grpc_rows(
    label: str, target: str, make: Callable[[grpc.aio.Channel], Call], seconds: float
) -> float:
    """Prints one row per in-flight count; returns the rate at the highest."""
    rate = 0.0
    async with grpc.aio.insecure_channel(target) as channel:
        call = make(channel)
        for in_flight in IN_FLIGHT:
            result = await closed_loop(call, in_flight, seconds)
            rate = result.rps
            print(result.line(f"{label} in-flight={in_flight}"), flush=True)
    return rate


async def ofrep_rows(url: str, seconds: float) -> None:
    bodies = [json.dumps({"context": u}).encode() for u in USERS]
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as session:

        async def call(i: int) -> object:
            async with session.post(
                f"{url}/ofrep/v1/evaluate/flags/{KEY}", data=bodies[i & 1023], headers=headers
            ) as r:
                if r.status != 200:
                    raise RuntimeError(f"OFREP answered {r.status}")
                return await r.read()

        for in_flight in IN_FLIGHT:
            result = await closed_loop(call, in_flight, seconds)
            print(result.line(f"OFREP POST (aiohttp client) in-flight={in_flight}"), flush=True)


def per_call_us(evaluate: Callable[[int], Any], seconds: float) -> float:
    """Median of five rounds' mean µs per call, for a synchronous call."""
    rounds = []
    for _ in range(5):
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 5:
            for i in range(200):
                evaluate(count + i)
            count += 200
        rounds.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(rounds)


def application_rows(daemon: Daemon, seconds: float) -> None:
    contexts = [
        EvaluationContext(u["targetingKey"], {k: v for k, v in u.items() if k != "targetingKey"})
        for u in USERS
    ]
    core = FlagdCore()
    core.set_flags(FLAGS)
    floor = per_call_us(lambda i: core.resolve_boolean_value(KEY, False, contexts[i & 1023]), seconds)
    print(f"{'in-process floor: flagd-core directly':<52} {floor:9.1f} µs/call   x floor  1.00")
    for mode, port in ((ResolverType.IN_PROCESS, daemon.flagd_sync_port), (ResolverType.RPC, daemon.port)):
        provider = FlagdProvider(resolver_type=mode, host="127.0.0.1", port=port, cache=CacheType.DISABLED)
        api.set_provider_and_wait(provider, mode.value)
        client = api.get_client(mode.value)
        detail = client.get_boolean_details(KEY, False, contexts[0])
        if detail.error_code is not None:
            raise SystemExit(
                f"the provider in {mode.value} mode failed: {detail.error_code} {detail.error_message}"
            )
        resolve = client.get_boolean_value
        cost = per_call_us(lambda i, resolve=resolve: resolve(KEY, False, contexts[i & 1023]), seconds)
        label = f"flagd provider, {mode.value} mode (OpenFeature client)"
        print(f"{label:<52} {cost:9.1f} µs/call   x floor {cost / floor:5.2f}")
    api.shutdown()


async def network_rows(daemon: Daemon, seconds: float) -> None:
    with echo_server() as echo:
        floor = await grpc_rows("floor: echo server Evaluate tcp", echo.tcp, ours, seconds)
    evaluate = await grpc_rows("sidecar Evaluate tcp", daemon.tcp_target, ours, seconds)
    resolve = await grpc_rows("sidecar flagd ResolveBoolean tcp", daemon.tcp_target, flagd_resolve, seconds)
    await ofrep_rows(daemon.ofrep_url, seconds)
    top = IN_FLIGHT[-1]
    print(
        f"at in-flight={top}: Evaluate {evaluate / floor:.2f} x the echo floor, ResolveBoolean"
        f" {resolve / floor:.2f} x, ResolveBoolean/Evaluate {resolve / evaluate:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        (config / "flags.json").write_text(json.dumps(FLAGS))
        with Daemon(config, Path(tmp) / "state", "--log-level", "warning", flagd_sync=True) as daemon:
            uvloop.run(network_rows(daemon, args.seconds))
            application_rows(daemon, args.seconds)


if __name__ == "__main__":
    main()
