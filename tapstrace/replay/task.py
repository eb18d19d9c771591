"""What runs on the worker during a replay: the synthetic task and its payloads.

Imported by worker processes, so it imports nothing heavy (numpy only when a task makes
an array payload).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import sys
import time
from typing import Any

#: Error types that mean the worker process died under the task (process pool, Dask,
#: Ray, Parsl): a replay kills its own worker the same way (docs/replay.md).
WORKER_DEATHS = frozenset(
    {"BrokenProcessPool", "KilledWorker", "WorkerCrashedError", "WorkerLost", "ManagerLost",
     "WorkerDied"}
)  # fmt: skip
#: Exit status of a worker a replayed task kills.
KILL_EXIT_CODE = 70


def held_off_cpu(cpu: float | None, blocked: float | None, gil: float | None) -> float:
    """How long a source task held the GIL while off its CPU: its GIL time beyond its CPU
    time, at most its off-CPU time. A library that computes in its own threads while the
    calling thread waits without letting the GIL go does this (AutoDock Vina: 1.3 s of
    GIL per docking for 0.2 s of the caller's CPU); a replay spins that long holding the
    GIL, as those threads kept a CPU busy and other Python threads out."""
    if cpu is None or blocked is None or gil is None:
        return 0.0
    return min(blocked, max(0.0, gil - cpu))


def occupy(
    duration: float,
    mode: str,
    cpu: float | None = None,
    blocked: float | None = None,
    gil: float | None = None,
    hold: float = 0.0,
) -> None:
    """Take ``duration`` seconds: ``sleep`` (no CPU), ``spin`` (a busy CPU), or
    ``recorded``: use ``cpu`` seconds of CPU (the CPU time the source task used), then
    sleep for the rest, so a replay loads the CPUs as the source did.

    In ``recorded`` mode with ``blocked`` (the source task's off-CPU time, known when the
    source measured its run-queue wait) the task spins until its thread has used ``cpu``
    seconds of CPU, however long the replay's own contention makes that (holding the
    GIL for ``gil`` of them: :func:`burn`), then sleeps ``blocked``: its wall time is
    rebuilt, not copied. ``hold`` of ``blocked`` is spun holding the GIL instead (see
    :func:`held_off_cpu`). Without ``blocked`` the task spins ``cpu`` seconds of wall
    time and sleeps to ``duration``, the source's wall time.
    """
    if mode == "recorded":
        if blocked is not None and cpu is not None:
            burn(cpu + hold, min(gil or 0.0, cpu) + hold)
            if blocked > hold:
                time.sleep(blocked - hold)
            return
        busy = min(duration, cpu) if cpu is not None else 0.0
        start = time.perf_counter()
        end = start + busy
        while time.perf_counter() < end:
            pass
        rest = duration - (time.perf_counter() - start)
        if rest > 0:
            time.sleep(rest)
    elif mode == "spin":
        end = time.perf_counter() + duration
        while time.perf_counter() < end:
            pass
    elif duration > 0:
        time.sleep(duration)


#: How long one round of :func:`burn` lasts: its GIL share held in Python, the rest in
#: one hashlib call that lets the GIL go (below the interpreter's 5 ms switch interval,
#: so two burning threads interleave as code alternating between Python lines and
#: library calls does).
BURN_ROUND = 1e-3


@functools.cache
def _burn_buffer() -> memoryview:
    """What :func:`burn` hashes (zeros: calloc's untouched pages, no memory of its own)."""
    return memoryview(bytes(4 * 1024 * 1024))


@functools.cache
def _hash_rate() -> float:
    """Bytes SHA-256 hashes per second of CPU time here (best of three 256 KiB hashes)."""
    best, block = 0.0, _burn_buffer()[: 256 * 1024]
    for _ in range(3):
        start = time.thread_time()
        hashlib.sha256(block)
        elapsed = time.thread_time() - start
        if elapsed > 0:
            best = max(best, len(block) / elapsed)
    return best or 1e9


def burn(cpu: float, gil: float = 0.0) -> None:
    """Use ``cpu`` seconds of this thread's CPU time, however long contention makes
    that take, ``gil`` of them holding the GIL: in rounds of :data:`BURN_ROUND`, each a
    Python loop for the GIL share of the round and one hashlib call (which releases the
    GIL, as numpy kernels do) for the rest. Tasks replayed in one process (a thread
    pool, a Dask worker) then serialise on the GIL as much as the source's did, and
    no more: a share held in one piece, or the free part cut into many short releases,
    made two replayed threads wait on each other far longer than the real code did
    (docs/replay.md)."""
    view, rate = _burn_buffer(), _hash_rate()
    now = time.thread_time
    end = now() + cpu
    share = min(1.0, gil / cpu) if cpu > 0 else 0.0
    while (left := end - now()) > 0:
        step = min(BURN_ROUND, left)
        held = end - left + step * share
        while now() < held:
            pass
        free = int(step * (1.0 - share) * rate)
        while free > 2047:  # hashlib keeps the GIL for less
            chunk = min(free, len(view))
            hashlib.sha256(view[:chunk])
            free -= chunk


_UNIMPORTABLE: set[str] = set()
#: First-use imports that could not be made here and whose recorded time was spent.
_SPENT: set[tuple[str, ...]] = set()


def import_module(module: str | None) -> bool:
    """Import ``module`` once per process, as the source's worker did when it first
    unpickled a task of that module (its start-up cost). False when it cannot be
    imported here (another machine): the replay then lacks that cost."""
    if module is None or module in sys.modules:
        return True
    if module in _UNIMPORTABLE:
        return False
    try:
        importlib.import_module(module)
    except Exception:  # any failure of a foreign module's import: skip it, once
        _UNIMPORTABLE.add(module)
        return False
    return True


class ReplayedFailure(Exception):
    """A task that failed in the source trace, failing again in the replay."""


def _failure(error_type: str | None, message: str) -> ReplayedFailure:
    """A ReplayedFailure whose class bears the source's error type, so the replay's trace
    records the same ``error_type`` (a MemoryError or TimeoutError stays one)."""
    if not error_type or not error_type.isidentifier():
        return ReplayedFailure(message)
    bases: tuple[type, ...] = (ReplayedFailure,)
    if "Memory" in error_type:
        bases += (MemoryError,)
    elif "Timeout" in error_type:
        bases += (TimeoutError,)
    return type(error_type, bases, {"__module__": __name__})(message)


def payload(nbytes: int, kind: str | None) -> Any:
    """A payload of about ``nbytes`` (as the engine measures sizes) of a recorded kind:
    ``array`` a float64 numpy array (arrays cost more than bytes to move through a
    process pool: benchmarks/payload_kinds.py), ``object`` a list of Python floats (many
    small objects, far dearer to (de)serialise per byte), ``mapping`` a dict of 8-character
    strings to ints (16 bytes an entry as the engine measures it: a word count costs
    about what a Counter of words does), ``none`` None, else bytes."""
    if kind == "array" and nbytes:
        import numpy as np

        return np.ones(max(1, nbytes // 8))
    if kind == "mapping" and nbytes:
        return {f"{i:08x}": i for i in range(max(1, nbytes // 16))}
    if kind == "object" and nbytes:
        return [0.5] * max(1, nbytes // 8)
    if kind == "none":
        return None
    return bytes(nbytes)


class Attempt:
    """One failed attempt of a source task, replayed before the final one."""

    __slots__ = ("cpu", "duration", "error_type", "message")

    def __init__(
        self, duration: float, cpu: float | None, error_type: str | None, message: str
    ) -> None:
        self.duration = duration
        self.cpu = cpu
        self.error_type = error_type
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (Attempt, (self.duration, self.cpu, self.error_type, self.message))


class ReplayTask:
    """A synthetic stand-in for one source task.

    Receives its parents' payloads (and any external input) as arguments, so the executor
    moves them; takes the recorded execution time (sleeping, spinning, or spinning for the
    recorded CPU time and sleeping the rest); then returns a payload of the recorded size
    and kind, or fails as the source task did: raising an exception of the source's error
    type, or killing its worker process when the source's worker died (unless it runs in
    the client's own process). Its ``__name__`` is the source task's function name. The
    parameters live in the callable, not in the arguments, so the replay's recorded input
    bytes are exactly the payloads. Source attempts that failed before the final one
    are replayed first: the engine retries the task, and ``for_attempt`` picks what
    each attempt does.
    """

    __slots__ = ("attempts", "blocked", "client_pid", "cpu", "duration", "error_type", "failure",
                 "gil", "import_cost", "import_cpu", "imports", "input_modules", "mode", "name",
                 "output_bytes", "output_kind", "task_module")  # fmt: skip

    def __init__(
        self,
        name: str,
        duration: float,
        mode: str,
        output_bytes: int,
        failure: str | None = None,
        *,
        cpu: float | None = None,
        output_kind: str | None = None,
        error_type: str | None = None,
        attempts: tuple[Attempt, ...] = (),
        client_pid: int | None = None,
        module: str | None = None,
        blocked: float | None = None,
        gil: float | None = None,
        input_modules: tuple[str, ...] = (),
        imports: tuple[str, ...] = (),
        import_cpu: float = 0.0,
        import_cost: float = 0.0,
    ) -> None:
        self.name = name
        #: The source task's module: imported on first use in each worker process.
        self.task_module = module
        self.duration = duration
        self.mode = mode
        self.output_bytes = output_bytes
        self.failure = failure
        self.cpu = cpu
        #: Off-CPU time of the source task, when its wall time is rebuilt (see occupy).
        self.blocked = blocked
        #: How long the source task held the GIL (see occupy).
        self.gil = gil
        #: Modules of the types of the source task's inputs (a library's objects, such as
        #: a scikit-learn model): unpickling them imported them on the worker.
        self.input_modules = input_modules
        #: Modules the source task's function imported on first use, the CPU time this
        #: task's own imports took (part of its recorded time, scaled with it) and what
        #: importing them cost the source (not scaled): imported here instead (see
        #: :meth:`_first_use`).
        self.imports = imports
        self.import_cpu = import_cpu
        self.import_cost = import_cost
        self.output_kind = output_kind
        self.error_type = error_type
        self.attempts = attempts
        self.client_pid = client_pid

    @property
    def __name__(self) -> str:
        return self.name

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, self.duration, self.mode, self.output_bytes, self.failure,
                           self.cpu, self.output_kind, self.error_type, self.attempts,
                           self.client_pid, self.task_module, self.blocked, self.gil,
                           self.input_modules, self.imports, self.import_cpu,
                           self.import_cost))  # fmt: skip

    def for_attempt(self, attempt: int) -> ReplayTask:
        """What attempt ``attempt`` (from 1) does: the source's failed attempts first."""
        return _rebuild(self.name, self.duration, self.mode, self.output_bytes, self.failure,
                        self.cpu, self.output_kind, self.error_type, self.attempts[attempt - 1:],
                        self.client_pid, self.task_module, self.blocked, self.gil,
                        self.input_modules, self.imports, self.import_cpu,
                        self.import_cost)  # fmt: skip

    def __call__(self, *inputs: Any) -> Any:
        if self.task_module is not None and self.task_module not in sys.modules:
            import_module(self.task_module)
        for module in self.input_modules:
            if module not in sys.modules:
                import_module(module)
        duration, cpu, gil = self.duration, self.cpu, self.gil
        if self.imports:  # imports hold the GIL: their time is off the GIL time too
            self._first_use()
            spent = self.import_cpu
            duration = max(0.0, duration - spent)
            cpu = None if cpu is None else max(0.0, cpu - spent)
            gil = None if gil is None else max(0.0, gil - spent)
        if self.attempts:  # this attempt failed in the source
            first = self.attempts[0]
            occupy(first.duration, self.mode, first.cpu)
            self._fail(first.error_type, first.message)
        hold = held_off_cpu(cpu, self.blocked, gil)
        if self.failure is None and cpu is not None and self.blocked is not None:
            # The source's CPU time includes making its result: so does the rebuilt
            # task's, the payload made first and its cost taken off the burn.
            start = time.thread_time()
            result = payload(self.output_bytes, self.output_kind)
            occupy(duration, self.mode, max(0.0, cpu - (time.thread_time() - start)),
                   self.blocked, gil, hold)  # fmt: skip
            return result
        occupy(duration, self.mode, cpu, self.blocked, gil, hold)
        if self.failure is not None:
            self._fail(self.error_type, self.failure)
        return payload(self.output_bytes, self.output_kind)

    def _first_use(self) -> None:
        """Import what the source task imported on first use, as it did: a worker that
        has them already (a thread pool's second thread) pays nothing, as the real
        task would not have. Where one cannot be imported here (a trace from another
        machine), spend what the import cost the source instead, once per process (not
        scaled with the task: a real import here would not be either)."""
        missing = False
        for module in self.imports:
            if module not in sys.modules and not import_module(module):
                missing = True
        if missing and self.imports not in _SPENT:
            _SPENT.add(self.imports)
            burn(self.import_cost)

    def _fail(self, error_type: str | None, message: str) -> None:
        if error_type in WORKER_DEATHS and os.getpid() != self.client_pid:
            os._exit(KILL_EXIT_CODE)
        raise _failure(error_type, message)


def _rebuild(
    name: str,
    duration: float,
    mode: str,
    output_bytes: int,
    failure: str | None,
    cpu: float | None,
    output_kind: str | None,
    error_type: str | None,
    attempts: tuple[Attempt, ...],
    client_pid: int | None,
    module: str | None = None,
    blocked: float | None = None,
    gil: float | None = None,
    input_modules: tuple[str, ...] = (),
    imports: tuple[str, ...] = (),
    import_cpu: float = 0.0,
    import_cost: float = 0.0,
) -> ReplayTask:
    return ReplayTask(name, duration, mode, output_bytes, failure, cpu=cpu,
                      output_kind=output_kind, error_type=error_type, attempts=attempts,
                      client_pid=client_pid, module=module, blocked=blocked,
                      gil=gil, input_modules=input_modules, imports=imports,
                      import_cpu=import_cpu, import_cost=import_cost)  # fmt: skip


def _materialised(data: Any) -> Any:
    return data


class ExternalPayload:
    """Input bytes that no parent produced (in the source, the app made them on the client).

    Lazy: the payload (of the recorded kind) is made on the client only when the
    executor serialises the call, so it crosses the wire as a real payload while a
    replay of millions of tasks never holds them all. An
    executor that passes objects in memory (the thread pool) hands the task this small
    object; its ``nbytes`` gives the engine the payload size.
    """

    __slots__ = ("kind", "nbytes")

    def __init__(self, nbytes: int, kind: str | None = None) -> None:
        self.nbytes = nbytes
        self.kind = kind

    def __reduce__(self) -> tuple[Any, ...]:
        return (_materialised, (payload(self.nbytes, self.kind),))

    def __repr__(self) -> str:
        return f"ExternalPayload({self.nbytes}, {self.kind!r})"
