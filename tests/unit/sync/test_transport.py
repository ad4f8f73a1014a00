"""The session handshake over real gRPC: refusals are always a clear status, never INTERNAL or UNKNOWN."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import grpc
import pytest

from sidecar.sync.auth import GroupAuth
from sidecar.sync.metrics import SyncMetrics
from sidecar.sync.transport import SERVICE_NAME, WRONG_SECRET, PeerIsSelf, Refused, Session, SyncServer, dial
from sidecar.v1 import sync_pb2 as pb

SECRET = b"0123456789abcdef-group-secret"


def hello_of(node: str) -> Any:
    def hello(proof: str) -> pb.SyncFrame:
        return pb.SyncFrame(hello=pb.SyncHello(node_id=node, protocol_version=1, proof=proof))

    return hello


async def serving(accepted: list[str]) -> tuple[SyncServer, str, SyncMetrics]:
    metrics = SyncMetrics()
    server = SyncServer("127.0.0.1:0", None, GroupAuth(SECRET), "server", metrics)

    async def accept(node: str, address: str, session: Session) -> None:
        accepted.append(node)
        await session.write(pb.SyncFrame(summary=pb.SyncSummary(records_hash="x")))
        await session.read()

    port = server.bind(hello_of("server"), accept)
    await server.start()
    return server, f"127.0.0.1:{port}", metrics


def test_a_member_opens_a_session_and_both_sides_prove_the_secret() -> None:
    async def scenario() -> None:
        accepted: list[str] = []
        server, address, _ = await serving(accepted)
        try:
            async with dial(address, None, GroupAuth(SECRET), "client", hello_of("client")) as session:
                assert session.hello.node_id == "server"
                frame = await session.read()
                assert frame is not None
                assert frame.summary.records_hash == "x"
            assert accepted == ["client"]
        finally:
            await server.stop(0)

    asyncio.run(scenario())


def big_hello(proof: str) -> pb.SyncFrame:
    """A hello too large for one flow-control window: its write is still going on when a refusal comes."""
    members = [pb.SyncMember(node_id=f"node-{i:06d}", last_seen=1.0) for i in range(20_000)]
    return pb.SyncFrame(hello=pb.SyncHello(node_id="x", protocol_version=1, proof=proof, members=members))


@pytest.mark.parametrize("hello", [hello_of("x"), big_hello], ids=["small-hello", "big-hello"])
def test_a_wrong_secret_is_always_refused_as_unauthenticated(hello: Any) -> None:
    # A refusal sent while the caller is still writing its hello used to reach it as "INTERNAL: Internal
    # error from Core" (under load, or with a large hello): the listener now reads the hello first.
    async def scenario() -> None:
        server, address, metrics = await serving([])
        try:
            for _ in range(25):
                with pytest.raises(Refused) as refused:
                    async with dial(address, None, GroupAuth(b"another-groups-secret"), "x", hello):
                        pass
                assert refused.value.auth
                assert refused.value.line.startswith(f"UNAUTHENTICATED: {WRONG_SECRET}?")
            assert metrics.auth_failures == 25
        finally:
            await server.stop(0)

    asyncio.run(scenario())


def test_a_server_without_our_secret_cannot_prove_it() -> None:
    async def scenario() -> None:
        metrics = SyncMetrics()
        impostor = SyncServer("127.0.0.1:0", None, GroupAuth(SECRET), "impostor", metrics)

        def forged(proof: str) -> pb.SyncFrame:
            return hello_of("impostor")("0" * 64)

        async def accept(node: str, address: str, session: Session) -> None:
            await session.read()

        port = impostor.bind(forged, accept)
        await impostor.start()
        try:
            with pytest.raises(Refused, match="could not prove") as refused:
                async with dial(f"127.0.0.1:{port}", None, GroupAuth(SECRET), "c", hello_of("c")):
                    pass
            assert refused.value.auth
        finally:
            await impostor.stop(0)

    asyncio.run(scenario())


def test_dialing_our_own_listener_and_other_refusals() -> None:
    async def scenario() -> None:
        server, address, _ = await serving([])
        try:
            with pytest.raises(PeerIsSelf):
                async with dial(address, None, GroupAuth(SECRET), "server", hello_of("server")):
                    pass

            def not_a_hello(proof: str) -> pb.SyncFrame:
                return pb.SyncFrame(summary=pb.SyncSummary())

            with pytest.raises(Refused, match="INVALID_ARGUMENT: a session starts with a hello"):
                async with dial(address, None, GroupAuth(SECRET), "c", not_a_hello):
                    pass
        finally:
            await server.stop(0)

    asyncio.run(scenario())


async def raw_call(address: str, metadata: list[tuple[str, str | bytes]]) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(address) as channel:
        call: Any = channel.stream_stream(
            f"/{SERVICE_NAME}/Exchange",
            request_serializer=pb.ExchangeRequest.SerializeToString,
            response_deserializer=pb.ExchangeResponse.FromString,
        )(metadata=metadata)
        await call.write(pb.ExchangeRequest(frame=hello_of("raw")("")))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await asyncio.wait_for(call.read(), 10)
        code: grpc.StatusCode = refused.value.code()
        return code


def test_malformed_metadata_is_unauthenticated_not_unknown() -> None:
    async def scenario() -> None:
        server, address, _ = await serving([])
        try:
            invalid_utf8 = [("x-trace-bin", b"\xff\xfe\xfd")]
            assert await raw_call(address, invalid_utf8) == grpc.StatusCode.UNAUTHENTICATED
            metadata, _ = GroupAuth(b"another-groups-secret").client_metadata("raw", time.time())
            assert await raw_call(address, [*metadata, *invalid_utf8]) == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await server.stop(0)

    asyncio.run(scenario())


def test_an_address_nobody_listens_on_is_refused_as_unavailable(tmp_path: Path) -> None:
    async def scenario() -> None:
        server, address, _ = await serving([])
        await server.stop(0)
        with pytest.raises(Refused, match="UNAVAILABLE"):
            async with dial(address, None, GroupAuth(SECRET), "c", hello_of("c")):
                pass

    asyncio.run(scenario())


def test_bytes_that_are_no_frame_are_invalid_argument_not_unknown() -> None:
    garbage = b"\n\x00\x00\x00\x00"  # a frame field claiming four bytes that never come

    async def refusal(address: str, *frames: bytes, answers: int) -> grpc.StatusCode:
        metadata, _ = GroupAuth(SECRET).client_metadata("raw", time.time())
        async with grpc.aio.insecure_channel(address) as channel:
            call: Any = channel.stream_stream(f"/{SERVICE_NAME}/Exchange")(metadata=metadata)
            for frame in frames:
                await call.write(frame)
            for _ in range(answers):  # the server's hello and its first frame
                await asyncio.wait_for(call.read(), 10)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await asyncio.wait_for(call.read(), 10)
            assert "does not decode" in (refused.value.details() or "")
            code: grpc.StatusCode = refused.value.code()
            return code

    async def scenario() -> None:
        server, address, _ = await serving([])
        try:
            assert await refusal(address, garbage, answers=0) == grpc.StatusCode.INVALID_ARGUMENT
            hello = pb.ExchangeRequest(frame=hello_of("raw")("")).SerializeToString()
            assert await refusal(address, hello, garbage, answers=2) == grpc.StatusCode.INVALID_ARGUMENT
        finally:
            await server.stop(0)

    asyncio.run(scenario())
