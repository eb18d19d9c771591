"""Hypothesis strategies that damage valid trace files the way real files get damaged, or
hostile ones are made: values of the wrong type or out of range, missing and extra keys,
deep nesting, numbers too big for a float, truncation, flipped and inserted bytes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: JSON leaves that break assumptions: wrong types, edges of ranges, odd text.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**400 // 10**380]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, 1.5, 1.7e9, 2.6e11]),
    st.text(max_size=20),
    st.sampled_from(["", "9999-12-31T23:59:59-05:00", "\u0000", "é🙂", "1e400"]),
    st.integers(100, 5000).map(lambda n: "x" * n),
)

#: JSON values: leaves, and small lists and objects of them.
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)

#: Text tokens spliced into a serialised document.
TOKENS = st.sampled_from(
    [
        b"1e400",
        b"-1e400",
        b"NaN",
        b"Infinity",
        b"[" * 3000,
        b"{",
        b"}",
        b",",
        b'"',
        b"\\u",
        b"\xff\xfe",
        b"\x00",
        b"null",
        b"true",
        b"[]",
        b"{}",
        b"-",
        b"0" * 400,
    ]
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON tree (keys and indexes), the root's included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_document(draw: st.DrawFn, document: Any) -> Any:
    """A copy of a JSON document with one to three structural changes."""
    doc = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths[1:] if len(paths) > 1 else paths))
        if not path:
            return draw(VALUES)
        parent, key = _get(doc, path[:-1]), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "add", "nest", "duplicate"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(VALUES)
        elif action == "nest":
            depth = draw(st.sampled_from([2, 50, 199, 250]))
            value: Any = parent[key]
            for _ in range(depth):
                value = [value]
            parent[key] = value
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(key, json.loads(json.dumps(parent[key])))
    return doc


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one to four byte-level changes: overwrite, insert, delete, truncate."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "token"]))
        if action == "flip":
            out[at] = draw(st.integers(0, 255))
        elif action == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del out[at : at + draw(st.integers(1, 64))]
        elif action == "truncate":
            del out[at:]
        else:
            out[at:at] = draw(TOKENS)
    return bytes(out)
