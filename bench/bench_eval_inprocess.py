"""In-process cost of one flag evaluation, the daemon's hot path, without gRPC around it.

Run: ``.venv/bin/python -m bench.bench_eval_inprocess [--rounds 200000]``. Prints the best-of-five ns per
call for each shape of flag; contexts rotate through 1024 users so hashing and lookups see varied input.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from sidecar.config.located import parse_text
from sidecar.evaluation.evaluator import Evaluator
from sidecar.evaluation.flags import compile_flags

NOW = 1_760_000_000.0
USERS = [f"user-{i}@shop.test" for i in range(1024)]
CONTEXTS = [
    {"targetingKey": f"user-{i}", "email": email, "plan": "free", "version": f"2.{i % 7}.{i % 3}"}
    for i, email in enumerate(USERS)
]
BOOLEAN = {"on": True, "off": False}

FLAGS: dict[str, Any] = {
    "static": {"state": "ENABLED", "variants": BOOLEAN, "defaultVariant": "off"},
    "fractional": {
        "state": "ENABLED",
        "variants": {"control": "a", "treatment": "b", "holdout": "c"},
        "defaultVariant": "control",
        "targeting": {"fractional": [["treatment", 50], ["control", 30], ["holdout", 20]]},
    },
    "in-list": {
        "state": "ENABLED",
        "variants": BOOLEAN,
        "defaultVariant": "off",
        "targeting": {"if": [{"in": [{"var": "email"}, USERS[::2]]}, "on", "off"]},
    },
    "sem-ver": {
        "state": "ENABLED",
        "variants": BOOLEAN,
        "defaultVariant": "off",
        "targeting": {"if": [{"sem_ver": [{"var": "version"}, ">=", "2.3.0"]}, "on", "off"]},
    },
    "plan": {
        "state": "ENABLED",
        "variants": BOOLEAN,
        "defaultVariant": "off",
        "targeting": {"if": [{"==": [{"var": "plan"}, "pro"]}, "on", None]},
    },
    "ends-with": {
        "state": "ENABLED",
        "variants": {"true": True, "false": False},
        "defaultVariant": "false",
        "targeting": {"ends_with": [{"var": "email"}, "@shop.test"]},
    },
    "window": {
        "state": "ENABLED",
        "variants": BOOLEAN,
        "defaultVariant": "off",
        "targeting": {"if": [{">": [{"var": "$flagd.timestamp"}, 1_700_000_000]}, "on", "off"]},
    },
    "disabled": {"state": "DISABLED", "variants": BOOLEAN, "defaultVariant": "off"},
    "dependent": {
        "state": "ENABLED",
        "variants": BOOLEAN,
        "defaultVariant": "off",
        "targeting": {"if": [{"flag_value": "in-list"}, "on", "off"]},
    },
    "static-string": {"state": "ENABLED", "variants": {"a": "x", "b": "y"}, "defaultVariant": "b"},
}


Loop = Callable[[list[dict[str, Any]]], None]


def evaluate_loop(evaluator: Evaluator, key: str) -> Loop:
    evaluate = evaluator.evaluate

    def loop(contexts: list[dict[str, Any]]) -> None:
        for context in contexts:
            evaluate(key, context, NOW)

    return loop


def evaluate_all_loop(evaluator: Evaluator) -> Loop:
    evaluate_all = evaluator.evaluate_all

    def loop(contexts: list[dict[str, Any]]) -> None:
        for context in contexts:
            evaluate_all(context, NOW)

    return loop


def best_ns_per_call(loop: Loop, rounds: int) -> float:
    contexts = (CONTEXTS * (rounds // len(CONTEXTS) + 1))[:rounds]
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter_ns()
        loop(contexts)
        best = min(best, (time.perf_counter_ns() - started) / rounds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200_000)
    rounds = parser.parse_args().rounds
    doc = parse_text(json.dumps({"flags": FLAGS}), "bench.json", "json")
    evaluator = Evaluator(compile_flags(doc), {"environment": "production"})
    cases = [
        ("static flag", evaluate_loop(evaluator, "static")),
        ("fractional rule", evaluate_loop(evaluator, "fractional")),
        ("if + in user list (512)", evaluate_loop(evaluator, "in-list")),
        ("sem_ver", evaluate_loop(evaluator, "sem-ver")),
        (f"evaluate_all ({len(FLAGS)} flags)", evaluate_all_loop(evaluator)),
    ]
    for name, loop in cases:
        print(f"{name:<28} {best_ns_per_call(loop, rounds):>10.0f} ns/op")


if __name__ == "__main__":
    main()
