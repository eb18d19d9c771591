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
    import polars as pl

    frame = pl.DataFrame(rows).select(
        "workers", "makespan_s", "makespan_low_s", "makespan_high_s", "naive_bound_s"
    )
    x = alt.X("workers:Q", scale=alt.Scale(type="log", base=2), title="workers")
    base = alt.Chart(alt.Data(values=frame.to_dicts()))
    band = base.mark_errorbar().encode(
        x=x,
        y=alt.Y("makespan_low_s:Q", title="makespan (s)", scale=alt.Scale(type="log")),
        y2="makespan_high_s:Q",
    )
    line = base.mark_line(point=True).encode(x=x, y="makespan_s:Q")
    bound = base.mark_line(strokeDash=[4, 4], color="gray").encode(x=x, y="naive_bound_s:Q")
    return (band + line + bound).properties(title=title, width=480, height=320)


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
