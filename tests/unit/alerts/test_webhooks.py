"""Webhook delivery: a real POST, retries with backoff, giving up, a bounded queue, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from sidecar.runtime.webhooks import WebhookPolicy, WebhookSender, post_json
from tests.support.webhook_receiver import WebhookReceiver

FAST = WebhookPolicy(attempts=4, first_backoff_s=0.5, max_backoff_s=1.5, timeout_s=1.0, queue_size=2)


class FakeEndpoint:
    """Answers with the given statuses (or raises), records the bodies and the backoff sleeps."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.bodies: list[bytes] = []
        self.sleeps: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def post(self, url: str, body: bytes, timeout_s: float) -> int:
        await self.gate.wait()
        self.bodies.append(body)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def drain(sender: WebhookSender) -> None:
    for _ in range(200):
        await asyncio.sleep(0.005)
        stats = sender.stats()
        if all(s.queued == 0 for s in stats) and all(s.delivered + s.failed + s.dropped >= 1 for s in stats):
            await asyncio.sleep(0.01)
            return
    raise AssertionError(f"queue did not drain: {sender.stats()}")


def test_posts_json_to_a_real_http_server() -> None:
    async def scenario(url: str) -> None:
        sender = WebhookSender(FAST)
        sender.send(url, b'{"event": "FIRED"}')
        await drain(sender)
        (stats,) = sender.stats()
        assert (stats.url, stats.delivered, stats.failed, stats.last_error) == (url, 1, 0, "")
        await sender.stop()

    with WebhookReceiver() as receiver:
        asyncio.run(scenario(receiver.url))
        assert receiver.bodies == [{"event": "FIRED"}]
        assert receiver.headers[0]["Content-Type"] == "application/json"


def test_refused_connection_is_retried_with_exponential_backoff_then_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = FakeEndpoint(*[ConnectionRefusedError("refused")] * 4)

    async def scenario() -> WebhookSender:
        sender = WebhookSender(FAST, post=endpoint.post, sleep=endpoint.sleep)
        sender.send("http://127.0.0.1:9/x", b"{}")
        await drain(sender)
        await sender.stop()
        return sender

    sender = asyncio.run(scenario())
    assert len(endpoint.bodies) == 4
    assert endpoint.sleeps == [0.5, 1.0, 1.5]  # doubled each time, capped at max_backoff_s
    (stats,) = sender.stats()
    assert (stats.delivered, stats.failed) == (0, 1)
    assert stats.last_error == "ConnectionRefusedError: refused"
    assert "failed after 4 attempt(s): ConnectionRefusedError: refused; dropped" in caplog.text


@pytest.mark.parametrize(
    ("answers", "delivered", "attempts"),
    [
        pytest.param((503, 200), 1, 2, id="server error is retried"),
        pytest.param((429, 408, 200), 1, 3, id="throttling and timeout statuses are retried"),
        pytest.param((404,), 0, 1, id="client error is final"),
        pytest.param((ValueError("not HTTP"), 204), 1, 2, id="garbage answer is retried"),
    ],
)
def test_which_answers_are_retried(
    answers: tuple[int | Exception, ...], delivered: int, attempts: int
) -> None:
    endpoint = FakeEndpoint(*answers)

    async def scenario() -> WebhookSender:
        sender = WebhookSender(FAST, post=endpoint.post, sleep=endpoint.sleep)
        sender.send("https://hooks.example.com/x", b"{}")
        await drain(sender)
        await sender.stop()
        return sender

    (stats,) = asyncio.run(scenario()).stats()
    assert (stats.delivered, stats.failed, len(endpoint.bodies)) == (delivered, 1 - delivered, attempts)


def test_full_queue_drops_the_oldest_and_counts_it() -> None:
    endpoint = FakeEndpoint()
    endpoint.gate.clear()  # the endpoint hangs until released

    async def scenario() -> WebhookSender:
        sender = WebhookSender(FAST, post=endpoint.post, sleep=endpoint.sleep)
        sender.send("u", b"1")
        await asyncio.sleep(0.01)  # "1" is now in flight
        started = time.perf_counter()
        for body in (b"2", b"3", b"4"):
            sender.send("u", body)  # the queue holds two: "2" is pushed out
        assert time.perf_counter() - started < 0.01  # sending never waits for the endpoint
        (stats,) = sender.stats()
        assert (stats.queued, stats.dropped) == (2, 1)
        endpoint.gate.set()
        await drain(sender)
        await sender.stop()
        return sender

    (stats,) = asyncio.run(scenario()).stats()
    assert endpoint.bodies == [b"1", b"3", b"4"]
    assert (stats.delivered, stats.dropped, stats.queued) == (3, 1, 0)


def test_endpoints_do_not_wait_for_each_other() -> None:
    slow = FakeEndpoint()
    slow.gate.clear()
    fast = FakeEndpoint()

    async def post(url: str, body: bytes, timeout_s: float) -> int:
        return await (slow if url == "slow" else fast).post(url, body, timeout_s)

    async def scenario() -> None:
        sender = WebhookSender(FAST, post=post)
        sender.send("slow", b"a")
        sender.send("fast", b"b")
        await asyncio.sleep(0.05)
        assert fast.bodies == [b"b"]
        assert slow.bodies == []
        await sender.stop()

    asyncio.run(scenario())


def test_hanging_endpoint_times_out() -> None:
    async def scenario() -> None:
        async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                await reader.read()  # until the client gives up and closes
            writer.close()

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            await post_json(f"http://127.0.0.1:{port}/", b"{}", 0.2)
        assert time.perf_counter() - started < 1.0
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
