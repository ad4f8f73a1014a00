from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExchangeRequest(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: SyncFrame
    def __init__(self, frame: _Optional[_Union[SyncFrame, _Mapping]] = ...) -> None: ...

class ExchangeResponse(_message.Message):
    __slots__ = ("frame",)
    FRAME_FIELD_NUMBER: _ClassVar[int]
    frame: SyncFrame
    def __init__(self, frame: _Optional[_Union[SyncFrame, _Mapping]] = ...) -> None: ...

class SyncFrame(_message.Message):
    __slots__ = ("hello", "summary", "detail", "entries")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    hello: SyncHello
    summary: SyncSummary
    detail: SyncDetail
    entries: SyncEntries
    def __init__(self, hello: _Optional[_Union[SyncHello, _Mapping]] = ..., summary: _Optional[_Union[SyncSummary, _Mapping]] = ..., detail: _Optional[_Union[SyncDetail, _Mapping]] = ..., entries: _Optional[_Union[SyncEntries, _Mapping]] = ...) -> None: ...

class SyncHello(_message.Message):
    __slots__ = ("node_id", "protocol_version", "proof", "listen_address", "members")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    LISTEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    protocol_version: int
    proof: str
    listen_address: str
    members: _containers.RepeatedCompositeFieldContainer[SyncMember]
    def __init__(self, node_id: _Optional[str] = ..., protocol_version: _Optional[int] = ..., proof: _Optional[str] = ..., listen_address: _Optional[str] = ..., members: _Optional[_Iterable[_Union[SyncMember, _Mapping]]] = ...) -> None: ...

class SyncMember(_message.Message):
    __slots__ = ("node_id", "last_seen")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    last_seen: float
    def __init__(self, node_id: _Optional[str] = ..., last_seen: _Optional[float] = ...) -> None: ...

class SyncSummary(_message.Message):
    __slots__ = ("records_hash", "states_hash", "bucket_groups", "audit_hours", "alert_acks_hash")
    RECORDS_HASH_FIELD_NUMBER: _ClassVar[int]
    STATES_HASH_FIELD_NUMBER: _ClassVar[int]
    BUCKET_GROUPS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HOURS_FIELD_NUMBER: _ClassVar[int]
    ALERT_ACKS_HASH_FIELD_NUMBER: _ClassVar[int]
    records_hash: str
    states_hash: str
    bucket_groups: _containers.RepeatedCompositeFieldContainer[BucketGroupHash]
    audit_hours: _containers.RepeatedCompositeFieldContainer[AuditHourHash]
    alert_acks_hash: str
    def __init__(self, records_hash: _Optional[str] = ..., states_hash: _Optional[str] = ..., bucket_groups: _Optional[_Iterable[_Union[BucketGroupHash, _Mapping]]] = ..., audit_hours: _Optional[_Iterable[_Union[AuditHourHash, _Mapping]]] = ..., alert_acks_hash: _Optional[str] = ...) -> None: ...

class BucketGroup(_message.Message):
    __slots__ = ("rollout_key", "generation", "node_id")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    generation: int
    node_id: str
    def __init__(self, rollout_key: _Optional[str] = ..., generation: _Optional[int] = ..., node_id: _Optional[str] = ...) -> None: ...

class BucketGroupHash(_message.Message):
    __slots__ = ("group", "hash")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    group: BucketGroup
    hash: str
    def __init__(self, group: _Optional[_Union[BucketGroup, _Mapping]] = ..., hash: _Optional[str] = ...) -> None: ...

class AuditHourHash(_message.Message):
    __slots__ = ("hour", "hash")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    hour: int
    hash: str
    def __init__(self, hour: _Optional[int] = ..., hash: _Optional[str] = ...) -> None: ...

class SyncDetail(_message.Message):
    __slots__ = ("records_included", "records", "states_included", "states", "bucket_groups", "audit_hours", "alert_acks_included", "alert_ack_ids")
    RECORDS_INCLUDED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    STATES_INCLUDED_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    BUCKET_GROUPS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_HOURS_FIELD_NUMBER: _ClassVar[int]
    ALERT_ACKS_INCLUDED_FIELD_NUMBER: _ClassVar[int]
    ALERT_ACK_IDS_FIELD_NUMBER: _ClassVar[int]
    records_included: bool
    records: _containers.RepeatedCompositeFieldContainer[RecordVersion]
    states_included: bool
    states: _containers.RepeatedCompositeFieldContainer[SyncRolloutState]
    bucket_groups: _containers.RepeatedCompositeFieldContainer[BucketGroupDetail]
    audit_hours: _containers.RepeatedCompositeFieldContainer[AuditHourDetail]
    alert_acks_included: bool
    alert_ack_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, records_included: _Optional[bool] = ..., records: _Optional[_Iterable[_Union[RecordVersion, _Mapping]]] = ..., states_included: _Optional[bool] = ..., states: _Optional[_Iterable[_Union[SyncRolloutState, _Mapping]]] = ..., bucket_groups: _Optional[_Iterable[_Union[BucketGroupDetail, _Mapping]]] = ..., audit_hours: _Optional[_Iterable[_Union[AuditHourDetail, _Mapping]]] = ..., alert_acks_included: _Optional[bool] = ..., alert_ack_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordVersion(_message.Message):
    __slots__ = ("kind", "key", "version", "deleted")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    kind: str
    key: str
    version: str
    deleted: bool
    def __init__(self, kind: _Optional[str] = ..., key: _Optional[str] = ..., version: _Optional[str] = ..., deleted: _Optional[bool] = ...) -> None: ...

class BucketGroupDetail(_message.Message):
    __slots__ = ("group", "buckets")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    group: BucketGroup
    buckets: _containers.RepeatedCompositeFieldContainer[BucketVersion]
    def __init__(self, group: _Optional[_Union[BucketGroup, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[BucketVersion, _Mapping]]] = ...) -> None: ...

class BucketVersion(_message.Message):
    __slots__ = ("bucket_start", "version", "requests", "fingerprint")
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    bucket_start: int
    version: str
    requests: int
    fingerprint: str
    def __init__(self, bucket_start: _Optional[int] = ..., version: _Optional[str] = ..., requests: _Optional[int] = ..., fingerprint: _Optional[str] = ...) -> None: ...

class AuditHourDetail(_message.Message):
    __slots__ = ("hour", "ids")
    HOUR_FIELD_NUMBER: _ClassVar[int]
    IDS_FIELD_NUMBER: _ClassVar[int]
    hour: int
    ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hour: _Optional[int] = ..., ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncEntries(_message.Message):
    __slots__ = ("records", "states", "buckets", "audit", "alert_acks")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_FIELD_NUMBER: _ClassVar[int]
    ALERT_ACKS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[SyncRecord]
    states: _containers.RepeatedCompositeFieldContainer[SyncRolloutState]
    buckets: _containers.RepeatedCompositeFieldContainer[SyncBucket]
    audit: _containers.RepeatedCompositeFieldContainer[SyncAudit]
    alert_acks: _containers.RepeatedCompositeFieldContainer[SyncAlertAck]
    def __init__(self, records: _Optional[_Iterable[_Union[SyncRecord, _Mapping]]] = ..., states: _Optional[_Iterable[_Union[SyncRolloutState, _Mapping]]] = ..., buckets: _Optional[_Iterable[_Union[SyncBucket, _Mapping]]] = ..., audit: _Optional[_Iterable[_Union[SyncAudit, _Mapping]]] = ..., alert_acks: _Optional[_Iterable[_Union[SyncAlertAck, _Mapping]]] = ...) -> None: ...

class SyncRecord(_message.Message):
    __slots__ = ("kind", "key", "definition_json", "deleted", "version")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    key: str
    definition_json: str
    deleted: bool
    version: str
    def __init__(self, kind: _Optional[str] = ..., key: _Optional[str] = ..., definition_json: _Optional[str] = ..., deleted: _Optional[bool] = ..., version: _Optional[str] = ...) -> None: ...

class SyncRolloutState(_message.Message):
    __slots__ = ("rollout_key", "state_json", "version")
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_JSON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    rollout_key: str
    state_json: str
    version: str
    def __init__(self, rollout_key: _Optional[str] = ..., state_json: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class SyncBucket(_message.Message):
    __slots__ = ("group", "bucket_start", "version", "counts_json")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    COUNTS_JSON_FIELD_NUMBER: _ClassVar[int]
    group: BucketGroup
    bucket_start: int
    version: str
    counts_json: str
    def __init__(self, group: _Optional[_Union[BucketGroup, _Mapping]] = ..., bucket_start: _Optional[int] = ..., version: _Optional[str] = ..., counts_json: _Optional[str] = ...) -> None: ...

class SyncAudit(_message.Message):
    __slots__ = ("id", "timestamp", "actor", "action", "target", "before_json", "after_json", "reason", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: float
    actor: str
    action: str
    target: str
    before_json: str
    after_json: str
    reason: str
    version: str
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[float] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ..., reason: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class SyncAlertAck(_message.Message):
    __slots__ = ("alert_id", "rule", "rollout_key", "acknowledged_at", "acknowledged_by", "note", "version")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_KEY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    rule: str
    rollout_key: str
    acknowledged_at: float
    acknowledged_by: str
    note: str
    version: str
    def __init__(self, alert_id: _Optional[str] = ..., rule: _Optional[str] = ..., rollout_key: _Optional[str] = ..., acknowledged_at: _Optional[float] = ..., acknowledged_by: _Optional[str] = ..., note: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...
