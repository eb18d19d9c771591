"""How much a payload's kind matters for what it costs to move, side by side in one run.

For payloads of the same size as the engine measures it (``tapstrace.engine.sizes``):
bytes, float64 arrays (C and Fortran order), a uint8 array (what replay sends for
``array``), a list of floats (what replay sends for ``object``), a list of small dicts,
a Counter of words (a map task's result) and a dict of strings to ints (what replay
sends for ``mapping``), prints the time to pickle and unpickle them with
multiprocessing's pickler (what the process pool uses), the pickled bytes, and the
median round trip of an identity task through a real 2-process pool, with the ratio to
bytes. Replay keeps a payload's kind because of it (docs/replay.md).

    .venv/bin/python benchmarks/payload_kinds.py
    .venv/bin/python benchmarks/payload_kinds.py --sizes 10000,1000000 --repeat 30
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pickle
import statistics
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from tapstrace.engine.sizes import kind_of, sizeof
from tapstrace.replay.task import payload


def _identity(x: Any) -> Any:
    return x


def kinds(nbytes: int) -> dict[str, Callable[[], Any]]:
    """Payload makers of about ``nbytes`` each, as the engine measures sizes."""
    floats = max(1, nbytes // 8)
    return {
        "bytes": lambda: bytes(nbytes),
        "float64 array (C)": lambda: np.random.default_rng(0).random(floats),
        "float64 array (Fortran)": lambda: np.asfortranarray(
            np.random.default_rng(0).random((max(1, floats // 64), 64))
        ),
        "ones, float64 (replay's array)": lambda: payload(nbytes, "array"),
        "list of floats (replay's object)": lambda: payload(nbytes, "object"),
        "list of small dicts": lambda: [{"a": 1.0, "b": i} for i in range(max(1, nbytes // 48))],
        "Counter of words": lambda: _word_counts(nbytes),
        "dict of str to int (replay's mapping)": lambda: payload(nbytes, "mapping"),
    }


def _word_counts(nbytes: int) -> Counter[str]:
    """A word count of about ``nbytes`` (as mapreduce's map tasks return): words of 3 to
    12 letters, as the engine measures sizes (a key's length plus 8 for its count)."""
    rng = np.random.default_rng(0)
    counts: Counter[str] = Counter()
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    size = 0
    while size < nbytes:
        word = "".join(rng.choice(letters, int(rng.integers(3, 13))))
        if word not in counts:
            size += len(word) + 8
        counts[word] += int(rng.integers(1, 100))
    return counts


def _median_ms(run: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000,10000000", help="bytes, comma-separated")
    parser.add_argument("--repeat", type=int, default=15, help="measurements per case (median)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"payload kinds: pickle / unpickle (multiprocessing's pickler) and round trip "
          f"through a 2-process pool, median of {args.repeat} ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'payload':<38} {'size':>10} {'kind':>7} {'pickled':>10} {'pickle ms':>10} "
          f"{'unpickle ms':>12} {'round trip ms':>14} {'x bytes':>8}")  # fmt: skip
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        pool.submit(_identity, 0).result()  # workers started
        for nbytes in sizes:
            base = None
            for label, make in kinds(nbytes).items():
                obj = make()
                data = ForkingPickler.dumps(obj)
                dump = _median_ms(lambda o=obj: ForkingPickler.dumps(o), args.repeat)
                load = _median_ms(lambda d=data: pickle.loads(d), args.repeat)
                trip = _median_ms(lambda o=obj: pool.submit(_identity, o).result(), args.repeat)
                base = base or trip
                print(f"{label:<38} {sizeof(obj):>10,} {kind_of(obj):>7} {len(data):>10,} "
                      f"{dump:>10.3f} {load:>12.3f} {trip:>14.3f} {trip / base:>8.2f}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
