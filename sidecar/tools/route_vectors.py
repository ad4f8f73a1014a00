"""Write ``clients/testdata/route_vectors.json``: V1/V2 assignments every client must reproduce bit for bit.

Each vector names a rollout key, a stickiness value, a V2 share in percent, the unit's bucket and the
version it lands on. The daemon's own tests read the file back (``tests/unit/rollout/test_route_vectors.py``)
so the file can never drift from :mod:`sidecar.rollout.assignment`; the Go, Java and TypeScript clients'
tests read the same file. Regenerate with ``python -m sidecar.tools.route_vectors``.
"""

from __future__ import annotations

import json
from pathlib import Path

from sidecar.rollout.assignment import is_v2, unit_bucket

PATH = Path(__file__).resolve().parents[2] / "clients" / "testdata" / "route_vectors.json"

ROLLOUT_KEYS = ("checkout-v2", "search/ranker", "ünïcode-rollout", "a")
# Edge cases for UTF-8 and hashing: empty, multi-byte, 4-byte, long, tail lengths 1-3 of murmur3 blocks.
VALUES = (
    "",
    "u",
    "us",
    "use",
    "user",
    "user-1",
    "user-42",
    "9c7f8a0e-3b1d-4c55-9a0f-2f0b6f0e7c11",
    "jörg@example.com",
    "東京",
    "emoji-🚀",
    "x" * 257,
    "tenant:acme|user:7",
)
PERCENTS = (0.0, 0.0001, 1.0, 10.0, 33.3333, 50.0, 99.9999, 100.0)


def vectors() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for key in ROLLOUT_KEYS:
        for value in VALUES:
            bucket = unit_bucket(key, value)
            for percent in PERCENTS:
                rows.append(
                    {
                        "rolloutKey": key,
                        "stickinessValue": value,
                        "percent": percent,
                        "bucket": bucket,
                        "version": "V2" if is_v2(bucket, percent) else "V1",
                    }
                )
    return rows


def render() -> str:
    document = {
        "description": (
            "bucket = (murmur3_32(UTF-8 of rolloutKey + '/' + stickinessValue, seed 0) * 1000000) >> 32; "
            "V2 iff bucket < round(percent * 10000)"
        ),
        "vectors": vectors(),
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def main() -> None:
    PATH.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
