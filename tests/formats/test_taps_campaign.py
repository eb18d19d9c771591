"""A TaPS campaign built by hand: runs of several TaPS eras on two executors with 1, 2 and 4
workers, warm-up records and one run with lost records, analysed as one tree.

Every run executes 4 tasks of the synthetic app (TaPS' shapes, written here: see
taps_runs/README.md for the eras). Times are chosen so that each run's throughput is a
round number: ok tasks / (last result - first submission), warm-ups left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapstrace.analysis.batch import analyze
from tests.conftest import tapstrace_cli

T0 = 1_720_000_000.0


def _execution(start: float, end: float) -> dict[str, float | str]:
    return {
        "hostname": "node1", "execution_start_time": start, "execution_end_time": end,
        "task_start_time": start, "task_end_time": end,
        "input_transform_start_time": start, "input_transform_end_time": start,
        "result_transform_start_time": end, "result_transform_end_time": end,
    }  # fmt: skip


def _record(era: str, uid: str, name: str, parents: list[str], times: tuple[float, ...],
            ok: bool = True) -> dict[str, Any]:  # fmt: skip
    """One record as TaPS of ``era`` wrote it; times = submitted, started, ended, received."""
    submit, start, end, received = times
    record: dict[str, Any] = {"task_id": uid}
    record["name" if era == "2024-09-06+" else "function_name"] = name
    record["parent_task_ids"] = parents
    record["submit_time"], record["received_time"] = submit, received
    if era != "2024-05-13":  # success and exception came on 2024-05-29
        record["success"] = ok
        record["exception"] = None if ok else {"type": "ValueError", "message": "injected",
                                                "traceback": "Traceback ..."}  # fmt: skip
    record["execution"] = _execution(start, end) if ok else None
    return record


def _run(
    folder: Path, era: str, t0: float, workers: int, *, warmups: int = 0, failed: int = -1,
    lost: bool = False, tasks_file: str = "tasks.jsonl", waves: float = 1.0,
) -> None:  # fmt: skip
    """4 tasks in ``4 / workers`` waves of ``waves`` seconds each (first submission to last
    result), after ``warmups`` warm-up tasks half a second before. With ``lost``, 3 map
    tasks feed a reduce task that also names a fourth map task TaPS never recorded."""
    folder.mkdir(parents=True)
    records = []
    warm = "warmup" if era == "2024-09-06+" else "warmup_task"
    for w in range(warmups):
        at = t0 - 0.5 + w * 0.01
        records.append(_record(era, f"w{w}", warm, [], (at, at + 0.1, at + 0.1, at + 0.2)))
    for i in range(4):
        wave = i // workers
        start, end = t0 + wave * waves, t0 + (wave + 1) * waves
        # the reduce (with lost=True): after the maps, one of which has no record
        parents = ["m0", "m1", "m2", "m-lost"] if lost and i == 3 else []
        times = (t0 + i * 1e-3, start, end, end)
        records.append(_record(era, f"m{i}", "noop_task", parents, times, ok=i != failed))
    (folder / tasks_file).write_text("".join(json.dumps(r) + "\n" for r in records))


def build_campaign(root: Path) -> None:
    """The campaign tree (see the module docstring); throughputs in the test below."""
    # 2024-05-13 era: config.json with the app at the top and the executor's parameters
    # only; the executor's name is the folder above the run.
    webs = root / "webs" / "synthetic" / "process-pool" / "2024-05-27-10-00-00"
    _run(webs, "2024-05-13", T0, 1, tasks_file="tasks.json")
    (webs / "config.json").write_text(json.dumps({
        "name": "synthetic", "executor": {"max_processes": 1},
        "run": {"task_record_file_name": "tasks.json"},
        "workflow": {"structure": "bag", "task_count": 4, "bag_max_running": 1},
    }))  # fmt: skip
    # TaPS 0.1.0: config.json with executor_name; one warm-up task.
    v010 = root / "runs" / "synthetic-process-pool-2024-06-05-09-00-00"
    _run(v010, "2024-05-29", T0 + 100, 2, warmups=1)
    (v010 / "config.json").write_text(json.dumps({
        "name": "synthetic", "executor_name": "process-pool",
        "app": {"structure": "bag", "task_count": 4, "bag_max_running": 2, "warmup_task": True},
        "executor": {"max_processes": 2}, "run": {}, "filter": {}, "transformer": {},
    }))  # fmt: skip
    # TaPS 0.2.1: config.toml, task names; a warm-up task per worker.
    toml = '[app]\nname = "synthetic"\nstructure = "{s}"\nwarmup_tasks = {w}\n\n' \
           '[engine.executor]\nname = "{e}"\n{k} = {n}\n'  # fmt: skip
    for stamp, workers, t0 in (("2024-10-22-16-00-00", 4, T0 + 200), ("2024-10-23-16-00-00", 2,
                                                                          T0 + 300)):  # fmt: skip
        run = root / "runs" / f"synthetic-process-pool-{stamp}"
        _run(run, "2024-09-06+", t0, workers, warmups=workers, waves=0.5 * workers / 2)
        (run / "config.toml").write_text(toml.format(s="bag", w=workers, e="process-pool",
                                                     k="max_processes", n=workers))  # fmt: skip
    # TaPS 0.2.0 on the thread pool: 1 worker, two seconds a task.
    v020 = root / "runs" / "synthetic-thread-pool-2024-07-20-14-00-00"
    _run(v020, "2024-05-29", T0 + 400, 1, warmups=1, waves=2.0)
    (v020 / "config.toml").write_text(
        'version = "0.2.0"\n\n[app]\nname = "synthetic"\nstructure = "bag"\nwarmup_task = true\n'
        '\n[engine]\ntask_record_file_name = "tasks.jsonl"\n\n[engine.executor]\n'
        'name = "thread-pool"\nmax_threads = 1\n'
    )
    # 2024-06-18: tasks.json and an [engine] executor name beside every executor's table;
    # one task failed.
    v0618 = root / "runs" / "synthetic-thread-pool-2024-06-18-22-00-00"
    _run(v0618, "2024-05-29", T0 + 500, 2, failed=2, tasks_file="tasks.json", waves=2.0)
    (v0618 / "config.toml").write_text(
        '[app]\nname = "synthetic"\n\n[app.synthetic]\nstructure = "bag"\n\n'
        '[engine]\nexecutor = "thread-pool"\n\n[engine.executors.thread_pool]\nmax_threads = 2\n'
        "\n[engine.executors.process_pool]\nmax_processes = 8\n"
    )
    # 0.2.1 on the thread pool with 4 workers: a reduce whose fourth parent was never
    # recorded (as TaPS lost TaskVine records), so the run is kept without that edge.
    lost = root / "runs" / "synthetic-thread-pool-2024-10-24-16-00-00"
    _run(lost, "2024-09-06+", T0 + 600, 4, lost=True, waves=2.0)
    (lost / "config.toml").write_text(toml.format(s="reduce", w=0, e="thread-pool",
                                                  k="max_threads", n=4))  # fmt: skip


# (executor, workers): traces in the group, mean throughput (ok tasks per second)
EXPECTED = {
    ("process-pool", 1): (1, 4 / 4.0),  # 4 waves of 1 s
    ("process-pool", 2): (2, (4 / 2.0 + 4 / 1.0) / 2),  # 2 waves of 1 s; 2 of 0.5 s
    ("process-pool", 4): (1, 4 / 1.0),  # 1 wave of 1 s
    ("thread-pool", 1): (1, 4 / 8.0),  # 4 waves of 2 s
    ("thread-pool", 2): (1, 3 / 4.0),  # 2 waves of 2 s, one task failed
    ("thread-pool", 4): (1, 4 / 2.0),  # 1 wave of 2 s, one edge lost
}


def _groups(comparison: list[dict[str, Any]]) -> dict[tuple[str, int], tuple[int, float]]:
    assert {row["app"] for row in comparison} == {"synthetic"}
    return {
        (row["executor"], row["workers"]): (row["traces"], row["throughput_per_s"])
        for row in comparison
    }


def test_campaign_groups_and_throughputs(tmp_path: Path) -> None:
    build_campaign(tmp_path / "campaign")
    result = analyze([tmp_path / "campaign"], by=["app", "executor", "workers"])
    assert result.errors == []
    groups = _groups(result.comparison.to_dicts())
    assert groups.keys() == EXPECTED.keys()
    for key, (traces, throughput) in EXPECTED.items():
        assert groups[key][0] == traces, key
        assert groups[key][1] == pytest.approx(throughput, rel=1e-6), key
    by_label = {s["label"]: s for s in result.summaries}
    webs = by_label["2024-05-27-10-00-00 (synthetic, process-pool, 1 worker)"]
    assert webs["warmup_excluded"] == 0 and webs["makespan_s"] == pytest.approx(4.0)
    lost = by_label["synthetic-thread-pool-2024-10-24-16-00-00 (4 workers)"]
    assert lost["dropped_parents"] == 1 and lost["data"]["edges"] == 3
    warm = by_label["synthetic-process-pool-2024-10-22-16-00-00 (4 workers)"]
    assert warm["warmup_excluded"] == 4 and warm["warmup_rule"].startswith("TaPS warm-up")
    # Kept, the warm-ups stretch the run back to their submission half a second earlier.
    kept = analyze([tmp_path / "campaign" / "runs"], by=["label"], include_warmup=True)
    warm = next(s for s in kept.summaries if s["label"] == warm["label"])
    assert warm["throughput_per_s"] == pytest.approx(8 / 1.5, rel=1e-6)


@pytest.mark.slow
def test_campaign_through_the_command_line(tmp_path: Path) -> None:
    build_campaign(tmp_path / "campaign")
    result = tapstrace_cli("analyze", "campaign", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    groups = _groups(document["comparison"])
    for key, (traces, throughput) in EXPECTED.items():
        assert groups[key][0] == traces and groups[key][1] == pytest.approx(throughput, rel=1e-6)
    assert len({t["label"] for t in document["traces"]}) == 7
    plotted = tapstrace_cli("analyze", "campaign", "--plot", "--format", "html", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert "Traceback" not in plotted.stderr
    assert (tmp_path / "analysis-report" / "report.html").is_file()
