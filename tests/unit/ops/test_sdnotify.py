"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.ops.sdnotify import Notifier, run_watchdog


class FakeSystemd:
    """Receives notify datagrams the way PID 1 does."""

    def __init__(self, sock: socket.socket, notify_socket: str) -> None:
        self.sock = sock
        self.notify_socket = notify_socket

    def recv(self, timeout: float = 2.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def recv_all(self) -> list[str]:
        self.sock.setblocking(False)
        out: list[str] = []
        try:
            while True:
                out.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            return out
        finally:
            self.sock.setblocking(True)


@pytest.fixture
def systemd_path(tmp_path: Path) -> Iterator[FakeSystemd]:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        yield FakeSystemd(sock, str(path))


@pytest.fixture
def systemd_abstract() -> Iterator[FakeSystemd]:
    name = f"sidecar-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        yield FakeSystemd(sock, "@" + name)


def test_ready_status_stopping_exact_datagrams(systemd_path: FakeSystemd) -> None:
    with Notifier({"NOTIFY_SOCKET": systemd_path.notify_socket}) as n:
        assert n.enabled
        assert n.ready("serving revision 7")
        assert systemd_path.recv() == "READY=1\nSTATUS=serving revision 7"
        assert n.ready()
        assert systemd_path.recv() == "READY=1"
        assert n.status("3 rollouts active")
        assert systemd_path.recv() == "STATUS=3 rollouts active"
        assert n.stopping()
        assert systemd_path.recv() == "STOPPING=1"
        assert n.watchdog()
        assert systemd_path.recv() == "WATCHDOG=1"
        # A newline in a status must not smuggle in another assignment.
        assert n.status("line one\nREADY=1")
        assert systemd_path.recv() == "STATUS=line one READY=1"


def test_reloading_carries_monotonic_usec(systemd_path: FakeSystemd) -> None:
    n = Notifier({"NOTIFY_SOCKET": systemd_path.notify_socket}, monotonic_usec=lambda: 123456789)
    assert n.reloading("reloading configuration")
    assert systemd_path.recv() == "RELOADING=1\nMONOTONIC_USEC=123456789\nSTATUS=reloading configuration"
    n.close()


def test_default_monotonic_usec_is_clock_monotonic(systemd_path: FakeSystemd) -> None:
    import time

    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    with Notifier({"NOTIFY_SOCKET": systemd_path.notify_socket}) as n:
        n.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    lines = systemd_path.recv().split("\n")
    assert lines[0] == "RELOADING=1"
    key, value = lines[1].split("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_abstract_namespace_socket(systemd_abstract: FakeSystemd) -> None:
    with Notifier({"NOTIFY_SOCKET": systemd_abstract.notify_socket}) as n:
        assert n.ready("up")
        assert systemd_abstract.recv() == "READY=1\nSTATUS=up"


@pytest.mark.parametrize("value", [None, "", "vsock:2:1234"])
def test_noop_without_usable_notify_socket(value: str | None) -> None:
    env = {} if value is None else {"NOTIFY_SOCKET": value}
    n = Notifier(env)
    assert not n.enabled
    assert not n.ready("x")
    assert not n.reloading()
    assert not n.status("x")
    assert not n.stopping()
    assert not n.watchdog()


def test_send_failure_is_reported_not_raised(tmp_path: Path) -> None:
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert n.enabled
    assert n.ready() is False
    n.close()


def test_reads_process_environment_by_default(
    systemd_path: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", systemd_path.notify_socket)
    with Notifier() as n:
        n.ready()
    assert systemd_path.recv() == "READY=1"


@pytest.mark.parametrize(
    ("env", "pid", "expected"),
    [
        ({}, 100, None),
        ({"WATCHDOG_USEC": "20000000"}, 100, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "100"}, 100, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "101"}, 100, None),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "junk"}, 100, None),
        ({"WATCHDOG_USEC": "0"}, 100, None),
        ({"WATCHDOG_USEC": "-5"}, 100, None),
        ({"WATCHDOG_USEC": "soon"}, 100, None),
        ({"WATCHDOG_USEC": "500000"}, 100, 0.25),
    ],
)
def test_watchdog_interval_rules(env: dict[str, str], pid: int, expected: float | None) -> None:
    assert Notifier(env, pid=pid).watchdog_interval() == expected


def test_watchdog_interval_defaults_to_own_pid() -> None:
    env = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(env).watchdog_interval() == 1.0


def test_run_watchdog_pings_only_while_healthy(systemd_path: FakeSystemd) -> None:
    env = {"NOTIFY_SOCKET": systemd_path.notify_socket, "WATCHDOG_USEC": "20000"}  # ping every 10 ms
    notifier = Notifier(env)
    healthy = True
    checks = 0

    def is_healthy() -> bool:
        nonlocal checks
        checks += 1
        return healthy

    async def scenario() -> tuple[list[str], list[str]]:
        nonlocal healthy
        task = asyncio.create_task(run_watchdog(notifier, is_healthy))
        await asyncio.sleep(0.1)
        while_healthy = systemd_path.recv_all()
        healthy = False
        await asyncio.sleep(0.02)  # let an in-flight round finish
        systemd_path.recv_all()
        checks_before = checks
        await asyncio.sleep(0.1)
        while_unhealthy = systemd_path.recv_all()
        assert checks > checks_before  # still checking, just not pinging
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return while_healthy, while_unhealthy

    while_healthy, while_unhealthy = asyncio.run(scenario())
    notifier.close()
    assert len(while_healthy) >= 3
    assert set(while_healthy) == {"WATCHDOG=1"}
    assert while_unhealthy == []


def test_run_watchdog_treats_a_raising_check_as_unhealthy(systemd_path: FakeSystemd) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": systemd_path.notify_socket})

    def broken() -> bool:
        raise RuntimeError("policy loop state unavailable")

    async def scenario() -> None:
        task = asyncio.create_task(run_watchdog(notifier, broken, interval=0.01))
        await asyncio.sleep(0.05)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    notifier.close()
    assert systemd_path.recv_all() == []


def test_run_watchdog_returns_without_watchdog() -> None:
    async def scenario() -> None:
        await asyncio.wait_for(run_watchdog(Notifier({}), lambda: True), timeout=1)

    asyncio.run(scenario())
