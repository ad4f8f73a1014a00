"""How soon an OpenFeature application hears of a change, through the flagd provider in both modes.

Each round edits a flag file (then writes a flag through the admin API) and times, from just before the
write, the arrival of: our own ``EvaluationService.Watch`` event (the floor: the daemon noticed and
published), the provider's configuration-changed event in RPC mode (``flagd.evaluation`` EventStream) and in
in-process mode (``flagd.sync`` SyncFlags). The claim is that both modes hear a change within 1 s.

Run: ``.venv/bin/python -m bench.bench_openfeature [ROUNDS]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import CacheType, ResolverType
from openfeature.event import EventDetails, ProviderEvent

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2, evaluation_pb2
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

CLAIM_SECONDS = 1.0


class Arrivals:
    """When each key was first heard of after a given moment, per listener."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heard: list[tuple[float, str]] = []

    def heard(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            self._heard.extend((now, key) for key in keys)

    def first(self, key: str, after: float) -> float | None:
        with self._lock:
            return next((at for at, heard in self._heard if heard == key and at >= after), None)


def watch(daemon: Daemon, arrivals: Arrivals) -> None:
    try:
        for response in daemon.evaluation().Watch(evaluation_pb2.WatchRequest()):
            arrivals.heard(list(response.event.changed_keys))
    except grpc.RpcError:
        return  # the daemon stopped at the end of the run


def provider(mode: ResolverType, port: int, arrivals: Arrivals) -> FlagdProvider:
    flagd = FlagdProvider(resolver_type=mode, host="127.0.0.1", port=port, cache=CacheType.DISABLED)
    api.set_provider_and_wait(flagd, mode.value)

    def changed(details: EventDetails) -> None:
        arrivals.heard(list(details.flags_changed or []))

    api.get_client(mode.value).add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, changed)
    return flagd


def rounds(
    count: int, change: Callable[[int], str], listeners: dict[str, Arrivals]
) -> dict[str, list[float]]:
    """``change(round)`` makes one change and returns the key it changed."""
    latencies: dict[str, list[float]] = {name: [] for name in listeners}
    for index in range(count):
        started = time.monotonic()
        key = change(index)
        for name, arrivals in listeners.items():
            latencies[name].append(_wait(arrivals, key, started) - started)
        time.sleep(0.2)  # let the watcher's debounce window close before the next round
    return latencies


def _wait(arrivals: Arrivals, key: str, started: float) -> float:
    return wait_for(lambda: arrivals.first(key, started), timeout=30.0)


def report(title: str, latencies: dict[str, list[float]]) -> None:
    floor = statistics.median(latencies["watch (floor)"])
    print(f"-- {title}")
    print(
        f"{'listener':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'x floor':>9}  within {CLAIM_SECONDS:.0f} s"
    )
    for name, values in latencies.items():
        ordered = sorted(values)
        p50 = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        ratio = p50 / floor if floor else float("nan")
        within = sum(v < CLAIM_SECONDS for v in values)
        print(
            f"{name:<22}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}{ordered[-1] * 1000:>9.1f}{ratio:>9.2f}"
            f"  {within}/{len(values)}"
        )


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config"
        config.mkdir()
        write_flags(config, "bench.json", {f"k{i}": boolean_flag() for i in range(4)})
        with Daemon(config, Path(tmp) / "state", flagd_sync=True) as daemon:
            listeners = {"watch (floor)": Arrivals(), "rpc": Arrivals(), "in-process": Arrivals()}
            threading.Thread(target=watch, args=(daemon, listeners["watch (floor)"]), daemon=True).start()
            providers = [
                provider(ResolverType.RPC, daemon.port, listeners["rpc"]),
                provider(ResolverType.IN_PROCESS, daemon.flagd_sync_port, listeners["in-process"]),
            ]

            def edit(index: int) -> str:
                key = f"k{index % 4}"
                flags = {f"k{i}": boolean_flag() for i in range(4)}
                flags[key] = boolean_flag(metadata={"round": index})
                write_flags(config, "bench.json", flags)
                return key

            def admin_write(index: int) -> str:
                key = f"admin-{index % 4}"
                definition = to_struct(boolean_flag(metadata={"round": index}))
                request = admin_pb2.PutFlagRequest(flag_key=key, definition=definition, reason="bench")
                daemon.admin().PutFlag(request, metadata=daemon.auth(), timeout=10)
                return key

            report(f"file edit, {count} rounds", rounds(count, edit, listeners))
            report(f"admin write, {count} rounds", rounds(count, admin_write, listeners))
            for flagd in providers:
                flagd.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
