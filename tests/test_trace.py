"""The Arrow trace: schema, round trip, partial streams and crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tapstrace.engine import Engine, Status
from tapstrace.errors import TraceError
from tapstrace.trace import SCHEMA, PartialTraceWarning, TraceWriter, read_trace
from tests.conftest import ROOT, build_executor
from tests.tasks import fail, identity


def test_round_trip_with_metadata(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    writer = TraceWriter(path, {b"tapstrace.run": json.dumps({"app": {"name": "x"}}).encode()})
    with Engine(build_executor("thread", max_threads=2), recorder=writer) as engine:
        a = engine.submit(identity, b"abc")
        b = engine.submit(identity, a)
        engine.submit(fail)
        engine.wait([b])
    writer.close({"note": "done"})
    with open(path, "rb") as f:
        assert f.read(6) == b"ARROW1"  # finalised as an IPC file
    table = pa.ipc.open_file(path).read_all()  # readable without tapstrace
    assert table.schema.remove_metadata() == SCHEMA
    trace = read_trace(path)
    assert not trace.partial and trace.app == "x" and trace.summary["note"] == "done"
    tasks = trace.tasks
    assert tasks.height == 3
    assert tasks.schema["submitted"] == pl.Datetime("us", "UTC")
    row = tasks.filter(pl.col("task_id") == b.task_id).row(0, named=True)
    assert row["parents"] == [a.task_id] and row["status"] == "ok"
    assert row["input_bytes"] == 3 and row["output_bytes"] == 3
    assert tasks.filter(pl.col("status") == Status.FAILED)["error_type"].to_list() == ["ValueError"]


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    path.write_bytes(b"precious")
    with pytest.raises(TraceError, match="exists"):
        TraceWriter(path)
    assert path.read_bytes() == b"precious"


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "text.arrow").write_text("not arrow at all")
    (tmp_path / "empty.arrow").write_bytes(b"")
    with pytest.raises(TraceError, match=r"text\.arrow: not an Arrow trace"):
        read_trace(tmp_path / "text.arrow")
    with pytest.raises(TraceError, match="empty file"):
        read_trace(tmp_path / "empty.arrow")
    with pytest.raises(TraceError, match="no such file"):
        read_trace(tmp_path / "missing.arrow")


def test_unfinalised_stream_reads_as_partial(tmp_path: Path) -> None:
    path = tmp_path / "t.arrow"
    writer = TraceWriter(path, flush_interval=0.05)
    with Engine(build_executor("thread", max_threads=2), recorder=writer) as engine:
        engine.wait([engine.submit(identity, i) for i in range(10)])
    writer.flush()
    data = path.read_bytes()
    (tmp_path / "cut.arrow").write_bytes(data[: len(data) - 7])  # a batch cut mid-write
    with pytest.warns(PartialTraceWarning):
        trace = read_trace(path)
    assert trace.partial and trace.tasks.height == 10
    cut = read_trace(tmp_path / "cut.arrow", warn=False)
    assert cut.partial and cut.tasks.height == 0  # the only batch was damaged
    writer.close()
    assert not read_trace(path).partial


CRASHING_RUN = textwrap.dedent(
    """
    import sys, threading, time
    from tapstrace.engine import Engine
    from tapstrace.trace import TraceWriter
    from tests.conftest import build_executor
    from tests.tasks import sleep

    writer = TraceWriter(sys.argv[1], flush_interval=0.2)
    engine = Engine(build_executor("thread", max_threads=2), recorder=writer)

    lock = threading.Lock()

    def done(future):
        with lock:  # callbacks run on several threads: one whole line at a time
            sys.stdout.write(f"done {future.task_id} {time.time()}\\n")
            sys.stdout.flush()

    for _ in range(2000):
        engine.submit(sleep, 0.02).add_done_callback(done)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_sigkill_keeps_every_task_completed_before_the_last_flush(tmp_path: Path) -> None:
    path = tmp_path / "crash.arrow"
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    done: dict[int, float] = {}
    assert proc.stdout is not None
    while len(done) < 60:
        line = proc.stdout.readline()
        assert line, "the run ended before it was killed"
        _, task_id, at = line.split()
        done[int(task_id)] = float(at)
    os.kill(proc.pid, signal.SIGKILL)
    killed = time.time()
    proc.wait()
    trace = read_trace(path, warn=False)
    assert trace.partial
    recorded = set(trace.tasks["task_id"].to_list())
    # A record is queued before its future resolves, and flushed within 0.2 s.
    must_have = {t for t, at in done.items() if at < killed - 0.2 - 0.3}
    assert must_have, "no task finished early enough to test"
    assert must_have <= recorded
    assert trace.tasks["status"].unique().to_list() == ["ok"]
