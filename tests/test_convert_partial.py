"""``tapstrace convert`` of a partial trace: refused unless --repair, and a repair says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapstrace.cli.main import main
from tapstrace.engine import Engine
from tapstrace.trace import TraceWriter, read_trace
from tests.conftest import build_executor
from tests.tasks import identity


def run(*args: str) -> int:
    with pytest.raises(SystemExit) as stop:
        main(list(args))
    return int(stop.value.code or 0)


def test_partial_trace_is_refused_without_repair(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "crashed.arrow"
    writer = TraceWriter(path, flush_interval=0.05)
    with Engine(build_executor("thread", max_threads=2), recorder=writer) as engine:
        engine.wait([engine.submit(identity, i) for i in range(6)])
    writer.flush()  # never closed: a partial stream, as a killed run leaves it
    assert read_trace(path, warn=False).partial

    out = tmp_path / "out.arrow"
    assert run("convert", str(path), str(out)) == 2
    assert "partial trace" in capsys.readouterr().err and not out.exists()

    assert run("convert", str(path), str(out), "--repair") == 0
    repaired = read_trace(out)
    assert not repaired.partial and repaired.tasks.height == 6
    assert repaired.summary["repaired_from_partial"] == str(path)
    assert repaired.summary["records_at_repair"] == 6
    writer.close()
