"""How long the daemon's event loop is held by the heaviest requests a caller may send.

A probe process calls grpc.health.v1 Check on its own channel every millisecond and records each call's
latency. While it runs, this process sends one worst case after another (each alone, then a few at once):

- EvaluateAll over a snapshot of thousands of targeted flags;
- PutFlag of a large definition (a rule near its node budget) while thousands of file flags serve;
- Analyze of an experiment with many exposed units and events;
- Evaluate with a context at the size limit (many fields), and with a 60,000-digit "number";
- ReportOutcomes and TrackEvents batches at their count limits.

A probe call waits as long as the loop is held, so the slowest probe call during a case is its worst loop
hold; the idle row, measured in the same run, is the floor (a probe call's own cost on this machine).

Run: ``.venv/bin/python -m bench.bench_loop_hold [--flags 5000 --repeat 5 --units 20000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
import uvloop
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.harness import ROOT, sidecar_daemon
from sidecar.config.limits import CONTEXT_BYTES, EVENTS_PER_CALL, OUTCOMES_PER_CALL
from sidecar.server.convert import to_struct
from sidecar.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    evaluation_pb2,
    evaluation_pb2_grpc,
    experiment_pb2_grpc,
    routing_pb2_grpc,
)
from sidecar.v1 import experiment_pb2 as xpb
from sidecar.v1 import routing_pb2 as rpb

PROBE_INTERVAL_S = 0.001
NUMERIC_FLAG = "bench-numeric"
EXPERIMENT = "checkout-button"
EXPERIMENT_FLAG = "checkout-button-color"
ROLLOUT = "search-backend-v2"


# -- the probe ---------------------------------------------------------------------------------------------


def probe(target: str, stop: Connection) -> None:
    """Health checks at 1 ms cadence until told to stop; sends back (start, latency) pairs (monotonic s)."""
    samples: list[tuple[float, float]] = []
    with grpc.insecure_channel(target) as channel:
        check = health_pb2_grpc.HealthStub(channel).Check
        request = health_pb2.HealthCheckRequest()
        check(request, timeout=10)
        stop.send("ready")
        next_at = time.monotonic()
        while not stop.poll():
            started = time.monotonic()
            check(request, timeout=30)
            samples.append((started, time.monotonic() - started))
            next_at = max(next_at + PROBE_INTERVAL_S, time.monotonic())
            time.sleep(max(0.0, next_at - time.monotonic()))
    stop.send(samples)


@contextmanager
def probing(target: str) -> Iterator[Callable[[], list[tuple[float, float]]]]:
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=probe, args=(target, theirs))
    process.start()
    if ours.recv() != "ready":
        raise RuntimeError("probe did not start")
    collected: list[tuple[float, float]] = []

    def finish() -> list[tuple[float, float]]:
        ours.send("stop")
        collected.extend(ours.recv())
        return collected

    try:
        yield finish
    finally:
        process.join(30)


# -- the configuration --------------------------------------------------------------------------------------


def many_flags(count: int) -> dict[str, object]:
    """``count`` targeted flags (a comparison and a split each) and the long-number flag."""
    flags: dict[str, object] = {
        f"bench-{i:05d}": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {
                "if": [
                    {">": [{"var": "age"}, i % 90]},
                    {"fractional": [["on", 50], ["off", 50]]},
                    "off",
                ]
            },
        }
        for i in range(count)
    }
    flags[NUMERIC_FLAG] = {
        "state": "ENABLED",
        "variants": {"big": "big", "small": "small"},
        "defaultVariant": "small",
        "targeting": {"if": [{">": [{"var": "n"}, 5]}, "big", "small"]},
    }
    return {"flags": flags}


@contextmanager
def bench_config(flags: int) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        shutil.copytree(ROOT / "examples" / "config", config)
        (config / "bench-many.yaml").write_text(yaml.safe_dump(many_flags(flags)))
        yield config


def big_definition(clauses: int) -> dict[str, object]:
    """A flag whose rule is one ``or`` of ``clauses`` comparisons: several nodes each, near the budget."""
    rule = {"or": [{"==": [{"var": f"attr{i}"}, f"value-{i}"]} for i in range(clauses)]}
    return {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "off",
        "targeting": {"if": [rule, "on", "off"]},
    }


def max_context() -> dict[str, object]:
    """A context just under the byte limit, made of many small fields (the costliest shape to convert)."""
    context: dict[str, object] = {"targetingKey": "user-1", "age": 40}
    i = 0
    while to_struct(context).ByteSize() < CONTEXT_BYTES.value - 1024:  # grown 100 fields at a time
        context.update((f"f{n}", n) for n in range(i, i + 100))
        i += 100
    return context


# -- the cases ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    call: Callable[[], Awaitable[object]]


def cases(channel: grpc.aio.Channel, token: str, flags: int) -> list[Case]:
    evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)
    admin = admin_pb2_grpc.AdminServiceStub(channel)
    experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
    routing = routing_pb2_grpc.RoutingServiceStub(channel)
    auth = [("authorization", f"Bearer {token}")]
    all_request = evaluation_pb2.EvaluateAllRequest(context=to_struct({"targetingKey": "u", "age": 50}))
    put = admin_pb2.PutFlagRequest(flag_key="bench-big-write", definition=to_struct(big_definition(8_000)))
    analyze = xpb.AnalyzeRequest(experiment_key=EXPERIMENT)
    wide = evaluation_pb2.EvaluateRequest(flag_key="bench-00001", context=to_struct(max_context()))
    long_number = evaluation_pb2.EvaluateRequest(
        flag_key=NUMERIC_FLAG, context=to_struct({"n": "1" * 60_000 + "x"})
    )
    outcomes = rpb.ReportOutcomesRequest(
        outcomes=[rpb.Outcome(rollout_key=ROLLOUT, version=rpb.VERSION_V1, success=True, latency_ms=12.0)]
        * OUTCOMES_PER_CALL.value
    )
    events = xpb.TrackEventsRequest(
        events=[xpb.MetricEvent(unit_key=f"u{i}", metric="order-value", value=3.0) for i in range(50)]
        * (EVENTS_PER_CALL.value // 50)
    )
    return [
        Case(f"EvaluateAll, {flags:,} targeted flags", lambda: evaluation.EvaluateAll(all_request)),
        Case("PutFlag, 8,000-clause rule", lambda: admin.PutFlag(put, metadata=auth)),
        Case("Analyze, large experiment", lambda: experiments.Analyze(analyze, metadata=auth)),
        Case(f"Evaluate, {CONTEXT_BYTES.value // 1024} KiB context", lambda: evaluation.Evaluate(wide)),
        Case("Evaluate, 60,000-digit number", lambda: evaluation.Evaluate(long_number)),
        Case(f"ReportOutcomes, {OUTCOMES_PER_CALL.value:,}", lambda: routing.ReportOutcomes(outcomes)),
        Case(f"TrackEvents, {EVENTS_PER_CALL.value:,}", lambda: experiments.TrackEvents(events)),
    ]


async def expose(channel: grpc.aio.Channel, units: int) -> None:
    """``units`` exposures of the experiment's flag and a few events each, for Analyze to chew on."""
    evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)
    experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
    rng = random.Random(7)
    for start in range(0, units, 500):
        batch = range(start, min(units, start + 500))
        await asyncio.gather(
            *(
                evaluation.Evaluate(
                    evaluation_pb2.EvaluateRequest(
                        flag_key=EXPERIMENT_FLAG,
                        context=to_struct({"targetingKey": f"unit-{i}", "platform": "web"}),
                    )
                )
                for i in batch
            )
        )
        events = [
            xpb.MetricEvent(unit_key=f"unit-{i}", metric=metric, value=value)
            for i in batch
            for metric, value in (
                ("checkout-completed", float(rng.random() < 0.3)),
                ("order-value", rng.lognormvariate(3.5, 0.6)),
            )
        ]
        await experiments.TrackEvents(xpb.TrackEventsRequest(events=events))


Window = tuple[str, float, float, int]


async def run_cases(all_cases: list[Case], repeat: int) -> list[Window]:
    windows: list[Window] = []
    started = time.monotonic()
    await asyncio.sleep(1.0)
    windows.append(("idle (floor)", started, time.monotonic(), 0))
    for case in all_cases:
        await case.call()  # warm: first-call costs (caches, compiled paths) are not what is measured
        started = time.monotonic()
        for _ in range(repeat):
            await case.call()
        windows.append((case.label, started, time.monotonic(), repeat))
        started = time.monotonic()
        await asyncio.gather(*(case.call() for _ in range(4)))
        windows.append((f"{case.label} x4 at once", started, time.monotonic(), 4))
    return windows


def report(windows: list[Window], samples: list[tuple[float, float]]) -> None:
    print(f"{'case':<46} {'calls':>5} {'each ms':>8} {'probes':>6} {'p50 ms':>7} {'max ms':>7}")
    for label, start, end, calls in windows:
        inside = sorted(latency for at, latency in samples if start <= at <= end)
        each = (end - start) / calls * 1e3 if calls else 0.0
        if not inside:
            print(f"{label:<46} {calls:>5} {each:>8.1f} {0:>6}       -       -")
            continue
        p50 = inside[len(inside) // 2] * 1e3
        print(f"{label:<46} {calls:>5} {each:>8.1f} {len(inside):>6} {p50:>7.2f} {inside[-1] * 1e3:>7.1f}")


async def drive(target: str, token: str, args: argparse.Namespace) -> list[Window]:
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        if args.only.lower() in "analyze, large experiment":
            await expose(channel, args.units)
        chosen = [c for c in cases(channel, token, args.flags) if args.only.lower() in c.label.lower()]
        return await run_cases(chosen, args.repeat)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flags", type=int, default=5_000, help="targeted flags in the snapshot")
    parser.add_argument("--repeat", type=int, default=5, help="calls per case, one after another")
    parser.add_argument("--units", type=int, default=20_000, help="exposed units of the experiment")
    parser.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = parser.parse_args()
    with bench_config(args.flags) as config, sidecar_daemon(config=config) as (endpoints, state):
        token = (state / "admin.token").read_text().strip()
        with probing(endpoints.tcp) as finish:
            windows = uvloop.run(drive(endpoints.unix, token, args))
            samples = finish()
    print(f"Worst event-loop hold per request (probe: health Check every {PROBE_INTERVAL_S * 1e3:g} ms)")
    report(windows, samples)


if __name__ == "__main__":
    main()
