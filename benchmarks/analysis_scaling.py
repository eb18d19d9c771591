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
    python benchmarks/analysis_scaling.py --traces 1000   # only the many-traces case

Goal at 1M tasks: <= 10 s and <= 2 GB on 2 cores. The critical path takes one vectorised
step per level of the graph once chains are contracted, hence the --deep cases: 100k
tasks 10 wide (10,000 levels) and a sequential chain of 1M tasks.

The many-traces case (``--traces N``, ``--traces-tasks M``) writes N runs of M tasks, half
as TaPS run directories (tasks.jsonl with two warm-up records, config.toml) and half as
Arrow traces, random layered DAGs 25 tasks wide, over three executors and worker counts
1/2/4/8 (in the metadata: they group the runs), then times ``tapstrace
analyze DIR --json`` and ``tapstrace analyze DIR --plot`` (HTML, PNG and SVG) on the whole
tree. Goal at 1,000 traces of 1,000 tasks: <= 30 s and <= 2 GB on 2 cores.
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
import threading
import time
from pathlib import Path
from typing import Any


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


def _tree_rss(pid: int, peak: list[float], stop: threading.Event) -> None:
    """Sample the summed RSS (MB) of a process and its descendants into ``peak[0]``."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.wait(0.05):
        total = 0
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.Error:  # it ended, or a child did while being listed
            continue
        for proc in family:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        peak[0] = max(peak[0], total / 2**20)


def run_cli(path: Path, *options: str) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and peak RSS of its process tree (MB, sampled; worker
    processes included) of ``tapstrace analyze PATH --json`` (or OPTIONS)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "tapstrace", "analyze", str(path), *(options or ("--json",))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak, stop = [0.0], threading.Event()
    sampler = threading.Thread(target=_tree_rss, args=(process.pid, peak, stop), daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tapstrace analyze {path} failed: {process.stderr.read()!r}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024, max(peak[0], usage.ru_maxrss / 1024)


#: Executors and worker counts of the many-traces campaign.
EXECUTORS = (("process-pool", "max_processes"), ("thread-pool", "max_threads"), ("dask", "workers"))
WORKERS = (1, 2, 4, 8)


def _taps_run(table: Any, run_dir: Path, executor: str, key: str, workers: int) -> None:
    """Write a trace table as a TaPS run directory (records as TaPS 0.2.1+ writes them,
    two warm-up tasks first; config.toml)."""
    run_dir.mkdir(parents=True)
    cols = {
        c: table.column(c).cast("int64").to_numpy() / 1e6
        for c in ("submitted", "started", "ended", "received")
    }
    names = table.column("name").to_pylist()
    parents = table.column("parents").to_pylist()
    hosts = table.column("worker_host").to_pylist()
    first = float(cols["submitted"][0])
    prefix = run_dir.name
    lines = [
        json.dumps({"task_id": f"{prefix}-w{i}", "name": "warmup", "parent_task_ids": [],
                    "submit_time": first - 1.0 + i * 1e-3, "received_time": first - 0.5,
                    "success": True, "exception": None, "execution": None})
        for i in range(2)
    ]  # fmt: skip
    for i, name in enumerate(names):
        s, b, e, r = (float(cols[c][i]) for c in ("submitted", "started", "ended", "received"))
        lines.append(json.dumps({
            "task_id": f"{prefix}-{i}", "name": name,
            "parent_task_ids": [f"{prefix}-{p}" for p in parents[i]],
            "submit_time": s, "received_time": r, "success": True, "exception": None,
            "execution": {"hostname": hosts[i], "execution_start_time": b - 1e-4,
                          "execution_end_time": e + 1e-4, "task_start_time": b,
                          "task_end_time": e, "input_transform_start_time": b - 1e-4,
                          "input_transform_end_time": b, "result_transform_start_time": e,
                          "result_transform_end_time": e + 1e-4},
        }))  # fmt: skip
    (run_dir / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    (run_dir / "config.toml").write_text(
        f'version = "0.2.2"\n\n[app]\nname = "synthetic"\nstructure = "random"\n'
        f'warmup_tasks = 2\n\n[engine]\ntask_record_file_name = "tasks.jsonl"\n\n'
        f'[engine.executor]\nname = "{executor}"\n{key} = {workers}\n'
    )


def campaign(count: int, tasks: int, folder: Path) -> None:
    """``count`` runs of ``tasks`` tasks under ``folder``: TaPS run directories and Arrow
    traces in turn, over every executor and worker count."""
    from tapstrace.analysis.generate import layered_trace, write_trace

    for n in range(count):
        executor, key = EXECUTORS[n % len(EXECUTORS)]
        workers = WORKERS[(n // len(EXECUTORS)) % len(WORKERS)]
        table = layered_trace(tasks, width=25, seed=n, executor=executor)
        day, hour, minute = 1 + n // 1440 % 28, n // 60 % 24, n % 60
        name = f"synthetic-{executor}-2024-10-{day:02d}-{hour:02d}-{minute:02d}-00"
        if n % 2:
            meta = json.loads(table.schema.metadata[b"tapstrace.run"])
            meta["workers"] = workers
            meta["app"]["name"] = "synthetic"
            table = table.replace_schema_metadata(
                {**table.schema.metadata, b"tapstrace.run": json.dumps(meta).encode()}
            )
            write_trace(table, folder / "arrow" / executor / f"{name}.arrow")
        else:
            _taps_run(table, folder / "taps" / "runs" / name, executor, key, workers)


def many_traces(count: int, tasks: int) -> None:
    """Print wall time and peak RSS of analysing ``count`` traces at once."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "campaign"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--write-campaign", str(root), str(count), str(tasks)],
            check=True,
        )
        made = time.perf_counter() - start
        size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 1e6
        taps, arrow = count - count // 2, count // 2
        print(f"\n# {count} traces of {tasks} tasks ({taps} TaPS run directories, {arrow} "
              f"Arrow traces; {size:.0f} MB, written in {made:.1f} s)")  # fmt: skip
        print(f"{'command':<40} {'wall s':>7} {'main MB':>8} {'all MB':>7} {'traces/s':>9}")
        report = Path(folder) / "report"
        runs = [
            ("analyze DIR --json --jobs 1", ("--json", "--jobs", "1")),
            ("analyze DIR --json", ("--json",)),
            ("analyze DIR --plot (html, png, svg)", ("--plot", "--out", str(report))),
        ]
        seconds = {}
        for title, options in runs:
            wall, main_mb, all_mb = run_cli(root, *options)
            seconds[title] = wall
            print(f"{title:<40} {wall:>7.1f} {main_mb:>8.0f} {all_mb:>7.0f} {count / wall:>9.0f}")
        json_s, plot_s = seconds["analyze DIR --json"], seconds[runs[-1][0]]
        files = sum(1 for f in report.rglob("*") if f.is_file())
        print(f"--plot / --json: {plot_s / json_s:.2f}x time; --jobs 1 / default: "
              f"{seconds[runs[0][0]] / json_s:.2f}x; {files} report files; goal <= 30 s, "
              f"<= 2 GB (load average {os.getloadavg()[0]:.1f}; main MB: the tapstrace "
              "process, all MB: with its worker processes)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="tasks per trace")
    parser.add_argument("--width", type=int, default=1000, help="tasks per layer")
    parser.add_argument(
        "--deep", action="store_true", help="add 100k tasks 10 per layer, and a 1M-task chain"
    )
    parser.add_argument(
        "--traces", type=int, default=0, help="only the many-traces case, with this many traces"
    )
    parser.add_argument("--traces-tasks", type=int, default=1000, help="tasks per trace there")
    parser.add_argument("--measure", metavar="TRACE", help=argparse.SUPPRESS)
    parser.add_argument("--write-campaign", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.write_campaign:
        folder, count, tasks = args.write_campaign
        campaign(int(count), int(tasks), Path(folder))
        return
    if args.traces:
        print(f"# {platform.node()}: {os.cpu_count()} cores, {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        many_traces(args.traces, args.traces_tasks)
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
            cli_s, cli_mb, _ = run_cli(path)
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
