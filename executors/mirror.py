"""Adapting a framework's own future (Dask, Ray, Parsl) to a ``concurrent.futures.Future``.

The engine reads every executor future through the concurrent.futures protocol
(``add_done_callback``, ``cancelled``, ``exception``, ``result``, ``cancel``). Framework
futures differ in the details: Dask's ``cancel`` returns None, Parsl's raises, Ray calls
back on an internal thread where blocking deadlocks, and failures come wrapped in
framework exceptions. A :class:`MirroredFuture` follows the framework future, unwraps its
failure, and runs callbacks where they may block (a :class:`Relay` thread if needed).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class MirroredFuture(concurrent.futures.Future[Any]):
    """A ``concurrent.futures.Future`` that mirrors a framework future ``native``.

    ``cancel_native`` is called by :meth:`cancel` to cancel the framework's task (None: the
    framework cannot cancel; the client stops waiting all the same, see :meth:`cancel`).
    The executor settles the mirror from the framework's completion with
    :meth:`settle_result`, :meth:`settle_exception` or :meth:`settle_cancelled`.
    """

    def __init__(self, native: Any, cancel_native: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.native = native
        self._cancel_native = cancel_native
        self._cancel_lock = threading.Lock()
        self._notified = False

    def cancel(self) -> bool:
        """Cancel: ask the framework to drop the task and stop waiting for it.

        Unlike a pool future, a running task can be cancelled: its children then fail as
        dependency-failed. Where the framework cannot cancel (Parsl), the task may still
        run to its end on a worker; its result is discarded.
        """
        if self.done():
            return self.cancelled()
        if self._cancel_native is not None:
            try:
                self._cancel_native()
            except Exception:  # the framework refused; the client still stops waiting
                log.debug("cancelling %r failed", self.native, exc_info=True)
        return self._cancel_once()

    def settle_result(self, value: Any) -> None:
        """The framework's task returned ``value``."""
        # Cancelled meanwhile: the result is discarded.
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.set_result(value)

    def settle_exception(self, exc: BaseException) -> None:
        """The framework's task failed with ``exc``."""
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            self.set_exception(exc)

    def settle_cancelled(self) -> None:
        """The framework cancelled the task itself."""
        self._cancel_once()

    def _cancel_once(self) -> bool:
        # Future.cancel leaves the state at CANCELLED, which wait() and as_completed()
        # count as done only once "notified"; notifying twice is an error.
        with self._cancel_lock:
            if not super().cancel():
                return False
            if not self._notified:
                self._notified = True
                self.set_running_or_notify_cancel()
            return True


class Relay:
    """One thread that runs completion callbacks in order, off the framework's threads.

    Ray calls back on its core worker's thread and Parsl on its task launch thread;
    blocking there (the engine submits children, users' callbacks may wait) would stall
    or deadlock the framework. ``put`` only enqueues, so it is safe anywhere.
    """

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[..., object], tuple[Any, ...]] | None]
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` on the relay thread."""
        self._queue.put((fn, args))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except BaseException:
                log.exception("completion callback %r failed", fn)

    def close(self, timeout: float | None = 10.0) -> None:
        """Run what is queued, then stop the thread."""
        self._queue.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
