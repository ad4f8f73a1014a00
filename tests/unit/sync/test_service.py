"""Two or three SyncServices in one event loop, over real gRPC on 127.0.0.1:0 with real SQLite files: what is
written through one sidecar's ports arrives through the other's."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sidecar.alerts.acks import Acknowledgement
from sidecar.rollout.model import Version
from sidecar.rollout.state import RolloutStatus, initial_state
from sidecar.rollout.windows import BucketCounts
from sidecar.store.rollout_store import BucketRow
from tests.unit.sync.fakes import Member, eventually, running


def converged(*members: Member) -> bool:
    return len({m.service.digest() for m in members}) == 1


def connected(member: Member) -> bool:
    return any(p.connected for p in member.service.peer_messages())


def test_two_sidecars_share_every_kind(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, "node-a") as a:
            a.write_record(
                "flag", "early", '{"state": "ENABLED"}'
            )  # before any session: sent by anti-entropy
            async with running(tmp_path, "node-b", peers=(a.address,)) as b:
                await eventually(lambda: connected(a) and connected(b))
                await eventually(lambda: ("flag", "early") in b.records())
                # Records: a write on b reaches a; its deletion too, as a tombstone.
                b.write_record("flag", "checkout", '{"b": 1, "a": 2}')
                await eventually(lambda: a.records().get(("flag", "checkout")) == ('{"a":2,"b":1}', 0))
                b.write_record("flag", "checkout", None)
                await eventually(lambda: a.records().get(("flag", "checkout"), ("", 0))[1] == 1)
                assert a.config.reloads > 0
                # Rollout state: a pause on a reaches b's runtime.
                a.rollouts.states["r"] = initial_state("r", 100.0)
                a.service.on_flushed(["r"], [])
                await eventually(lambda: "r" in b.rollouts.states)
                paused = dataclasses.replace(a.rollouts.states["r"], status=RolloutStatus.PAUSED)
                a.rollouts.states["r"] = paused
                a.service.on_flushed(["r"], [])
                await eventually(lambda: b.rollouts.states["r"].status is RolloutStatus.PAUSED)
                # Outcome buckets: b's counts reach a's runtime under b's node id.
                counts = BucketCounts(requests=5, successes=4, errors=1)
                b.service.on_flushed([], [BucketRow("r", 1, 120, Version.V2, counts)])
                await eventually(
                    lambda: a.rollouts.remote.get(("node-b", "r", 1)) == {(120, Version.V2): counts}
                )
                # Alert acknowledgements and audit entries.
                ack = Acknowledgement("alert-1", "errors", "r", 1e12, "alice", "on it", b.hlc.now().encode())
                b.alerts.acknowledge(ack)
                await eventually(lambda: "alert-1" in a.alerts.acks)
                add_audit(a, "audit-1")
                await eventually(lambda: "audit-1" in b.audit_ids())
                await eventually(lambda: converged(a, b))
                assert a.service.health_problem() is None
                assert a.service.metrics.entries_applied > 0
                assert b.service.metrics.sessions_opened >= 1
                # Every member holds the tombstone: it is forgotten everywhere.
                await eventually(lambda: all(("flag", "checkout") not in m.records() for m in (a, b)), 60)
                # The count follows the delete it reports; wait for it rather than race it.
                await eventually(lambda: a.service.metrics.tombstones_expired >= 1)

    asyncio.run(scenario())


def add_audit(member: Member, ident: str) -> None:
    with member.database.transaction() as conn:
        conn.execute(
            "INSERT INTO audit (id, ts, actor, action, target, before, after, reason, version)"
            " VALUES (?, strftime('%s','now'), 'alice', 'put', 'flag/x', NULL, '{}', '', ?)",
            (ident, member.hlc.now().encode()),
        )
    member.service.on_flushed([], [])  # wakes the scan of local changes


def test_a_restarted_sidecar_loads_its_replica_and_catches_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, "node-a") as a:
            a.rollouts.states["r"] = initial_state("r", 100.0)
            a.rollouts.states["r"] = dataclasses.replace(a.rollouts.states["r"], status=RolloutStatus.PAUSED)
            a.service.on_flushed(["r"], [])
            a.write_record("rollout", "r", '{"k": 1}')
            async with running(tmp_path, "node-b", peers=(a.address,)) as b:
                await eventually(lambda: converged(a, b) and b.records())
            directory = tmp_path / "node-b"
            # Same files, new process: the replica is loaded before any session opens.
            from tests.unit.sync.fakes import make_member, settings_for

            again = make_member(directory, "node-b", settings_for(directory))
            await again.service.start()
            try:
                assert again.rollouts.states["r"].status is RolloutStatus.PAUSED
                assert again.service.digest() == a.service.digest()
            finally:
                await again.service.stop()

    asyncio.run(scenario())


def test_a_peer_with_the_wrong_secret_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, "node-a") as a:
            other = "another-secret-of-another-group\n"
            async with running(tmp_path, "intruder", secret=other, peers=(a.address,)) as intruder:
                await eventually(lambda: intruder.service.metrics.auth_failures >= 3)
                errors = [p.last_error for p in intruder.service.peer_messages()]
                assert errors
                assert all(e.startswith("UNAUTHENTICATED") for e in errors), errors
                problem = await eventually(intruder.service.health_problem)
                assert "no peer connected" in problem
                assert "wrong group secret" in problem
                assert not connected(a)
                assert a.service.metrics.auth_failures >= 3

    asyncio.run(scenario())


def test_a_sidecar_that_dials_itself_stops_dialing_that_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        # The same node id behind another listener (a sidecar listed among its own peers).
        async with (
            running(tmp_path, "node-a") as a,
            running(tmp_path, "node-a", home="twin", peers=(a.address,)) as twin,
        ):
            await eventually(
                lambda: twin.service.health_problem() is None and not twin.service.peer_messages()
            )
            assert not connected(a)

    asyncio.run(scenario())
