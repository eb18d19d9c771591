"""How close is ``tapstrace predict`` to a real replay? Predict, then measure.

For each executor (a child process each, so one crash or leak cannot spoil the next):

1. calibrate it live (``tapstrace.predict.calibrate``) at --calibrate-workers;
2. for the shipped app traces and three synthetic shapes (a bag of short tasks, a random
   layered DAG, a chain), at each of --workers: predict the makespan with the model,
   then replay the trace for real --repeat times (``tapstrace.replay.replay``, each in
   a fresh process as ``tapstrace replay`` would run it, sleep mode, the same
   --time-scale; long traces are scaled down to about --budget seconds of work), and
   compare with their mean; the naive bound max(critical path, work /
   workers) is printed beside it;
3. the scheduler-throughput experiment: bags of no-op tasks at --throughput-workers,
   predicted against measured tasks/s.

Every trace gets 2 x workers warm-up tasks of 0.25 s first (flagged as warm-up, so the
replay runs them before the measured makespan and the prediction simulates them too):
the workers are up when the makespan starts. Worker start-up on this shared 2-core
machine takes 0.1-7 s and follows the machine's load from one minute to the next
(spawning interpreters is CPU-bound), which no model calibrated minutes earlier can
know; the model still predicts it for cold runs (``tapstrace predict`` without --warm).

Prints one table per experiment with the load average of each measurement, then the
median and worst |error| per executor, and writes CSVs and figures to --out.

    python benchmarks/predict_accuracy.py [--executors thread,process,dask,ray,parsl]
        [--workers 1,2,4,8,16] [--calibrate-workers 1,2,4,8,16]
        [--throughput-workers 1,2,3,4,6,8,12,16] [--traces cholesky,fedlearn,...]
        [--shapes bag,random,chain] [--budget 4] [--out benchmarks/results/predict_accuracy]
    python benchmarks/predict_accuracy.py --quick   # a reduced run while developing
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tapstrace.formats.frame import Columns
from tapstrace.formats.save import save
from tapstrace.trace.reader import Trace, read_trace

ROOT = Path(__file__).resolve().parent.parent
APP_TRACES = ("cholesky", "docking", "failures", "fedlearn", "mapreduce", "moldesign", "montage")
SHAPES = ("bag", "random", "chain")
LIBRARY = {"dask": "distributed", "ray": "ray", "parsl": "parsl"}
#: Executor settings beyond the worker count: Parsl caps workers at cores / cores_per_worker,
#: so sleeping workers beyond the 2 cores need a small share each.
BASE_PARAMS: dict[str, dict[str, Any]] = {"parsl": {"cores_per_worker": 0.01}}
T0 = 1_800_000_000.0


def load() -> float:
    return os.getloadavg()[0]


# -- synthetic traces -----------------------------------------------------------------


def _write(columns: Columns, name: str, out: Path) -> Path:
    trace = Trace(
        tasks=columns.frame(),
        metadata={
            "run_id": name,
            "app": {"name": name, "params": {}},
            "executor": {"name": "synthetic", "params": {}},
            "workers": 1,
        },
    )
    path = out / f"{name}.arrow"
    path.unlink(missing_ok=True)
    return save(trace, path, "arrow")


def warmed(path: Path, workers: int, out: Path) -> Path:
    """A copy of a trace with 2 x ``workers`` warm-up tasks of 0.25 s first."""
    import polars as pl

    trace = read_trace(path, warn=False)
    tasks = trace.tasks
    first = tasks.sort("submitted").head(1)
    top = int(tasks["task_id"].max()) + 1
    count = 2 * workers
    warm = pl.concat([first] * count).with_columns(
        pl.Series("task_id", range(top, top + count), dtype=pl.Int64),
        pl.lit("warmup").alias("name"),
        pl.lit([], dtype=pl.List(pl.Int64)).alias("parents"),
        pl.lit(1, dtype=pl.Int32).alias("attempt"),
        pl.lit("ok").alias("status"),
        pl.lit(None, dtype=pl.String).alias("error_type"),
        pl.lit(None, dtype=pl.String).alias("error_message"),
        pl.col("submitted").alias("started"),
        (pl.col("submitted") + pl.duration(milliseconds=250)).alias("ended"),
        pl.lit(None, dtype=pl.String).alias("input_kind"),
        pl.lit(None, dtype=pl.String).alias("output_kind"),
        pl.lit(0, dtype=pl.Int64).alias("input_bytes"),
        pl.lit(0, dtype=pl.Int64).alias("output_bytes"),
        pl.lit(True).alias("warmup"),
        pl.lit(None, dtype=pl.String).alias("source_id"),
        pl.lit([], dtype=pl.List(pl.Int64)).alias("control_parents"),
        pl.lit(None, dtype=pl.Float64).alias("cpu_seconds"),
    )
    copy = Trace(tasks=pl.concat([warm, tasks]), metadata=trace.metadata, config=trace.config)
    target = out / "warmed" / f"{path.stem}-w{workers}.arrow"
    target.unlink(missing_ok=True)
    return save(copy, target, "arrow")


def _task(columns: Columns, i: int, name: str, duration: float, parents: list[int],
          output: int = 0, warmup: bool = False) -> None:  # fmt: skip
    inputs = 0
    columns.add(task_id=i, name=name, parents=parents, status="ok", submitted=T0, ready=T0,
                dispatched=T0, started=T0, ended=T0 + duration, received=T0 + duration,
                input_bytes=inputs, output_bytes=output, warmup=warmup)  # fmt: skip


def shape_trace(shape: str, out: Path) -> Path:
    """A synthetic trace: ``bag`` (400 x 5 ms), ``random`` (a layered DAG of 8 x 16
    tasks, lognormal 20 ms, 10 kB outputs) or ``chain`` (60 x 10 ms)."""
    rng = np.random.default_rng(7)
    columns = Columns(f"shape-{shape}")
    if shape == "bag":
        for i in range(400):
            _task(columns, i, "short", 0.005, [])
    elif shape == "chain":
        for i in range(60):
            _task(columns, i, "link", 0.01, [i - 1] if i else [], output=1000)
    else:
        width, depth = 16, 8
        durations = rng.lognormal(np.log(0.02) - 0.125, 0.5, width * depth)
        for layer in range(depth):
            for k in range(width):
                i = layer * width + k
                parents: list[int] = []
                if layer:
                    above = list(range((layer - 1) * width, layer * width))
                    mask = rng.random(width) < 0.2
                    mask[rng.integers(width)] = True
                    parents = [p for p, keep in zip(above, mask, strict=True) if keep]
                _task(columns, i, f"layer{layer}", float(durations[i]), parents, output=10_000)
    return _write(columns, f"shape-{shape}", out)


def noop_bag_trace(tasks: int, out: Path) -> Path:
    """``tasks`` no-op tasks (0 s: the replay does not even sleep)."""
    columns = Columns("noop")
    for i in range(tasks):
        _task(columns, i, "noop", 0.0, [])
    return _write(columns, f"noop-bag-{tasks}", out)


# -- one executor (a child process) ---------------------------------------------------


def _critical_path(trace: Trace) -> float:
    from tapstrace.analysis import metrics

    return float(metrics.critical_path(metrics.prepare(trace)).length_s or 0.0)


def run_executor(name: str, args: argparse.Namespace) -> None:
    """Calibrate ``name``, then predict and replay every trace; JSON lines to stdout."""
    from tapstrace.plugins import registry
    from tapstrace.predict.calibrate import Sizes, calibrate, with_workers
    from tapstrace.predict.imports import time_imports
    from tapstrace.predict.prediction import predict
    from tapstrace.predict.workload import from_trace

    logging.basicConfig(level=logging.ERROR)
    out: Path = args.out
    config = registry.get("executor", name)(**BASE_PARAMS.get(name, {}))
    cal_workers = [int(w) for w in args.calibrate_workers.split(",")]
    began = time.perf_counter()
    before = load()
    model, _ = calibrate(config, cal_workers, out / "calibration" / name,
                         sizes=Sizes.quick() if args.quick else None)  # fmt: skip
    model.save(out / "models" / f"{name}.json")
    seconds = time.perf_counter() - began
    emit({"kind": "calibration", "executor": name, "seconds": seconds,
          "load_before": before, "load_after": load()}, out)  # fmt: skip

    def measure(path: Path, scale: float, workers: int) -> tuple[list[float], float]:
        """Makespans of --repeat replays, and the mean load average meanwhile."""
        params = with_workers(config, workers).model_dump(mode="json")
        spans, loads = [], []
        for _ in range(args.repeat):
            loads.append(load())
            span = fresh_replay(path, name, params, scale, out / "runs")
            if span:
                spans.append(span)
        return spans, statistics.mean(loads)

    for label, source, scale in traces(args):
        trace = read_trace(source, warn=False)
        path_s = _critical_path(trace) * scale
        for workers in [int(w) for w in args.workers.split(",")]:
            path = warmed(source, workers, out)
            work = from_trace(read_trace(path, warn=False), time_scale=scale)
            time_imports(work)  # as tapstrace predict does (its --imports time)
            p = predict(work, model, workers, samples=5)
            spans, at = measure(path, scale, workers)
            low, high = p.interval
            row = {"kind": "accuracy", "executor": name, "trace": label, "workers": workers,
                  "tasks": len(work) - work.warmup, "time_scale": scale,
                  "work_s": work.work, "critical_path_s": path_s,
                  "naive_s": max(path_s, work.work / workers), "predicted_s": p.makespan,
                  "low_s": low, "high_s": high,
                  "measured_s": statistics.mean(spans) if spans else None,
                  "spread": (max(spans) - min(spans)) / statistics.mean(spans) if spans else None,
                  "load": at}  # fmt: skip
            emit(row, out)
    bag = noop_bag_trace(args.throughput_tasks, out / "shapes")
    for workers in [int(w) for w in args.throughput_workers.split(",")]:
        path = warmed(bag, workers, out)
        work = from_trace(read_trace(path, warn=False))
        p = predict(work, model, workers, samples=5)
        spans, at = measure(path, 1.0, workers)
        n = args.throughput_tasks
        row = {"kind": "throughput", "executor": name, "workers": workers, "tasks": n,
               "predicted_per_s": n / p.makespan,
               "measured_per_s": n / statistics.mean(spans) if spans else None, "load": at,
               "calibrated": workers in cal_workers}  # fmt: skip
        emit(row, out)


def fresh_replay(path: Path, name: str, params: dict[str, Any], scale: float,
                 runs: Path) -> float | None:  # fmt: skip
    """The makespan of one sleep-mode replay in a fresh process, as ``tapstrace replay``
    runs it: a thread pool's workers share the client's process, and a replay after
    another in the same process would find the libraries the tasks import on first use
    loaded already (two replays of docking on one thread in one process: 27 % apart)."""
    job = {"path": str(path), "executor": name, "params": params, "scale": scale,
           "runs": str(runs)}  # fmt: skip
    child = subprocess.run([sys.executable, __file__, "--replay", json.dumps(job)],
                           capture_output=True, text=True)  # fmt: skip
    for line in child.stdout.splitlines():
        if line.startswith("MAKESPAN "):
            return float(line.split()[1]) or None
    tail = " | ".join(child.stderr.strip().splitlines()[-3:])
    print(f"replay of {path.name} on {name} failed ({child.returncode}): {tail}", file=sys.stderr)
    return None


def replay_job(job: dict[str, Any]) -> None:
    """The child of :func:`fresh_replay`: replay, print the makespan."""
    from tapstrace.replay import replay

    logging.basicConfig(level=logging.ERROR)
    runs = job["runs"]
    result = replay(job["path"], job["executor"], job["params"], mode="sleep",
                    time_scale=job["scale"], runs_dir=runs, traces_dir=runs)  # fmt: skip
    print(f"MAKESPAN {result.makespan_s or 0.0}", flush=True)


def emit(row: dict[str, Any], out: Path | None = None) -> None:
    """A result row to the parent (stdout) and to ``rows-EXECUTOR.jsonl`` in ``out``, so
    executors measured by separate runs report together (--report-only)."""
    print("RESULT " + json.dumps(row), flush=True)
    if out is not None:
        with open(out / f"rows-{row['executor']}.jsonl", "a") as f:
            f.write(json.dumps(row) + "\n")


def traces(args: argparse.Namespace) -> list[tuple[str, Path, float]]:
    """(label, path, time scale) of every trace to measure."""
    found = []
    names = [t for t in args.traces.split(",") if t] if args.traces else []
    for name in names:
        path = ROOT / "traces" / f"{name}.arrow"
        trace = read_trace(path, warn=False)
        from tapstrace.predict.workload import from_trace

        work = from_trace(trace).work
        scale = min(1.0, args.budget / work) if work else 1.0
        found.append((name, path, round(scale, 4)))
    for shape in [s for s in args.shapes.split(",") if s]:
        found.append((f"shape-{shape}", shape_trace(shape, args.out / "shapes"), 1.0))
    return found


# -- the parent: run the children, print tables ---------------------------------------


def available(names: list[str]) -> tuple[list[str], list[str]]:
    ok, skipped = [], []
    for name in names:
        library = LIBRARY.get(name)
        if library and importlib.util.find_spec(library) is None:
            skipped.append(f"{name}: {library} is not installed")
        else:
            ok.append(name)
    return ok, skipped


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executors", default="thread,process,dask,ray,parsl")
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--calibrate-workers", default="1,2,4,8,16")
    parser.add_argument("--throughput-workers", default="1,2,3,4,6,8,12,16")
    parser.add_argument("--throughput-tasks", type=int, default=1000)
    parser.add_argument("--traces", default=",".join(APP_TRACES))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--budget", type=float, default=4.0,
                        help="scale traces down to about this many seconds of work")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/predict_accuracy")
    parser.add_argument("--repeat", type=int, default=2, help="replays per measurement")
    parser.add_argument("--quick", action="store_true", help="a reduced run for development")
    parser.add_argument("--report-only", action="store_true",
                        help="print the report of the rows already in --out")  # fmt: skip
    parser.add_argument("--repredict", action="store_true",
                        help="predict the rows in --out again with the current simulator and "
                        "the models calibrated then (the measurements stay)")  # fmt: skip
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child: one executor
    parser.add_argument("--replay", help=argparse.SUPPRESS)  # grandchild: one replay
    args = parser.parse_args()
    if args.replay:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        replay_job(json.loads(args.replay))
        return
    if args.quick:
        args.workers = "1,4"
        args.calibrate_workers = "1,4"
        args.throughput_workers = "1,2,4"
        args.throughput_tasks = 300
        args.traces = "cholesky,fedlearn"
        args.budget = 1.5
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if args.one:
        (args.out / f"rows-{args.one}.jsonl").unlink(missing_ok=True)
        run_executor(args.one, args)
        return
    if args.repredict:
        repredict(args.out)
    if args.report_only or args.repredict:
        report(saved_rows(args.out), args.out)
        return
    names, skipped = available(args.executors.split(","))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    for reason in skipped:
        print(f"skipped {reason}")
    rows: list[dict[str, Any]] = []
    for name in names:
        command = [sys.executable, __file__, "--one", name, *sys.argv[1:]]
        child = subprocess.run(command, capture_output=True, text=True)
        got = [json.loads(line[7:]) for line in child.stdout.splitlines()
               if line.startswith("RESULT ")]  # fmt: skip
        if child.returncode:
            tail = child.stderr.strip().splitlines()[-3:]
            print(f"{name}: child failed ({child.returncode}): {' | '.join(tail)}")
        rows += got
        for row in got:
            if row["kind"] == "calibration":
                loads = f"{row['load_before']:.2f} -> {row['load_after']:.2f}"
                print(f"{name}: calibrated in {row['seconds']:.0f} s (load {loads})", flush=True)
    report(saved_rows(args.out), args.out)


def repredict(out: Path) -> None:
    """Predict every saved row again from its executor's saved model and the warmed
    trace it measured (the replays' measurements are kept as they were)."""
    from tapstrace.predict.imports import time_imports
    from tapstrace.predict.model import ExecutorModel
    from tapstrace.predict.prediction import predict
    from tapstrace.predict.workload import from_trace

    for path in sorted(out.glob("rows-*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line]
        for row in rows:
            if row["kind"] == "calibration":
                continue
            model = ExecutorModel.load(out / "models" / f"{row['executor']}.json")
            if row["kind"] == "accuracy":
                trace = out / "warmed" / f"{row['trace']}-w{row['workers']}.arrow"
                scale = row["time_scale"]
            else:
                trace = out / "warmed" / f"noop-bag-{row['tasks']}-w{row['workers']}.arrow"
                scale = 1.0
            work = from_trace(read_trace(trace, warn=False), time_scale=scale)
            time_imports(work)
            p = predict(work, model, row["workers"], samples=5)
            if row["kind"] == "accuracy":
                row["predicted_s"], (row["low_s"], row["high_s"]) = p.makespan, p.interval
            else:
                row["predicted_per_s"] = row["tasks"] / p.makespan
            row["repredicted"] = True
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def saved_rows(out: Path) -> list[dict[str, Any]]:
    """Every row the executors' runs wrote to ``out`` (this run's and earlier ones')."""
    rows = []
    for path in sorted(out.glob("rows-*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    return rows


def report(rows: list[dict[str, Any]], out: Path) -> None:
    accuracy = [r for r in rows if r["kind"] == "accuracy" and r["measured_s"]]
    for r in accuracy:
        r["error"] = (r["predicted_s"] - r["measured_s"]) / r["measured_s"]
        r["naive_error"] = (r["naive_s"] - r["measured_s"]) / r["measured_s"]
    print(f"\n{'trace':<18}{'executor':<9}{'w':>3}{'measured':>10}{'spread':>8}"
          f"{'predicted':>11}{'interval':>17}{'error':>9}{'naive':>9}{'naive err':>10}"
          f"{'load':>6}")  # fmt: skip
    for r in accuracy:
        print(f"{r['trace']:<18}{r['executor']:<9}{r['workers']:>3}{r['measured_s']:>9.3f}s"
              f"{r['spread'] * 100:>7.1f}%"
              f"{r['predicted_s']:>10.3f}s{r['low_s']:>8.3f}-{r['high_s']:<7.3f}"
              f"{percent(r['error']):>9}{r['naive_s']:>8.3f}s{percent(r['naive_error']):>10}"
              f"{r['load']:>6.2f}")  # fmt: skip
    print(f"\n{'executor':<10}{'runs':>5}{'median |err|':>14}{'worst |err|':>13}"
          f"{'naive median':>14}{'within 10%':>12}{'replay spread':>15}")  # fmt: skip
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in accuracy:
        groups.setdefault(r["executor"], []).append(r)
    groups["all"] = accuracy
    for name, group in groups.items():
        if not group:
            continue
        errors = [abs(r["error"]) for r in group]
        naive = [abs(r["naive_error"]) for r in group]
        within = sum(e <= 0.10 for e in errors)
        spread = statistics.median(r["spread"] for r in group)
        print(f"{name:<10}{len(group):>5}{statistics.median(errors) * 100:>13.1f}%"
              f"{max(errors) * 100:>12.1f}%{statistics.median(naive) * 100:>13.1f}%"
              f"{within:>8}/{len(group)}{spread * 100:>14.1f}%")  # fmt: skip
    throughput = [r for r in rows if r["kind"] == "throughput" and r["measured_per_s"]]
    if throughput:
        print(f"\n{'executor':<10}{'workers':>8}{'measured/s':>12}{'predicted/s':>13}"
              f"{'error':>9}{'calibrated':>12}{'load':>6}")  # fmt: skip
        for r in throughput:
            r["error"] = (r["predicted_per_s"] - r["measured_per_s"]) / r["measured_per_s"]
            print(f"{r['executor']:<10}{r['workers']:>8}{r['measured_per_s']:>12.0f}"
                  f"{r['predicted_per_s']:>13.0f}{percent(r['error']):>9}"
                  f"{'yes' if r['calibrated'] else 'no':>12}{r['load']:>6.2f}")  # fmt: skip
    for kind, table in (("accuracy", accuracy), ("throughput", throughput)):
        if table:
            with open(out / f"{kind}.csv", "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)
    if accuracy:
        figure(accuracy, throughput, out)
    print(
        f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"CSVs, models and figures in {out}"
    )


def figure(accuracy: list[dict[str, Any]], throughput: list[dict[str, Any]], out: Path) -> None:
    """predicted vs measured makespan (log-log, y = x) and throughput by workers."""
    import altair as alt
    import vl_convert as vlc

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    points = (
        alt.Chart(alt.Data(values=accuracy))
        .mark_point()
        .encode(
            x=alt.X("measured_s:Q", scale=alt.Scale(type="log"), title="measured makespan (s)"),
            y=alt.Y("predicted_s:Q", scale=alt.Scale(type="log"), title="predicted makespan (s)"),
            color=alt.Color("executor:N"),
            shape=alt.Shape("trace:N"),
        )
    )
    lo = min(min(r["measured_s"], r["predicted_s"]) for r in accuracy)
    hi = max(max(r["measured_s"], r["predicted_s"]) for r in accuracy)
    diagonal = (
        alt.Chart(alt.Data(values=[{"x": lo, "y": lo}, {"x": hi, "y": hi}]))
        .mark_line(color="gray", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    chart = (points + diagonal).properties(width=420, height=420, title="predict vs replay")
    (out / "accuracy.png").write_bytes(
        vlc.vegalite_to_png(chart.to_dict(), vl_version=version, scale=2)
    )
    if throughput:
        long = [{**r, "series": s, "per_s": r[f"{s}_per_s"]} for r in throughput
                for s in ("measured", "predicted")]  # fmt: skip
        lines = (
            alt.Chart(alt.Data(values=long))
            .mark_line(point=True)
            .encode(
                x=alt.X("workers:Q", scale=alt.Scale(type="log", base=2)),
                y=alt.Y("per_s:Q", title="no-op tasks/s", scale=alt.Scale(type="log")),
                color="executor:N",
                strokeDash="series:N",
            )
            .properties(width=420, height=320, title="scheduler throughput")
        )
        (out / "throughput.png").write_bytes(
            vlc.vegalite_to_png(lines.to_dict(), vl_version=version, scale=2)
        )


if __name__ == "__main__":
    main()
