"""A disk that refuses writes (full, capped, immutable) never costs an acknowledged write nor counts a refused
one; it shows as the ``storage`` problem until writes are accepted again; kill -9 loses no acknowledged
outcome."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2

from sidecar.server.convert import to_struct
from sidecar.v1 import admin_pb2, routing_pb2_grpc
from sidecar.v1 import routing_pb2 as pb
from tests.support.daemon import Daemon, wait_for
from tests.support.flagfiles import boolean_flag

pytestmark = pytest.mark.slow

ROLLOUT = """\
rollouts:
  svc:
    phases:
      - {name: CANARY, percent: 50, minDuration: 1h, minSamples: 1000000}
      - {name: FULL, percent: 100}
"""
FAST = ("--tick-seconds", "0.2", "--outcome-bucket-seconds", "1")
BATCH = 20
CAP = 400 * 1024  # a database a little larger than a fresh one
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
def rollout_config(config_dir: Path) -> Path:
    (config_dir / "rollouts.yaml").write_text(ROLLOUT)
    return config_dir


def report(daemon: Daemon, count: int = BATCH) -> int:
    """Report ``count`` V1 successes; the number accepted, once durable."""
    outcomes = [
        pb.Outcome(rollout_key="svc", version=pb.VERSION_V1, success=True, latency_ms=5.0, generation=1)
        for _ in range(count)
    ]
    stub = routing_pb2_grpc.RoutingServiceStub(daemon.channel())
    return int(stub.ReportOutcomes(pb.ReportOutcomesRequest(outcomes=outcomes), timeout=10).accepted)


def counted(daemon: Daemon) -> int:
    """Outcomes of the current phase as the daemon holds them in memory (what its policy sees)."""
    stub = routing_pb2_grpc.RolloutServiceStub(daemon.channel())
    status = stub.GetRollout(pb.GetRolloutRequest(rollout_key="svc"), metadata=daemon.auth(), timeout=10)
    return int(status.rollout.v1.requests + status.rollout.v2.requests)


def stored(state_dir: Path) -> int:
    """Outcomes in the database itself, read by another connection."""
    with closing(sqlite3.connect(state_dir / "sidecar.db")) as conn:
        rows = conn.execute("SELECT counts FROM outcome_buckets WHERE rollout_key = 'svc'").fetchall()
    return sum(int(json.loads(counts)["requests"]) for (counts,) in rows)


def put_flag(daemon: Daemon, key: str, padding: int = 0) -> None:
    definition = {**boolean_flag(), "metadata": {"padding": "x" * padding}} if padding else boolean_flag()
    request = admin_pb2.PutFlagRequest(flag_key=key, definition=to_struct(definition), reason="test")
    daemon.admin().PutFlag(request, metadata=daemon.auth(), timeout=10)


def admin_flags(daemon: Daemon) -> set[str]:
    response = daemon.admin().ListFlags(admin_pb2.ListFlagsRequest(), metadata=daemon.auth(), timeout=10)
    return {flag.key for flag in response.flags if flag.source == "admin"}


def problems(daemon: Daemon) -> dict[str, str]:
    status = daemon.admin().GetStatus(admin_pb2.GetStatusRequest(), metadata=daemon.auth(), timeout=10)
    return dict(status.health_problems)


def cli_status(daemon: Daemon) -> dict[str, Any]:
    """What ``sidecar status`` prints."""
    env = {**os.environ, "SIDECAR_ADDRESS": daemon.tcp_target, "SIDECAR_STATE_DIR": str(daemon.state_dir)}
    command = [sys.executable, "-m", "sidecar.cli.main", "status"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    status: dict[str, Any] = json.loads(result.stdout)
    return status


def fill_with_flags(daemon: Daemon) -> grpc.RpcError:
    """Admin writes until the database refuses one; that refusal."""
    for i in range(10_000):
        try:
            put_flag(daemon, f"ballast-{i}", padding=2000)
        except grpc.RpcError as exc:
            return exc
    raise AssertionError("the database never filled up")


class Tally:
    """Outcome reports sent while writes are refused: accepted ones and the status of the rest."""

    def __init__(self) -> None:
        self.acknowledged = 0
        self.refusals: list[grpc.RpcError] = []

    def send(self, daemon: Daemon) -> None:
        try:
            self.acknowledged += report(daemon)
        except grpc.RpcError as exc:
            self.refusals.append(exc)

    def until_refused(self, daemon: Daemon, refusals: int = 5) -> None:
        # Each second opens a new bucket row, which a full database cannot take.
        wait_for(lambda: self.send(daemon) or len(self.refusals) >= refusals, timeout=60, interval=0.05)


def assert_reported(error: grpc.RpcError, code: grpc.StatusCode, database: Path, *words: str) -> None:
    assert error.code() == code, error.details()
    details = error.details() or ""
    assert str(database) in details
    assert "\n" not in details
    for word in words:
        assert word in details


def test_a_capped_database_refuses_writes_without_counting_them(
    rollout_config: Path, state_dir: Path
) -> None:
    daemon = Daemon(rollout_config, state_dir, *FAST, "--state-max-size", str(CAP)).start()
    database = state_dir / "sidecar.db"
    try:
        tally = Tally()
        tally.send(daemon)
        full = fill_with_flags(daemon)
        assert_reported(full, grpc.StatusCode.RESOURCE_EXHAUSTED, database, "is full", "--state-max-size")
        with pytest.raises(grpc.RpcError) as refused:
            put_flag(daemon, "refused", padding=4000)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "refused" not in admin_flags(daemon)

        tally.until_refused(daemon)
        assert {e.code() for e in tally.refusals} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        wait_for(lambda: daemon.health() == NOT_SERVING, timeout=30)
        assert str(database) in problems(daemon)["storage"]
        assert str(database) in cli_status(daemon)["health_problems"]["storage"]
        in_memory = counted(daemon)
        print(f"\ncapped: acknowledged {tally.acknowledged}, counted in memory {in_memory}", end=" ")
        assert in_memory == tally.acknowledged
        assert daemon.log().count("is full") == 1  # said once, however many writes it refused
    finally:
        daemon.stop()
    print(f"stored {stored(state_dir)}")
    assert stored(state_dir) == tally.acknowledged

    raised = Daemon(rollout_config, state_dir, *FAST, "--state-max-size", str(4 * CAP))
    with raised:
        assert counted(raised) == tally.acknowledged
        put_flag(raised, "after-raise")
        assert report(raised) == BATCH
        assert "storage" not in problems(raised)


def can_mount(point: Path) -> bool:
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(point)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB file system of its own (tmpfs), skipped where this user may not mount one."""
    point = tmp_path / "disk"
    point.mkdir()
    try:
        if not can_mount(point):
            pytest.skip("mounting a tmpfs needs CAP_SYS_ADMIN")
    except FileNotFoundError:
        pytest.skip("no mount command")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def fill_disk(ballast: Path) -> None:
    with ballast.open("wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass


def test_a_full_disk_refuses_writes_and_recovers_when_space_is_freed(
    rollout_config: Path, small_disk: Path, tmp_path: Path
) -> None:
    state_dir = small_disk / "state"
    daemon = Daemon(rollout_config, state_dir, *FAST)
    daemon.log_path = tmp_path / "daemon.log"  # the log must not need the full disk
    database = state_dir / "sidecar.db"
    daemon.start()
    try:
        tally = Tally()
        tally.send(daemon)
        fill_disk(small_disk / "ballast")
        tally.until_refused(daemon)
        assert {e.code() for e in tally.refusals} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert_reported(tally.refusals[0], grpc.StatusCode.RESOURCE_EXHAUSTED, database, "is full")
        wait_for(lambda: daemon.health() == NOT_SERVING, timeout=30)
        assert "no space left" in problems(daemon)["storage"]
        with pytest.raises(grpc.RpcError) as refused:
            put_flag(daemon, "refused", padding=20000)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "refused" not in admin_flags(daemon)
        in_memory = counted(daemon)
        print(f"\nfull disk: acknowledged {tally.acknowledged}, counted in memory {in_memory}", end=" ")
        assert in_memory == tally.acknowledged

        (small_disk / "ballast").unlink()
        wait_for(lambda: daemon.health() == SERVING, timeout=30)  # no write needed from anyone
        assert "storage" not in problems(daemon)
        tally.acknowledged += report(daemon)
        assert counted(daemon) == tally.acknowledged
    finally:
        daemon.stop()
    print(f"stored {stored(state_dir)}")
    assert stored(state_dir) == tally.acknowledged


def chattr(flag: str, *paths: Path) -> bool:
    try:
        result = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, check=False)
    except FileNotFoundError:
        return False
    return result.returncode == 0


def test_an_unwritable_database_answers_unavailable_until_it_is_writable_again(
    rollout_config: Path, state_dir: Path
) -> None:
    # The immutable attribute stops even root's writes to files already open: the kernel refuses each
    # write with EPERM, which SQLite reports as an I/O error, as it would a disk failing under it.
    files = [state_dir / "sidecar.db", state_dir / "sidecar.db-wal"]
    daemon = Daemon(rollout_config, state_dir, *FAST).start()
    try:
        acknowledged = report(daemon)
        if not chattr("+i", *files):
            pytest.skip("this file system or user cannot set the immutable attribute")
        try:
            tally = Tally()
            tally.until_refused(daemon, refusals=3)
            assert tally.acknowledged == 0
            assert_reported(
                tally.refusals[0], grpc.StatusCode.UNAVAILABLE, state_dir / "sidecar.db", "SQLITE_IOERR"
            )
            with pytest.raises(grpc.RpcError) as refused:
                put_flag(daemon, "refused")
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "refused" not in admin_flags(daemon)
            assert counted(daemon) == acknowledged
            wait_for(lambda: daemon.health() == NOT_SERVING, timeout=30)
            assert "could not be written" in problems(daemon)["storage"]
        finally:
            chattr("-i", *files)
        wait_for(lambda: daemon.health() == SERVING, timeout=30)
        acknowledged += report(daemon)
        put_flag(daemon, "accepted")
        assert counted(daemon) == acknowledged
    finally:
        daemon.stop()
    assert stored(state_dir) == acknowledged


def hammer(send: Callable[[], int], acknowledged: list[int]) -> threading.Thread:
    """Call ``send()`` until the daemon is gone, noting what each acknowledged call accepted."""

    def run() -> None:
        while True:
            try:
                accepted = send()
            except grpc.RpcError:
                return  # the daemon is gone; this call was never acknowledged
            acknowledged.append(accepted)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_kill9_during_outcome_reports_loses_no_acknowledged_outcome(
    rollout_config: Path, state_dir: Path
) -> None:
    daemon = Daemon(rollout_config, state_dir, *FAST).start()
    acknowledged: list[int] = []
    writers = [hammer(lambda: report(daemon), acknowledged) for _ in range(3)]
    wait_for(lambda: len(acknowledged) >= 60, timeout=60)
    daemon.kill9()
    for writer in writers:
        writer.join()
    print(f"\nkill -9: acknowledged {sum(acknowledged)}, stored {stored(state_dir)}")
    # A report in flight at the kill may be stored unacknowledged, never the other way round.
    assert stored(state_dir) >= sum(acknowledged)
    with daemon:
        assert counted(daemon) == stored(state_dir)
