"""flagd's gRPC APIs on a real daemon, called with the generated stubs: evaluation v1 and v2, and sync."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2 as v1
from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2_grpc as v1_grpc
from sidecar.protocols.flagd.pb.evaluation.v2 import evaluation_pb2 as v2
from sidecar.protocols.flagd.pb.evaluation.v2 import evaluation_pb2_grpc as v2_grpc
from sidecar.protocols.flagd.pb.sync.v1 import sync_pb2, sync_pb2_grpc
from sidecar.server.convert import fill_struct
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

SHOP: dict[str, Any] = {
    "new-checkout": boolean_flag(
        targeting={"if": [{"$ref": "is-beta"}, "on", None]}, metadata={"owner": "ann"}
    ),
    "stamp": {
        "state": "ENABLED",
        "variants": {"mine": "mine", "other": "other"},
        "defaultVariant": "other",
        "targeting": {"if": [{"==": [{"var": "$flagd.flagKey"}, "stamp"]}, "mine", "other"]},
    },
    "max-items": {"state": "ENABLED", "variants": {"few": 3, "many": 30.9}, "defaultVariant": "many"},
    "retired": boolean_flag("on", state="DISABLED"),
    "unset": {"state": "ENABLED", "variants": {"on": True, "off": False}},
    "split": {
        "state": "ENABLED",
        "variants": {"a": "a", "b": "b"},
        "defaultVariant": "a",
        "targeting": {"fractional": [["a", 50], ["b", 50]]},
    },
    "broken": {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "off",
        "targeting": {"if": [True, "neither", "off"]},
    },
    "theme": {"state": "ENABLED", "variants": {"dark": {"bg": "black"}}, "defaultVariant": "dark"},
}
TOP = {
    "$evaluators": {"is-beta": {"in": [{"var": "email"}, ["ann@example.com"]]}},
    "metadata": {"flagSetId": "shop", "team": "checkout"},
}
OTHER = {"banner": boolean_flag("on")}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("flagd-api")
    config = base / "config"
    config.mkdir()
    write_flags(config, "shop.json", SHOP, **TOP)
    write_flags(config, "other.json", OTHER)
    with Daemon(config, base / "state", "--environment", "staging", flagd_sync=True) as running:
        yield running


def context(**fields: Any) -> Any:
    struct = v1.ResolveAllRequest().context
    fill_struct(struct, fields)
    return struct


def code_of(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), caught.value.details()


def test_v1_resolves_each_type_with_reasons_and_metadata(daemon: Daemon) -> None:
    stub = v1_grpc.ServiceStub(daemon.channel())
    match = stub.ResolveBoolean(
        v1.ResolveBooleanRequest(flag_key="new-checkout", context=context(email="ann@example.com")),
        timeout=10,
    )
    assert (match.value, match.variant, match.reason) == (True, "on", "TARGETING_MATCH")
    assert json_format.MessageToDict(match.metadata) == {
        "flagSetId": "shop",
        "team": "checkout",
        "owner": "ann",
    }
    assert stub.ResolveString(v1.ResolveStringRequest(flag_key="stamp"), timeout=10).variant == "mine"
    integer = stub.ResolveInt(v1.ResolveIntRequest(flag_key="max-items"), timeout=10)
    assert (integer.value, integer.reason) == (30, "STATIC")  # truncated, as flagd does
    assert stub.ResolveFloat(v1.ResolveFloatRequest(flag_key="max-items"), timeout=10).value == 30.9
    split = stub.ResolveString(v1.ResolveStringRequest(flag_key="split", context=context(targetingKey="u")))
    assert split.reason == "SPLIT"
    theme = stub.ResolveObject(v1.ResolveObjectRequest(flag_key="theme"), timeout=10)
    assert json_format.MessageToDict(theme.value) == {"bg": "black"}
    disabled = stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key="retired"), timeout=10)
    assert (disabled.value, disabled.variant, disabled.reason) == (False, "", "DISABLED")


def test_v1_errors_answer_flagds_status_codes(daemon: Daemon) -> None:
    stub = v1_grpc.ServiceStub(daemon.channel())
    missing = code_of(lambda: stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key="nope"), timeout=10))
    assert missing[0] == grpc.StatusCode.NOT_FOUND
    assert "FLAG_NOT_FOUND" in missing[1]
    # A disabled flag serves nothing, so flagd checks no type: any typed call answers DISABLED.
    assert stub.ResolveString(v1.ResolveStringRequest(flag_key="retired"), timeout=10).reason == "DISABLED"
    wrong = code_of(lambda: stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key="max-items"), timeout=10))
    assert wrong[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "TYPE_MISMATCH" in wrong[1]
    # v1 answers a flag without a default variant that falls through as not found, like flagd's v1.
    assert code_of(lambda: stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key="unset")))[0] == (
        grpc.StatusCode.NOT_FOUND
    )
    general = code_of(lambda: stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key="broken"), timeout=10))
    assert general[0] == grpc.StatusCode.INTERNAL
    assert "GENERAL" in general[1]
    assert code_of(lambda: stub.ResolveBoolean(v1.ResolveBooleanRequest(flag_key=""), timeout=10))[0] == (
        grpc.StatusCode.INVALID_ARGUMENT
    )


def test_v2_leaves_value_and_variant_unset_when_none_is_served(daemon: Daemon) -> None:
    stub = v2_grpc.ServiceStub(daemon.channel())
    unset = stub.ResolveBoolean(v2.ResolveBooleanRequest(flag_key="unset"), timeout=10)
    assert (unset.reason, unset.HasField("value"), unset.HasField("variant")) == ("DEFAULT", False, False)
    disabled = stub.ResolveObject(v2.ResolveObjectRequest(flag_key="retired"), timeout=10)
    assert (disabled.reason, disabled.HasField("value")) == ("DISABLED", False)
    served = stub.ResolveInt(v2.ResolveIntRequest(flag_key="max-items"), timeout=10)
    assert (served.value, served.variant, served.HasField("value")) == (30, "many", True)
    wrong = code_of(lambda: stub.ResolveFloat(v2.ResolveFloatRequest(flag_key="theme"), timeout=10))
    assert wrong[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_selector_header_narrows_to_one_flag_set(daemon: Daemon) -> None:
    stub = v2_grpc.ServiceStub(daemon.channel())
    shop = [("flagd-selector", "flagSetId=shop")]
    found = stub.ResolveString(v2.ResolveStringRequest(flag_key="stamp"), metadata=shop, timeout=10)
    assert json_format.MessageToDict(found.metadata)["flagSetId"] == "shop"
    elsewhere = code_of(
        lambda: stub.ResolveBoolean(v2.ResolveBooleanRequest(flag_key="banner"), metadata=shop, timeout=10)
    )
    assert elsewhere[0] == grpc.StatusCode.NOT_FOUND
    by_file = [("flagd-selector", "source=other.json")]
    assert stub.ResolveBoolean(v2.ResolveBooleanRequest(flag_key="banner"), metadata=by_file).value is True
    bad = code_of(
        lambda: stub.ResolveBoolean(
            v2.ResolveBooleanRequest(flag_key="banner"), metadata=[("flagd-selector", "app=x")]
        )
    )
    assert bad[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert "flagSetId" in bad[1]


def test_v1_resolve_all(daemon: Daemon) -> None:
    stub = v1_grpc.ServiceStub(daemon.channel())
    response = stub.ResolveAll(v1.ResolveAllRequest(context=context(targetingKey="u")), timeout=10)
    flags = response.flags
    assert "unset" not in flags  # no default variant: v1 has no way to say "no value"
    assert flags["max-items"].double_value == 30.9
    assert flags["retired"].reason == "DISABLED"
    assert flags["retired"].bool_value is False
    assert flags["broken"].reason == "ERROR"
    assert flags["theme"].object_value.fields["bg"].string_value == "black"
    assert json_format.MessageToDict(flags["new-checkout"].metadata)["owner"] == "ann"
    narrowed = stub.ResolveAll(v1.ResolveAllRequest(), metadata=[("flagd-selector", "flagSetId=shop")])
    assert "banner" not in narrowed.flags
    assert json_format.MessageToDict(narrowed.metadata) == {"flagSetId": "shop"}


def _collect(stream: Any, into: queue.Queue[Any]) -> None:
    try:
        for message in stream:
            into.put(message)
    except grpc.RpcError:
        into.put(None)


def test_event_stream_reports_ready_then_typed_changes(daemon: Daemon) -> None:
    stub = v1_grpc.ServiceStub(daemon.channel())
    received: queue.Queue[Any] = queue.Queue()
    stream = stub.EventStream(v1.EventStreamRequest(), timeout=60)
    threading.Thread(target=_collect, args=(stream, received), daemon=True).start()
    assert received.get(timeout=30).type == "provider_ready"
    write_flags(daemon.config_dir, "events.json", {"fresh": boolean_flag()})
    change = received.get(timeout=30)
    assert change.type == "configuration_change"
    assert json_format.MessageToDict(change.data) == {"flags": {"fresh": {"type": "write"}}}
    write_flags(daemon.config_dir, "events.json", {"fresh": boolean_flag("on")})
    assert json_format.MessageToDict(received.get(timeout=30).data) == {
        "flags": {"fresh": {"type": "update"}}
    }
    (daemon.config_dir / "events.json").unlink()
    assert json_format.MessageToDict(received.get(timeout=30).data) == {
        "flags": {"fresh": {"type": "delete"}}
    }
    stream.cancel()


def test_sync_sends_what_the_daemon_evaluates(daemon: Daemon) -> None:
    stub = sync_pb2_grpc.FlagSyncServiceStub(daemon.channel(daemon.flagd_sync_target))
    fetched = json.loads(stub.FetchAllFlags(sync_pb2.FetchAllFlagsRequest(), timeout=10).flag_configuration)
    beta = fetched["flags"]["new-checkout"]
    # Expanded from the file's $evaluators, metadata merged with its flag set's, state always written.
    assert beta["targeting"] == {"if": [TOP["$evaluators"]["is-beta"], "on", None]}
    assert beta["metadata"] == {"flagSetId": "shop", "team": "checkout", "owner": "ann"}
    assert fetched["flags"]["banner"]["state"] == "ENABLED"
    assert "defaultVariant" not in fetched["flags"]["unset"]
    metadata = stub.GetMetadata(sync_pb2.GetMetadataRequest(), timeout=10).metadata
    assert json_format.MessageToDict(metadata) == {"environment": "staging"}


def test_sync_selects_by_header_or_request_and_streams_changes(daemon: Daemon) -> None:
    stub = sync_pb2_grpc.FlagSyncServiceStub(daemon.channel(daemon.flagd_sync_target))
    write_flags(daemon.config_dir, "synced.json", {"synced": boolean_flag("on")})

    def synced_flags(selector: str) -> set[str]:
        request = sync_pb2.FetchAllFlagsRequest(selector=selector)
        return set(json.loads(stub.FetchAllFlags(request, timeout=10).flag_configuration)["flags"])

    assert wait_for(lambda: synced_flags("synced.json"), timeout=30) == {"synced"}
    received: queue.Queue[Any] = queue.Queue()
    header = [("flagd-selector", "source=synced.json")]
    stream = stub.SyncFlags(sync_pb2.SyncFlagsRequest(selector="ignored.json"), metadata=header, timeout=60)
    threading.Thread(target=_collect, args=(stream, received), daemon=True).start()
    first = received.get(timeout=30)
    assert json.loads(first.flag_configuration)["flags"]["synced"]["defaultVariant"] == "on"
    assert json_format.MessageToDict(first.sync_context) == {"environment": "staging"}
    write_flags(daemon.config_dir, "synced.json", {"synced": boolean_flag("off")})
    second = received.get(timeout=30)
    assert json.loads(second.flag_configuration)["flags"]["synced"]["defaultVariant"] == "off"
    stream.cancel()
    bad = code_of(lambda: stub.FetchAllFlags(sync_pb2.FetchAllFlagsRequest(selector="owner=me"), timeout=10))
    assert bad[0] == grpc.StatusCode.INVALID_ARGUMENT
