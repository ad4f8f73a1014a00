"""flagd's service-layer rules as units: selectors, typed reading of resolutions, sync payloads, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from sidecar.config.located import LocatedDocument
from sidecar.errors import InvalidArgumentError
from sidecar.evaluation.flags import compile_flags
from sidecar.evaluation.model import EvalErrorCode, Reason, Resolution
from sidecar.protocols.flagd.events import CONFIGURATION_CHANGE, KEEP_ALIVE, PROVIDER_READY, EventSource
from sidecar.protocols.flagd.resolve import FlagdFailure, FlagType, convert, kind_of, typed
from sidecar.protocols.flagd.selection import ALL, Selector, parse_selector, request_selector
from sidecar.protocols.flagd.sync import expand_refs, flag_configuration
from sidecar.store.config_store import ConfigStore
from tests.support.flagfiles import boolean_flag, write_flags
from tests.unit.store.test_config_store import run

CONFIG = Path("/etc/rollout-sidecar")


def flags(document: dict[str, Any], source: str = str(CONFIG / "shop.json")) -> dict[str, Any]:
    return compile_flags(LocatedDocument(source, document))


@pytest.mark.parametrize(
    ("expression", "selector"),
    [
        ("", ALL),
        ("flagSetId=shop", Selector("flagSetId", "shop")),
        ("flagSetId=", Selector("flagSetId", "")),
        ("source=shop.json", Selector("source", "shop.json")),
        ("shop.json", Selector("source", "shop.json")),
        ("source=a=b", Selector("source", "a=b")),
    ],
)
def test_selector_expressions_read_as_flagd_reads_them(expression: str, selector: Selector) -> None:
    assert parse_selector(expression) == selector


@pytest.mark.parametrize("expression", ["app=shop", "x" * 1025])
def test_bad_selectors_say_what_is_accepted(expression: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_selector(expression)


def test_the_header_wins_over_the_request_field() -> None:
    assert request_selector([("flagd-selector", "flagSetId=a")], "b.json") == Selector("flagSetId", "a")
    assert request_selector([("flagd-selector", b"flagSetId=c")]) == Selector("flagSetId", "c")
    assert request_selector(None, "b.json") == Selector("source", "b.json")


def test_selection_by_flag_set_and_by_source() -> None:
    compiled = {
        **flags({"metadata": {"flagSetId": "shop"}, "flags": {"a": boolean_flag()}}),
        **flags({"flags": {"b": boolean_flag()}}, source=str(CONFIG / "sub" / "other.json")),
    }
    keys = lambda selector: [f.key for f in selector.select(compiled, CONFIG)]  # noqa: E731
    assert keys(ALL) == ["a", "b"]
    assert keys(Selector("flagSetId", "shop")) == ["a"]
    assert keys(Selector("flagSetId", "")) == ["b"]
    assert keys(Selector("source", "sub/other.json")) == ["b"]
    assert keys(Selector("source", str(CONFIG / "shop.json"))) == ["a"]
    assert Selector("flagSetId", "shop").metadata == {"flagSetId": "shop"}
    assert Selector("flagSetId", "").metadata == {}


def resolution(
    value: Any, variant: str | None = "v", reason: Reason = Reason.STATIC, **extra: Any
) -> Resolution:
    return Resolution("f", value, variant, reason, {"team": "x"}, **extra)


def test_numbers_serve_both_number_types_and_nothing_else_converts() -> None:
    assert convert(30.9, FlagType.INTEGER) == 30
    assert convert(3, FlagType.FLOAT) == 3.0
    assert convert(True, FlagType.INTEGER) is None
    assert convert("3", FlagType.FLOAT) is None
    assert convert([1], FlagType.OBJECT) is None
    assert [kind_of(v) for v in (True, "s", 1.5, {}, [])] == ["boolean", "string", "number", "object", "list"]


def test_typed_reading_of_resolutions() -> None:
    served = typed(resolution(True), FlagType.BOOLEAN, v1=True, scope={"flagSetId": "s"})
    assert (served.value, served.variant, served.reason) == (True, "v", "STATIC")
    assert served.metadata == {"flagSetId": "s", "team": "x"}
    disabled = typed(resolution(None, None, Reason.DISABLED), FlagType.STRING, v1=True, scope={})
    assert (disabled.value, disabled.reason) == (None, "DISABLED")
    no_default = typed(resolution(None, None, Reason.DEFAULT), FlagType.STRING, v1=False, scope={})
    assert (no_default.value, no_default.variant, no_default.reason) == (None, None, "DEFAULT")


@pytest.mark.parametrize(
    ("item", "flag_type", "v1", "status", "code"),
    [
        (resolution(1), FlagType.BOOLEAN, False, grpc.StatusCode.INVALID_ARGUMENT, "TYPE_MISMATCH"),
        (
            resolution(None, None, Reason.DEFAULT),
            FlagType.BOOLEAN,
            True,
            grpc.StatusCode.NOT_FOUND,
            "FLAG_NOT_FOUND",
        ),
        (
            resolution(None, None, Reason.ERROR, error_code=EvalErrorCode.GENERAL, error_message="boom"),
            FlagType.BOOLEAN,
            False,
            grpc.StatusCode.INTERNAL,
            "GENERAL",
        ),
        (
            resolution(None, None, Reason.ERROR, error_code=EvalErrorCode.PARSE_ERROR),
            FlagType.STRING,
            False,
            grpc.StatusCode.DATA_LOSS,
            "PARSE_ERROR",
        ),
    ],
)
def test_failures_carry_flagds_status_and_code(
    item: Resolution, flag_type: FlagType, v1: bool, status: grpc.StatusCode, code: str
) -> None:
    with pytest.raises(FlagdFailure) as caught:
        typed(item, flag_type, v1=v1, scope={})
    assert (caught.value.status, caught.value.code) == (status, code)
    assert caught.value.message.startswith(f"{code}: ")


def test_refs_expand_through_nested_evaluators() -> None:
    evaluators = {"inner": {"==": [1, 1]}, "outer": {"and": [{"$ref": "inner"}, True]}}
    rule = {"if": [{"$ref": "outer"}, "on", {"$ref": "unknown"}]}
    assert expand_refs(rule, evaluators) == {
        "if": [{"and": [{"==": [1, 1]}, True]}, "on", {"$ref": "unknown"}]
    }


def test_sync_payload_is_a_flagd_document_a_provider_accepts() -> None:
    compiled = flags(
        {
            "$evaluators": {"beta": {"in": [{"var": "email"}, ["a@x"]]}},
            "metadata": {"flagSetId": "shop"},
            "flags": {
                "a": {
                    "variants": {"on": True, "off": False},
                    "targeting": {"if": [{"$ref": "beta"}, "on", None]},
                },
                "b": boolean_flag("on", state="DISABLED", metadata={"owner": "ann"}),
            },
        }
    )
    document = json.loads(flag_configuration(compiled.values(), Selector("flagSetId", "shop")))
    assert document["metadata"] == {"flagSetId": "shop"}
    assert document["flags"]["a"] == {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "targeting": {"if": [{"in": [{"var": "email"}, ["a@x"]]}, "on", None]},
        "metadata": {"flagSetId": "shop"},
    }
    assert document["flags"]["b"]["state"] == "DISABLED"
    assert document["flags"]["b"]["metadata"] == {"flagSetId": "shop", "owner": "ann"}
    assert "metadata" not in json.loads(flag_configuration([], ALL))


def test_event_stream_is_ready_then_changes_then_keeps_alive(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, _database: Any) -> None:
        events = EventSource(store, keep_alive_seconds=0.2)
        stream = events.stream(ALL)
        assert await anext(stream) == (PROVIDER_READY, {})
        write_flags(config, "new.json", {"fresh": boolean_flag()})
        await store.reload()
        assert await anext(stream) == (CONFIGURATION_CHANGE, {"flags": {"fresh": {"type": "write"}}})
        assert await anext(stream) == (KEEP_ALIVE, {})
        await stream.aclose()

    (tmp_path / "config").mkdir()
    write_flags(tmp_path / "config", "base.json", {"base": boolean_flag()})
    run(tmp_path, scenario)


def test_a_change_outside_the_selection_sends_nothing(tmp_path: Path) -> None:
    async def scenario(store: ConfigStore, config: Path, _database: Any) -> None:
        events = EventSource(store, keep_alive_seconds=0.2)
        stream = events.stream(Selector("source", "watched.json"))
        assert (await anext(stream))[0] == PROVIDER_READY
        write_flags(config, "elsewhere.json", {"other": boolean_flag()})
        await store.reload()
        assert await anext(stream) == (KEEP_ALIVE, {})  # not a change for this stream
        await stream.aclose()

    run(tmp_path, scenario)


def test_editing_a_shared_evaluator_changes_the_flags_that_name_it(tmp_path: Path) -> None:
    """A file's $evaluators edit changes no flag's definition as written, yet changes what it does."""

    def document(emails: list[str]) -> dict[str, Any]:
        return {
            "$evaluators": {"beta": {"in": [{"var": "email"}, emails]}},
            "flags": {
                "a": boolean_flag(targeting={"if": [{"$ref": "beta"}, "on", None]}),
                "b": boolean_flag(),
            },
        }

    async def scenario(store: ConfigStore, config: Path, _database: Any) -> None:
        events = EventSource(store, keep_alive_seconds=30.0)
        stream = events.stream(ALL)
        assert (await anext(stream))[0] == PROVIDER_READY
        write_flags(config, "shared.json", **document(["x@y"]))
        await store.reload()
        assert await anext(stream) == (CONFIGURATION_CHANGE, {"flags": {"a": {"type": "update"}}})
        await stream.aclose()

    (tmp_path / "config").mkdir()
    write_flags(tmp_path / "config", "shared.json", **document(["a@b"]))
    run(tmp_path, scenario)
