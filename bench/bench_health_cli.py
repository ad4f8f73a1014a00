"""What `sidecar health` costs as a container healthcheck: wall time and CPU per run.

Runs the command against a real daemon (SERVING) and against an address that refuses (the failing case a
probe must also answer quickly), each ``--runs`` times, and prints the median and worst wall time and CPU
time per run. The floor, measured in the same run, is the bare interpreter starting and exiting
(``python -c pass``): the part of each run no code of ours can save.

Run: ``.venv/bin/python -m bench.bench_health_cli [--runs 30]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.daemon import Daemon, refused_address

SIDECAR = Path(sys.executable).parent / "sidecar"
BUDGET_MS = 150.0


def timed(command: list[str], runs: int, expect: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each run."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(runs):
        before = os.times()
        started = time.perf_counter()
        code = subprocess.run(command, capture_output=True, check=False).returncode
        walls.append((time.perf_counter() - started) * 1000)
        after = os.times()
        cpus.append(
            (after.children_user - before.children_user + after.children_system - before.children_system)
            * 1000
        )
        if code != expect:
            raise SystemExit(f"{' '.join(command)} exited {code}, expected {expect}")
    return walls, cpus


def line(label: str, walls: list[float], cpus: list[float], floor: float) -> str:
    median = statistics.median(walls)
    return (
        f"{label:<34} wall median {median:6.1f} ms  max {max(walls):6.1f} ms  CPU median"
        f" {statistics.median(cpus):6.1f} ms  x floor {median / floor:5.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    floor_walls, floor_cpus = timed([sys.executable, "-c", "pass"], args.runs, 0)
    floor = statistics.median(floor_walls)
    print(line("floor: python -c pass", floor_walls, floor_cpus, floor))
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "config").mkdir()
        with Daemon(base / "config", base / "state") as daemon:
            serving = timed([str(SIDECAR), "health", "--address", daemon.tcp_target], args.runs, 0)
    print(line("sidecar health (SERVING)", *serving, floor))
    with refused_address() as address:
        refused = timed([str(SIDECAR), "health", "--address", address, "--timeout", "1"], args.runs, 1)
    print(line("sidecar health (refused address)", *refused, floor))
    worst = max(statistics.median(serving[0]), statistics.median(refused[0]))
    print(
        f"budget: median wall under {BUDGET_MS:.0f} ms:"
        f" {'yes' if worst < BUDGET_MS else 'NO'} ({worst:.1f} ms)"
    )
    return 0 if worst < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
