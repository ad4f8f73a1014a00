"""What one evaluation may spend: steps of iteration and the size of the values it builds.

A rule's size is bounded when it loads, but JSON Logic can still multiply work at run time: ``map`` inside
``map`` over a request's arrays, or a ``reduce`` whose accumulator doubles with ``cat`` or ``merge`` every
step (3 GB in seconds). So every item an array operator visits is charged against a per-evaluation step
budget, and ``cat``/``merge`` refuse to build values past a size; either ends the evaluation with
:class:`BudgetExceededError`, which the evaluator answers as the flag's default with reason ERROR. The
budget is per thread, because evaluations run on the event loop and in worker threads alike.
"""

from __future__ import annotations

import threading

MAX_STEPS = 100_000  # array items visited by one evaluation, dependent flags included
MAX_STRING_CHARS = 100_000  # longest string a rule may build
MAX_ARRAY_ITEMS = 10_000  # longest array a rule may build

_local = threading.local()


class BudgetExceededError(Exception):
    """An evaluation went over its budget; the message says which one."""


def start() -> None:
    """Give the evaluation about to run on this thread its full budget."""
    _local.steps = MAX_STEPS


def charge(steps: int) -> None:
    remaining = getattr(_local, "steps", MAX_STEPS) - steps
    if remaining < 0:
        raise BudgetExceededError(f"rule exceeded its budget of {MAX_STEPS} steps")
    _local.steps = remaining


def check_string(length: int) -> None:
    if length > MAX_STRING_CHARS:
        raise BudgetExceededError(f"rule built a string over {MAX_STRING_CHARS} characters")


def check_array(length: int) -> None:
    if length > MAX_ARRAY_ITEMS:
        raise BudgetExceededError(f"rule built an array over {MAX_ARRAY_ITEMS} items")
