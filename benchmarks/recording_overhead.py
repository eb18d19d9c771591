"""Cost of tapstrace's engine and recording, relative to the bare executor.

The same workload runs on a bare concurrent.futures pool and through the Engine with a
TraceWriter, alternating, on one warmed-up pool per executor so that start-up is
excluded. Two workloads: no-op tasks (pure overhead, the worst case) and 1 ms sleeps (a
short but real task). Prints tasks/s for each and the ratio traced / bare (medians of
the rounds), and beside them what varies less on a shared machine: the CPU time per
task of the client thread (the submit loop and the final wait) and of the whole client
process (with a thread pool: its workers too), bare and traced.

    python benchmarks/recording_overhead.py [--tasks 20000] [--rounds 5] [--workers 2]
        [--submit]

``--submit`` adds a thread pool whose ``submit`` is overridden (it only calls the
standard one), so the engine goes through ``submit`` and a Future per task, as it did
for every thread pool before the adapter put tasks on the pool's queue itself.
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
from typing import Any, NamedTuple

from tapstrace.engine import Engine, PoolExecutor
from tapstrace.trace import TraceWriter, read_trace


def noop() -> None:
    """The task: nothing, so only overheads are measured."""


def one_ms() -> None:
    """A short real task: 1 ms of sleep."""
    time.sleep(0.001)


class Round(NamedTuple):
    """One timed run: tasks/s, and client-thread and client-process CPU µs per task."""

    rate: float
    thread_us: float
    process_us: float


def _timed(n: int, run: Callable[[], object]) -> Round:
    wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    run()
    wall, thread = time.perf_counter() - wall, time.thread_time() - thread
    process = time.process_time() - process
    return Round(n / wall, thread / n * 1e6, process / n * 1e6)


class SubmitPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool with its own ``submit``: the adapter goes through it."""

    def submit(self, fn: Callable[..., object], /, *args: object, **kwargs: object) -> Any:
        return super().submit(fn, *args, **kwargs)


def bare(pool: concurrent.futures.Executor, n: int, task: Callable[[], None] = noop) -> Round:
    return _timed(n, lambda: concurrent.futures.wait([pool.submit(task) for _ in range(n)]))


def traced(
    pool: concurrent.futures.Executor, n: int, path: Path, task: Callable[[], None] = noop
) -> Round:
    writer = TraceWriter(path, overwrite=True)
    engine = Engine(PoolExecutor(pool), recorder=writer)  # not shut down: the pool is reused
    result = _timed(n, lambda: concurrent.futures.wait([engine.submit(task) for _ in range(n)]))
    writer.close()
    assert read_trace(path).tasks.height == n  # every task recorded
    return result


def _cpu(bare_us: float, traced_us: float) -> str:
    """``bare -> traced (+added)`` CPU µs per task."""
    return f"{bare_us:.1f} -> {traced_us:.1f} ({traced_us - bare_us:+.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--submit", action="store_true", help="also a thread pool the engine feeds via submit"
    )
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.rounds} rounds (medians), {args.workers} workers; load {load}")  # fmt: skip
    print(f"{'executor':<9}{'workload':<16}{'bare/s':>9}{'traced/s':>10}{'ratio':>7}"
          f"{'client thread us/task':>24}{'client process us/task':>25}")  # fmt: skip
    workloads = [
        (f"{args.tasks} no-op", noop, args.tasks),
        (f"{args.tasks // 10} x 1 ms", one_ms, args.tasks // 10),
    ]
    pools: dict[str, Callable[[], concurrent.futures.Executor]] = {
        "thread": lambda: concurrent.futures.ThreadPoolExecutor(args.workers),
        **({"submit": lambda: SubmitPool(args.workers)} if args.submit else {}),
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
                    b: list[Round] = []
                    t: list[Round] = []
                    for _ in range(args.rounds):
                        b.append(bare(pool, n, task))
                        t.append(traced(pool, n, Path(tmp) / f"{name}.arrow", task))
                    mb, mt = (Round(*map(statistics.median, zip(*r, strict=True))) for r in (b, t))
                    print(f"{name:<9}{label:<16}{mb.rate:>9,.0f}{mt.rate:>10,.0f}"
                          f"{mt.rate / mb.rate:>7.2f}{_cpu(mb.thread_us, mt.thread_us):>24}"
                          f"{_cpu(mb.process_us, mt.process_us):>25}", flush=True)  # fmt: skip
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")


if __name__ == "__main__":
    main()
