"""Nothing a run starts outlives it, even when the run is killed with SIGKILL.

No code in a process runs after a SIGKILL, so a run cannot clean up after itself then:
its pool workers, Dask nannies, Ray's daemons and agents and Parsl's interchange and
worker pools would live on. A *reaper* does it instead: a small process started with the
run, in a session of its own (a Ctrl-C or a ``kill`` of the run's process group does not
reach it), that watches the run's process (the driver):

- while the driver lives, it notes every process in the driver's tree started since
  the run began (pid and start time, every half second), and the run's mark: the
  driver puts ``TAPSTRACE_RUN_MARK`` in its environment, which everything it starts
  inherits (it finds processes that left the tree, like the worker pools Parsl starts
  through a shell that exits);
- when the driver dies without releasing it, it stops all of them (and their
  descendants): SIGTERM, then SIGKILL after 2 s, looking again until none is left;
- a run that ends normally releases it (``release``): its executor shut down what it
  started, and the reaper exits without touching anything.

The reaper process lists processes with psutil.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import time
from typing import IO, Any

log = logging.getLogger(__name__)

MARK = "TAPSTRACE_RUN_MARK"
_PERIOD = 0.5  # seconds between looks at the driver's tree
_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
_GIVE_UP = 20.0  # seconds of sweeping before the reaper gives up
_RELEASE = b"release\n"


class Reaper:
    """The driver's side: start the reaper process for a run, release it at the end.

    Args:
        mark: put in the environment as ``TAPSTRACE_RUN_MARK`` (the run id).
    """

    def __init__(self, mark: str) -> None:
        self.mark = mark
        self._proc: subprocess.Popen[bytes] | None = None
        self._previous: str | None = None

    def start(self) -> None:
        """Start the reaper and mark the environment."""
        env = {k: v for k, v in os.environ.items() if k != MARK}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tapstrace.runner.reaper", str(os.getpid()), self.mark,
             repr(time.time())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )  # fmt: skip
        self._previous = os.environ.get(MARK)
        os.environ[MARK] = self.mark

    def release(self) -> None:
        """The run ended normally: let the reaper go without stopping anything."""
        if os.environ.get(MARK) == self.mark:
            if self._previous is None:
                del os.environ[MARK]
            else:
                os.environ[MARK] = self._previous
        proc, self._proc = self._proc, None
        if proc is None or proc.stdin is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.write(_RELEASE)
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the reaper process ----------------------------------------------------------------


def _watch(driver: int, since: float, stdin: IO[bytes]) -> dict[int, float] | None:
    """Note the driver's new descendants until it dies (returned) or releases (None)."""
    import psutil

    known: dict[int, float] = {}
    try:
        parent = psutil.Process(driver)
    except psutil.NoSuchProcess:
        return known
    pidfd = -1
    with contextlib.suppress(AttributeError, OSError):
        pidfd = os.pidfd_open(driver)  # readable when the driver dies (Linux >= 5.3)
    watched = [stdin.fileno()] + ([pidfd] if pidfd >= 0 else [])
    while True:
        readable, _, _ = select.select(watched, [], [], _PERIOD)
        if stdin.fileno() in readable:
            line = stdin.readline()
            if line == _RELEASE:
                return None
            watched.remove(stdin.fileno())  # closed without release: only the pid counts
        if pidfd in readable or not parent.is_running():
            return known
        try:
            children = parent.children(recursive=True)
        except psutil.Error:
            return known
        for child in children:
            with contextlib.suppress(psutil.Error):
                started = child.create_time()
                if started >= since - 1.0:
                    known[child.pid] = started


def _targets(known: dict[int, float], mark: str) -> dict[int, Any]:
    """Live processes of the run: the noted ones, the marked ones, their descendants."""
    import psutil

    me = os.getpid()
    found: dict[int, psutil.Process] = {}
    for pid, started in known.items():
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            if proc.create_time() == started:
                found[pid] = proc
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid not in found and proc.environ().get(MARK) == mark:
                found[proc.pid] = proc
    for proc in list(found.values()):
        with contextlib.suppress(psutil.Error):
            for child in proc.children(recursive=True):
                found.setdefault(child.pid, child)
    found.pop(me, None)
    alive = {}
    for pid, proc in found.items():
        with contextlib.suppress(psutil.Error):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive[pid] = proc
    return alive


def _sweep(known: dict[int, float], mark: str) -> None:
    """Stop every process of the run: TERM, then KILL, until none is left."""
    import psutil

    deadline = time.monotonic() + _GIVE_UP
    while time.monotonic() < deadline:
        targets = _targets(known, mark)
        if not targets:
            return
        for proc in targets.values():
            with contextlib.suppress(psutil.Error):
                proc.terminate()
        _, alive = psutil.wait_procs(list(targets.values()), timeout=_GRACE)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=1.0)
        for pid, proc in targets.items():
            with contextlib.suppress(psutil.Error):
                known[pid] = proc.create_time()


def main(argv: list[str] | None = None) -> None:
    """``python -m tapstrace.runner.reaper DRIVER_PID MARK SINCE``."""
    import signal

    args = sys.argv[1:] if argv is None else argv
    driver, mark, since = int(args[0]), args[1], float(args[2])
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    known = _watch(driver, since, sys.stdin.buffer)
    if known is not None:
        _sweep(known, mark)


if __name__ == "__main__":
    main()
