"""Generated requests sent to a real listener many at a time, and what came back.

Hypothesis generates one request per example, in the test's thread; :class:`Storm` sends it from a
background event loop over grpc.aio with no serializer, so the bytes reach the server as generated, and
keeps up to ``in_flight`` calls open while hypothesis makes the next. Statuses a person cannot act on
(UNKNOWN, INTERNAL, UNAVAILABLE: the daemon failed or went away) are kept with the request that drew them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
from google.protobuf.descriptor import Descriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sidecar.protocols.flagd.pb.evaluation.v1 import evaluation_pb2 as flagd_v1
from sidecar.protocols.flagd.pb.evaluation.v2 import evaluation_pb2 as flagd_v2
from sidecar.protocols.flagd.pb.sync.v1 import sync_pb2 as flagd_sync
from sidecar.sync.auth import GroupAuth
from sidecar.v1 import admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2, sync_pb2
from tests.support.daemon import Daemon
from tests.support.fuzz_messages import message_bytes

# What a server may answer to a request it cannot or will not serve.
ACCEPTABLE = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DEADLINE_EXCEEDED,  # a stream that stays open (Watch) until the client's deadline
        grpc.StatusCode.CANCELLED,  # ours: a stream is cancelled after its first answer
        grpc.StatusCode.UNIMPLEMENTED,  # grpc.health.v1 List, which the library's servicer does not offer
    }
)

# Bytes that parse as something, bytes that cannot, and length prefixes claiming more than follows.
PAYLOADS = st.one_of(
    st.binary(max_size=256),
    st.builds(
        lambda n, tail: bytes([0x0A]) + n.to_bytes(4, "little") + tail,
        st.integers(0, 2**32 - 1),
        st.binary(max_size=16),
    ),
    st.builds(
        lambda tag, body: bytes([tag]) + bytes([len(body)]) + body,
        st.integers(0, 255),
        st.binary(max_size=64),
    ),
    st.sampled_from([b"\x0a\xff\xff\xff\xff\x0f", b"\x12", b"\xff" * 64, b"\x0a\x03\xe2\x82", b"\x80" * 12]),
)
# Metadata every listener must shrug off; listeners add their own valid credentials to this.
BAD_METADATA: tuple[tuple[tuple[str, str | bytes], ...], ...] = (
    (),
    (("authorization", "Bearer wrong"),),
    (("authorization", "Basic x"),),
    (("authorization", "Bearer " + "a" * 8000),),
    (("x-actor", "a" * 5000),),
    (("traceparent", "00-zz-yy-01"),),
    (("grpc-trace-bin", b"\xff\xfe\x00"),),
    (("flagd-selector", "flagSetId=" + "x" * 9000),),
    (("flagd-selector", "source=../../etc/passwd"),),
    (("x-sidecar-node-bin", b"\xff\xfe"),),
)


@dataclass(frozen=True)
class Method:
    path: str
    client_streaming: bool
    server_streaming: bool
    request: Descriptor | None = None  # the request type, for well-formed requests

    def payloads(self) -> st.SearchStrategy[bytes]:
        """Garbage and, as often, well-formed requests of the method's type."""
        return PAYLOADS if self.request is None else st.one_of(PAYLOADS, message_bytes(self.request))


def methods_of(modules: Iterable[ModuleType]) -> list[Method]:
    """Every method of every service in the generated modules' files."""
    return sorted(
        (
            Method(
                f"/{service.full_name}/{method.name}",
                method.client_streaming,
                method.server_streaming,
                method.input_type,
            )
            for module in modules
            for service in module.DESCRIPTOR.services_by_name.values()
            for method in service.methods
        ),
        key=lambda m: m.path,
    )


def fuzz_settings(examples: int) -> Any:
    """Generation only (no shrinking: the failures are reported as a batch), the same examples every run."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@dataclass
class Storm:
    """A grpc.aio channel on a background loop; :meth:`send` returns once the call is under way."""

    target: str
    in_flight: int = 64
    stream_timeout: float = 2.0
    codes: Counter[grpc.StatusCode] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def __enter__(self) -> Storm:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._slots = threading.BoundedSemaphore(self.in_flight)
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._channel: grpc.aio.Channel = self._run(self._open())
        return self

    def __exit__(self, *exc: object) -> None:
        self.drain()
        self._run(self._channel.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    async def _open(self) -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(self.target, options=[("grpc.max_receive_message_length", 64 << 20)])

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def send(self, method: Method, payload: bytes, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._slots.acquire()
        future = asyncio.run_coroutine_threadsafe(self._call(method, payload, tuple(metadata)), self._loop)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()

    def drain(self) -> None:
        """Wait for every call sent so far."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result()

    async def _call(
        self, method: Method, payload: bytes, metadata: tuple[tuple[str, str | bytes], ...]
    ) -> None:
        code = await self._status(method, payload, metadata)
        with self._lock:
            self.codes[code] += 1
            if code not in ACCEPTABLE:
                self.failures.append(f"{method.path} answered {code.name} to {payload!r} with {metadata!r}")

    async def _status(
        self, method: Method, payload: bytes, metadata: tuple[tuple[str, str | bytes], ...]
    ) -> grpc.StatusCode:
        identity: dict[str, Any] = {"request_serializer": None, "response_deserializer": None}
        channel = self._channel
        call: Any
        try:
            if not method.client_streaming and not method.server_streaming:
                await channel.unary_unary(method.path, **identity)(payload, metadata=metadata, timeout=10)
                return grpc.StatusCode.OK
            if method.client_streaming:
                factory = channel.stream_stream if method.server_streaming else channel.stream_unary
                call = factory(method.path, **identity)(metadata=metadata, timeout=self.stream_timeout)
                await call.write(payload)
                await call.done_writing()
                if not method.server_streaming:
                    await call
                    return grpc.StatusCode.OK
            else:
                call = channel.unary_stream(method.path, **identity)(
                    payload, metadata=metadata, timeout=self.stream_timeout
                )
            # A stream's first answer (or its end) is enough; one that stays open is then cancelled.
            await call.read()
            call.cancel()
            code = await call.code()
            return grpc.StatusCode.OK if code == grpc.StatusCode.CANCELLED else code
        except grpc.aio.AioRpcError as exc:
            return exc.code()


Headers = Sequence[tuple[str, str | bytes]]
SECRET = "group-secret-for-fuzzing-0123456789"
FLAGS = """{"flags": {
  "beta": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
           "targeting": {"if": [{">": [{"var": "age"}, 18]}, "on", "off"]}},
  "color": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "red",
            "targeting": {"fractional": [["red", 50], ["blue", 50]]}}
}}"""


def fuzz_daemon(base: Path) -> Daemon:
    """A daemon (not started) with every gRPC listener on, a few flags and a group secret."""
    (base / "config").mkdir(parents=True)
    (base / "config" / "flags.json").write_text(FLAGS)
    secret = base / "group.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    args = ("--group-secret-file", str(secret))
    return Daemon(base / "config", base / "state", *args, sync_listen=True, flagd_sync=True)


def _peer_credentials(_daemon: Daemon) -> st.SearchStrategy[Headers]:
    auth = GroupAuth(SECRET.encode())
    # A fresh, valid credential per call, so the frames reach the session and not only the auth check.
    valid = st.builds(lambda: tuple(auth.client_metadata("fuzz-peer", time.time())[0]))
    return st.one_of(st.sampled_from(BAD_METADATA), valid)


@dataclass(frozen=True)
class Listener:
    name: str
    methods: list[Method]
    target: Callable[[Daemon], str]
    # Bad metadata and, where the listener takes one, a valid credential.
    metadata: Callable[[Daemon], st.SearchStrategy[Headers]]


LISTENERS = (
    Listener(
        "main",
        [
            *methods_of([admin_pb2, alerts_pb2, evaluation_pb2, experiment_pb2, routing_pb2, health_pb2]),
            *methods_of([flagd_v1, flagd_v2]),
            Method(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                True,
                True,
                reflection_pb2.ServerReflectionRequest.DESCRIPTOR,
            ),
        ],
        lambda d: d.tcp_target,
        lambda d: st.one_of(st.sampled_from(BAD_METADATA), st.just(tuple(d.auth("fuzzer")))),
    ),
    Listener(
        "flagd-sync",
        methods_of([flagd_sync]),
        lambda d: d.flagd_sync_target,
        lambda _d: st.sampled_from(BAD_METADATA),
    ),
    Listener("peer-sync", methods_of([sync_pb2]), lambda d: d.sync_address, _peer_credentials),
)


def storm(target: str, metadata: st.SearchStrategy[Headers], method: Method, requests: int) -> Storm:
    """``requests`` generated calls of ``method``; returns once all have answered."""
    with Storm(target) as sent:

        @fuzz_settings(requests)
        @given(payload=method.payloads(), headers=metadata)
        def fuzz(payload: bytes, headers: Headers) -> None:
            sent.send(method, payload, headers)

        fuzz()
    return sent
