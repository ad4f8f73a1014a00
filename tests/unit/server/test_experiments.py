"""ExperimentService through a real server: intake without a credential, authenticated results."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2

from sidecar.config.keys import MAX_KEY_LENGTH as MAX_KEY
from sidecar.config.limits import EVENTS_PER_CALL
from sidecar.v1 import evaluation_pb2, evaluation_pb2_grpc, experiment_pb2_grpc
from sidecar.v1 import experiment_pb2 as pb
from tests.unit.server.harness import TIMEOUT, Stack, rpc_error

EXPERIMENT = "button-test"


def stub(stack: Stack) -> experiment_pb2_grpc.ExperimentServiceStub:
    return experiment_pb2_grpc.ExperimentServiceStub(stack.channel)


def expose(stack: Stack, unit: str) -> str:
    """Evaluate the experiment's flag for ``unit``: that exposes it. Returns the arm."""
    context = struct_pb2.Struct()
    context.update({"targetingKey": unit})
    request = evaluation_pb2.EvaluateRequest(flag_key="button", context=context)
    variant = (
        evaluation_pb2_grpc.EvaluationServiceStub(stack.channel).Evaluate(request, timeout=TIMEOUT).variant
    )
    return str(variant)


def test_events_of_exposed_units_are_accepted_and_others_unmatched(stack: Stack) -> None:
    expose(stack, "u1")
    events = [
        pb.MetricEvent(unit_key="u1", metric="clicked", value=1.0),
        pb.MetricEvent(unit_key="u2", metric="clicked"),  # no value: counts as 1
        pb.MetricEvent(unit_key="u1", metric="untracked", value=3.0),
    ]
    response = stub(stack).TrackEvents(pb.TrackEventsRequest(events=events), timeout=TIMEOUT)
    assert (response.accepted, response.unmatched) == (2, 1)


def test_streamed_events_add_up(stack: Stack) -> None:
    requests = iter(
        [
            pb.StreamTrackEventsRequest(events=[pb.MetricEvent(unit_key=f"u{i}", metric="clicked")])
            for i in range(4)
        ]
    )
    response = stub(stack).StreamTrackEvents(requests, timeout=TIMEOUT)
    assert (response.accepted, response.unmatched) == (4, 0)


@pytest.mark.parametrize(
    ("events", "words"),
    [
        pytest.param([pb.MetricEvent(metric="clicked")], "events[0].unit_key is required", id="no-unit"),
        pytest.param(
            [pb.MetricEvent(unit_key="u", metric="clicked", value=0.5)], "is binomial", id="binomial-value"
        ),
        pytest.param(
            [pb.MetricEvent(unit_key="u", metric="clicked", value=float("inf"))], "must be finite", id="inf"
        ),
        pytest.param(
            [pb.MetricEvent(unit_key="u", metric="clicked")] * (EVENTS_PER_CALL.value + 1),
            f"over the limit events.per_call ({EVENTS_PER_CALL.value + 1} > {EVENTS_PER_CALL.value} events)",
            id="batch",
        ),
    ],
)
def test_bad_events_are_invalid_argument(stack: Stack, events: list[pb.MetricEvent], words: str) -> None:
    error = rpc_error(lambda: stub(stack).TrackEvents(pb.TrackEventsRequest(events=events), timeout=TIMEOUT))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert words in error.details()


def test_feedback_is_classified_and_attributed_to_the_units_arm(stack: Stack) -> None:
    arm = expose(stack, "u5")
    response = stub(stack).SubmitFeedback(
        pb.SubmitFeedbackRequest(unit_key="u5", rating=1, text="broken and slow, urgent", category=" ux "),
        timeout=TIMEOUT,
    )
    assert response.sentiment == pb.SENTIMENT_NEGATIVE
    assert [(a.experiment_key, a.variant) for a in response.attributions] == [(EXPERIMENT, arm)]


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        pytest.param(
            pb.SubmitFeedbackRequest(unit_key="u", rating=9),
            grpc.StatusCode.INVALID_ARGUMENT,
            "rating must be",
            id="rating",
        ),
        pytest.param(
            pb.SubmitFeedbackRequest(unit_key="u", rating=3, experiment_key="k" * (MAX_KEY + 1)),
            grpc.StatusCode.INVALID_ARGUMENT,
            f"experiment_key is over the limit key.chars ({MAX_KEY + 1} > {MAX_KEY}",
            id="long-key",
        ),
        pytest.param(
            pb.SubmitFeedbackRequest(unit_key="u", rating=3, experiment_key="ghost"),
            grpc.StatusCode.NOT_FOUND,
            "experiment 'ghost' does not exist",
            id="unknown",
        ),
    ],
)
def test_bad_feedback(
    stack: Stack, request_: pb.SubmitFeedbackRequest, code: grpc.StatusCode, words: str
) -> None:
    error = rpc_error(lambda: stub(stack).SubmitFeedback(request_, timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()


@pytest.mark.parametrize("method", ["ListExperiments", "Analyze"])
def test_reads_need_the_token(stack: Stack, method: str) -> None:
    request = (
        pb.ListExperimentsRequest() if method == "ListExperiments" else pb.AnalyzeRequest(experiment_key="x")
    )
    call = getattr(stub(stack), method)
    assert rpc_error(lambda: call(request, timeout=TIMEOUT)).code() is grpc.StatusCode.UNAUTHENTICATED
    wrong = stack.auth(token="w" * 20)
    assert (
        rpc_error(lambda: call(request, metadata=wrong, timeout=TIMEOUT)).code()
        is grpc.StatusCode.UNAUTHENTICATED
    )


def test_list_shows_arms_status_and_exposures(stack: Stack) -> None:
    arm = expose(stack, "u9")
    listed = stub(stack).ListExperiments(pb.ListExperimentsRequest(), metadata=stack.auth(), timeout=TIMEOUT)
    (experiment,) = listed.experiments
    assert (experiment.key, experiment.flag_key, experiment.status) == (
        EXPERIMENT,
        "button",
        pb.EXPERIMENT_STATUS_RUNNING,
    )
    assert {a.variant: a.weight for a in experiment.arms} == {"control": 0.5, "green": 0.5}
    assert {a.variant: a.exposed_units for a in experiment.arms}[arm] == 1


@pytest.mark.parametrize(
    ("report_format", "text", "html"),
    [
        pytest.param(pb.REPORT_FORMAT_UNSPECIFIED, True, True, id="both"),
        pytest.param(pb.REPORT_FORMAT_TEXT, True, False, id="text"),
        pytest.param(pb.REPORT_FORMAT_HTML, False, True, id="html"),
    ],
)
def test_analyze_renders_the_formats_asked_for(
    stack: Stack, report_format: int, text: bool, html: bool
) -> None:
    for unit in ("a", "b", "c", "d"):
        expose(stack, unit)
    request = pb.AnalyzeRequest(
        experiment_key=EXPERIMENT, format=report_format, correction=pb.CORRECTION_HOLM
    )
    response = stub(stack).Analyze(request, metadata=stack.auth(), timeout=TIMEOUT)
    assert response.verdict
    assert response.report.fields
    assert bool(response.text) is text
    assert bool(response.html) is html


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        pytest.param(
            pb.AnalyzeRequest(), grpc.StatusCode.INVALID_ARGUMENT, "experiment_key is required", id="empty"
        ),
        pytest.param(
            pb.AnalyzeRequest(experiment_key=EXPERIMENT, correction=42),  # type: ignore[arg-type]
            grpc.StatusCode.INVALID_ARGUMENT,
            "unknown correction 42",
            id="correction",
        ),
        pytest.param(
            pb.AnalyzeRequest(experiment_key="ghost"),
            grpc.StatusCode.NOT_FOUND,
            "'ghost' does not exist",
            id="unknown",
        ),
    ],
)
def test_bad_analyze_requests(
    stack: Stack, request_: pb.AnalyzeRequest, code: grpc.StatusCode, words: str
) -> None:
    error = rpc_error(lambda: stub(stack).Analyze(request_, metadata=stack.auth(), timeout=TIMEOUT))
    assert error.code() is code
    assert words in error.details()
