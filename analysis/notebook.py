"""The analysis from a notebook: summaries, tables and reports of Traces or paths.

Everything here takes a ``Trace`` (``tapstrace.read_trace``), a path, or prepared
``Tasks``, so a notebook never handles internal frames::

    from tapstrace import read_trace
    from tapstrace.analysis import notebook
    trace = read_trace("traces/cholesky.arrow")
    trace                                   # a summary table (Trace._repr_html_)
    trace.gantt()                           # an altair chart
    notebook.breakdown_table(trace)         # a polars DataFrame
    notebook.report([trace, "replay.arrow"], "report/")   # report/report.html

docs/analysis.md walks through it step by step.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from tapstrace.analysis.breakdown import PARTS, breakdown
from tapstrace.analysis.tasks import Tasks, as_tasks

if TYPE_CHECKING:
    from tapstrace.analysis.batch import Analysis
    from tapstrace.trace.reader import Trace

Source = Any  # a Trace, a path (str or PathLike) or prepared Tasks


def summary(source: Source) -> dict[str, Any]:
    """Every metric of one trace (``summarize``), from a Trace, a path or Tasks."""
    from tapstrace.analysis.summary import summarize

    return summarize(as_tasks(source))


def breakdown_table(source: Source) -> pl.DataFrame:
    """Where the makespan went: component, label, seconds and share of the makespan."""
    result = breakdown(as_tasks(source))
    span = result.makespan_s or 0.0
    rows = [
        {
            "component": p,
            "label": PARTS[p],
            "seconds": result.parts[p],
            "share": result.parts[p] / span if span else None,
        }
        for p in PARTS
        if result.parts
    ]
    schema = {
        "component": pl.String,
        "label": pl.String,
        "seconds": pl.Float64,
        "share": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def analysis(
    sources: Sequence[Source] | Source, by: Sequence[str] = ("app", "executor", "workers")
) -> Analysis:
    """An Analysis (what ``tapstrace analyze`` computes) of Traces, paths or Tasks, with
    plot datasets, ready for :func:`report`."""
    from tapstrace.analysis.batch import Analysis
    from tapstrace.analysis.compare import compare
    from tapstrace.analysis.labels import run_label
    from tapstrace.analysis.plots.data import plot_data
    from tapstrace.analysis.summary import summarize

    items = list(sources) if isinstance(sources, list | tuple) else [sources]
    result = Analysis()
    taken: set[str] = set()
    for item in items:
        tasks = as_tasks(item)
        tasks.label = run_label(tasks.label or "trace", (None, None, None), (), taken)
        taken.add(tasks.label)
        result.summaries.append(summarize(tasks))
        result.plots.append(tasks.cached("plot_data", lambda t=tasks: plot_data(t)))
    if result.summaries:
        result.comparison = compare(result.table(), list(by))
    return result


def report(
    sources: Sequence[Source] | Source,
    out: str | os.PathLike[str] = "analysis-report",
    formats: Sequence[str] = ("html",),
) -> Path:
    """Write the HTML report (and figures in ``formats``) of Traces or paths under
    ``out``; returns the path of report.html (or of ``out`` without html)."""
    from tapstrace.analysis.plots.report import write_report

    target = Path(out)
    write_report(analysis(sources), target, list(formats))
    return target / "report.html" if "html" in formats else target


def trace_html(trace: Trace | Tasks) -> str:
    """A trace's facts and makespan breakdown as HTML (``Trace._repr_html_``)."""
    from tapstrace.analysis.plots.report import summary_html

    return summary_html(summary(trace))
