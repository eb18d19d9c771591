"""Cheap estimates of how many bytes an object takes once serialised.

Exact for bytes-like objects, numpy arrays and Arrow buffers/arrays/tables (anything with
an integer ``nbytes``) and for containers of them (walked by the argument rule of
tapstrace.engine.dataflow; a dict's keys, never searched, are measured as leaves). Other
objects cost ``sys.getsizeof`` in ``fast`` mode or their pickled length in ``pickle`` mode.
Containers with more than ``SAMPLE`` items are estimated from their first ``SAMPLE`` items,
so a million-element list costs microseconds, not a full walk. A leaf of ``SHARED`` bytes
or more that a call's arguments (or a result) hold more than once counts once, as pickle
sends it once: cholesky's diagonal check passes the same row of tiles twice.
"""

from __future__ import annotations

import itertools
import pickle
import sys
from typing import Any, Literal

from tapstrace.engine.dataflow import children

SizeMode = Literal["fast", "pickle", "off"]

SAMPLE = 64
_SCALARS = (int, float, bool, complex, type(None))
#: Types measured without touching their attributes (see register_opaque).
_OPAQUE: set[type] = set()


def register_opaque(cls: type) -> None:
    """Measure objects of ``cls`` as themselves, never through their attributes.

    For lazy proxies (ProxyStore's Proxy): asking one for ``nbytes`` would fetch the
    object it stands for, so it counts as its own (small, in-band) size instead.
    """
    _OPAQUE.add(cls)


def _pickled_size(obj: Any) -> int:
    size = 0

    def count(buffer: pickle.PickleBuffer) -> bool:
        nonlocal size
        size += buffer.raw().nbytes
        return False  # keep the buffer out of band: counted, never copied

    try:
        inband = len(pickle.dumps(obj, protocol=5, buffer_callback=count))
    except Exception:
        return sys.getsizeof(obj)
    return inband + size


def sizeof(obj: Any, mode: SizeMode = "fast", seen: set[int] | None = None) -> int:
    """Serialised size of ``obj`` in bytes (estimated, see module docstring). ``seen``
    holds the ids of large leaves already counted in the same call (one is made for a
    container when not given)."""
    kind = type(obj)
    if kind is bytes or kind is bytearray or kind is str:
        return _once(obj, len(obj), seen)
    if kind in _SCALARS:
        return 8
    if kind is memoryview:
        return _once(obj, int(obj.nbytes), seen)
    if kind is dict or issubclass(kind, dict):  # Counter, OrderedDict, defaultdict too
        if seen is None:
            seen = set()
        n = len(obj)
        pairs = obj.items() if n <= SAMPLE else itertools.islice(obj.items(), SAMPLE)
        total = sum(sizeof(k, mode, seen) + sizeof(v, mode, seen) for k, v in pairs)
        return total if n <= SAMPLE else total * n // SAMPLE
    items = children(obj)
    if items is not None:
        if seen is None:
            seen = set()
        n = len(obj)
        if n <= SAMPLE:
            return sum(sizeof(item, mode, seen) for item in items)
        head = itertools.islice(items, SAMPLE)
        return sum(sizeof(item, mode, seen) for item in head) * n // SAMPLE
    if kind in _OPAQUE:
        return _pickled_size(obj) if mode == "pickle" else sys.getsizeof(obj)
    nbytes = getattr(obj, "nbytes", None)
    if isinstance(nbytes, int):
        return _once(obj, nbytes, seen)
    if mode == "pickle":
        return _pickled_size(obj)
    return sys.getsizeof(obj)


#: Leaves this large are counted once per call however often they are passed.
SHARED = 1024


def _once(obj: Any, size: int, seen: set[int] | None) -> int:
    """``size``, or 0 when ``obj`` (a large leaf) was counted already in this call."""
    if seen is None or size < SHARED:
        return size
    key = id(obj)
    if key in seen:
        return 0
    seen.add(key)
    return size


#: Coarse payload kinds (schema 1.2 ``input_kind``/``output_kind``): they (de)serialise
#: at very different costs per byte, so replay makes payloads of the recorded kind.
PayloadKind = Literal["bytes", "array", "mapping", "object", "none"]
_BYTES = (bytes, bytearray, memoryview, str)
_PEEK = 8
#: Values that make a dict a ``mapping`` payload (word counts, JSON-like records).
_SMALL_LEAVES = (*_SCALARS, str)


def kind_of(obj: Any) -> PayloadKind:
    """The coarse kind of a payload: ``bytes`` (bytes-like and text), ``array`` (anything
    with an integer ``nbytes``: numpy, Arrow), ``mapping`` (a dict, or a dict subclass
    such as Counter, of scalars and strings: many small keyed objects), ``none`` or
    ``object`` (other Python objects). A container takes the kind of its first items
    when they all share one bytes or array kind (a list of tiles is an array payload)."""
    kind = type(obj)
    if obj is None:
        return "none"
    if kind in _BYTES:
        return "bytes"
    if kind in _SCALARS:
        return "object"
    # issubclass of the real type: isinstance would ask a lazy proxy for its __class__.
    if issubclass(kind, dict) and all(
        type(value) in _SMALL_LEAVES for value in itertools.islice(obj.values(), _PEEK)
    ):
        return "mapping"
    items = children(obj)
    if items is not None:
        kinds = {kind_of(item) for item in itertools.islice(items, _PEEK)}
        if len(kinds) == 1 and (only := kinds.pop()) in ("bytes", "array"):
            return only
        return "object"
    if kind in _OPAQUE:
        return "object"
    return "array" if isinstance(getattr(obj, "nbytes", None), int) else "object"


def args_profile(
    args: tuple[Any, ...], kwargs: dict[str, Any], mode: SizeMode
) -> tuple[int | None, PayloadKind | None]:
    """Total size of a call's arguments and the kind of its largest one (sizes None
    when measurement is off; kind None without arguments)."""
    if mode == "off":
        return None, None
    total = 0
    largest = -1
    chosen: Any = None
    seen: set[int] = set()
    for value in itertools.chain(args, kwargs.values()):
        size = sizeof(value, mode, seen)
        total += size
        if size > largest:
            largest, chosen = size, value
    return total, (kind_of(chosen) if largest >= 0 else None)


def args_size(args: tuple[Any, ...], kwargs: dict[str, Any], mode: SizeMode) -> int | None:
    """Total size of a call's arguments, or None when measurement is off."""
    if mode == "off":
        return None
    total = 0
    seen: set[int] = set()
    for arg in args:
        total += sizeof(arg, mode, seen)
    for value in kwargs.values():
        total += sizeof(value, mode, seen)
    return total
