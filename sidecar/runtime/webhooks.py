"""Webhook delivery: POST JSON bodies with retries and exponential backoff, never blocking the caller.

Each URL has its own bounded queue and worker task, so a slow or dead endpoint delays only its own
deliveries; when a queue is full its oldest body is dropped (and counted), since the newest news about an
alert matters most. Requests use a minimal asyncio HTTP/1.1 client (one POST per connection, only the status
line read): a hanging endpoint ties up no thread, and shutdown can cancel a delivery mid-flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from sidecar.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Post = Callable[[str, bytes, float], Awaitable[int]]
"""(url, body, timeout_s) → HTTP status; raises OSError or ValueError when no valid answer came."""


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    attempts: int = 4  # first try plus retries
    first_backoff_s: float = 0.5  # doubled after every failed attempt
    max_backoff_s: float = 30.0
    timeout_s: float = 5.0  # per attempt: connect, send, first response line
    queue_size: int = 100  # per URL


@dataclass(slots=True)
class WebhookStats:
    url: str
    delivered: int = 0
    failed: int = 0  # gave up after the last attempt, or refused for good (4xx)
    dropped: int = 0  # pushed out of a full queue before any attempt
    queued: int = 0
    last_error: str = ""


class _Endpoint:
    def __init__(self, url: str, size: int) -> None:
        self.stats = WebhookStats(url)
        self.queue: deque[bytes] = deque(maxlen=size)
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class WebhookSender:
    def __init__(
        self,
        policy: WebhookPolicy | None = None,
        *,
        post: Post | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._policy = policy or WebhookPolicy()
        self._post = post or post_json
        self._sleep = sleep
        self._endpoints: dict[str, _Endpoint] = {}

    def send(self, url: str, body: bytes) -> None:
        """Queue ``body`` for ``url`` and return at once (call from the event loop)."""
        endpoint = self._endpoints.get(url)
        if endpoint is None:
            endpoint = self._endpoints[url] = _Endpoint(url, self._policy.queue_size)
            endpoint.task = asyncio.create_task(self._work(endpoint), name=f"webhook {url}")
        if len(endpoint.queue) == endpoint.queue.maxlen:
            endpoint.stats.dropped += 1
            log.warning("webhook queue for %s is full: dropped its oldest delivery", url)
        endpoint.queue.append(body)
        endpoint.wake.set()

    def stats(self) -> list[WebhookStats]:
        return [
            replace(endpoint.stats, queued=len(endpoint.queue))
            for _, endpoint in sorted(self._endpoints.items())
        ]

    async def stop(self) -> None:
        """Cancel every worker; undelivered bodies are lost (alerts themselves are in the database)."""
        await cancel_and_wait(*(endpoint.task for endpoint in self._endpoints.values()))

    async def _work(self, endpoint: _Endpoint) -> None:
        while True:
            if not endpoint.queue:
                endpoint.wake.clear()
                await endpoint.wake.wait()
                continue
            await self._deliver(endpoint, endpoint.queue.popleft())

    async def _deliver(self, endpoint: _Endpoint, body: bytes) -> None:
        policy, url = self._policy, endpoint.stats.url
        for attempt in range(1, policy.attempts + 1):
            try:
                status = await self._post(url, body, policy.timeout_s)
            except (OSError, ValueError) as exc:  # refused, unreachable, timed out, TLS, garbage
                error, retry = f"{type(exc).__name__}: {exc}".rstrip(": "), True
            else:
                if 200 <= status < 300:
                    endpoint.stats.delivered += 1
                    return
                # 408 and 429 ask to come back later, as do server errors; other 4xx will not change.
                error, retry = f"HTTP {status}", status >= 500 or status in (408, 429)
            endpoint.stats.last_error = error
            if not retry or attempt == policy.attempts:
                break
            delay = min(policy.max_backoff_s, policy.first_backoff_s * 2 ** (attempt - 1))
            log.info(
                "webhook POST to %s failed (attempt %d of %d): %s; retrying in %.1fs",
                url,
                attempt,
                policy.attempts,
                error,
                delay,
            )
            await self._sleep(delay)
        endpoint.stats.failed += 1
        log.warning("webhook POST to %s failed after %d attempt(s): %s; dropped", url, attempt, error)


async def post_json(url: str, body: bytes, timeout_s: float) -> int:
    """POST ``body`` as JSON to an http(s) ``url`` on a new connection; return the response status."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nUser-Agent: rollout-sidecar\r\nConnection: close\r\n\r\n"
    )
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port, ssl=_tls() if secure else None)
        try:
            writer.write(head.encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    fields = status_line.split(maxsplit=2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
        raise ValueError(f"not an HTTP response: {status_line[:80]!r}")
    return int(fields[1])


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()  # loads the system CA store once, on the first https webhook
