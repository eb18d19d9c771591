"""``tapstrace replay``: re-execute a trace (any format) on any executor."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click

from tapstrace.cli.command import OPTIONS_KEY, PluginCommand
from tapstrace.cli.options import layer_from_params
from tapstrace.config.layers import load_toml_layer, resolve

#: Replay options: (flag, ReplayConfig field).
_FIELDS = (
    ("--format", "format"),
    ("--mode", "mode"),
    ("--client-time", "client_time"),
    ("--client-flow", "client_flow"),
    ("--time-scale", "time_scale"),
    ("--data-scale", "data_scale"),
    ("--limit", "limit"),
    ("--failures", "failures"),
    ("--max-in-flight", "max_in_flight"),
)


_FLOW = {
    "recorded": "client control flow: recorded (waits and client time re-enacted)",
    "inferred": "client control flow: inferred from submit and receive times (docs/replay.md)",
    "absent": "client control flow: absent in the source (tasks submitted as early as the "
    "DAG allows)",
}


def _percent(value: float | None) -> str:
    return "" if value is None else f" ({value * 100:+.1f} %)"


@click.command(
    "replay",
    cls=PluginCommand,
    with_app=False,
    context_settings={"max_content_width": 100},
    short_help="Replay a trace on an executor as synthetic tasks.",
)
@click.argument("source", metavar="TRACE", required=False)
@click.option("--executor", metavar="NAME", help="Executor to replay on [default: process].")
@click.option("--filter", "filter_", metavar="NAME", help="Filter choosing what moves out of band.")
@click.option("--transformer", metavar="NAME", help="Transformer moving data out of band.")
@click.option(
    "--format",
    "format_",
    type=click.Choice(["arrow", "wfformat", "taps"]),
    help="Format of TRACE [default: detected from its content].",
)
@click.option(
    "--mode",
    type=click.Choice(["recorded", "sleep", "spin"]),
    help="recorded: spin for each task's recorded CPU time, sleep the rest; sleep; or "
    "spin the CPU for the whole time [default: recorded].",
)
@click.option(
    "--client-flow",
    type=click.Choice(["auto", "infer", "none"]),
    help="Client pacing: the recorded control flow (auto), else inferred from submit and "
    "receive times (infer), or none [default: auto].",
)
@click.option(
    "--client-time",
    type=click.Choice(["keep", "scale", "zero"]),
    help="Recorded client time between submissions: scale with --time-scale, keep, or "
    "zero [default: scale].",
)
@click.option("--time-scale", metavar="F", help="Multiply execution times by F [default: 1].")
@click.option("--data-scale", metavar="F", help="Multiply data sizes by F [default: 1].")
@click.option("--limit", metavar="N", help="Replay only the first N tasks.")
@click.option(
    "--failures",
    type=click.Choice(["replay", "skip", "succeed"]),
    help="Failed source tasks: fail again, leave out (with descendants) or succeed "
    "[default: replay].",
)
@click.option(
    "--max-in-flight", metavar="N", help="Most tasks submitted and unfinished [default: 100000]."
)
@click.option("--no-warmup", is_flag=True, help="Do not replay the source's warm-up tasks.")
@click.option(
    "--config",
    "configs",
    multiple=True,
    metavar="FILE",
    help="TOML config (a replay's saved config.toml reruns it); flags win.",
)
@click.option("--record", is_flag=True, default=None, help="Write a trace of the replay.")
@click.option("--trace", "trace_out", metavar="PATH", help="Trace path (implies --record).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def replay(
    ctx: click.Context,
    source: str | None,
    executor: str | None,
    filter_: str | None,
    transformer: str | None,
    format_: str | None,
    no_warmup: bool,
    configs: tuple[str, ...],
    record: bool | None,
    trace_out: str | None,
    quiet: bool,
    **generated: Any,
) -> None:
    """Replay TRACE on an executor: every task becomes a synthetic task that receives its
    parents' payloads, sleeps (or spins) for its recorded execution time and returns a
    payload of its recorded output size. TRACE is a tapstrace .arrow trace, a WfFormat
    instance, TaPS tasks.jsonl or a TaPS run directory.

    Prints the replay's makespan beside the source's; with --record, the replay's trace
    names its source in its metadata. Signals end a replay as they end a run (see
    tapstrace run --help).
    """
    from tapstrace.replay.app import REPORT, ReplayConfig
    from tapstrace.runner.run import execute

    if source is None and not configs:
        raise click.UsageError("give the TRACE to replay")
    layers = [load_toml_layer(path) for path in configs]
    cli_layer = layer_from_params(generated, ctx.meta[OPTIONS_KEY])
    cli_layer.set("app", "name", "replay", "")
    if source is not None:
        cli_layer.set("app", "trace", source, "TRACE")
    values = {**generated, "format": format_}  # the replay options arrive in **generated
    for flag, field in _FIELDS:
        value = values.get(field)
        if value is not None:
            none = field in ("limit", "max_in_flight") and value.lower() in ("none", "null")
            cli_layer.set("app", field, None if none else value, flag)
    if no_warmup:
        cli_layer.set("app", "warmup", False, "--no-warmup")
    plugins = (("executor", executor), ("filter", filter_), ("transformer", transformer))
    for section, name in plugins:
        if name is not None:
            cli_layer.set(section, "name", name, f"--{section}")
    if record:
        cli_layer.set("run", "record", True, "--record")
    if trace_out is not None:
        cli_layer.set("run", "trace", trace_out, "--trace")
        cli_layer.set("run", "record", True, "--trace")
    spec = resolve([*layers, cli_layer])
    config = spec.app
    assert isinstance(config, ReplayConfig)
    plan = config.load().plan  # bad input fails here, before anything is written
    monitor = None
    if not quiet and sys.stderr.isatty():
        from tapstrace.cli.progress import task_progress

        monitor = functools.partial(task_progress, total=len(plan))
    result = execute(spec, monitor=monitor)
    if quiet:
        return
    report_path = Path(result.run_dir) / REPORT
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(report.get("statuses", {}).items()))
    makespan, reference = report.get("makespan_s"), report.get("source_makespan_s")
    line = f"replayed {len(plan)} tasks of {config.trace} on {type(spec.executor).name}"
    line += f": {statuses or 'no tasks'}"
    if makespan is not None:
        line += f"; makespan {makespan:.3f} s"
    if reference is not None:
        line += f" (source {reference:.3f} s{_percent(report.get('difference'))})"
    click.echo(line)
    if plan.skipped:
        click.echo(f"left out {plan.skipped} source tasks (--limit, --failures skip)")
    click.echo(_FLOW[plan.flow])
    click.echo(f"run directory: {result.run_dir}")
    if result.trace is not None:
        click.echo(f"trace: {result.trace}")
