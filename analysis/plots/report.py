"""Writing the figures: a self-contained HTML report and PNG / SVG files (vl-convert).

The HTML report carries the Vega, Vega-Lite and Vega-Embed JavaScript inline (bundled
by vl-convert), so it opens with no network: no CDN, no external script or style sheet.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt

from tapstrace.analysis.plots import charts
from tapstrace.analysis.plots.data import TracePlots

if TYPE_CHECKING:
    from tapstrace.analysis.batch import Analysis

log = logging.getLogger(__name__)

#: Embedding options: export buttons only (the editor and source links would go online).
EMBED_OPTIONS = {
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
    "renderer": "svg",
}


#: Renders every spec of the page into its figure's div.
EMBED_SCRIPT = """
for (const spec of document.querySelectorAll("script.vl-spec")) {
  vegaEmbed("#" + spec.dataset.figure, JSON.parse(spec.textContent), %s);
}
"""


@dataclass(frozen=True)
class Figure:
    """One chart of the report, with the file stem it is saved under."""

    stem: str
    section: str
    chart: Any


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "trace"


#: Most traces given figures of their own (Gantt, concurrency): the first of each group
#: (app, executor, workers), then the next ones in order.
MAX_TRACE_FIGURES = 8


def traces_with_figures(plots: Sequence[TracePlots]) -> list[TracePlots]:
    """The traces that get a Gantt and a concurrency figure (all of them, up to
    :data:`MAX_TRACE_FIGURES`), in input order."""
    if len(plots) <= MAX_TRACE_FIGURES:
        return list(plots)
    groups: dict[tuple[Any, ...], int] = {}
    for i, p in enumerate(plots):
        groups.setdefault((p.app, p.executor, p.workers), i)
    chosen = sorted(groups.values())[:MAX_TRACE_FIGURES]
    rest = (i for i in range(len(plots)) if i not in set(chosen))
    chosen += [next(rest) for _ in range(MAX_TRACE_FIGURES - len(chosen))]
    return [plots[i] for i in sorted(chosen)]


def _chart(stem: str, build: Any, *args: Any) -> Any:
    """``build(*args)``, or None (with a warning) when a chart cannot be built: one bad
    chart never stops the report."""
    try:
        return build(*args)
    except Exception as exc:
        log.warning("figure %s left out: %s: %s", stem, type(exc).__name__, exc)
        return None


def figures(summaries: Sequence[dict[str, Any]], plots: Sequence[TracePlots]) -> list[Figure]:
    """Every chart of an analysis, cross-trace ones first (skipping empty ones)."""
    found = [
        Figure("makespan", "Comparison", _chart("makespan", charts.makespan, summaries)),
        Figure("throughput", "Comparison", _chart("throughput", charts.throughput, summaries)),
        Figure("overheads", "Comparison", _chart("overheads", charts.overhead_cdfs, plots)),
        Figure("payload", "Comparison", _chart("payload", charts.payload, plots)),
    ]
    for p in traces_with_figures(plots):
        for kind, build in (("gantt", charts.gantt), ("concurrency", charts.concurrency)):
            stem = f"{kind}-{_stem(p.label)}"
            found.append(Figure(stem, p.label, _chart(stem, build, p)))
    return [f for f in found if f.chart is not None]


def _vl_version() -> str:
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(key)))}</td>" for key, _ in columns)
        + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


SUMMARY_COLUMNS = [
    ("label", "trace"),
    ("app", "app"),
    ("executor", "executor"),
    ("workers", "workers"),
    ("tasks", "tasks"),
    ("makespan_s", "makespan (s)"),
    ("work_s", "work (s)"),
    ("critical_path.length_s", "critical path (s)"),
    ("critical_path.share_of_makespan", "CP / makespan"),
    ("parallelism", "parallelism"),
    ("efficiency", "efficiency"),
    ("throughput_per_s", "throughput (tasks/s)"),
    ("overheads.launch.median_s", "launch p50 (s)"),
    ("utilisation.mean_idle_fraction", "idle fraction"),
]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child { text-align: left; }
.figure { margin: 1.5em 0; }
"""


def html_report(result: Analysis, found: Sequence[Figure]) -> str:
    """The report page: tables of the analysis, then every figure, all inline."""
    import vl_convert as vlc

    flat = result.table().to_dicts()
    bundle = vlc.javascript_bundle(vl_version=_vl_version())  # type: ignore[call-arg]
    comparison = result.comparison
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>tapstrace analysis</title>",
        f"<style>{STYLE}</style>",
        f"<script>{bundle}</script>",
        "</head><body><h1>tapstrace analysis</h1>",
        f"<p>{len(result.summaries)} traces. Definitions and units: docs/analysis.md.</p>",
        "<h2>Traces</h2>",
        _table(flat, SUMMARY_COLUMNS),
    ]
    if comparison.height:
        parts += [
            "<h2>Comparison</h2>",
            _table(comparison.to_dicts(), [(c, c) for c in comparison.columns]),
        ]
    section = None
    for i, figure in enumerate(found):
        if figure.section != section:
            section = figure.section
            parts.append(f"<h2>{html.escape(section)}</h2>")
        chart = _chart(figure.stem, figure.chart.to_dict)
        if chart is None:
            continue
        spec = json.dumps(chart).replace("</", "<\\/")
        parts.append(
            f"<div class='figure' id='figure-{i}'></div>"
            f"<script type='application/json' class='vl-spec' data-figure='figure-{i}'>"
            f"{spec}</script>"
        )
    parts.append(f"<script>{EMBED_SCRIPT % json.dumps(EMBED_OPTIONS)}</script></body></html>")
    return "\n".join(parts)


def write_report(result: Analysis, out: Path, formats: Sequence[str]) -> list[Path]:
    """Write report.html and figures/STEM.png|svg under ``out``; return the files."""
    import vl_convert as vlc

    found = figures(result.summaries, result.plots)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if "html" in formats:
        page = out / "report.html"
        page.write_text(html_report(result, found), encoding="utf-8")
        written.append(page)
    images = [f for f in ("png", "svg") if f in formats]
    if images:
        folder = out / "figures"
        folder.mkdir(exist_ok=True)
        version = _vl_version()
        for figure in found:
            spec = _chart(figure.stem, figure.chart.to_dict)
            if spec is None:
                continue
            if "png" in images:
                png = _chart(
                    figure.stem, partial(vlc.vegalite_to_png, spec, vl_version=version, scale=2)
                )
                if png is not None:
                    path = folder / f"{figure.stem}.png"
                    path.write_bytes(png)
                    written.append(path)
            if "svg" in images:
                svg = _chart(figure.stem, partial(vlc.vegalite_to_svg, spec, vl_version=version))
                if svg is not None:
                    path = folder / f"{figure.stem}.svg"
                    path.write_text(svg, encoding="utf-8")
                    written.append(path)
    return written
