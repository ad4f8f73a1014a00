"""A simulated A/B test of 20,000 units through a real daemon: the daemon assigns and logs exposure, the
simulation converts each unit with a known probability per arm, and the report must find the true lift."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from sidecar.server.convert import struct_to_dict, to_struct
from sidecar.v1 import evaluation_pb2 as ev
from sidecar.v1 import experiment_pb2 as pb
from sidecar.v1 import experiment_pb2_grpc
from tests.support.daemon import Daemon

pytestmark = pytest.mark.slow

UNITS = 20_000
BASELINE = 0.60
LIFT = 0.05  # relative: the treatment converts at 63%
SEED = 20_260_101
CONFIG = """\
flags:
  new-checkout-button:
    variants: {control: false, treatment: true}
    defaultVariant: control
    targeting: {fractional: [[control, 50], [treatment, 50]]}
experiments:
  checkout-button:
    flag: new-checkout-button
    control: control
    weights: {control: 50, treatment: 50}
    hypothesis: The new button lifts checkout conversion by at least 5%.
    start: "2020-01-01"
    mode: fixed
    metrics:
      - {name: converted, kind: binomial, role: primary, mde: "5%"}
"""


def test_a_five_percent_lift_is_detected_with_an_interval_covering_it(
    config_dir: Path, state_dir: Path
) -> None:
    (config_dir / "experiment.yaml").write_text(CONFIG)
    with Daemon(config_dir, state_dir, "--log-level", "info") as daemon:
        evaluation = daemon.evaluation()
        units = [f"visitor-{i}" for i in range(UNITS)]
        arms: dict[str, str] = {}
        for start in range(0, UNITS, 1_000):  # pipelined: a thousand calls in flight at a time
            chunk = units[start : start + 1_000]
            calls = [
                evaluation.Evaluate.future(
                    ev.EvaluateRequest(flag_key="new-checkout-button", context=to_struct({"targetingKey": u}))
                )
                for u in chunk
            ]
            arms.update((u, call.result(timeout=30).variant) for u, call in zip(chunk, calls, strict=True))

        rng = random.Random(SEED)
        rate = {"control": BASELINE, "treatment": BASELINE * (1 + LIFT)}
        converted = [u for u in units if rng.random() < rate[arms[u]]]
        strangers = [f"bot-{i}" for i in range(300)]  # never evaluated: counted, not analysed
        tracker = experiment_pb2_grpc.ExperimentServiceStub(daemon.channel())
        batch = [pb.MetricEvent(unit_key=u, metric="converted") for u in converted + strangers]
        for start in range(0, len(batch), 10_000):
            tracker.TrackEvents(pb.TrackEventsRequest(events=batch[start : start + 10_000]), timeout=30)

        response = tracker.Analyze(
            pb.AnalyzeRequest(experiment_key="checkout-button"), metadata=daemon.auth(), timeout=30
        )

    report = struct_to_dict(response.report)
    assert sum(arm["units"] for arm in report["arms"]) == UNITS
    assert not report["srm"]["mismatch"]
    assert report["unexposed_events"] == len(strangers)
    (result,) = report["results"]
    assert result["variant"] == "treatment"
    assert result["significant"]
    assert result["outcome"] == "improved"
    relative, absolute = result["relative_lift"], result["absolute_lift"]
    assert relative["estimate"] > 0
    assert relative["ci_low"] < LIFT < relative["ci_high"]
    assert absolute["ci_low"] < BASELINE * LIFT < absolute["ci_high"]
    assert result["control"]["mean"] == pytest.approx(BASELINE, abs=0.02)
    assert report["planned_units_per_arm"] < UNITS / 2  # the design was big enough to read
    assert response.verdict == "SHIP"
    assert report["winner"] == "treatment"
    assert "Verdict: SHIP (winner: treatment)" in response.text
