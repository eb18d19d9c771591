"""The comparison table across traces and its ratios to a baseline."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tapstrace.analysis.batch import analyze, find_traces, save
from tapstrace.analysis.compare import Baseline, parse_baseline, parse_by
from tapstrace.errors import UserError
from tests.analysis.builders import row, write_trace

approx = pytest.approx


def one_task(path: Path, makespan: float, executor: str, workers: int = 2) -> Path:
    """A trace whose single task is received ``makespan`` seconds after submission."""
    rows = [row(1, (0, 0, 0, 0.1, makespan - 0.1, makespan))]
    write_trace(path, rows, executor=executor, workers=workers)
    return path


@pytest.fixture
def traces(tmp_path: Path) -> Path:
    folder = tmp_path / "traces"
    (folder / "nested").mkdir(parents=True)
    one_task(folder / "a.arrow", 2.0, "thread")
    one_task(folder / "nested" / "b.arrow", 4.0, "thread")
    one_task(folder / "c.arrow", 6.0, "process")
    one_task(folder / "d.arrow", 3.0, "process", workers=4)
    return folder


def by_executor(table: pl.DataFrame) -> dict[str, dict[str, object]]:
    return {r["executor"]: r for r in table.to_dicts()}


def test_directories_are_searched_recursively(traces: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, problems = find_traces([traces, traces / "missing.arrow", tmp_path / "empty"])
    assert sorted(f.name for f in files) == ["a.arrow", "b.arrow", "c.arrow", "d.arrow"]
    assert problems == [
        (str(traces / "missing.arrow"), "no such file or directory"),
        (
            str(tmp_path / "empty"),
            "no trace in this directory (*.arrow traces, TaPS run directories, WfFormat instances)",
        ),
    ]


def test_groups_average_their_traces(traces: Path) -> None:
    result = analyze([traces], by=["app", "executor"])
    rows = by_executor(result.comparison)
    assert rows["thread"]["traces"] == 2
    assert rows["thread"]["makespan_s"] == approx(3.0)
    assert rows["process"]["makespan_s"] == approx(4.5)
    assert rows["thread"]["throughput_per_s"] == approx((1 / 2 + 1 / 4) / 2)


def test_ratios_to_a_key_baseline_match_the_other_keys(traces: Path) -> None:
    by = ["app", "executor", "workers"]
    result = analyze([traces], by=by, baseline=parse_baseline("executor=thread", by))
    table = result.comparison
    ratios = {(r["executor"], r["workers"]): r["makespan_s_ratio"] for r in table.to_dicts()}
    assert ratios[("thread", 2)] == approx(1.0)
    assert ratios[("process", 2)] == approx(6.0 / 3.0)
    assert ratios[("process", 4)] is None  # no thread run with 4 workers to compare with


def test_ratios_to_a_trace_baseline(traces: Path) -> None:
    by = ["executor"]
    baseline = parse_baseline(str(traces / "a.arrow"), by)
    assert baseline.trace == traces / "a.arrow"
    result = analyze([traces / "c.arrow", traces / "d.arrow"], by=by, baseline=baseline)
    assert len(result.summaries) == 3  # the baseline trace joins the analysis
    rows = by_executor(result.comparison)
    assert rows["process"]["makespan_s_ratio"] == approx(4.5 / 2.0)
    assert rows["thread"]["makespan_s_ratio"] == approx(1.0)
    assert rows["process"]["throughput_per_s_ratio"] == approx(((1 / 6 + 1 / 3) / 2) / 0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("workers=2", "'workers' is not a grouping key (--by app,executor)"),
        ("executor", "neither a trace file nor KEY=VALUE"),
        ("executor=", ""),
    ],
)
def test_bad_baselines_are_user_errors(text: str, message: str) -> None:
    if message:
        with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_baseline(text, ["app", "executor"])
    else:
        assert parse_baseline(text, ["app", "executor"]) == Baseline(keys={"executor": ""})


def test_a_baseline_that_matches_nothing(traces: Path) -> None:
    baseline = parse_baseline("executor=ray", ["executor"])
    with pytest.raises(UserError, match="executor=ray: no trace matches"):
        analyze([traces], by=["executor"], baseline=baseline)


def test_unknown_grouping_key(traces: Path) -> None:
    with pytest.raises(UserError, match="--by: unknown key 'colour'"):
        analyze([traces], by=parse_by("app,colour"))


def test_unreadable_files_are_reported_and_skipped(traces: Path) -> None:
    (traces / "broken.arrow").write_bytes(b"not arrow at all")
    result = analyze([traces], by=["executor"])
    assert len(result.summaries) == 4
    ((path, message),) = result.errors
    assert path.endswith("broken.arrow") and "not an Arrow trace" in message


def test_save_writes_summary_tables(traces: Path, tmp_path: Path) -> None:
    result = analyze([traces], by=["executor"])
    written = save(result, tmp_path / "out")
    names = {p.name for p in written}
    assert {"summary.parquet", "summary.csv", "comparison.csv", "functions.csv"} <= names
    summary = pl.read_parquet(tmp_path / "out" / "summary.parquet")
    assert summary.height == 4
    assert sorted(summary["makespan_s"].to_list()) == approx([2.0, 3.0, 4.0, 6.0])
    assert pl.read_csv(tmp_path / "out" / "critical_paths.csv").height == 8  # 4 x 2 paths
