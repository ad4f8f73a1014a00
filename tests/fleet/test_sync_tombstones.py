"""A deletion is kept as a tombstone until every member of the group holds it, then forgotten everywhere."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.daemon import wait_for
from tests.support.sync_cluster import FAST, Cluster, Member, flag

pytestmark = pytest.mark.slow

QUICK_EXPIRY = (*FAST, "--sync-anti-entropy-seconds", "0.5", "--sync-tombstone-min-age", "1")


def stored(member: Member, key: str) -> tuple[int] | None:
    """The flag's row in the member's own SQLite file: (deleted,), or None once forgotten."""
    path = member.daemon.state_dir / "sidecar.db"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT deleted FROM records WHERE kind = 'flag' AND key = ?", (key,)).fetchone()
    return None if row is None else (int(row[0]),)


def test_a_tombstone_outlives_its_minimum_age_until_the_absent_member_has_it(tmp_path: Path) -> None:
    group = Cluster(tmp_path, 3, extra=QUICK_EXPIRY).start()
    try:
        wait_for(lambda: all(len(m.connected_nodes()) == 2 for m in group.members), timeout=15)
        first, second, absent = group.members
        first.put_flag("doomed", flag("a"))
        wait_for(lambda: all(m.variant("doomed") == "a" for m in group.members), timeout=5)
        absent.daemon.stop()
        first.delete_flag("doomed")
        wait_for(lambda: second.variant("doomed") is None, timeout=5)
        time.sleep(3)  # six anti-entropy rounds, three times the minimum age
        assert stored(first, "doomed") == (1,)  # kept: a known member has not acknowledged it
        assert stored(second, "doomed") == (1,)
        absent.daemon.start()
        wait_for(lambda: absent.variant("doomed") is None, timeout=5)  # the deletion reached it, not the flag
        wait_for(lambda: all(stored(m, "doomed") is None for m in group.members), timeout=15)
        wait_for(group.converged, timeout=10)
        assert all(m.variant("doomed") is None for m in group.members)
    finally:
        group.stop()
