"""Replay fidelity and replay dispatch rate, measured side by side in one run.

Apps (--apps): for every reference app at a size that runs 5-60 s here, record it live on
executor A (--source, default process), replay A's trace on A (--repeats times, median,
each beside one more live run on A: the app's own run-to-run spread, and the replay's error
against the live runs' median as well as against its source), and for every other
executor B: run the app live on B and replay A's trace on B. Prints
the makespan errors (replay - live) / live and writes a CSV and every trace under
benchmarks/results/replay_fidelity/ (goals: same executor <= 5 % for every app; other
executors <= 10 % median, <= 20 % worst).

Fidelity: for every registered executor (or --executors), record the synthetic app in
several DAG shapes with tasks of 20-100 ms, replay each trace on the executor that
recorded it, and print the makespan error (replay - source) / source (goal: |error| <= 5 %).

Dispatch rate: zero-length tasks on the thread pool, best of --rounds interleaved rounds:
the replay driver alone (engine stubbed out), the concurrent.futures pool alone, a plain
Engine.submit loop, and full replays (a bag and a DAG) -- so it shows whether the replay
driver or the engine under it is the bottleneck (goal: >= 20k tasks/s).

    .venv/bin/python benchmarks/replay_fidelity.py --apps
    .venv/bin/python benchmarks/replay_fidelity.py --apps cholesky,mapreduce --executors thread,dask
    .venv/bin/python benchmarks/replay_fidelity.py
    .venv/bin/python benchmarks/replay_fidelity.py --executors thread,process --rounds 5
    .venv/bin/python benchmarks/replay_fidelity.py --skip-fidelity --profile
"""

from __future__ import annotations

import argparse
import concurrent.futures
import cProfile
import logging
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tapstrace.config.spec import EngineOptions, RunOptions, RunSpec
from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.engine.executor import PoolExecutor
from tapstrace.plugins import registry
from tapstrace.replay import replay
from tapstrace.replay.plan import Plan, synthetic_plan
from tapstrace.replay.submit import submit_plan
from tapstrace.runner.run import execute

#: Executors that need a remote service and are left out unless named in --executors.
REMOTE = {"globus", "globus-compute"}

#: DAG shapes: synthetic app parameters (tasks of about 20-100 ms: normal(55 ms, 15 ms)).
SHAPES: dict[str, dict[str, Any]] = {
    "random": {"structure": "random", "width": 10, "depth": 10, "edge_probability": 0.2},
    "diamond": {"structure": "diamond", "tasks": 80},
    "reduce": {"structure": "reduce", "tasks": 80},
    "bag": {"structure": "bag", "tasks": 100},
    "sequential": {"structure": "sequential", "tasks": 30},
}
TASKS = {"duration": "normal", "mean_seconds": 0.055, "std_seconds": 0.015,
         "output_bytes": 10_000, "warmup_tasks": 4}  # fmt: skip

#: Reference apps at sizes that run 5-60 s on 2 cores with 2 workers.
APPS: dict[str, dict[str, Any]] = {
    "cholesky": {"matrix_size": 4096, "block_size": 512},
    "mapreduce": {"files": 192, "words_per_file": 50_000},
    "fedlearn": {"clients": 16, "rounds": 20, "epochs": 40},
    "failures": {"base": "cholesky", "base_config": {"matrix_size": 4096, "block_size": 512},
                 "rate": 0.1},
    "montage": {"tiles_x": 4, "tiles_y": 4},
    "moldesign": {"search_budget": 32},
    "docking": {"library_size": 100, "num_iterations": 2, "exhaustiveness": 1},
}  # fmt: skip
#: Each executor with two workers, so live runs on different executors compare.
WORKERS: dict[str, dict[str, Any]] = {
    "thread": {"max_threads": 2},
    "process": {"max_processes": 2},
    "dask": {"workers": 2, "threads_per_worker": 1},
    "ray": {"num_cpus": 2},
    "parsl": {"workers": 2},
    "parsl-thread": {"max_threads": 2},
}
RESULTS = Path(__file__).parent / "results" / "replay_fidelity"


def _record(executor: str, shape: str, seed: int, work: Path) -> Path:
    trace = work / f"{executor}-{shape}-{seed}.arrow"
    spec = RunSpec(
        app=registry.get("app", "synthetic")(**SHAPES[shape], **TASKS, seed=seed),  # type: ignore[arg-type]
        executor=registry.get("executor", executor)(),  # type: ignore[arg-type]
        engine=EngineOptions(),
        run=RunOptions(record=True, trace=trace, runs_dir=work / "runs"),
    )
    execute(spec)
    return trace


def fidelity(executors: list[str], shapes: list[str], repeat: int) -> None:
    print(f"replay fidelity: makespan of the replay vs the recording, on the same executor "
          f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"{'executor':<10} {'shape':<11} {'tasks':>5} {'source s':>9} {'replay s':>9} "
          f"{'error':>8}")  # fmt: skip
    summary: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="tapstrace-fidelity-") as tmp:
        work = Path(tmp)
        for executor in executors:
            for shape in shapes:
                for seed in range(repeat):
                    try:
                        source = _record(executor, shape, seed, work)
                        result = replay(source, executor, runs_dir=work / "runs")
                    except Exception as exc:
                        print(f"{executor:<10} {shape:<11} skipped: {type(exc).__name__}: {exc}")
                        break
                    error = result.difference
                    if error is None:
                        print(f"{executor:<10} {shape:<11} no makespan to compare")
                        continue
                    summary.setdefault(executor, []).append(abs(error))
                    print(f"{executor:<10} {shape:<11} {result.report['tasks']:>5} "
                          f"{result.source_makespan_s:>9.3f} {result.makespan_s:>9.3f} "
                          f"{error * 100:>+7.1f}%", flush=True)  # fmt: skip
    for executor, errors in summary.items():
        print(f"{executor}: mean |error| {statistics.mean(errors) * 100:.1f} %, "
              f"max {max(errors) * 100:.1f} % over {len(errors)} replays")  # fmt: skip


# -- apps: replay against live runs --------------------------------------------------


def _live(app: str, executor: str, trace: Path, work: Path) -> float | None:
    """Run ``app`` live on ``executor``, recording ``trace``; its makespan."""
    spec = RunSpec(
        app=registry.get("app", app)(**APPS[app]),  # type: ignore[arg-type]
        executor=registry.get("executor", executor)(**WORKERS.get(executor, {})),  # type: ignore[arg-type]
        engine=EngineOptions(retries=1 if app == "failures" else 0),
        run=RunOptions(record=True, trace=trace, runs_dir=work / "runs"),
    )
    execute(spec)
    return _makespan(trace)


def _makespan(trace: Path) -> float | None:
    """First submission to last result over the non-warm-up tasks (as replay reports)."""
    from tapstrace.replay.plan import build_plan
    from tapstrace.trace.reader import read_trace

    return build_plan(read_trace(trace, warn=False)).source_makespan


def _work(trace: Path) -> tuple[float, float]:
    """Task execution time and task CPU time summed over a trace's non-warm-up tasks: the
    same tasks take the same CPU everywhere, so work/CPU shows how much a run's tasks were
    slowed by contention (or waited on I/O) at the time."""
    import polars as pl

    from tapstrace.trace.reader import read_trace

    tasks = read_trace(trace, warn=False).tasks.filter(~pl.col("warmup"))
    wall = (tasks["ended"] - tasks["started"]).dt.total_microseconds().sum() / 1e6
    return float(wall), float(tasks["cpu_seconds"].sum() or 0.0)


def _replayed(
    source: Path, executor: str, trace: Path, work: Path, mode: str, contention: str
) -> float | None:
    result = replay(source, executor, WORKERS.get(executor, {}), trace_path=trace,
                    runs_dir=work / "runs", mode=mode, contention=contention)  # fmt: skip
    return result.makespan_s


def _error(replayed: float | None, live: float | None) -> float | None:
    return None if replayed is None or not live else (replayed - live) / live


def _ratio(work: float, cpu: float) -> str:
    return f"{work / cpu:.2f}" if cpu else "-"


def _pct(value: float | None) -> str:
    return "      -" if value is None else f"{value * 100:+6.1f}%"


def apps_fidelity(
    apps: list[str],
    source: str,
    executors: list[str],
    repeats: int,
    mode: str,
    out: Path,
    warm: bool = False,
) -> None:
    """Record each app on ``source``; replay on it and on every other executor beside a
    live run there, each replay twice (tasks' wall time copied from the source, and
    rebuilt from CPU and off-CPU time: --contention), alternating; print and save the
    errors. With ``warm``, each live run follows an unrecorded run of the app on the same
    executor in this process (the first run in a process is the slowest)."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows: list[dict[str, Any]] = []
    print(f"replay fidelity of the apps: recorded on {source}, replayed with --mode {mode} "
          f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}); error = (replay - live) "
          f"/ live, with each task's wall time copied from the source and rebuilt")  # fmt: skip
    print(f"{'app':<10} {'executor':<13} {'live s':>7} {'copy s':>7} {'error':>7} "
          f"{'rebuild s':>9} {'error':>7} {'work/CPU live':>13} {'source':>7}")  # fmt: skip
    for app in apps:
        work = out / f"{stamp}-{app}"
        try:
            if warm:  # the first run of an app in a process is its slowest: not the source
                _live(app, source, work / f"{app}-{source}-warm-up.arrow", work)
            recorded = work / f"{app}-{source}-live.arrow"
            live = _live(app, source, recorded, work)
        except Exception as exc:
            print(f"{app:<10} {source:<13} live run failed: {type(exc).__name__}: {exc}")
            continue
        for executor in [source, *[e for e in executors if e != source]]:
            times: dict[str, list[float]] = {"copy": [], "rebuild": []}
            lives = [live] if live is not None else []
            try:
                reference = live
                if executor != source:
                    if warm:
                        _live(app, executor, work / f"{app}-{executor}-warm-up.arrow", work)
                    reference = _live(app, executor, work / f"{app}-{executor}-live.arrow", work)
                for k in range(repeats if executor == source else 1):
                    if k:  # more live runs on the source executor: how much the app itself varies
                        again = _live(app, source, work / f"{app}-{source}-live-{k}.arrow", work)
                        lives += [again] if again is not None else []
                    for contention in times:
                        name = f"{app}-{source}-on-{executor}-{contention}-{k}.arrow"
                        t = _replayed(recorded, executor, work / name, work, mode, contention)
                        if t is not None:
                            times[contention].append(t)
            except Exception as exc:
                print(f"{app:<10} {executor:<13} failed: {type(exc).__name__}: {exc}", flush=True)
                continue
            live_trace = recorded if executor == source else work / f"{app}-{executor}-live.arrow"
            (live_work, live_cpu), (source_work, source_cpu) = _work(live_trace), _work(recorded)
            copied = statistics.median(times["copy"]) if times["copy"] else None
            rebuilt = statistics.median(times["rebuild"]) if times["rebuild"] else None
            typical = statistics.median(lives) if executor == source and lives else None
            rows.append({"app": app, "source": source, "executor": executor,
                         "live_s": reference, "live_median_s": typical,
                         "live_runs": len(lives) if executor == source else 1,
                         "live_spread": (max(lives) - min(lives)) / typical if typical else None,
                         "rebuild_error_vs_median": _error(rebuilt, typical), "copy_s": copied,
                         "copy_error": _error(copied, reference), "rebuild_s": rebuilt,
                         "rebuild_error": _error(rebuilt, reference),
                         "replays": len(times["copy"]), "mode": mode,
                         "live_work_s": live_work, "live_cpu_s": live_cpu,
                         "source_work_s": source_work, "source_cpu_s": source_cpu,
                         "load": round(os.getloadavg()[0], 2)})  # fmt: skip
            label = executor + (" (same)" if executor == source else "")
            print(f"{app:<10} {label:<13} {reference or 0:>7.2f} {copied or 0:>7.2f} "
                  f"{_pct(_error(copied, reference))} {rebuilt or 0:>9.2f} "
                  f"{_pct(_error(rebuilt, reference))} {_ratio(live_work, live_cpu):>13} "
                  f"{_ratio(source_work, source_cpu):>7}", flush=True)  # fmt: skip
            if typical:
                spread = (max(lives) - min(lives)) / typical * 100
                print(f"{'':<24} the app's {len(lives)} live runs here: median {typical:.2f} s, "
                      f"spread {spread:.1f} %; the source {_pct(_error(live, typical)).strip()}"
                      f" off it, the rebuilt replay {_pct(_error(rebuilt, typical)).strip()}",
                      flush=True)  # fmt: skip
    if not rows:
        return
    with open(out / f"{stamp}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for contention in ("copy", "rebuild"):
        key = f"{contention}_error"
        same = [abs(r[key]) for r in rows if r["executor"] == source and r[key] is not None]
        other = [abs(r[key]) for r in rows if r["executor"] != source and r[key] is not None]
        if same:
            print(f"{contention}: same executor: worst |error| {max(same) * 100:.1f} % "
                  f"(goal <= 5 %), median {statistics.median(same) * 100:.1f} %")  # fmt: skip
        if other:
            print(f"{contention}: other executors: median |error| "
                  f"{statistics.median(other) * 100:.1f} % (goal <= 10 %), worst "
                  f"{max(other) * 100:.1f} % (goal <= 20 %)")  # fmt: skip
    against = [abs(r["rebuild_error_vs_median"]) for r in rows
               if r["executor"] == source and r["rebuild_error_vs_median"] is not None]  # fmt: skip
    spreads = [r["live_spread"] for r in rows if r["live_spread"] is not None]
    if against and spreads:
        print(f"rebuild vs the median of the source executor's live runs: worst |error| "
              f"{max(against) * 100:.1f} %, median {statistics.median(against) * 100:.1f} %; "
              f"live runs' own spread: median {statistics.median(spreads) * 100:.1f} %, worst "
              f"{max(spreads) * 100:.1f} %")  # fmt: skip
    print(f"CSV and traces: {out}")


# -- dispatch rate -------------------------------------------------------------------


def _plan(n: int, dag: bool) -> Plan:
    """n zero-length tasks; with ``dag``, 3 of every 4 tasks have the previous as parent."""
    parents = [[i - 1] if dag and i % 4 else [] for i in range(n)]
    return synthetic_plan(["noop"] * n, [0.0] * n, parents)


class _Done:
    """A finished future: the stub engine's answer, so only the replay driver is timed."""

    received = None

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        fn(self)

    def cancelled(self) -> bool:
        return False

    def exception(self) -> None:
        return None


class _StubEngine:
    def submit_task(self, fn: Any, args: Any = (), kwargs: Any = None, **options: Any) -> _Done:
        return _Done()


def _noop() -> bytes:
    return b""


def _pool(threads: int) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(threads)


def _engine(threads: int) -> Engine:
    return Engine(PoolExecutor(_pool(threads), workers=threads), recorder=MemoryRecorder())


def _time(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def rate(n: int, threads: int, rounds: int, profile: bool) -> None:
    bag, dag = _plan(n, False), _plan(n, True)

    def driver_alone() -> None:
        submit_plan(_StubEngine(), bag)  # type: ignore[arg-type]

    def pool_alone() -> None:
        pool = _pool(threads)
        concurrent.futures.wait([pool.submit(_noop) for _ in range(n)])
        pool.shutdown()

    def engine_loop() -> None:
        engine = _engine(threads)
        engine.wait([engine.submit(_noop) for _ in range(n)])
        engine.shutdown()

    def replay_of(plan: Plan) -> Callable[[], None]:
        def run() -> None:
            engine = _engine(threads)
            submit_plan(engine, plan)
            engine.shutdown()

        return run

    cases = {
        "replay driver alone (engine stubbed out)": driver_alone,
        "thread pool alone (no engine, no recording)": pool_alone,
        "Engine.submit loop (engine + pool + records)": engine_loop,
        "replay of a bag (driver + engine + pool)": replay_of(bag),
        "replay of a DAG (3 in 4 tasks have a parent)": replay_of(dag),
    }
    best = {label: 0.0 for label in cases}
    for _ in range(rounds):  # interleaved, so load changes hit every case alike
        for label, run in cases.items():
            best[label] = max(best[label], n / _time(run))
    print(f"\ndispatch rate: {n:,} zero-length tasks, thread pool of {threads}, best of "
          f"{rounds} rounds ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")  # fmt: skip
    for label, value in best.items():
        print(f"  {label:<46} {value:>10,.0f} tasks/s")
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        replay_of(bag)()
        profiler.disable()
        print("\nprofile of one bag replay (client thread; the pool threads are not shown):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executors", help="comma-separated (default: every registered one)")
    parser.add_argument("--apps", nargs="?", const=",".join(APPS), default=None,
                        help="measure the reference apps (comma-separated; default all) "
                        "against live runs instead of the synthetic shapes")  # fmt: skip
    parser.add_argument("--source", default="process", help="--apps: executor that records")
    parser.add_argument("--repeats", type=int, default=3, help="--apps: same-executor replays")
    parser.add_argument("--mode", default="recorded", help="--apps: replay mode")
    parser.add_argument(
        "--warm", action="store_true", help="--apps: run each app once before its live run"
    )
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated DAG shapes")
    parser.add_argument("--repeat", type=int, default=1, help="replays per executor and shape")
    parser.add_argument("--rate-tasks", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-fidelity", action="store_true")
    parser.add_argument("--skip-rate", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile one bag replay")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    if args.executors:
        executors = args.executors.split(",")
    else:
        executors = [n for n in registry.plugins("executor") if n not in REMOTE]
    if args.apps:
        if not args.executors:
            executors = [e for e in ("process", "thread", "dask", "ray", "parsl")
                         if e in registry.plugins("executor")]  # fmt: skip
        apps_fidelity(args.apps.split(","), args.source, executors, args.repeats, args.mode,
                      RESULTS, warm=args.warm)  # fmt: skip
        return
    if not args.skip_fidelity:
        fidelity(executors, args.shapes.split(","), args.repeat)
    if not args.skip_rate:
        rate(args.rate_tasks, args.threads, args.rounds, args.profile)


if __name__ == "__main__":
    main()
