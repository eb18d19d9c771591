"""Size measurement: exact for buffers and containers of them, cheap for the rest."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa

from tapstrace.engine.sizes import SAMPLE, SHARED, args_profile, args_size, sizeof


def test_fast_paths_are_exact() -> None:
    assert sizeof(b"x" * 1000) == 1000
    assert sizeof(bytearray(10)) == 10
    assert sizeof(memoryview(b"abcd")) == 4
    assert sizeof(np.zeros(1000)) == 8000
    assert sizeof(pa.array(np.arange(100, dtype=np.int64))) == 800
    assert sizeof([b"ab", (b"cde", {"k": b"f"})]) == 2 + 3 + 1 + 1


def test_large_containers_are_sampled_not_walked() -> None:
    items = [b"x" * 10] * (SAMPLE * 100)
    assert sizeof(items) == 10 * SAMPLE * 100


class Box:
    def __init__(self) -> None:
        self.array = np.ones(10_000)


def test_pickle_mode_counts_buffers_without_copying() -> None:
    box = Box()
    size = sizeof(box, "pickle")
    assert 80_000 <= size <= len(pickle.dumps(box)) + 100


def test_off_mode() -> None:
    assert args_size((b"abc",), {}, "off") is None
    assert args_size((b"abc",), {"k": b"de"}, "fast") == 5


def test_an_object_passed_twice_counts_once_as_pickle_sends_it() -> None:
    # cholesky's diagonal check passes one row of tiles as both of its rows: pickle
    # sends each tile once, and a replay moving it twice ran late (docs/replay.md).
    row = [np.ones(512), np.ones(512)]
    once = sizeof(row)
    assert args_size((row, row), {}, "fast") == once == 8192
    assert args_profile((row,), {"again": row}, "fast") == (once, "array")
    assert len(pickle.dumps((row, row))) < 2 * once
    assert sizeof([row, row, {"k": row[0]}]) == once + len("k")
    # distinct objects of equal content are two payloads; small leaves are not tracked
    assert sizeof([np.ones(512), np.ones(512)]) == 8192
    small = b"x" * (SHARED - 1)
    assert sizeof([small, small]) == 2 * len(small)
