"""How well the recorded GIL share lets a replay on a thread pool reproduce a live run.

For task kinds whose code holds and releases the GIL differently (a Python loop, hashing,
word counting line by line, small and large numpy calls, SGD steps on a small network, a
half-and-half mix), each task is first recorded on a 1-process pool (as a source trace
is): its CPU time and GIL time (tapstrace.engine.worker's probe). Then, on a 2-thread
pool, a batch of the real tasks and a batch of their replays (``burn``: the recorded CPU
time, the GIL share of it in a Python loop, the rest hashing; as ``tapstrace replay
--contention rebuild`` does) run alternately, and the makespans are compared. "serial"
is how far two real tasks in two threads are from running in parallel (0) or one after
the other (1, more when handing the GIL back and forth costs CPU of its own). "cpu x" is
the live tasks' median thread CPU time on the 2-thread pool over the recorded one, and
"waits/ms" the process's voluntary context switches (a thread going to sleep: here, on
the GIL) per millisecond of makespan, live and replayed: code that lets the GIL go every
few microseconds makes two threads hand it over thousands of times per second, and each
hand-off costs both CPU and time that the task's own recorded CPU does not show.

    .venv/bin/python benchmarks/gil_share.py [--tasks 16] [--rounds 3] [--kinds loop,words]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import platform
import re
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tapstrace.apps.threads import limit_threads
from tapstrace.engine import Engine, MemoryRecorder, PoolExecutor
from tapstrace.replay.task import burn

_WORD = re.compile(r"[a-z]+")
_BLOCK = bytes(16 * 1024)
#: The word-count task's input, written once per run (set by main, read by the workers).
TEXT_ENV = "TAPSTRACE_GIL_SHARE_TEXT"


def python_loop() -> int:
    """Pure Python: holds the GIL throughout."""
    total = 0
    for i in range(2_000_000):
        total += i
    return total


def hashing() -> None:
    """hashlib on 16 KiB blocks: releases the GIL for each block."""
    for _ in range(2000):
        hashlib.sha256(_BLOCK)


def word_count() -> int:
    """mapreduce's map: regular expressions over a text read line by line (holds the GIL,
    lets it go at every buffer refill)."""
    counts: Counter[str] = Counter()
    with open(os.environ[TEXT_ENV], encoding="utf-8") as f:
        for line in f:
            counts.update(_WORD.findall(line))
    return len(counts)


def small_numpy() -> None:
    """Many numpy calls on 50-element arrays (too small for numpy to let the GIL go)."""
    a = np.ones(50)
    for _ in range(40_000):
        a = (a * 1.0001 + 0.1).clip(0, 10)


def sgd_steps() -> None:
    """fedlearn's local training: mini-batch steps of a small network (BLAS calls that
    let the GIL go for microseconds, Python in between)."""
    rng = np.random.default_rng(0)
    x, w1, w2 = rng.random((16, 64)), rng.random((64, 32)), rng.random((32, 10))
    for _ in range(1500):  # the same step's products each time: no update to diverge
        h = np.maximum(x @ w1, 0)
        g = h @ w2
        h.T @ g
        x.T @ ((g @ w2.T) * (h > 0))


def big_matmul() -> None:
    """600 x 600 matrix products: numpy's BLAS runs without the GIL (on one thread, as
    the apps run it: BLAS's own threads' CPU time is not the task thread's)."""
    limit_threads(1, "numpy")
    a = np.random.default_rng(0).random((600, 600))
    for _ in range(6):
        a @ a


def mixed() -> None:
    """Half a Python loop, half hashing."""
    total = 0
    for i in range(1_000_000):
        total += i
    for _ in range(1000):
        hashlib.sha256(_BLOCK)


_CALL = bytes(256 * 1024)


def interleaved() -> None:
    """Python lines (0.1 ms) between library calls that let the GIL go (0.15 ms), as
    moldesign's structure relaxation does between its quantum-chemistry calls."""
    for _ in range(400):
        total = 0
        for i in range(3000):
            total += i
        hashlib.sha256(_CALL)


KINDS: dict[str, Callable[[], object]] = {
    "loop": python_loop,
    "hashing": hashing,
    "words": word_count,
    "small-numpy": small_numpy,
    "sgd": sgd_steps,
    "matmul": big_matmul,
    "mixed": mixed,
    "interleaved": interleaved,
}


def _write_text(path: Path) -> None:
    rng = np.random.default_rng(0)
    vocabulary = np.array(["".join(rng.choice(list("abcdefghij"), 7)) for _ in range(5000)])
    words = vocabulary[rng.integers(0, len(vocabulary), 150_000)]
    path.write_text("\n".join(" ".join(words[i : i + 12]) for i in range(0, len(words), 12)))


def record(fn: Callable[[], object], tasks: int) -> tuple[float, float]:
    """Median CPU and GIL time per task, recorded on a 1-process pool."""
    recorder = MemoryRecorder()
    with Engine(PoolExecutor(concurrent.futures.ProcessPoolExecutor(1)), recorder=recorder) as e:
        e.wait([e.submit(fn) for _ in range(tasks)])
    later = recorder.records[1:]  # the first pays the worker's imports
    cpu = statistics.median(r.cpu_seconds or 0.0 for r in later)
    gil = statistics.median(r.gil_seconds or 0.0 for r in later)
    return cpu, gil


def makespan(engine: Engine, fn: Callable[..., object], tasks: int, *args: float) -> float:
    start = time.perf_counter()
    engine.wait([engine.submit(fn, *args) for _ in range(tasks)])
    return time.perf_counter() - start


def waits() -> int:
    """Voluntary context switches of this process so far (all its threads)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw


def timed(
    engine: Engine, fn: Callable[..., object], tasks: int, *args: float
) -> tuple[float, float]:
    """Makespan of a batch and its voluntary context switches per millisecond."""
    before = waits()
    span = makespan(engine, fn, tasks, *args)
    return span, (waits() - before) / (span * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16, help="tasks per batch")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated")
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")
    print(f"GIL share and thread-pool replays ({platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'kind':<12} {'cpu ms':>7} {'gil/cpu':>8} {'alone ms':>9} {'serial':>7} "
          f"{'cpu x':>6} {'waits/ms live':>13} {'replay':>6} {'live s':>7} {'replay s':>9} "
          f"{'error':>7}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tapstrace-gil-") as tmp:
        text = Path(tmp) / "text.txt"
        _write_text(text)
        os.environ[TEXT_ENV] = str(text)
        recorder = MemoryRecorder()
        threads = Engine(PoolExecutor(concurrent.futures.ThreadPoolExecutor(2)), recorder=recorder)
        try:
            for name in kinds:
                fn = KINDS[name]
                cpu, gil = record(fn, max(4, args.tasks // 2))
                fn()  # this process's first call pays its first-use costs
                alone = min(makespan(threads, fn, 1) for _ in range(3))
                live, replay, live_waits, replay_waits, live_cpu = [], [], [], [], []
                for _ in range(args.rounds):
                    first = len(recorder.records)
                    span, rate = timed(threads, fn, args.tasks)
                    live.append(span)
                    live_waits.append(rate)
                    live_cpu += [r.cpu_seconds or 0.0 for r in recorder.records[first:]]
                    span, rate = timed(threads, burn, args.tasks, cpu, min(gil, cpu))
                    replay.append(span)
                    replay_waits.append(rate)
                real, rep = statistics.median(live), statistics.median(replay)
                parallel = alone * args.tasks / 2
                serial = (real - parallel) / parallel
                print(f"{name:<12} {cpu * 1e3:>7.1f} {gil / cpu:>8.2f} {alone * 1e3:>9.1f} "
                      f"{serial:>7.2f} {statistics.median(live_cpu) / cpu:>6.2f} "
                      f"{statistics.median(live_waits):>13.1f} "
                      f"{statistics.median(replay_waits):>6.1f} {real:>7.3f} {rep:>9.3f} "
                      f"{(rep - real) / real:>+7.1%}", flush=True)  # fmt: skip
        finally:
            threads.shutdown()


if __name__ == "__main__":
    main()
