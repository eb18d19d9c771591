"""First-use imports (schema 1.4): the CPU time a task spends importing modules on first
use is recorded apart, and a replayed task imports them instead of burning that time in
every copy (a thread pool's threads share one process's imports)."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pytest

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.replay.plan import build_plan
from tapstrace.replay.task import ReplayTask
from tests.conftest import build_executor
from tests.replay.conftest import make_trace
from tests.tasks import import_from

#: CPU seconds a test module spends being imported.
IMPORT_CPU = 0.05
_names = itertools.count()


def slow_module(directory: Path) -> str:
    """A new module (a fresh name each call) that spins IMPORT_CPU of CPU on import."""
    name = f"tapstrace_slow_import_{next(_names)}_{time.monotonic_ns()}"
    (directory / f"{name}.py").write_text(
        "import time\n"
        f"_end = time.thread_time() + {IMPORT_CPU}\n"
        "while time.thread_time() < _end:\n"
        "    pass\n"
    )
    return name


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_first_use_imports_are_recorded_where_they_happen(executor: str, tmp_path: Path) -> None:
    """Each worker process's first task pays the import (a thread pool's, once in all):
    that task records its CPU time and the module; later ones record none."""
    name = slow_module(tmp_path)
    recorder = MemoryRecorder()
    params = {"max_threads": 1} if executor == "thread" else {"max_processes": 1}
    with Engine(build_executor(executor, **params), recorder=recorder) as e:
        e.wait([e.submit(import_from, str(tmp_path), name) for _ in range(3)])
    first, *later = sorted(recorder.records, key=lambda r: r.started)
    assert first.imported_modules == (name,)
    assert IMPORT_CPU * 0.9 <= first.import_seconds <= first.cpu_seconds
    # (a task too short to read the clock for records none: null, not 0)
    assert all(not r.import_seconds and r.imported_modules is None for r in later)


def test_plan_gives_a_function_s_first_use_imports_to_each_of_its_tasks() -> None:
    """Which task of a function paid for its imports depends on where the tasks landed:
    in a replay, every task of the function imports them where they are missing, and
    only the task that recorded the import takes its time off its own."""
    rows = [
        {"task_id": 0, "name": "train", "started": 0.0, "ended": 1.0, "import_seconds": 0.2,
         "imported_modules": ["sklearn.ensemble"]},
        {"task_id": 1, "name": "train", "started": 1.0, "ended": 2.0, "import_seconds": 0.0},
        {"task_id": 2, "name": "other", "started": 1.0, "ended": 2.0, "import_seconds": 0.0},
    ]  # fmt: skip
    plan = build_plan(make_trace(rows), time_scale=2.0)
    assert plan.imported_modules == [("sklearn.ensemble",), ("sklearn.ensemble",), ()]
    # The task's own import time is scaled with its time (and taken off it); what the
    # import costs is not: the replay imports for real, at the library's own cost.
    assert plan.import_cpu == [pytest.approx(0.4), 0.0, 0.0]
    assert plan.import_cost == {("sklearn.ensemble",): pytest.approx(0.2)}


def _cpu_of(task: ReplayTask) -> float:
    start = time.thread_time()
    task()
    return time.thread_time() - start


def test_replayed_task_imports_instead_of_burning_the_import_time(tmp_path: Path) -> None:
    """The first copy imports the module for real (paying its cost here) and burns the
    rest of the recorded CPU time; a copy in a process that has it burns only the rest."""
    name = slow_module(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        task = ReplayTask("t", 0.08, "recorded", 0, cpu=0.08, blocked=0.0,
                          imports=(name,), import_cpu=IMPORT_CPU)  # fmt: skip
        first, second = _cpu_of(task), _cpu_of(task)
    finally:
        sys.path.remove(str(tmp_path))
    assert name in sys.modules
    assert 0.075 <= first < 0.08 + IMPORT_CPU * 0.6
    assert 0.028 <= second < 0.08 - IMPORT_CPU * 0.6


def test_an_import_that_cannot_be_made_here_is_burnt_once_per_process() -> None:
    """A trace from a machine that had a library this one lacks: the import's recorded
    cost is spent by the first copy in each process, as the import would have been,
    unscaled even where the task's own time was scaled down (here to a tenth)."""
    missing = ("tapstrace_no_such_module_here",)
    task = ReplayTask("t", 0.008, "recorded", 0, cpu=0.008, blocked=0.0, imports=missing,
                      import_cpu=IMPORT_CPU / 10, import_cost=IMPORT_CPU)  # fmt: skip
    first, second = _cpu_of(task), _cpu_of(task)
    assert first >= IMPORT_CPU + 0.003 * 0.9
    assert 0.0028 <= second < 0.008 - IMPORT_CPU / 10 * 0.6
