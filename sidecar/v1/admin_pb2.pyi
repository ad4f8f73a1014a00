from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Flag(_message.Message):
    __slots__ = ("key", "definition", "source", "version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    key: str
    definition: _struct_pb2.Struct
    source: str
    version: str
    def __init__(self, key: _Optional[str] = ..., definition: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., source: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class PutFlagRequest(_message.Message):
    __slots__ = ("flag_key", "definition", "reason")
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    flag_key: str
    definition: _struct_pb2.Struct
    reason: str
    def __init__(self, flag_key: _Optional[str] = ..., definition: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class PutFlagResponse(_message.Message):
    __slots__ = ("flag", "revision")
    FLAG_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    flag: Flag
    revision: int
    def __init__(self, flag: _Optional[_Union[Flag, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class DeleteFlagRequest(_message.Message):
    __slots__ = ("flag_key", "reason")
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    flag_key: str
    reason: str
    def __init__(self, flag_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteFlagResponse(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class GetFlagRequest(_message.Message):
    __slots__ = ("flag_key",)
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    flag_key: str
    def __init__(self, flag_key: _Optional[str] = ...) -> None: ...

class GetFlagResponse(_message.Message):
    __slots__ = ("flag",)
    FLAG_FIELD_NUMBER: _ClassVar[int]
    flag: Flag
    def __init__(self, flag: _Optional[_Union[Flag, _Mapping]] = ...) -> None: ...

class ListFlagsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFlagsResponse(_message.Message):
    __slots__ = ("flags", "revision")
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.RepeatedCompositeFieldContainer[Flag]
    revision: int
    def __init__(self, flags: _Optional[_Iterable[_Union[Flag, _Mapping]]] = ..., revision: _Optional[int] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SourceStatus(_message.Message):
    __slots__ = ("path", "ok", "errors", "checked_at", "flag_count")
    PATH_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    FLAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    path: str
    ok: bool
    errors: _containers.RepeatedScalarFieldContainer[str]
    checked_at: float
    flag_count: int
    def __init__(self, path: _Optional[str] = ..., ok: _Optional[bool] = ..., errors: _Optional[_Iterable[str]] = ..., checked_at: _Optional[float] = ..., flag_count: _Optional[int] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("revision", "sources", "flag_count", "uptime_seconds", "node_id", "environment", "version", "serving", "rollout_count", "peers", "sync_digest", "health_problems")
    class HealthProblemsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FLAG_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVING_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    SYNC_DIGEST_FIELD_NUMBER: _ClassVar[int]
    HEALTH_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    sources: _containers.RepeatedCompositeFieldContainer[SourceStatus]
    flag_count: int
    uptime_seconds: float
    node_id: str
    environment: str
    version: str
    serving: bool
    rollout_count: int
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    sync_digest: str
    health_problems: _containers.ScalarMap[str, str]
    def __init__(self, revision: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[SourceStatus, _Mapping]]] = ..., flag_count: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., node_id: _Optional[str] = ..., environment: _Optional[str] = ..., version: _Optional[str] = ..., serving: _Optional[bool] = ..., rollout_count: _Optional[int] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., sync_digest: _Optional[str] = ..., health_problems: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("node_id", "address", "connected", "outgoing", "last_contact", "lag_seconds", "entries_behind", "bytes_sent", "bytes_received", "entries_sent", "entries_received", "last_error")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    OUTGOING_FIELD_NUMBER: _ClassVar[int]
    LAST_CONTACT_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_BEHIND_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_SENT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    address: str
    connected: bool
    outgoing: bool
    last_contact: float
    lag_seconds: float
    entries_behind: int
    bytes_sent: int
    bytes_received: int
    entries_sent: int
    entries_received: int
    last_error: str
    def __init__(self, node_id: _Optional[str] = ..., address: _Optional[str] = ..., connected: _Optional[bool] = ..., outgoing: _Optional[bool] = ..., last_contact: _Optional[float] = ..., lag_seconds: _Optional[float] = ..., entries_behind: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., entries_sent: _Optional[int] = ..., entries_received: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("limit", "target")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    target: str
    def __init__(self, limit: _Optional[int] = ..., target: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "timestamp", "actor", "action", "target", "before", "after", "reason", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    timestamp: float
    actor: str
    action: str
    target: str
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    reason: str
    version: str
    def __init__(self, id: _Optional[str] = ..., timestamp: _Optional[float] = ..., actor: _Optional[str] = ..., action: _Optional[str] = ..., target: _Optional[str] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., reason: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class AdminRecord(_message.Message):
    __slots__ = ("kind", "key", "definition", "version", "origin")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    kind: str
    key: str
    definition: _struct_pb2.Struct
    version: str
    origin: str
    def __init__(self, kind: _Optional[str] = ..., key: _Optional[str] = ..., definition: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., version: _Optional[str] = ..., origin: _Optional[str] = ...) -> None: ...

class ExportRecordsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportRecordsResponse(_message.Message):
    __slots__ = ("records", "revision", "node_id", "environment", "skipped")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AdminRecord]
    revision: int
    node_id: str
    environment: str
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, records: _Optional[_Iterable[_Union[AdminRecord, _Mapping]]] = ..., revision: _Optional[int] = ..., node_id: _Optional[str] = ..., environment: _Optional[str] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportRecordsRequest(_message.Message):
    __slots__ = ("records", "reason", "replace", "dry_run")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[AdminRecord]
    reason: str
    replace: bool
    dry_run: bool
    def __init__(self, records: _Optional[_Iterable[_Union[AdminRecord, _Mapping]]] = ..., reason: _Optional[str] = ..., replace: _Optional[bool] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class ImportRecordsResponse(_message.Message):
    __slots__ = ("created", "replaced", "unchanged", "revision")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    created: int
    replaced: int
    unchanged: int
    revision: int
    def __init__(self, created: _Optional[int] = ..., replaced: _Optional[int] = ..., unchanged: _Optional[int] = ..., revision: _Optional[int] = ...) -> None: ...
