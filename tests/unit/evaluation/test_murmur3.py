"""MurmurHash3 x86_32 against published vectors, so every client buckets a unit alike."""

from __future__ import annotations

import pytest

from sidecar.evaluation.murmur3 import bucket, murmur3_32

# Reference vectors of the canonical C++ implementation (smhasher's MurmurHash3_x86_32), as widely
# republished (e.g. the "MurmurHash3 test vectors" answer on Stack Overflow, and the Python mmh3 docs).
VECTORS = [
    ("empty-seed-0", b"", 0, 0),
    ("empty-seed-1", b"", 1, 0x514E28B7),
    ("empty-seed-max", b"", 0xFFFFFFFF, 0x81F16F39),
    ("four-zero-bytes", b"\x00\x00\x00\x00", 0, 0x2362F9DE),
    ("one-byte-tail", b"a", 0x9747B28C, 0x7FA09EA6),
    ("two-byte-tail", b"ab", 0x9747B28C, 0x74875592),
    ("three-byte-tail", b"abc", 0x9747B28C, 0xC84A62DD),
    ("one-block", b"abcd", 0x9747B28C, 0xF0478627),
    ("aaaa", b"aaaa", 0x9747B28C, 0x5A97808A),
    ("hello-world", b"Hello, world!", 0x9747B28C, 0x24884CBA),
    ("fox-seeded", b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
    ("fox-seed-0", b"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723),
    ("hello-seed-0", b"hello", 0, 0x248BFA47),
]


@pytest.mark.parametrize(("data", "seed", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_murmur3_matches_reference_vectors(data: bytes, seed: int, expected: int) -> None:
    assert murmur3_32(data, seed) == expected


@pytest.mark.parametrize("total", [1, 7, 100, 2**31 - 1])
def test_bucket_stays_below_total_weight(total: int) -> None:
    for unit in (b"", b"a", b"user-1", b"\xff" * 37):
        assert 0 <= bucket(unit, total) < total
