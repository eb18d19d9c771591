"""Many traces at once: charts stay within vega-lite's row limit, a failing chart is left
out with a warning, and worker processes give the same answers as one process."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tapstrace.analysis import batch
from tapstrace.analysis.generate import layered_trace, write_trace
from tapstrace.analysis.plots import charts, report
from tapstrace.analysis.plots.data import MAX_MARKS, plot_data
from tests.conftest import tapstrace_cli

EXECUTORS = ("dask", "ray", "process")


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 traces of 300 tasks: 3 executors, more traces than any chart draws one by one."""
    folder = tmp_path_factory.mktemp("many")
    for n in range(40):
        executor = EXECUTORS[n % 3]
        table = layered_trace(300, width=10 + n % 4, seed=n, executor=executor)
        write_trace(table, folder / executor / f"run-{n:02d}.arrow")
    return folder


def _rows(spec: dict) -> int:  # type: ignore[type-arg]
    return max((len(rows) for rows in spec.get("datasets", {}).values()), default=0)


def test_charts_of_many_traces_stay_within_the_row_limit(many: Path, tmp_path: Path) -> None:
    result = batch.analyze([many], by=["executor"], keep=plot_data)
    assert len(result.summaries) == 40 and result.errors == []
    found = report.figures(result.summaries, result.plots)
    for figure in found:
        assert _rows(figure.chart.to_dict()) <= MAX_MARKS, figure.stem
    overheads = next(f for f in found if f.stem == "overheads").chart.to_dict()
    assert "one line per group" in json.dumps(overheads)
    lines = {row["trace"] for rows in overheads["datasets"].values() for row in rows}
    assert {line.split(" / ")[1] for line in lines} == set(EXECUTORS)
    assert len(lines) == len({(s["executor"], s["workers"]) for s in result.summaries})
    per_trace = [f for f in found if f.stem.startswith("gantt-")]
    assert len(per_trace) == report.MAX_SECTIONS
    shown = report.traces_shown(result.summaries)  # every group has a section
    assert {s["executor"] for s in shown} == set(EXECUTORS)
    written = report.write_report(result, tmp_path / "report", ["html"])
    assert [p.name for p in written] == ["report.html"]


def test_a_chart_that_fails_is_left_out_with_a_warning(
    many: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise ValueError("no such encoding")

    monkeypatch.setattr(charts, "payload", broken)
    result = batch.analyze([many / "dask"], by=["executor"], keep=plot_data)
    with caplog.at_level(logging.WARNING):
        found = report.figures(result.summaries, result.plots)
    assert "payload" not in {f.stem for f in found} and "overheads" in {f.stem for f in found}
    assert "figure payload left out: ValueError: no such encoding" in caplog.text


@pytest.mark.slow
def test_worker_processes_agree_with_one_process(many: Path, tmp_path: Path) -> None:
    alone = batch.analyze([many], by=["executor"], jobs=1)
    result = tapstrace_cli(
        "analyze", str(many), "--json", "--jobs", "2", "--by", "executor", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    shared = json.loads(result.stdout)
    assert [t["label"] for t in shared["traces"]] == [s["label"] for s in alone.summaries]
    assert [t["makespan_s"] for t in shared["traces"]] == pytest.approx(
        [s["makespan_s"] for s in alone.summaries]
    )
    expected = json.loads(json.dumps(alone.comparison.to_dicts()))
    # Means summed in another order (per worker process) may differ in the last bits.
    assert [sorted(row) for row in shared["comparison"]] == [sorted(row) for row in expected]
    for got, want in zip(shared["comparison"], expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert got[key] == value, key
    plotted = tapstrace_cli("analyze", str(many), "--plot", "--format", "html", cwd=tmp_path)
    assert plotted.returncode == 0 and "Traceback" not in plotted.stderr, plotted.stderr
    assert f"report sections for {report.MAX_SECTIONS} of 40 traces" in plotted.stdout
