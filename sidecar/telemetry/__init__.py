"""OpenTelemetry traces, metrics and structured logs for the sidecar.

Wiring, in the daemon::

    settings = TelemetrySettings(...)                        # built by sidecar.daemon from OTEL_* and flags
    configure_logging(args.log_level, args.debug_decisions)
    telemetry = setup_telemetry(settings, {"deployment.environment.name": env})
    server = grpc.aio.server(interceptors=[TracingInterceptor(telemetry.tracer)])
    telemetry.metrics.set_rollout_source(engine.rollout_gauges)
    telemetry.metrics.set_revision_source(store.current_revision)
    ...
    span = trace.get_current_span()                          # inside a servicer
    record_evaluation(span, flag_key=..., variant=..., reason=..., version=revision)
    telemetry.metrics.record_evaluation(key, variant, reason, duration_s)
    ...
    telemetry.shutdown()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidecar.telemetry.flags import record_evaluation, record_rollout_decision, record_route_decision
    from sidecar.telemetry.grpc_tracing import TracingInterceptor
    from sidecar.telemetry.instruments import Metrics, RolloutGauge
    from sidecar.telemetry.logging import DECISIONS_LOGGER, configure_logging
    from sidecar.telemetry.settings import TelemetrySettings
    from sidecar.telemetry.setup import Telemetry, setup_telemetry

# Imported on first use, not with the package: the CLI's client commands read sidecar.telemetry.settings
# (through sidecar.daemon.settings) and must not pay for the OpenTelemetry SDK behind setup and instruments.
_SUBMODULES = {
    "DECISIONS_LOGGER": "logging",
    "Metrics": "instruments",
    "RolloutGauge": "instruments",
    "Telemetry": "setup",
    "TelemetrySettings": "settings",
    "TracingInterceptor": "grpc_tracing",
    "configure_logging": "logging",
    "record_evaluation": "flags",
    "record_rollout_decision": "flags",
    "record_route_decision": "flags",
    "setup_telemetry": "setup",
}

__all__ = [
    "DECISIONS_LOGGER",
    "Metrics",
    "RolloutGauge",
    "Telemetry",
    "TelemetrySettings",
    "TracingInterceptor",
    "configure_logging",
    "record_evaluation",
    "record_rollout_decision",
    "record_route_decision",
    "setup_telemetry",
]


def __getattr__(name: str) -> object:
    submodule = _SUBMODULES.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
