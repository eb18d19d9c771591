"""How ``tapstrace analyze`` scales: seconds and peak memory at 10k, 100k and 1M tasks.

Generates synthetic traces (random layered DAGs with realistic timestamps, written in
the trace schema by tapstrace.analysis.generate), then, in a fresh process per trace:

- the analysis in steps (read, prepare, critical paths, every other metric, plot data),
  with the process's peak RSS;
- the command line end to end: ``tapstrace analyze TRACE --json``, wall time and peak
  RSS of that process (os.wait4).

    python benchmarks/analysis_scaling.py                      # 10k, 100k, 1M tasks
    python benchmarks/analysis_scaling.py --sizes 1000000 --width 100
    python benchmarks/analysis_scaling.py --deep   # adds deep graphs: 10 wide, and a chain

Goal at 1M tasks: <= 10 s and <= 2 GB on 2 cores. The critical path takes one vectorised
step per level of the graph once chains are contracted, hence the --deep cases: 100k
tasks 10 wide (10,000 levels) and a sequential chain of 1M tasks.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(path: str) -> dict[str, float]:
    """Run the analysis of one trace in steps (in this process) and time each."""
    from tapstrace.analysis import metrics
    from tapstrace.analysis.graph import task_dag
    from tapstrace.analysis.plots.data import plot_data
    from tapstrace.analysis.summary import summarize
    from tapstrace.analysis.tasks import prepare
    from tapstrace.trace import read_trace

    idle_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    marks = [time.perf_counter()]
    trace = read_trace(path)
    marks.append(time.perf_counter())
    tasks = prepare(trace)
    del trace
    marks.append(time.perf_counter())
    execution = metrics.critical_path(tasks)
    metrics.critical_path(tasks, "overheads")
    marks.append(time.perf_counter())
    summary = summarize(tasks)
    marks.append(time.perf_counter())
    plot_data(tasks)
    marks.append(time.perf_counter())
    steps = [b - a for a, b in itertools.pairwise(marks)]
    return {
        "tasks": summary["tasks"],
        "edges": task_dag(tasks).edges,
        "levels": execution.levels,
        "read_s": steps[0],
        "prepare_s": steps[1],
        "critical_s": steps[2],
        "rest_s": steps[3],
        "analyze_s": sum(steps[:4]),
        "plot_data_s": steps[4],
        "imports_mb": idle_mb,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def generate(tasks: int, width: int, path: Path) -> None:
    """Write a synthetic trace, in a process of its own.

    The benchmark's own process stays small: a child's peak RSS counts the pages it
    shares with its parent when forked, which would inflate the measured figures.
    """
    code = (
        "import sys; from tapstrace.analysis.generate import layered_trace, write_trace; "
        "write_trace(layered_trace(int(sys.argv[1]), width=int(sys.argv[2]), seed=1), sys.argv[3])"
    )
    subprocess.run([sys.executable, "-c", code, str(tasks), str(width), str(path)], check=True)


def run_measure(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def run_cli(path: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``tapstrace analyze PATH --json``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "analyze", str(path), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tapstrace analyze {path} failed: {process.stderr.read()!r}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="tasks per trace")
    parser.add_argument("--width", type=int, default=1000, help="tasks per layer")
    parser.add_argument(
        "--deep", action="store_true", help="add 100k tasks 10 per layer, and a 1M-task chain"
    )
    parser.add_argument("--measure", metavar="TRACE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    cases = [(int(n), args.width) for n in args.sizes.split(",")]
    if args.deep:
        cases += [(100_000, 10), (1_000_000, 1)]
    print(f"# {platform.node()}: {os.cpu_count()} cores, {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    header = (
        f"{'tasks':>9} {'width':>6} {'levels':>7} {'edges':>9} | {'read':>6} {'prepare':>7} "
        f"{'crit.paths':>10} {'others':>6} {'analyze':>7} {'plotdata':>8} {'peak MB':>7} | "
        f"{'CLI s':>6} {'CLI MB':>7}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as folder:
        for n, width in cases:
            path = Path(folder) / f"{n}-{width}.arrow"
            generate(n, width, path)
            m = run_measure(path)
            cli_s, cli_mb = run_cli(path)
            print(
                f"{n:>9} {width:>6} {m['levels']:>7} {m['edges']:>9} | {m['read_s']:>6.2f} "
                f"{m['prepare_s']:>7.2f} {m['critical_s']:>10.2f} {m['rest_s']:>6.2f} "
                f"{m['analyze_s']:>7.2f} {m['plot_data_s']:>8.2f} {m['peak_mb']:>7.0f} | "
                f"{cli_s:>6.2f} {cli_mb:>7.0f}",
                flush=True,
            )
            path.unlink()
    print(
        "seconds; analyze = read + prepare + critical paths (both weightings) + all other "
        "metrics;\nCLI = `tapstrace analyze TRACE --json` end to end, imports included"
    )


if __name__ == "__main__":
    main()
