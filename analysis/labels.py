"""What runs are called in tables and charts: a run's name (its file, or its run
directory when the file's name says nothing) and its label (the name with its group keys,
unique among the runs shown together)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tapstrace.trace.reader import Trace

#: File names that say nothing about the run: such a trace is named after its folder.
_GENERIC = {"tasks", "trace", "instance"}
_SUFFIXES = (".wfformat.json", ".wf.json", ".perfetto.json", ".arrow", ".jsonl", ".json")


def run_name(trace: Trace) -> str:
    """What a run is called: its file name without the format's suffix, or its folder's
    name when the file's says nothing (TaPS' tasks.jsonl: the run directory)."""
    path = trace.path
    if path is None:
        return str(trace.metadata.get("run_id") or "trace")
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.lower() in _GENERIC:  # TaPS' tasks.jsonl: its run directory
        return path.parent.name or name
    return name


def run_label(
    name: str, keys: tuple[str | None, str | None, int | None], folders: tuple[str, ...],
    taken: set[str],
) -> str:  # fmt: skip
    """A run's label in tables and charts: its name and its group keys (app, executor,
    workers: those the name does not already say, in brackets), made unique by the
    folders above it (``process-pool/2024-05-27-23-57-45``), else by a number."""
    app, executor, slots = keys
    shown = [k for k in (app, executor) if k and k not in name]
    shown += [f"{slots} worker{'' if slots == 1 else 's'}"] if slots else []
    suffix = f" ({', '.join(shown)})" if shown else ""
    candidates = [name, *("/".join((*folders[-k:], name)) for k in range(1, len(folders) + 1))]
    for candidate in candidates:
        if candidate + suffix not in taken:
            return candidate + suffix
    n = 2
    while f"{name}#{n}{suffix}" in taken:
        n += 1
    return f"{name}#{n}{suffix}"
