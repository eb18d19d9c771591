"""Writing a trace in another format, atomically: the output path holds either nothing
(or its old content) or the complete new file, never a half-written one."""

from __future__ import annotations

import os
from pathlib import Path

from tapstrace.errors import TraceError, UserError
from tapstrace.trace.reader import Trace

#: Formats a trace can be written to.
EXPORT_FORMATS = ("arrow", "chrome", "wfformat")

_SUFFIXES = {
    ".arrow": "arrow",
    ".perfetto.json": "chrome",
    ".chrome.json": "chrome",
    ".trace.json": "chrome",
    ".wfformat.json": "wfformat",
    ".wf.json": "wfformat",
}


def output_format(path: Path, format: str | None) -> str:
    """The export format: ``format`` if given, else the one the file name implies."""
    if format is not None:
        if format not in EXPORT_FORMATS:
            raise UserError(
                f"--to: unknown format {format!r} (choose from {', '.join(EXPORT_FORMATS)})"
            )
        return format
    name = path.name.lower()
    for suffix, kind in _SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    raise UserError(
        f"{path}: cannot tell the output format from the name; give --to "
        f"{'|'.join(EXPORT_FORMATS)} (or name it *.arrow, *.perfetto.json, *.wf.json)"
    )


def save(
    trace: Trace, path: str | Path, format: str | None = None, *, overwrite: bool = False
) -> Path:
    """Write ``trace`` to ``path`` in ``format`` (inferred from the name when None)."""
    out = Path(path)
    kind = output_format(out, format)
    if out.exists() and not overwrite:
        raise TraceError(f"{out}: exists already; choose another path (or --force)")
    if out.is_dir():
        raise TraceError(f"{out}: is a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if kind == "arrow":
            from tapstrace.formats.arrow import write_arrow

            write_arrow(trace, tmp)
        else:
            with open(tmp, "w") as f:
                if kind == "chrome":
                    from tapstrace.formats.chrome import write_chrome

                    write_chrome(trace, f)
                else:
                    from tapstrace.formats.wfformat import write_wfformat

                    write_wfformat(trace, f)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
