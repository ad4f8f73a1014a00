from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_UNSPECIFIED: _ClassVar[Reason]
    REASON_STATIC: _ClassVar[Reason]
    REASON_TARGETING_MATCH: _ClassVar[Reason]
    REASON_SPLIT: _ClassVar[Reason]
    REASON_DEFAULT: _ClassVar[Reason]
    REASON_DISABLED: _ClassVar[Reason]
    REASON_ERROR: _ClassVar[Reason]
REASON_UNSPECIFIED: Reason
REASON_STATIC: Reason
REASON_TARGETING_MATCH: Reason
REASON_SPLIT: Reason
REASON_DEFAULT: Reason
REASON_DISABLED: Reason
REASON_ERROR: Reason

class EvaluateRequest(_message.Message):
    __slots__ = ("flag_key", "context")
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    flag_key: str
    context: _struct_pb2.Struct
    def __init__(self, flag_key: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("flag_key", "value", "variant", "reason", "metadata", "revision", "error_code", "error_message")
    FLAG_KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    flag_key: str
    value: _struct_pb2.Value
    variant: str
    reason: Reason
    metadata: _struct_pb2.Struct
    revision: int
    error_code: str
    error_message: str
    def __init__(self, flag_key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., variant: _Optional[str] = ..., reason: _Optional[_Union[Reason, str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., revision: _Optional[int] = ..., error_code: _Optional[str] = ..., error_message: _Optional[str] = ...) -> None: ...

class EvaluateAllRequest(_message.Message):
    __slots__ = ("context",)
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    context: _struct_pb2.Struct
    def __init__(self, context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class EvaluateAllResponse(_message.Message):
    __slots__ = ("flags", "revision")
    class FlagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: EvaluateResponse
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[EvaluateResponse, _Mapping]] = ...) -> None: ...
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    flags: _containers.MessageMap[str, EvaluateResponse]
    revision: int
    def __init__(self, flags: _Optional[_Mapping[str, EvaluateResponse]] = ..., revision: _Optional[int] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: ConfigEvent
    def __init__(self, event: _Optional[_Union[ConfigEvent, _Mapping]] = ...) -> None: ...

class ConfigEvent(_message.Message):
    __slots__ = ("revision", "changed_keys")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_KEYS_FIELD_NUMBER: _ClassVar[int]
    revision: int
    changed_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revision: _Optional[int] = ..., changed_keys: _Optional[_Iterable[str]] = ...) -> None: ...
