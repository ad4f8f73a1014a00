"""One parser per kind of value: what each accepts and what it says when it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sidecar.daemon import parsers as p
from sidecar.daemon.parsers import BadValue, Rejected
from sidecar.daemon.ready import ready_report, write_ready_file
from sidecar.server.listen import ListenAddress

GOOD: list[tuple[str, Callable[[str], Any], str, Any]] = [
    ("seconds", p.positive_seconds, "0.2", 0.2),
    ("seconds-int", p.positive_seconds, "5", 5.0),
    ("non-negative-zero", p.non_negative_seconds, "0", 0.0),
    ("milliseconds", p.positive_milliseconds, "2500", 2.5),
    ("milliseconds-zero", p.non_negative_milliseconds, "0", 0.0),
    ("int", p.positive_int, "3", 3),
    ("ratio-edge", p.ratio, "1", 1.0),
    ("true", p.boolean, "TRUE", True),
    ("off", p.boolean, "off", False),
    ("choice-case", p.choice(("grpc", "http")), "GRPC", "grpc"),
    ("choices", p.choices(("otlp", "none")), "otlp, none", ("otlp", "none")),
    ("unix", p.listen_address, "unix:/run/s.sock", ListenAddress(unix_path=Path("/run/s.sock"))),
    ("port-zero", p.listen_address, "127.0.0.1:0", ListenAddress(host="127.0.0.1", port=0)),
    ("ipv6", p.listen_address, "[::1]:8013", ListenAddress(host="::1", port=8013)),
    ("listen-off", p.listen_address_or_off, "OFF", None),
    (
        "listen-or-off",
        p.listen_address_or_off,
        "unix:/run/f.sock",
        ListenAddress(unix_path=Path("/run/f.sock")),
    ),
    ("dial", p.dial_address, " 127.0.0.1:8013 ", "127.0.0.1:8013"),
    ("peer", p.peer_address, "10.0.0.1:8017", "10.0.0.1:8017"),
    ("bind-zero", p.bind_address, "127.0.0.1:0", "127.0.0.1:0"),
    ("path", p.path, "/etc/x", Path("/etc/x")),
    ("endpoint-scheme", p.endpoint, "collector:4317", "http://collector:4317"),
    ("endpoint-https", p.endpoint, "https://c:4318/", "https://c:4318/"),
    (
        "headers",
        p.headers,
        "Authorization=Bearer%20abc, x-t = 1",
        (("authorization", "Bearer abc"), ("x-t", "1")),
    ),
    ("port", p.port, "9464", 9464),
]

BAD: list[tuple[str, Callable[[str], Any], str, str]] = [
    ("seconds-word", p.positive_seconds, "abc", "positive number of seconds"),
    ("seconds-zero", p.positive_seconds, "0", "positive number of seconds"),
    ("seconds-inf", p.positive_seconds, "inf", "positive number of seconds"),
    ("seconds-nan", p.non_negative_seconds, "nan", "0 or more"),
    ("non-negative", p.non_negative_seconds, "-1", "0 or more"),
    ("milliseconds", p.positive_milliseconds, "0", "positive number of milliseconds"),
    ("int-float", p.positive_int, "1.5", "whole number"),
    ("int-zero", p.positive_int, "0", "whole number"),
    ("ratio", p.ratio, "1.01", "from 0 to 1"),
    ("boolean", p.boolean, "maybe", "true or false"),
    ("choice", p.choice(("grpc", "http")), "pigeon", "one of grpc, http"),
    ("choices", p.choices(("otlp", "none")), "otlp,statsd", "comma-separated list of otlp, none"),
    ("choices-empty", p.choices(("otlp", "none")), ",", "comma-separated list"),
    ("listen", p.listen_address, "somewhere", "unix:PATH or HOST:PORT"),
    ("listen-unix-empty", p.listen_address, "unix:", "unix:PATH or HOST:PORT"),
    ("listen-port", p.listen_address, "127.0.0.1:65536", "0 to 65535"),
    ("dial-zero", p.dial_address, "127.0.0.1:0", "1 to 65535"),
    ("peer-zero", p.peer_address, "10.0.0.1:0", "1 to 65535"),
    ("peer-no-port", p.peer_address, "10.0.0.1", "HOST:PORT"),
    ("bind", p.bind_address, "nope", "HOST:PORT"),
    ("path", p.path, " ", "a path"),
    ("text", p.text, "", "non-empty"),
    ("endpoint", p.endpoint, "http://a b", "collector URL"),
    ("headers", p.headers, "novalue", "KEY=VALUE"),
    ("port", p.port, "-1", "0 to 65535"),
]


@pytest.mark.parametrize(("parse", "text", "value"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_accepts(parse: Callable[[str], Any], text: str, value: Any) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(("parse", "text", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refuses_saying_what_it_accepts(parse: Callable[[str], Any], text: str, expected: str) -> None:
    with pytest.raises(Rejected) as refused:
        parse(text)
    assert expected in refused.value.expected


def test_bad_value_names_option_variable_value_and_what_is_accepted() -> None:
    both = BadValue("--tick-seconds", "SIDECAR_TICK_SECONDS", "abc", "a positive number of seconds")
    assert str(both) == (
        "bad value 'abc' for --tick-seconds (SIDECAR_TICK_SECONDS): expected a positive number of seconds"
    )
    assert str(BadValue(None, "OTEL_BSP_MAX_QUEUE_SIZE", "-1", "x")) == (
        "bad value '-1' for OTEL_BSP_MAX_QUEUE_SIZE: expected x"
    )
    assert str(BadValue("--timeout", None, "-1", "x")) == "bad value '-1' for --timeout: expected x"


def test_ready_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "run" / "ready.json"
    write_ready_file(path, ready_report(["unix:/s.sock", "127.0.0.1:41234"], None))
    write_ready_file(
        path,
        ready_report(
            ["127.0.0.1:41235"],
            "127.0.0.1:40111",
            {"management": "127.0.0.1:8014", "ofrep": "127.0.0.1:8016"},
            "127.0.0.1:40112",
        ),
    )
    report = json.loads(path.read_text())
    assert report["flagd_sync"] == "127.0.0.1:40112"
    assert report["grpc"] == ["127.0.0.1:41235"]
    assert report["sync"] == "127.0.0.1:40111"
    assert report["management"] == "127.0.0.1:8014"
    assert report["ofrep"] == "127.0.0.1:8016"
    assert isinstance(report["pid"], int)
    assert [entry.name for entry in path.parent.iterdir()] == ["ready.json"]  # no temporary file left
