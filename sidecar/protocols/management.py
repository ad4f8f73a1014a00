"""An HTTP listener: one small aiohttp app that routes are added to, on one or more addresses.

The daemon runs two: the management listener (probes, metrics) and the OFREP listener
(:mod:`sidecar.protocols.ofrep`), each on its own addresses.

It runs on the daemon's event loop (aiohttp is asyncio-native, so a probe that answers proves the loop
answers). Handlers must not block: anything CPU-heavy, such as a metrics collection, goes to a thread.
Routes are added before :meth:`ManagementServer.start`; :mod:`sidecar.protocols.probes` adds the health
and metrics ones.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["Handler", "ManagementServer"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = logging.getLogger(__name__)


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class ManagementServer:
    def __init__(self, middlewares: Iterable[Middleware] = ()) -> None:
        self.app = web.Application(middlewares=tuple(middlewares))
        self._runner: web.AppRunner | None = None
        # "HOST:PORT" actually bound, one per address asked for, in order.
        self.addresses: list[str] = []

    def add_get(self, path: str, handler: Handler) -> None:
        """A GET (and HEAD) route; only before :meth:`start`."""
        self.app.router.add_get(path, handler)

    def add_post(self, path: str, handler: Handler) -> None:
        """A POST route; only before :meth:`start`."""
        self.app.router.add_post(path, handler)

    async def start(self, addresses: Sequence[str]) -> list[str]:
        """Listen on every address (port 0 picks one); raises OSError naming the one that failed."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        self._runner = runner
        try:
            for address in addresses:
                host, port = _split(address)
                before = len(runner.addresses)
                try:
                    await web.TCPSite(runner, host, port).start()
                except OSError as exc:
                    raise OSError(exc.errno, f"cannot listen on {address}: {exc.strerror or exc}") from None
                bound_host, bound_port = runner.addresses[before][:2]
                shown = f"[{bound_host}]" if ":" in bound_host else bound_host
                self.addresses.append(f"{shown}:{bound_port}")
        except BaseException:
            await self.stop()
            raise
        return list(self.addresses)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
