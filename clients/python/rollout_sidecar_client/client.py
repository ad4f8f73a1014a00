"""The synchronous client: flags, routing, V1/V2 call wrapper with fallback, background outcome reporting.

Nothing here raises into the service because of the sidecar: every call has a deadline, and a client-side
circuit (:mod:`rollout_sidecar_client.circuit`) makes a hung or dead sidecar cost nothing after a few
failures; ``close()`` takes at most ``CLOSE_BUDGET`` seconds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from rollout_sidecar_client._proto import routing_pb2
from rollout_sidecar_client.circuit import Circuit, SidecarUnavailable
from rollout_sidecar_client.context import to_json_context
from rollout_sidecar_client.flags import CHECKS, FlagDetails, FlagEvaluator

log = logging.getLogger(__name__)
T = TypeVar("T")

_ROUTE = "/sidecar.v1.RoutingService/Route"
_REPORT = "/sidecar.v1.RoutingService/ReportOutcomes"
_VERSIONS = {routing_pb2.VERSION_V1: "V1", routing_pb2.VERSION_V2: "V2"}
CLOSE_BUDGET = 1.0  # seconds close() may take, whatever state the sidecar is in
# Reconnect soon after a sidecar restarts (gRPC's default backoff grows to 120 s).
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


@dataclass(frozen=True, slots=True)
class Route:
    version: str  # "V1" or "V2"
    phase: str
    reason: str  # the sidecar's reason, or SIDECAR_UNAVAILABLE / CIRCUIT_OPEN when it did not answer
    generation: int = 0


class SidecarClient:
    """Thread-safe; create one per process and share it."""

    def __init__(
        self,
        target: str = "127.0.0.1:8013",
        *,
        timeout: float = 0.05,
        batch_size: int = 500,
        flush_interval: float = 0.25,
        max_pending: int = 100_000,
        circuit_failures: int = 3,
        circuit_cooldown: float = 1.0,
    ) -> None:
        self._channel = grpc.insecure_channel(target, options=_CHANNEL_OPTIONS)
        self.circuit = Circuit(circuit_failures, circuit_cooldown)
        self._flags = FlagEvaluator(self._channel, self.circuit, timeout)
        self._route = self._channel.unary_unary(
            _ROUTE,
            request_serializer=routing_pb2.RouteRequest.SerializeToString,
            response_deserializer=routing_pb2.RouteResponse.FromString,
        )
        self._report = self._channel.unary_unary(
            _REPORT,
            request_serializer=routing_pb2.ReportOutcomesRequest.SerializeToString,
            response_deserializer=routing_pb2.ReportOutcomesResponse.FromString,
        )
        self._timeout = timeout
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._pending: queue.Queue[routing_pb2.Outcome] = queue.Queue(maxsize=max_pending)
        self._stop = threading.Event()
        self.dropped_outcomes = 0
        self._reporter = threading.Thread(target=self._report_loop, name="sidecar-reporter", daemon=True)
        self._reporter.start()

    # -- flags ---------------------------------------------------------------------------------------

    def bool_details(
        self, key: str, default: bool, context: Mapping[str, Any] | None = None
    ) -> FlagDetails[bool]:
        return self._flags.details(key, default, context, CHECKS["bool"])

    def string_details(
        self, key: str, default: str, context: Mapping[str, Any] | None = None
    ) -> FlagDetails[str]:
        return self._flags.details(key, default, context, CHECKS["string"])

    def int_details(
        self, key: str, default: int, context: Mapping[str, Any] | None = None
    ) -> FlagDetails[int]:
        return self._flags.details(key, default, context, CHECKS["int"])

    def float_details(
        self, key: str, default: float, context: Mapping[str, Any] | None = None
    ) -> FlagDetails[float]:
        return self._flags.details(key, default, context, CHECKS["float"])

    def object_details(
        self, key: str, default: Any, context: Mapping[str, Any] | None = None
    ) -> FlagDetails[Any]:
        return self._flags.details(key, default, context, CHECKS["object"])

    def bool_value(self, key: str, default: bool, context: Mapping[str, Any] | None = None) -> bool:
        return self.bool_details(key, default, context).value

    def string_value(self, key: str, default: str, context: Mapping[str, Any] | None = None) -> str:
        return self.string_details(key, default, context).value

    def int_value(self, key: str, default: int, context: Mapping[str, Any] | None = None) -> int:
        return self.int_details(key, default, context).value

    def float_value(self, key: str, default: float, context: Mapping[str, Any] | None = None) -> float:
        return self.float_details(key, default, context).value

    def object_value(self, key: str, default: Any, context: Mapping[str, Any] | None = None) -> Any:
        return self.object_details(key, default, context).value

    # -- routing -------------------------------------------------------------------------------------

    def route(self, rollout_key: str, context: Mapping[str, Any] | None = None) -> Route:
        """V1 or V2 for this request; V1 when the sidecar cannot answer within the timeout or is refusing
        the request. Raises TypeError, before any I/O, for a context value it cannot send."""
        request = routing_pb2.RouteRequest(rollout_key=rollout_key)
        request.context.update(to_json_context(context))
        try:
            response = self.circuit.call(self._route, request, self._timeout)
        except SidecarUnavailable as exc:
            log.debug("sidecar route failed, using V1: %s", exc)
            return Route("V1", "", exc.reason)
        except grpc.RpcError as exc:
            log.debug("sidecar refused the route, using V1: %s", exc)
            return Route("V1", "", exc.code().name)
        return Route(
            _VERSIONS.get(response.version, "V1"),
            response.phase,
            routing_pb2.RouteReason.Name(response.reason).removeprefix("ROUTE_REASON_"),
            response.generation,
        )

    def report(
        self,
        rollout_key: str,
        version: str,
        *,
        success: bool,
        latency_ms: float,
        fallback: bool = False,
        error_type: str = "",
        generation: int = 0,
    ) -> None:
        """Queue one outcome for the background reporter; never blocks, drops when the queue is full."""
        outcome = routing_pb2.Outcome(
            rollout_key=rollout_key,
            version=routing_pb2.VERSION_V2 if version == "V2" else routing_pb2.VERSION_V1,
            success=success,
            latency_ms=max(0.0, latency_ms),
            fallback=fallback,
            error_type=error_type[:64],
            generation=generation,
        )
        try:
            self._pending.put_nowait(outcome)
        except queue.Full:
            self.dropped_outcomes += 1

    def call(
        self, rollout_key: str, context: Mapping[str, Any], *, v1: Callable[[], T], v2: Callable[[], T]
    ) -> T:
        """Route, run the chosen implementation, fall back to V1 when V2 raises, and report the outcome.

        An exception from V1 (chosen or as fallback) propagates to the caller: that is the service's own
        behaviour, not the sidecar's.
        """
        route = self.route(rollout_key, context)
        started = time.perf_counter()
        if route.version != "V2":
            try:
                result = v1()
            except Exception as exc:
                self._outcome(rollout_key, route, "V1", started, success=False, error_type=type(exc).__name__)
                raise
            self._outcome(rollout_key, route, "V1", started, success=True)
            return result
        try:
            result = v2()
        except Exception as exc:
            error_type = type(exc).__name__
            try:
                fallback_result = v1()
            except Exception:
                self._outcome(
                    rollout_key, route, "V2", started, success=False, fallback=True, error_type=error_type
                )
                raise
            self._outcome(
                rollout_key, route, "V2", started, success=True, fallback=True, error_type=error_type
            )
            return fallback_result
        self._outcome(rollout_key, route, "V2", started, success=True)
        return result

    def _outcome(
        self,
        rollout_key: str,
        route: Route,
        version: str,
        started: float,
        *,
        success: bool,
        fallback: bool = False,
        error_type: str = "",
    ) -> None:
        if route.reason in ("SIDECAR_UNAVAILABLE", "CIRCUIT_OPEN"):
            return
        self.report(
            rollout_key,
            version,
            success=success,
            latency_ms=(time.perf_counter() - started) * 1000,
            fallback=fallback,
            error_type=error_type,
            generation=route.generation,
        )

    def flush(self, timeout: float = 5.0) -> None:
        """Send everything queued so far, for at most ``timeout`` seconds (used at shutdown and in tests)."""
        deadline = time.monotonic() + timeout
        while not self._pending.empty() and (left := deadline - time.monotonic()) > 0:
            if not self._send_batch(min(left, 1.0)):
                return

    def close(self) -> None:
        """Stop reporting and send what is queued within ``CLOSE_BUDGET`` seconds; the rest is dropped."""
        deadline = time.monotonic() + CLOSE_BUDGET
        self._stop.set()
        self._reporter.join(timeout=CLOSE_BUDGET / 2)
        self.flush(max(0.0, deadline - time.monotonic()))
        self.dropped_outcomes += self._pending.qsize()
        self._channel.close()

    def __enter__(self) -> SidecarClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _report_loop(self) -> None:
        while not self._stop.wait(self._flush_interval):
            while self._pending.qsize() and not self._stop.is_set() and self._send_batch(CLOSE_BUDGET / 2):
                pass

    def _send_batch(self, timeout: float) -> bool:
        """One batch; False when the sidecar did not take it (it is dropped and counted)."""
        batch: list[routing_pb2.Outcome] = []
        while len(batch) < self._batch_size:
            try:
                batch.append(self._pending.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return True
        try:
            self.circuit.call(self._report, routing_pb2.ReportOutcomesRequest(outcomes=batch), timeout)
        except (SidecarUnavailable, grpc.RpcError) as exc:
            # Losing a batch costs the rollout some samples; blocking or raising would cost the service.
            self.dropped_outcomes += len(batch)
            log.debug("sidecar outcome report failed, dropped %d: %s", len(batch), exc)
            return False
        return True
