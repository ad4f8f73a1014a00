"""The systemd notify protocol (``sd_notify(3)``) without libsystemd.

systemd passes ``NOTIFY_SOCKET`` to a ``Type=notify`` service: a filesystem path or, when it starts
with ``@``, a Linux abstract-namespace name. The service sends newline-separated ``KEY=VALUE``
datagrams to it. With no ``NOTIFY_SOCKET`` (run by hand, in a container, under another supervisor)
every call is a cheap no-op, so the daemon calls the notifier unconditionally.

Protocol as used by the sidecar::

    READY=1            once the first configuration is loaded and the listeners are bound
    RELOADING=1        on SIGHUP, followed by READY=1 when the new revision is live
    STOPPING=1         when shutdown begins
    WATCHDOG=1         every ``watchdog_interval()`` seconds while the daemon is healthy
    STATUS=...         free text shown by ``systemctl status``
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

__all__ = ["Notifier", "run_watchdog"]

_log = logging.getLogger(__name__)


def _socket_address(raw: str) -> str | None:
    """Translate ``NOTIFY_SOCKET`` to an ``AF_UNIX`` address, or None when unset or unsupported."""
    if not raw:
        return None
    if raw.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of the '@'.
        return "\0" + raw[1:]
    if raw.startswith("/"):
        return raw
    # e.g. "vsock:..." (systemd >= 254 for VMs): not something a host daemon is handed.
    _log.warning("unsupported NOTIFY_SOCKET address %r; service manager notifications disabled", raw)
    return None


def _monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


class Notifier:
    """Sends state changes to the service manager; every method is a no-op without ``NOTIFY_SOCKET``.

    ``environ``, ``pid`` and ``monotonic_usec`` are injectable for tests. Sending never raises:
    a failed send is logged and reported as False, because the daemon must keep serving even if
    its supervisor went away.
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        pid: int | None = None,
        monotonic_usec: Callable[[], int] = _monotonic_usec,
    ) -> None:
        env = os.environ if environ is None else environ
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = env.get("WATCHDOG_USEC", "")
        self._watchdog_pid = env.get("WATCHDOG_PID", "")
        self._pid = os.getpid() if pid is None else pid
        self._monotonic_usec = monotonic_usec
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        """True when a service manager asked to be notified."""
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send one datagram of ``KEY=VALUE`` lines; True if it was handed to the kernel."""
        if self._address is None or not assignments:
            return False
        payload = "\n".join(assignments).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            _log.warning("sd_notify %s failed: %s", assignments[0], exc)
            return False
        return True

    @staticmethod
    def _status(status: str) -> tuple[str, ...]:
        # STATUS= is one line; a newline would start a new (bogus) assignment.
        return (f"STATUS={status.replace(chr(10), ' ')}",) if status else ()

    def ready(self, status: str = "") -> bool:
        """Startup (or a reload) finished: systemd moves the unit to 'active'."""
        return self.notify("READY=1", *self._status(status))

    def reloading(self, status: str = "") -> bool:
        """A reload began; call :meth:`ready` when it is done.

        ``MONOTONIC_USEC`` is required by systemd >= 253 for ``Type=notify-reload``; the unit uses
        ``Type=notify`` with ``ExecReload=``, where it is harmless, so both work.
        """
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={self._monotonic_usec()}", *self._status(status))

    def status(self, text: str) -> bool:
        """Update the free-text status shown by ``systemctl status``."""
        return self.notify(*self._status(text)) if text else False

    def stopping(self, status: str = "") -> bool:
        """Shutdown began: systemd will not treat the coming exit as a crash."""
        return self.notify("STOPPING=1", *self._status(status))

    def watchdog(self) -> bool:
        """Keep-alive ping for ``WatchdogSec=``."""
        return self.notify("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None if no watchdog applies.

        The watchdog applies only when ``WATCHDOG_USEC`` is a positive integer and ``WATCHDOG_PID`` is
        unset or names this process (systemd sets it so children that inherit the environment do not
        ping on the main process's behalf).
        """
        try:
            usec = int(self._watchdog_usec)
        except ValueError:
            return None
        if usec <= 0:
            return None
        if self._watchdog_pid:
            try:
                if int(self._watchdog_pid) != self._pid:
                    return None
            except ValueError:
                return None
        return usec / 2 / 1_000_000

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


async def run_watchdog(
    notifier: Notifier,
    is_healthy: Callable[[], bool],
    *,
    interval: float | None = None,
) -> None:
    """Ping ``WATCHDOG=1`` every ``interval`` seconds (default: :meth:`Notifier.watchdog_interval`)
    but only while ``is_healthy()`` is true, until cancelled.

    Returns at once when no watchdog is configured. If ``is_healthy()`` returns False or raises,
    that round's ping is skipped; after ``WatchdogSec=`` without one, systemd kills the daemon
    (SIGABRT) and ``Restart=on-failure`` restarts it. A blocked event loop skips pings the same way.
    Run it as a task: ``asyncio.create_task(run_watchdog(notifier, loop_is_alive))``.
    """
    period = notifier.watchdog_interval() if interval is None else interval
    if period is None or period <= 0:
        return
    while True:
        try:
            healthy = bool(is_healthy())
        except Exception:
            _log.exception("health check raised; withholding the systemd watchdog ping")
        else:
            if healthy:
                notifier.watchdog()
            else:
                _log.warning("daemon unhealthy; withholding the systemd watchdog ping")
        await asyncio.sleep(period)
