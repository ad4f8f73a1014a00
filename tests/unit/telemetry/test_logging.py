from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider

from sidecar.telemetry import DECISIONS_LOGGER, configure_logging

pytestmark = pytest.mark.usefixtures("restore_logging")


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_json_object_per_line_with_extras_and_trace_ids() -> None:
    out = io.StringIO()
    configure_logging("INFO", debug_decisions=False, stream=out)
    log = logging.getLogger("sidecar.server")
    log.info("listening on %s", "127.0.0.1:8013", extra={"revision": 7, "path": object()})
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    with tracer.start_as_current_span("rpc") as span:
        log.warning("multi\nline ünïcode")
        ctx = span.get_span_context()
    try:
        raise ValueError("bad flag file")
    except ValueError:
        log.exception("reload failed")
    first, second, third = _lines(out)
    assert first["msg"] == "listening on 127.0.0.1:8013"
    assert first["level"] == "INFO"
    assert first["logger"] == "sidecar.server"
    assert first["revision"] == 7
    assert str(first["path"]).startswith("<object object")
    assert "trace_id" not in first
    assert str(first["ts"]).endswith("Z")
    assert second["msg"] == "multi\nline ünïcode"
    assert second["trace_id"] == format(ctx.trace_id, "032x")
    assert second["span_id"] == format(ctx.span_id, "016x")
    assert third["level"] == "ERROR"
    assert "ValueError: bad flag file" in str(third["exc"])
    assert len(out.getvalue().splitlines()) == 3


def test_levels_and_decision_lines() -> None:
    out = io.StringIO()
    configure_logging("WARNING", debug_decisions=False, stream=out)
    decisions = logging.getLogger(DECISIONS_LOGGER)
    logging.getLogger("sidecar.x").info("hidden")
    decisions.debug("route checkout -> v2")
    assert out.getvalue() == ""

    configure_logging("DEBUG", debug_decisions=False, stream=out)
    decisions.debug("still hidden: decisions need the flag")
    logging.getLogger("sidecar.x").debug("shown")
    assert [line["msg"] for line in _lines(out)] == ["shown"]

    out2 = io.StringIO()
    configure_logging("INFO", debug_decisions=True, stream=out2)
    decisions.debug("route checkout -> v2", extra={"rollout": "checkout"})
    logging.getLogger("sidecar.x").debug("hidden at INFO")
    (line,) = _lines(out2)
    assert line["rollout"] == "checkout"
    # reconfiguring replaced the first handler instead of adding a second one
    assert out.getvalue().count("\n") == 1


def test_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD")
