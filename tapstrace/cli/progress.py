"""A progress bar of tasks done / submitted, with the rate, the time left where it can
be known and the failures so far. It is polled, so the task hot path never touches it
(the one exception: a listener counts attempts that did not succeed, while it shows)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from tapstrace.engine.engine import Engine

#: Index of the status in an engine record (tapstrace.engine.record.Row).
STATUS = 5


def _eta(done: int, total: int | None, elapsed: float) -> str:
    """Time left at the mean rate so far, when the number of tasks is known."""
    if total is None or done == 0 or elapsed <= 0 or done >= total:
        return ""
    left = (total - done) * elapsed / done
    minutes, seconds = divmod(int(left + 0.5), 60)
    return f"ETA {minutes}:{seconds:02d}"


def line(done: int, failed: int, elapsed: float, total: int | None) -> str:
    """The text after the bar: rate, time left and failures so far."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f"{rate:,.1f} tasks/s" if rate < 100 else f"{rate:,.0f} tasks/s"]
    eta = _eta(done, total, elapsed)
    if eta:
        parts.append(eta)
    if failed:
        parts.append(f"[red]{failed} failed[/red]")
    return "  ".join(parts)


@contextmanager
def task_progress(
    engine: Engine, description: str = "tasks", total: int | None = None
) -> Iterator[None]:
    """Show finished / submitted tasks on stderr while the block runs (finished / total
    when the number of tasks is known, as in a replay), with the rate, the time left
    and the failed attempts so far."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
    )
    failed = [0]

    def count(row: tuple[object, ...]) -> None:
        if row[STATUS] != "ok":
            failed[0] += 1

    engine.add_listener(count)
    start = time.monotonic()
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task(description, total=total, info="")

        def update() -> None:
            done = engine.finished
            expected = total if total is not None else engine.submitted
            info = line(done, failed[0], time.monotonic() - start, total)
            progress.update(bar, total=expected, completed=done, info=info)

        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.1):
                update()

        thread = threading.Thread(target=poll, name="tapstrace-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            update()
