from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Sentiment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENTIMENT_UNSPECIFIED: _ClassVar[Sentiment]
    SENTIMENT_POSITIVE: _ClassVar[Sentiment]
    SENTIMENT_NEUTRAL: _ClassVar[Sentiment]
    SENTIMENT_NEGATIVE: _ClassVar[Sentiment]

class Priority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIORITY_UNSPECIFIED: _ClassVar[Priority]
    PRIORITY_LOW: _ClassVar[Priority]
    PRIORITY_MEDIUM: _ClassVar[Priority]
    PRIORITY_HIGH: _ClassVar[Priority]
    PRIORITY_CRITICAL: _ClassVar[Priority]

class ExperimentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPERIMENT_STATUS_UNSPECIFIED: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_SCHEDULED: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_RUNNING: _ClassVar[ExperimentStatus]
    EXPERIMENT_STATUS_ENDED: _ClassVar[ExperimentStatus]

class ReportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_FORMAT_UNSPECIFIED: _ClassVar[ReportFormat]
    REPORT_FORMAT_JSON: _ClassVar[ReportFormat]
    REPORT_FORMAT_TEXT: _ClassVar[ReportFormat]
    REPORT_FORMAT_HTML: _ClassVar[ReportFormat]

class Correction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CORRECTION_UNSPECIFIED: _ClassVar[Correction]
    CORRECTION_HOLM: _ClassVar[Correction]
    CORRECTION_BH: _ClassVar[Correction]
SENTIMENT_UNSPECIFIED: Sentiment
SENTIMENT_POSITIVE: Sentiment
SENTIMENT_NEUTRAL: Sentiment
SENTIMENT_NEGATIVE: Sentiment
PRIORITY_UNSPECIFIED: Priority
PRIORITY_LOW: Priority
PRIORITY_MEDIUM: Priority
PRIORITY_HIGH: Priority
PRIORITY_CRITICAL: Priority
EXPERIMENT_STATUS_UNSPECIFIED: ExperimentStatus
EXPERIMENT_STATUS_SCHEDULED: ExperimentStatus
EXPERIMENT_STATUS_RUNNING: ExperimentStatus
EXPERIMENT_STATUS_ENDED: ExperimentStatus
REPORT_FORMAT_UNSPECIFIED: ReportFormat
REPORT_FORMAT_JSON: ReportFormat
REPORT_FORMAT_TEXT: ReportFormat
REPORT_FORMAT_HTML: ReportFormat
CORRECTION_UNSPECIFIED: Correction
CORRECTION_HOLM: Correction
CORRECTION_BH: Correction

class MetricEvent(_message.Message):
    __slots__ = ("unit_key", "metric", "value", "timestamp")
    UNIT_KEY_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    unit_key: str
    metric: str
    value: float
    timestamp: float
    def __init__(self, unit_key: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., timestamp: _Optional[float] = ...) -> None: ...

class TrackEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[MetricEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[MetricEvent, _Mapping]]] = ...) -> None: ...

class TrackEventsResponse(_message.Message):
    __slots__ = ("accepted", "unmatched")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    unmatched: int
    def __init__(self, accepted: _Optional[int] = ..., unmatched: _Optional[int] = ...) -> None: ...

class StreamTrackEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[MetricEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[MetricEvent, _Mapping]]] = ...) -> None: ...

class StreamTrackEventsResponse(_message.Message):
    __slots__ = ("accepted", "unmatched")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    UNMATCHED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    unmatched: int
    def __init__(self, accepted: _Optional[int] = ..., unmatched: _Optional[int] = ...) -> None: ...

class SubmitFeedbackRequest(_message.Message):
    __slots__ = ("unit_key", "rating", "text", "category", "experiment_key")
    UNIT_KEY_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    unit_key: str
    rating: int
    text: str
    category: str
    experiment_key: str
    def __init__(self, unit_key: _Optional[str] = ..., rating: _Optional[int] = ..., text: _Optional[str] = ..., category: _Optional[str] = ..., experiment_key: _Optional[str] = ...) -> None: ...

class Attribution(_message.Message):
    __slots__ = ("experiment_key", "variant")
    EXPERIMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    experiment_key: str
    variant: str
    def __init__(self, experiment_key: _Optional[str] = ..., variant: _Optional[str] = ...) -> None: ...

class SubmitFeedbackResponse(_message.Message):
    __slots__ = ("sentiment", "priority", "positive_terms", "negative_terms", "priority_terms", "attributions")
    SENTIMENT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_TERMS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TERMS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_TERMS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    sentiment: Sentiment
    priority: Priority
    positive_terms: _containers.RepeatedScalarFieldContainer[str]
    negative_terms: _containers.RepeatedScalarFieldContainer[str]
    priority_terms: _containers.RepeatedScalarFieldContainer[str]
    attributions: _containers.RepeatedCompositeFieldContainer[Attribution]
    def __init__(self, sentiment: _Optional[_Union[Sentiment, str]] = ..., priority: _Optional[_Union[Priority, str]] = ..., positive_terms: _Optional[_Iterable[str]] = ..., negative_terms: _Optional[_Iterable[str]] = ..., priority_terms: _Optional[_Iterable[str]] = ..., attributions: _Optional[_Iterable[_Union[Attribution, _Mapping]]] = ...) -> None: ...

class Arm(_message.Message):
    __slots__ = ("variant", "weight", "exposed_units")
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_UNITS_FIELD_NUMBER: _ClassVar[int]
    variant: str
    weight: float
    exposed_units: int
    def __init__(self, variant: _Optional[str] = ..., weight: _Optional[float] = ..., exposed_units: _Optional[int] = ...) -> None: ...

class Metric(_message.Message):
    __slots__ = ("name", "kind", "role", "direction")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    role: str
    direction: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., role: _Optional[str] = ..., direction: _Optional[str] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ("key", "flag_key", "control", "arms", "hypothesis", "start_time", "stop_time", "status", "mode", "correction", "alpha", "metrics", "source", "problems")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    HYPOTHESIS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STOP_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    key: str
    flag_key: str
    control: str
    arms: _containers.RepeatedCompositeFieldContainer[Arm]
    hypothesis: str
    start_time: float
    stop_time: float
    status: ExperimentStatus
    mode: str
    correction: str
    alpha: float
    metrics: _containers.RepeatedCompositeFieldContainer[Metric]
    source: str
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., flag_key: _Optional[str] = ..., control: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[Arm, _Mapping]]] = ..., hypothesis: _Optional[str] = ..., start_time: _Optional[float] = ..., stop_time: _Optional[float] = ..., status: _Optional[_Union[ExperimentStatus, str]] = ..., mode: _Optional[str] = ..., correction: _Optional[str] = ..., alpha: _Optional[float] = ..., metrics: _Optional[_Iterable[_Union[Metric, _Mapping]]] = ..., source: _Optional[str] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ("experiments",)
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[Experiment]
    def __init__(self, experiments: _Optional[_Iterable[_Union[Experiment, _Mapping]]] = ...) -> None: ...

class AnalyzeRequest(_message.Message):
    __slots__ = ("experiment_key", "format", "correction")
    EXPERIMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    experiment_key: str
    format: ReportFormat
    correction: Correction
    def __init__(self, experiment_key: _Optional[str] = ..., format: _Optional[_Union[ReportFormat, str]] = ..., correction: _Optional[_Union[Correction, str]] = ...) -> None: ...

class AnalyzeResponse(_message.Message):
    __slots__ = ("report", "text", "html", "verdict")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    report: _struct_pb2.Struct
    text: str
    html: str
    verdict: str
    def __init__(self, report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., text: _Optional[str] = ..., html: _Optional[str] = ..., verdict: _Optional[str] = ...) -> None: ...
