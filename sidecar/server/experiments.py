"""ExperimentService: event and feedback intake (no credential, like outcome reporting) and the authenticated
reads of experiment results."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc

from sidecar.clock import Clock
from sidecar.config.limits import EVENTS_PER_CALL, check_request_key
from sidecar.errors import InvalidArgumentError
from sidecar.experiments.feedback_text import Priority, Sentiment
from sidecar.experiments.model import Correction
from sidecar.experiments.results import (
    ExperimentResults,
    render_results_html,
    render_results_text,
    to_results_json,
)
from sidecar.runtime.experiment_intake import FeedbackSubmission, TrackedEvent
from sidecar.runtime.experiments import ExperimentOverview, ExperimentRuntime
from sidecar.server.auth import AdminAuth
from sidecar.server.convert import to_struct
from sidecar.tasks import in_slices
from sidecar.v1 import experiment_pb2 as pb
from sidecar.v1 import experiment_pb2_grpc

SENTIMENTS: dict[Sentiment, pb.Sentiment] = {s: getattr(pb, f"SENTIMENT_{s.name}") for s in Sentiment}
PRIORITIES: dict[Priority, pb.Priority] = {p: getattr(pb, f"PRIORITY_{p.name}") for p in Priority}
CORRECTIONS: dict[int, Correction | None] = {
    pb.CORRECTION_UNSPECIFIED: None,
    pb.CORRECTION_HOLM: Correction.HOLM,
    pb.CORRECTION_BH: Correction.BH,
}
STATUSES = {
    "scheduled": pb.EXPERIMENT_STATUS_SCHEDULED,
    "running": pb.EXPERIMENT_STATUS_RUNNING,
    "ended": pb.EXPERIMENT_STATUS_ENDED,
}


async def to_events(messages: Sequence[pb.MetricEvent], now: float) -> list[TrackedEvent]:
    EVENTS_PER_CALL.check("events", len(messages))
    events: list[TrackedEvent] = []
    async for part in in_slices(messages):
        for message in part:
            value = message.value if message.HasField("value") else 1.0
            timestamp = message.timestamp or now
            events.append(TrackedEvent(message.unit_key, message.metric, value, timestamp))
    return events


def experiment_message(overview: ExperimentOverview) -> pb.Experiment:
    config = overview.config
    total = math.fsum(config.weights)
    return pb.Experiment(
        key=config.key,
        flag_key=config.flag,
        control=config.control,
        arms=[
            pb.Arm(variant=arm, weight=weight / total, exposed_units=overview.exposures.get(arm, 0))
            for arm, weight in zip(config.arms, config.weights, strict=True)
        ],
        hypothesis=config.hypothesis,
        start_time=config.start,
        stop_time=config.stop or 0.0,
        status=STATUSES[overview.status],
        mode=config.mode.value,
        correction=config.correction.value,
        alpha=config.alpha,
        metrics=[
            pb.Metric(name=m.name, kind=m.kind.value, role=m.role.value, direction=m.direction.value)
            for m in config.metrics
        ],
        source=config.source,
        problems=list(overview.problems),
    )


class ExperimentServicer(experiment_pb2_grpc.ExperimentServiceServicer):
    def __init__(self, runtime: ExperimentRuntime, auth: AdminAuth, clock: Clock) -> None:
        self._runtime = runtime
        self._auth = auth
        self._clock = clock

    async def TrackEvents(
        self, request: pb.TrackEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.TrackEventsResponse:
        accepted, unmatched = await self._runtime.track(await to_events(request.events, self._clock.now()))
        return pb.TrackEventsResponse(accepted=accepted, unmatched=unmatched)

    async def StreamTrackEvents(
        self,
        requests: AsyncIterator[pb.StreamTrackEventsRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> pb.StreamTrackEventsResponse:
        accepted = unmatched = 0
        async for request in requests:
            added, ignored = await self._runtime.track(await to_events(request.events, self._clock.now()))
            accepted += added
            unmatched += ignored
        return pb.StreamTrackEventsResponse(accepted=accepted, unmatched=unmatched)

    async def SubmitFeedback(
        self, request: pb.SubmitFeedbackRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.SubmitFeedbackResponse:
        if request.experiment_key:
            check_request_key("experiment_key", request.experiment_key)
        receipt = await self._runtime.submit_feedback(
            FeedbackSubmission(
                request.unit_key,
                request.rating,
                request.text,
                request.category.strip(),
                request.experiment_key or None,
            )
        )
        c = receipt.classification
        return pb.SubmitFeedbackResponse(
            sentiment=SENTIMENTS[c.sentiment],
            priority=PRIORITIES[c.priority],
            positive_terms=c.positive_terms,
            negative_terms=c.negative_terms,
            priority_terms=c.priority_terms,
            attributions=[pb.Attribution(experiment_key=k, variant=v) for k, v in receipt.arms.items()],
        )

    async def ListExperiments(
        self, request: pb.ListExperimentsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListExperimentsResponse:
        self._auth.authorize(context)
        overviews = await self._runtime.overview()
        return pb.ListExperimentsResponse(experiments=[experiment_message(o) for o in overviews])

    async def Analyze(
        self, request: pb.AnalyzeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.AnalyzeResponse:
        self._auth.authorize(context)
        check_request_key("experiment_key", request.experiment_key)
        if request.correction not in CORRECTIONS:
            raise InvalidArgumentError(f"unknown correction {request.correction}")
        results = await self._runtime.analyze(request.experiment_key, CORRECTIONS[request.correction])
        # Rendering a large experiment's report takes milliseconds: off the event loop, like the analysis.
        return await asyncio.to_thread(analysis_message, results, request.format)


def analysis_message(results: ExperimentResults, report_format: int) -> pb.AnalyzeResponse:
    response = pb.AnalyzeResponse(
        report=to_struct(to_results_json(results)), verdict=results.report.verdict.value
    )
    if report_format in (pb.REPORT_FORMAT_UNSPECIFIED, pb.REPORT_FORMAT_TEXT):
        response.text = render_results_text(results)
    if report_format in (pb.REPORT_FORMAT_UNSPECIFIED, pb.REPORT_FORMAT_HTML):
        response.html = render_results_html(results)
    return response
