"""``feature_flag.evaluation`` events: log-based Events (current semconv), span events, or both.

The semantic conventions define the evaluation as an Event: a log record whose EventName field is
``feature_flag.evaluation`` (the ``event.name`` attribute that used to carry it is deprecated), emitted
through a Logger. It is emitted inside the request's context, so it carries the trace and span ids of
the RPC that asked. The record goes to the logger provider's ``BatchLogRecordProcessor``: the request
path appends to a bounded queue and an SDK thread exports, so a slow collector never holds a request
(a full queue drops events instead).

Log events are kept for ``ratio`` of evaluations, drawn per evaluation; span events go with the span,
i.e. follow the trace sampler. Unknown flags and errors are evaluations too, with ``error.type``.
"""

from __future__ import annotations

import random
import time
from typing import Any

from opentelemetry import _logs as logs_api
from opentelemetry import trace

from sidecar.telemetry.flags import FLAG_EVALUATION_EVENT, evaluation_attributes

__all__ = ["EvaluationEvents"]

_INFO, _WARN = logs_api.SeverityNumber.INFO, logs_api.SeverityNumber.WARN


class EvaluationEvents:
    """Emits one event per evaluation where the mode and the sampling ratio say so."""

    def __init__(self, logger: logs_api.Logger, mode: str, ratio: float, *, seed: int | None = None) -> None:
        self._logger = logger
        self.to_span = mode in ("span", "both")
        self.to_log = mode in ("log", "both") and ratio > 0.0
        self._ratio = ratio
        self._draw = random.Random(seed).random

    def _keep_log(self) -> bool:
        return self.to_log and (self._ratio >= 1.0 or self._draw() < self._ratio)

    def record(self, **fields: Any) -> None:
        """One evaluation; ``fields`` are :func:`~sidecar.telemetry.flags.evaluation_attributes`'s."""
        span = trace.get_current_span() if self.to_span else None
        on_span = span is not None and span.is_recording()
        on_log = self._keep_log()
        if not (on_span or on_log):
            return
        attributes = evaluation_attributes(**fields)
        if span is not None and on_span:
            span.add_event(FLAG_EVALUATION_EVENT, attributes)
        if on_log:
            severity = _WARN if fields.get("error_type") else _INFO
            self._logger.emit(
                event_name=FLAG_EVALUATION_EVENT,
                attributes=attributes,
                severity_number=severity,
                severity_text=severity.name,
                timestamp=time.time_ns(),
            )
