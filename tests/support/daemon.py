"""A real daemon in a child process, reachable over its unix socket and a TCP port on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.v1 import admin_pb2_grpc, evaluation_pb2_grpc

T = TypeVar("T")
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll until ``predicate`` returns something truthy; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        time.sleep(interval)
        value = predicate()
    return value


class Daemon:
    def __init__(
        self,
        config_dir: Path,
        state_dir: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
        clock_offset: float = 0.0,
    ) -> None:
        self.config_dir = config_dir
        self.state_dir = state_dir
        self.port = free_port()
        self.socket_path = state_dir / "sidecar.sock"
        self.extra_args = extra_args
        self.env = env or {}
        # Seconds this daemon's wall clock is off by (tests.support.skewed_clock), as on a skewed host.
        self.clock_offset = clock_offset
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "daemon.log"
        self._channels: list[grpc.Channel] = []

    @property
    def tcp_target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def unix_target(self) -> str:
        return f"unix:{self.socket_path}"

    def start(self, wait_serving: bool = True) -> Daemon:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        launcher = (
            ["tests.support.skewed_clock", str(self.clock_offset)]
            if self.clock_offset
            else ["sidecar.cli.main"]
        )
        command = [
            sys.executable,
            "-m",
            *launcher,
            "serve",
            "--config-dir",
            str(self.config_dir),
            "--state-dir",
            str(self.state_dir),
            "--listen",
            self.unix_target,
            "--listen",
            self.tcp_target,
            "--log-level",
            "debug",
            *self.extra_args,
        ]
        env = {**os.environ, **self.env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        wait_for(self._answers if not wait_serving else self._serving, timeout=START_TIMEOUT)
        return self

    def _health(self) -> int | None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"daemon exited with {self.process.returncode}:\n{self.log()}")
        try:
            with grpc.insecure_channel(self.tcp_target) as chan:
                response = health_pb2_grpc.HealthStub(chan).Check(
                    health_pb2.HealthCheckRequest(), timeout=0.5
                )
        except grpc.RpcError:
            return None
        return int(response.status)

    def _answers(self) -> bool:
        return self._health() is not None

    def _serving(self) -> bool:
        return self._health() == health_pb2.HealthCheckResponse.SERVING

    def health(self) -> int | None:
        return self._health()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def channel(self, target: str | None = None) -> grpc.Channel:
        chan = grpc.insecure_channel(target or self.tcp_target)
        self._channels.append(chan)
        return chan

    def evaluation(self, target: str | None = None) -> evaluation_pb2_grpc.EvaluationServiceStub:
        return evaluation_pb2_grpc.EvaluationServiceStub(self.channel(target))

    def admin(self, target: str | None = None) -> admin_pb2_grpc.AdminServiceStub:
        return admin_pb2_grpc.AdminServiceStub(self.channel(target))

    @property
    def token(self) -> str:
        return (self.state_dir / "admin.token").read_text().strip()

    def auth(self, actor: str = "tester") -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token}"), ("x-actor", actor)]

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._close_channels()

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._close_channels()
        return int(self.process.returncode)

    def _close_channels(self) -> None:
        for chan in self._channels:
            chan.close()
        self._channels.clear()

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
