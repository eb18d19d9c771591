"""``tapstrace compare A B``: two runs side by side, and where their makespans differ."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tapstrace.cli.analyze import (
    DEFAULT_REPORT,
    _formats,
    console_for,
    selection_from,
    selection_options,
)
from tapstrace.errors import UserError


@click.command("compare", short_help="Two runs side by side: where their makespans differ.")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option(
    "--plot",
    is_flag=True,
    help=f"Write the comparison report (aligned Gantts) to --out [default: {DEFAULT_REPORT}].",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Directory for the report and figures.")  # fmt: skip
@click.option("--format", "format_", default="html", show_default=True, metavar="LIST",
              help="Report formats with --plot: html, png, svg (comma-separated).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--include-warmup", is_flag=True, help="Keep warm-up tasks (excluded by default).")
@selection_options
def compare(
    a: str,
    b: str,
    plot: bool,
    out: Path | None,
    format_: str,
    as_json: bool,
    include_warmup: bool,
    window: str | None,
    functions: tuple[str, ...],
    workers: tuple[str, ...],
    statuses: tuple[str, ...],
    wide: bool,
) -> None:
    """Compare run B with run A (trace files): makespans, the difference split into
    client, scheduler, waiting for workers, transfers, execution and retries along each
    run's critical path (the parts sum to the measured difference), and per-function
    execution and overhead deltas.

    \b
      tapstrace compare traces/cholesky.arrow replay.arrow
      tapstrace compare dask.arrow ray.arrow --plot --out compare-report/
    """
    from tapstrace.analysis import batch, terminal, versus

    formats = _formats(format_)
    selection = selection_from(window, functions, workers, statuses)
    keep = None
    if plot:
        from tapstrace.analysis.plots.data import plot_data

        keep = plot_data
    for path in (a, b):
        if Path(path).is_dir():
            raise UserError(f"{path}: is a directory; compare takes two trace files")
    result = batch.analyze([a, b], by=["label"], include_warmup=include_warmup, keep=keep,
                           selection=selection)  # fmt: skip
    if result.errors:
        raise UserError(": ".join(result.errors[0]))
    if len(result.summaries) != 2:
        raise UserError(f"{a}, {b}: the same trace twice; give two different traces")
    first, second = result.summaries
    diff = versus.difference(first, second)
    written: list[Path] = []
    if plot:
        from tapstrace.analysis.plots.report import write_comparison

        target = out or DEFAULT_REPORT
        written = write_comparison(result, diff, target, formats)
    if as_json:
        click.echo(json.dumps(diff, default=str))
        return
    console = console_for(wide)
    terminal.versus_view(console, diff, wide)
    if written:
        console.print(f"wrote {len(written)} files to {target}/")
        if "html" in formats:
            console.print(f"report: {target / 'report.html'}")
