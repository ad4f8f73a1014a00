"""RoutingService (hot path, no credential) and RolloutService (authenticated control)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import grpc

from sidecar.config.limits import ERROR_TYPE_CHARS, OUTCOMES_PER_CALL, check_request_key
from sidecar.errors import InvalidArgumentError
from sidecar.rollout import transitions
from sidecar.rollout.decision import Decision
from sidecar.rollout.model import RolloutDefinition, Version, outcome_kind
from sidecar.rollout.router import RouteDecision, RouteReason
from sidecar.rollout.state import RolloutState, RolloutStatus, phase_elapsed
from sidecar.rollout.transitions import Transition
from sidecar.rollout.windows import VersionTotals
from sidecar.runtime.rollouts import OutcomeReport, RolloutRuntime, RolloutView
from sidecar.server.admin import check_reason
from sidecar.server.auth import AdminAuth
from sidecar.server.convert import stickiness_value, struct_to_dict, to_struct
from sidecar.stats.compare import render_text, to_json
from sidecar.store.config_store import ConfigStore
from sidecar.store.sections import ROLLOUT
from sidecar.tasks import in_slices
from sidecar.v1 import routing_pb2 as pb
from sidecar.v1 import routing_pb2_grpc

# An operator transition from sidecar.rollout.transitions, with its reason and actor bound by the servicer.
OperatorAction = Callable[[RolloutDefinition, RolloutState, str, str, float], Transition]


VERSIONS = {Version.V1: pb.VERSION_V1, Version.V2: pb.VERSION_V2}
FROM_PROTO_VERSION = {pb.VERSION_V1: Version.V1, pb.VERSION_V2: Version.V2}
ROUTE_REASONS: dict[RouteReason, pb.RouteReason] = {
    reason: getattr(pb, f"ROUTE_REASON_{reason.value}") for reason in RouteReason
}
STATES: dict[RolloutStatus, pb.RolloutState] = {
    status: getattr(pb, f"ROLLOUT_STATE_{status.value}") for status in RolloutStatus
}


def to_outcomes(messages: Any, first: int = 0) -> list[OutcomeReport]:
    """Outcome messages as reports; ``first`` is the position of ``messages[0]`` in the request."""
    outcomes: list[OutcomeReport] = []
    for index, message in enumerate(messages, first):
        version = FROM_PROTO_VERSION.get(message.version)
        if version is None:
            raise InvalidArgumentError(f"outcomes[{index}]: version must be VERSION_V1 or VERSION_V2")
        check_request_key(f"outcomes[{index}].rollout_key", message.rollout_key)
        ERROR_TYPE_CHARS.check(f"outcomes[{index}].error_type", len(message.error_type))
        latency = message.latency_ms
        if not math.isfinite(latency):
            raise InvalidArgumentError(f"outcomes[{index}]: latency_ms must be a finite number")
        outcomes.append(
            OutcomeReport(
                message.rollout_key,
                version,
                outcome_kind(message.success, message.fallback),
                latency,
                message.error_type or None,
                message.generation,
            )
        )
    return outcomes


class RoutingObserver(Protocol):
    """Sees every routing decision and every accepted outcome batch (telemetry); must not block."""

    def route(self, rollout_key: str, decision: RouteDecision, context_id: str | None) -> None: ...

    def outcomes(self, outcomes: Sequence[OutcomeReport]) -> None: ...


class RoutingServicer(routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, runtime: RolloutRuntime, observers: Sequence[RoutingObserver] = ()) -> None:
        self._runtime = runtime
        self._observers = tuple(observers)

    async def Route(
        self, request: pb.RouteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RouteResponse:
        check_request_key("rollout_key", request.rollout_key)
        decision, unit, generation, revision = self._runtime.route(
            request.rollout_key, lambda attribute: stickiness_value(request.context, attribute)
        )
        response = pb.RouteResponse(
            version=VERSIONS[decision.version],
            phase=decision.phase,
            reason=ROUTE_REASONS[decision.reason],
            revision=revision,
            generation=generation,
        )
        for observer in self._observers:
            observer.route(request.rollout_key, decision, unit)
        return response

    async def ReportOutcomes(
        self, request: pb.ReportOutcomesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReportOutcomesResponse:
        accepted, stale = await self._report(request.outcomes)
        return pb.ReportOutcomesResponse(accepted=accepted, stale=stale)

    async def StreamOutcomes(
        self, requests: AsyncIterator[pb.StreamOutcomesRequest], context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.StreamOutcomesResponse:
        accepted = stale = 0
        async for request in requests:
            added, ignored = await self._report(request.outcomes)
            accepted += added
            stale += ignored
        return pb.StreamOutcomesResponse(accepted=accepted, stale=stale)

    async def _report(self, messages: Sequence[pb.Outcome]) -> tuple[int, int]:
        OUTCOMES_PER_CALL.check("outcomes", len(messages))
        outcomes: list[OutcomeReport] = []
        async for part in in_slices(messages):
            outcomes.extend(to_outcomes(part, len(outcomes)))
        result = await self._runtime.report(outcomes)
        async for reports in in_slices(outcomes):
            for observer in self._observers:
                observer.outcomes(reports)
        return result


def counts_message(totals: VersionTotals) -> pb.VersionCounts:
    return pb.VersionCounts(
        requests=totals.requests,
        errors=totals.errors,
        fallbacks=totals.fallbacks,
        error_rate=totals.error_rate or 0.0,
        latency_p50_ms=totals.p50_ms or 0.0,
        latency_p95_ms=totals.p95_ms or 0.0,
        latency_p99_ms=totals.p99_ms or 0.0,
    )


def decision_message(decision: Decision, decided_at: float | None) -> pb.Decision:
    return pb.Decision(
        kind=decision.kind.value,
        code=decision.code.value,
        reason=decision.reason,
        numbers=dict(decision.numbers),
        decided_at=decided_at or 0.0,
        actor=transitions.POLICY_ACTOR,
    )


def status_message(view: RolloutView) -> pb.RolloutStatus:
    definition, state = view.definition, view.state
    phase = definition.phases[state.phase_index]
    message = pb.RolloutStatus(
        key=definition.key,
        generation=state.generation,
        phase=phase.name,
        phase_index=state.phase_index,
        v2_percent=_effective_percent(definition, state),
        state=STATES[state.status],
        phase_started_at=state.phase_started_at,
        phase_elapsed_seconds=phase_elapsed(state, view.now),
        state_reason=state.paused_reason or state.rolled_back_reason or "",
        circuit=state.breaker.status.value,
        v1=counts_message(view.v1),
        v2=counts_message(view.v2),
        source=definition.source,
        phases=[p.name for p in definition.phases],
    )
    decision = state.last_decision
    if decision is not None:
        message.last_decision.CopyFrom(decision_message(decision, state.last_decided_at))
        message.gates.extend(
            pb.GateStatus(name=g.name, value=g.value or 0.0, threshold=g.threshold, verdict=g.verdict.value)
            for g in decision.gates
        )
    return message


def _effective_percent(definition: RolloutDefinition, state: RolloutState) -> float:
    if state.status is RolloutStatus.ROLLED_BACK:
        return 0.0
    if state.status is RolloutStatus.COMPLETED:
        return 100.0
    return definition.phases[state.phase_index].v2_percent


class RolloutServicer(routing_pb2_grpc.RolloutServiceServicer):
    def __init__(self, runtime: RolloutRuntime, store: ConfigStore, auth: AdminAuth) -> None:
        self._runtime = runtime
        self._store = store
        self._auth = auth

    async def ListRollouts(
        self, request: pb.ListRolloutsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListRolloutsResponse:
        self._auth.authorize(context)
        return pb.ListRolloutsResponse(rollouts=[status_message(v) for v in self._runtime.views()])

    async def GetRollout(
        self, request: pb.GetRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetRolloutResponse:
        self._auth.authorize(context)
        check_request_key("rollout_key", request.rollout_key)
        return pb.GetRolloutResponse(rollout=status_message(self._runtime.view(request.rollout_key)))

    async def PutRollout(
        self, request: pb.PutRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PutRolloutResponse:
        actor = self._auth.authorize(context)
        check_request_key("rollout_key", request.rollout_key)
        reason = check_reason(request.reason)
        definition = await asyncio.to_thread(struct_to_dict, request.definition)
        await self._store.put_record(ROLLOUT, request.rollout_key, definition, actor, reason)
        return pb.PutRolloutResponse(rollout=status_message(self._runtime.view(request.rollout_key)))

    async def DeleteRollout(
        self, request: pb.DeleteRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.DeleteRolloutResponse:
        actor = self._auth.authorize(context)
        check_request_key("rollout_key", request.rollout_key)
        await self._store.delete_record(ROLLOUT, request.rollout_key, actor, check_reason(request.reason))
        return pb.DeleteRolloutResponse()

    async def PauseRollout(
        self, request: pb.PauseRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PauseRolloutResponse:
        return pb.PauseRolloutResponse(rollout=await self._act(request, context, transitions.pause))

    async def ResumeRollout(
        self, request: pb.ResumeRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ResumeRolloutResponse:
        return pb.ResumeRolloutResponse(rollout=await self._act(request, context, transitions.resume))

    async def PromoteRollout(
        self, request: pb.PromoteRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.PromoteRolloutResponse:
        def promote(d: RolloutDefinition, s: RolloutState, reason: str, actor: str, now: float) -> Transition:
            return transitions.promote(d, s, _promotion_target(request, d, s), reason, actor, now)

        return pb.PromoteRolloutResponse(rollout=await self._act(request, context, promote))

    async def RollbackRollout(
        self, request: pb.RollbackRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RollbackRolloutResponse:
        return pb.RollbackRolloutResponse(rollout=await self._act(request, context, transitions.rollback))

    async def RestartRollout(
        self, request: pb.RestartRolloutRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RestartRolloutResponse:
        def restart(d: RolloutDefinition, s: RolloutState, reason: str, actor: str, now: float) -> Transition:
            return transitions.restart(d, s, request.from_generation or s.generation, reason, actor, now)

        return pb.RestartRolloutResponse(rollout=await self._act(request, context, restart))

    async def _act(
        self, request: Any, context: grpc.aio.ServicerContext[Any, Any], action: OperatorAction
    ) -> pb.RolloutStatus:
        """Authenticate, apply one operator transition durably, and answer with the rollout's status."""
        actor = self._auth.authorize(context)
        check_request_key("rollout_key", request.rollout_key)
        reason = check_reason(request.reason)
        await self._runtime.act(request.rollout_key, lambda d, s, now: action(d, s, reason, actor, now))
        return status_message(self._runtime.view(request.rollout_key))

    async def GetRolloutReport(
        self, request: pb.GetRolloutReportRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetRolloutReportResponse:
        self._auth.authorize(context)
        check_request_key("rollout_key", request.rollout_key)
        comparison = await self._runtime.comparison(request.rollout_key)
        return pb.GetRolloutReportResponse(
            report=to_struct(to_json(comparison)), text=render_text(comparison)
        )


def _promotion_target(
    request: pb.PromoteRolloutRequest, definition: RolloutDefinition, state: RolloutState
) -> int:
    if request.to_phase:
        try:
            return definition.phase_index(request.to_phase)
        except KeyError:
            names = ", ".join(p.name for p in definition.phases)
            raise InvalidArgumentError(
                f"rollout {definition.key!r} has no phase {request.to_phase!r} (phases: {names})"
            ) from None
    return definition.last_phase_index if request.to_full else state.phase_index + 1
