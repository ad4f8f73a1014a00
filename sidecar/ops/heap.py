"""Keeping the interpreter's own pauses short: garbage collection and the GIL hand-over.

CPython's full garbage collection walks every object the process holds while holding the GIL. A snapshot of
thousands of flags is hundreds of thousands of objects, so one full collection stops every request for
hundreds of milliseconds (measured: 240-300 ms for 5,000 targeted flags). Snapshots hold no reference cycles,
they are freed by reference counting alone, so the daemon moves what exists once a snapshot is built into
the collector's permanent generation (:func:`gc.freeze`): later collections walk only what was made since,
and stay fast. The young generations are collected first so that recent cyclic garbage is not kept.

Work moved off the event loop into a thread still takes the GIL; the loop (and gRPC's poller thread) get it
back only when the holder is asked to switch, every 5 ms by default. A shorter interval bounds how long a
worker thread's compile or evaluation delays the calls the loop serves.
"""

from __future__ import annotations

import gc
import sys

GIL_SWITCH_SECONDS = 0.001


def keep_pauses_short() -> None:
    """At start: hand the GIL over often enough that threads never hold the loop up for long."""
    sys.setswitchinterval(GIL_SWITCH_SECONDS)


def freeze_long_lived() -> None:
    """After building a snapshot: exempt everything alive now from later full collections."""
    gc.collect(1)
    gc.freeze()
