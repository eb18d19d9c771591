"""``tapstrace analyze`` as a user meets it, on a trace recorded by ``tapstrace run``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import tapstrace_cli


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random layered DAG, 4 tasks wide and 3 deep, after 2 warm-up tasks."""
    folder = tmp_path_factory.mktemp("recorded")
    result = tapstrace_cli(
        "run", "synthetic", "--executor", "thread", "--executor.max-threads", "2",
        "--app.structure", "random", "--app.width", "4", "--app.depth", "3",
        "--app.mean-seconds", "0.005", "--app.output-bytes", "2000",
        "--app.output-distribution", "exponential", "--app.warmup-tasks", "2",
        "--trace", "traces/run.arrow", "--quiet",
        cwd=folder,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.slow
def test_json_summary_of_a_recorded_run(recorded: Path) -> None:
    result = tapstrace_cli("analyze", "traces/run.arrow", "--json", cwd=recorded)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (summary,) = document["traces"]
    assert (summary["app"], summary["executor"], summary["workers"]) == ("synthetic", "thread", 2)
    assert summary["tasks"] == 12 and summary["status"] == {"ok": 12}
    assert summary["warmup_excluded"] == 2
    # Every task below the first layer has a parent in the layer above: 3 tasks deep.
    path = summary["critical_path"]
    assert path["tasks"] == path["levels"] == 3
    assert 0 < path["length_s"] <= summary["makespan_s"]
    assert summary["critical_path_overheads"]["length_s"] <= summary["makespan_s"] + 1e-9
    for component in ("queueing", "launch", "return"):
        assert summary["overheads"][component]["n"] == 12
        assert summary["overheads"][component]["missing"] == 0
    assert summary["overheads"]["engine"]["n"] == 8  # the tasks with parents
    assert summary["data"]["edges"] >= 8 and summary["data"]["edge_bytes"] > 0
    assert summary["utilisation"]["peak_running"] <= 2
    assert document["comparison"][0]["traces"] == 1 and document["errors"] == []


@pytest.mark.slow
def test_terminal_report_plots_and_csv(recorded: Path) -> None:
    text = tapstrace_cli("analyze", "traces", cwd=recorded)
    assert text.returncode == 0, text.stderr
    for words in ("critical path (execution): 3 tasks", "where the makespan went", "by worker"):
        assert words in text.stdout
    result = tapstrace_cli(
        "analyze", "traces", "--plot", "--format", "svg", "--out", "report", "--csv",
        cwd=recorded,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = pl.read_csv(io.StringIO(result.stdout))
    assert table.height == 1 and table["tasks"].item() == 12
    report = recorded / "report"
    assert (report / "summary.parquet").is_file() and (report / "comparison.csv").is_file()
    # labelled "run (synthetic, thread, 2 workers)": the file name and its group keys
    assert (report / "figures" / "gantt-run-synthetic-thread-2-workers.svg").stat().st_size > 1000
    assert not (report / "report.html").exists()  # only the formats asked for


@pytest.mark.slow
def test_bad_inputs(recorded: Path) -> None:
    (recorded / "junk.arrow").write_text("not a trace")
    mixed = tapstrace_cli("analyze", "traces/run.arrow", "junk.arrow", cwd=recorded)
    assert mixed.returncode == 1  # the good trace is analysed, the bad one reported
    assert "tapstrace: error: junk.arrow: not an Arrow trace" in mixed.stderr
    assert "critical path" in mixed.stdout
    cases = [
        (["junk.arrow"], "junk.arrow: not an Arrow trace"),
        (["missing"], "missing: no such file or directory"),
        (["traces", "--baseline", "nope=1"], "'nope' is not a grouping key"),
        (["traces", "--by", "app,colour"], "--by: unknown key 'colour'"),
        (["traces", "--plot", "--format", "pdf"], "--format pdf: choose from html, png, svg"),
    ]
    for args, message in cases:
        result = tapstrace_cli("analyze", *args, cwd=recorded)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tapstrace: error: "), result.stderr
        assert message in lines[0]


TINY_WFFORMAT = {
    "name": "tiny",
    "schemaVersion": "1.5",
    "workflow": {
        "specification": {
            "tasks": [
                {"id": "a_ID01", "name": "a", "parents": [], "children": ["b_ID02"],
                 "inputFiles": [], "outputFiles": ["f1"]},
                {"id": "b_ID02", "name": "b", "parents": ["a_ID01"], "children": [],
                 "inputFiles": ["f1"], "outputFiles": []},
                {"id": "c_ID03", "name": "c", "parents": [], "children": [],
                 "inputFiles": [], "outputFiles": []},
            ],
            "files": [{"id": "f1", "sizeInBytes": 1000}],
        },
        "execution": {
            "makespanInSeconds": 100,
            "executedAt": "2024-01-01T00:00:00Z",
            "tasks": [
                {"id": "a_ID01", "runtimeInSeconds": 10, "command": {"program": "a"}},
                {"id": "b_ID02", "runtimeInSeconds": 20, "command": {"program": "b"}},
                {"id": "c_ID03", "runtimeInSeconds": 50, "command": {"program": "c"}},
            ],
        },
    },
}  # fmt: skip


@pytest.mark.slow
def test_an_imported_wfformat_instance(tmp_path: Path) -> None:
    """Runtimes only: durations are analysed, the instance's makespan stands, and no
    timeline is made up from the anchored start times."""
    (tmp_path / "tiny.json").write_text(json.dumps(TINY_WFFORMAT))
    result = tapstrace_cli("analyze", "tiny.json", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (summary,) = json.loads(result.stdout)["traces"]
    assert summary["tasks"] == 3 and summary["timeline"] is False
    assert summary["makespan_s"] == 100.0 and summary["makespan_basis"] == "stated by the source"
    assert summary["work_s"] == pytest.approx(80.0)
    assert summary["critical_path"]["length_s"] == pytest.approx(50.0)  # c, not a -> b
    assert summary["utilisation"]["peak_running"] is None
    assert summary["overheads"]["launch"]["n"] == 0
    assert summary["data"]["edge_bytes"] == 1000


@pytest.mark.slow
def test_a_recorded_client_in_the_breakdown_path_and_lane(tmp_path: Path) -> None:
    """A real schema 1.2 run: 4 rounds of 3 tasks, the client working 0.15 s between them."""
    from tapstrace.analysis.plots.data import plot_data
    from tapstrace.analysis.tasks import prepare
    from tapstrace.trace import read_trace

    result = tapstrace_cli(
        "run", "synthetic", "--executor", "thread", "--executor.max-threads", "2",
        "--app.structure", "rounds", "--app.width", "3", "--app.depth", "4",
        "--app.client-seconds", "0.15", "--app.client-mode", "sleep",
        "--app.mean-seconds", "0.02", "--trace", "rounds.arrow", "--quiet",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(tapstrace_cli("analyze", "rounds.arrow", "--json", cwd=tmp_path).stdout)
    (summary,) = document["traces"]
    client = summary["client"]
    assert client["recorded"] and client["waits"] >= 3 and client["control_edges"] >= 9
    assert client["busy_s"] >= 3 * 0.15
    parts = summary["breakdown"]["parts_s"]
    assert sum(parts.values()) == pytest.approx(summary["makespan_s"], abs=1e-6)
    assert 3 * 0.15 <= parts["client"] <= summary["makespan_s"]  # three pauses on the path
    # The critical path goes through every round (control edges), not one task.
    assert summary["critical_path"]["tasks"] >= 4
    lanes = plot_data(prepare(read_trace(tmp_path / "rounds.arrow"))).client
    assert set(lanes["lane"]) == {"client", "phases"}
    assert set(lanes.filter(pl.col("lane") == "client")["state"]) == {"busy", "blocked"}
