"""MurmurHash3 x86_32, the hash flagd's ``fractional`` uses; pinned so every client buckets a unit alike."""

from __future__ import annotations

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """Unsigned 32-bit MurmurHash3 (x86_32) of ``data``."""
    length = len(data)
    h = seed & _MASK
    block_end = length & ~3
    for i in range(0, block_end, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
        h = ((h << 13) | (h >> 19)) & _MASK
        h = (h * 5 + 0xE6546B64) & _MASK
    tail = length & 3
    if tail:
        k = 0
        if tail == 3:
            k ^= data[block_end + 2] << 16
        if tail >= 2:
            k ^= data[block_end + 1] << 8
        k ^= data[block_end]
        k = (k * _C1) & _MASK
        k = ((k << 15) | (k >> 17)) & _MASK
        k = (k * _C2) & _MASK
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def bucket(data: bytes, total_weight: int) -> int:
    """flagd's bucket: ``(hash * total_weight) >> 32``, uniform over ``[0, total_weight)``."""
    return (murmur3_32(data) * total_weight) >> 32
