"""``sidecar serve`` options of peer sync; each is also a ``SIDECAR_*`` environment variable."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from sidecar.errors import InvalidArgumentError
from sidecar.sync.auth import load_secret
from sidecar.sync.settings import DEFAULT_SYNC_LISTEN, SyncSettings, SyncTls, check_address


def _env(name: str) -> str | None:
    return os.environ.get(f"SIDECAR_{name}") or None


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in (_env(name) or "").split(",") if part.strip()]


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "peer sync",
        "Share admin-written flags and rollouts, rollout state, outcome counts and the audit log with the "
        "other sidecars of a group. Enabled by any of these options; needs --group-secret-file.",
    )
    group.add_argument(
        "--peer",
        action="append",
        default=None,
        metavar="HOST:PORT",
        help="sync address of a peer; repeatable (SIDECAR_PEERS, comma-separated)",
    )
    group.add_argument(
        "--peer-dns",
        action="append",
        default=None,
        metavar="NAME:PORT",
        help="DNS name resolving to peers, re-resolved every 30 s; repeatable (SIDECAR_PEER_DNS)",
    )
    group.add_argument(
        "--peers-file",
        type=Path,
        default=Path(p) if (p := _env("PEERS_FILE")) else None,
        help="file with one HOST:PORT a line, re-read when it changes (SIDECAR_PEERS_FILE)",
    )
    group.add_argument(
        "--sync-listen",
        default=_env("SYNC_LISTEN"),
        metavar="HOST:PORT",
        help=f"address of the sync listener (SIDECAR_SYNC_LISTEN; default {DEFAULT_SYNC_LISTEN})",
    )
    group.add_argument(
        "--group-secret-file",
        type=Path,
        default=Path(p) if (p := _env("GROUP_SECRET_FILE")) else None,
        help="file with the secret shared by every sidecar of the group, at least 16 bytes "
        "(SIDECAR_GROUP_SECRET_FILE)",
    )
    group.add_argument(
        "--sync-tls-cert",
        type=Path,
        default=_path("SYNC_TLS_CERT"),
        help="PEM certificate (SIDECAR_SYNC_TLS_CERT)",
    )
    group.add_argument(
        "--sync-tls-key",
        type=Path,
        default=_path("SYNC_TLS_KEY"),
        help="PEM private key (SIDECAR_SYNC_TLS_KEY)",
    )
    group.add_argument(
        "--sync-tls-ca",
        type=Path,
        default=_path("SYNC_TLS_CA"),
        help="PEM CA: verify peers against it and require their certificates, i.e. mutual TLS "
        "(SIDECAR_SYNC_TLS_CA)",
    )
    group.add_argument(
        "--sync-fanout",
        type=int,
        default=int(_env("SYNC_FANOUT") or 3),
        help="peers to keep outgoing sessions with at a time (SIDECAR_SYNC_FANOUT; default %(default)s)",
    )
    group.add_argument(
        "--sync-anti-entropy-seconds",
        type=float,
        default=float(_env("SYNC_ANTI_ENTROPY_SECONDS") or 5.0),
        help="period of the full comparison with each peer (SIDECAR_SYNC_ANTI_ENTROPY_SECONDS; "
        "default %(default)s)",
    )
    group.add_argument(
        "--sync-tombstone-min-age",
        type=float,
        default=float(_env("SYNC_TOMBSTONE_MIN_AGE") or 3600.0),
        metavar="SECONDS",
        help="a deletion is forgotten once every known member holds it and it is at least this old "
        "(SIDECAR_SYNC_TOMBSTONE_MIN_AGE; default %(default)s)",
    )


def _path(name: str) -> Path | None:
    value = _env(name)
    return Path(value) if value else None


def sync_settings(args: argparse.Namespace) -> SyncSettings | None:
    """The sync settings, or None when no sync option is given (the sidecar stands alone)."""
    peers = list(args.peer or _env_list("PEERS"))
    peer_dns = list(args.peer_dns or _env_list("PEER_DNS"))
    enabled = peers or peer_dns or args.peers_file or args.sync_listen or args.group_secret_file
    if not enabled:
        return None
    if args.group_secret_file is None:
        raise InvalidArgumentError("peer sync needs --group-secret-file (SIDECAR_GROUP_SECRET_FILE)")
    try:
        load_secret(args.group_secret_file)
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from exc
    tls = None
    if args.sync_tls_cert or args.sync_tls_key or args.sync_tls_ca:
        if not (args.sync_tls_cert and args.sync_tls_key):
            raise InvalidArgumentError("--sync-tls-cert and --sync-tls-key go together")
        tls = SyncTls(args.sync_tls_cert, args.sync_tls_key, args.sync_tls_ca)
    if args.sync_fanout < 1:
        raise InvalidArgumentError("--sync-fanout must be at least 1")
    if args.sync_tombstone_min_age < 0:
        raise InvalidArgumentError("--sync-tombstone-min-age must not be negative")
    return SyncSettings(
        group_secret_file=args.group_secret_file,
        listen=check_address(args.sync_listen or DEFAULT_SYNC_LISTEN, "--sync-listen"),
        peers=tuple(check_address(p, "--peer") for p in peers),
        peer_dns=tuple(check_address(p, "--peer-dns") for p in peer_dns),
        peers_file=args.peers_file,
        tls=tls,
        fanout=args.sync_fanout,
        anti_entropy_seconds=args.sync_anti_entropy_seconds,
        tombstone_min_age_seconds=args.sync_tombstone_min_age,
    )
