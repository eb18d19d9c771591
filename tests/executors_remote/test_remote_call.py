"""TaskVine's task-mode process (remote_call.run_file) as a worker runs it, without TaskVine:
the exact command in a shell, on a call file as the plugin writes it."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tapstrace.apps.synthetic import synthetic_task
from tapstrace.engine.worker import TaskCall, TaskResult
from tapstrace.executors.taskvine import TASK_COMMAND
from tests.conftest import ROOT

cloudpickle = pytest.importorskip("cloudpickle")
pytestmark = pytest.mark.slow

#: Modules a no-op task's process must not import (each costs a new process 10-130 ms).
HEAVY = ("numpy", "pydantic", "cloudpickle", "polars", "pyarrow", "tapstrace.engine.engine")


def run(command: list[str], sandbox: Path, call: Any) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``sandbox`` on ``call`` pickled as the plugin does, with this
    interpreter as python3 (as for the local workers)."""
    (sandbox / "call").write_bytes(cloudpickle.dumps(call, pickle.HIGHEST_PROTOCOL))
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}
    env.pop("PONCHO_PREFIX", None)
    done = subprocess.run(command, cwd=sandbox, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def test_a_call_by_value_returning_a_closure(tmp_path: Path) -> None:
    """A function of the client's ``__main__`` or a closure travels by value: the task's
    standard pickle loads it through cloudpickle, and a result only cloudpickle can
    pickle comes back."""
    offset = 5

    def make_adder(x: int) -> Any:
        return lambda y: x + y + offset

    run(["sh", "-c", TASK_COMMAND], tmp_path, TaskCall(make_adder, (1,), {}, 7))
    result = pickle.loads((tmp_path / "result").read_bytes())
    assert isinstance(result, TaskResult)
    assert result.value(2) == 8
    assert result.report[0] is not None  # started: measured on the worker


def test_no_op_task_process_imports_nothing_heavy(tmp_path: Path) -> None:
    code = (
        "import sys; from tapstrace.executors.remote_call import run_file; "
        "run_file('call', 'result'); print(*sorted(sys.modules))"
    )
    call = TaskCall(synthetic_task, (0.0, "sleep", 3), {}, 1)
    done = run([sys.executable, "-c", code], tmp_path, call)
    loaded = set(done.stdout.split())
    assert "tapstrace.apps.synthetic_task" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    result = pickle.loads((tmp_path / "result").read_bytes())
    assert isinstance(result, TaskResult) and result.value == b"\0\0\0"
