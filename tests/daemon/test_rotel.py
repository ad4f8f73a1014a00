"""A third-party collector receives the daemon's log-based feature_flag.evaluation events."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from sidecar.server.convert import to_struct
from sidecar.v1 import evaluation_pb2
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags
from tests.support.rotel import rotel


def test_rotel_receives_evaluation_events(config_dir: Path, state_dir: Path, tmp_path: Path) -> None:
    write_flags(config_dir, "flags.json", {"switch": boolean_flag("on")}, metadata={"flagSetId": "shop"})
    with (
        rotel(tmp_path / "rotel") as (endpoint, output),
        Daemon(
            config_dir, state_dir, "--otlp-endpoint", endpoint, env={"OTEL_BSP_SCHEDULE_DELAY": "100"}
        ) as daemon,
    ):
        evaluation = daemon.evaluation()
        evaluation.Evaluate(
            evaluation_pb2.EvaluateRequest(flag_key="switch", context=to_struct({"targetingKey": "u1"})),
            timeout=5,
        )
        with pytest.raises(grpc.RpcError):
            evaluation.Evaluate(evaluation_pb2.EvaluateRequest(flag_key="missing"), timeout=5)

        def received() -> str | None:
            text = output.read_text(errors="replace")
            return text if "Str(flag_not_found)" in text and "Str(switch)" in text else None

        text = wait_for(received, timeout=30)
    # Rotel's debug exporter prints each record's EventName and typed attributes.
    assert text.count("EventName: feature_flag.evaluation") >= 2
    for expected in (
        "feature_flag.key: Str(switch)",
        "feature_flag.result.variant: Str(on)",
        "feature_flag.result.value: Bool(true)",
        "feature_flag.set.id: Str(shop)",
        "feature_flag.key: Str(missing)",
        "error.type: Str(flag_not_found)",
    ):
        assert expected in text
