"""Peer-sync configuration (``sidecar serve --peer ... --group-secret-file ...``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sidecar.errors import InvalidArgumentError

DEFAULT_SYNC_LISTEN = "127.0.0.1:8017"


@dataclass(frozen=True, slots=True)
class SyncTls:
    """Server certificate and key; with ``ca`` peers must present a certificate it signed (mutual TLS), and
    this sidecar verifies the peers it dials against it."""

    cert: Path
    key: Path
    ca: Path | None = None


@dataclass(frozen=True, slots=True)
class SyncSettings:
    group_secret_file: Path
    listen: str = DEFAULT_SYNC_LISTEN
    peers: tuple[str, ...] = ()  # HOST:PORT
    peer_dns: tuple[str, ...] = ()  # NAME:PORT, resolved to every address
    peers_file: Path | None = None  # one HOST:PORT a line, re-read when it changes
    tls: SyncTls | None = None
    fanout: int = 3  # outgoing sessions at a time; the rest are reached by relay and rotation
    anti_entropy_seconds: float = 5.0
    rotate_seconds: float = 30.0  # replace the oldest outgoing session when more peers than fanout
    dns_refresh_seconds: float = 30.0
    tombstone_min_age_seconds: float = 3600.0
    member_expiry_seconds: float = 7 * 86400.0
    bucket_horizon_seconds: int = 3600  # outcome buckets older than this are not replicated
    audit_horizon_seconds: float = 7 * 86400.0
    max_pending_entries: int = 10_000  # per peer; beyond it the queue is dropped and anti-entropy repairs


def check_address(text: str, option: str, *, any_port: bool = False) -> str:
    """``text`` as HOST:PORT; ``any_port`` admits port 0 (a listener the system gives a free port)."""
    host, sep, port = text.strip().rpartition(":")
    lowest = 0 if any_port else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise InvalidArgumentError(f"{option} {text!r} must be HOST:PORT")
    return text.strip()


def read_peers_file(path: Path) -> tuple[str, ...]:
    """Addresses in a peers file: one HOST:PORT a line; blank lines and ``#`` comments are ignored."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return ()
    result: list[str] = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            result.append(check_address(text, f"{path}:"))
    return tuple(result)
