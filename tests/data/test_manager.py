"""The DataManager's decisions: what moves, what stays, what comes back."""

from __future__ import annotations

import os
import pickle
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from tapstrace.data.files import FileRef, FileTransformer
from tapstrace.data.filters import AllFilter, SizeFilter, TypeFilter
from tapstrace.data.manager import DataManager

Pair = namedtuple("Pair", "left right")


class Marker:
    """Stands for a TaskFuture: must stay in place."""


@pytest.fixture
def files(tmp_path: Path) -> FileTransformer:
    return FileTransformer(tmp_path)


def stored(directory: Path) -> int:
    return len(os.listdir(directory))


def test_top_level_arguments_move_by_size(files: FileTransformer, tmp_path: Path) -> None:
    dm = DataManager(SizeFilter(1000), files)
    big, small = np.ones(1000), np.ones(10)
    args, kwargs, moved = dm.transform_call((big, small, 3), {"k": big, "s": "text"})
    assert isinstance(args[0], FileRef) and isinstance(kwargs["k"], FileRef)
    assert args[1] is small and args[2] == 3 and kwargs["s"] == "text"
    assert moved == args[0].stored_bytes + kwargs["k"].stored_bytes
    assert moved > 2 * 8000 and stored(tmp_path) == 2
    back, back_kwargs, oob = dm.resolve_call(args, kwargs)
    assert np.array_equal(back[0], big) and np.array_equal(back_kwargs["k"], big)
    assert back[1] is small and oob == moved


def test_nothing_to_move_returns_the_same_objects(files: FileTransformer) -> None:
    dm = DataManager(SizeFilter(10**6), files)
    args, kwargs = (np.ones(10), [1, 2]), {"a": 1}
    assert dm.transform_call(args, kwargs) == (args, kwargs, 0)
    out_args, out_kwargs, oob = dm.resolve_call(args, kwargs)
    assert out_args is args and out_kwargs is kwargs and oob == 0


def test_containers_move_whole_when_they_pass(files: FileTransformer) -> None:
    dm = DataManager(SizeFilter(1000), files)
    (moved_list,), _, _ = dm.transform_call(([np.ones(100), np.ones(100)],), {})
    assert isinstance(moved_list, FileRef)  # 1600 bytes together: one file


def test_walk_goes_into_containers_for_matching_items(files: FileTransformer) -> None:
    dm = DataManager(TypeFilter(["numpy.ndarray"]), files)
    a, b = np.ones(5), np.zeros(5)
    value = ([a, 1], {"x": b, "y": "keep"}, Pair(a, "r"), (1, 2))
    (out,), _, moved = dm.transform_call((value,), {})
    assert isinstance(out[0][0], FileRef) and out[0][1] == 1
    assert isinstance(out[1]["x"], FileRef) and out[1]["y"] == "keep"
    assert type(out[2]) is Pair and isinstance(out[2].left, FileRef)
    assert out[3] is value[3]  # nothing inside moved: the very same object
    assert moved > 0
    (back,), _, oob = dm.resolve_call((out,), {})
    assert np.array_equal(back[0][0], a) and np.array_equal(back[1]["x"], b)
    assert type(back[2]) is Pair and oob == moved


def test_containers_holding_kept_objects_stay_but_their_items_move(
    files: FileTransformer,
) -> None:
    dm = DataManager(SizeFilter(1000), files)
    marker, big = Marker(), np.ones(1000)
    (out, alone), _, _ = dm.transform_call(([marker, big], marker), {}, keep=Marker)
    assert type(out) is list and out[0] is marker and isinstance(out[1], FileRef)
    assert alone is marker
    # a set with a kept object is rebuilt around it: its other items may move
    frozen = frozenset({marker, b"x" * 2000})
    (rebuilt,), _, moved = dm.transform_call((frozen,), {}, keep=Marker)
    assert type(rebuilt) is frozenset and marker in rebuilt and moved > 0
    assert {type(item) for item in rebuilt} == {Marker, FileRef}


def test_none_and_booleans_never_move(files: FileTransformer, tmp_path: Path) -> None:
    dm = DataManager(AllFilter(), files)
    args, _, _ = dm.transform_call((None, True, 5), {})
    assert args[0] is None and args[1] is True and isinstance(args[2], FileRef)
    assert stored(tmp_path) == 1
    assert dm.transform_result(None) == (None, 0)


def test_no_filter_means_everything(files: FileTransformer) -> None:
    dm = DataManager(None, files)
    value, moved = dm.transform_result("tiny")
    assert isinstance(value, FileRef) and moved == value.stored_bytes
    assert dm.resolve_value(value) == "tiny"


def test_a_reference_used_twice_is_fetched_and_counted_once(files: FileTransformer) -> None:
    dm = DataManager(SizeFilter(1000), files)
    ref = files.transform(np.ones(1000))
    args, _, oob = dm.resolve_call((ref, [ref]), {})
    assert args[0] is args[1][0] and oob == ref.stored_bytes


def test_results_round_trip(files: FileTransformer) -> None:
    dm = DataManager(SizeFilter(1000), files)
    result = (np.arange(1000), "meta")
    carried, moved = dm.transform_result(result)
    assert isinstance(carried, FileRef) and moved == carried.stored_bytes
    back = dm.resolve_value(carried)
    assert np.array_equal(back[0], result[0]) and back[1] == "meta"
    plain = {"a": 1}
    assert dm.resolve_value(plain) is plain


def test_manager_pickles_and_close_removes_the_directory(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    dm = DataManager(SizeFilter(10), FileTransformer(directory))
    copy = pickle.loads(pickle.dumps(dm))
    ref, _ = copy.transform_result(b"x" * 100)  # as a worker would
    assert dm.resolve_value(ref) == b"x" * 100
    assert len(pickle.dumps(ref)) < 200  # what crosses the executor is small
    dm.close()
    assert not directory.exists()
