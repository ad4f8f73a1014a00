"""Group credential: every sidecar of a group holds one shared secret; peers without it are refused.

The secret itself never crosses the wire. A caller sends an HMAC-SHA256 tag over its node id, the time and a
nonce; the called sidecar checks it in constant time and answers with its own tag over the caller's, so each
side knows the other holds the secret. Use TLS (``--sync-tls-*``) on networks you do not trust: without it a
session's contents are readable and a captured credential can be replayed for five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path

from sidecar.errors import UnauthenticatedError

NODE_HEADER = "x-sync-node"
TIME_HEADER = "x-sync-time"
NONCE_HEADER = "x-sync-nonce"
AUTH_HEADER = "x-sync-auth"
MAX_SKEW_SECONDS = 300.0
MIN_SECRET_LENGTH = 16


def load_secret(path: Path) -> bytes:
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise ValueError(f"cannot read group secret file {path}: {exc.strerror}") from exc
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"group secret in {path} is shorter than {MIN_SECRET_LENGTH} bytes")
    return secret


class GroupAuth:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _tag(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def client_metadata(self, node_id: str, now: float) -> tuple[list[tuple[str, str]], str]:
        """Metadata for a call, and its tag (the server's proof is computed over it)."""
        stamp = f"{now:.3f}"
        nonce = secrets.token_hex(8)
        tag = self._tag(f"client|{node_id}|{stamp}|{nonce}")
        metadata = [(NODE_HEADER, node_id), (TIME_HEADER, stamp), (NONCE_HEADER, nonce), (AUTH_HEADER, tag)]
        return metadata, tag

    def verify_client(self, metadata: Iterable[tuple[str, str | bytes]], now: float) -> tuple[str, str]:
        """The caller's node id and tag; raises UnauthenticatedError when the credential is not valid."""
        values = _credential_headers(metadata)
        node, stamp, nonce, tag = (
            values.get(h, "") for h in (NODE_HEADER, TIME_HEADER, NONCE_HEADER, AUTH_HEADER)
        )
        if not (node and stamp and nonce and tag):
            raise UnauthenticatedError("peer sync needs the group credential (x-sync-* metadata)")
        expected = self._tag(f"client|{node}|{stamp}|{nonce}")
        if not hmac.compare_digest(expected.encode(), tag.encode()):
            raise UnauthenticatedError("group credential does not match: the peer has another group secret")
        try:
            skew = abs(now - float(stamp))
        except ValueError:
            raise UnauthenticatedError("malformed x-sync-time") from None
        if skew > MAX_SKEW_SECONDS:
            raise UnauthenticatedError(f"group credential is stale ({skew:.0f}s clock difference)")
        return node, tag

    def server_proof(self, server_node: str, client_tag: str) -> str:
        return self._tag(f"server|{server_node}|{client_tag}")

    def verify_server(self, proof: str, server_node: str, client_tag: str) -> bool:
        return hmac.compare_digest(self.server_proof(server_node, client_tag).encode(), proof.encode())


def _credential_headers(metadata: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    """The x-sync-* values of a call's metadata; other headers (``-bin`` ones carry arbitrary bytes) are not
    read, and a value that is not text is a malformed credential, not a server error."""
    values: dict[str, str] = {}
    for key, value in metadata:
        if key not in _CREDENTIAL_HEADERS:
            continue
        try:
            values[key] = value.decode() if isinstance(value, bytes) else value
        except UnicodeDecodeError:
            raise UnauthenticatedError(f"malformed {key}: not UTF-8 text") from None
    return values


_CREDENTIAL_HEADERS = frozenset((NODE_HEADER, TIME_HEADER, NONCE_HEADER, AUTH_HEADER))
