"""Hot reload: edits are live within a second; a broken file is rejected, its last good version serves."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2
from sidecar.v1 import evaluation_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag, write_flags

RELOAD_WITHIN = 1.0


def variant(daemon: Daemon, flag: str) -> str | None:
    try:
        return (
            daemon.evaluation()
            .Evaluate(pb.EvaluateRequest(flag_key=flag, context=to_struct({"targetingKey": "u"})), timeout=5)
            .variant
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def status(daemon: Daemon) -> admin_pb2.GetStatusResponse:
    return daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=5)


@pytest.fixture
def daemon(config_dir: Path, state_dir: Path) -> Daemon:
    write_flags(config_dir, "a.json", {"switch": boolean_flag("off")})
    with Daemon(config_dir, state_dir) as running:
        yield running


def test_edit_is_visible_within_a_second(daemon: Daemon) -> None:
    write_flags(daemon.config_dir, "a.json", {"switch": boolean_flag("on")})
    wait_for(lambda: variant(daemon, "switch") == "on", timeout=RELOAD_WITHIN)


def test_new_file_and_yaml_are_picked_up(daemon: Daemon) -> None:
    (daemon.config_dir / "b.yaml").write_text(
        "flags:\n  greeting:\n    state: ENABLED\n"
        "    variants: {on: hello, off: bye}\n    defaultVariant: on\n"
    )
    wait_for(lambda: variant(daemon, "greeting") == "on", timeout=RELOAD_WITHIN)


def test_broken_edit_keeps_last_good_version_and_reports_file_and_line(daemon: Daemon) -> None:
    path = daemon.config_dir / "a.json"
    path.write_text('{\n  "flags": {\n    "switch": {"state": "ENABLED",\n "variants": }\n  }\n}\n')
    wait_for(lambda: any(not s.ok for s in status(daemon).sources), timeout=RELOAD_WITHIN)
    source = next(s for s in status(daemon).sources if s.path == str(path))
    assert source.errors == [f"{path}:4: invalid JSON: Expecting value"]
    assert source.flag_count == 1
    assert variant(daemon, "switch") == "off"
    # Already serving: a later broken edit degrades status but keeps the daemon in service.
    assert daemon.health() == health_pb2.HealthCheckResponse.SERVING
    problems = wait_for(lambda: status(daemon).health_problems.get("config-reload"), timeout=3)
    assert f"{path}:4: invalid JSON" in problems


def test_invalid_flag_is_rejected_with_its_line(daemon: Daemon) -> None:
    path = daemon.config_dir / "a.json"
    write_flags(daemon.config_dir, "a.json", {"switch": {**boolean_flag("on"), "defaultVariant": "missing"}})
    wait_for(lambda: any(not s.ok for s in status(daemon).sources), timeout=RELOAD_WITHIN)
    errors = next(s for s in status(daemon).sources if s.path == str(path)).errors
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:")
    assert "missing" in errors[0]
    assert variant(daemon, "switch") == "off"


def test_empty_file_is_a_failed_load_not_no_flags(daemon: Daemon) -> None:
    path = daemon.config_dir / "a.json"
    path.write_text("")
    wait_for(lambda: any(not s.ok for s in status(daemon).sources), timeout=RELOAD_WITHIN)
    assert "file is empty" in next(s for s in status(daemon).sources if s.path == str(path)).errors[0]
    assert variant(daemon, "switch") == "off"


def test_removed_file_disappears_and_comes_back(daemon: Daemon) -> None:
    path = daemon.config_dir / "a.json"
    text = path.read_text()
    path.unlink()
    wait_for(lambda: variant(daemon, "switch") is None, timeout=RELOAD_WITHIN)
    path.write_text(text)
    wait_for(lambda: variant(daemon, "switch") == "off", timeout=RELOAD_WITHIN)


def test_duplicate_key_across_files_names_both_files(daemon: Daemon) -> None:
    other = write_flags(daemon.config_dir, "b.json", {"switch": boolean_flag("on"), "other": boolean_flag()})
    wait_for(lambda: any(not s.ok for s in status(daemon).sources), timeout=RELOAD_WITHIN)
    errors = next(s for s in status(daemon).sources if s.path == str(other)).errors
    assert any(str(daemon.config_dir / "a.json") in e and "switch" in e for e in errors)
    assert variant(daemon, "switch") == "off"
    assert variant(daemon, "other") is None


def test_watch_streams_changed_keys(daemon: Daemon) -> None:
    stream = daemon.evaluation().Watch(pb.WatchRequest(), timeout=10)
    first = next(stream)
    write_flags(daemon.config_dir, "a.json", {"switch": boolean_flag("on"), "added": boolean_flag()})
    event = next(stream).event
    stream.cancel()
    assert event.revision > first.event.revision
    assert sorted(event.changed_keys) == ["added", "switch"]


def test_sighup_forces_reload(daemon: Daemon) -> None:
    before = status(daemon).sources[0].checked_at
    daemon.signal(signal.SIGHUP)
    wait_for(lambda: status(daemon).sources[0].checked_at > before, timeout=5)


def test_broken_config_at_start_is_not_serving(config_dir: Path, state_dir: Path) -> None:
    (config_dir / "bad.yaml").write_text("flags:\n  x:\n    state: ENABLED\n    variants: [1, 2\n")
    write_flags(config_dir, "good.json", {"fine": boolean_flag()})
    daemon = Daemon(config_dir, state_dir).start(wait_serving=False)
    try:
        assert daemon.health() == health_pb2.HealthCheckResponse.NOT_SERVING
        sources = {s.path: s for s in status(daemon).sources}
        assert not sources[str(config_dir / "bad.yaml")].ok
        assert sources[str(config_dir / "bad.yaml")].errors[0].startswith(f"{config_dir / 'bad.yaml'}:")
        assert not status(daemon).serving
        assert f"{config_dir / 'bad.yaml'}:" in status(daemon).health_problems["config"]
        # Fixing the file brings the daemon into service.
        (config_dir / "bad.yaml").write_text("flags: {}\n")
        wait_for(lambda: daemon.health() == health_pb2.HealthCheckResponse.SERVING, timeout=5)
    finally:
        daemon.stop()


def test_sigterm_exits_cleanly(daemon: Daemon) -> None:
    assert daemon.stop() == 0
