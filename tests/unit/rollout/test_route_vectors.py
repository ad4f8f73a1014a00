"""The shared route vectors that every language's client reproduces are exactly the daemon's assignment."""

from __future__ import annotations

import json

from sidecar.rollout.assignment import is_v2, unit_bucket
from sidecar.tools import route_vectors


def test_committed_vectors_are_current() -> None:
    assert route_vectors.PATH.read_text(encoding="utf-8") == route_vectors.render(), (
        "clients/testdata/route_vectors.json is stale: run python -m sidecar.tools.route_vectors"
    )


def test_every_vector_matches_the_assignment() -> None:
    rows = json.loads(route_vectors.PATH.read_text(encoding="utf-8"))["vectors"]
    assert len(rows) > 400
    assert {row["version"] for row in rows} == {"V1", "V2"}
    for row in rows:
        bucket = unit_bucket(row["rolloutKey"], row["stickinessValue"])
        assert bucket == row["bucket"], row
        assert ("V2" if is_v2(bucket, row["percent"]) else "V1") == row["version"], row
