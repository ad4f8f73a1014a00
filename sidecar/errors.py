"""One error hierarchy for the whole daemon.

Domain code raises these; the gRPC edge maps each :class:`ErrorCode` to a status in exactly one table
(``sidecar.server.status``), so no layer compares error strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class SidecarError(Exception):
    """Base of every error the daemon reports to a caller; ``code`` picks the gRPC status."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(SidecarError):
    code = ErrorCode.NOT_FOUND


class InvalidArgumentError(SidecarError):
    code = ErrorCode.INVALID_ARGUMENT


class FailedPreconditionError(SidecarError):
    code = ErrorCode.FAILED_PRECONDITION


class UnauthenticatedError(SidecarError):
    code = ErrorCode.UNAUTHENTICATED


class ResourceExhaustedError(SidecarError):
    code = ErrorCode.RESOURCE_EXHAUSTED


class UnavailableError(SidecarError):
    code = ErrorCode.UNAVAILABLE


class StorageError(SidecarError):
    """The state database refused a write (disk full, read-only, I/O error); nothing of it was applied."""


class StorageFullError(StorageError, ResourceExhaustedError):
    pass


class StorageUnavailableError(StorageError, UnavailableError):
    pass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration source, located for a human."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


class ConfigError(InvalidArgumentError):
    """A configuration document (file or admin write) that failed to parse or validate."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
