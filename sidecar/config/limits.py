"""Every limit on what one request may carry, named in one place.

The servicers check requests against these before any work is done, and an over-limit request answers
INVALID_ARGUMENT with a message naming the limit and its value (see :meth:`Limit.refusal`). Two are enforced
by gRPC itself, before a servicer sees the call: a message over :data:`MESSAGE_BYTES` and headers over
:data:`METADATA_BYTES` answer RESOURCE_EXHAUSTED, gRPC's standard status for them. The README's "Limits"
table lists each one under its name.

What a configuration file or an evaluation may cost is bounded beside the code that pays for it:
``config/located.py`` (file bytes, depth, values), ``store/sources.py`` (flags per file) and
``evaluation/budget.py`` (steps and built sizes of one evaluation).
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.config.keys import MAX_KEY_LENGTH
from sidecar.errors import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    value: int
    unit: str

    def refusal(self, subject: str, size: float | None = None) -> InvalidArgumentError:
        """The INVALID_ARGUMENT for ``subject`` (what the caller sent, e.g. ``outcomes[3].error_type``)."""
        over = f"{size:g} > {self.value}" if size is not None else f"at most {self.value}"
        return InvalidArgumentError(f"{subject} is over the limit {self.name} ({over} {self.unit})")

    def check(self, subject: str, size: float) -> None:
        if size > self.value:
            raise self.refusal(subject, size)


# gRPC options of the main listener and of the peer-sync listener (RESOURCE_EXHAUSTED when exceeded).
MESSAGE_BYTES = Limit("message.bytes", 4 * 1024 * 1024, "bytes")
PEER_MESSAGE_BYTES = Limit("peer_message.bytes", 16 * 1024 * 1024, "bytes")
METADATA_BYTES = Limit("metadata.bytes", 16 * 1024, "bytes")

# The evaluation context of Evaluate, EvaluateAll and Route.
CONTEXT_BYTES = Limit("context.bytes", 64 * 1024, "bytes")
CONTEXT_DEPTH = Limit("context.depth", 8, "levels")

# Keys named in a request: flags, rollouts, experiments (the grammar is config/keys.py's).
KEY_CHARS = Limit("key.chars", MAX_KEY_LENGTH, "characters")

# Batches: ReportOutcomes (and each StreamOutcomes message), TrackEvents (and each stream message).
OUTCOMES_PER_CALL = Limit("outcomes.per_call", 10_000, "outcomes")
EVENTS_PER_CALL = Limit("events.per_call", 10_000, "events")
# ImportRecords: records per call, and the origin each may name (a file path and line).
RECORDS_PER_CALL = Limit("records.per_call", 10_000, "records")
ORIGIN_CHARS = Limit("origin.chars", 1024, "characters")
# How many entries ListAudit and ListAlerts answer at most.
LIST_ENTRIES = Limit("list.entries", 1000, "entries")

# Strings in requests.
REASON_CHARS = Limit("reason.chars", 1024, "characters")  # audit reason, alert acknowledgement note
ERROR_TYPE_CHARS = Limit("error_type.chars", 64, "characters")
UNIT_KEY_CHARS = Limit("unit_key.chars", 256, "characters")
METRIC_CHARS = Limit("metric.chars", 128, "characters")
FEEDBACK_TEXT_CHARS = Limit("feedback_text.chars", 4096, "characters")
CATEGORY_CHARS = Limit("category.chars", 64, "characters")
ALERT_ID_CHARS = Limit("alert_id.chars", 64, "characters")
SELECTOR_CHARS = Limit("selector.chars", 1024, "characters")  # flagd's selector field and header
# The x-actor header is cut to this length rather than refused: it only labels the audit entry.
ACTOR_CHARS = Limit("actor.chars", 128, "characters")

# Numbers in requests.
LATENCY_MS = Limit("latency_ms.max", 3_600_000, "ms")

REQUEST_LIMITS = (
    MESSAGE_BYTES,
    PEER_MESSAGE_BYTES,
    METADATA_BYTES,
    CONTEXT_BYTES,
    CONTEXT_DEPTH,
    KEY_CHARS,
    OUTCOMES_PER_CALL,
    EVENTS_PER_CALL,
    RECORDS_PER_CALL,
    ORIGIN_CHARS,
    LIST_ENTRIES,
    REASON_CHARS,
    ERROR_TYPE_CHARS,
    UNIT_KEY_CHARS,
    METRIC_CHARS,
    FEEDBACK_TEXT_CHARS,
    CATEGORY_CHARS,
    ALERT_ID_CHARS,
    SELECTOR_CHARS,
    ACTOR_CHARS,
    LATENCY_MS,
)


def grpc_options(message: Limit) -> list[tuple[str, int]]:
    """The gRPC channel arguments that enforce a listener's message and metadata limits."""
    return [
        ("grpc.max_receive_message_length", message.value),
        ("grpc.max_send_message_length", message.value),
        # Soft and hard limit alike: between the two gRPC refuses calls at random.
        ("grpc.max_metadata_size", METADATA_BYTES.value),
        ("grpc.absolute_max_metadata_size", METADATA_BYTES.value),
    ]


def check_request_key(field: str, key: str, *, required: bool = True) -> None:
    """Refuse a request's key that is missing (when ``required``) or longer than any key can be."""
    if required and not key:
        raise InvalidArgumentError(f"{field} is required")
    if len(key) > MAX_KEY_LENGTH:  # the plain integer: this runs on every Evaluate and Route
        raise KEY_CHARS.refusal(field, len(key))


def check_required(field: str, text: str, limit: Limit) -> None:
    """Refuse a string field that is empty or over ``limit``."""
    if not text:
        raise InvalidArgumentError(f"{field} is required")
    limit.check(field, len(text))
