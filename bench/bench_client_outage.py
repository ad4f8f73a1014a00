"""What a hung sidecar costs a service using the Python client: each call once its circuit is open, close().

A real daemon serves; the client's ``route()`` and ``bool_value()`` are timed against it (the baseline: one
round trip each), then the daemon is stopped with SIGSTOP (it holds its sockets but answers nothing, the worst
case) and the same calls are timed once the client's circuit has opened, and ``close()`` with outcomes still
queued. The floor is building the request alone (context conversion and the protobuf message), which every
call pays whatever the sidecar does.

Run: ``.venv/bin/python -m bench.bench_client_outage [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rollout_sidecar_client import SidecarClient, to_json_context
from rollout_sidecar_client._proto import routing_pb2

from tests.support.daemon import Daemon

CONTEXT = {"targetingKey": "user-1", "plan": "pro"}
ROLLOUTS = (
    "rollouts:\n  svc:\n    phases:\n      - {name: HALF, percent: 50, minDuration: 1h}\n"
    "      - {name: FULL, percent: 100}\n"
)


def per_call_us(call: Callable[[], object], calls: int) -> float:
    """Median over five rounds of the mean µs per call."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls // 5):
            call()
        rounds.append((time.perf_counter() - started) / (calls // 5) * 1e6)
    return statistics.median(rounds)


def build_request() -> object:
    request = routing_pb2.RouteRequest(rollout_key="svc")
    request.context.update(to_json_context(CONTEXT))
    return request


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    floor = per_call_us(build_request, args.calls)
    print(f"{'floor: building the request':<44} {floor:9.2f} µs/call")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        (config / "rollouts.yaml").write_text(ROLLOUTS)
        (config / "flags.json").write_text(
            '{"flags": {"f": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on"}}}'
        )
        with Daemon(config, Path(tmp) / "state", "--log-level", "warning") as daemon:
            client = SidecarClient(daemon.unix_target, timeout=0.05, circuit_cooldown=3600)
            rows = {
                "route(), sidecar serving (one round trip)": lambda: client.route("svc", CONTEXT),
                "bool_value(), sidecar serving": lambda: client.bool_value("f", False, CONTEXT),
            }
            served = {label: per_call_us(call, min(args.calls, 2000)) for label, call in rows.items()}
            daemon.signal(signal.SIGSTOP)
            try:
                opening = time.perf_counter()
                while not client.circuit.is_open:
                    client.route("svc", CONTEXT)
                opened_ms = (time.perf_counter() - opening) * 1000
                hung = {
                    "route(), sidecar hung, circuit open": lambda: client.route("svc", CONTEXT),
                    "bool_value(), sidecar hung, circuit open": lambda: client.bool_value(
                        "f", False, CONTEXT
                    ),
                }
                stalled = {label: per_call_us(call, args.calls) for label, call in hung.items()}
                for i in range(10_000):
                    client.report("svc", "V2", success=True, latency_ms=float(i % 50))
                closing = time.perf_counter()
                client.close()
                close_ms = (time.perf_counter() - closing) * 1000
            finally:
                daemon.signal(signal.SIGCONT)
    for label, cost in {**served, **stalled}.items():
        print(f"{label:<44} {cost:9.2f} µs/call   x floor {cost / floor:6.2f}")
    print(f"{'time until the circuit opened':<44} {opened_ms:9.1f} ms (3 deadlines of 50 ms)")
    print(f"{'close() with 10,000 outcomes queued':<44} {close_ms:9.1f} ms (budget 1,000 ms)")


if __name__ == "__main__":
    main()
