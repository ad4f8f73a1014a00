"""The wire between two sidecars: one bidirectional gRPC stream per session, opened by a hello exchange.

The caller sends the group credential as metadata and its hello; the called sidecar verifies the credential,
answers with its own hello carrying a proof over the caller's tag, and from then on both sides write frames.
A refusal is always a gRPC status (UNAUTHENTICATED, FAILED_PRECONDITION, INVALID_ARGUMENT) and one clear line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from sidecar.config.limits import PEER_MESSAGE_BYTES, grpc_options
from sidecar.errors import UnauthenticatedError
from sidecar.sync.auth import GroupAuth
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.settings import SyncTls
from sidecar.v1 import sync_pb2 as pb

log = logging.getLogger(__name__)
_EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # missing from grpc-stubs

PROTOCOL_VERSION = 1
SERVICE_NAME = "sidecar.v1.PeerSyncService"
HANDSHAKE_TIMEOUT = 5.0
# Keepalive, the same on both sides: clients ping every 10 s (also without calls), servers accept pings
# every 5 s, so neither side ever answers a ping with GOAWAY "too many pings".
CHANNEL_OPTIONS = [
    *grpc_options(PEER_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5_000),
]
SERVER_OPTIONS = [
    *grpc_options(PEER_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
]
# How a refusal of our credential reads in peer status and the health problem.
WRONG_SECRET = "wrong group secret"

Write = Callable[[pb.SyncFrame], Awaitable[None]]
Read = Callable[[], Awaitable[pb.SyncFrame | None]]
Hello = Callable[[str], pb.SyncFrame]  # proof -> this sidecar's hello frame


@dataclass(frozen=True, slots=True)
class Session:
    """An open session: the peer's hello and the two directions of the stream."""

    hello: pb.SyncHello
    write: Write
    read: Read


class PeerIsSelf(Exception):
    """The address dialed is this sidecar's own listener."""


class Refused(Exception):
    """The session could not be opened; ``line`` is what peer status shows (``CODE: why``)."""

    def __init__(self, line: str, *, auth: bool = False) -> None:
        super().__init__(line)
        self.line = line
        self.auth = auth


def channel(address: str, tls: SyncTls | None) -> grpc.aio.Channel:
    if tls is None:
        return grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.ca.read_bytes() if tls.ca else None,
        private_key=tls.key.read_bytes(),
        certificate_chain=tls.cert.read_bytes(),
    )
    return grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)


def _refusal(code: grpc.StatusCode, details: str | None) -> Exception:
    if code == grpc.StatusCode.FAILED_PRECONDITION and "itself" in (details or ""):
        return PeerIsSelf()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Refused(
            f"UNAUTHENTICATED: {WRONG_SECRET}? the peer refused our credential: {details}", auth=True
        )
    return Refused(f"{code.name}: {details}")


@asynccontextmanager
async def dial(
    address: str, tls: SyncTls | None, auth: GroupAuth, node_id: str, hello: Hello
) -> AsyncIterator[Session]:
    """Open a session with the sidecar at ``address``; raises :class:`Refused` or :class:`PeerIsSelf`."""
    chan = channel(address, tls)
    try:
        stub: Any = chan.stream_stream(
            f"/{SERVICE_NAME}/Exchange",
            request_serializer=pb.ExchangeRequest.SerializeToString,
            response_deserializer=pb.ExchangeResponse.FromString,
        )
        metadata, tag = auth.client_metadata(node_id, time.time())
        call: Any = stub(metadata=metadata)
        try:
            session = await _handshake(call, auth, tag, hello)
            yield session
        finally:
            call.cancel()
    finally:
        await chan.close(None)


async def _handshake(call: Any, auth: GroupAuth, tag: str, hello: Hello) -> Session:
    try:
        await call.write(pb.ExchangeRequest(frame=hello("")))
        response = await asyncio.wait_for(call.read(), HANDSHAKE_TIMEOUT)
    except (
        asyncio.InvalidStateError
    ):  # the peer ended the call before our hello went out: its status says why
        raise _refusal(await call.code(), await call.details()) from None
    except grpc.aio.AioRpcError as exc:
        raise _refusal(exc.code(), exc.details()) from None
    except TimeoutError:
        raise Refused("TimeoutError: no hello from the peer") from None
    if response is _EOF or response.frame.WhichOneof("body") != "hello":
        raise Refused("ConnectionError: peer closed the session before its hello")
    their = response.frame.hello
    if not auth.verify_server(their.proof, their.node_id, tag):
        raise Refused(f"UNAUTHENTICATED: {WRONG_SECRET}? the peer could not prove it holds ours", auth=True)

    async def write(frame: pb.SyncFrame) -> None:
        await call.write(pb.ExchangeRequest(frame=frame))

    async def read() -> pb.SyncFrame | None:
        message = await call.read()
        return None if message is _EOF else message.frame

    return Session(their, write, read)


Accept = Callable[[str, str, Session], Awaitable[None]]  # (node id, peer address, session)


class SyncServer:
    """The sync listener: verifies each caller, answers its hello, and hands the session to ``accept``."""

    def __init__(
        self, listen: str, tls: SyncTls | None, auth: GroupAuth, node_id: str, metrics: SyncMetrics
    ) -> None:
        self._listen = listen
        self._tls = tls
        self._auth = auth
        self._node_id = node_id
        self._metrics = metrics
        self._server = grpc.aio.server(options=SERVER_OPTIONS)

    def bind(self, hello: Hello, accept: Accept) -> int:
        """Register the service and bind the listener; returns the port (``:0`` picks a free one)."""
        self._hello = hello
        self._accept = accept
        handler = grpc.stream_stream_rpc_method_handler(
            self._serve,
            request_deserializer=None,  # parsed in _serve: a frame that does not decode is INVALID_ARGUMENT
            response_serializer=pb.ExchangeResponse.SerializeToString,
        )
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE_NAME, {"Exchange": handler}),)
        )
        if self._tls is None:
            port = self._server.add_insecure_port(self._listen)
        else:
            credentials = grpc.ssl_server_credentials(
                [(self._tls.key.read_bytes(), self._tls.cert.read_bytes())],
                root_certificates=self._tls.ca.read_bytes() if self._tls.ca else None,
                require_client_auth=self._tls.ca is not None,
            )
            port = self._server.add_secure_port(self._listen, credentials)
        if port == 0:
            raise OSError(f"cannot listen for peer sync on {self._listen}")
        return port

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float) -> None:
        await self._server.stop(grace)

    async def _serve(self, _requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        # Read the caller's hello before any refusal: a status sent while the caller is still writing its
        # first message reaches it as "INTERNAL: Internal error from Core" instead of the refusal.
        try:
            first: Any = await asyncio.wait_for(context.read(), HANDSHAKE_TIMEOUT)
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "no hello within the handshake timeout")
        try:
            node, tag = self._auth.verify_client(context.invocation_metadata() or (), time.time())
        except UnauthenticatedError as exc:
            self._metrics.auth_failures += 1
            log.warning("refused peer-sync call from %s: %s", context.peer(), exc.message)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)
        if node == self._node_id:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "connected to itself")
        hello = None if first is _EOF else await _parse(first, context)
        if hello is None or hello.frame.WhichOneof("body") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a session starts with a hello")
        assert hello is not None  # abort raised
        await context.write(
            pb.ExchangeResponse(frame=self._hello(self._auth.server_proof(self._node_id, tag)))
        )

        async def write(frame: pb.SyncFrame) -> None:
            await context.write(pb.ExchangeResponse(frame=frame))

        async def read() -> pb.SyncFrame | None:
            message: Any = await context.read()
            return None if message is _EOF else (await _parse(message, context)).frame

        await self._accept(node, context.peer(), Session(hello.frame.hello, write, read))


async def _parse(raw: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> pb.ExchangeRequest:
    """Decode one frame; bytes that are no frame end the session with INVALID_ARGUMENT, not UNKNOWN."""
    try:
        return pb.ExchangeRequest.FromString(raw)
    except DecodeError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"a peer-sync frame does not decode: {exc}")
        raise  # abort raised already
