"""``tapstrace list models``: the executor models saved by ``tapstrace calibrate``."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def list_models(console: Console) -> None:
    """A table of the saved models, oldest first (the newest per executor is the one
    ``tapstrace predict --executor NAME`` uses)."""
    from tapstrace.predict.model import ExecutorModel
    from tapstrace.predict.store import models_dir, saved_models

    folder = models_dir()
    table = Table(title=f"executor models in {folder}", title_justify="left")
    for col in ("name", "executor", "workers", "source", "created", "host"):
        table.add_column(col)
    found = saved_models()
    for path, model in found:
        if not isinstance(model, ExecutorModel):
            table.add_row(
                escape(path.stem), "[red]unreadable[/red]", escape(str(model)), "", "", ""
            )
            continue
        table.add_row(
            escape(path.stem),
            model.executor,
            ",".join(str(w) for w in model.workers),
            str(model.source.get("kind", "?")),
            model.created or "-",
            model.host or "-",
        )
    if not found:
        table.add_row("(none: run tapstrace calibrate --executor NAME)", "", "", "", "", "")
    console.print(table)
