"""Run the sidecar command line with this process's wall clock shifted, as on a host whose clock is off:

    python -m tests.support.skewed_clock SECONDS serve ...

Only ``time.time`` moves (what the daemon's clock and its sync credentials read); monotonic time does not.
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    offset = float(sys.argv[1])
    true_time = time.time
    time.time = lambda: true_time() + offset
    from sidecar.cli.main import main as cli

    return cli(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
