"""Evaluate latency and throughput measured by h2load, a C HTTP/2 load generator, instead of a Python client.

The Python client in ``bench_evaluate`` spends more CPU per call than the daemon does, on the same two cores,
so its percentiles are mostly its own. h2load (Debian/Ubuntu: ``apt-get install nghttp2-client``) posts a
prebuilt gRPC frame to ``/sidecar.v1.EvaluationService/Evaluate`` over the unix socket and logs every
response's latency; this script turns the logs into percentiles, for the daemon and for a bare echo server
(the floor of Python gRPC itself):

* open loop at fixed rates (one connection, ``--rps``): the latency a caller sees at that load;
* closed loop (1 and 16 calls in flight): the most the server answers.

Run: ``.venv/bin/python -m bench.bench_h2load [--seconds 10] [--rates 500,1000,2000]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.harness import Endpoints, LoadResult, echo_server, sidecar_daemon
from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2

PATH = "/sidecar.v1.EvaluationService/Evaluate"
REQUEST = evaluation_pb2.EvaluateRequest(
    flag_key="new-search",
    context=to_struct({"targetingKey": "user-7", "email": "u7@shop.test", "plan": "free"}),
)


def grpc_frame(message: bytes) -> bytes:
    """One length-prefixed gRPC message: not compressed, 4-byte big-endian length."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def h2load(socket_path: str, body: Path, log: Path, extra: Sequence[str]) -> LoadResult:
    command = [
        "h2load",
        "--base-uri",
        f"unix:{socket_path}",
        "--data",
        str(body),
        "--header",
        "content-type: application/grpc",
        "--header",
        "te: trailers",
        "--threads",
        "1",
        "--log-file",
        str(log),
        *extra,
        f"http://localhost{PATH}",
    ]
    log.unlink(missing_ok=True)  # h2load appends
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if "0 failed, 0 errored" not in output:
        raise RuntimeError(f"h2load reported failed requests:\n{output}")
    # Each line: start (µs since the run began), HTTP status, latency (µs).
    rows = [line.split("\t") for line in log.read_text().splitlines() if line]
    if any(status != "200" for _, status, _ in rows):
        raise RuntimeError("a response was not HTTP 200")
    starts = [int(start) for start, _, _ in rows]
    seconds = (max(starts) - min(starts)) / 1e6 if len(starts) > 1 else 0.0
    return LoadResult(len(rows), seconds or 1e-9, [float(latency) for _, _, latency in rows])


def line(label: str, result: LoadResult) -> str:
    p = result.percentile
    return (
        f"{label:<34} {result.rps:>7.0f} rps  p50 {p(50):>6.0f}  p90 {p(90):>6.0f}  p99 {p(99):>6.0f}"
        f"  p99.9 {p(99.9):>6.0f}  max {max(result.latencies_us):>6.0f} us"
    )


def measure(name: str, endpoints: Endpoints, seconds: float, rates: Sequence[int], body: Path) -> None:
    socket_path = endpoints.unix.removeprefix("unix:")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "h2load.log"
        h2load(socket_path, body, log, ["--requests", "2000", "--clients", "1"])  # warm-up
        for rate in rates:
            result = h2load(
                socket_path,
                body,
                log,
                ["--requests", str(int(rate * seconds)), "--clients", "1", f"--rps={rate}"],
            )
            print(line(f"{name}, open loop {rate} rps", result), flush=True)
        for in_flight in (1, 16):
            result = h2load(
                socket_path,
                body,
                log,
                [
                    "--requests",
                    str(int(3000 * seconds)),
                    "--clients",
                    "1",
                    "--max-concurrent-streams",
                    str(in_flight),
                ],
            )
            print(line(f"{name}, {in_flight} in flight", result), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each open-loop run")
    parser.add_argument("--rates", default="500,1000,2000", help="open-loop rates, requests per second")
    args = parser.parse_args(argv)
    if shutil.which("h2load") is None:
        print("h2load is not installed (Debian/Ubuntu: apt-get install nghttp2-client)", file=sys.stderr)
        return 2
    rates = [int(rate) for rate in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        body = Path(tmp) / "request.bin"
        body.write_bytes(grpc_frame(REQUEST.SerializeToString()))
        with echo_server() as endpoints:
            measure("echo server (floor)", endpoints, args.seconds, rates, body)
        with sidecar_daemon() as (endpoints, _):
            measure("sidecar Evaluate", endpoints, args.seconds, rates, body)
    print("(latency per response as h2load logs it; one connection over the unix socket)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
