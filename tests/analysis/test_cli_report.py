"""``tapstrace analyze`` filters, ``tapstrace compare`` and 80-column terminal output,
through the real command line (in-process: the entry point that the console script runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tapstrace.analysis import notebook
from tapstrace.cli.main import main
from tapstrace.trace import read_trace
from tests.analysis.builders import client_rows, reference_rows, row, write_trace

approx = pytest.approx


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """A run (the reference DAG) and a slower "replay" of it on another executor."""
    a = tmp_path / "run.arrow"
    b = tmp_path / "replay.arrow"
    write_trace(a, reference_rows())
    slower = [
        row(1, (0, 0, 0.1, 0.5, 1.5, 1.7), name="a"),
        row(2, (0, 1.8, 1.9, 2.0, 4.5, 4.6), name="b", parents=[1]),
        row(3, (0, 1.75, 1.8, 1.9, 2.4, 2.5), name="b", parents=[1], worker="w2"),
        row(4, (0, 4.7, 4.7, 5.0, 6.0, 6.2), name="c", parents=[2, 3], worker="w2"),
        row(5, (0, 0, 0.0, 0.1, 0.3, 0.4), name="d", worker="w2"),
    ]
    write_trace(b, slower, executor="process")
    return a, b


def test_compare_decomposes_the_makespan_difference(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair
    code, out, _ = run(capsys, "compare", str(a), str(b), "--json")
    assert code == 0
    diff = json.loads(out)
    assert diff["makespan_s"]["a"] == approx(5.5) and diff["makespan_s"]["b"] == approx(6.2)
    assert diff["makespan_s"]["delta"] == approx(0.7)
    assert sum(r["delta_s"] for r in diff["parts"]) == approx(0.7, abs=1e-9)
    assert sum(r["delta_s"] for r in diff["groups"]) == approx(0.7, abs=1e-9)
    parts = {r["part"]: r["delta_s"] for r in diff["parts"]}
    # B's path 1 -> 2 -> 4 ran 4.5 s (A: 4.0) and launched 0.4 + 0.1 + 0.3 (A: 0.1+0.2+0.3).
    assert parts["execution"] == approx(0.5) and parts["launch"] == approx(0.2)
    functions = {r["name"]: r for r in diff["functions"]}
    assert functions["b"]["mean_execution_s_delta"] == approx(0.25)


def test_compare_at_80_columns(
    pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, "compare", *map(str, pair))
    assert code == 0
    assert "sum = makespan difference" in out and "+700 ms" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out


def test_analyze_filters(pair: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = pair

    def summary(*flags: str) -> dict[str, object]:
        code, out, err = run(capsys, "analyze", str(a), "--json", *flags)
        assert code == 0, err
        (only,) = json.loads(out)["traces"]
        return only

    everything = summary()
    assert everything["tasks"] == 5 and everything["attempts"] == 6
    assert summary("--function", "b")["tasks"] == 2
    assert summary("--function", "a,c", "--function", "d")["tasks"] == 3
    assert summary("--worker", "w1")["attempts"] == 2
    failed = summary("--status", "failed")
    assert failed["attempts"] == 1 and failed["status"] == {"failed": 1}
    assert failed["selection"] == "status failed"
    # The window keeps attempts active between 3.5 s and 5 s: tasks 2 and 4 (times stay
    # relative to the run's first submission).
    window = summary("--window", "3.5:5")
    assert window["tasks"] == 2 and window["makespan_s"] == approx(5.5)
    code, _, err = run(capsys, "analyze", str(a), "--window", "5:1")
    assert code == 2 and "--window 5:1: END is before START" in err
    code, _, err = run(capsys, "analyze", str(a), "--status", "broken")
    assert code == 2 and "--status broken: choose from ok, failed" in err


def test_analyze_terminal_fits_80_columns(
    pair: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    client = tmp_path / "client.arrow"
    write_trace(client, client_rows(), client=True)
    for args in ([str(pair[0])], [*map(str, pair), str(client)], [str(client)]):
        code, out, _ = run(capsys, "analyze", *args)
        assert code == 0
        assert max(len(line) for line in out.splitlines()) <= 80, out
        assert "…" not in out  # no header collapsed
    assert "client (driver work and pacing)" in out and "500 ms" in out
    code, out, _ = run(capsys, "analyze", *map(str, pair), "--wide")
    assert "launch p50" in out and "crit. path" in out  # every column with --wide


def test_notebook_api(pair: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = pair
    trace = read_trace(a)
    page = trace._repr_html_()
    assert "Where the makespan went" in page and "makespan" in page
    assert trace.gantt().to_dict()["layer"]
    report = trace.report(tmp_path / "one")
    assert report.name == "report.html" and "Trace: run" in report.read_text()
    table = notebook.breakdown_table(str(a))
    assert table["seconds"].sum() == approx(5.5)
    both = notebook.report([trace, b], tmp_path / "two")
    assert "Across traces" in both.read_text()
