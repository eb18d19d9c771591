"""Where executor models are kept: one JSON file each in the user's model directory.

``$TAPSTRACE_MODELS`` if set, else ``$XDG_DATA_HOME/tapstrace/models``, else
``~/.local/share/tapstrace/models``. ``tapstrace list models`` shows them;
``tapstrace predict --executor X`` takes the newest one for X.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from tapstrace.predict.model import ExecutorModel, ModelError


def models_dir() -> Path:
    """The directory models are saved in (not created here)."""
    explicit = os.environ.get("TAPSTRACE_MODELS")
    if explicit:
        return Path(explicit).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "tapstrace" / "models"


def save_model(model: ExecutorModel, path: str | Path | None = None) -> Path:
    """Save ``model`` at ``path``, or in the model directory under a new name
    (EXECUTOR-YYYYmmdd-HHMMSS.json)."""
    if path is not None:
        return model.save(path)
    folder = models_dir()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{model.executor}-{stamp}.json"
    n = 1
    while target.exists():
        target = folder / f"{model.executor}-{stamp}-{n}.json"
        n += 1
    return model.save(target)


def saved_models() -> list[tuple[Path, ExecutorModel | ModelError]]:
    """Every model file in the model directory (a file that does not load gives its
    error), oldest first by file name and modification time."""
    folder = models_dir()
    if not folder.is_dir():
        return []
    found: list[tuple[Path, ExecutorModel | ModelError]] = []
    for path in sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            found.append((path, ExecutorModel.load(path)))
        except ModelError as exc:
            found.append((path, exc))
    return found


def find_model(name: str) -> Path:
    """A model file named by path, or by file name (with or without .json) in the
    model directory."""
    direct = Path(name).expanduser()
    if direct.is_file():
        return direct
    folder = models_dir()
    for candidate in (folder / name, folder / f"{name}.json"):
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"--model {name}: no such model file (nor in {folder}; see tapstrace list models)"
    )


def latest_model(executor: str) -> Path:
    """The model saved last for ``executor``."""
    matching = [
        path
        for path, model in saved_models()
        if isinstance(model, ExecutorModel) and model.executor == executor
    ]
    if not matching:
        raise ModelError(
            f"--executor {executor}: no model calibrated for it in {models_dir()}; run "
            f"tapstrace calibrate --executor {executor} first"
        )
    return matching[-1]
