"""Writes the disk refuses: which SQLite results they are, what the caller is told, and the ``storage``
problem they raise until a write of a few pages commits again.

SQLite result codes become domain errors here, and only here; ``sidecar.server.status`` then gives each
domain error its gRPC status (full: RESOURCE_EXHAUSTED, read-only or I/O error: UNAVAILABLE).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from sidecar.errors import StorageError, StorageFullError, StorageUnavailableError

log = logging.getLogger(__name__)

# What an operator can do about each, appended to the one line a caller and the log see.
_FULL = "is full (no space left on its disk): free space on it"
_CAPPED = (
    "is full (no space left on its disk, or it reached --state-max-size of {size} bytes): "
    "free space or raise the limit"
)
_READONLY = "is read-only: make the file and its directory writable by the sidecar"
_IOERR = "could not be written ({name}): check the disk and the file system"


def storage_error(exc: sqlite3.Error, path: Path, max_size: int | None = None) -> StorageError | None:
    """The domain error for a write SQLite refused because of its storage; None for any other failure."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    # Extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED...) keep the primary code in the low byte.
    primary = code & 0xFF
    suffix = "; the write was not applied"
    if primary == sqlite3.SQLITE_FULL:
        full = _FULL if max_size is None else _CAPPED.format(size=max_size)
        return StorageFullError(f"state database {path} {full}{suffix}")
    if primary == sqlite3.SQLITE_READONLY:
        return StorageUnavailableError(f"state database {path} {_READONLY}{suffix}")
    if primary == sqlite3.SQLITE_IOERR:
        name = getattr(exc, "sqlite_errorname", "SQLITE_IOERR")
        return StorageUnavailableError(f"state database {path} {_IOERR.format(name=name)}{suffix}")
    return None


class StorageHealth:
    """The ``storage`` problem: set by a refused write, cleared by a test write that proves room again.

    Only the state database calls :meth:`refused` and :meth:`committed` (under its lock); readers take
    :attr:`problem`, one attribute read.
    """

    def __init__(self) -> None:
        self.problem: str | None = None

    def refused(self, error: StorageError) -> None:
        # Said once: a disk stays full for many writes, and each of them would say the same.
        if self.problem != error.message:
            log.error("%s", error.message)
        self.problem = error.message

    def committed(self) -> None:
        if self.problem is not None:
            log.warning("state database accepts writes again")
            self.problem = None
