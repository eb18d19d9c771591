"""The TaPS scheduler experiment: no-op task throughput by executor and worker count.

For each executor (those named in --executors that are registered and whose library
imports) and each worker count, one fresh executor is started and warmed up; then,
alternating for --rounds rounds, a bag of no-op tasks runs on the framework's own API
("bare") and through tapstrace's Engine with a TraceWriter ("traced"), as in
benchmarks/executor_overhead.py, whose runners this script reuses. Prints tasks/s
(median of the rounds) per executor and workers, and the ratio traced / bare. Saves
every traced round as a trace and the figures as executor_scaling.csv in --out, for
``tapstrace analyze``. Start-up is excluded.

    python benchmarks/executor_scaling.py [--workers 1,2,4] [--tasks 1000] [--rounds 3]
        [--executors thread,process,dask,ray,parsl,parsl-thread] [--sleep 0]
        [--out benchmarks/results/executor_scaling]
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import logging
import os
import platform
import shutil
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark

import executor_overhead as overhead

from tapstrace.plugins import registry
from tapstrace.trace.metadata import environment, trace_metadata

#: The library each executor needs (the thread and process pools need none).
LIBRARY = {"dask": "distributed", "ray": "ray", "parsl": "parsl", "parsl-thread": "parsl"}
DEFAULT_EXECUTORS = "thread,process,dask,ray,parsl,parsl-thread"


def available(names: list[str]) -> tuple[list[str], list[str]]:
    """The executors that can run here, and why the others cannot."""
    registered = set(registry.plugins("executor"))
    ok, skipped = [], []
    for name in names:
        library = LIBRARY.get(name)
        if name not in registered:
            skipped.append(f"{name}: not a registered executor")
        elif name not in overhead.WORKER_PARAMETER:
            skipped.append(f"{name}: no local worker count to scale (needs a remote service)")
        elif library and importlib.util.find_spec(library) is None:
            skipped.append(f"{name}: {library} is not installed")
        else:
            ok.append(name)
    return ok, skipped


def metadata(name: str, config: Any, executor: Any, tasks: int, sleep: float, run_id: str) -> Any:
    """Trace metadata as the runner writes it: app, executor and workers for grouping."""
    app = {"name": "executor_scaling", "params": {"tasks": tasks, "sleep": sleep}}
    params = config.model_dump(mode="json")
    run = {
        "run_id": run_id,
        "app": app,
        "executor": {"name": name, "params": params, **executor.describe()},
        "workers": executor.workers(),
        "filter": None,
        "transformer": None,
        "benchmark": "executor_scaling",
        **environment(),
    }
    toml_params = config.model_dump(mode="json", exclude_none=True)  # TOML has no null
    config_toml = tomli_w.dumps({"app": app, "executor": {"name": name, **toml_params}})
    return trace_metadata(run, config_toml)


def measure(
    name: str, workers: int, args: argparse.Namespace, out: Path
) -> dict[str, Any]:  # fmt: skip
    """Median bare and traced tasks/s of one executor with ``workers`` workers."""
    config = overhead.executor_config(name, workers)
    run_dir = out / "scratch" / f"{name}-w{workers}"
    run_dir.mkdir(parents=True, exist_ok=True)
    executor = config.build(run_dir)
    try:
        run = overhead.bare_runner(name, executor)
        warm = min(500, args.tasks)
        run(warm)
        overhead.traced(executor, warm, run_dir / "warm.arrow")
        bare, traced, traces = [], [], []
        for i in range(args.rounds):
            bare.append(overhead.bare(run, args.tasks)[0])
            trace = out / f"executor_scaling-{name}-w{workers}-r{i}.arrow"
            run_id = uuid.uuid4().hex[:12]
            facts = metadata(name, config, executor, args.tasks, args.sleep, run_id)
            traced.append(overhead.traced(executor, args.tasks, trace, facts, run_id)[0])
            traces.append(trace.name)
    finally:
        executor.shutdown()
    b, t = statistics.median(bare), statistics.median(traced)
    return {
        "executor": name,
        "workers": workers,
        "tasks": args.tasks,
        "sleep_s": args.sleep,
        "rounds": args.rounds,
        "bare_tasks_per_s": round(b, 1),
        "traced_tasks_per_s": round(t, 1),
        "traced_over_bare": round(t / b, 4),
        "traces": " ".join(traces),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--tasks", type=int, default=1000, help="tasks per bag")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--executors", default=DEFAULT_EXECUTORS, help="comma-separated")
    parser.add_argument("--sleep", type=float, default=0.0, help="task duration in seconds")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/executor_scaling"))
    args = parser.parse_args()
    overhead.NOOP = (args.sleep, "sleep", 0)
    worker_counts = [int(w) for w in args.workers.split(",")]
    names, skipped = available(args.executors.split(","))
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().handlers[0].setLevel(logging.CRITICAL)  # closing clusters is chatty
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local Ray: no token prompt
    args.out.mkdir(parents=True, exist_ok=True)
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.tasks} tasks of {args.sleep * 1000:g} ms, {args.rounds} rounds (median); "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    for reason in skipped:
        print(f"skipped {reason}")
    print(f"{'executor':<14}{'workers':>8}{'bare tasks/s':>14}{'traced tasks/s':>16}"
          f"{'traced/bare':>13}")  # fmt: skip
    results = []
    for name in names:
        for workers in worker_counts:
            r = measure(name, workers, args, args.out)
            results.append(r)
            print(f"{name:<14}{workers:>8}{r['bare_tasks_per_s']:>14,.0f}"
                  f"{r['traced_tasks_per_s']:>16,.0f}{r['traced_over_bare']:>13.3f}",
                  flush=True)  # fmt: skip
    shutil.rmtree(args.out / "scratch", ignore_errors=True)
    if results:
        with open(args.out / "executor_scaling.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(results[0]))
            writer.writeheader()
            writer.writerows(results)
        print(f"traces and executor_scaling.csv in {args.out}")


if __name__ == "__main__":
    main()
