"""How fast ``tapstrace predict`` simulates: one simulation of a large layered DAG.

Builds a random layered DAG (``analysis.generate.layered_trace``: 1,000 tasks per layer,
1-4 parents each) and times one simulation of it on 64 modelled workers with two models
of constant latencies that differ only in placement: FIFO list scheduling (thread,
process, Ray, Parsl) and Dask's placement by locality (docs/predict.md, rule 4), side by
side in one process. Building the workload from the trace is timed apart.

    python benchmarks/predict_speed.py                 # 1M tasks
    python benchmarks/predict_speed.py --tasks 100000 --workers 16

Goal (issue 14): 1M tasks in <= 10 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.generate import layered_trace
from tapstrace.predict.model import Distribution, ExecutorModel, WorkerFit
from tapstrace.predict.simulate import Parameters, simulate
from tapstrace.predict.workload import from_trace
from tapstrace.trace.reader import Trace


def model(workers: int, placement: str) -> ExecutorModel:
    """A native-dependency model with millisecond latencies at ``workers`` slots."""
    ms = Distribution.fixed(0.001)
    fit = WorkerFit(
        workers=workers, submit=Distribution.fixed(1e-4), service=1e-4, launch=ms, handoff=ms,
        engine=ms, gap=ms, noop_gap=ms, result=ms, execution=Distribution.fixed(0.0),
        input_per_byte=1e-9,
    )  # fmt: skip
    return ExecutorModel(
        executor="synthetic", native_dependencies=True, placement=placement, fits=[fit]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=64)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.2f}"
    )
    t = time.perf_counter()
    frame = pl.from_arrow(layered_trace(args.tasks))
    assert isinstance(frame, pl.DataFrame)
    trace = Trace(
        tasks=frame,
        metadata={"run_id": "speed", "workers": 1, "executor": {"name": "synthetic"}},
    )
    work = from_trace(trace)
    print(f"{args.tasks:,} tasks: trace and workload built in {time.perf_counter() - t:.1f} s")
    times = {}
    for placement in ("fifo", "locality"):
        params = Parameters.of(model(args.workers, placement), args.workers, warm=True)
        t = time.perf_counter()
        schedule = simulate(work, params, np.random.default_rng(0))
        times[placement] = time.perf_counter() - t
        print(
            f"{placement:>9}: one simulation on {args.workers} workers "
            f"{times[placement]:.2f} s (makespan {schedule.makespan:,.0f} s)"
        )
    print(f"locality / fifo: {times['locality'] / times['fifo']:.2f}")


if __name__ == "__main__":
    main()
