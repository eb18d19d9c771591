"""The ``tapstrace`` command line."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tapstrace.cli.analyze import analyze
from tapstrace.cli.calibrate import calibrate
from tapstrace.cli.command import OPTIONS_KEY, PluginCommand
from tapstrace.cli.compare import compare
from tapstrace.cli.convert import convert
from tapstrace.cli.options import help_text, layer_from_params, type_label
from tapstrace.cli.predict import predict
from tapstrace.cli.replay import replay
from tapstrace.config.layers import Layer, load_toml_layer, resolve
from tapstrace.errors import UserError
from tapstrace.plugins import registry
from tapstrace.runner.signals import Terminated, exit_later
from tapstrace.version import __version__

log = logging.getLogger("tapstrace")

KIND_NAMES: dict[str, registry.Kind] = {
    "apps": "app",
    "executors": "executor",
    "filters": "filter",
    "transformers": "transformer",
}


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tapstrace")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
def cli(debug: bool) -> None:
    """Record, replay and analyse task-based runs on any executor.

    \b
      tapstrace run synthetic --executor process --record
      tapstrace list executors
      tapstrace show traces/synthetic-process-*.arrow
    """
    handler = logging.StreamHandler()
    handler.setLevel(logging.DEBUG if debug else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


@cli.command(
    cls=PluginCommand,
    context_settings={"max_content_width": 100},
    short_help="Run an app on an executor, optionally recording a trace.",
)
@click.argument("app", required=False)
@click.option(
    "--executor", "executor", metavar="NAME", help="Executor to run on [default: process]."
)
@click.option("--filter", "filter_", metavar="NAME", help="Filter choosing what moves out of band.")
@click.option("--transformer", metavar="NAME", help="Transformer moving data out of band.")
@click.option(
    "--config",
    "configs",
    multiple=True,
    metavar="FILE",
    help="TOML config ([run], [app], [executor], [engine], ...); repeatable, merged in "
    "order; flags win.",
)
@click.option("--record", is_flag=True, default=None, help="Write a trace of every task.")
@click.option("--trace", metavar="PATH", help="Trace path (implies --record).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@click.pass_context
def run(
    ctx: click.Context,
    app: str | None,
    executor: str | None,
    filter_: str | None,
    transformer: str | None,
    configs: tuple[str, ...],
    record: bool | None,
    trace: str | None,
    quiet: bool,
    **generated: Any,
) -> None:
    """Run APP on an executor; with --record, write a trace of every task.

    Each run gets a directory runs/APP-EXECUTOR-TIMESTAMP/ holding config.toml (rerun
    it with --config to reproduce the run), log.txt and the app's outputs.

    Ctrl-C, SIGTERM or SIGHUP end the run cleanly (exit status 128 + the signal),
    keeping every task recorded so far; the executor has $TAPSTRACE_UNWIND_SECONDS
    (default 20) to shut down before the process exits anyway.
    """
    from tapstrace.runner.run import execute

    layers = [load_toml_layer(path) for path in configs]
    cli_layer = layer_from_params(generated, ctx.meta[OPTIONS_KEY])
    for section, name in (
        ("app", app),
        ("executor", executor),
        ("filter", filter_),
        ("transformer", transformer),
    ):
        if name is not None:
            cli_layer.set(section, "name", name, f"--{section}" if section != "app" else "")
    if record:
        cli_layer.set("run", "record", True, "--record")
    if trace is not None:
        cli_layer.set("run", "trace", trace, "--trace")
        cli_layer.set("run", "record", True, "--trace")
    spec = _resolve([*layers, _reorder(cli_layer)])
    monitor = None
    if not quiet and sys.stderr.isatty():
        from tapstrace.cli.progress import task_progress

        monitor = task_progress
    result = execute(spec, monitor=monitor)
    if not quiet:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(result.records.items())) or "no tasks"
        click.echo(f"run {result.run_id}: {statuses} in {result.seconds:.2f} s")
        click.echo(f"run directory: {result.run_dir}")
        if result.trace is not None:
            click.echo(f"trace: {result.trace}")
    if result.problem is not None:  # the run failed as a whole: one line, exit 1
        click.echo(f"tapstrace: error: {result.problem}", err=True)
        sys.exit(1)
    if result.failed and not quiet:
        click.echo(f"{result.failed} task attempts did not succeed (see the trace)", err=True)


def _reorder(layer: Layer) -> Layer:
    """Put ``name`` first in each section so a plugin switch resets before fields apply."""
    out = Layer()
    for section, table in layer.values.items():
        for key in sorted(table, key=lambda k: k != "name"):
            out.set(section, key, table[key], layer.sources[(section, key)])
    return out


def _resolve(layers: list[Layer]) -> Any:
    return resolve(layers)


@cli.command("list")
@click.argument("kind", required=False, type=click.Choice([*KIND_NAMES, "models"]))
@click.argument("name", required=False)
@click.option("--all", "every", is_flag=True, help="Every plugin with all its parameters.")
def list_plugins(kind: str | None, name: str | None, every: bool) -> None:
    """List the plugins (apps, executors, filters, transformers), a line each, or the
    executor models saved by tapstrace calibrate (models).

    \b
      tapstrace list                  # every plugin, one line each
      tapstrace list executors        # the executors
      tapstrace list apps cholesky    # the parameters of one plugin
      tapstrace list --all            # every plugin with its parameters
      tapstrace list models           # the saved executor models
    """
    console = _console()
    if kind == "models":
        from tapstrace.cli.models import list_models

        if name is not None or every:
            raise UserError("tapstrace list models takes no NAME and no --all")
        list_models(console)
        return
    kinds = [KIND_NAMES[kind]] if kind else list(KIND_NAMES.values())
    if name is not None:
        assert kind is not None  # click fills KIND before NAME
        plugins = registry.plugins(KIND_NAMES[kind])
        if name not in plugins:
            raise UserError(
                f"{kind} {name!r}: not registered (choose from {', '.join(plugins) or 'none'})"
            )
        console.print(_parameters(KIND_NAMES[kind], {name: plugins[name]}))
        return
    for k in kinds:
        plugins = registry.plugins(k)
        if every:
            console.print(_parameters(k, plugins))
            continue
        table = Table(title=f"{k}s", title_justify="left", show_header=False, expand=False)
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("description", overflow="fold")
        for plugin, cls in plugins.items():
            table.add_row(plugin, escape(_first_line(cls.__doc__)))
        if not plugins:
            table.add_row("(none registered)", "")
        console.print(table)
    if not every:
        console.print(
            "parameters: tapstrace list KIND NAME (e.g. tapstrace list apps cholesky), "
            "or tapstrace list --all"
        )


def _first_line(doc: str | None) -> str:
    text = (doc or "").strip()
    return text.splitlines()[0] if text else ""


def _parameters(kind: registry.Kind, plugins: dict[str, Any]) -> Table:
    """A table of plugins with every parameter: type, default and description."""
    table = Table(title=f"{kind}s", title_justify="left", show_lines=False, expand=False)
    table.add_column("name", style="bold")
    table.add_column("parameter")
    table.add_column("type")
    table.add_column("default and description")
    for name, cls in plugins.items():
        table.add_row(
            name, "", "", escape(_first_line(cls.__doc__)), end_section=not cls.model_fields
        )
        fields = list(cls.model_fields.items())
        for i, (field, info) in enumerate(fields):
            table.add_row(
                "",
                field.replace("_", "-"),
                escape(type_label(info.annotation)),
                escape(help_text(info)),  # descriptions are text, not rich markup
                end_section=i == len(fields) - 1,
            )
    if not plugins:
        table.add_row("(none registered)", "", "", "")
    return table


@cli.command()
@click.argument("traces", nargs=-1, required=True, metavar="TRACE...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON, one object per trace.")
def show(traces: tuple[str, ...], as_json: bool) -> None:
    """Summarise traces: app, executor, tasks by status, makespan, time span."""
    from tapstrace.trace.reader import read_trace

    console = _console()
    for path in traces:
        trace = read_trace(path, warn=False)
        facts = trace.describe()
        if as_json:
            click.echo(json.dumps(facts))
            continue
        table = Table(title=str(Path(path)), title_justify="left", show_header=False)
        table.add_column(style="bold")
        table.add_column()
        status = ", ".join(f"{n} {s}" for s, n in facts["by_status"].items()) or "none"
        makespan = facts["makespan_s"]
        rows = [
            ("app", facts["app"] or "?"),
            ("executor", facts["executor"] or "?"),
            ("workers", str(trace.metadata.get("workers", "?"))),
            ("tasks", f"{facts['tasks']} ({facts['records']} records: {status})"),
            ("makespan", f"{makespan:.3f} s" if makespan is not None else "-"),
            ("time span", f"{facts['first_submitted'] or '-'} -> {facts['last_received'] or '-'}"),
            ("run id", facts["run_id"] or "?"),
            ("schema", facts["schema_version"] or "?"),
            (
                "state",
                "[red]partial (the run did not finish it)[/red]" if trace.partial else "complete",
            ),
        ]
        for key, value in rows:
            table.add_row(key, value)
        console.print(table)


cli.add_command(replay)
cli.add_command(convert)
cli.add_command(calibrate)
cli.add_command(predict)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line and exit 2; --debug shows tracebacks."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="tapstrace", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        if debug:
            raise
        click.echo(f"tapstrace: error: {exc.format_message()}", err=True)
        sys.exit(2)
    except (click.Abort, KeyboardInterrupt):
        click.echo("tapstrace: interrupted", err=True)
        exit_later(130)  # a framework's exit hook must not keep it alive
        sys.exit(130)
    except Terminated as exc:  # SIGTERM/SIGHUP during a run: unwound, trace finalised
        click.echo(f"tapstrace: stopped by {signal.Signals(exc.signum).name}", err=True)
        exit_later(128 + exc.signum)  # a framework's exit hook must not keep it alive
        sys.exit(exc.code)
    except UserError as exc:
        if debug:
            raise
        click.echo(f"tapstrace: error: {exc}", err=True)
        sys.exit(2)
    sys.exit(0)


cli.add_command(analyze)
cli.add_command(compare)
