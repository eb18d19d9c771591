"""``tapstrace analyze``: metrics, comparisons and plots over traces.

The analysis package is imported inside the command, so the rest of the CLI never pays
for it (and the core never depends on it at import time).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console

from tapstrace.errors import UserError

if TYPE_CHECKING:
    from tapstrace.analysis.selection import Selection

FORMATS = ("html", "png", "svg")
DEFAULT_REPORT = Path("analysis-report")
#: Most traces listed one per row in the terminal (the comparison covers them all).
MAX_TRACE_ROWS = 50
F = TypeVar("F", bound=Callable[..., Any])


def selection_options(command: F) -> F:
    """The filters shared by ``analyze`` and ``compare``."""
    options = [
        click.option(
            "--window",
            metavar="START:END",
            help="Only attempts active between START and END seconds after the first "
            "submission (either side may be empty: 10: or :2.5).",
        ),
        click.option(
            "--function",
            "functions",
            multiple=True,
            metavar="NAMES",
            help="Only these functions (comma-separated or repeated).",
        ),
        click.option(
            "--worker",
            "workers",
            multiple=True,
            metavar="NAMES",
            help="Only attempts on these workers (worker id, else host:pid).",
        ),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            metavar="LIST",
            help="Only attempts with these statuses: ok, failed, cancelled, dependency-failed.",
        ),
        click.option(
            "--wide",
            is_flag=True,
            help="Every column in terminal tables (default: what fits 80 columns).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def selection_from(
    window: str | None,
    functions: tuple[str, ...],
    workers: tuple[str, ...],
    statuses: tuple[str, ...],
) -> Selection:
    """The Selection the filter options describe."""
    from tapstrace.analysis.selection import parse_selection

    return parse_selection(window, functions, workers, statuses)


def console_for(wide: bool) -> Console:
    """A console for tables: the terminal's width, at most 80 columns when piped unless
    ``wide`` (then as wide as the tables need)."""
    console = Console(highlight=False)
    if wide:
        console.width = max(console.width, 200)
    return console


def _formats(text: str) -> list[str]:
    chosen = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UserError(f"--format {text}: choose from {', '.join(FORMATS)} (comma-separated)")
    return list(dict.fromkeys(chosen))


@click.command(short_help="Metrics, comparisons and plots over traces.")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--plot",
    is_flag=True,
    help=f"Write figures and a self-contained HTML report to --out [default: {DEFAULT_REPORT}].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Write summary.parquet/csv, comparison, per-function and per-worker tables here.",
)
@click.option(
    "--format",
    "format_",
    default=",".join(FORMATS),
    show_default=True,
    metavar="LIST",
    help="Figure formats with --plot: html, png, svg (comma-separated).",
)
@click.option(
    "--by",
    default="app,executor,workers",
    show_default=True,
    metavar="KEYS",
    help="Group the comparison by these keys (comma-separated).",
)
@click.option(
    "--baseline",
    metavar="KEY=VALUE|TRACE",
    help="Give ratios to a baseline: grouping-key values (executor=process: each group "
    "against the one with the same other keys) or one trace file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print everything as one JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the per-trace summary as CSV.")
@click.option("--include-warmup", is_flag=True, help="Keep warm-up tasks (excluded by default).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Worker processes sharing the traces, from 32 traces on [default: one per core].",
)
@selection_options
def analyze(
    paths: tuple[str, ...],
    plot: bool,
    out: Path | None,
    format_: str,
    by: str,
    baseline: str | None,
    as_json: bool,
    as_csv: bool,
    include_warmup: bool,
    jobs: int | None,
    window: str | None,
    functions: tuple[str, ...],
    workers: tuple[str, ...],
    statuses: tuple[str, ...],
    wide: bool,
) -> None:
    """Analyse traces: makespan, critical path, overheads, data, utilisation, comparison.

    PATH is a trace file of any format or a directory, searched recursively for tapstrace
    traces (*.arrow), TaPS run directories and WfFormat instances. A trace that cannot be
    read is reported and skipped; the exit status is then 1.

    \b
      tapstrace analyze traces/
      tapstrace analyze traces/ --by app,executor --baseline executor=process
      tapstrace analyze run.arrow --plot --out report/
      tapstrace analyze run.arrow --window 2:5 --status failed
    """
    from tapstrace.analysis import batch, compare, terminal

    if as_json and as_csv:
        raise UserError("--json and --csv: choose one")
    formats = _formats(format_)
    keys = compare.parse_by(by)
    chosen = compare.parse_baseline(baseline, keys) if baseline is not None else None
    selection = selection_from(window, functions, workers, statuses)
    keep: Any = None
    if plot:
        from tapstrace.analysis.plots.data import plot_data

        keep = plot_data
    result = batch.analyze(
        paths,
        by=keys,
        baseline=chosen,
        include_warmup=include_warmup,
        keep=keep,
        selection=selection,
        jobs=jobs or os.cpu_count() or 1,
    )
    if not result.summaries and len(result.errors) == 1:
        raise UserError(": ".join(result.errors[0]))
    for path, message in result.errors:
        click.echo(f"tapstrace: error: {path}: {message}", err=True)
    if not result.summaries:
        raise UserError(f"none of the {len(result.errors)} paths holds a readable trace")
    target = out or (DEFAULT_REPORT if plot else None)
    written: list[Path] = []
    if target is not None:
        written = batch.save(result, target)
    if plot:
        from tapstrace.analysis.plots.report import MAX_SECTIONS, write_report

        assert target is not None
        written += write_report(result, target, formats)
    if as_json:
        click.echo(result.to_json())
    elif as_csv:
        sys.stdout.write(result.table().write_csv())
    else:
        console = console_for(wide)
        if len(result.summaries) == 1:
            terminal.trace_view(console, result.summaries[0], wide)
        else:
            terminal.traces_table(console, result.summaries[:MAX_TRACE_ROWS], wide)
            if len(result.summaries) > MAX_TRACE_ROWS:
                left = len(result.summaries) - MAX_TRACE_ROWS
                console.print(f"... and {left} more traces (all of them in --json, --csv, --out)")
        if len(result.summaries) > 1 or chosen is not None:
            title = "comparison by " + ", ".join(keys)
            if chosen is not None:
                title += f" (ratios to {chosen.describe()})"
            terminal.comparison_table(console, result.comparison, keys, title, wide)
        if written and target is not None:
            report = target / "report.html" if "html" in formats and plot else None
            console.print(f"wrote {len(written)} files to {target}/")
            if report is not None:
                console.print(f"report: {report}")
        if plot and len(result.summaries) > MAX_SECTIONS:
            console.print(
                f"report sections for {MAX_SECTIONS} of {len(result.summaries)} traces "
                "(the first of each group, then in order)"
            )
    if result.errors:
        sys.exit(1)  # the others were analysed; say that some were not
