"""Starts Parsl's HTEX interchange so that it stops with the run that started it.

``python -m tapstrace.executors.parsl_interchange [--die-with-parent PID]`` runs the
interchange exactly as Parsl's own launch command does, with two changes:

- it ignores SIGINT: Ctrl-C in a terminal signals the whole foreground process group,
  and an interchange killed before the driver cleans up leaves Parsl's clean-up waiting
  for it and the worker pools running; the driver stops it (SIGTERM) in its clean-up;
- with ``--die-with-parent PID`` (Linux; PID is the driver's, whose thread starting the
  interchange must live as long as the run), the kernel sends it SIGTERM when the driver
  dies, even by SIGKILL, which no clean-up code in the driver can handle.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the driver died before prctl took effect
        sys.exit(0)


def main() -> None:
    """Run the interchange (its configuration arrives pickled on stdin, as Parsl sends it)."""
    args = sys.argv[1:]
    if args[:1] == ["--die-with-parent"] and len(args) == 2 and args[1].isdigit():
        _die_with_parent(int(args[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.argv = sys.argv[:1]
    runpy.run_module("parsl.executors.high_throughput.interchange", run_name="__main__")


if __name__ == "__main__":
    main()
