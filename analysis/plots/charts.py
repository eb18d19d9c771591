"""The figures, as altair charts (every axis titled with its unit).

Every function takes plot datasets (``plot_data``) or summaries, and also, for use in a
notebook, a ``Trace``, a path or prepared ``Tasks`` (see :func:`as_plots` and
:func:`as_summaries`), and returns an altair chart (None when there is nothing to draw).

Per trace: a Gantt timeline per worker coloured by function, failed attempts outlined
by status with the error in the tooltip, the critical path outlined and the client's
lanes on top; the number of running tasks over time; where the makespan went. Across
traces (colour is the trace wherever traces are compared; a chart with a single group
is left out): makespan breakdown per trace, overhead CDFs, makespan by app and executor,
throughput against workers and round-trip time against payload size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl

from tapstrace.analysis.breakdown import PARTS
from tapstrace.analysis.overhead import COMPONENTS
from tapstrace.analysis.plots.data import MAX_MARKS, TracePlots, plot_data
from tapstrace.analysis.units import seconds

TIME_AXIS = "time since first submission (s)"
#: Log axes start here: smaller values (zero, or negative from clock skew) sit on it.
FLOOR_S = 1e-6
WIDTH = 640
#: Panels per row in faceted charts (each PANEL px wide: the page stays under 1000 px).
FACET_COLUMNS = 3
PANEL = 220
#: Above this many traces, cross-trace charts colour by group instead of by trace.
MAX_TRACE_COLOURS = 20
#: Non-ok statuses and how they are drawn (outline colour).
STATUS_COLOURS = {"failed": "#c00000", "cancelled": "#555555", "dependency-failed": "#8e24aa"}
#: Client lanes: busy and blocked time, then the app's marked phases.
CLIENT_COLOURS = {"busy": "#3b3b3b", "blocked": "#d9d9d9"}
PHASE_SCHEME = "set2"
#: Makespan components, in stacking order, and their colours.
PART_COLOURS = {
    "client": "#3b3b3b",
    "unrecorded": "#bdbdbd",
    "engine": "#9467bd",
    "queueing": "#c5b0d5",
    "worker_wait": "#ff7f0e",
    "launch": "#1f77b4",
    "execution": "#2ca02c",
    "return": "#aec7e8",
    "retries": "#d62728",
    "other": "#e7e7e7",
}

#: What a chart function accepts: plot datasets, prepared Tasks, a Trace or a path.
Plottable = Any


def as_plots(source: Plottable) -> TracePlots:
    """Plot datasets from a TracePlots, prepared Tasks, a Trace or a trace path."""
    if isinstance(source, TracePlots):
        return source
    from tapstrace.analysis.tasks import as_tasks
    from tapstrace.trace.reader import read_trace

    if isinstance(source, str | os.PathLike):
        source = read_trace(Path(source), warn=False)
    tasks = as_tasks(source)
    return tasks.cached("plot_data", lambda: plot_data(tasks))


def as_summaries(sources: Sequence[Any] | Any) -> list[dict[str, Any]]:
    """Summaries (``summarize``) from summaries, Traces, Tasks or paths."""
    from tapstrace.analysis.summary import summarize
    from tapstrace.trace.reader import read_trace

    items = sources if isinstance(sources, list | tuple) else [sources]
    out = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
            continue
        if isinstance(item, str | os.PathLike):
            item = read_trace(Path(item), warn=False)
        out.append(summarize(item))
    return out


def _many(sources: Sequence[Any] | Any) -> list[TracePlots]:
    items = sources if isinstance(sources, list | tuple) else [sources]
    return [as_plots(s) for s in items]


def _functions() -> alt.Scale:
    return alt.Scale(scheme="tableau20")


def _trace_key(labels: Sequence[str], groups: Sequence[str]) -> tuple[str, str, list[str]]:
    """What colours a cross-trace chart: the trace, or its group when there are too
    many traces to tell apart by colour. Returns the field, its title and its domain."""
    if len(labels) <= MAX_TRACE_COLOURS:
        return "trace", "trace", list(dict.fromkeys(labels))
    return "group", "app / executor / workers", sorted(set(groups))


def _group(app: str | None, executor: str | None, workers: int | None) -> str:
    return f"{app or '?'} / {executor or '?'} / {workers if workers is not None else '?'}"


def _colour(field: str, title: str, domain: list[str]) -> alt.Color:
    scheme: Any = "tableau10" if len(domain) <= 10 else "category20"
    return alt.Color(
        f"{field}:N",
        title=title,
        scale=alt.Scale(domain=domain, scheme=scheme),
        legend=alt.Legend(labelLimit=260, symbolLimit=40),
    )


def gantt(
    source: Plottable, domain: tuple[float, float] | None = None, title: str | None = None
) -> alt.TopLevelMixin | None:
    """Tasks per worker over time, coloured by function; failed, cancelled and
    dependency-failed attempts outlined in their status colour (error in the tooltip);
    the critical path outlined in black; the client's lanes on top when recorded.

    ``domain`` fixes the time axis (to align the Gantts of two runs)."""
    plots = as_plots(source)
    if plots.gantt.height == 0:
        return None
    workers = plots.gantt["row"].unique().sort().to_list()
    client = plots.client
    lanes = [lane for lane in ("phases", "client") if lane in set(client["lane"].to_list())]
    lane_rows = {"phases": "client phases", "client": "client"}
    order = [lane_rows[lane] for lane in lanes] + workers
    height = int(min(max(len(order) * 20, 90), 600))
    y = alt.Y("row:N", title=plots.gantt_rows, sort=order, axis=alt.Axis(labelLimit=160))
    scale = alt.Scale(domain=list(domain), nice=False) if domain else alt.Undefined
    axis = alt.Axis(tickCount=10, labelOverlap="greedy", labelSeparation=6)
    x = alt.X("start:Q", title=TIME_AXIS, scale=scale, axis=axis)
    color = alt.Color(
        "function:N",
        title="function",
        scale=_functions(),
        legend=alt.Legend(labelLimit=200, symbolLimit=30),
    )
    statuses = [s for s in STATUS_COLOURS if s in set(plots.failures["status"].to_list())]
    status_scale = alt.Scale(domain=statuses, range=[STATUS_COLOURS[s] for s in statuses])
    start_tip = alt.Tooltip("start:Q", format=".4f", title="start (s)")
    end_tip = alt.Tooltip("end:Q", format=".4f", title="end (s)")
    attempt_tips: list[str | alt.Tooltip] = [
        "task_id:Q",
        "attempt:Q",
        "function:N",
        "status:N",
        "error:N",
        "row:N",
        start_tip,
        end_tip,
    ]
    if plots.gantt_aggregated:
        bars = (
            alt.Chart(plots.gantt)
            .mark_rect()
            .encode(
                x=x,
                x2="end:Q",
                y=y,
                color=color,
                opacity=alt.Opacity(
                    "busy:Q", title="busy share of bin", scale=alt.Scale(domain=[0, 1])
                ),
                tooltip=["row:N", "function:N", alt.Tooltip("busy:Q", format=".0%")],
            )
        )
        subtitle = [
            f"{plots.tasks} tasks in time bins (colour: the function that ran longest in the "
            "bin); black line: critical path",
            "outlined: attempts that did not succeed",
        ]
    else:
        bars = (
            alt.Chart(plots.gantt)
            .mark_bar(height={"band": 0.8})
            .encode(
                x=x,
                x2="end:Q",
                y=y,
                color=color,
                opacity=alt.condition(alt.datum.status == "ok", alt.value(1.0), alt.value(0.45)),
                tooltip=attempt_tips,
            )
        )
        subtitle = [
            f"{plots.tasks} tasks; black outline: critical path (execution times)",
            "dashed outline and ✕ in the status colour: attempts that did not succeed",
        ]
    layers: list[Any] = [bars]
    if plots.failures.height:
        failed = alt.Chart(plots.failures).encode(
            x=x,
            y=y,
            tooltip=attempt_tips,
        )
        layers.append(
            failed.mark_bar(
                height={"band": 0.8}, fillOpacity=0, strokeWidth=2, strokeDash=[3, 2]
            ).encode(x2="end:Q", stroke=alt.Stroke("status:N", title="status", scale=status_scale))
        )
        layers.append(
            failed.mark_point(shape="cross", filled=True, size=70, angle=45).encode(
                x=alt.X("end:Q", title=TIME_AXIS, scale=scale, axis=axis),
                fill=alt.Fill("status:N", title="status", scale=status_scale),
            )
        )
    if plots.critical.height:
        path = alt.Chart(plots.critical).encode(
            x=x, x2="end:Q", y=y, tooltip=["task_id:Q", "function:N"]
        )
        if plots.gantt_aggregated:  # a line through the row: outlines would hide the bins
            layers.append(path.mark_rule(color="black", strokeWidth=2))
        else:
            layers.append(
                path.mark_bar(height={"band": 0.8}, fillOpacity=0, stroke="black", strokeWidth=1.5)
            )
    if lanes:
        data = client.with_columns(
            pl.col("lane").replace(lane_rows).alias("row"),
            (pl.col("end") - pl.col("start")).alias("seconds"),
        )
        phases = sorted(set(data.filter(pl.col("lane") == "phases")["state"].to_list()))
        states = [s for s in CLIENT_COLOURS if s in set(data["state"].to_list())]
        palette = ["#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494"]
        colours = [CLIENT_COLOURS[s] for s in states] + [
            palette[i % len(palette)] for i in range(len(phases))
        ]
        layers.append(
            alt.Chart(data)
            .mark_bar(height={"band": 0.8})
            .encode(
                x=x,
                x2="end:Q",
                y=y,
                color=alt.Color(
                    "state:N",
                    title="client",
                    scale=alt.Scale(domain=states + phases, range=colours),
                ),
                tooltip=[
                    "row:N",
                    "state:N",
                    alt.Tooltip("seconds:Q", format=".4f"),
                    start_tip,
                    end_tip,
                ],
            )
        )
        subtitle.append("top rows: the client (busy, blocked on results, marked phases)")
    elif not plots.client_recorded:
        subtitle.append("client not recorded (trace schema before 1.2)")
    chart = alt.layer(*layers)
    if lanes:
        chart = chart.resolve_scale(color="independent")
    return chart.properties(
        title=alt.Title(title or f"Gantt timeline: {plots.label}", subtitle=subtitle),
        width=WIDTH,
        height=height,
    )


def concurrency(source: Plottable) -> alt.TopLevelMixin | None:
    """Tasks running over time (time-weighted mean per bin), with the worker count."""
    plots = as_plots(source)
    if plots.concurrency.height == 0:
        return None
    line = (
        alt.Chart(plots.concurrency)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("start:Q", title=TIME_AXIS),
            y=alt.Y("mean_running:Q", title="tasks running (mean per time bin)"),
            tooltip=[
                alt.Tooltip("start:Q", format=".3f"),
                alt.Tooltip("mean_running:Q", format=".2f"),
                "peak_running:Q",
            ],
        )
    )
    layers: list[Any] = [line]
    if plots.workers:
        layers.append(
            alt.Chart(pl.DataFrame({"workers": [plots.workers]}))
            .mark_rule(strokeDash=[4, 4], color="grey")
            .encode(y="workers:Q")
        )
    return alt.layer(*layers).properties(
        title=alt.Title(f"Concurrency over time: {plots.label}", subtitle="dashed: worker slots"),
        width=WIDTH,
        height=200,
    )


def breakdown(sources: Sequence[Any] | Any) -> alt.TopLevelMixin | None:
    """Where each trace's makespan went: one stacked bar per trace, a segment per
    component of the makespan (client, engine, queueing, waiting for a worker, launch,
    execution, return, retries)."""
    summaries = as_summaries(sources)
    bars = [
        (s["label"], s["makespan_s"], s["breakdown"]["parts_s"])
        for s in summaries
        if s["breakdown"]["parts_s"] and s["makespan_s"]
    ]
    grouped = len(bars) * len(PARTS) > MAX_MARKS or len(bars) > 60  # too many bars
    if grouped:  # one bar per app / executor / workers group: the mean of its traces
        groups: dict[str, list[tuple[float, dict[str, float]]]] = {}
        for s in summaries:
            if s["breakdown"]["parts_s"] and s["makespan_s"]:
                key = _group(s["app"], s["executor"], s["workers"])
                groups.setdefault(key, []).append((s["makespan_s"], s["breakdown"]["parts_s"]))
        bars = [
            (
                f"{key} ({len(runs)} traces)",
                sum(m for m, _ in runs) / len(runs),
                {p: sum(parts.get(p, 0.0) for _, parts in runs) / len(runs) for p in PARTS},
            )
            for key, runs in sorted(groups.items())
        ]
    rows = [
        {
            "trace": f"{label} ({seconds(span)})",
            "part": p,
            "component": PARTS[p],
            "order": i,
            "seconds": parts.get(p, 0.0),
            "share": parts.get(p, 0.0) / span,
        }
        for label, span, parts in bars
        for i, p in enumerate(PARTS)
        if parts.get(p)
    ]
    if not rows:
        return None
    data = pl.DataFrame(rows)
    present = [p for p in PARTS if p in set(data["part"].to_list())]
    unrecorded = [s["label"] for s in summaries if not s["breakdown"]["client_recorded"]]
    spans = [span for _, span, _ in bars]
    share = len(spans) > 2 and max(spans) > 10 * min(spans)  # scales too far apart
    labels = [f"{label} ({seconds(span)})" for label, span, _ in bars]
    subtitle = "along each run's recorded critical path; the segments sum to the makespan"
    if grouped:
        subtitle += "; one bar per group: the mean of its traces"
    if share:
        subtitle += " (shown as shares: the makespans differ more than tenfold)"
    if unrecorded:
        subtitle += f"; client not recorded in {len(unrecorded)} of {len(summaries)} traces"
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("trace:N", title=None, sort=labels, axis=alt.Axis(labelLimit=220)),
            x=alt.X(
                "seconds:Q",
                title="share of the makespan" if share else "makespan (s)",
                stack="normalize" if share else "zero",
                axis=alt.Axis(labelOverlap="greedy", format="%" if share else ""),
            ),
            color=alt.Color(
                "component:N",
                title="component",
                sort=[PARTS[p] for p in present],
                scale=alt.Scale(
                    domain=[PARTS[p] for p in present], range=[PART_COLOURS[p] for p in present]
                ),
                legend=alt.Legend(labelLimit=260),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                "trace:N",
                "component:N",
                alt.Tooltip("seconds:Q", format=".4f"),
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
        .properties(
            title=alt.Title("Where the makespan went", subtitle=subtitle),
            width=WIDTH,
            height=alt.Step(22),
        )
    )


def difference(diff: dict[str, Any]) -> alt.TopLevelMixin | None:
    """The makespan difference of two runs (B - A) by component, with the total."""
    rows = [
        {"component": r["label"], "delta_s": r["delta_s"], "a_s": r["a_s"], "b_s": r["b_s"]}
        for r in diff["parts"]
        if r["delta_s"] is not None and (r["a_s"] or r["b_s"])
    ]
    if not rows:
        return None
    total = diff["makespan_s"]["delta"]
    rows.append(
        {
            "component": "makespan difference (sum)",
            "delta_s": total,
            "a_s": diff["makespan_s"]["a"],
            "b_s": diff["makespan_s"]["b"],
        }
    )
    data = pl.DataFrame(rows).with_columns(
        pl.when(pl.col("delta_s") > 0)
        .then(pl.lit("B slower"))
        .otherwise(pl.lit("B faster"))
        .alias("effect")
    )
    order = [r["component"] for r in rows]
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("component:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("delta_s:Q", title="B - A (s): positive = B spent longer"),
            color=alt.Color(
                "effect:N",
                title=None,
                scale=alt.Scale(domain=["B faster", "B slower"], range=["#2ca02c", "#d62728"]),
            ),
            tooltip=[
                "component:N",
                alt.Tooltip("a_s:Q", format=".4f", title="A (s)"),
                alt.Tooltip("b_s:Q", format=".4f", title="B (s)"),
                alt.Tooltip("delta_s:Q", format="+.4f", title="B - A (s)"),
            ],
        )
        .properties(
            title=alt.Title(
                f"Makespan difference by component: {diff['b']} - {diff['a']}",
                subtitle="each run's makespan cut along its recorded critical path; "
                "the bars sum to the measured difference",
            ),
            width=WIDTH - 140,
            height=alt.Step(22),
        )
    )


def aligned_gantts(a: Plottable, b: Plottable) -> alt.TopLevelMixin | None:
    """The Gantt charts of two runs one above the other on one time axis."""
    first, second = as_plots(a), as_plots(b)
    ends = [p.end for p in (first, second) if p.end is not None]
    if not ends:
        return None
    domain = (0.0, max(ends))
    charts = [
        gantt(p, domain, f"{tag}: {p.label} ({p.executor or '?'})")
        for tag, p in (("A", first), ("B", second))
    ]
    present: list[Any] = [c for c in charts if c is not None]
    if not present:
        return None
    return alt.vconcat(*present).resolve_scale(color="shared")


def overhead_cdfs(sources: Sequence[Any] | Any) -> alt.TopLevelMixin | None:
    """Cumulative distribution of each overhead component, one line per trace, coloured
    by trace (by group beyond 20 traces); panels wrap three to a row."""
    all_plots = _many(sources)
    labels = [p.label for p in all_plots]
    groups = [_group(p.app, p.executor, p.workers) for p in all_plots]
    field, legend, domain = _trace_key(labels, groups)
    frames = [
        p.overheads.with_columns(
            pl.lit(p.label).alias("trace"),
            pl.lit(p.executor or "?").alias("executor"),
            pl.lit(g).alias("group"),
        )
        for p, g in zip(all_plots, groups, strict=True)
        if p.overheads.height
    ]
    if not frames:
        return None
    data = pl.concat(frames)
    subtitle = "one line per trace"
    if field == "group":  # too many lines: the quantile-averaged CDF of each group
        data = (
            data.group_by("group", "component", "fraction")
            .agg(pl.col("seconds").mean(), pl.col("trace").n_unique().alias("traces"))
            .with_columns(pl.col("group").alias("trace"), pl.lit("").alias("executor"))
            .sort("group", "component", "fraction")
        )
        subtitle = "one line per group: the mean of its traces' quantiles"
    if data.height > MAX_MARKS:  # fewer quantile points per line, evenly spaced, ends kept
        lines = data.select("trace", "component").unique().height
        points = int(data.group_by("trace", "component").len()["len"].max() or 0)
        keep = max(MAX_MARKS // max(lines, 1), 2)
        chosen = np.unique(np.round(np.linspace(0, points - 1, keep)).astype(np.int64))
        index = pl.int_range(pl.len()).over("trace", "component")
        last = pl.len().over("trace", "component") - 1
        data = data.filter(index.is_in(chosen.tolist()) | (index == last))
    data = data.with_columns(pl.col("seconds").clip(lower_bound=FLOOR_S).alias("shown"))
    present = [c for c in COMPONENTS if c in set(data["component"].to_list())]
    chart = (
        alt.Chart(data)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("shown:Q", title="overhead (s, log scale)", scale=alt.Scale(type="log")),
            y=alt.Y("fraction:Q", title="fraction of tasks"),
            color=_colour(field, legend, domain),
            detail="trace:N",
            tooltip=[
                "trace:N",
                "executor:N",
                alt.Tooltip("seconds:Q", format=".6f"),
                alt.Tooltip("fraction:Q", format=".2f"),
            ],
        )
        .properties(width=PANEL, height=170)
    )
    return chart.facet(
        facet=alt.Facet("component:N", sort=present, title="overhead component"),
        columns=FACET_COLUMNS,
    ).properties(
        title=alt.Title(
            "Scheduler overhead per task",
            subtitle=f"{subtitle}; values under 1 µs (or negative: clock skew) at 1 µs",
        )
    )


def _facts(summaries: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """One row per trace: the facts the comparison figures plot."""
    return pl.DataFrame(
        [
            {
                "trace": s["label"],
                "app": s["app"] or "?",
                "executor": s["executor"] or "?",
                "workers": s["workers"],
                "makespan_s": s["makespan_s"],
                "throughput_per_s": s["throughput_per_s"],
            }
            for s in summaries
        ],
        schema={
            "trace": pl.String,
            "app": pl.String,
            "executor": pl.String,
            "workers": pl.Int64,
            "makespan_s": pl.Float64,
            "throughput_per_s": pl.Float64,
        },
    )


def _wrap(chart: Any, apps: int, title: str) -> alt.TopLevelMixin:
    """One panel per app, wrapping three to a row (no facet for a single app)."""
    if apps <= 1:
        return chart.properties(title=title)
    return chart.facet(facet=alt.Facet("app:N", title="app"), columns=FACET_COLUMNS).properties(
        title=title
    )


def makespan(sources: Sequence[Any] | Any) -> alt.TopLevelMixin | None:
    """Mean makespan by executor, one panel per app, a bar per worker count (range: the
    fastest and slowest trace). Left out unless some app ran in two groups or more."""
    summaries = as_summaries(sources)
    runs = _facts(summaries).filter(pl.col("makespan_s").is_not_null())
    groups = runs.group_by("app", "executor", "workers").agg(
        pl.col("makespan_s").mean().alias("mean_s"),
        pl.col("makespan_s").min().alias("min_s"),
        pl.col("makespan_s").max().alias("max_s"),
        pl.len().alias("traces"),
    )
    runs_per_app = groups.group_by("app").len()
    most = runs_per_app["len"].max() if groups.height else 0
    if not isinstance(most, int) or most < 2:  # no app ran in two groups: nothing to compare
        return None
    base = alt.Chart().encode(
        x=alt.X("executor:N", title="executor"),
        xOffset=alt.XOffset("workers:N"),
    )
    bars = base.mark_bar().encode(
        y=alt.Y("mean_s:Q", title="makespan (s)"),
        color=alt.Color("workers:N", title="workers"),
        tooltip=[
            "app:N",
            "executor:N",
            "workers:N",
            "traces:Q",
            alt.Tooltip("mean_s:Q", format=".3f"),
        ],
    )
    spread = base.mark_rule(color="black").encode(y="min_s:Q", y2="max_s:Q")
    chart = alt.layer(bars, spread, data=groups).properties(width=alt.Step(24), height=200)
    apps = groups["app"].n_unique()
    return _wrap(chart, apps, "Makespan by app and executor (bar: mean; line: min to max)")


def throughput(sources: Sequence[Any] | Any) -> alt.TopLevelMixin | None:
    """Mean throughput against the number of workers, a line per executor, a panel per
    app. Left out unless some app and executor ran with two worker counts or more."""
    summaries = as_summaries(sources)
    runs = _facts(summaries).filter(
        pl.col("throughput_per_s").is_not_null() & pl.col("workers").is_not_null()
    )
    groups = runs.group_by("app", "executor", "workers").agg(
        pl.col("throughput_per_s").mean(), pl.len().alias("traces")
    )
    counts = groups.group_by("app", "executor").len()
    if counts.height == 0 or counts["len"].max() < 2:  # type: ignore[operator]
        return None
    chart = (
        alt.Chart(groups)
        .mark_line(point=True)
        .encode(
            x=alt.X("workers:Q", title="workers"),
            y=alt.Y("throughput_per_s:Q", title="throughput (tasks/s)"),
            color=alt.Color("executor:N", title="executor"),
            tooltip=[
                "app:N",
                "executor:N",
                "workers:Q",
                "traces:Q",
                alt.Tooltip("throughput_per_s:Q", format=".2f"),
            ],
        )
        .properties(width=PANEL, height=200)
    )
    return _wrap(chart, groups["app"].n_unique(), "Throughput against workers")


def payload(sources: Sequence[Any] | Any) -> alt.TopLevelMixin | None:
    """Round-trip time (dispatched to received) against payload (input + output bytes):
    sampled tasks as points, the median per power-of-two size as a line per trace
    (one line per trace: lines never join points of different traces)."""
    all_plots = _many(sources)
    per_trace = max(MAX_MARKS // 2 // max(len(all_plots), 1), 1)
    labels = [p.label for p in all_plots]
    groups = [_group(p.app, p.executor, p.workers) for p in all_plots]
    field, legend, domain = _trace_key(labels, groups)

    def tagged(frame: pl.DataFrame, p: TracePlots, group: str, most: int) -> pl.DataFrame:
        return frame.head(most).with_columns(
            pl.lit(p.label).alias("trace"),
            pl.lit(p.executor or "?").alias("executor"),
            pl.lit(group).alias("group"),
            pl.col("payload_bytes").clip(lower_bound=1).alias("shown_bytes"),
        )

    pairs = list(zip(all_plots, groups, strict=True))
    points = [tagged(p.payload, p, g, per_trace) for p, g in pairs if p.payload.height]
    medians = [tagged(p.payload_medians, p, g, 64) for p, g in pairs if p.payload_medians.height]
    if not points:
        return None
    line_key = "trace"
    if field == "group" and medians:  # one line per group: medians of its traces' medians
        line_key = "group"
        medians = [
            pl.concat(medians)
            .group_by("group", (pl.col("shown_bytes").log(2).floor()).alias("bin"))
            .agg(
                pl.col("shown_bytes").median(),
                pl.col("payload_bytes").median(),
                pl.col("round_trip_s").median(),
                pl.col("attempts").sum(),
            )
            .with_columns(pl.col("group").alias("trace"))
        ]
    x = alt.X(
        "shown_bytes:Q",
        title="payload: input + output (bytes, log scale)",
        scale=alt.Scale(type="log"),
    )
    y = alt.Y("round_trip_s:Q", title="round-trip time (s, log scale)", scale=alt.Scale(type="log"))
    color = _colour(field, legend, domain)
    dots = (
        alt.Chart(pl.concat(points).filter(pl.col("round_trip_s") > 0))
        .mark_circle(opacity=0.3, size=12)
        .encode(x=x, y=y, color=color, tooltip=["trace:N", "payload_bytes:Q", "round_trip_s:Q"])
    )
    layers: list[Any] = [dots]
    lines = pl.concat(medians).filter(pl.col("round_trip_s") > 0) if medians else None
    if lines is not None and lines.height:
        layers.append(
            alt.Chart(lines)
            .mark_line(point=True)
            .encode(
                x=x,
                y=y,
                color=color,
                detail=f"{line_key}:N",
                order=alt.Order("shown_bytes:Q"),
                tooltip=["trace:N", "payload_bytes:Q", "round_trip_s:Q", "attempts:Q"],
            )
        )
    return alt.layer(*layers).properties(
        title=alt.Title(
            "Round-trip time against payload size",
            subtitle="points: sampled tasks; lines: median per power-of-two payload size, "
            "one per trace (empty payloads at 1 byte)",
        ),
        width=WIDTH,
        height=280,
    )
