"""Files that could hurt a loader: rewritten in place under load, alias bombs, deep nesting, bad bytes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from sidecar.v1 import evaluation_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags
from tests.unit.config.test_located_budgets import ALIAS_BOMB

REWRITES = 1000


def status(daemon: Daemon) -> admin_pb2.GetStatusResponse:
    return daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=10)


def flag_yaml(key: str, value: str) -> str:
    return f"  {key}:\n    state: ENABLED\n    variants: {{v: {value!r}}}\n    defaultVariant: v\n"


def test_in_place_rewrites_never_serve_half_a_file(config_dir: Path, state_dir: Path) -> None:
    # The first half alone is a valid file without "target": serving it would answer NOT_FOUND.
    path = config_dir / "flags.yaml"
    first = "flags:\n" + "".join(flag_yaml(f"pad-{i}", "x" * 40) for i in range(40))

    def version(n: int) -> str:
        return flag_yaml("target", f"v{n}")

    path.write_text(first + version(0))
    with Daemon(config_dir, state_dir) as daemon:
        stub = daemon.evaluation()
        request = pb.EvaluateRequest(flag_key="target", context=to_struct({"targetingKey": "u"}))
        done = threading.Event()
        answers = {"served": 0, "not_found": 0, "other": 0}

        def evaluate() -> None:
            while not done.is_set():
                try:
                    stub.Evaluate(request, timeout=10)
                    answers["served"] += 1
                except grpc.RpcError as exc:
                    answers["not_found" if exc.code() == grpc.StatusCode.NOT_FOUND else "other"] += 1

        reader = threading.Thread(target=evaluate)
        reader.start()
        try:
            for n in range(1, REWRITES + 1):
                with path.open("w") as handle:  # truncates: an editor or cp writing in place
                    handle.write(first)
                    handle.flush()
                    time.sleep(0.001)
                    handle.write(version(n))
        finally:
            done.set()
            reader.join()
        assert answers["not_found"] == answers["other"] == 0, answers
        assert answers["served"] > 0
        # Once the writes stop, the last version serves.
        wait_for(
            lambda: stub.Evaluate(request, timeout=10).value.string_value == f"v{REWRITES}",
            timeout=10,
        )


def test_alias_bomb_and_deep_nesting_at_runtime_are_named_problems(config_dir: Path, state_dir: Path) -> None:
    write_flags(config_dir, "a.json", {"kept": boolean_flag("on")})
    with Daemon(config_dir, state_dir) as daemon:
        (config_dir / "bomb.yaml").write_text(ALIAS_BOMB)
        (config_dir / "deep.json").write_text('{"flags": ' + "[" * 50_000 + "]" * 50_000 + "}")

        def problems() -> dict[str, list[str]]:
            return {s.path: list(s.errors) for s in status(daemon).sources if not s.ok}

        found = wait_for(lambda: len(problems()) == 2 and problems(), timeout=10)
        bomb = found[str(config_dir / "bomb.yaml")][0]
        assert bomb.startswith(f"{config_dir / 'bomb.yaml'}:")
        assert "aliases are expanded" in bomb
        assert "nested deeper than" in found[str(config_dir / "deep.json")][0]
        # Health is re-assessed every second; a proto map answers "" for a key not (yet) there.
        wait_for(lambda: "bomb.yaml" in status(daemon).health_problems.get("config-reload", ""), timeout=10)
        # Every flag still serves: degraded, not down.
        assert daemon.health() == health_pb2.HealthCheckResponse.SERVING
        request = pb.EvaluateRequest(flag_key="kept", context=to_struct({"targetingKey": "u"}))
        answer = daemon.evaluation().Evaluate(request, timeout=10)
        assert answer.variant == "on"
        # Fixed, the problem clears by itself.
        (config_dir / "bomb.yaml").unlink()
        (config_dir / "deep.json").write_text('{"flags": {}}')
        wait_for(lambda: not problems(), timeout=10)
        wait_for(lambda: "config-reload" not in status(daemon).health_problems, timeout=10)


def test_deep_file_at_start_is_not_serving_and_says_why(config_dir: Path, state_dir: Path) -> None:
    (config_dir / "deep.yaml").write_text("flags:\n  x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    daemon = Daemon(config_dir, state_dir).start(wait_serving=False)
    try:
        assert daemon.health() == health_pb2.HealthCheckResponse.NOT_SERVING
        problem = status(daemon).health_problems["config"]
        assert f"{config_dir / 'deep.yaml'}:2:" in problem
        assert "nested deeper than" in problem
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()
