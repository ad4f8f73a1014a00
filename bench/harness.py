"""Shared load-generation machinery: child servers, closed-loop and open-loop drivers, percentiles."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc

from tests.support.daemon import read_ready_file, wait_for

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Endpoints:
    unix: str
    tcp: str


def wait_until_answering(target: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(target) as chan:
                grpc.channel_ready_future(chan).result(timeout=0.5)
                return
        except grpc.FutureTimeoutError:
            time.sleep(0.05)
    raise RuntimeError(f"{target} did not come up")


@contextmanager
def child_server(
    command: list[str], ready_file: Path, env: dict[str, str] | None = None
) -> Iterator[Endpoints]:
    """Run ``command``, a server listening on port 0, and yield the addresses its ready file reports."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    try:
        report = wait_for(lambda: read_ready_file(ready_file) or process.poll() is not None, timeout=30.0)
        if not isinstance(report, dict):
            raise RuntimeError(f"{command[2]} exited with {process.returncode} before it was ready")
        targets: list[str] = report["grpc"]
        endpoints = Endpoints(
            unix=next(t for t in targets if t.startswith("unix:")),
            tcp=next(t for t in targets if not t.startswith("unix:")),
        )
        wait_until_answering(endpoints.tcp)
        yield endpoints
    finally:
        process.terminate()
        process.wait(15)


@contextmanager
def echo_server() -> Iterator[Endpoints]:
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready.json"
        command = [
            sys.executable,
            "-m",
            "bench.echo_server",
            str(ready),
            f"unix:{tmp}/echo.sock",
            "127.0.0.1:0",
        ]
        with child_server(command, ready) as endpoints:
            yield endpoints


@contextmanager
def sidecar_daemon(
    *extra: str, config: Path = ROOT / "examples" / "config", env: dict[str, str] | None = None
) -> Iterator[tuple[Endpoints, Path]]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        config_copy = Path(tmp) / "config"
        shutil.copytree(config, config_copy)
        ready = state / "ready.json"
        command = [
            sys.executable,
            "-m",
            "sidecar.cli.main",
            "serve",
            "--config-dir",
            str(config_copy),
            "--state-dir",
            str(state),
            "--listen",
            f"unix:{state}/sidecar.sock",
            "--listen",
            "127.0.0.1:0",
            "--management-listen",
            "127.0.0.1:0",
            "--flagd-sync-listen",
            "off",
            "--ofrep-listen",
            "127.0.0.1:0",
            "--ready-file",
            str(ready),
            "--log-level",
            "warning",
            *extra,
        ]
        with child_server(command, ready, env) as endpoints:
            yield endpoints, state


@dataclass(frozen=True, slots=True)
class LoadResult:
    calls: int
    seconds: float
    latencies_us: list[float]

    @property
    def rps(self) -> float:
        return self.calls / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else float("nan")

    def line(self, label: str) -> str:
        return (
            f"{label:<44} {self.rps:>9.0f} rps   p50 {self.percentile(50):>7.0f} us"
            f"   p99 {self.percentile(99):>7.0f} us"
        )


Call = Callable[[int], Awaitable[object]]


async def closed_loop(call: Call, in_flight: int, seconds: float, warmup: float = 0.5) -> LoadResult:
    """``in_flight`` workers each issuing calls back to back for ``seconds``."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup
    counter = 0

    async def worker() -> None:
        nonlocal counter
        while (now := time.perf_counter()) < stop_at:
            counter += 1
            await call(counter)
            if now >= measure_from:
                latencies.append((time.perf_counter() - now) * 1e6)

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return LoadResult(len(latencies), seconds, latencies)


async def open_loop(call: Call, rate: float, seconds: float) -> LoadResult:
    """Calls started on a fixed schedule (``rate`` per second) regardless of responses: latency at a load."""
    latencies: list[float] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int, scheduled: float) -> None:
        await call(index)
        latencies.append((time.perf_counter() - scheduled) * 1e6)

    index = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = start + index * interval
        if due > time.perf_counter():
            await asyncio.sleep(due - time.perf_counter())
        tasks.append(asyncio.create_task(one(index, due)))
        index += 1
    await asyncio.gather(*tasks)
    return LoadResult(len(latencies), elapsed, latencies)
