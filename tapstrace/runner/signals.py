"""How a run meets signals: ``kill`` (SIGTERM, SIGHUP) unwinds it like Ctrl-C does.

A run turns SIGTERM/SIGHUP into :class:`Terminated` (a SystemExit with status 128 +
signal) so that pending tasks are cancelled and recorded and the trace is finalised on
the way out, whatever the executor; Ctrl-C raises KeyboardInterrupt as usual. Either
unwind is bounded (:data:`UNWIND_SECONDS`), and when the bound is hit the threads'
stacks go into the run's log. Executors use the same handlers: Parsl's when built
outside a run, Ray's to keep them through ``ray.init``, which installs its own.
"""

from __future__ import annotations

import concurrent.futures._base
import contextlib
import faulthandler
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

from tapstrace.errors import ConfigError

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
#: The environment variable that sets another bound (seconds, a positive number).
UNWIND_ENV = "TAPSTRACE_UNWIND_SECONDS"


def unwind_seconds() -> float:
    """The unwind bound: ``$TAPSTRACE_UNWIND_SECONDS`` where set, else
    :data:`UNWIND_SECONDS`; a value that is not a positive number is a ConfigError."""
    text = os.environ.get(UNWIND_ENV)
    if text is None:
        return UNWIND_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ConfigError(f"{UNWIND_ENV}: {text!r} is not a positive number of seconds")
    return seconds


_bound = UNWIND_SECONDS  # the unwind bound, read when a run makes itself terminable


def exit_on_signal(signum: int, frame: FrameType | None) -> None:
    """The handler: unwind the main thread with :class:`Terminated`.

    The unwind is bounded: a framework left waiting on a lock by the interruption (a
    shutdown that never returns) must not keep a killed run alive, so the process exits
    with the same status after :func:`unwind_seconds`. Records flushed so far stay in the
    (partial) trace, and the run's reaper stops what the run started.
    """
    if _deferred(signum, frame):
        return
    _deadlines.append(exit_later(128 + signum))
    raise Terminated(signum)


def interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: Python's KeyboardInterrupt, with the unwind bounded as for a kill."""
    if _deferred(signum, frame):
        return
    _deadlines.append(exit_later(128 + signum))
    raise KeyboardInterrupt


#: Code a signal must not cut short: stdlib code that takes a lock and releases it with
#: no ``with`` around (an exception raised in between leaves it held by the client's
#: thread, and the next thread to take it blocks for good, so the unwind waits forever).
#: ``concurrent.futures.wait`` and ``as_completed`` take every future's lock in one loop
#: and release them in another (every TaskFuture's is the engine's one reentrant lock,
#: taken once per future): seen on Ray, 64 tasks in flight, 2 runs in 16 stopped by
#: Ctrl-C. ``logging`` takes a handler's lock before a ``try``: seen on Parsl, whose
#: result thread then waited to log (1 run in 8 stopped by SIGTERM). And
#: ``threading.Condition.__exit__`` is Python code that releases the lock: a signal
#: handled on entering it (every ``with`` over the futures' Condition ends there)
#: raises before the release.
_UNSAFE_CODE: frozenset[CodeType] = frozenset(
    {
        concurrent.futures._base._AcquireFutures.__enter__.__code__,
        concurrent.futures._base._AcquireFutures.__exit__.__code__,
        threading.Condition.__exit__.__code__,
    }
)
_UNSAFE_FILES = frozenset({logging.__file__})
#: Seconds before a signal that arrived in unsafe code is delivered again; for how long
#: at most (code that blocks there, a log handler writing to a full pipe, must not
#: hold a signal back for ever).
DEFER_SECONDS = 0.005
DEFER_AT_MOST = 2.0
_deferring: dict[int, tuple[float, float]] = {}  # signal -> its first and last deferral


def _deferred(signum: int, frame: FrameType | None) -> bool:
    """Whether the signal arrived in code it must not cut short (or in something that
    code called); if so, it is sent again shortly, to be handled outside it."""
    now = time.monotonic()
    first, last = _deferring.get(signum, (now, now))
    if now - last > 1.0:  # long after it was sent again (to another handler): a new one
        first = now
    if now - first > DEFER_AT_MOST:
        frame = None
    _deferring[signum] = (first, now)
    while frame is not None:
        code = frame.f_code
        if code in _UNSAFE_CODE or code.co_filename in _UNSAFE_FILES:
            timer = threading.Timer(DEFER_SECONDS, os.kill, (os.getpid(), signum))
            timer.daemon = True
            timer.start()
            return True
        frame = frame.f_back
    del _deferring[signum]
    return False


_deadlines: list[threading.Timer] = []  # armed by the handlers, disarmed by restore
_stacks_file: Path | None = None  # where a bounded-out unwind leaves the threads' stacks


def exit_later(status: int, seconds: float | None = None) -> threading.Timer:
    """Make the process exit with ``status`` in ``seconds`` (default: the run's unwind
    bound) unless it has exited by then (a daemon timer: it never delays a normal exit)."""
    if seconds is None:
        seconds = _bound
    timer = threading.Timer(seconds, _give_up, (status, seconds))
    timer.daemon = True
    timer.start()
    return timer


def stacks_to(path: Path | None) -> None:
    """Where an unwind that exceeds its bound writes every thread's stack (the run's
    log): what it waited on is the one clue such a rare hang leaves."""
    global _stacks_file
    _stacks_file = path


def _give_up(status: int, seconds: float) -> None:
    where = ""
    if _stacks_file is not None:
        try:
            with open(_stacks_file, "a") as file:
                file.write(f"unwind exceeded {seconds:g} s; the threads' stacks:\n")
                file.flush()
                faulthandler.dump_traceback(file, all_threads=True)
            where = f" (the threads' stacks are in {_stacks_file})"
        except OSError:
            pass
    with contextlib.suppress(OSError, ValueError):
        os.write(2, f"tapstrace: not unwound within {seconds:g} s; exiting{where}\n".encode())
    os._exit(status)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def terminable() -> dict[int, Any]:
    """Install :func:`exit_on_signal` for SIGTERM/SIGHUP where the default (die at once)
    is set, and :func:`interrupt` for SIGINT where Python's own is, in the main thread
    only; returns what to give :func:`restore`. Reads the unwind bound (a bad
    ``$TAPSTRACE_UNWIND_SECONDS`` fails here, before the run, not in a handler)."""
    global _bound
    _bound = unwind_seconds()
    installed: dict[int, Any] = {}
    if _main_thread():
        for signum in TERMINATING:
            if signal.getsignal(signum) is signal.SIG_DFL:
                installed[signum] = signal.signal(signum, exit_on_signal)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            installed[signal.SIGINT] = signal.signal(signal.SIGINT, interrupt)
    return installed


def restore(installed: dict[int, Any]) -> None:
    """Undo :func:`terminable` (where nobody replaced the handler since); the unwind is
    over, so a pending forced exit is called off. A call that installed nothing (an
    executor built inside a run, whose handlers were set already) leaves all as is: the
    run's unwind, and its bound, are not over."""
    if not _main_thread() or not installed:
        return
    while _deadlines:
        _deadlines.pop().cancel()
    _deferring.clear()
    for signum, previous in installed.items():
        if signal.getsignal(signum) in (exit_on_signal, interrupt):
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
