"""Writing a trace while the run goes on.

Records are appended as zstd-compressed record batches to an Arrow IPC *stream* at the
trace's final path, so a process killed mid-run leaves a readable partial trace. The
stream starts with the schema and its run metadata, written (with an empty batch) when
the writer is made, under a temporary name that is then linked to the trace's path: a
run killed before its first record leaves a valid, empty partial trace that still says
what ran, never a 0-byte file or a header cut short. ``close`` rewrites the stream as an
Arrow IPC *file* (random access, readable by any Arrow tool) through an atomic rename: at
every instant the path holds either the partial stream or the complete file.

Flushes are timed from the oldest waiting record, not from the previous flush, and aim at
half the ``flush_interval``: the other half is headroom for a loaded machine, where the
flush thread waits for the CPU and the GIL. Large flushes go in slices, so the thread
never holds the GIL for long against the tasks of a thread pool.

A writer that cannot write (disk full, permission lost mid-run) stops: it keeps the
stream it flushed so far (a readable partial trace), refuses further records with one
line naming the file and the reason, and ``close`` raises that line too: the engine then
ends the run (tapstrace.errors.RecordingError), and nothing waits on the writer.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from tapstrace.engine.record import Row
from tapstrace.errors import TraceError
from tapstrace.trace.schema import KEY_SUMMARY, SCHEMA, records_to_batch

_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")
#: Share of the flush interval a record is meant to wait; the rest is headroom.
_TARGET = 0.5
#: Most records converted to Arrow in one go (one GIL hold of a few milliseconds).
_SLICE = 4096


class TraceWriter:
    """A thread-safe Recorder that streams records into an Arrow trace file.

    Args:
        path: the trace file (``.arrow``); its folder is created.
        metadata: schema key/value metadata (see tapstrace.trace.metadata).
        flush_interval: longest time a finished record waits in memory, in seconds
            (records are flushed after half of it, the other half absorbs delays).
        max_buffer: records held before a flush is forced early.
        overwrite: replace an existing file instead of refusing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        metadata: Mapping[bytes, bytes] | None = None,
        *,
        flush_interval: float = 1.0,
        max_buffer: int = 50_000,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = SCHEMA.with_metadata(dict(metadata or {}))
        self.flush_interval = flush_interval
        self.max_buffer = max_buffer
        self.rows = 0
        # The header (schema, run metadata, an empty batch: pyarrow writes the schema with
        # the first batch) goes to a file of its own, which then takes the trace's name
        # at once: a run killed at any instant leaves no trace or a whole header, never
        # a header cut short. The stream goes on in the same file.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}-{threading.get_ident()}")
        self._sink = open(tmp, "xb")  # noqa: SIM115 - the stream's, closed by close()
        try:
            self._stream = pa.ipc.new_stream(self._sink, self.schema, options=_OPTIONS)
            self._stream.write_batch(pa.RecordBatch.from_pylist([], schema=self.schema))
            self._sink.flush()
            _publish(tmp, self.path, overwrite)
        except BaseException:
            self._sink.close()
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._buffer: list[Row] = []
        self._oldest = 0.0  # time.monotonic() when the buffer's first record arrived
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._stopping = False
        self._error: TraceError | None = None  # why writing stopped
        self._thread = threading.Thread(target=self._loop, name="tapstrace-trace", daemon=True)
        self._thread.start()

    def record(self, row: Row) -> None:
        """Queue one record; it reaches the file within ``flush_interval`` seconds."""
        with self._lock:
            if self._closed:
                raise TraceError(f"{self.path}: a record arrived after the trace was closed")
            if self._error is not None:
                raise self._error
            first = not self._buffer
            if first:
                self._oldest = time.monotonic()
            self._buffer.append(row)
            full = len(self._buffer) >= self.max_buffer
        if first or full:  # the flush thread times its next flush from the first record
            self._wake.set()

    def flush(self) -> None:
        """Write the queued records to the file now (flushes never overlap)."""
        with self._io_lock:
            with self._lock:
                records, self._buffer = self._buffer, []
            if not records or self._error is not None:
                return
            try:
                for start in range(0, len(records), _SLICE):
                    self._stream.write_batch(records_to_batch(records[start : start + _SLICE]))
                self._sink.flush()
            except OSError as exc:
                self._failed(exc)
                return
            self.rows += len(records)

    def _failed(self, exc: OSError) -> None:
        reason = exc.strerror or str(exc) or type(exc).__name__
        self._error = TraceError(
            f"{self.path}: cannot write the trace ({reason}); the {self.rows} records "
            "flushed before are kept"
        )
        self._error.__cause__ = exc

    def _loop(self) -> None:
        while not self._stopping and self._error is None:
            with self._lock:
                waiting, oldest = len(self._buffer), self._oldest
            if waiting >= self.max_buffer:
                self.flush()
                continue
            timeout = None  # nothing waits: sleep until a record arrives
            if waiting:
                timeout = oldest + self.flush_interval * _TARGET - time.monotonic()
                if timeout <= 0:
                    self.flush()
                    continue
            self._wake.wait(timeout)
            self._wake.clear()

    def close(self, summary: Mapping[str, Any] | None = None) -> Path:
        """Flush, then turn the stream into the final IPC file with ``summary`` metadata."""
        with self._lock:
            if self._closed:
                return self.path
            self._closed = True  # from here on, record() refuses instead of losing data
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self.flush()
        if self._error is not None:  # keep the stream as flushed: a partial trace
            with contextlib.suppress(OSError):
                self._sink.close()
            raise self._error
        self._stream.close()
        self._sink.close()
        with pa.ipc.open_stream(self.path) as reader:
            table = reader.read_all()
        table = table.sort_by([("task_id", "ascending"), ("attempt", "ascending")])
        metadata = dict(self.schema.metadata or {})
        metadata[KEY_SUMMARY] = json.dumps(
            {"complete": True, "rows": table.num_rows, **(summary or {})}
        ).encode()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with (
            pa.OSFile(str(tmp), "wb") as sink,
            pa.ipc.new_file(sink, self.schema.with_metadata(metadata), options=_OPTIONS) as writer,
        ):
            writer.write_table(table, max_chunksize=65_536)
        os.replace(tmp, self.path)
        return self.path

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give the file at ``tmp`` the name ``path`` at once: a hard link (an exclusive
    create: of two runs given the same path, one gets it, the other an error) or, with
    ``overwrite``, a rename over it. Where the file system has no hard links, a rename
    after checking that ``path`` is free."""
    if overwrite:
        os.replace(tmp, path)
        return
    taken = TraceError(f"{path}: exists already; choose another --trace path")
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise taken from None
    except OSError:
        if path.exists():
            raise taken from None
        os.replace(tmp, path)
        return
    with contextlib.suppress(OSError):  # linked: the file lives on under its name
        os.unlink(tmp)
