"""Cost of tapstrace's engine and recording, relative to the bare executor.

The same workload runs on a bare concurrent.futures pool and through the Engine with a
TraceWriter, alternating, on one warmed-up pool per executor so that start-up is
excluded. Two workloads: no-op tasks (pure overhead, the worst case) and 1 ms sleeps (a
short but real task). Prints tasks/s for each and the ratio traced / bare.

    python benchmarks/recording_overhead.py [--tasks 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tapstrace.engine import Engine, PoolExecutor
from tapstrace.trace import TraceWriter, read_trace


def noop() -> None:
    """The task: nothing, so only overheads are measured."""


def one_ms() -> None:
    """A short real task: 1 ms of sleep."""
    time.sleep(0.001)


def bare(pool: concurrent.futures.Executor, n: int, task: Callable[[], None] = noop) -> float:
    start = time.perf_counter()
    futures = [pool.submit(task) for _ in range(n)]
    concurrent.futures.wait(futures)
    return n / (time.perf_counter() - start)


def traced(
    pool: concurrent.futures.Executor, n: int, path: Path, task: Callable[[], None] = noop
) -> float:
    writer = TraceWriter(path, overwrite=True)
    engine = Engine(PoolExecutor(pool), recorder=writer)  # not shut down: the pool is reused
    start = time.perf_counter()
    futures = [engine.submit(task) for _ in range(n)]
    concurrent.futures.wait(futures)
    rate = n / (time.perf_counter() - start)
    writer.close()
    assert read_trace(path).tasks.height == n  # every task recorded
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.rounds} rounds, {args.workers} workers")  # fmt: skip
    print(f"{'executor':<10}{'workload':<22}{'bare tasks/s':>14}{'traced tasks/s':>16}"
          f"{'traced/bare':>13}")  # fmt: skip
    workloads = [
        (f"{args.tasks} no-op", noop, args.tasks),
        (f"{args.tasks // 4} x 1 ms", one_ms, args.tasks // 4),
    ]
    pools = {
        "thread": lambda: concurrent.futures.ThreadPoolExecutor(args.workers),
        "process": lambda: concurrent.futures.ProcessPoolExecutor(
            args.workers, mp_context=multiprocessing.get_context("spawn")
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in pools.items():
            with make() as pool:
                bare(pool, 2_000)  # start and warm the workers
                traced(pool, 2_000, Path(tmp) / "warm.arrow")
                for label, task, n in workloads:
                    b, t = [], []
                    for _ in range(args.rounds):
                        b.append(bare(pool, n, task))
                        t.append(traced(pool, n, Path(tmp) / f"{name}.arrow", task))
                    mb, mt = statistics.median(b), statistics.median(t)
                    print(f"{name:<10}{label:<22}{mb:>14,.0f}{mt:>16,.0f}{mt / mb:>13.3f}")


if __name__ == "__main__":
    main()
