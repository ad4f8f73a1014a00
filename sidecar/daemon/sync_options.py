"""Peer-sync options of ``sidecar serve``; each is also a ``SIDECAR_*`` environment variable."""

from __future__ import annotations

from sidecar.daemon import parsers as p
from sidecar.daemon.options import Option, Reader
from sidecar.daemon.parsers import SettingsError
from sidecar.sync.auth import load_secret
from sidecar.sync.settings import DEFAULT_SYNC_LISTEN, SyncSettings, SyncTls

SYNC_TITLE = "peer sync"
SYNC_DESCRIPTION = (
    "Share admin-written flags and rollouts, rollout state, outcome counts and the audit log with the "
    "other sidecars of a group. Enabled by any of these options; needs --group-secret-file."
)
PEER = Option(
    "--peer", "SIDECAR_PEERS", "sync address of a peer; repeatable, comma-separated", "HOST:PORT", repeat=True
)
PEER_DNS = Option(
    "--peer-dns",
    "SIDECAR_PEER_DNS",
    "DNS name resolving to peers, re-resolved every 30 s; repeatable",
    "NAME:PORT",
    repeat=True,
)
PEERS_FILE = Option(
    "--peers-file", "SIDECAR_PEERS_FILE", "file with one HOST:PORT a line, re-read when it changes", "PATH"
)
SYNC_LISTEN = Option(
    "--sync-listen",
    "SIDECAR_SYNC_LISTEN",
    f"address of the sync listener; port 0 picks one (default {DEFAULT_SYNC_LISTEN})",
    "HOST:PORT",
)
GROUP_SECRET_FILE = Option(
    "--group-secret-file",
    "SIDECAR_GROUP_SECRET_FILE",
    "file with the secret shared by every sidecar of the group, at least 16 bytes",
    "PATH",
)
SYNC_TLS_CERT = Option("--sync-tls-cert", "SIDECAR_SYNC_TLS_CERT", "PEM certificate", "PATH")
SYNC_TLS_KEY = Option("--sync-tls-key", "SIDECAR_SYNC_TLS_KEY", "PEM private key", "PATH")
SYNC_TLS_CA = Option(
    "--sync-tls-ca",
    "SIDECAR_SYNC_TLS_CA",
    "PEM CA: verify peers against it and require their certificates, i.e. mutual TLS",
    "PATH",
)
SYNC_FANOUT = Option(
    "--sync-fanout", "SIDECAR_SYNC_FANOUT", "peers to keep outgoing sessions with at a time (default 3)", "N"
)
SYNC_ANTI_ENTROPY = Option(
    "--sync-anti-entropy-seconds",
    "SIDECAR_SYNC_ANTI_ENTROPY_SECONDS",
    "period of the full comparison with each peer (default 5)",
    "SECONDS",
)
SYNC_TOMBSTONE_MIN_AGE = Option(
    "--sync-tombstone-min-age",
    "SIDECAR_SYNC_TOMBSTONE_MIN_AGE",
    "a deletion is forgotten once every known member holds it and it is at least this old (default 3600)",
    "SECONDS",
)

SYNC_OPTIONS = (
    PEER,
    PEER_DNS,
    PEERS_FILE,
    SYNC_LISTEN,
    GROUP_SECRET_FILE,
    SYNC_TLS_CERT,
    SYNC_TLS_KEY,
    SYNC_TLS_CA,
    SYNC_FANOUT,
    SYNC_ANTI_ENTROPY,
    SYNC_TOMBSTONE_MIN_AGE,
)


def sync_settings(read: Reader) -> SyncSettings | None:
    """The sync settings, or None when no sync option is given (the sidecar stands alone)."""
    peers = read.many(PEER, p.peer_address) or ()
    peer_dns = read.many(PEER_DNS, p.peer_address) or ()
    peers_file = read.get(PEERS_FILE, p.path)
    listen = read.get(SYNC_LISTEN, p.bind_address)
    secret_file = read.get(GROUP_SECRET_FILE, p.path)
    if not (peers or peer_dns or peers_file or listen or secret_file):
        return None
    if secret_file is None:
        raise SettingsError("peer sync needs --group-secret-file (SIDECAR_GROUP_SECRET_FILE)")
    try:
        load_secret(secret_file)
    except ValueError as exc:
        raise read.bad(GROUP_SECRET_FILE, str(secret_file), f"a readable file: {exc}") from None
    d = SyncSettings(secret_file)
    return SyncSettings(
        group_secret_file=secret_file,
        listen=listen or DEFAULT_SYNC_LISTEN,
        peers=peers,
        peer_dns=peer_dns,
        peers_file=peers_file,
        tls=_tls(read),
        fanout=read.get(SYNC_FANOUT, p.positive_int, d.fanout),
        anti_entropy_seconds=read.get(SYNC_ANTI_ENTROPY, p.positive_seconds, d.anti_entropy_seconds),
        tombstone_min_age_seconds=read.get(
            SYNC_TOMBSTONE_MIN_AGE, p.non_negative_seconds, d.tombstone_min_age_seconds
        ),
    )


def _tls(read: Reader) -> SyncTls | None:
    cert = read.get(SYNC_TLS_CERT, p.path)
    key = read.get(SYNC_TLS_KEY, p.path)
    ca = read.get(SYNC_TLS_CA, p.path)
    if not (cert or key or ca):
        return None
    if cert is None or key is None:
        raise SettingsError("--sync-tls-cert and --sync-tls-key go together")
    return SyncTls(cert, key, ca)
