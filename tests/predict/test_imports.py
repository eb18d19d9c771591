"""Timing a replay's imports on this machine (tapstrace.predict.imports): real modules
imported by a real interpreter, so the costs are what a replay worker would pay."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from tapstrace.predict.imports import probe, time_imports
from tapstrace.predict.simulate import Parameters, simulate
from tests.predict.builders import fixed_model, workload

#: CPU seconds each test module spins while being imported.
SPIN = 0.05
_names = itertools.count()


def _spinning(directory: Path, imports: str = "") -> str:
    """A new module that imports ``imports`` (if given), then spins SPIN of CPU."""
    name = f"tapstrace_probe_{next(_names)}_{time.monotonic_ns()}"
    (directory / f"{name}.py").write_text(
        (f"import {imports}\n" if imports else "") + "import time\n"
        f"_end = time.thread_time() + {SPIN}\n"
        "while time.thread_time() < _end:\n"
        "    pass\n"
    )
    return name


def test_a_unit_is_timed_per_module_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that imports another: both are named, each with about its own SPIN,
    together the CPU time the import took; a module that is not here gives None."""
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    inner = _spinning(tmp_path)
    outer = _spinning(tmp_path, inner)
    modules = probe((outer,))
    assert modules is not None
    assert SPIN * 0.8 <= modules[inner] <= SPIN * 2
    assert SPIN * 0.8 <= modules[outer] <= SPIN * 2
    assert probe(("tapstrace_no_such_module_here",)) is None


def test_timed_units_replace_the_recorded_costs_and_share_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two functions whose first-use units both load a shared module: timed here, the
    worker that runs both pays the shared one once. A unit not importable here keeps
    what the source recorded."""
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    shared = _spinning(tmp_path)
    a, b = _spinning(tmp_path, shared), _spinning(tmp_path, shared)
    missing = ("tapstrace_no_such_module_here",)
    work = workload([1.0, 1.0, 1.0])
    work.imports = [((a,),), ((b,),), (missing,)]
    work.import_cpu = np.zeros(3)
    work.import_cost = {(a,): 9.0, missing: 0.25}
    timing = time_imports(work)
    assert timing.error is None and timing.units == 3 and timing.missing == [missing]
    assert set(work.import_modules) == {(a,), (b,)}
    assert shared in work.import_modules[(a,)] and shared in work.import_modules[(b,)]
    assert 0.25 + 3 * SPIN * 0.8 <= timing.seconds <= 0.25 + 3 * SPIN * 2
    s = simulate(work, Parameters.of(fixed_model(workers=1), 1, cores=0))
    first = s.ended[0] - 1.0
    second = s.ended[1] - s.ended[0] - 1.0
    third = s.ended[2] - s.ended[1] - 1.0
    assert 2 * SPIN * 0.8 <= first <= 2 * SPIN * 2  # a and the shared module
    assert SPIN * 0.8 <= second <= SPIN * 2  # b only
    assert third == pytest.approx(0.25)  # as recorded


def test_a_probe_that_fails_leaves_the_recorded_costs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's interpreter does not finish in time: the prediction keeps what the
    source recorded and says why, instead of failing."""
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setattr("tapstrace.predict.imports.TIMEOUT", 0.01)
    unit = (_spinning(tmp_path),)
    work = workload([1.0])
    work.imports = [(unit,)]
    work.import_cost = {unit: 0.3}
    timing = time_imports(work)
    assert timing.error is not None and "timed out" in timing.error
    assert work.import_modules == {} and work.import_cost == {unit: 0.3}
