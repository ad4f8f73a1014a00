"""A real daemon in a child process, reachable over its unix socket and a TCP port on 127.0.0.1.

The daemon listens on port 0 and reports the ports it got in its ready file; a restarted daemon asks for
its previous ports again (clients keep their addresses) and takes new ones when those are taken.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.v1 import admin_pb2_grpc, evaluation_pb2_grpc

T = TypeVar("T")
START_TIMEOUT = 30.0


@contextmanager
def refused_address() -> Iterator[str]:
    """``127.0.0.1:PORT`` that refuses connections while the block runs: bound, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def read_ready_file(path: Path) -> dict[str, Any] | None:
    """The daemon's ready report, None until it is written (it is renamed into place, never partial)."""
    try:
        report: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return report


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
        sync_listen: bool = False,
        flagd_sync: bool = False,
        on_moved: Callable[[], None] | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.state_dir = state_dir
        # Bound ports from the latest ready report (0 until first started).
        self.port = 0
        self.sync_port = 0
        self.management_address = ""  # HOST:PORT of the management HTTP listener (a new port each start)
        self.flagd_sync_port = 0
        self.ofrep_port = 0  # the OFREP HTTP listener, always on 127.0.0.1
        self.sync_listen = sync_listen  # also listen for peer sync on 127.0.0.1
        # Serve flagd's sync service on 127.0.0.1 too; otherwise it is off (never the fixed default port).
        self.flagd_sync = flagd_sync
        # Called when a restart could not have its previous ports back (whoever knows them must learn anew).
        self.on_moved = on_moved
        self.socket_path = state_dir / "sidecar.sock"
        self.ready_path = state_dir / "ready.json"
        self.extra_args = extra_args
        self.env = env or {}
        # Seconds this daemon's wall clock is off by (tests.support.skewed_clock), as on a skewed host.
        self.clock_offset = clock_offset
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "daemon.log"
        self._channels: list[grpc.Channel] = []

    @property
    def tcp_target(self) -> str:
        if not self.port:
            raise AssertionError("the daemon has not reported its port yet: start it first")
        return f"127.0.0.1:{self.port}"

    @property
    def sync_address(self) -> str:
        if not self.sync_port:
            raise AssertionError("the daemon has not reported its sync port yet: start it first")
        return f"127.0.0.1:{self.sync_port}"

    @property
    def management_url(self) -> str:
        if not self.management_address:
            raise AssertionError("the daemon reported no management listener")
        return f"http://{self.management_address}"

    @property
    def flagd_sync_target(self) -> str:
        if not self.flagd_sync_port:
            raise AssertionError("the daemon has not reported its flagd sync port: start it with flagd_sync")
        return f"127.0.0.1:{self.flagd_sync_port}"

    @property
    def ofrep_url(self) -> str:
        if not self.ofrep_port:
            raise AssertionError("the daemon has not reported its OFREP port yet: start it first")
        return f"http://127.0.0.1:{self.ofrep_port}"

    @property
    def unix_target(self) -> str:
        return f"unix:{self.socket_path}"

    def start(self, wait_serving: bool = True) -> Daemon:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # Ask for the previous ports again; when something else took them meanwhile, take new ones.
        previous = (self.port, self.sync_port, self.flagd_sync_port, self.ofrep_port)
        if not self._launch(*previous) and not self._launch(0, 0, 0, 0):
            raise AssertionError(f"daemon could not listen on port 0:\n{self.log()}")
        now = (self.port, self.sync_port, self.flagd_sync_port, self.ofrep_port)
        if any(previous) and previous != now and self.on_moved is not None:
            self.on_moved()
        wait_for(self._answers if not wait_serving else self._serving, timeout=START_TIMEOUT)
        return self

    def _command(self, port: int, sync_port: int, flagd_sync_port: int, ofrep_port: int) -> list[str]:
        launcher = (
            ["tests.support.skewed_clock", str(self.clock_offset)]
            if self.clock_offset
            else ["sidecar.cli.main"]
        )
        sync = ["--sync-listen", f"127.0.0.1:{sync_port}"] if self.sync_listen else []
        flagd_sync = f"127.0.0.1:{flagd_sync_port}" if self.flagd_sync else "off"
        return [
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
            f"127.0.0.1:{port}",
            *sync,
            "--management-listen",
            "127.0.0.1:0",
            "--flagd-sync-listen",
            flagd_sync,
            "--ofrep-listen",
            f"127.0.0.1:{ofrep_port}",
            "--ready-file",
            str(self.ready_path),
            "--log-level",
            "debug",
            *self.extra_args,
        ]

    def _launch(self, port: int, sync_port: int, flagd_sync_port: int, ofrep_port: int) -> bool:
        """Start the process and wait for its ready report; False when a port asked for was taken."""
        self.ready_path.unlink(missing_ok=True)
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(
            self._command(port, sync_port, flagd_sync_port, ofrep_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        process = self.process
        report = wait_for(
            lambda: read_ready_file(self.ready_path) or process.poll() is not None, timeout=START_TIMEOUT
        )
        if not isinstance(report, dict):
            new_output = self.log_path.read_bytes()[log_start:].decode(errors="replace")
            taken = "cannot listen" in new_output or "Failed to bind" in new_output
            if (port or sync_port or flagd_sync_port or ofrep_port) and taken:
                return False
            raise AssertionError(f"daemon exited with {process.returncode}:\n{self.log()}")
        self.port = int(next(t for t in report["grpc"] if not t.startswith("unix:")).rpartition(":")[2])
        self.sync_port = int(report["sync"].rpartition(":")[2]) if report.get("sync") else 0
        self.management_address = report.get("management") or ""
        flagd_sync_address = report.get("flagd_sync")
        self.flagd_sync_port = int(flagd_sync_address.rpartition(":")[2]) if flagd_sync_address else 0
        ofrep_address = report.get("ofrep")
        self.ofrep_port = int(ofrep_address.rpartition(":")[2]) if ofrep_address else 0
        return True

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
