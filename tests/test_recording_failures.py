"""A failing recorder, listener or trace writer never leaves a future unresolved: the
engine resolves every task, stops the run with one line, and the trace keeps what it
flushed. The full disk is real: the writer runs in a subprocess whose file size limit
(RLIMIT_FSIZE) makes writes fail with EFBIG, as a full file system fails with ENOSPC."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.engine.record import Row
from tapstrace.errors import RecordingError
from tests.conftest import ROOT, build_executor
from tests.tasks import add, identity

resource = pytest.importorskip("resource")  # POSIX


class Exploding:
    """Raises on the ``n``-th call (a recorder or a listener with a bug)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self, row: Row) -> None:
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("progress display broke")

    record = __call__


def _run_until_stopped(engine: Engine) -> list[Any]:
    futures: list[Any] = []
    with pytest.raises(RecordingError, match="progress display broke"):
        for i in range(200):  # rounds of ten, each waited for
            for j in range(5):
                a = engine.submit(identity, 5 * i + j)
                futures += [a, engine.submit(add, a, 1)]
            futures[-1].result(timeout=60)
    return futures


@pytest.mark.parametrize("where", ["listener", "recorder"])
def test_a_raising_consumer_resolves_every_future_and_stops_the_run(
    executor_name: str, where: str
) -> None:
    exploding = Exploding(5)
    recorder: Any = exploding if where == "recorder" else MemoryRecorder()
    engine = Engine(build_executor(executor_name, **_two(executor_name)), recorder=recorder)
    if where == "listener":
        engine.add_listener(exploding)
    futures = _run_until_stopped(engine)
    assert futures  # the run went on until the failure was seen
    for i, future in enumerate(futures):
        assert future.result(timeout=60) == i // 2 + i % 2  # every future resolved
    assert engine.failure is not None and engine.active == 0
    assert "recording failed, the run stopped" in str(engine.failure)
    with pytest.raises(RecordingError):
        engine.shutdown()
    assert exploding.calls == 5  # dropped after it failed


def _two(name: str) -> dict[str, int]:
    return {"max_threads": 2} if name == "thread" else {"max_processes": 2}


FULL_DISK = textwrap.dedent(
    """
    import json, resource, signal, sys
    from tapstrace.engine import Engine
    from tapstrace.errors import RecordingError, TraceError
    from tapstrace.trace import TraceWriter
    from tests.conftest import build_executor
    from tests.tasks import identity

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failing write, not a killed process
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    writer = TraceWriter(sys.argv[1], flush_interval=0.02)
    engine = Engine(build_executor("thread", max_threads=2), recorder=writer)
    futures, stopped = [], None
    try:
        for i in range(200_000):
            futures.append(engine.submit(identity, i))
            if i % 500 == 0:
                futures[-1].result(timeout=60)  # let the writer flush
    except RecordingError as exc:
        stopped = str(exc)
    resolved = all(f.done() for f in futures) or all(
        f.result(timeout=60) is not None for f in futures)
    try:
        engine.shutdown()
        shutdown = None
    except RecordingError as exc:
        shutdown = str(exc)
    try:
        writer.close()
        closed = None
    except TraceError as exc:
        closed = str(exc)
    print(json.dumps({"submitted": len(futures), "stopped": stopped, "resolved": resolved,
                      "active": engine.active, "shutdown": shutdown, "closed": closed,
                      "rows": writer.rows}))
    """
)


def test_a_full_disk_stops_the_run_and_keeps_the_flushed_trace(tmp_path: Path) -> None:
    from tapstrace.trace import read_trace

    path = tmp_path / "t.arrow"
    done = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(path), "60000"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["stopped"] and result["resolved"] and result["active"] == 0
    for message in (result["stopped"], result["shutdown"], result["closed"]):
        assert f"{path}: cannot write the trace (File too large)" in message, message
        assert "\n" not in message
    assert result["submitted"] < 200_000  # stopped early
    with pytest.warns(Warning):  # a partial trace: the stream as it was flushed
        trace = read_trace(path)
    assert 0 < trace.tasks.height <= result["rows"]
    assert path.stat().st_size <= 60000


def test_cli_run_on_a_full_disk_ends_with_one_error_line(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40000, 40000))
        from tapstrace.cli.main import main
        sys.argv = ["tapstrace", *sys.argv[1:]]
        main()
        """
    )
    trace = tmp_path / "full.arrow"
    done = subprocess.run(
        [sys.executable, "-c", script, "run", "synthetic", "--executor", "thread",
         "--record", "--trace", str(trace),
         "--app.structure", "bag", "--app.tasks", "100000", "--app.mean-seconds", "0",
         "--engine.flush-interval", "0.02"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("tapstrace: error: ") and str(trace) in last, last
    assert "cannot write the trace (File too large)" in last
