"""Which format a trace file is in, judged by its content, and loading it.

Arrow traces (tapstrace's own) are read by tapstrace.trace.reader; this module handles
the others and is what ``read_trace`` calls for them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tapstrace.errors import TraceError
from tapstrace.formats import taps, wfformat
from tapstrace.formats.jsonfile import loads, read_bytes
from tapstrace.trace.reader import Trace

#: Formats a trace can be read from.
IMPORT_FORMATS = ("arrow", "wfformat", "taps")


def _first_json_line(raw: bytes) -> object:
    for line in raw.splitlines():
        if line.strip():
            try:
                return loads(line)
            except ValueError:
                return None
    return None


def detect(path: Path, raw: bytes | None = None) -> str:
    """The format of the trace at ``path``: arrow, wfformat or taps.

    A directory is a TaPS run directory when it holds tasks.jsonl (or tasks.json).
    """
    if path.is_dir():
        if taps.records_file(path) is not None:
            return "taps"
        raise TraceError(
            f"{path}: is a directory, not a trace file (nor a TaPS run directory with tasks.jsonl)"
        )
    if raw is None:
        raw = read_bytes(path)
    if not raw.strip():
        raise TraceError(f"{path}: empty file, not a trace")
    if raw.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
        return "arrow"
    text = raw.lstrip()
    if text.startswith((b"{", b"[")):
        if taps.is_taps_record(_first_json_line(text)):
            return "taps"
        try:
            document = loads(raw)
        except ValueError:
            document = None
        if wfformat.is_wfformat(document):
            return "wfformat"
        if isinstance(document, list) and document and taps.is_taps_record(document[0]):
            return "taps"
        if document is None and b'"workflow"' in raw[:4096]:
            return "wfformat"  # damaged WfFormat JSON: let its reader name the problem
    raise TraceError(
        f"{path}: not an Arrow trace, WfFormat instance or TaPS task record file "
        f"(--format {'|'.join(IMPORT_FORMATS)} forces one)"
    )


def load(path: str | Path, format: str | None = None, *, warn: bool = True) -> Trace:
    """Read a trace in any supported format, detected by content unless ``format`` is given."""
    p = Path(path)
    if format is not None and format not in IMPORT_FORMATS:
        raise TraceError(
            f"{p}: unknown trace format {format!r} (choose from {', '.join(IMPORT_FORMATS)})"
        )
    if not p.exists():
        raise TraceError(f"{p}: no such file")
    raw = None if p.is_dir() else read_bytes(p)
    kind = format or detect(p, raw)
    if kind == "arrow":
        from tapstrace.trace.reader import read_trace

        return read_trace(p, warn=warn, format="arrow")
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else None
    if kind == "wfformat":
        if raw is None:
            raise TraceError(f"{p}: is a directory, not a WfFormat file")
        return wfformat.read_wfformat(p, raw, digest)
    return taps.read_taps(p, raw, digest)
