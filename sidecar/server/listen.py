"""Listen addresses: ``unix:PATH`` or ``HOST:PORT``; loopback only unless the operator says otherwise."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import grpc

from sidecar.errors import InvalidArgumentError

SOCKET_MODE = 0o660


@dataclass(frozen=True, slots=True)
class ListenAddress:
    unix_path: Path | None = None
    host: str = ""
    port: int = 0

    @property
    def grpc_target(self) -> str:
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def is_loopback(self) -> bool:
        if self.unix_path is not None:
            return True
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_listen(text: str) -> ListenAddress:
    if text.startswith("unix:"):
        path = text[len("unix:") :]
        if not path:
            raise InvalidArgumentError(
                "unix listen address needs a path: unix:/run/rollout-sidecar/sidecar.sock"
            )
        return ListenAddress(unix_path=Path(path))
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise InvalidArgumentError(f"listen address {text!r} is neither unix:PATH nor HOST:PORT")
    return ListenAddress(host=host.strip("[]"), port=int(port))


def default_runtime_dir(environ: Mapping[str, str]) -> Path:
    if runtime := environ.get("RUNTIME_DIRECTORY"):  # set by systemd's RuntimeDirectory=
        return Path(runtime.split(":")[0])
    if xdg := environ.get("XDG_RUNTIME_DIR"):
        return Path(xdg) / "rollout-sidecar"
    return Path(f"/tmp/rollout-sidecar-{os.getuid()}")


def prepare_unix_socket(path: Path) -> None:
    """Create the socket's directory and remove a stale socket left by a killed daemon."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_socket():
        path.unlink()


def bind(server: grpc.aio.Server, addresses: Sequence[ListenAddress]) -> tuple[ListenAddress, ...]:
    """Add a port for each address; the result carries the bound port where the address asked for 0."""
    bound: list[ListenAddress] = []
    for address in addresses:
        if address.unix_path is not None:
            prepare_unix_socket(address.unix_path)
        try:
            port = server.add_insecure_port(address.grpc_target)
        except RuntimeError:  # what grpc raises when the address is taken
            port = 0
        if port == 0:
            raise OSError(f"cannot listen on {address.grpc_target}")
        bound.append(address if address.unix_path is not None else replace(address, port=port))
    return tuple(bound)


def restrict_unix_sockets(addresses: Sequence[ListenAddress]) -> None:
    """Give the sockets their mode once the server created them."""
    for address in addresses:
        if address.unix_path is not None:
            address.unix_path.chmod(SOCKET_MODE)
