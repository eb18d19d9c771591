"""``tapstrace replay`` and ``tapstrace convert`` as a user runs them (subprocesses)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tapstrace.trace.reader import read_trace
from tests.conftest import tapstrace_cli
from tests.replay.conftest import record_run, wfformat_15, write_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    record_run(tmp, "thread", {"max_threads": 3}, name="src", structure="random", width=5,
               depth=3, mean_seconds=0.01, output_bytes=100, seed=1)  # fmt: skip
    write_json(tmp / "wf.json", wfformat_15())
    cyclic = copy.deepcopy(wfformat_15())
    cyclic["workflow"]["specification"]["tasks"][0]["parents"] = ["merge_ID04"]
    write_json(tmp / "cycle.json", cyclic)
    text = json.dumps(wfformat_15())
    (tmp / "cut.json").write_text(text[:300])
    (tmp / "notes.txt").write_text("hello\n")
    return tmp


def test_replay_prints_makespans_and_records_its_source(workdir: Path) -> None:
    result = tapstrace_cli(
        "replay", "src.arrow", "--executor", "thread", "--executor.max-threads", "3",
        "--trace", "out/replay.arrow", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "replayed 15 tasks of src.arrow on thread: 15 ok; makespan" in result.stdout
    assert "(source " in result.stdout and "trace: out/replay.arrow" in result.stdout
    trace = read_trace(workdir / "out" / "replay.arrow")
    assert trace.metadata["source"]["path"] == str((workdir / "src.arrow").resolve())
    assert trace.metadata["source"]["executor"] == "thread"
    source = read_trace(workdir / "src.arrow")
    assert sorted(trace.tasks["source_id"].to_list()) == sorted(
        str(t) for t in source.tasks["task_id"].to_list()
    )
    run_dir = Path(result.stdout.split("run directory: ")[1].split()[0])
    saved = (workdir / run_dir / "config.toml").read_text()
    assert 'name = "replay"' in saved and "src.arrow" in saved


def test_replay_of_a_wfformat_instance_with_scales(workdir: Path) -> None:
    result = tapstrace_cli(
        "replay", "wf.json", "--executor", "thread", "--time-scale", "0.001",
        "--data-scale", "0.5", "--limit", "3", "--mode", "spin", cwd=workdir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "replayed 3 tasks of wf.json on thread: 3 ok" in result.stdout
    assert "left out 2 source tasks" in result.stdout


def test_help_has_the_replay_and_executor_flags(workdir: Path) -> None:
    result = tapstrace_cli("replay", "--help", cwd=workdir)
    for flag in ("--time-scale", "--failures", "--executor.max-threads", "--engine.retries"):
        assert flag in result.stdout


def test_convert_to_every_format(workdir: Path) -> None:
    for source, target in [
        ("src.arrow", "src.perfetto.json"),
        ("wf.json", "wf.arrow"),
        ("src.arrow", "src.wf.json"),
    ]:
        result = tapstrace_cli("convert", source, target, cwd=workdir)
        assert result.returncode == 0, result.stderr
        assert f"-> {target}" in result.stdout
    assert json.loads((workdir / "src.perfetto.json").read_text())["traceEvents"]
    assert read_trace(workdir / "wf.arrow").tasks.height == 5
    assert read_trace(workdir / "src.wf.json").tasks.height == 15
    result = tapstrace_cli("show", "wf.json", "--json", cwd=workdir)
    assert json.loads(result.stdout)["executor"] == "Pegasus"


ERRORS = [
    (["replay", "missing.arrow"], "missing.arrow: no such file"),
    (["replay", "notes.txt"], "notes.txt: not an Arrow trace, WfFormat instance or TaPS"),
    (["replay", "cut.json"], "cut.json: invalid WfFormat JSON: ends early"),
    (["replay", "cycle.json"], "cycle.json: the task graph has a cycle"),
    (["replay", "wf.json", "--time-scale", "-1"], "--time-scale: Input should be greater"),
    (["replay", "wf.json", "--limit", "x"], "--limit: Input should be a valid integer"),
    (["replay", "wf.json", "--executor", "nope"], "unknown executor 'nope'"),
    (["replay"], "give the TRACE to replay"),
    (["convert", "wf.json", "out.json"], "out.json: cannot tell the output format"),
    (["convert", "wf.json", "notes.txt", "--to", "chrome"], "notes.txt: exists already"),
    (["convert", "cycle.json", "x.arrow"], "cycle.json: the task graph has a cycle"),
]


@pytest.mark.parametrize(("args", "message"), ERRORS, ids=[" ".join(a) for a, _ in ERRORS])
def test_errors_are_one_line_and_write_nothing(
    workdir: Path, args: list[str], message: str
) -> None:
    before = {p for p in workdir.rglob("*")}
    result = tapstrace_cli(*args, cwd=workdir)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tapstrace: error: "), result.stderr
    assert message in lines[0]
    assert {p for p in workdir.rglob("*")} == before
    assert (workdir / "notes.txt").read_text() == "hello\n"
