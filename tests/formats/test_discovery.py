"""Finding traces of every format in directories, and what runs are called."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tapstrace.analysis.batch import analyze, run_label
from tapstrace.formats.discover import find_traces
from tests.analysis.builders import reference_rows, write_trace
from tests.formats.test_taps_eras import RUNS
from tests.replay.conftest import wfformat_15

TAPS_RUN = "0.2.0/experiments/synthetic-process-pool-2024-07-20-14-00-00"


def _tree(root: Path) -> dict[str, Path]:
    """A folder of everything: an Arrow trace, a TaPS run, a WfFormat instance, a TaPS
    records file on its own, and files that are not traces."""
    (root / "a").mkdir(parents=True)
    made = {
        "arrow": write_trace(root / "a" / "ref.arrow", reference_rows()).path,
        "taps": shutil.copytree(RUNS / TAPS_RUN, root / "b" / "deep" / Path(TAPS_RUN).name),
        "wf": root / "c" / "montage.json",
        "records": root / "d" / "exported.jsonl",
    }
    made["wf"].parent.mkdir()
    made["wf"].write_text(json.dumps(wfformat_15()))
    made["records"].parent.mkdir()
    shutil.copy(made["taps"] / "tasks.jsonl", made["records"])
    (root / "c" / "notes.json").write_text('{"about": "not a trace"}')
    (root / "c" / "summary.csv").write_text("a,b\n")
    hidden = root / ".cache"
    hidden.mkdir()
    shutil.copy(made["arrow"], hidden / "copy.arrow")  # type: ignore[arg-type]
    return made  # type: ignore[return-value]


def test_directories_are_searched_for_every_format(tmp_path: Path) -> None:
    made = _tree(tmp_path)
    found, problems = find_traces([tmp_path])
    assert problems == []
    assert found == [made["arrow"], made["taps"], made["wf"], made["records"]]


def test_a_taps_run_directory_itself_and_explicit_files(tmp_path: Path) -> None:
    made = _tree(tmp_path)
    found, problems = find_traces([made["taps"], tmp_path / "c" / "notes.json", tmp_path / "x"])
    assert found == [made["taps"], tmp_path / "c" / "notes.json"]  # named files: as given
    assert problems == [(str(tmp_path / "x"), "no such file or directory")]


def test_analyze_over_a_mixed_tree_labels_each_run(tmp_path: Path) -> None:
    _tree(tmp_path)
    result = analyze([tmp_path], by=["app", "executor", "workers"])
    assert result.errors == []
    labels = [s["label"] for s in result.summaries]
    assert labels[0].startswith("ref (")
    assert labels[1] == "synthetic-process-pool-2024-07-20-14-00-00 (2 workers)"
    assert labels[2].startswith("montage (test-workflow, Pegasus")
    assert labels[3] == "exported"  # TaPS records without their config: nothing more known
    assert len(set(labels)) == 4


def test_labels_are_unique_by_folder_then_number() -> None:
    taken: set[str] = set()
    keys = ("synthetic", "dask", 4)
    first = run_label("2024-05-27-23-57-45", keys, ("campaign", "dask"), taken)
    taken.add(first)
    second = run_label("2024-05-27-23-57-45", keys, ("campaign", "dask"), taken)
    taken.add(second)
    third = run_label("2024-05-27-23-57-45", keys, ("campaign", "dask"), taken)
    taken.add(third)
    fourth = run_label("2024-05-27-23-57-45", keys, ("campaign", "dask"), taken)
    assert first == "2024-05-27-23-57-45 (synthetic, dask, 4 workers)"
    assert second == "dask/2024-05-27-23-57-45 (synthetic, dask, 4 workers)"
    assert third == "campaign/dask/2024-05-27-23-57-45 (synthetic, dask, 4 workers)"
    assert fourth == "2024-05-27-23-57-45#2 (synthetic, dask, 4 workers)"
    assert run_label("synthetic-dask-x", keys, (), set()) == "synthetic-dask-x (4 workers)"
