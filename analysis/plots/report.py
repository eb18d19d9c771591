"""Writing the figures: a self-contained HTML report and PNG / SVG files (vl-convert).

The HTML report carries the Vega, Vega-Lite and Vega-Embed JavaScript inline (bundled
by vl-convert), so it opens with no network: no CDN, no external script or style sheet.

Layout: with several traces, an "Across traces" section (one row per trace, the grouped
comparison, where each makespan went, the cross-trace figures); then one section per
trace: its facts, where its makespan went, its Gantt and concurrency, failures (by status,
error type and function, and the first error messages), per-function and per-worker
tables, the recorded critical path task by task, and the run's configuration (collapsed).
``tapstrace compare`` writes a run-against-run page: the makespan difference by component,
the two Gantts on one time axis, per-function deltas, then both runs' sections.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt

from tapstrace.analysis.breakdown import PARTS
from tapstrace.analysis.overhead import COMPONENTS
from tapstrace.analysis.plots import charts
from tapstrace.analysis.plots.data import TracePlots
from tapstrace.analysis.summary import caveats
from tapstrace.analysis.units import (
    by_key,
    number,
    percent,
    rate,
    seconds,
    signed_seconds,
    size,
    title,
)

if TYPE_CHECKING:
    from tapstrace.analysis.batch import Analysis

log = logging.getLogger(__name__)

#: Embedding options: export buttons only (the editor and source links would go online).
EMBED_OPTIONS = {
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
    "renderer": "svg",
}

#: Most traces given a section of their own (facts, Gantt, concurrency, tables): the
#: first of each group (app, executor, workers), then the next ones in order; a page
#: with more would not load.
MAX_SECTIONS = 24
#: Rows of the critical-path table.
MAX_PATH_ROWS = 200

#: Renders every spec of the page into its figure's div; a failure is shown in the page.
EMBED_SCRIPT = """
for (const spec of document.querySelectorAll("script.vl-spec")) {
  const target = "#" + spec.dataset.figure;
  vegaEmbed(target, JSON.parse(spec.textContent), %s).catch((error) => {
    document.querySelector(target).textContent = "figure failed: " + error;
    console.error(error);
  });
}
"""


@dataclass(frozen=True)
class Figure:
    """One chart of the report, with the file stem it is saved under and the section
    it belongs to ("" for the cross-trace section, else the trace's label)."""

    stem: str
    section: str
    chart: Any

    @cached_property
    def spec(self) -> dict[str, Any] | None:
        """The chart's Vega-Lite spec, made (and validated) once for the page and the
        image files; None when it cannot be made."""
        return _chart(self.stem, self.chart.to_dict)


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "trace"


def traces_shown(summaries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The traces that get a section (all of them, up to :data:`MAX_SECTIONS`: the first
    of each group, then the next ones), in input order."""
    if len(summaries) <= MAX_SECTIONS:
        return list(summaries)
    groups: dict[tuple[Any, ...], int] = {}
    for i, s in enumerate(summaries):
        groups.setdefault((s["app"], s["executor"], s["workers"]), i)
    chosen = sorted(groups.values())[:MAX_SECTIONS]
    taken = set(chosen)
    rest = (i for i in range(len(summaries)) if i not in taken)
    chosen += [next(rest) for _ in range(MAX_SECTIONS - len(chosen))]
    return [summaries[i] for i in sorted(chosen)]


def _chart(stem: str, build: Any, *args: Any) -> Any:
    """``build(*args)``, or None (with a warning) when a chart cannot be built: one bad
    chart never stops the report."""
    try:
        return build(*args)
    except Exception as exc:
        log.warning("figure %s left out: %s: %s", stem, type(exc).__name__, exc)
        return None


def figures(summaries: Sequence[dict[str, Any]], plots: Sequence[TracePlots]) -> list[Figure]:
    """Every chart of an analysis, cross-trace ones first (skipping empty ones, charts
    that could not be built and comparison charts with a single group); per-trace ones
    for the traces that get a section (:func:`traces_shown`)."""
    several = len(summaries) > 1
    found = []
    if several:
        found += [
            Figure(stem, "", _chart(stem, build, list(data)))
            for stem, build, data in (
                ("breakdown", charts.breakdown, summaries),
                ("makespan", charts.makespan, summaries),
                ("throughput", charts.throughput, summaries),
                ("overheads", charts.overhead_cdfs, plots),
                ("payload", charts.payload, plots),
            )
        ]
    shown = {s["label"]: s for s in traces_shown(summaries)}
    for p in plots:
        if p.label not in shown:
            continue
        stem = _stem(p.label)
        per_trace: list[tuple[str, Callable[..., Any], Any]] = [
            ("gantt", charts.gantt, p),
            ("concurrency", charts.concurrency, p),
        ]
        if not several:
            per_trace += [
                ("breakdown", charts.breakdown, [shown[p.label]]),
                ("overheads", charts.overhead_cdfs, [p]),
                ("payload", charts.payload, [p]),
            ]
        for kind, build, data in per_trace:
            found.append(Figure(f"{kind}-{stem}", p.label, _chart(f"{kind}-{stem}", build, data)))
    return [f for f in found if f.chart is not None]


def _vl_version() -> str:
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


Column = tuple[str, str] | tuple[str, str, Callable[[Any], str]]


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], cls: str = "") -> str:
    """An HTML table; each cell formatted by its column's formatter, else by its key's
    unit (units.by_key)."""
    head = "".join(f"<th>{html.escape(c[1])}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            key = c[0]
            value = row.get(key)
            text = c[2](value) if len(c) == 3 else by_key(key, value)
            kind = "t" if isinstance(value, str) else "n"
            cells.append(f"<td class='{kind}'>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f" class='{cls}'" if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


SUMMARY_COLUMNS: list[Column] = [
    ("label", "trace"),
    ("app", "app"),
    ("executor", "executor"),
    ("workers", "workers"),
    ("tasks", "tasks"),
    ("makespan_s", "makespan"),
    ("work_s", "work"),
    ("critical_path.share_of_makespan", "CP share"),
    ("efficiency", "efficiency"),
    ("throughput_per_s", "throughput"),
    ("overheads.worker_wait.median_s", "wait p50"),
    ("overheads.launch.median_s", "launch p50"),
    ("failed_attempts", "failed"),
]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px;
       padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em;
     margin-top: 2em; } h3 { margin-top: 1.5em; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.55em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
table.facts td:first-child { font-weight: 600; background: #fafafa; }
td { max-width: 40em; overflow-wrap: break-word; }
td.n { white-space: nowrap; } td.t { text-align: left; }
.figure { margin: 1.2em 0; overflow-x: auto; max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
.bad { color: #b00020; font-weight: 600; }
details { margin: 0.8em 0; } summary { cursor: pointer; font-weight: 600; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""


class Page:
    """An HTML page being assembled: parts and embedded figures."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.count = 0

    def add(self, *parts: str) -> None:
        self.parts.extend(parts)

    def figure(self, figure: Figure) -> None:
        chart = figure.spec
        if chart is None:
            return
        spec = json.dumps(chart).replace("</", "<\\/")
        self.parts.append(
            f"<div class='figure' id='figure-{self.count}' data-stem='{figure.stem}'></div>"
            f"<script type='application/json' class='vl-spec' data-figure='figure-{self.count}'>"
            f"{spec}</script>"
        )
        self.count += 1

    def render(self) -> str:
        import vl_convert as vlc

        bundle = vlc.javascript_bundle(vl_version=_vl_version())  # type: ignore[call-arg]
        head = [
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{html.escape(self.title)}</title>",
            f"<style>{STYLE}</style>",
            f"<script>{bundle}</script>",
            "</head><body>",
        ]
        tail = f"<script>{EMBED_SCRIPT % json.dumps(EMBED_OPTIONS)}</script></body></html>"
        return "\n".join([*head, *self.parts, tail])


def _anchor(label: str) -> str:
    return "trace-" + _stem(label)


def _facts(summary: dict[str, Any]) -> str:
    status = ", ".join(f"{n} {s}" for s, n in summary["status"].items()) or "none"
    util = summary["utilisation"]
    data = summary["data"]
    client = summary["client"]
    if client["recorded"]:
        client_text = (
            f"busy {seconds(client['busy_s'])} (CPU {seconds(client['cpu_s'])}), blocked on "
            f"results {seconds(client['blocked_s'])}, waited before {client['waits']} "
            f"submissions ({client['control_edges']} control edges)"
        )
    else:
        client_text = "not recorded (trace schema before 1.2)"
    if client["phases"]:
        client_text += "; phases: " + ", ".join(
            f"{p['name']} {seconds(p['seconds'])} x{p['n']}" for p in client["phases"][:8]
        )
    rows = [
        ("app / executor", f"{summary['app'] or '?'} / {summary['executor'] or '?'}"),
        ("workers", f"{number(summary['workers'])} ({summary['workers_from']})"),
        ("tasks", f"{number(summary['tasks'])} ({number(summary['attempts'])} attempts: {status})"),
        ("makespan", seconds(summary["makespan_s"])),
        ("work", seconds(summary["work_s"])),
        ("throughput", rate(summary["throughput_per_s"])),
        ("efficiency", percent(summary["efficiency"])),
        ("parallelism", number(summary["parallelism"])),
        ("critical path", _path_text(summary["critical_path"])),
        ("running", f"mean {number(util['mean_running'])}, peak {number(util['peak_running'])}"),
        ("idle", f"{percent(util['mean_idle_fraction'])} per worker on average"),
        (
            "data",
            f"in {size(data['input_bytes'])}, out {size(data['output_bytes'])}, along "
            f"{number(data['edges'])} edges {size(data['edge_bytes'])}, out of band "
            f"{size(data['oob_bytes'])}",
        ),
        (
            "failures",
            f"{number(summary['failed_attempts'])} failed attempts, "
            f"{number(summary['retried_tasks'])} tasks retried",
        ),
        ("client", client_text),
        ("schema", summary["schema_version"] or "?"),
    ]
    rows += caveats(summary)
    if summary["partial"]:
        rows.append(("state", "partial trace: the run did not finish it"))
    body = "".join(
        f"<tr><td>{html.escape(k)}</td><td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table class='facts'><tbody>{body}</tbody></table>"


def _path_text(path: dict[str, Any]) -> str:
    if path["length_s"] is None:
        return f"not computed ({path['reason']})"
    return (
        f"{path['tasks']} tasks, {seconds(path['length_s'])} "
        f"({percent(path['share_of_makespan'])} of the makespan, execution times)"
    )


def _breakdown_table(summary: dict[str, Any]) -> str:
    result = summary["breakdown"]
    if result["reason"]:
        return (
            f"<p class='note'>Makespan breakdown not computed: {html.escape(result['reason'])}.</p>"
        )
    span = result["makespan_s"] or 0.0
    rows = []
    for part, label in PARTS.items():
        value = result["parts_s"].get(part, 0.0)
        if part == "client" and not result["client_recorded"]:
            rows.append({"label": label, "time": "not recorded", "share": ""})
            continue
        if not value and part in ("unrecorded", "retries", "other"):
            continue
        rows.append(
            {
                "label": label,
                "time": seconds(value),
                "share": percent(value / span if span else None),
            }
        )
    rows.append({"label": "makespan", "time": seconds(span), "share": "100.0%"})
    return _table(rows, [("label", "component"), ("time", "time"), ("share", "share")])


def _failures(summary: dict[str, Any]) -> str:
    groups = summary["failure_groups"]
    status = summary["status"]
    bad = {s: n for s, n in status.items() if s != "ok"}
    if not groups and not bad:
        return "<h3>Failures</h3><p class='note'>No attempt failed.</p>"
    parts = ["<h3>Failures</h3>"]
    final = ", ".join(f"{n} {s}" for s, n in bad.items()) or "none"
    parts.append(
        f"<p><span class='bad'>{number(summary['failed_attempts'])} failed attempts</span>, "
        f"{number(summary['retried_tasks'])} tasks retried; tasks that did not finish ok: "
        f"{html.escape(final)}.</p>"
    )
    by_type: dict[tuple[str, str], int] = {}
    for row in groups:
        key = (row["status"], row["error_type"] or "-")
        by_type[key] = by_type.get(key, 0) + row["attempts"]
    type_rows = [{"status": s, "error": e, "attempts": n} for (s, e), n in by_type.items()]
    parts.append("<p>By status and error type:</p>")
    parts.append(
        _table(type_rows, [("status", "status"), ("error", "error type"), ("attempts", "attempts")])
    )
    parts.append("<p>By function:</p>")
    parts.append(
        "<div class='scroll'>"
        + _table(
            groups,
            [
                ("status", "status"),
                ("error_type", "error type"),
                ("name", "function"),
                ("attempts", "attempts"),
                ("tasks", "tasks"),
                ("retried_ok", "later ok"),
                ("first_message", "first message"),
            ],
        )
        + "</div>"
    )
    examples = summary["error_examples"]
    if examples:
        parts.append("<p>First errors:</p>")
        parts.append(
            "<div class='scroll'>"
            + _table(
                examples,
                [
                    ("at", "at", seconds),
                    ("task_id", "task"),
                    ("attempt", "attempt"),
                    ("name", "function"),
                    ("status", "status"),
                    ("error_type", "error type"),
                    ("error_message", "message", lambda v: (v or "")[:300]),
                    ("worker", "worker"),
                ],
            )
            + "</div>"
        )
    return "".join(parts)


def _functions(summary: dict[str, Any]) -> str:
    rows = sorted(summary["functions"], key=lambda r: -(r["work_s"] or 0))
    columns: list[Column] = [
        ("name", "function"),
        ("tasks", "tasks"),
        ("attempts", "attempts"),
        ("ok", "ok"),
        ("work_s", "work"),
        ("mean_execution_s", "mean execution"),
    ]
    columns += [(f"{c}_median_s", f"{c.replace('_', ' ')} p50") for c in COMPONENTS]
    return "<h3>By function</h3><div class='scroll'>" + _table(rows, columns) + "</div>"


def _workers(summary: dict[str, Any]) -> str:
    rows = summary["workers_detail"]
    if not rows:
        return ""
    columns: list[Column] = [
        ("worker", "worker"),
        ("tasks", "attempts"),
        ("busy_s", "busy"),
        ("idle_s", "idle"),
        ("idle_fraction", "idle share"),
        ("mean_running", "mean running"),
    ]
    note = ""
    if len(rows) > 200:
        note = f"<p class='note'>200 of {len(rows)} workers (all in --out workers.csv).</p>"
    return "<h3>By worker</h3><div class='scroll'>" + _table(rows[:200], columns) + f"</div>{note}"


def _critical(summary: dict[str, Any]) -> str:
    result = summary["breakdown"]
    rows = result["path"]
    if not rows:
        return ""
    client = "client" if result["client_recorded"] else "unrecorded"
    columns: list[Column] = [
        ("task_id", "task"),
        ("name", "function"),
        ("worker", "worker"),
        ("released_by", "released by"),
        (client, "client" if client == "client" else "before submission"),
    ]
    columns += [
        (p, PARTS[p].split(" (")[0])
        for p in ("engine", "queueing", "worker_wait", "launch", "execution", "return", "retries")
    ]
    note = (
        f"<p class='note'>The chain of events that set the makespan, first to last "
        f"({result['path_tasks']} tasks; released by: data = its last parent's result, "
        "client = the client's submission after the results it waited on, start = the "
        "run's first submissions). Each row's times sum to its stretch of the makespan.</p>"
    )
    if result["path_tasks"] > len(rows):
        note += f"<p class='note'>First {len(rows)} of {result['path_tasks']} tasks.</p>"
    fmt: list[Column] = [
        (c[0], c[1], seconds) if c[0] not in ("task_id", "name", "worker", "released_by") else c
        for c in columns
    ]
    return "<h3>Critical path</h3>" + note + "<div class='scroll'>" + _table(rows, fmt) + "</div>"


def _config(summary: dict[str, Any]) -> str:
    config = summary.get("config") or {}
    if not config:
        return (
            "<details><summary>Run configuration</summary>"
            "<p class='note'>Not recorded.</p></details>"
        )
    text = json.dumps(config, indent=2, default=str)
    return (
        "<details><summary>Run configuration</summary>"
        "<p class='note'>As recorded in the trace (JSON form of its TOML config; "
        "<code>tapstrace run --config</code> with the run directory's config.toml "
        f"reproduces the run).</p><pre>{html.escape(text)}</pre></details>"
    )


def _trace_section(page: Page, summary: dict[str, Any], found: Sequence[Figure]) -> None:
    label = summary["label"]
    page.add(f"<h2 id='{_anchor(label)}'>Trace: {html.escape(label)}</h2>")
    if summary["path"]:
        page.add(f"<p class='note'>{html.escape(summary['path'])}</p>")
    page.add(_facts(summary), "<h3>Where the makespan went</h3>", _breakdown_table(summary))
    for figure in found:
        if figure.section == label:
            page.figure(figure)
    page.add(
        _failures(summary),
        _functions(summary),
        _workers(summary),
        _critical(summary),
        _config(summary),
    )


def html_report(result: Analysis, found: Sequence[Figure]) -> str:
    """The report page: the cross-trace section, then a section per trace."""
    summaries = result.summaries
    page = Page("tapstrace report")
    page.add("<h1>tapstrace report</h1>")
    names = ", ".join(s["label"] for s in summaries[:6]) + (" ..." if len(summaries) > 6 else "")
    page.add(
        f"<p class='note'>{len(summaries)} trace{'s' if len(summaries) != 1 else ''}: "
        f"{html.escape(names)}. Times in seconds from each run's first submission; "
        "definitions and units: docs/analysis.md.</p>"
    )
    shown = traces_shown(summaries)
    if len(summaries) > 1:
        links = "".join(
            f"<a href='#{_anchor(s['label'])}'>{html.escape(s['label'])}</a>" for s in shown
        )
        page.add(f"<nav>{links}</nav>")
        page.add("<h2 id='across'>Across traces</h2>")
        page.add(
            "<div class='scroll'>" + _table(result.table().to_dicts(), SUMMARY_COLUMNS) + "</div>"
        )
        comparison = result.comparison
        ratios = any(c.endswith("_ratio") for c in comparison.columns)
        grouped = comparison.height and int(comparison["traces"].max() or 0) > 1
        if grouped or ratios:
            page.add("<h3>Groups</h3><p class='note'>Means over the traces of each group.</p>")
            columns = [(c, title(c)) for c in comparison.columns]
            page.add("<div class='scroll'>" + _table(comparison.to_dicts(), columns) + "</div>")
        for figure in found:
            if figure.section == "":
                page.figure(figure)
    for summary in shown:
        _trace_section(page, summary, found)
    if len(summaries) > len(shown):
        page.add(
            f"<p class='note'>Sections for {len(shown)} of {len(summaries)} traces (the first "
            "of each group, then in order); analyse fewer traces (or filter) for the others.</p>"
        )
    return page.render()


def comparison_report(result: Analysis, diff: dict[str, Any], found: Sequence[Figure]) -> str:
    """The run-against-run page of ``tapstrace compare``."""
    a, b = result.summaries
    span = diff["makespan_s"]
    page = Page(f"tapstrace compare: {diff['b']} vs {diff['a']}")
    page.add("<h1>Run B against run A</h1>")
    page.add(
        _table(
            [
                {
                    "run": "A",
                    "trace": a["label"],
                    "executor": a["executor"],
                    "workers": a["workers"],
                    "makespan_s": a["makespan_s"],
                    "path": a["path"],
                },
                {
                    "run": "B",
                    "trace": b["label"],
                    "executor": b["executor"],
                    "workers": b["workers"],
                    "makespan_s": b["makespan_s"],
                    "path": b["path"],
                },
            ],
            [
                ("run", "run"),
                ("trace", "trace"),
                ("executor", "executor"),
                ("workers", "workers"),
                ("makespan_s", "makespan"),
                ("path", "file"),
            ],
        )
    )
    ratio = f" ({span['ratio']:.2f}x A)" if span["ratio"] else ""
    page.add(
        f"<p>B - A = <b>{html.escape(signed_seconds(span['delta']))}</b>{ratio}. "
        "Each run's makespan is cut into the same components along its recorded critical "
        "path; the differences below add up to the measured difference.</p>"
    )
    for note in diff["notes"]:
        page.add(f"<p class='note'>{html.escape(note)}</p>")
    rows = [r for r in diff["parts"] if r["a_s"] or r["b_s"]]
    rows.append({"label": "makespan", "a_s": span["a"], "b_s": span["b"], "delta_s": span["delta"]})
    page.add("<h2>Where the difference comes from</h2>")
    page.add(
        _table(
            rows,
            [
                ("label", "component"),
                ("a_s", "A"),
                ("b_s", "B"),
                ("delta_s", "B - A", signed_seconds),
            ],
        )
    )
    for figure in found:
        if figure.section == "versus":
            page.figure(figure)
    page.add(
        "<h2>By function</h2><p class='note'>Mean execution time and the median of "
        "each overhead component, per function name.</p>"
    )
    columns: list[Column] = [("name", "function"), ("tasks_a", "tasks A"), ("tasks_b", "tasks B")]
    columns += [
        ("mean_execution_s_a", "execution A", seconds),
        ("mean_execution_s_b", "execution B", seconds),
        ("mean_execution_s_delta", "execution B-A", signed_seconds),
    ]
    columns += [
        (f"{c}_median_s_delta", f"{c.replace('_', ' ')} B-A", signed_seconds) for c in COMPONENTS
    ]
    page.add("<div class='scroll'>" + _table(diff["functions"], columns) + "</div>")
    for summary in (a, b):
        _trace_section(page, summary, [f for f in found if f.section == summary["label"]])
    return page.render()


def comparison_figures(result: Analysis, diff: dict[str, Any]) -> list[Figure]:
    """The figures of the run-against-run page."""
    first, second = result.plots
    found = [
        Figure("difference", "versus", charts.difference(diff)),
        Figure("breakdown", "versus", charts.breakdown(list(result.summaries))),
        Figure("gantts", "versus", charts.aligned_gantts(first, second)),
        Figure("overheads", "versus", charts.overhead_cdfs([first, second])),
        Figure("payload", "versus", charts.payload([first, second])),
    ]
    for p in (first, second):
        found.append(Figure(f"concurrency-{_stem(p.label)}", p.label, charts.concurrency(p)))
    return [f for f in found if f.chart is not None]


def _write(
    found: Sequence[Figure], page: str | None, out: Path, formats: Sequence[str]
) -> list[Path]:
    import vl_convert as vlc

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if page is not None:
        path = out / "report.html"
        path.write_text(page, encoding="utf-8")
        written.append(path)
    images = [f for f in ("png", "svg") if f in formats]
    if images:
        folder = out / "figures"
        folder.mkdir(exist_ok=True)
        version = _vl_version()
        for figure in found:
            spec = figure.spec
            if spec is None:
                continue
            # One Vega render per figure: the PNG is rasterised from the SVG when both
            # are wanted (rendering the spec twice cost a third of a 1,000-trace --plot).
            svg = None
            if "svg" in images:
                svg = _chart(figure.stem, partial(vlc.vegalite_to_svg, spec, vl_version=version))
                if svg is not None:
                    path = folder / f"{figure.stem}.svg"
                    path.write_text(svg, encoding="utf-8")
                    written.append(path)
            if "png" in images:
                if svg is not None:
                    render = partial(vlc.svg_to_png, svg, scale=2)
                else:
                    render = partial(vlc.vegalite_to_png, spec, vl_version=version, scale=2)
                png = _chart(figure.stem, render)
                if png is not None:
                    path = folder / f"{figure.stem}.png"
                    path.write_bytes(png)
                    written.append(path)
    return written


def write_report(result: Analysis, out: Path, formats: Sequence[str]) -> list[Path]:
    """Write report.html and figures/STEM.png|svg under ``out``; return the files."""
    found = figures(result.summaries, result.plots)
    page = html_report(result, found) if "html" in formats else None
    return _write(found, page, out, formats)


def write_comparison(
    result: Analysis, diff: dict[str, Any], out: Path, formats: Sequence[str]
) -> list[Path]:
    """Write the run-against-run report.html (and figures) under ``out``."""
    found = comparison_figures(result, diff)
    page = comparison_report(result, diff, found) if "html" in formats else None
    return _write(found, page, out, formats)


def summary_html(summary: dict[str, Any]) -> str:
    """A trace's facts and makespan breakdown as an HTML fragment (notebooks)."""
    return (
        f"<div><b>{html.escape(summary['label'])}</b>{_facts(summary)}"
        f"<p><b>Where the makespan went</b></p>{_breakdown_table(summary)}</div>"
    )
