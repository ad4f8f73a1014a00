"""``flagd.sync.v1.FlagSyncService``: the flags we evaluate, as flagd JSON, for in-process providers.

An in-process provider evaluates locally what it receives here, so it must receive exactly what the
daemon evaluates: file flags and admin-written flags of the current snapshot, with each ``$ref`` expanded
from its own document's ``$evaluators`` (two files may name different rules alike, and a provider
expands only one level), each flag's metadata already merged with its flag set's, and the daemon's
static context (``--environment`` and the like) as ``sync_context``, which providers merge into every
evaluation as the daemon does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import grpc

from sidecar.evaluation.model import CompiledFlag
from sidecar.protocols.flagd.events import EventSource
from sidecar.protocols.flagd.pb.sync.v1 import sync_pb2
from sidecar.protocols.flagd.selection import Selector, request_selector
from sidecar.server.convert import fill_struct

SYNC_SERVICE = sync_pb2.DESCRIPTOR.services_by_name["FlagSyncService"]
_REF = "$ref"


def flag_configuration(flags: Iterable[CompiledFlag], selector: Selector) -> str:
    """One flagd document holding ``flags`` (compact, keys sorted, so equal configurations compare equal)."""
    document: dict[str, Any] = {"flags": {flag.key: _flag_json(flag) for flag in flags}}
    if selector.metadata:
        document["metadata"] = dict(selector.metadata)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _flag_json(flag: CompiledFlag) -> dict[str, Any]:
    # Only the properties a provider's flag model accepts: it refuses a flag with any other.
    written: dict[str, Any] = {
        "state": "ENABLED" if flag.enabled else "DISABLED",
        "variants": flag.definition.get("variants", {}),
    }
    if flag.default_variant is not None:
        written["defaultVariant"] = flag.default_variant
    targeting = flag.definition.get("targeting")
    if targeting is not None:
        written["targeting"] = expand_refs(targeting, flag.evaluators)
    if flag.metadata:
        written["metadata"] = dict(flag.metadata)
    return written


def expand_refs(rule: Any, evaluators: Mapping[str, Any]) -> Any:
    """``rule`` with every ``{"$ref": name}`` replaced by that evaluator, recursively (the flag compiled,
    so every name exists and no reference cycles)."""
    if isinstance(rule, Mapping):
        if len(rule) == 1 and isinstance(rule.get(_REF), str) and rule[_REF] in evaluators:
            return expand_refs(evaluators[rule[_REF]], evaluators)
        return {key: expand_refs(value, evaluators) for key, value in rule.items()}
    if isinstance(rule, list):
        return [expand_refs(item, evaluators) for item in rule]
    return rule


class FlagSyncServicer:
    def __init__(self, events: EventSource, static_context: Mapping[str, Any]) -> None:
        self._events = events
        self._context = dict(static_context)

    async def SyncFlags(
        self, request: sync_pb2.SyncFlagsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[sync_pb2.SyncFlagsResponse]:
        selector = request_selector(context.invocation_metadata(), request.selector)
        sent = None
        async for change in self._events.watch(selector):
            if change is None:  # keep-alives are the event stream's; gRPC pings keep this one open
                continue
            configuration = flag_configuration(change.flags.values(), selector)
            if configuration == sent:
                continue
            sent = configuration
            response = sync_pb2.SyncFlagsResponse(flag_configuration=configuration)
            response.sync_context.SetInParent()
            fill_struct(response.sync_context, self._context)
            yield response

    async def FetchAllFlags(
        self, request: sync_pb2.FetchAllFlagsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sync_pb2.FetchAllFlagsResponse:
        selector = request_selector(context.invocation_metadata(), request.selector)
        flags = self._events.selected(selector)
        return sync_pb2.FetchAllFlagsResponse(flag_configuration=flag_configuration(flags.values(), selector))

    async def GetMetadata(
        self, request: sync_pb2.GetMetadataRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> sync_pb2.GetMetadataResponse:
        """Deprecated by flagd in favour of ``sync_context``; still asked for by providers before syncing."""
        response = sync_pb2.GetMetadataResponse()
        fill_struct(response.metadata, self._context)
        return response
