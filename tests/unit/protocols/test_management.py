"""The management app on a real loopback socket: routes, readiness answers, metrics off the loop."""

from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import pytest

from sidecar.protocols.management import ManagementServer
from sidecar.protocols.probes import Readiness, add_probe_routes


async def _get(url: str, accept: str = "") -> tuple[int, str, str]:
    headers = {"Accept": accept} if accept else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, response.headers["Content-Type"], await response.text()


def test_routes_readiness_and_scrapes_on_a_worker_thread() -> None:
    state = {"ready": Readiness(True, {"config-reload": "last edit rejected"})}
    scrape_threads: list[str] = []

    def scrape(accept: str) -> tuple[bytes, str] | None:
        scrape_threads.append(threading.current_thread().name)
        return (b"up 1\n", "text/plain; version=0.0.4") if accept != "none" else None

    async def run() -> None:
        server = ManagementServer()
        add_probe_routes(server, lambda: state["ready"], scrape)
        (address,) = await server.start(["127.0.0.1:0"])
        base = f"http://{address}"
        try:
            assert await _get(f"{base}/healthz") == (200, "text/plain; charset=utf-8", "ok\n")
            status, _, body = await _get(f"{base}/readyz")
            assert (status, body) == (200, "ready\nconfig-reload: last edit rejected\n")
            state["ready"] = Readiness(False, {"database": "state database is not answering"})
            status, ctype, body = await _get(f"{base}/readyz", "application/json")
            assert (status, ctype) == (503, "application/json; charset=utf-8")
            assert '"database": "state database is not answering"' in body
            assert await _get(f"{base}/metrics") == (200, "text/plain; version=0.0.4", "up 1\n")
            assert (await _get(f"{base}/metrics", "none"))[0] == 404
        finally:
            await server.stop()
        await server.stop()  # idempotent

    asyncio.run(run())
    assert scrape_threads
    assert threading.main_thread().name not in scrape_threads


def test_a_taken_address_is_named_and_nothing_stays_open() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"

        async def run() -> None:
            server = ManagementServer()
            with pytest.raises(OSError, match=f"cannot listen on {address}"):
                await server.start(["127.0.0.1:0", address])

        asyncio.run(run())
