from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Version(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERSION_UNSPECIFIED: _ClassVar[Version]
    VERSION_V1: _ClassVar[Version]
    VERSION_V2: _ClassVar[Version]

class RouteReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROUTE_REASON_UNSPECIFIED: _ClassVar[RouteReason]
    ROUTE_REASON_IN_SPLIT: _ClassVar[RouteReason]
    ROUTE_REASON_OUT_OF_SPLIT: _ClassVar[RouteReason]
    ROUTE_REASON_FALLBACK_ACTIVE: _ClassVar[RouteReason]
    ROUTE_REASON_PAUSED: _ClassVar[RouteReason]
    ROUTE_REASON_ROLLED_BACK: _ClassVar[RouteReason]
    ROUTE_REASON_COMPLETED: _ClassVar[RouteReason]
    ROUTE_REASON_NO_KEY_RANDOM: _ClassVar[RouteReason]
    ROUTE_REASON_BREAKER_PROBE: _ClassVar[RouteReason]

class RolloutState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLLOUT_STATE_UNSPECIFIED: _ClassVar[RolloutState]
    ROLLOUT_STATE_RUNNING: _ClassVar[RolloutState]
    ROLLOUT_STATE_PAUSED: _ClassVar[RolloutState]
    ROLLOUT_STATE_ROLLED_BACK: _ClassVar[RolloutState]
    ROLLOUT_STATE_COMPLETED: _ClassVar[RolloutState]
VERSION_UNSPECIFIED: Version
VERSION_V1: Version
VERSION_V2: Version
ROUTE_REASON_UNSPECIFIED: RouteReason
ROUTE_REASON_IN_SPLIT: RouteReason
ROUTE_REASON_OUT_OF_SPLIT: RouteReason
ROUTE_REASON_FALLBACK_ACTIVE: RouteReason
ROUTE_REASON_PAUSED: RouteReason
ROUTE_REASON_ROLLED_BACK: RouteReason
ROUTE_REASON_COMPLETED: RouteReason
ROUTE_REASON_NO_KEY_RANDOM: RouteReason
ROUTE_REASON_BREAKER_PROBE: RouteReason
ROLLOUT_STATE_UNSPECIFIED: RolloutState
ROLLOUT_STATE_RUNNING: RolloutState
ROLLOUT_STATE_PAUSED: RolloutState
ROLLOUT_STATE_ROLLED_BACK: RolloutState
ROLLOUT_STATE_COMPLETED: RolloutState

class RouteRequest(_message.Message):
    __slots__ = ("rollout_key", "context")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    context: _struct_pb2.Struct
    def __init__(self, rollout_key: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("version", "phase", "reason", "revision", "generation")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    version: Version
    phase: str
    reason: RouteReason
    revision: int
    generation: int
    def __init__(self, version: _Optional[_Union[Version, str]] = ..., phase: _Optional[str] = ..., reason: _Optional[_Union[RouteReason, str]] = ..., revision: _Optional[int] = ..., generation: _Optional[int] = ...) -> None: ...

class Outcome(_message.Message):
    __slots__ = ("rollout_key", "version", "success", "latency_ms", "fallback", "error_type", "generation")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    version: Version
    success: bool
    latency_ms: float
    fallback: bool
    error_type: str
    generation: int
    def __init__(self, rollout_key: _Optional[str] = ..., version: _Optional[_Union[Version, str]] = ..., success: _Optional[bool] = ..., latency_ms: _Optional[float] = ..., fallback: _Optional[bool] = ..., error_type: _Optional[str] = ..., generation: _Optional[int] = ...) -> None: ...

class ReportOutcomesRequest(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[Outcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[Outcome, _Mapping]]] = ...) -> None: ...

class ReportOutcomesResponse(_message.Message):
    __slots__ = ("accepted", "stale")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    stale: int
    def __init__(self, accepted: _Optional[int] = ..., stale: _Optional[int] = ...) -> None: ...

class StreamOutcomesRequest(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[Outcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[Outcome, _Mapping]]] = ...) -> None: ...

class StreamOutcomesResponse(_message.Message):
    __slots__ = ("accepted", "stale")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    stale: int
    def __init__(self, accepted: _Optional[int] = ..., stale: _Optional[int] = ...) -> None: ...

class VersionCounts(_message.Message):
    __slots__ = ("requests", "errors", "fallbacks", "error_rate", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    FALLBACKS_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    errors: int
    fallbacks: int
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    def __init__(self, requests: _Optional[int] = ..., errors: _Optional[int] = ..., fallbacks: _Optional[int] = ..., error_rate: _Optional[float] = ..., latency_p50_ms: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ...) -> None: ...

class GateStatus(_message.Message):
    __slots__ = ("name", "value", "threshold", "verdict")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    threshold: float
    verdict: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., threshold: _Optional[float] = ..., verdict: _Optional[str] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("kind", "code", "reason", "numbers", "decided_at", "actor")
    class NumbersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NUMBERS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    kind: str
    code: str
    reason: str
    numbers: _containers.ScalarMap[str, float]
    decided_at: float
    actor: str
    def __init__(self, kind: _Optional[str] = ..., code: _Optional[str] = ..., reason: _Optional[str] = ..., numbers: _Optional[_Mapping[str, float]] = ..., decided_at: _Optional[float] = ..., actor: _Optional[str] = ...) -> None: ...

class RolloutStatus(_message.Message):
    __slots__ = ("key", "generation", "phase", "phase_index", "v2_percent", "state", "phase_started_at", "phase_elapsed_seconds", "state_reason", "circuit", "v1", "v2", "gates", "last_decision", "source", "phases")
    KEY_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PHASE_INDEX_FIELD_NUMBER: _ClassVar[int]
    V2_PERCENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PHASE_STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    PHASE_ELAPSED_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_FIELD_NUMBER: _ClassVar[int]
    V1_FIELD_NUMBER: _ClassVar[int]
    V2_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    LAST_DECISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    key: str
    generation: int
    phase: str
    phase_index: int
    v2_percent: float
    state: RolloutState
    phase_started_at: float
    phase_elapsed_seconds: float
    state_reason: str
    circuit: str
    v1: VersionCounts
    v2: VersionCounts
    gates: _containers.RepeatedCompositeFieldContainer[GateStatus]
    last_decision: Decision
    source: str
    phases: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., generation: _Optional[int] = ..., phase: _Optional[str] = ..., phase_index: _Optional[int] = ..., v2_percent: _Optional[float] = ..., state: _Optional[_Union[RolloutState, str]] = ..., phase_started_at: _Optional[float] = ..., phase_elapsed_seconds: _Optional[float] = ..., state_reason: _Optional[str] = ..., circuit: _Optional[str] = ..., v1: _Optional[_Union[VersionCounts, _Mapping]] = ..., v2: _Optional[_Union[VersionCounts, _Mapping]] = ..., gates: _Optional[_Iterable[_Union[GateStatus, _Mapping]]] = ..., last_decision: _Optional[_Union[Decision, _Mapping]] = ..., source: _Optional[str] = ..., phases: _Optional[_Iterable[str]] = ...) -> None: ...

class ListRolloutsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRolloutsResponse(_message.Message):
    __slots__ = ("rollouts",)
    ROLLOUTS_FIELD_NUMBER: _ClassVar[int]
    rollouts: _containers.RepeatedCompositeFieldContainer[RolloutStatus]
    def __init__(self, rollouts: _Optional[_Iterable[_Union[RolloutStatus, _Mapping]]] = ...) -> None: ...

class GetRolloutRequest(_message.Message):
    __slots__ = ("rollout_key",)
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    def __init__(self, rollout_key: _Optional[str] = ...) -> None: ...

class GetRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class PutRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "definition", "reason")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    definition: _struct_pb2.Struct
    reason: str
    def __init__(self, rollout_key: _Optional[str] = ..., definition: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PutRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class DeleteRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteRolloutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PauseRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PauseRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class ResumeRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ResumeRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class PromoteRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason", "to_full", "to_phase")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TO_FULL_FIELD_NUMBER: _ClassVar[int]
    TO_PHASE_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    to_full: bool
    to_phase: str
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ..., to_full: _Optional[bool] = ..., to_phase: _Optional[str] = ...) -> None: ...

class PromoteRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class RollbackRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RollbackRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class RestartRolloutRequest(_message.Message):
    __slots__ = ("rollout_key", "reason", "from_generation")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FROM_GENERATION_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    reason: str
    from_generation: int
    def __init__(self, rollout_key: _Optional[str] = ..., reason: _Optional[str] = ..., from_generation: _Optional[int] = ...) -> None: ...

class RestartRolloutResponse(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: RolloutStatus
    def __init__(self, rollout: _Optional[_Union[RolloutStatus, _Mapping]] = ...) -> None: ...

class GetRolloutReportRequest(_message.Message):
    __slots__ = ("rollout_key",)
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    def __init__(self, rollout_key: _Optional[str] = ...) -> None: ...

class GetRolloutReportResponse(_message.Message):
    __slots__ = ("report", "text")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    report: _struct_pb2.Struct
    text: str
    def __init__(self, report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...
