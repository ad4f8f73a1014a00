"""Generated raw HTTP requests, and the status a server answered to each.

Requests are written as raw bytes on a socket, so that request lines, headers and bodies no HTTP client
would send (bad methods, paths with control bytes, huge or contradictory lengths) reach the server.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tests.support.fuzz import fuzz_settings
from tests.support.fuzz_messages import JSON

# Seconds to wait for an answer; a server still reading a body it was promised may take longer.
WAIT = 1.0
TOKEN = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
METHODS = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"]), TOKEN
)
KNOWN = st.sampled_from(["/metrics", "/healthz", "/readyz"])
PATHS = st.one_of(
    KNOWN,
    st.builds(
        lambda path, query: f"{path}?{query}", KNOWN, st.text(max_size=40).map(lambda t: t.encode().hex())
    ),
    st.sampled_from(["/", "/metrics?name[]=x&name[]=", "//metrics", "/%2e%2e/", "/metrics%00"]),
    st.builds(
        lambda tail: "/" + tail, st.text(max_size=64).map(lambda t: t.encode("utf-8", "replace").hex())
    ),
    st.binary(max_size=48).map(lambda b: "/" + b.decode("latin-1")),
    st.just("/" + "a" * 9000),
)
NAMES = st.one_of(
    st.sampled_from(["Accept", "Authorization", "Cookie", "If-None-Match", "Range", "Origin"]), TOKEN
)
VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
    st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
)
HEADERS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Accept: application/openmetrics-text; version=1.0.0",
                "Accept: application/openmetrics-text;version=abc;q=x",
                "Accept: */*;q=2",
                "Accept-Encoding: gzip, br, zstd, *",
                "Content-Length: -1",
                "Content-Length: 99999999999999999999",
                "Transfer-Encoding: chunked",
                "Transfer-Encoding: gzip, chunked, identity",
                "Connection: upgrade\r\nUpgrade: websocket",
                "Expect: 100-continue",
                "Host: ",
                "X-Long: " + "b" * 9000,
            ]
        ),
        st.builds(lambda name, value: f"{name}: {value}", NAMES, VALUES),
    ),
    max_size=4,
)
# Half the requests are well-formed HTTP/1.1 up to their headers, so they reach the handlers.
VERSIONS = st.one_of(
    st.just("HTTP/1.1"), st.sampled_from(["HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "HTTP/1.1 x"])
)


def raw_request(method: str, path: str, version: str, headers: list[str], body: bytes) -> bytes:
    framed = any(h.lower().startswith(("content-length:", "transfer-encoding:")) for h in headers)
    # Without a length the body would be read as the next request: give one unless the headers do.
    length = [] if framed else [f"Content-Length: {len(body)}"]
    head = f"{method} {path} {version}\r\nHost: fuzz\r\n" + "".join(f"{h}\r\n" for h in [*headers, *length])
    return head.encode("latin-1", "replace") + b"\r\n" + body


def status_of(address: str, request: bytes) -> int | None:
    """The status code the server answered; None when it closed the connection, or waits for more bytes
    (a body shorter than its Content-Length), without answering."""
    host, _, port = address.rpartition(":")
    # No half-close after the request: aiohttp drops a connection whose client has stopped writing.
    with socket.create_connection((host, int(port)), timeout=WAIT) as conn:
        answer = b""
        try:
            conn.sendall(request)
            while b"\r\n" not in answer:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server may refuse before reading it all; what it answered is still there to read
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None


# OFREP: mostly POSTs of JSON bodies at its paths, so the evaluation behind them is reached.
OFREP_PATHS = st.one_of(
    st.sampled_from(
        [
            "/ofrep/v1/evaluate/flags",
            "/ofrep/v1/evaluate/flags/beta",
            "/ofrep/v1/evaluate/flags/color",
            "/ofrep/v1/events",
        ]
    ),
    st.builds(
        lambda key: "/ofrep/v1/evaluate/flags/" + key, st.text(max_size=40).map(lambda t: quote(t, safe=""))
    ),
    PATHS,
)
OFREP_HEADERS = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Content-Type: application/json",
                "Content-Type: application/json; charset=latin-1",
                "Content-Type: text/plain",
                'If-None-Match: "abc", W/"x", *',
                "If-None-Match: " + '"' * 300,
                "flagd-selector: flagSetId=x",
            ]
        ),
        HEADERS.flatmap(lambda headers: st.sampled_from(headers) if headers else st.just("X-Empty: 1")),
    ),
    max_size=4,
).map(lambda headers: ["Content-Type: application/json", *headers])
OFREP_BODIES = st.one_of(
    st.binary(max_size=256),
    st.builds(lambda context: json.dumps({"context": context}).encode(), JSON),
    st.builds(lambda value: json.dumps(value).encode(), JSON),
    st.sampled_from(
        [b"{", b'{"context": ' + b"[" * 60_000, b'{"context": {"targetingKey": 1}}', b"\xff\xfe"]
    ),
)


BODIES = st.binary(max_size=512)


@dataclass(frozen=True)
class Surface:
    """What to generate for one HTTP listener."""

    methods: st.SearchStrategy[str] = METHODS
    paths: st.SearchStrategy[str] = PATHS
    headers: st.SearchStrategy[list[str]] = HEADERS
    bodies: st.SearchStrategy[bytes] = BODIES
    versions: st.SearchStrategy[str] = VERSIONS


MANAGEMENT = Surface()
OFREP = Surface(
    st.one_of(st.just("POST"), METHODS),
    OFREP_PATHS,
    OFREP_HEADERS,
    OFREP_BODIES,
    st.one_of(st.just("HTTP/1.1"), st.just("HTTP/1.1"), VERSIONS),
)


def http_storm(
    address: str, requests: int, surface: Surface = MANAGEMENT
) -> tuple[Counter[int | None], list[str]]:
    """Statuses seen (None: no answer) and the requests answered 5xx."""
    seen: Counter[int | None] = Counter()
    failures: list[str] = []

    @fuzz_settings(requests)
    @given(
        method=surface.methods,
        path=surface.paths,
        version=surface.versions,
        headers=surface.headers,
        body=surface.bodies,
    )
    def fuzz(method: str, path: str, version: str, headers: list[str], body: bytes) -> None:
        request = raw_request(method, path, version, headers, body)
        status = status_of(address, request)
        seen[status] += 1
        if status is not None and status >= 500:
            failures.append(f"{status} to {request[:300]!r}")

    fuzz()
    return seen, failures
