"""``tapstrace predict``: a trace's makespan on a modelled executor, without running it.

The decomposition (critical path with its overheads, per-component overheads) comes from
running the analysis (tapstrace.analysis) on the predicted schedule written as a trace,
so it is the same decomposition ``tapstrace analyze`` gives for real runs.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from tapstrace.errors import UserError

DEFAULT_PLOT_DIR = Path("predict-report")
#: From this many tasks, 2 simulations by default instead of 5.
LARGE = 200_000


def parse_workers(text: str) -> list[int]:
    """``4`` or ``1,2,4,8``: positive worker counts, in the order given, once each."""
    counts = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise UserError(f"--workers {text}: {part!r} is not a whole number") from None
        if value < 1:
            raise UserError(f"--workers {text}: worker counts must be at least 1")
        counts.append(value)
    if not counts:
        raise UserError(f"--workers {text!r}: give a worker count or a comma-separated list")
    return list(dict.fromkeys(counts))


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while millions of small lists are built: the
    simulation makes no reference cycles, and the collector would rescan them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1 or value == 0:
        return f"{value:.3f} s"
    return f"{value * 1e3:.3g} ms"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _trace_path(out: str, workers: int, many: bool, app: str, executor: str) -> Path:
    path = Path(out)
    if not many and path.suffix == ".arrow":
        return path
    return path / f"{app}-{executor}-predicted-w{workers}.arrow"


@click.command("predict", short_help="Predict a trace's makespan on a modelled executor.")
@click.argument("source", metavar="TRACE")
@click.option("--model", "model_name", metavar="FILE|NAME", help="An executor model file.")
@click.option("--executor", metavar="NAME", help="Use the model calibrated last for this executor.")
@click.option("--workers", required=True, metavar="N[,N...]", help="Worker count(s).")
@click.option("--time-scale", type=float, default=1.0, show_default=True, metavar="F",
              help="Multiply execution (and client) times by F, as replay does.")  # fmt: skip
@click.option("--data-scale", type=float, default=1.0, show_default=True, metavar="F",
              help="Multiply data sizes by F.")  # fmt: skip
@click.option(
    "--client-flow",
    type=click.Choice(["auto", "infer", "none"]),
    default="auto",
    show_default=True,
    help="The client's pacing, as for replay: the recorded control flow (auto), one "
    "inferred from the times (infer), or none (submit as early as the DAG allows).",
)
@click.option(
    "--client-time",
    type=click.Choice(["keep", "scale", "zero"]),
    default="scale",
    show_default=True,
    help="The client's time between submissions: scaled with --time-scale, kept, or 0.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["arrow", "wfformat", "taps"]),
    help="Format of TRACE [default: detected from its content].",
)
@click.option("--samples", type=int, default=None,
              help="Runs with fresh latency draws; the interval is their range "
              "[default: 5, or 2 from 200,000 tasks].")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--warm", is_flag=True, help="Workers are up before the first submission.")
@click.option("--cores", type=click.FloatRange(min=0), default=None, metavar="N",
              help="CPUs the workers' first-use imports share (16 workers importing a "
              "library on 2 cores take 8 times as long each) [default: those of the "
              "machine the model was calibrated on; 0: one per worker, as on a "
              "cluster].")  # fmt: skip
@click.option(
    "--imports",
    type=click.Choice(["time", "recorded"]),
    default="time",
    show_default=True,
    help="What the workers' first-use imports cost: timed here in a fresh interpreter, "
    "as a replay on this machine pays them (its tasks' modules, their inputs' types' and "
    "their functions' first-use modules: it imports the modules the trace names, as a "
    "replay would), or as the trace recorded them (first-use modules only; imports "
    "nothing).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the prediction as JSON.")
@click.option("--plot", is_flag=True, help="Draw the scaling curve (PNG and SVG) into --out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help=f"Where --plot writes [default: {DEFAULT_PLOT_DIR}].")  # fmt: skip
@click.option("--trace", "trace_out", metavar="PATH",
              help="Write the predicted schedule as a trace (a directory with several "
              "worker counts).")  # fmt: skip
def predict(
    source: str,
    model_name: str | None,
    executor: str | None,
    workers: str,
    time_scale: float,
    data_scale: float,
    client_flow: str,
    client_time: str,
    format_: str | None,
    samples: int | None,
    seed: int,
    warm: bool,
    cores: float | None,
    imports: str,
    as_json: bool,
    plot: bool,
    out: Path | None,
    trace_out: str | None,
) -> None:
    """Predict how TRACE would run on an executor with N workers, from an executor model
    (tapstrace calibrate): a discrete-event simulation of its DAG, durations, payloads
    and client control flow. Prints the makespan with an interval, utilisation and the
    critical-path / overhead decomposition; several worker counts give a scaling curve.

    \b
      tapstrace predict traces/cholesky.arrow --executor dask --workers 8
      tapstrace predict traces/cholesky.arrow --model dask-20260101 --workers 1,2,4,8 --plot
    """
    from tapstrace.predict.imports import time_imports
    from tapstrace.predict.model import ExecutorModel
    from tapstrace.predict.prediction import predict as run_prediction
    from tapstrace.predict.store import find_model, latest_model
    from tapstrace.predict.workload import from_trace
    from tapstrace.trace.reader import read_trace

    if (model_name is None) == (executor is None):
        raise UserError("give --model FILE or --executor NAME (the model calibrated last for it)")
    if time_scale < 0 or data_scale < 0:
        raise UserError("--time-scale and --data-scale must be at least 0")
    if samples is not None and samples < 1:
        raise UserError("--samples must be at least 1")
    counts = parse_workers(workers)
    path = find_model(model_name) if model_name is not None else latest_model(str(executor))
    model = ExecutorModel.load(path)
    started = time.perf_counter()
    with paused_gc():
        trace = read_trace(source, format=format_, warn=False)
        work = from_trace(
            trace,
            time_scale=time_scale,
            data_scale=data_scale,
            client_flow=client_flow,  # type: ignore[arg-type]
            client_time=client_time,  # type: ignore[arg-type]
        )
        loaded = time.perf_counter() - started
        timing = time_imports(work) if imports == "time" else None
        if samples is None:  # a million tasks take ~5 s a run; their spread is small
            samples = 5 if len(work) < LARGE else 2
        predictions = [
            run_prediction(work, model, n, samples=samples, seed=seed, warm=warm, cores=cores)
            for n in counts
        ]
    facts = {
        "trace": source,
        "app": trace.app,
        "tasks": len(work) - work.warmup,
        "warmup_tasks": work.warmup,
        "client_flow": work.flow,
        "source_makespan_s": work.source_makespan if time_scale == 1 else None,
        "source_executor": trace.executor,
        "source_workers": trace.metadata.get("workers"),
        "model": str(path),
        "model_label": model.label(),
        "time_scale": time_scale,
        "data_scale": data_scale,
        "load_seconds": loaded,
        "imports": "recorded"
        if timing is None
        else {
            "units": timing.units,
            "cpu_seconds": timing.seconds,
            "not_importable": [list(u) for u in timing.missing],
            "probe_seconds": timing.wall,
            "error": timing.error,
        },
    }
    path_length = _critical_path(trace) * time_scale
    rows = []
    for p in predictions:
        row = p.as_dict()
        row["naive_bound_s"] = max(path_length, p.work / p.workers)
        rows.append(row)
    written: list[Path] = []
    analysis: dict[str, Any] | None = None
    if trace_out is not None or len(predictions) == 1:
        from tapstrace.formats.save import save
        from tapstrace.predict.predicted import predicted_trace

        for p in predictions:
            predicted = predicted_trace(work, p, model, source={**work.facts, "app": trace.app})
            if len(predictions) == 1:
                analysis = _analyse(predicted)
            if trace_out is not None:
                target = _trace_path(
                    trace_out, p.workers, len(predictions) > 1, trace.app or "trace", model.executor
                )
                written.append(save(predicted, target, "arrow"))
    if plot:
        from tapstrace.predict.plot import write_scaling

        title = f"{Path(source).name} on {model.executor} (predicted)"
        written += write_scaling(rows, title, out or DEFAULT_PLOT_DIR)
    if as_json:
        document = {**facts, "predictions": rows, "analysis": analysis}
        document["written"] = [str(w) for w in written]
        click.echo(json.dumps(document, default=str))
        return
    _print(facts, rows, analysis, written)


def _critical_path(trace: Any) -> float:
    """The source's critical path (execution times), seconds."""
    from tapstrace.analysis import metrics

    return float(metrics.critical_path(metrics.prepare(trace)).length_s or 0.0)


def _analyse(predicted: Any) -> dict[str, Any]:
    """The analysis of a predicted trace (what ``tapstrace analyze`` would print)."""
    from tapstrace.analysis.summary import summarize
    from tapstrace.analysis.tasks import prepare

    return summarize(prepare(predicted))


def _print(
    facts: dict[str, Any],
    rows: list[dict[str, Any]],
    analysis: dict[str, Any] | None,
    written: list[Path],
) -> None:
    console = Console(highlight=False, soft_wrap=True)
    source = facts["source_makespan_s"]
    head = (
        f"{facts['trace']}: {facts['tasks']} tasks (app {facts['app'] or '?'}), client flow "
        f"{facts['client_flow']}; model {facts['model_label']}"
    )
    if source is not None:
        head += (
            f"; recorded makespan {_seconds(source)} on {facts['source_executor'] or '?'} "
            f"with {facts['source_workers'] or '?'} workers"
        )
    console.print(head)
    timed = facts["imports"]
    if isinstance(timed, dict) and timed["units"]:
        if timed["error"]:
            console.print(f"first-use imports: not timed here ({timed['error']}); as recorded")
        else:
            line = (
                f"first-use imports timed here: {timed['units']} units, "
                f"{_seconds(timed['cpu_seconds'])} of CPU per worker that needs them all"
            )
            if timed["not_importable"]:
                line += f"; {len(timed['not_importable'])} not importable here (as recorded)"
            console.print(line)
    if len(rows) > 1 or analysis is None:
        table = Table(title="predicted scaling", title_justify="left")
        for col in ("workers", "makespan", "interval", "speed-up", "utilisation",
                    "tasks/s", "naive bound"):  # fmt: skip
            table.add_column(col, justify="right")
        base = rows[0]["makespan_s"]
        for r in rows:
            table.add_row(
                str(r["workers"]),
                _seconds(r["makespan_s"]),
                f"{_seconds(r['makespan_low_s'])} to {_seconds(r['makespan_high_s'])}",
                f"{base / r['makespan_s']:.2f}" if r["makespan_s"] else "-",
                _percent(r["utilisation"]),
                f"{r['throughput_per_s']:.1f}" if r["throughput_per_s"] else "-",
                _seconds(r["naive_bound_s"]),
            )
        console.print(table)
    else:
        r = rows[0]
        table = Table(show_header=False, title=f"predicted on {r['workers']} workers",
                      title_justify="left")  # fmt: skip
        table.add_column(style="bold")
        table.add_column()
        path = analysis["critical_path"]
        # Where the makespan went along the predicted critical path, as `analyze` splits
        # it (the parts sum to the makespan, whichever executor resolves dependencies).
        went = analysis["breakdown"]["parts_s"]
        parts = " + ".join(f"{k.replace('_', ' ')} {_seconds(v)}" for k, v in went.items() if v)
        lines = [
            ("makespan", f"{_seconds(r['makespan_s'])} (interval {_seconds(r['makespan_low_s'])}"
             f" to {_seconds(r['makespan_high_s'])} over {len(r['samples'])} samples)"),
            ("work", f"{_seconds(r['work_s'])}; utilisation {_percent(r['utilisation'])}; "
             f"{r['throughput_per_s'] or 0:.1f} tasks/s"),
            ("naive bound", f"{_seconds(r['naive_bound_s'])} = max(critical path, work / workers)"),
            ("critical path", f"{path['tasks']} tasks, {_seconds(path['length_s'])} "
             f"({_percent(path['share_of_makespan'])} of makespan)"),
            ("where it went", f"{_seconds(sum(went.values()))} = {parts}"),
            ("client", f"submits for {_seconds(r['client']['span_s'])} "
             f"({_percent(r['client']['share_of_makespan'])} of makespan): busy "
             f"{_seconds(r['client']['busy_s'])}, waiting {_seconds(r['client']['waiting_s'])}"),
            ("worker start-up", _seconds(r["startup_s"]) + (" (--warm)" if r["warm"] else "")),
            ("simulation", f"{_seconds(r['simulation_seconds'])} for {len(r['samples'])} runs"),
        ]  # fmt: skip
        for key, value in lines:
            table.add_row(key, value)
        console.print(table)
        over = Table(title="predicted overhead per task", title_justify="left")
        for col in ("component", "median", "p95", "mean"):
            over.add_column(col, justify="right")
        for name, values in analysis["overheads"].items():
            over.add_row(name, *(_seconds(values.get(k)) for k in ("median_s", "p95_s", "mean_s")))
        console.print(over)
    for path_written in written:
        console.print(f"wrote {path_written}")
