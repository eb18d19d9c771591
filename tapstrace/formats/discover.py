"""Finding traces of every readable format in the paths a user gives.

Files named on the command line are taken as given (their format is detected when they
are read). Directories are searched recursively for tapstrace traces (``*.arrow``), TaPS
run directories (a folder holding ``tasks.jsonl`` or ``tasks.json``) and WfFormat
instances or TaPS record files (``*.json``/``*.jsonl`` whose first bytes look like one).
Hidden folders (``.git``, ``.venv``) are skipped; other JSON files are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from tapstrace.formats.jsonfile import loads
from tapstrace.formats.taps import CONFIG_FILES, RECORD_FILES, is_taps_record

#: Bytes read from a JSON file to tell whether it is a trace.
SNIFF_BYTES = 1 << 16

#: What a directory search finds, for messages.
SEARCHED = "*.arrow traces, TaPS run directories, WfFormat instances"


def _sniff(path: Path) -> bool:
    """Whether a .json/.jsonl file found in a directory looks like a trace."""
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return True  # unreadable: let the reader report it
    text = head.lstrip()
    if text.startswith(b"{") and b'"workflow"' in head:
        return True  # WfFormat: {"name": ..., "workflow": {...}}
    try:  # TaPS records: one JSON object per line
        return is_taps_record(loads(text.split(b"\n", 1)[0]))
    except ValueError:
        return False


def _search(directory: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(directory):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        here = Path(root)
        names = set(files)
        skip: set[str] = set()
        if names & set(RECORD_FILES):
            yield here  # a TaPS run directory: its records and config are one trace
            skip = {*RECORD_FILES, *CONFIG_FILES}
        for name in sorted(names - skip):
            lower = name.lower()
            if lower.endswith(".arrow") or (
                lower.endswith((".json", ".jsonl")) and _sniff(here / name)
            ):
                yield here / name


def find_traces(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Every trace named by ``paths``: files as given, directories searched (see the module
    docstring). Returns the traces, and (path, problem) for each path that gave none."""
    found: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = list(_search(path))
            if not inside:
                problems.append((str(path), f"no trace in this directory ({SEARCHED})"))
            found += inside
        elif path.exists():
            found.append(path)
        else:
            problems.append((str(path), "no such file or directory"))
    return list(dict.fromkeys(found)), problems
