"""``make bench``: every benchmark in turn, each in its own process so one's load never skews the next.

Run: ``.venv/bin/python -m bench.run_all [NAME ...]`` (names as in ``bench/bench_NAME.py``; default: all).
Each prints its own rows with the floor it measured in the same run; compare rows within one run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

BENCHMARKS = (
    "eval_inprocess",
    "evaluate",
    "routing",
    "experiments",
    "telemetry_inprocess",
    "telemetry_daemon",
    "sync",
    "openfeature",
    "loop_hold",
    "h2load",
)
# External load generators: a benchmark whose tool is missing says so in one line and the rest still run.
NEEDS = {"h2load": "h2load"}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in names:
        tool = NEEDS.get(name)
        if tool and shutil.which(tool) is None:
            print(f"== {name}: skipped, {tool} not installed (apt-get install nghttp2-client)")
            continue
        print(f"== {name}", flush=True)
        started = time.monotonic()
        if subprocess.run([sys.executable, "-m", f"bench.bench_{name}"], check=False).returncode != 0:
            failed.append(name)
        print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
