"""No-op task throughput of the cluster executors, bare and through tapstrace.

For each executor (dask, ray, parsl, parsl-thread; the thread and process pools on
request, benchmarks/recording_overhead.py measures them more closely), one local cluster
is started and warmed up; then, alternating, a bag of no-op tasks runs on the framework's
own API ("bare": submit, then wait for every result) and through tapstrace's Engine with
a TraceWriter ("traced"). Prints tasks/s for both and the ratio traced / bare, side by
side, and the client process's CPU time per task, bare and traced (steadier than rates
on a shared machine). Start-up is excluded.

    python benchmarks/executor_overhead.py [--tasks 2000] [--rounds 3] [--workers 2]
        [--executors dask,ray,parsl,parsl-thread] [--sleep 0.001]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tapstrace.apps.synthetic import synthetic_task
from tapstrace.engine import Engine
from tapstrace.engine.executor import Executor
from tapstrace.plugins import registry
from tapstrace.trace import TraceWriter, read_trace

#: The task's arguments: the synthetic app's task with no duration and no output, so
#: only overheads are measured (``--sleep`` sets a duration). The task is importable on
#: every worker, so no framework pickles it by value.
NOOP: tuple[float, str, int] = (0.0, "sleep", 0)


def bare_runner(name: str, executor: Any) -> Callable[[int], None]:
    """Run ``n`` no-op tasks on the framework's own API and wait for their results."""
    if name == "dask":
        client = executor.client

        def run(n: int) -> None:
            client.gather([client.submit(synthetic_task, *NOOP, pure=False) for _ in range(n)])

    elif name == "ray":
        import ray

        remote = ray.remote(synthetic_task)

        def run(n: int) -> None:
            ray.get([remote.remote(*NOOP) for _ in range(n)])

    elif name.startswith("parsl"):
        from parsl.app.python import PythonApp

        from tapstrace.engine.worker import run_call

        # Parsl reserves the parameter name ``inputs`` (synthetic_task's ``*inputs``):
        # call it through a function of other parameters, as the parsl executor does.
        app = PythonApp(run_call, data_flow_kernel=executor.dfk)

        def run(n: int) -> None:
            _wait([app(synthetic_task, *NOOP) for _ in range(n)])

    else:  # thread and process pools
        pool = executor.pool

        def run(n: int) -> None:
            _wait([pool.submit(synthetic_task, *NOOP) for _ in range(n)])

    return run


def _wait(futures: list[Any]) -> None:
    concurrent.futures.wait(futures)
    for future in futures:
        future.result()  # raise if a task failed


def bare(run: Callable[[int], None], n: int) -> tuple[float, float]:
    """Tasks/s and client-process CPU µs per task of ``n`` bare tasks."""
    start, cpu = time.perf_counter(), time.process_time()
    run(n)
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1e6


def traced(
    executor: Executor,
    n: int,
    path: Path,
    metadata: dict[bytes, bytes] | None = None,
    run_id: str | None = None,
) -> tuple[float, float]:
    """Run ``n`` no-op tasks through the Engine, recorded into a trace at ``path``:
    tasks/s and client-process CPU µs per task."""
    writer = TraceWriter(path, metadata, overwrite=True)
    engine = Engine(executor, recorder=writer, run_id=run_id)  # not shut down: reused
    start, cpu = time.perf_counter(), time.process_time()
    _wait([engine.submit(synthetic_task, *NOOP) for _ in range(n)])
    rate, cpu = n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1e6
    writer.close()
    assert read_trace(path).tasks.height == n  # every task recorded
    return rate, cpu


#: Each executor's parameter for its number of workers.
WORKER_PARAMETER: dict[str, str] = {
    "dask": "workers",
    "ray": "num_cpus",
    "parsl": "workers",
    "parsl-thread": "max_threads",
    "thread": "max_threads",
    "process": "max_processes",
}


def executor_config(name: str, workers: int) -> Any:
    """The registered config of executor ``name`` with ``workers`` workers."""
    return registry.get("executor", name)(**{WORKER_PARAMETER[name]: workers})


def build(name: str, workers: int, run_dir: Path) -> Executor:
    return executor_config(name, workers).build(run_dir)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument(
        "--executors", default="dask,ray,parsl,parsl-thread", help="comma-separated names"
    )
    parser.add_argument("--sleep", type=float, default=0.0, help="task duration in seconds")
    args = parser.parse_args()
    global NOOP
    NOOP = (args.sleep, "sleep", 0)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().handlers[0].setLevel(logging.CRITICAL)  # closing clusters is chatty
    machine = platform.processor() or platform.machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.tasks} tasks of {args.sleep * 1000:g} ms, {args.rounds} rounds (median), "
          f"{args.workers} workers; load {load}")  # fmt: skip
    print(f"{'executor':<14}{'bare tasks/s':>14}{'traced tasks/s':>16}{'traced/bare':>13}"
          f"{'client CPU us/task':>24}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.executors.split(","):
            run_dir = Path(tmp) / name
            run_dir.mkdir()
            executor = build(name, args.workers, run_dir)
            try:
                run = bare_runner(name, executor)
                run(min(500, args.tasks))  # start and warm the workers
                traced(executor, min(500, args.tasks), run_dir / "warm.arrow")
                b, t = [], []
                for _ in range(args.rounds):
                    b.append(bare(run, args.tasks))
                    t.append(traced(executor, args.tasks, run_dir / "traced.arrow"))
                mb, cb = (statistics.median(x) for x in zip(*b, strict=True))
                mt, ct = (statistics.median(x) for x in zip(*t, strict=True))
                cpu = f"{cb:.0f} -> {ct:.0f} (+{ct - cb:.0f})"
                print(f"{name:<14}{mb:>14,.0f}{mt:>16,.0f}{mt / mb:>13.3f}{cpu:>24}", flush=True)
            finally:
                executor.shutdown()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load at the end: {load}")


if __name__ == "__main__":
    main()
