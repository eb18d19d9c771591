"""How a run meets signals: ``kill`` (SIGTERM, SIGHUP) unwinds it like Ctrl-C does.

A run turns SIGTERM/SIGHUP into :class:`Terminated` (a SystemExit with status 128 +
signal) so that pending tasks are cancelled and recorded and the trace is finalised on
the way out, whatever the executor. Executors use the same handlers: Parsl's when built
outside a run, Ray's to keep them through ``ray.init``, which installs its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Terminated(SystemExit):
    """The run was stopped by ``signum``; exit status 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


#: Seconds a run has to unwind after SIGTERM/SIGHUP before the process exits anyway.
UNWIND_SECONDS = 20.0


def exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """The handler: unwind the main thread with :class:`Terminated`.

    The unwind is bounded: a framework left waiting on a lock by the interruption (a
    shutdown that never returns) must not keep a killed run alive, so the process exits
    with the same status after :data:`UNWIND_SECONDS`. Records flushed so far stay in the
    (partial) trace, and the run's reaper stops what the run started.
    """
    _deadlines.append(exit_later(128 + signum))
    raise Terminated(signum)


_deadlines: list[threading.Timer] = []  # armed by exit_on_signal, disarmed by restore


def exit_later(status: int, seconds: float = UNWIND_SECONDS) -> threading.Timer:
    """Make the process exit with ``status`` in ``seconds`` unless it has exited by then
    (a daemon timer: it never delays a normal exit)."""
    timer = threading.Timer(seconds, os._exit, (status,))
    timer.daemon = True
    timer.start()
    return timer


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def terminable() -> dict[int, Any]:
    """Install :func:`exit_on_signal` for SIGTERM/SIGHUP where the default (die at once)
    is set, in the main thread only; returns what to give :func:`restore`."""
    installed: dict[int, Any] = {}
    if _main_thread():
        for signum in TERMINATING:
            if signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, exit_on_signal)
    return installed


def restore(installed: dict[int, Any]) -> None:
    """Undo :func:`terminable` (where nobody replaced the handler since); the unwind is
    over, so a pending forced exit is called off."""
    if not _main_thread():
        return
    while _deadlines:
        _deadlines.pop().cancel()
    for signum, previous in installed.items():
        if signal.getsignal(signum) is exit_on_signal:
            signal.signal(signum, previous)
    installed.clear()


def interruptible() -> None:
    """Put SIGINT back as Python sees it, at the OS level, before a run starts anything.

    Importing polars installs a SIGINT handler of its own, flagged SA_RESTART
    (pola-rs/polars#21739), even where SIGINT was ignored. Two consequences, both undone
    here: a main thread waiting on a lock (``engine.wait``) sleeps on through Ctrl-C
    (Python's own handler interrupts the wait); and in a background job of a script,
    whose SIGINT the shell set to ignored, the run's workers no longer inherit the
    ignore: a SIGINT to the job's process group killed them and left the run waiting
    for them (issue 15, item 6).
    """
    if not _main_thread():
        return
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) or handler == signal.SIG_IGN:  # None: installed outside Python
        signal.signal(signal.SIGINT, handler)


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """Keep the SIGTERM/SIGHUP handlers through a call that replaces them (``ray.init``)."""
    if not _main_thread():
        yield
        return
    saved = {signum: signal.getsignal(signum) for signum in TERMINATING}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None:  # None: not set from Python; nothing to restore
                signal.signal(signum, handler)
