"""Lost workers never hang a run: an executor whose workers are all gone fails its
waiting tasks within a bounded time instead of waiting for workers that will not come.

A cluster framework keeps tasks queued while it has no worker, forever if the workers died
(a Ctrl-C that reached them, a node lost, a batch job ended) or never came. The
:class:`Watchdog` looks every second: once the executor has had tasks waiting, no worker
and no finished task for ``timeout`` seconds, it hands :class:`WorkersLost` to the
executor, which fails the waiting tasks with it (they are recorded as failed, naming the
cause) and refuses new ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class WorkersLost(RuntimeError):
    """The executor had no worker to run the task on, for longer than allowed."""


class Watchdog:
    """A thread that calls ``fail`` once when ``waiting() > 0`` and ``workers() == 0``
    have held, with no :meth:`progress`, for ``timeout`` seconds.

    Args:
        what: names the executor in the error (``the Dask cluster at tcp://...``).
        timeout: seconds without worker and progress before failing.
        flag: the option setting ``timeout``, named in the error.
        waiting: how many tasks the executor holds unfinished (cheap, no I/O).
        workers: how many workers the executor has now (0 if it cannot tell).
        fail: fails the waiting tasks with the error and refuses new ones.
    """

    def __init__(
        self,
        what: str,
        timeout: float,
        flag: str,
        waiting: Callable[[], int],
        workers: Callable[[], int],
        fail: Callable[[WorkersLost], None],
    ) -> None:
        self.what = what
        self.timeout = timeout
        self.flag = flag
        self._waiting = waiting
        self._workers = workers
        self._fail = fail
        self._progress = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapstrace-watchdog", daemon=True)
        self._thread.start()

    def progress(self) -> None:
        """A task finished: the executor is alive."""
        self._progress = time.monotonic()

    def close(self) -> None:
        """Stop watching (at shutdown)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        period = min(1.0, self.timeout / 4)
        idle_since: float | None = None  # since when tasks wait with no worker
        while not self._stop.wait(period):
            if not self._waiting():
                idle_since = None
                continue
            try:
                workers = self._workers()
            except Exception:  # the scheduler itself is gone: no worker either
                log.debug("%s: cannot count workers", self.what, exc_info=True)
                workers = 0
            now = time.monotonic()
            if workers:
                idle_since = None
                continue
            if idle_since is None:
                idle_since = now
            if now - max(idle_since, self._progress) < self.timeout:
                continue
            error = WorkersLost(
                f"{self.what} has had no worker and finished no task for "
                f"{self.timeout:g} s ({self.flag}); the tasks still waiting failed"
            )
            log.info("%s", error)  # in log.txt; the CLI reports it as the run's failure
            self._fail(error)
            return
