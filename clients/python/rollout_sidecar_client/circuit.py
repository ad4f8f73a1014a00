"""The client's own circuit: a hung or dead sidecar costs a few timeouts, then nothing, until it is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

__all__ = ["Circuit", "SidecarUnavailable"]
R = TypeVar("R")
# The sidecar did not answer: these count against it. Any other status is an answer, and closes the circuit.
_TRANSPORT_FAILURES = frozenset({grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE})


class SidecarUnavailable(Exception):
    """No answer from the sidecar; ``reason`` is SIDECAR_UNAVAILABLE or CIRCUIT_OPEN."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Circuit:
    """Opens after ``failures`` consecutive failed calls; while open, calls skip the sidecar. After
    ``cooldown`` seconds one call at a time is let through as a probe: its success closes the circuit, its
    failure opens it for another cool-down."""

    def __init__(self, failures: int = 3, cooldown: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._threshold = failures
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """Whether a call may go to the sidecar now."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or self._clock() - self._opened_at < self._cooldown:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self._threshold:
                self._opened_at = self._clock()
            self._probing = False

    def call(self, rpc: Callable[..., R], request: Any, timeout: float) -> R:
        """``rpc(request)`` unless the circuit is open; raises SidecarUnavailable when there is no answer,
        and lets any other gRPC error (an answer: NOT_FOUND, INVALID_ARGUMENT, ...) through."""
        if not self.allow():
            raise SidecarUnavailable("CIRCUIT_OPEN")
        try:
            response = rpc(request, timeout=timeout)
        except grpc.RpcError as exc:
            if exc.code() in _TRANSPORT_FAILURES:
                self.failed()
                raise SidecarUnavailable("SIDECAR_UNAVAILABLE", exc.code().name) from None
            self.succeeded()
            raise
        self.succeeded()
        return response
