"""Admin credential: a bearer token read from a file, compared in constant time."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from sidecar.config.limits import ACTOR_CHARS
from sidecar.errors import UnauthenticatedError

ACTOR_HEADER = "x-actor"


class TokenFileError(Exception):
    """The admin token file cannot be trusted; the message says what to fix."""


def load_or_create_token(path: Path) -> str:
    """Read the admin token; on first start create it (mode 0600) so the daemon is never open by default."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o004:
        raise TokenFileError(
            f"admin token file {path} is readable by everyone (mode {mode:o}); chmod 600 {path}"
        )
    token = path.read_text().strip()
    if len(token) < 16:
        raise TokenFileError(f"admin token in {path} is shorter than 16 characters")
    return token


class AdminAuth:
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def authorize(self, context: Any) -> str:
        """Check the call's bearer token; return who acts (the x-actor header, else "admin")."""
        authorization = b""
        actor = "admin"
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                authorization = value.encode() if isinstance(value, str) else value
            elif key == ACTOR_HEADER and value:
                actor = str(value)[: ACTOR_CHARS.value]
        if not authorization:
            raise UnauthenticatedError(
                "missing 'authorization: Bearer <token>' metadata; see the admin token file"
            )
        if not hmac.compare_digest(authorization, self._expected):
            raise UnauthenticatedError("admin token is wrong")
        return actor
