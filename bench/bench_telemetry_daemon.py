"""Evaluate throughput with telemetry off, on (default sampling, live collector) and on with a dead collector;
then the daemon's memory over a minute of load against the dead collector.

Run: ``.venv/bin/python -m bench.bench_telemetry_daemon [--seconds 5] [--soak 60]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import grpc
import uvloop

from bench.bench_evaluate import EVALUATE
from bench.harness import LoadResult, closed_loop, sidecar_daemon
from sidecar.v1 import evaluation_pb2_grpc
from tests.support.daemon import read_ready_file
from tests.support.otlp_receiver import OtlpReceiver, unused_local_endpoint

IN_FLIGHT = 16


async def load(target: str, seconds: float) -> LoadResult:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)

        async def call(i: int) -> object:
            return await stub.Evaluate(EVALUATE[i & 1023])

        return await closed_loop(call, IN_FLIGHT, seconds)


def daemon_pid(state: Path) -> int:
    """The daemon's process id, from the ready report in its state directory."""
    report = read_ready_file(state / "ready.json")
    if report is None:
        raise RuntimeError("daemon ready report not found")
    return int(report["pid"])


def rss_of(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def soak(target: str, pid: int, seconds: float) -> None:
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        await load(target, min(10.0, seconds - elapsed))
        samples.append((time.monotonic() - start, rss_of(pid)))
        print(f"  t={samples[-1][0]:5.1f}s  rss={samples[-1][1]:7.1f} MiB", flush=True)
    growth = samples[-1][1] - samples[0][1]
    print(f"dead collector soak: RSS {samples[0][1]:.1f} -> {samples[-1][1]:.1f} MiB ({growth:+.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--soak", type=float, default=60.0)
    args = parser.parse_args()
    results: dict[str, LoadResult] = {}
    with sidecar_daemon("--no-telemetry") as (daemon, _):
        results["off"] = uvloop.run(load(daemon.unix, args.seconds))
    with OtlpReceiver() as receiver, sidecar_daemon("--otlp-endpoint", receiver.endpoint) as (daemon, _):
        results["on (5% sampled, live collector)"] = uvloop.run(load(daemon.unix, args.seconds))
    dead = unused_local_endpoint()
    with sidecar_daemon("--otlp-endpoint", dead, "--metrics-interval", "1") as (daemon, state):
        results["on (5% sampled, dead collector)"] = uvloop.run(load(daemon.unix, args.seconds))
        baseline = results["off"].rps
        for label, result in results.items():
            overhead = (1 - result.rps / baseline) * 100
            print(result.line(f"Evaluate uds telemetry {label}") + f"   overhead {overhead:+.1f}%")
        if args.soak > 0:
            uvloop.run(soak(daemon.unix, daemon_pid(state), args.soak))


if __name__ == "__main__":
    main()
