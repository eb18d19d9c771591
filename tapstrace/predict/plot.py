"""The predicted scaling curve as a figure: makespan against workers, with the sampled
interval and the naive bound max(critical path, work / workers) for reference."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

FORMATS = ("png", "svg")


def scaling_chart(rows: Sequence[dict[str, Any]], title: str) -> Any:
    """An altair chart of ``rows`` (workers, makespan_s, makespan_low_s, makespan_high_s,
    naive_bound_s)."""
    import altair as alt

    long = []
    for r in rows:
        long.append({"workers": r["workers"], "series": "predicted", "makespan_s": r["makespan_s"],
                     "low_s": r["makespan_low_s"], "high_s": r["makespan_high_s"]})  # fmt: skip
        long.append({"workers": r["workers"], "series": "max(critical path, work / workers)",
                     "makespan_s": r["naive_bound_s"], "low_s": None, "high_s": None})  # fmt: skip
    base = alt.Chart(alt.Data(values=long))
    x = alt.X("workers:Q", scale=alt.Scale(type="log", base=2), title="workers")
    y = alt.Y("makespan_s:Q", title="makespan (s)", scale=alt.Scale(type="log"))
    colour = alt.Color("series:N", title=None, legend=alt.Legend(orient="top-right"))
    lines = base.mark_line(point=True).encode(x=x, y=y, color=colour)
    band = (
        base.transform_filter("datum.low_s != null")
        .mark_errorbar()
        .encode(x=x, y=alt.Y("low_s:Q", title="makespan (s)"), y2="high_s:Q", color=colour)
    )
    return (lines + band).properties(title=title, width=480, height=320)


def write_scaling(
    rows: Sequence[dict[str, Any]], title: str, out: Path, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write scaling.png / scaling.svg under ``out``; return the files."""
    import altair as alt
    import vl_convert as vlc

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    spec = scaling_chart(rows, title).to_dict()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "png" in formats:
        path = out / "scaling.png"
        path.write_bytes(vlc.vegalite_to_png(spec, vl_version=version, scale=2))
        written.append(path)
    if "svg" in formats:
        path = out / "scaling.svg"
        path.write_text(vlc.vegalite_to_svg(spec, vl_version=version), encoding="utf-8")
        written.append(path)
    return written
