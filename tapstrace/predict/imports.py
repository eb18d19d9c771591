"""What a replay's workers import on their first tasks, timed on this machine.

A replayed task imports, in each worker process where they are missing, its source
task's module, the modules of its inputs' types (a scikit-learn model: unpickling it
imports scikit-learn) and the modules its function imported on first use (schema 1.4).
The trace times only the last, on the machine that recorded it; the first two happened
while the source's worker unpickled the call, before any clock of the task ran. So
predict times all of them here, as a replay will pay them: for each unit, a fresh
interpreter imports what every replay worker has (the replay task's own module), then
the unit under ``-X importtime``, which names every module the unit loaded and the time
it took itself (wall time, so shared out in proportion over the unit's CPU time). A
worker that already has some of them (two units both load scikit-learn) pays only for
the rest, as the simulator counts per module. A unit that cannot be imported here
costs what the source recorded (the replay burns that instead), or nothing where the
source did not time it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field

from tapstrace.predict.workload import Unit, Workload

#: Seconds the probe may take (importing a large library stack cold from disk).
TIMEOUT = 300.0

_MARK = "TAPSTRACE-IMPORT-PROBE "  # where the unit's imports start (stderr)
_timed: dict[Unit, dict[str, float] | None] = {}
#: The probe: what every replay worker has, the mark on stderr (where ``-X importtime``
#: writes), then the unit's modules; on stdout the CPU time that took, and "missing" if
#: one cannot be imported here. Run with ``-c`` so that nothing else comes first.
_PROBE = f"""
import sys, time
import tapstrace.replay.task
print({_MARK!r}, file=sys.stderr, flush=True)
start = time.thread_time()
for name in sys.argv[1:]:
    try:
        __import__(name)  # the import statement's path, which -X importtime logs
    except Exception:
        print({_MARK!r} + "missing", flush=True)
print({_MARK!r} + "cpu", time.thread_time() - start, flush=True)
"""


@dataclass
class ImportTiming:
    """The outcome of :func:`time_imports`: how many units were timed, their total CPU
    seconds, those that could not be imported here, and the probe's wall time."""

    units: int = 0
    seconds: float = 0.0
    missing: list[Unit] = field(default_factory=list)
    wall: float = 0.0
    error: str | None = None


def units_of(work: Workload) -> list[Unit]:
    """Every import unit of ``work``, in the order its tasks first need them."""
    seen: dict[Unit, None] = {}
    for units in work.imports:
        for unit in units:
            seen.setdefault(unit, None)
    return list(seen)


def probe(unit: Unit) -> dict[str, float] | None:
    """Each module importing ``unit`` loads in a fresh interpreter that has what a
    replay worker has, with the seconds it took itself; None: it cannot be imported
    here. Kept for the life of this process (a benchmark predicts a trace many times)."""
    if unit not in _timed:
        child = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", _PROBE, *unit],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if child.returncode:
            tail = " | ".join(child.stderr.strip().splitlines()[-2:])
            raise RuntimeError(f"the import probe of {' '.join(unit)} failed: {tail}")
        if _MARK + "missing" in child.stdout:
            _timed[unit] = None
        else:
            own = _self_times(child.stderr.split(_MARK, 1)[-1])
            cpu = float(child.stdout.split(_MARK + "cpu", 1)[1].split()[0])
            # importtime's clock is the wall's: on a busy machine it holds other
            # processes' turns too. Each module keeps its share of the CPU time.
            wall = sum(own.values())
            _timed[unit] = {m: t * cpu / wall for m, t in own.items()} if wall > 0 else {}
    return _timed[unit]


def _self_times(text: str) -> dict[str, float]:
    """Module -> seconds from ``-X importtime`` lines ("import time: self | cumulative |
    name", in microseconds; the header line is not a number)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("import time:"):
            continue
        own, _, name = line[len("import time:") :].split("|", 2)
        if own.strip().isdigit():
            found[name.strip()] = int(own) / 1e6
    return found


def time_imports(work: Workload) -> ImportTiming:
    """Time ``work``'s import units here (``work.import_modules``); those that cannot
    be imported here keep the cost the source recorded (``work.import_cost``)."""
    units = units_of(work)
    if not units:
        return ImportTiming()
    began = time.perf_counter()
    timed: dict[Unit, dict[str, float]] = {}
    missing: list[Unit] = []
    try:
        for unit in units:
            modules = probe(unit)
            if modules is None:
                missing.append(unit)
            else:
                timed[unit] = modules
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        # Without the probe the recorded costs stand (as before timing existed).
        return ImportTiming(units=len(units), error=str(e), wall=time.perf_counter() - began)
    work.import_modules = timed
    everything: dict[str, float] = {}
    for modules in timed.values():
        everything.update(modules)
    seconds = sum(everything.values()) + sum(work.import_cost.get(u, 0.0) for u in missing)
    return ImportTiming(
        units=len(units), seconds=seconds, missing=missing, wall=time.perf_counter() - began
    )
