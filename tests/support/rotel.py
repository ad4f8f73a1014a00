"""Rotel, a third-party OTLP collector (a Rust binary shipped in the ``rotel`` wheel), as a real process.

It receives OTLP/gRPC on 127.0.0.1 port 0 and prints what it receives with its debug exporter to a file.
Rotel does not report the port it bound, so it is read from the kernel: the listening TCP socket on
127.0.0.1 among the process's own file descriptors (/proc, so Linux only). Its HTTP receiver cannot be
switched off and may not share the gRPC address, so it gets port 0 on 127.0.0.2.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.daemon import wait_for

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it
LISTEN = "0A"


def rotel_binary() -> Path:
    try:
        from importlib.resources import files

        binary = Path(str(files("rotel") / "rotel-agent"))
    except ModuleNotFoundError:
        pytest.skip("the rotel package is not installed (it is a dev dependency)")
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.skip(f"the rotel wheel for this platform ships no agent binary at {binary}")
    if not Path("/proc/net/tcp").exists():
        pytest.skip("finding rotel's port needs Linux /proc")
    return binary


def listening_port(pid: int) -> int | None:
    """The port of the process's socket listening on 127.0.0.1, None until there is one."""
    try:
        inodes = {
            target[len("socket:[") : -1]
            for fd in os.listdir(f"/proc/{pid}/fd")
            if (target := os.readlink(f"/proc/{pid}/fd/{fd}")).startswith("socket:[")
        }
    except OSError:
        return None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, state, inode = fields[1], fields[3], fields[9]
        host, port = address.split(":")
        if inode in inodes and state == LISTEN and host == LOOPBACK_HEX:
            return int(port, 16)
    return None


@contextmanager
def rotel(workdir: Path) -> Iterator[tuple[str, Path]]:
    """A running rotel; yields its OTLP/gRPC endpoint and the file its debug exporter writes to."""
    workdir.mkdir(parents=True, exist_ok=True)
    output = workdir / "rotel.out"
    command = [
        str(rotel_binary()),
        "start",
        "--otlp-grpc-endpoint",
        "127.0.0.1:0",
        "--otlp-http-endpoint",
        "127.0.0.2:0",
        "--exporter",
        "blackhole",
        "--debug-log",
        "logs",
        "--debug-log-verbosity",
        "detailed",
        "--batch-timeout",
        "100ms",
        "--pid-file",
        str(workdir / "rotel.pid"),
        "--log-file",
        str(workdir / "rotel.log"),
    ]
    with output.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)

    def port() -> int | None:
        if process.poll() is not None:
            raise AssertionError(f"rotel exited with {process.returncode}:\n{output.read_text()}")
        return listening_port(process.pid)

    try:
        yield f"http://127.0.0.1:{wait_for(port, timeout=30)}", output
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
