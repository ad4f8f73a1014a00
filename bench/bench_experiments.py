"""Experiments: what exposure logging costs Evaluate, and how long Analyze takes on a large experiment.

(a) In process: what the exposure hook (``ExperimentRuntime.evaluation``) adds to one evaluation of the
    experiment's flag, and what the background flush spends per exposure (window, eligibility rule, SQLite
    upsert).
    Over gRPC: Evaluate latency and throughput for the flag of experiment ``checkout-button`` on a daemon
    with the example configuration, against the same flag on a daemon without ``experiments.yaml`` (no
    exposure logging). Every call has a new targetingKey, so every call is a new exposure (the worst case).
(b) 100,000 units exposed through Evaluate and 1,000,000 metric events sent through TrackEvents batches,
    then Analyze timed (target: under 2 s).

Run: ``.venv/bin/python -m bench.bench_experiments [--seconds 2 --rounds 3 --rate 300] [--units 100000
--events-per-unit 10]``. Client and daemons share this machine's cores: compare rows within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import uvloop

from bench.harness import ROOT, Call, Endpoints, LoadResult, closed_loop, open_loop, sidecar_daemon
from sidecar.clock import SystemClock
from sidecar.hlc import HybridLogicalClock
from sidecar.runtime.experiment_exposures import exposure_rows
from sidecar.runtime.experiments import ExperimentRuntime
from sidecar.server.convert import to_struct
from sidecar.store.config_store import ConfigStore
from sidecar.store.database import StateDatabase
from sidecar.store.experiment_store import ExperimentStore
from sidecar.store.snapshot import DatabaseLoad, build_snapshot
from sidecar.store.sources import ConfigDirectory, SourceStatus
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc, experiment_pb2_grpc
from sidecar.v1 import experiment_pb2 as pb

EXAMPLES = ROOT / "examples" / "config"
FLAG = "checkout-button-color"
EXPERIMENT = "checkout-button"
IN_FLIGHT = (1, 16, 64)
ANALYZE_TARGET_SECONDS = 2.0


@contextmanager
def without_experiments() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        shutil.copytree(EXAMPLES, config, ignore=shutil.ignore_patterns("experiments.yaml"))
        yield config


def in_process(rounds: int) -> None:
    clock = SystemClock()
    directory = ConfigDirectory(EXAMPLES, clock.now)
    directory.refresh()
    empty = DatabaseLoad({}, {}, SourceStatus("database", True, (), 0.0, 0))
    snapshot = build_snapshot(1, directory.contents(), directory.statuses(), True, empty, {})
    contexts = [{"targetingKey": f"user-{i}", "platform": "web"} for i in range(rounds)]
    evaluate = snapshot.evaluator.evaluate
    with tempfile.TemporaryDirectory() as tmp:
        database = StateDatabase(Path(tmp) / "sidecar.db")
        store = ExperimentStore(database)
        config = ConfigStore(EXAMPLES, database, HybridLogicalClock("bench", clock), clock, {})
        runtime = ExperimentRuntime(config, store, clock, {})
        hook = runtime.evaluation

        def plain() -> None:
            for context in contexts:
                evaluate(FLAG, context, 1.8e9)

        def hooked() -> None:
            for context in contexts:
                hook(snapshot, evaluate(FLAG, context, 1.8e9), context, 1.8e9, 0.0)
            runtime._exposures.clear()  # the buffer would be drained by the flush

        base = best_of(plain) / rounds * 1e9
        with_hook = best_of(hooked) / rounds * 1e9
        print(
            f"evaluate {FLAG} in process: {base:,.0f} ns; with the exposure hook: {with_hook:,.0f} ns "
            f"(+{with_hook - base:,.0f} ns per call)"
        )

        experiments = tuple(runtime._index_for(snapshot).by_flag[FLAG])
        buffered = [(experiments, c, "green", 1.8e9, snapshot) for c in contexts]
        started = time.perf_counter()
        store.save(exposure_rows(buffered, {}), {}, [])
        flushed = time.perf_counter() - started
        print(
            f"background flush of {rounds:,} new exposures (eligibility + one SQLite transaction): "
            f"{flushed * 1e3:,.0f} ms, {flushed / rounds * 1e6:.1f} us per exposure, off the request path"
        )
        database.close()


def best_of(run: Callable[[], None], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return min(timings)


def evaluate_call(stub: evaluation_pb2_grpc.EvaluationServiceStub, prefix: str) -> Call:
    async def call(i: int) -> object:
        context = to_struct({"targetingKey": f"{prefix}-{i}", "platform": "web"})
        return await stub.Evaluate(evaluation_pb2.EvaluateRequest(flag_key=FLAG, context=context))

    return call


async def compare_latency(daemons: dict[str, Endpoints], seconds: float, rate: float, rounds: int) -> None:
    """Both daemons run side by side and are measured in alternating rounds, so that background load on
    a shared machine falls on both alike; each row pools the samples of every round."""
    pooled: dict[tuple[str, str], list[LoadResult]] = {}
    scenarios = [*(f"in-flight={n}" for n in IN_FLIGHT), f"open-loop {rate:g} rps"]
    for round_index in range(rounds):
        for label, endpoints in daemons.items():
            async with grpc.aio.insecure_channel(endpoints.unix) as channel:
                stub = evaluation_pb2_grpc.EvaluationServiceStub(channel)
                for in_flight in IN_FLIGHT:
                    prefix = f"r{round_index}-c{in_flight}"
                    result = await closed_loop(evaluate_call(stub, prefix), in_flight, seconds)
                    pooled.setdefault((label, f"in-flight={in_flight}"), []).append(result)
                result = await open_loop(evaluate_call(stub, f"r{round_index}-open"), rate, seconds)
                pooled.setdefault((label, scenarios[-1]), []).append(result)
    for scenario in scenarios:
        for label in daemons:
            results = pooled[(label, scenario)]
            merged = LoadResult(
                sum(r.calls for r in results),
                sum(r.seconds for r in results),
                [latency for r in results for latency in r.latencies_us],
            )
            print(merged.line(f"{label} {scenario}"), flush=True)


async def load_and_analyze(endpoints: Endpoints, token: str, units: int, events_per_unit: int) -> None:
    async with grpc.aio.insecure_channel(endpoints.unix) as channel:
        evaluation = evaluation_pb2_grpc.EvaluationServiceStub(channel)
        experiments = experiment_pb2_grpc.ExperimentServiceStub(channel)
        started = time.perf_counter()
        await closed_loop_over(evaluate_call(evaluation, "unit"), units, in_flight=64)
        exposed = time.perf_counter() - started
        print(f"exposed {units:,} units through Evaluate in {exposed:.1f}s ({units / exposed:,.0f}/s)")

        rng = random.Random(7)
        started = time.perf_counter()
        sent = 0
        batch: list[pb.MetricEvent] = []
        pending: list[asyncio.Future[pb.TrackEventsResponse]] = []
        for i in range(units):
            unit = f"unit-{i}"
            batch.append(pb.MetricEvent(unit_key=unit, metric="checkout-completed", value=rng.random() < 0.3))
            batch.append(pb.MetricEvent(unit_key=unit, metric="support-contacts", value=rng.random() < 0.05))
            batch.extend(
                pb.MetricEvent(unit_key=unit, metric="order-value", value=rng.lognormvariate(3.5, 0.6))
                for _ in range(events_per_unit - 2)
            )
            if len(batch) >= 10_000 - events_per_unit:
                pending.append(experiments.TrackEvents(pb.TrackEventsRequest(events=batch)))
                sent += len(batch)
                batch = []
                if len(pending) >= 4:
                    await asyncio.gather(*pending)
                    pending = []
        if batch:
            pending.append(experiments.TrackEvents(pb.TrackEventsRequest(events=batch)))
            sent += len(batch)
        await asyncio.gather(*pending)
        tracked = time.perf_counter() - started
        print(f"tracked {sent:,} events in 10,000-event batches in {tracked:.1f}s ({sent / tracked:,.0f}/s)")

        metadata = [("authorization", f"Bearer {token}")]
        request = pb.AnalyzeRequest(experiment_key=EXPERIMENT)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            response = await experiments.Analyze(request, metadata=metadata)
            timings.append(time.perf_counter() - started)
        verdict = "met" if max(timings) < ANALYZE_TARGET_SECONDS else "MISSED"
        print(
            f"Analyze over {sent:,} events / {units:,} units (JSON, text and HTML): "
            f"first {timings[0] * 1e3:.0f} ms, median {statistics.median(timings) * 1e3:.0f} ms, "
            f"max {max(timings) * 1e3:.0f} ms (target < {ANALYZE_TARGET_SECONDS:g} s: {verdict})"
        )
        print(response.text)


async def closed_loop_over(call: Call, count: int, in_flight: int) -> None:
    """``count`` calls, ``in_flight`` at a time."""
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            await call(index)

    await asyncio.gather(*(worker() for _ in range(in_flight)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="per scenario and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=300.0, help="open-loop rate, well below capacity")
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--events-per-unit", type=int, default=10)
    args = parser.parse_args()
    if args.events_per_unit < 3:
        parser.error("--events-per-unit must be at least 3")

    print("(a) Exposure logging on the Evaluate path")
    in_process(20_000)
    print("\nEvaluate of an experiment's flag over gRPC, with and without exposure logging (unix socket)")
    print(f"{'':<44} {'throughput':>13}   {'latency':>12}")
    with (
        without_experiments() as config,
        sidecar_daemon(config=config) as (plain, _),
        sidecar_daemon() as (exposing, _),
    ):
        daemons = {"no experiment  ": plain, "with experiment": exposing}
        uvloop.run(compare_latency(daemons, args.seconds, args.rate, args.rounds))

    print(f"\n(b) Analyze after {args.units:,} units x {args.events_per_unit} events")
    with sidecar_daemon() as (endpoints, state):
        token = (state / "admin.token").read_text().strip()
        uvloop.run(load_and_analyze(endpoints, token, args.units, args.events_per_unit))


if __name__ == "__main__":
    main()
