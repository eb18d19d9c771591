"""The client's control flow, as the engine observes it (trace schema 1.2).

A TaPS-style app is a procedural client: it submits tasks, blocks on results, works, and
submits again. For every submission the engine records which task completions the client
observed since its previous submission (``control_parents``), the client's time since its
last observation (``client_seconds``) and its working time since the previous submission
(``client_busy_seconds``, with its CPU share), so a replay can re-enact the pacing on any
executor: submit at max(previous submission + busy, control parents received + client).

The client is the thread that made the first submission. Blocking calls (TaskFuture
result/exception, Engine.wait/as_completed/map, ``concurrent.futures.wait`` on
TaskFutures) count only on that thread, so the engine's own callbacks never look like
client waits. docs/trace-format.md describes the columns; docs/replay.md the rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapstrace.engine.future import TaskFuture
    from tapstrace.engine.task import Task

_get_ident = threading.get_ident
_thread_time = time.thread_time
_now = time.time

#: A client gap shorter than this counts as CPU time without reading the CPU clock.
SHORT_GAP = 0.001
#: The client thread's CPU clock is read at most this often between events (a system
#: call of about a microsecond: a tight submission loop must not pay it per task).
CPU_READ_INTERVAL = 0.005


class ClientFlow:
    """Accumulates the client's waits and work between submissions.

    Only the client thread changes it (every entry point checks the thread first), so it
    takes no lock. Client CPU time is measured for gaps of SHORT_GAP or more, from CPU
    clock readings at most CPU_READ_INTERVAL apart: a gap's CPU share is off by at most
    that much CPU time, and a tight loop of submissions reads the clock 200 times a second
    at most.
    """

    __slots__ = (
        "_busy",
        "_busy_cpu",
        "_cpu",
        "_cpu_wall",
        "_depth",
        "_holders",
        "_last",
        "_observed",
        "thread",
        "waiter",
        "waiters",
    )  # fmt: skip

    def __init__(self) -> None:
        #: The client thread: the first thread that submits.
        self.thread: int | None = None
        self._observed: list[int] = []
        self._depth = 0  # nested blocking calls (Engine.wait runs concurrent.futures.wait)
        self._last = _now()  # end of the client's latest event (a submission or a wait)
        self._cpu, self._cpu_wall = _thread_time(), self._last  # latest CPU clock reading
        self._busy = 0.0  # client time since the previous submission, before ``_last``
        self._busy_cpu = 0.0
        #: The concurrent.futures waiter the client blocks on (see waiter_added).
        self.waiter: Any = None
        self._holders = 0
        #: The waiter list class of this flow's futures (see ObservedWaiters).
        self.waiters: type[ObservedWaiters] = type(
            "ObservedWaiters", (ObservedWaiters,), {"__slots__": (), "flow": self}
        )

    def _work(self, now: float) -> None:
        """Count the client's time from ``_last`` to ``now`` as its work."""
        gap = now - self._last
        self._busy += gap
        if gap < SHORT_GAP:
            self._busy_cpu += max(0.0, gap)
            return
        cpu = _thread_time()
        # CPU since the latest reading, less what lies before the gap (engine work, short
        # gaps: CPU-bound), at most the gap itself.
        used = (cpu - self._cpu) - (self._last - self._cpu_wall)
        self._busy_cpu += min(gap, max(0.0, used))
        self._cpu, self._cpu_wall = cpu, now

    # -- blocking calls -------------------------------------------------------------------

    def block_started(self) -> bool:
        """The client starts waiting; False (and nothing recorded) on other threads."""
        if _get_ident() != self.thread:
            return False
        if not self._depth:
            self._work(_now())
        self._depth += 1
        return True

    def block_ended(self, observed: Iterable[TaskFuture]) -> None:
        """The wait that ``block_started`` began returned, having seen ``observed`` done."""
        for future in observed:
            if not future._seen and future.done():
                future._seen = True
                self._observed.append(future.task_id)
        self._depth -= 1
        if not self._depth:
            self._last = self._cpu_wall = _now()
            self._cpu = _thread_time()

    # -- concurrent.futures.wait on TaskFutures (through the futures' waiter lists) -------

    # The client thread blocks in one such wait at a time: its waiter (installed in every
    # future it waits on) and how many futures hold it; the wait ends with the last.

    def waiter_added(self, waiter: Any) -> None:
        """A future took a waiter other than the client's current one (ObservedWaiters
        counts those of the current one itself): the start of a client's wait?"""
        if (
            self.waiter is None
            and type(waiter).__name__ != "_AsCompletedWaiter"  # as_completed: per result
            and self.block_started()
        ):
            self.waiter, self._holders = waiter, 1

    def waiter_removed(self, waiter: Any) -> None:
        self._holders -= 1
        if self._holders:
            return
        self.waiter = None
        # The waiter lists the futures that finished while the client waited.
        finished = getattr(waiter, "finished_futures", ())
        self.block_ended(f for f in finished if hasattr(f, "_seen"))

    # -- submissions ----------------------------------------------------------------------

    def submission(self, task: Task, now: float) -> bool:
        """Set the task's control parents, client, busy and busy-CPU seconds as of ``now``
        (its submission); False (and nothing set) on a thread other than the client's."""
        ident = _get_ident()
        if self.thread is None:
            self.thread = ident
        elif ident != self.thread:
            return False
        tail = now - self._last
        self._work(now)
        if self._observed:
            task.control_parents = tuple(sorted(self._observed))
            self._observed.clear()
        task.client_seconds = tail
        task.client_busy_seconds = self._busy
        task.client_cpu_seconds = self._busy_cpu
        self._busy = self._busy_cpu = 0.0
        return True

    def submitted(self) -> None:
        """The client's submission returned: its own time starts again."""
        if self._depth:
            return
        self._last = now = _now()
        if now - self._cpu_wall > CPU_READ_INTERVAL:
            self._cpu, self._cpu_wall = _thread_time(), now


class ObservedWaiters(list[Any]):
    """A TaskFuture's waiter list that tells the ClientFlow when ``concurrent.futures.wait``
    blocks on it (``as_completed`` is observed when the client reads each result). It
    holds no reference to its future, so a finished future is freed by reference
    counting.

    Each ClientFlow has its own subclass (``ClientFlow.waiters``) with the flow as a class
    attribute: a wait on many futures makes a list for each, and a list without an
    ``__init__`` of its own is made at C speed (0.1 µs against 0.5).
    """

    __slots__ = ()
    flow: ClientFlow

    def append(self, waiter: Any) -> None:
        list.append(self, waiter)
        flow = self.flow
        if waiter is flow.waiter:  # one more future of the wait the client blocks in
            flow._holders += 1
        else:
            flow.waiter_added(waiter)

    def remove(self, waiter: Any) -> None:
        list.remove(self, waiter)
        if waiter is self.flow.waiter:
            self.flow.waiter_removed(waiter)
