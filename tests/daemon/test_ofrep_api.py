"""OFREP over raw HTTP against a real daemon: answer shapes, statuses, the bulk ETag, the selector, the
change stream, and every way a request can be wrong (each a 4xx with an OFREP error body)."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from tests.support.daemon import Daemon, read_ready_file, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

SINGLE = "/ofrep/v1/evaluate/flags/"
BULK = "/ofrep/v1/evaluate/flags"
JSON = {"Content-Type": "application/json"}
SHOP: dict[str, Any] = {
    "beta": boolean_flag(targeting={"if": [{"==": [{"var": "plan"}, "pro"]}, "on", None]}),
    "retired": boolean_flag("on", state="DISABLED"),
    "broken": boolean_flag(targeting={"if": [True, "no-such-variant", "off"]}),
    "greeting": {"state": "ENABLED", "variants": {"hi": "hello"}, "defaultVariant": "hi"},
}
OTHER: dict[str, Any] = {"banner": boolean_flag("on")}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    base = tmp_path_factory.mktemp("ofrep-api")
    config = base / "config"
    config.mkdir()
    write_flags(config, "shop.json", SHOP, metadata={"flagSetId": "shop", "team": "checkout"})
    write_flags(config, "other.json", OTHER)
    with Daemon(config, base / "state") as running:
        yield running


def request(
    daemon: Daemon,
    path: str,
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Answer:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    connection = http.client.HTTPConnection("127.0.0.1", daemon.ofrep_port, timeout=10)
    try:
        connection.request(method, path, body=data, headers={**JSON, **(headers or {})})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        connection.close()


def evaluate(daemon: Daemon, key: str, context: dict[str, Any] | None = None, **headers: str) -> Answer:
    return request(daemon, SINGLE + key, {"context": context or {}}, headers)


def bulk(daemon: Daemon, context: dict[str, Any] | None = None, **headers: str) -> Answer:
    return request(daemon, BULK, {"context": context or {}}, headers)


def test_one_flag_answers_key_value_variant_reason_and_metadata(daemon: Daemon) -> None:
    answer = evaluate(daemon, "beta", {"targetingKey": "u1", "plan": "pro"})
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.body == {
        "key": "beta",
        "value": True,
        "variant": "on",
        "reason": "TARGETING_MATCH",
        "metadata": {"flagSetId": "shop", "team": "checkout"},
    }
    assert evaluate(daemon, "beta", {"plan": "free"}).body["reason"] == "DEFAULT"


def test_disabled_flag_answers_reason_disabled_without_a_value(daemon: Daemon) -> None:
    answer = evaluate(daemon, "retired")
    assert answer.status == 200
    assert answer.body == {
        "key": "retired",
        "reason": "DISABLED",
        "metadata": {"flagSetId": "shop", "team": "checkout"},
    }


def test_unknown_flag_is_404_flag_not_found(daemon: Daemon) -> None:
    answer = evaluate(daemon, "no-such-flag")
    assert answer.status == 404
    assert answer.body["key"] == "no-such-flag"
    assert answer.body["errorCode"] == "FLAG_NOT_FOUND"
    assert "no-such-flag" in answer.body["errorDetails"]


def test_a_rule_naming_no_variant_is_500_general(daemon: Daemon) -> None:
    answer = evaluate(daemon, "broken")
    assert answer.status == 500
    assert (answer.body["key"], answer.body["errorCode"]) == ("broken", "GENERAL")


def test_bulk_answers_every_flag_with_an_etag_and_304_when_unchanged(daemon: Daemon) -> None:
    first = bulk(daemon, {"targetingKey": "u1", "plan": "pro"})
    assert first.status == 200
    flags = {flag["key"]: flag for flag in first.body["flags"]}
    assert set(flags) >= {"beta", "retired", "broken", "greeting", "banner"}  # later tests add more
    assert list(flags) == sorted(flags)
    assert flags["beta"]["value"] is True
    assert "value" not in flags["retired"]
    assert flags["broken"]["errorCode"] == "GENERAL"
    assert first.body["eventStreams"] == [{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}}]
    tag = first.headers["ETag"]
    assert tag.startswith('"')
    assert tag.endswith('"')
    again = bulk(daemon, {"targetingKey": "u1", "plan": "pro"}, **{"If-None-Match": tag})
    assert (again.status, again.raw, again.headers["ETag"]) == (304, b"", tag)
    assert (
        bulk(daemon, {"targetingKey": "u1", "plan": "pro"}, **{"If-None-Match": f'"x", W/{tag}'}).status
        == 304
    )
    # Another context gets another answer, so the old tag does not hold for it.
    other = bulk(daemon, {"targetingKey": "u1", "plan": "free"}, **{"If-None-Match": tag})
    assert other.status == 200
    assert other.headers["ETag"] != tag


def test_a_file_edit_changes_the_bulk_etag(daemon: Daemon) -> None:
    write_flags(daemon.config_dir, "edited.json", {"edited": boolean_flag("off")})
    wait_for(lambda: evaluate(daemon, "edited").status == 200, timeout=10.0)
    before = bulk(daemon)
    tag = before.headers["ETag"]
    write_flags(daemon.config_dir, "edited.json", {"edited": boolean_flag("on")})
    changed = wait_for(
        lambda: (a := bulk(daemon, **{"If-None-Match": tag})).status == 200 and a, timeout=10.0
    )
    assert changed.headers["ETag"] != tag
    assert {f["key"]: f.get("value") for f in changed.body["flags"]}["edited"] is True


def test_an_admin_write_changes_the_bulk_etag(daemon: Daemon) -> None:
    tag = bulk(daemon).headers["ETag"]
    definition = to_struct(boolean_flag("on"))
    request = admin_pb2.PutFlagRequest(flag_key="written", definition=definition, reason="test")
    daemon.admin().PutFlag(request, metadata=daemon.auth(), timeout=10)
    changed = bulk(daemon, **{"If-None-Match": tag})
    assert changed.status == 200
    assert changed.headers["ETag"] != tag
    assert {f["key"]: f.get("value") for f in changed.body["flags"]}["written"] is True


def test_selector_header_narrows_single_and_bulk(daemon: Daemon) -> None:
    shop = {"flagd-selector": "flagSetId=shop"}
    narrowed = bulk(daemon, **shop)
    assert {flag["key"] for flag in narrowed.body["flags"]} == {"beta", "retired", "broken", "greeting"}
    assert narrowed.body["metadata"] == {"flagSetId": "shop"}
    assert narrowed.body["eventStreams"][0]["endpoint"]["requestUri"] == (
        "/ofrep/v1/events?flagd-selector=flagSetId%3Dshop"
    )
    assert narrowed.headers["ETag"] != bulk(daemon).headers["ETag"]
    hidden = evaluate(daemon, "banner", **shop)
    assert (hidden.status, hidden.body["errorCode"]) == (404, "FLAG_NOT_FOUND")
    assert "flagSetId='shop'" in hidden.body["errorDetails"]
    assert evaluate(daemon, "banner", **{"flagd-selector": "source=other.json"}).body["value"] is True
    bad = evaluate(daemon, "banner", **{"flagd-selector": "owner=me"})
    assert (bad.status, bad.body["errorCode"]) == (400, "GENERAL")
    assert "flagSetId" in bad.body["errorDetails"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "words"),
    [
        pytest.param(b"{not json", {}, 400, "not JSON", id="malformed-json"),
        pytest.param(b"\xff\xfe", {}, 400, "not JSON", id="not-utf8"),
        pytest.param(b"[1, 2]", {}, 400, "JSON object", id="array-body"),
        pytest.param(b'{"context": "me"}', {}, 400, "context must be", id="context-not-object"),
        pytest.param(b'{"context": {"x": NaN}}', {}, 400, "not JSON", id="nan"),
        pytest.param(b'{"context": {"targetingKey": 7}}', {}, 400, "targetingKey", id="targeting-key-number"),
        pytest.param(b"[" * 60_000, {}, 400, "not JSON", id="deep-array-body"),
        pytest.param(
            json.dumps({"context": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}}).encode(),
            {},
            400,
            "context.depth",
            id="context-too-deep",
        ),
        pytest.param(b"{}", {"Content-Type": "text/plain"}, 415, "application/json", id="wrong-content-type"),
        pytest.param(
            json.dumps({"context": {"blob": "x" * 70_000}}).encode(), {}, 413, "context.bytes", id="oversized"
        ),
    ],
)
def test_bad_requests_answer_4xx_with_an_ofrep_error_body(
    daemon: Daemon, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    for path, key in ((SINGLE + "greeting", "greeting"), (BULK, None)):
        answer = request(daemon, path, body, headers)
        assert answer.status == status, answer.raw
        assert answer.body["errorCode"] == "INVALID_CONTEXT"
        assert words in answer.body["errorDetails"]
        assert answer.body.get("key") == key


def test_an_oversized_chunked_body_is_refused_without_reading_it_all(daemon: Daemon) -> None:
    with socket.create_connection(("127.0.0.1", daemon.ofrep_port), timeout=10) as sock:
        head = (
            f"POST {BULK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b'{"context": {"a": "' + b"x" * 100_000
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        reply = sock.recv(65536).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply
    assert "context.bytes" in reply


def test_a_key_over_its_limit_is_400_naming_it(daemon: Daemon) -> None:
    answer = evaluate(daemon, "k" * 300)
    assert (answer.status, answer.body["errorCode"]) == (400, "GENERAL")
    assert "key.chars" in answer.body["errorDetails"]


def test_an_empty_body_is_an_empty_context(daemon: Daemon) -> None:
    answer = request(daemon, SINGLE + "greeting", b"")
    assert (answer.status, answer.body["value"]) == (200, "hello")


def test_wrong_method_and_path_answer_error_bodies(daemon: Daemon) -> None:
    wrong_method = request(daemon, SINGLE + "greeting", method="GET")
    assert wrong_method.status == 405
    assert wrong_method.body["errorCode"] == "GENERAL"
    assert "POST" in wrong_method.headers["Allow"]
    nowhere = request(daemon, "/ofrep/v2/evaluate", b"{}")
    assert (nowhere.status, nowhere.body["errorCode"]) == (404, "GENERAL")


def test_change_stream_says_refetch_after_a_file_edit(daemon: Daemon) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", daemon.ofrep_port, timeout=15)
    try:
        connection.request("GET", "/ofrep/v1/events?flagd-selector=source%3Dstreamed.json")
        response = connection.getresponse()
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.readline() == b"retry: 1000\n"
        assert response.readline() == b"\n"
        # The first line goes out once the stream listens for changes: from here on none is missed.
        write_flags(daemon.config_dir, "streamed.json", {"streamed": boolean_flag("on")})
        lines = [response.readline() for _ in range(4)]
    finally:
        connection.close()
    assert lines == [b"id: 1\n", b"event: message\n", b'data: {"type": "refetchEvaluation"}\n', b"\n"]


def test_an_open_change_stream_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    write_flags(config, "a.json", OTHER)
    running = Daemon(config, tmp_path / "state").start()
    connection = http.client.HTTPConnection("127.0.0.1", running.ofrep_port, timeout=15)
    try:
        connection.request("GET", "/ofrep/v1/events")
        assert connection.getresponse().status == 200
        started = time.monotonic()
        assert running.stop() == 0
        assert time.monotonic() - started < 5.0
    finally:
        connection.close()
        running.stop()


def test_the_ready_file_reports_the_address_and_off_serves_nothing(daemon: Daemon, tmp_path: Path) -> None:
    report = read_ready_file(daemon.ready_path)
    assert report is not None
    assert report["ofrep"] == f"127.0.0.1:{daemon.ofrep_port}"
    config = tmp_path / "config"
    config.mkdir()
    with Daemon(config, tmp_path / "state", "--ofrep-listen", "off") as off:
        report = read_ready_file(off.ready_path)
        assert report is not None
        assert report["ofrep"] is None
        assert "OFREP on" not in off.log()


def test_a_taken_port_stops_the_daemon_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"0.0.0.0:{taken.getsockname()[1]}"  # overlaps the taken loopback port
        command = [sys.executable, "-m", "sidecar.cli.main", "serve", "--config-dir", str(config)]
        command += ["--state-dir", str(tmp_path / "state"), "--listen", "127.0.0.1:0"]
        command += ["--management-listen", "off", "--flagd-sync-listen", "off", "--ofrep-listen", address]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if address in line]
    assert any("non-loopback" in line for line in lines)
    (refusal,) = [line for line in lines if "cannot start" in line]
    assert "OFREP listener" in refusal
    assert "--ofrep-listen" in refusal


def test_a_provider_leaving_its_change_stream_is_no_error(daemon: Daemon) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", daemon.ofrep_port, timeout=15)
    connection.request("GET", "/ofrep/v1/events")
    response = connection.getresponse()
    assert response.readline() == b"retry: 1000\n"
    connection.close()
    response.close()
    log_start = len(daemon.log())
    write_flags(daemon.config_dir, "left.json", {"left": boolean_flag("on")})
    wait_for(lambda: evaluate(daemon, "left").status == 200, timeout=10.0)
    time.sleep(0.3)  # the stream's write after the change fails now, or never
    new_log = daemon.log()[log_start:]
    assert "Traceback" not in new_log
    assert "Error handling request" not in new_log
    assert bulk(daemon).status == 200
