"""The campaign's outputs in the run directory: a results table and a plot of the
scores in simulation order with the best found so far."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from tapstrace.apps.chemistry.campaign import Result

log = logging.getLogger(__name__)


def results_frame(results: list[Result], maximize: bool) -> pl.DataFrame:
    """One row per simulation, in order, with the running best."""
    frame = pl.DataFrame(
        {
            "order": list(range(1, len(results) + 1)),
            "round": [r.round for r in results],
            "smiles": [r.smiles for r in results],
            "value": [r.value for r in results],
            "predicted": [r.predicted for r in results],
            "error": [r.error for r in results],
        },
        schema={
            "order": pl.Int64,
            "round": pl.Int64,
            "smiles": pl.String,
            "value": pl.Float64,
            "predicted": pl.Float64,
            "error": pl.String,
        },
    )
    fill = pl.col("value").fill_null(float("-inf") if maximize else float("inf"))
    best = fill.cum_max() if maximize else fill.cum_min()
    return frame.with_columns(best.replace([float("inf"), float("-inf")], None).alias("best"))


def write_report(
    results: list[Result], run_dir: Path, name: str, label: str, maximize: bool
) -> tuple[Path, Path | None]:
    """Write ``{name}.csv`` and ``{name}.png`` into ``run_dir``; returns their paths
    (no PNG when the plot cannot be rendered, which is logged)."""
    frame = results_frame(results, maximize)
    table = run_dir / f"{name}.csv"
    frame.write_csv(table)
    png = run_dir / f"{name}.png"
    try:
        import altair as alt

        data = frame.filter(pl.col("value").is_not_null())
        base = alt.Chart(data).encode(x=alt.X("order:Q", title="simulation"))
        points = base.mark_circle(size=40).encode(
            y=alt.Y("value:Q", title=label, scale=alt.Scale(zero=False)),
            color=alt.Color("round:O", title="round"),
            tooltip=["smiles", "value", "predicted"],
        )
        line = base.mark_line(color="black", interpolate="step-after").encode(y="best:Q")
        (points + line).properties(width=480, height=280, title=name).save(png)
    except Exception as exc:  # a plot must never lose the table
        log.warning("could not render %s: %s", png, exc)
        return table, None
    return table, png
