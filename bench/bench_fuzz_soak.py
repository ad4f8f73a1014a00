"""The fuzz soak: 20,000 generated requests at every RPC and every HTTP listener of one real daemon.

The same generator and driver as tests/daemon/test_fuzz.py and test_fuzz_http.py (hypothesis examples sent
64 at a time over grpc.aio, raw HTTP on a socket), at the count `make test` cannot afford. Prints, per RPC,
the requests sent, their rate and the statuses they drew, and exits 1 if any answer was UNKNOWN, INTERNAL,
UNAVAILABLE or a 5xx, or if the daemon stopped serving. The floor is the same driver against a bare grpc.aio
echo server (garbage at Evaluate), measured in the same run.

Run: ``make soak`` or ``.venv/bin/python -m bench.bench_fuzz_soak [--requests 20000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2
from hypothesis import strategies as st

from bench.harness import echo_server
from tests.support.fuzz import BAD_METADATA, LISTENERS, Method, fuzz_daemon, storm
from tests.support.fuzz_http import MANAGEMENT, OFREP, http_storm

ECHO_METHOD = Method("/sidecar.v1.EvaluationService/Evaluate", False, False)


def codes_text(codes: Counter[grpc.StatusCode] | Counter[int | None]) -> str:
    return ", ".join(
        f"{getattr(code, 'name', code)} {count}" for code, count in sorted(codes.items(), key=lambda i: -i[1])
    )


def floor_rate(requests: int) -> float:
    with echo_server() as endpoints:
        started = time.perf_counter()
        storm(endpoints.tcp, st.sampled_from(BAD_METADATA), ECHO_METHOD, requests)
        return requests / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="generated requests per RPC")
    args = parser.parse_args()
    floor = floor_rate(args.requests)
    print(f"floor: the driver against a bare grpc.aio echo server: {floor:,.0f} req/s")
    bad = 0
    total = 0
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, fuzz_daemon(Path(tmp)) as daemon:
        print(f"{'listener':<11} {'RPC':<62} {'sent':>7} {'req/s':>7} {'x floor':>7}  statuses")
        for listener in LISTENERS:
            for method in listener.methods:
                started = time.perf_counter()
                sent = storm(listener.target(daemon), listener.metadata(daemon), method, args.requests)
                rate = sum(sent.codes.values()) / (time.perf_counter() - started)
                total += sum(sent.codes.values())
                bad += len(sent.failures)
                print(
                    f"{listener.name:<11} {method.path:<62} {sum(sent.codes.values()):>7} {rate:>7,.0f}"
                    f" {rate / floor:>7.2f}  {codes_text(sent.codes)}"
                )
                for failure in sent.failures[:3]:
                    print(f"    {failure}")
        for name, address, surface in (
            ("management", daemon.management_address, MANAGEMENT),
            ("ofrep", f"127.0.0.1:{daemon.ofrep_port}", OFREP),
        ):
            started = time.perf_counter()
            seen, failures = http_storm(address, args.requests, surface)
            rate = sum(seen.values()) / (time.perf_counter() - started)
            total += sum(seen.values())
            bad += len(failures)
            print(
                f"{name:<11} {'HTTP (raw requests)':<62} {sum(seen.values()):>7} {rate:>7,.0f}"
                f" {'':>7}  {codes_text(seen)}"
            )
            for failure in failures[:3]:
                print(f"    {failure}")
        serving = daemon.health() == health_pb2.HealthCheckResponse.SERVING
        alive = daemon.process is not None and daemon.process.poll() is None
    elapsed = time.perf_counter() - started_all
    print(
        f"total: {total:,} requests in {elapsed:,.0f} s; not acceptable: {bad};"
        f" still serving: {serving and alive}"
    )
    return 0 if bad == 0 and serving and alive else 1


if __name__ == "__main__":
    sys.exit(main())
