"""A progress bar of tasks done / submitted, polled so the task hot path never touches it."""

from __future__ import annotations

import threading
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


@contextmanager
def task_progress(engine: Engine, description: str = "tasks") -> Iterator[None]:
    """Show finished / submitted tasks on stderr while the block runs."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task(description, total=None)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.1):
                progress.update(bar, total=engine.submitted, completed=engine.finished)

        thread = threading.Thread(target=poll, name="tapstrace-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            progress.update(bar, total=engine.submitted, completed=engine.finished)
