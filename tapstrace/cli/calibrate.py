"""``tapstrace calibrate``: fit an executor model, by a short live run or from traces."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from tapstrace.cli.command import OPTIONS_KEY, PluginCommand
from tapstrace.cli.options import layer_from_params
from tapstrace.config.layers import DEFAULT_EXECUTOR, load_toml_layer, resolve_plugin
from tapstrace.errors import UserError

DEFAULT_WORKERS = "1,2,4,8"


def _trace_files(paths: tuple[str, ...]) -> list[Path]:
    """Trace files named by ``paths`` (directories searched for *.arrow, as analyze
    does); the first path that gives none stops with one line."""
    from tapstrace.analysis.batch import find_traces

    files, problems = find_traces(paths)
    if problems:
        path, problem = problems[0]
        raise UserError(f"{path}: {problem}")
    return files


@click.command(
    "calibrate",
    cls=PluginCommand,
    with_app=False,
    context_settings={"max_content_width": 100},
    short_help="Fit an executor model (a short live run, or existing traces).",
)
@click.argument("traces", nargs=-1, metavar="[TRACE...]")
@click.option(
    "--executor", metavar="NAME", help=f"Executor to calibrate [default: {DEFAULT_EXECUTOR}]."
)
@click.option("--workers", "workers_", default=DEFAULT_WORKERS, show_default=True,
              metavar="N[,N...]", help="Worker counts to calibrate at (live runs).")  # fmt: skip
@click.option("--config", "configs", multiple=True, metavar="FILE",
              help="TOML config with an [executor] table; flags win.")  # fmt: skip
@click.option("--model", "model_out", metavar="FILE",
              help="Where to save the model [default: the model directory, see "
              "tapstrace list models].")  # fmt: skip
@click.option("--quick", is_flag=True, help="Smaller workloads (a rough model in seconds).")
@click.option("--json", "as_json", is_flag=True, help="Print the model as JSON.")
@click.pass_context
def calibrate(
    ctx: click.Context,
    traces: tuple[str, ...],
    executor: str | None,
    workers_: str,
    configs: tuple[str, ...],
    model_out: str | None,
    quick: bool,
    as_json: bool,
    **generated: Any,
) -> None:
    """Fit an executor model for tapstrace predict.

    Without TRACE, runs a short calibration on the executor (its --executor.* flags as
    for tapstrace run) at each --workers count: a start-up probe, a no-op bag, a bag of
    busy workers, single tasks, a chain and payload fan-ins, recorded as traces next to
    the model. With TRACE (files or directories of traces of one executor, e.g.
    traces/dask-*.arrow), fits the model from them instead. docs/predict.md.

    \b
      tapstrace calibrate --executor dask --workers 1,2,4,8
      tapstrace calibrate --executor parsl --executor.cores-per-worker 0.25 --workers 1,4
      tapstrace calibrate traces/dask-*.arrow
    """
    from tapstrace.cli.predict import parse_workers
    from tapstrace.predict.calibrate import Sizes
    from tapstrace.predict.calibrate import calibrate as run_calibration
    from tapstrace.predict.fit import fit_model
    from tapstrace.predict.store import models_dir, save_model
    from tapstrace.trace.reader import read_trace

    console = Console(highlight=False, soft_wrap=True, stderr=as_json)
    if traces:
        files = _trace_files(traces)
        loaded = [read_trace(f, warn=False) for f in files]
        if executor is not None:
            loaded = [t for t in loaded if t.executor == executor]
            if not loaded:
                raise UserError(f"--executor {executor}: none of the traces was recorded on it")
        model = fit_model(loaded, executor=executor)
    else:
        counts = parse_workers(workers_)
        layers = [load_toml_layer(path) for path in configs]
        cli_layer = layer_from_params(generated, ctx.meta[OPTIONS_KEY])
        for layer in [*layers, cli_layer]:  # nothing the user set goes unused
            for (section, _), source in layer.sources.items():
                if section != "executor":
                    raise UserError(
                        f"{source}: calibrate takes executor settings only, not [{section}]"
                    )
        if executor is not None:
            cli_layer.set("executor", "name", executor, "--executor")
        config = resolve_plugin([*layers, cli_layer], "executor", DEFAULT_EXECUTOR)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = models_dir() / "calibration" / f"{type(config).name}-{stamp}"
        model, _ = run_calibration(
            config,
            counts,
            out,
            sizes=Sizes.quick() if quick else None,
            progress=lambda message: console.print(f"calibrating {message} ..."),
        )
    saved = save_model(model, model_out)
    if as_json:
        click.echo(json.dumps({"model": str(saved), **model.model_dump(mode="json")}))
        return
    _print(console, model, saved)


def _print(console: Console, model: Any, saved: Path) -> None:
    from tapstrace.predict.fit import describe_fit

    resolver = "the executor" if model.native_dependencies else "the engine"
    slotted = any(f.slot_per_input_byte or f.slot_per_output_byte for f in model.fits)
    table = Table(
        title=f"{model.executor} model (dependencies resolved by {resolver})",
        title_justify="left",
    )
    columns = [
        ("workers", "workers", "{}"),
        ("start-up s", "startup_s", "{:.3f}"),
        ("submit ms", "submit_ms", "{:.3f}"),
        ("dispatches/s", "ceiling_per_s", "{:.0f}"),
        ("working/s", "work_ceiling_per_s", "{:.0f}"),
        ("launch ms", "launch_ms", "{:.3f}"),
        ("handoff ms" if model.native_dependencies else "engine ms",
         "handoff_ms" if model.native_dependencies else "engine_ms", "{:.3f}"),
        ("gap ms", "gap_ms", "{:.3f}"),
        ("no-op gap ms", "noop_gap_ms", "{:.3f}"),
        ("result ms", "result_ms", "{:.3f}"),
        ("overrun ms", "execution_ms", "{:.3f}"),
        ("input ms/MB", "input_ms_per_mb", "{:.2f}"),
        # Executors that move inputs once a worker is free (plugin's inputs_at_slot).
        *([("slot in ms/MB", "slot_in_ms_per_mb", "{:.2f}"),
           ("slot out ms/MB", "slot_out_ms_per_mb", "{:.2f}")] if slotted else []),
        ("load", "load", "{:.2f}"),
    ]  # fmt: skip
    for title, _, _ in columns:
        table.add_column(title, justify="right")
    for row in describe_fit(model):
        table.add_row(
            *("-" if row[key] is None else fmt.format(row[key]) for _, key, fmt in columns)
        )
    console.print(table)
    console.print(
        f"workers start {'on demand' if model.on_demand else 'with the executor'}; per MB: "
        f"result {model.seconds_per_result_byte * 1e9:.2f} ms, output "
        f"{model.seconds_per_output_byte * 1e9:.2f} ms"
    )
    console.print(f"model saved: {saved}")
