"""The engine's own cost per task, piece by piece, without an executor in the way.

Tasks go to an executor that only keeps them; the script then runs, in one thread, each
piece of a task's life that the engine and the worker's call add: ``submit`` (the
client's call), ``call`` (the task call around the function, as a thread pool runs it),
``settle`` (the outcome: the record, the trace writer's queue, the future) and
``batch`` (turning the records into an Arrow batch, as the trace writer does). Prints
CPU µs per task for each piece, with the garbage collector on and off. With
``--instructions``, each piece runs again under valgrind's callgrind and the script
prints instructions per task: deterministic, so comparable across a loaded machine.

    python benchmarks/engine_pieces.py [--tasks 50000] [--instructions]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tapstrace.engine import Engine, Outcome
from tapstrace.engine.adapter import Launched
from tapstrace.engine.executor import Executor
from tapstrace.trace import TraceWriter
from tapstrace.trace.schema import records_to_batch

PIECES = ("submit", "call", "settle", "batch")


class Keeper(Executor):
    """An executor that keeps the tasks it is given, for the script to run."""

    local = True

    def __init__(self) -> None:
        self.tasks: list[Launched] = []

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        self.tasks.append(task)
        return None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        pass


def noop() -> None:
    """The task: nothing."""


def run(pieces: Sequence[str], n: int, directory: Path) -> dict[str, float]:
    """Run ``n`` tasks through ``pieces``; CPU µs per task of each."""
    writer = TraceWriter(
        directory / "t.arrow", flush_interval=1e6, max_buffer=1 << 62, overwrite=True
    )
    keeper = Keeper()
    engine = Engine(keeper, recorder=writer)
    futures: list[Any] = []
    steps: dict[str, Callable[[], object]] = {
        "submit": lambda: futures.extend(engine.submit(noop) for _ in range(n)),
        "call": lambda: [task() for task in keeper.tasks],
        "settle": lambda: [task.settle(Outcome.VALUE, None) for task in keeper.tasks],
        "batch": lambda: records_to_batch(list(writer._buffer)),
    }
    costs = {}
    for piece in pieces:
        start = time.thread_time()
        steps[piece]()
        costs[piece] = (time.thread_time() - start) / n * 1e6
    writer._buffer.clear()
    writer.close()
    return costs


def instructions(piece: str, tasks: int) -> float:
    """Instructions per task of ``piece`` (and those before it): callgrind's total for
    ``tasks`` tasks less that for a sixth of them, per task of the difference."""
    counts = []
    for n in (tasks // 6, tasks):
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--child", piece, "--tasks", str(n)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = re.search(r"Collected : ([\d,]+)", done.stderr)
        assert found is not None, done.stderr[-2000:]
        counts.append(int(found.group(1).replace(",", "")))
    return (counts[1] - counts[0]) / (tasks - tasks // 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--instructions", action="store_true", help="also count (callgrind)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.child:  # under callgrind: the pieces up to this one
            run(PIECES[: PIECES.index(args.child) + 1], args.tasks, Path(tmp))
            return
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.tasks} no-op tasks, Python {sys.version.split()[0]}; load {load}")
        with_gc = run(PIECES, args.tasks, Path(tmp))
        gc.disable()
        try:
            without_gc = run(PIECES, args.tasks, Path(tmp))
        finally:
            gc.enable()
    counts: dict[str, str] = {}
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("no valgrind: instructions not counted")
        else:
            tasks = min(args.tasks, 6000)
            previous = 0.0
            for piece in PIECES:
                total = instructions(piece, tasks)
                counts[piece] = f"{total - previous:,.0f}"
                previous = total
    print(f"{'piece':<8}{'CPU us/task':>13}{'without GC':>12}{'instructions':>14}")
    for piece in PIECES:
        print(f"{piece:<8}{with_gc[piece]:>13.2f}{without_gc[piece]:>12.2f}"
              f"{counts.get(piece, ''):>14}")  # fmt: skip
    print(f"{'total':<8}{sum(with_gc.values()):>13.2f}{sum(without_gc.values()):>12.2f}")


if __name__ == "__main__":
    main()
