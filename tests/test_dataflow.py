"""The argument walk's one rule, as dependencies, data management and sizes see it."""

from __future__ import annotations

import pickle
from collections import Counter, namedtuple
from typing import Any

from tapstrace.engine.dataflow import DESCEND, collect_call, contains, replace, rewrite
from tapstrace.engine.sizes import kind_of, sizeof
from tapstrace.replay.task import payload

Pair = namedtuple("Pair", "left right")


class Mark:
    """What a walk looks for (a future, a reference)."""


class Lazy:
    """Stands for a lazy proxy: asking for its class would fetch its target."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        raise AssertionError("the walk asked a proxy for its class")


class MyList(list[Any]):
    """A user's list subclass: a leaf."""


def test_searched_containers_and_leaves() -> None:
    m = [Mark() for _ in range(6)]
    args = ([m[0], (m[1],)], Pair(m[2], {"k": m[3]}), {m[4]}, frozenset({m[5]}))
    assert collect_call(args, {}, Mark) == m
    key = Mark()
    assert collect_call(({key: 1},), {}, Mark) == []  # dict keys are never searched
    assert collect_call((MyList([Mark()]),), {}, Mark) == []  # subclasses are leaves
    assert not contains((Lazy(), [Lazy()]), Mark)  # no isinstance on proxies


def test_replace_rebuilds_only_what_changed() -> None:
    mark = Mark()
    untouched = (1, [2, 3])
    value = [mark, Pair(mark, 2), {"a": mark, "b": untouched}, {mark}]
    new = replace(value, Mark, lambda _: "M")
    assert new == ["M", Pair("M", 2), {"a": "M", "b": untouched}, {"M"}]
    assert type(new[1]) is Pair and new[2]["b"] is untouched
    assert replace(untouched, Mark, lambda _: "M") is untouched
    assert rewrite(value, lambda node: 0 if node is value[2] else DESCEND)[2] == 0


def test_sizes_and_kinds_follow_the_rule() -> None:
    assert sizeof(Pair(b"ab", b"cde")) == 5  # a named tuple is a container
    assert sizeof({b"key": b"value"}) == 3 + 5  # keys measured, values walked
    assert kind_of(Pair(b"a", b"b")) == "bytes"
    assert kind_of({"k": b"v"}) == "bytes"
    assert kind_of(MyList([b"a"])) == "object"
    # A dict subclass is measured by its keys and values, as a dict is, not by its table.
    counts = Counter({f"word{i}": i for i in range(50)})
    assert sizeof(counts) == sizeof(dict(counts)) == sum(len(k) + 8 for k in counts)


def test_mapping_payload_is_the_recorded_size_and_kind() -> None:
    """Replay's stand-in for a word count: a dict of short strings of the recorded size,
    that pickles to about the bytes and costs about the time a real Counter does."""
    counts = Counter({f"w{i}": i for i in range(5000)})
    stand_in = payload(sizeof(counts), kind_of(counts))
    assert kind_of(stand_in) == "mapping"
    assert abs(sizeof(stand_in) - sizeof(counts)) <= 16
    real, fake = len(pickle.dumps(counts)), len(pickle.dumps(stand_in))
    assert 0.5 <= fake / real <= 2.0
