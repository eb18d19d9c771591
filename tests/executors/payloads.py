"""Task functions moving 1 MB payloads, importable by every cluster's workers."""

from __future__ import annotations

import zlib
from typing import Any


def make_payload(size: int, seed: int) -> bytes:
    """``size`` deterministic bytes that differ with ``seed``."""
    block = bytes((seed + i) % 256 for i in range(256))
    return (block * (size // 256 + 1))[:size]


def digest(value: Any) -> tuple[str, int, int]:
    """How the task received ``value``: its type name, length and CRC32 (a proxy resolves)."""
    kind = type(value).__name__
    data = bytes(value)
    return kind, len(data), zlib.crc32(data)


def mix(value: Any, other: Any) -> bytes:
    """A new payload as long as ``value``: reversed, or with ``other``'s first half."""
    data = bytes(value)[::-1]
    return data if other is None else bytes(other)[: len(data) // 2] + data[len(data) // 2 :]


def summary(*parts: Any) -> list[tuple[str, int, int]]:
    """The digests of every part: a small result from large inputs."""
    return [digest(p) for p in parts]
