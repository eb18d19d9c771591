"""Writing the figures: a self-contained HTML report and PNG / SVG files (vl-convert).

The HTML report carries the Vega, Vega-Lite and Vega-Embed JavaScript inline (bundled
by vl-convert), so it opens with no network: no CDN, no external script or style sheet.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt

from tapstrace.analysis.plots import charts
from tapstrace.analysis.plots.data import TracePlots

if TYPE_CHECKING:
    from tapstrace.analysis.batch import Analysis

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


def figures(summaries: Sequence[dict[str, Any]], plots: Sequence[TracePlots]) -> list[Figure]:
    """Every chart of an analysis, cross-trace ones first (skipping empty ones)."""
    found = [
        Figure("makespan", "Comparison", charts.makespan(summaries)),
        Figure("throughput", "Comparison", charts.throughput(summaries)),
        Figure("overheads", "Comparison", charts.overhead_cdfs(plots)),
        Figure("payload", "Comparison", charts.payload(plots)),
    ]
    for p in plots:
        found.append(Figure(f"gantt-{_stem(p.label)}", p.label, charts.gantt(p)))
        found.append(Figure(f"concurrency-{_stem(p.label)}", p.label, charts.concurrency(p)))
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
        spec = json.dumps(figure.chart.to_dict()).replace("</", "<\\/")
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
            spec = figure.chart.to_dict()
            if "png" in images:
                path = folder / f"{figure.stem}.png"
                path.write_bytes(vlc.vegalite_to_png(spec, vl_version=version, scale=2))
                written.append(path)
            if "svg" in images:
                path = folder / f"{figure.stem}.svg"
                path.write_text(vlc.vegalite_to_svg(spec, vl_version=version), encoding="utf-8")
                written.append(path)
    return written
