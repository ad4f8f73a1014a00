"""Structured logging: one JSON object per line on stderr (journald and container runtimes keep it).

Each line has ``ts`` (RFC 3339, UTC, microseconds), ``level``, ``logger``, ``msg``, then every
``extra=`` field of the call, ``trace_id``/``span_id`` (lower-case hex) when a valid span is current,
and ``exc`` with the formatted traceback when there is one. Values JSON cannot represent are
rendered with ``str()``.

Decision logs (one line per routing or flag decision) go to the ``sidecar.decisions`` logger at
DEBUG; they are emitted only when ``configure_logging(..., debug_decisions=True)``, whatever the
overall level, because at request rates they are the bulk of the output.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace

__all__ = ["DECISIONS_LOGGER", "JsonFormatter", "configure_logging"]

DECISIONS_LOGGER = "sidecar.decisions"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "taskName"}
)
_HANDLER_MARK = "_sidecar_json_handler"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if "trace_id" not in out:
            ctx = trace.get_current_span().get_span_context()
            if ctx.is_valid:
                out["trace_id"] = format(ctx.trace_id, "032x")
                out["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, default=str, ensure_ascii=False, separators=(",", ":"))


def configure_logging(
    level: str = "INFO", debug_decisions: bool = False, *, stream: IO[str] | None = None
) -> logging.Handler:
    """Send every log record to ``stream`` (default stderr) as JSON lines; returns the handler.

    Idempotent: calling it again replaces the handler it installed before (other handlers, e.g.
    pytest's capture, are left alone). ``level`` is a logging level name such as ``"INFO"``.
    """
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(numeric)
    # Decision lines only on request; otherwise hold that logger at INFO even under a DEBUG root.
    logging.getLogger(DECISIONS_LOGGER).setLevel(
        logging.DEBUG if debug_decisions else max(numeric, logging.INFO)
    )
    # Chatty at DEBUG and irrelevant to operators.
    for name in ("grpc", "urllib3", "asyncio"):
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    return handler
