"""Peer-sync convergence: how fast a change reaches every sidecar of a group, and what it costs on the wire.

Starts groups of 5, 10 and 20 real sidecar processes on 127.0.0.1 (every one listing all the others in its
peers file; fanout 3, so most pairs talk only through relays), then for each group:

* writes flags, one at a time, each on a different sidecar, and times until *every* sidecar serves it;
* rolls the rollout back on one sidecar and times until every sidecar routes V1;
* counts the protobuf bytes and entries all sidecars sent for those changes, minus the idle anti-entropy
  traffic measured over the same time.

    .venv/bin/python -m bench.bench_sync [--sizes 5,10,20] [--changes 10]

All processes share this machine's cores, so the numbers include scheduling delays a real fleet does not
have (and none of a real network's latency).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sidecar.v1 import routing_pb2 as rpb
from tests.support.daemon import wait_for
from tests.support.sync_cluster import Cluster, Member, flag, holding_rollout

EXTRA = ("--log-level", "warning")


def traffic(cluster: Cluster) -> tuple[int, int]:
    """(bytes, entries) sent by every sidecar so far."""
    total_bytes = total_entries = 0
    for member in cluster.members:
        for peer in member.status().peers:
            total_bytes += peer.bytes_sent
            total_entries += peer.entries_sent
    return total_bytes, total_entries


def time_until_everyone(members: list[Member], check: object, timeout: float = 10.0) -> float:
    """Seconds until ``check(member)`` holds for every member (each polled until it does)."""
    started = time.monotonic()
    pending = list(members)
    while pending:
        pending = [m for m in pending if not check(m)]  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{len(pending)} sidecars did not converge within {timeout}s")
    return time.monotonic() - started


def run_size(size: int, changes: int, base: Path) -> dict[str, float]:
    cluster = Cluster(base / f"group-{size}", size, extra=EXTRA, rollouts={"svc": holding_rollout()})
    started = time.monotonic()
    cluster.start()
    startup = time.monotonic() - started
    sys.stderr.write(f"  {size} sidecars up in {startup:.1f}s\n")
    try:
        wait_for(lambda: all(m.connected_nodes() for m in cluster.members), timeout=60)
        wait_for(cluster.converged, timeout=60, interval=0.5)
        # Idle traffic (anti-entropy summaries) over a quiet period.
        idle_seconds = 6.0
        before = traffic(cluster)
        time.sleep(idle_seconds)
        after = traffic(cluster)
        idle_rate = (after[0] - before[0]) / idle_seconds
        # Flag writes, each on another sidecar.
        times: list[float] = []
        measure_from = time.monotonic()
        start_bytes, start_entries = traffic(cluster)
        for change in range(changes):
            writer = cluster.members[change % size]
            variant = "abc"[change % 3]
            key = f"bench-{change}"
            writer.put_flag(key, flag(variant))
            times.append(time_until_everyone(cluster.members, lambda m, k=key, v=variant: m.variant(k) == v))
        # Rollback on one sidecar: every sidecar routes V1.
        cluster.members[-1].act("Rollback")
        rollback = time_until_everyone(
            cluster.members, lambda m: m.route("unit-1").reason == rpb.ROUTE_REASON_ROLLED_BACK
        )
        wait_for(cluster.converged, timeout=30, interval=0.2)
        elapsed = time.monotonic() - measure_from
        end_bytes, end_entries = traffic(cluster)
        change_bytes = max(0.0, (end_bytes - start_bytes) - idle_rate * elapsed)
        return {
            "sidecars": size,
            "startup_s": startup,
            "flag_p50_ms": statistics.median(times) * 1000,
            "flag_max_ms": max(times) * 1000,
            "rollback_ms": rollback * 1000,
            "bytes_per_change": change_bytes / (changes + 1),
            "entries_per_change": (end_entries - start_entries) / (changes + 1),
            "idle_bytes_per_s": idle_rate,
        }
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="5,10,20")
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            sys.stderr.write(f"starting {size} sidecars...\n")
            rows.append(run_size(size, args.changes, Path(tmp)))
    header = (
        f"{'sidecars':>8} {'flag p50':>9} {'flag max':>9} {'rollback':>9} "
        f"{'bytes/change':>13} {'entries/change':>15} {'idle B/s':>9}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['sidecars']:>8.0f} {r['flag_p50_ms']:>7.0f}ms {r['flag_max_ms']:>7.0f}ms "
            f"{r['rollback_ms']:>7.0f}ms "
            f"{r['bytes_per_change']:>13.0f} {r['entries_per_change']:>15.1f} {r['idle_bytes_per_s']:>9.0f}"
        )
    print(
        "(convergence = until every sidecar serves the change; bytes = protobuf payload sent by all sidecars)"
    )


if __name__ == "__main__":
    main()
