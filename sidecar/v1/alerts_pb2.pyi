from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlertSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_SEVERITY_UNSPECIFIED: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_INFO: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_WARNING: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_ERROR: _ClassVar[AlertSeverity]
    ALERT_SEVERITY_CRITICAL: _ClassVar[AlertSeverity]

class AlertStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_STATUS_UNSPECIFIED: _ClassVar[AlertStatus]
    ALERT_STATUS_FIRING: _ClassVar[AlertStatus]
    ALERT_STATUS_RESOLVED: _ClassVar[AlertStatus]

class AlertEventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_EVENT_KIND_UNSPECIFIED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_FIRED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_ESCALATED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_RESOLVED: _ClassVar[AlertEventKind]
    ALERT_EVENT_KIND_ACKNOWLEDGED: _ClassVar[AlertEventKind]

class AlertFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_FILTER_UNSPECIFIED: _ClassVar[AlertFilter]
    ALERT_FILTER_FIRING: _ClassVar[AlertFilter]
    ALERT_FILTER_ALL: _ClassVar[AlertFilter]
ALERT_SEVERITY_UNSPECIFIED: AlertSeverity
ALERT_SEVERITY_INFO: AlertSeverity
ALERT_SEVERITY_WARNING: AlertSeverity
ALERT_SEVERITY_ERROR: AlertSeverity
ALERT_SEVERITY_CRITICAL: AlertSeverity
ALERT_STATUS_UNSPECIFIED: AlertStatus
ALERT_STATUS_FIRING: AlertStatus
ALERT_STATUS_RESOLVED: AlertStatus
ALERT_EVENT_KIND_UNSPECIFIED: AlertEventKind
ALERT_EVENT_KIND_FIRED: AlertEventKind
ALERT_EVENT_KIND_ESCALATED: AlertEventKind
ALERT_EVENT_KIND_RESOLVED: AlertEventKind
ALERT_EVENT_KIND_ACKNOWLEDGED: AlertEventKind
ALERT_FILTER_UNSPECIFIED: AlertFilter
ALERT_FILTER_FIRING: AlertFilter
ALERT_FILTER_ALL: AlertFilter

class Alert(_message.Message):
    __slots__ = ("id", "rule", "rollout", "metric", "description", "severity", "status", "fired_at", "resolved_at", "value", "threshold", "ack_by", "ack_at", "ack_note", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FIRED_AT_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ACK_BY_FIELD_NUMBER: _ClassVar[int]
    ACK_AT_FIELD_NUMBER: _ClassVar[int]
    ACK_NOTE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    rule: str
    rollout: str
    metric: str
    description: str
    severity: AlertSeverity
    status: AlertStatus
    fired_at: float
    resolved_at: float
    value: float
    threshold: float
    ack_by: str
    ack_at: float
    ack_note: str
    version: str
    def __init__(self, id: _Optional[str] = ..., rule: _Optional[str] = ..., rollout: _Optional[str] = ..., metric: _Optional[str] = ..., description: _Optional[str] = ..., severity: _Optional[_Union[AlertSeverity, str]] = ..., status: _Optional[_Union[AlertStatus, str]] = ..., fired_at: _Optional[float] = ..., resolved_at: _Optional[float] = ..., value: _Optional[float] = ..., threshold: _Optional[float] = ..., ack_by: _Optional[str] = ..., ack_at: _Optional[float] = ..., ack_note: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class AlertEvent(_message.Message):
    __slots__ = ("kind", "alert", "previous_severity", "at")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ALERT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    kind: AlertEventKind
    alert: Alert
    previous_severity: AlertSeverity
    at: float
    def __init__(self, kind: _Optional[_Union[AlertEventKind, str]] = ..., alert: _Optional[_Union[Alert, _Mapping]] = ..., previous_severity: _Optional[_Union[AlertSeverity, str]] = ..., at: _Optional[float] = ...) -> None: ...

class WebhookStatus(_message.Message):
    __slots__ = ("url", "delivered", "failed", "dropped", "queued", "last_error")
    URL_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    url: str
    delivered: int
    failed: int
    dropped: int
    queued: int
    last_error: str
    def __init__(self, url: _Optional[str] = ..., delivered: _Optional[int] = ..., failed: _Optional[int] = ..., dropped: _Optional[int] = ..., queued: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("filter", "rollout", "limit")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    filter: AlertFilter
    rollout: str
    limit: int
    def __init__(self, filter: _Optional[_Union[AlertFilter, str]] = ..., rollout: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "webhooks")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    webhooks: _containers.RepeatedCompositeFieldContainer[WebhookStatus]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., webhooks: _Optional[_Iterable[_Union[WebhookStatus, _Mapping]]] = ...) -> None: ...

class AcknowledgeAlertRequest(_message.Message):
    __slots__ = ("id", "note")
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    id: str
    note: str
    def __init__(self, id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AcknowledgeAlertResponse(_message.Message):
    __slots__ = ("alert",)
    ALERT_FIELD_NUMBER: _ClassVar[int]
    alert: Alert
    def __init__(self, alert: _Optional[_Union[Alert, _Mapping]] = ...) -> None: ...

class WatchAlertsRequest(_message.Message):
    __slots__ = ("rollout",)
    ROLLOUT_FIELD_NUMBER: _ClassVar[int]
    rollout: str
    def __init__(self, rollout: _Optional[str] = ...) -> None: ...

class FiringAlerts(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class WatchAlertsResponse(_message.Message):
    __slots__ = ("firing", "event")
    FIRING_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    firing: FiringAlerts
    event: AlertEvent
    def __init__(self, firing: _Optional[_Union[FiringAlerts, _Mapping]] = ..., event: _Optional[_Union[AlertEvent, _Mapping]] = ...) -> None: ...
