"""Property: a damaged or hostile trace file is read cleanly or refused with a TraceError,
never another exception, and what is read can be shown, analysed and converted.

Every importer (TaPS runs of each era, WfFormat 1.5 and 1.4) and tapstrace's own Arrow
traces get mutated copies of valid files (tests/formats/mutations.py). The number of
examples comes from the hypothesis profile: "ci" by default (a few hundred in all);
``pytest --hypothesis-profile fuzz tests/formats/test_fuzz.py`` runs thousands.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import tomli_w
from hypothesis import event, given
from hypothesis import strategies as st

from tapstrace.analysis.summary import summarize
from tapstrace.analysis.tasks import prepare
from tapstrace.errors import TraceError, UserError
from tapstrace.formats import save
from tapstrace.formats.arrow import toml_ready
from tapstrace.trace.reader import read_trace
from tests.analysis.builders import reference_rows, write_trace
from tests.formats.mutations import mutated_bytes, mutated_document
from tests.formats.test_taps_eras import CASES, RUNS
from tests.replay.conftest import wfformat_14, wfformat_15

TAPS_DIRS = [RUNS / case[0] for case in CASES]


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per example (hypothesis runs many examples in one test call)."""
    folder = Path(tempfile.mkdtemp(prefix="tapstrace-fuzz-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_cleanly(path: Path, out: Path, format: str | None = None) -> None:
    """The property: read ``path``; refused with a TraceError, or read, shown, analysed
    (warm-ups kept and dropped; the analyses may refuse it with a one-line error too) and
    converted to Arrow, which reads back the same."""
    try:
        trace = read_trace(path, warn=False, format=format)
    except TraceError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    event("read")
    trace.describe()
    try:  # the analyses may refuse what they cannot analyse (a cycle), as cleanly
        summarize(prepare(trace))
        summarize(prepare(trace, include_warmup=True))
    except UserError as exc:
        assert "\n" not in str(exc)
        event("analysis refused")
    copy = save(trace, out / "copy.arrow")
    again = read_trace(copy, warn=False)
    assert again.tasks.height == trace.tasks.height


def _records(seed: Path) -> tuple[str, Any]:
    name = "tasks.jsonl" if (seed / "tasks.jsonl").is_file() else "tasks.json"
    lines = (seed / name).read_text().splitlines()
    return name, [json.loads(line) for line in lines if line.strip()]


def _jsonl(rows: Any) -> bytes:
    return "".join(
        json.dumps(r) + "\n" for r in (rows if isinstance(rows, list) else [rows])
    ).encode()


def _config(seed: Path) -> tuple[str, Any]:
    if (seed / "config.toml").is_file():
        return "config.toml", tomllib.loads((seed / "config.toml").read_text())
    return "config.json", json.loads((seed / "config.json").read_text())


def _toml(document: Any) -> bytes:
    """A mutated config as TOML (which has no null and needs a table at the top)."""
    table = document if isinstance(document, dict) else {"value": document}
    try:
        return tomli_w.dumps(toml_ready(table)).encode()
    except (TypeError, ValueError, RecursionError):  # not representable: damaged bytes
        return b"[app\nname = "


def _taps_run(data: st.DataObject, seed: Path, what: str, how: str) -> None:
    """A copy of a TaPS run with its records or its config mutated, read cleanly."""
    with scratch() as folder:
        run = folder / seed.name
        shutil.copytree(seed, run)
        name, document = _records(seed) if what == "records" else _config(seed)
        if how == "document":
            changed = data.draw(mutated_document(document))
            if what == "records":
                raw = _jsonl(changed)
            else:
                raw = _toml(changed) if name.endswith(".toml") else json.dumps(changed).encode()
        else:
            raw = data.draw(mutated_bytes((seed / name).read_bytes()))
        (run / name).write_bytes(raw)
        read_cleanly(run, folder)


@given(data=st.data(), seed=st.sampled_from(TAPS_DIRS), how=st.sampled_from(["document", "bytes"]))
def test_taps_records(data: st.DataObject, seed: Path, how: str) -> None:
    _taps_run(data, seed, "records", how)


@given(data=st.data(), seed=st.sampled_from(TAPS_DIRS), how=st.sampled_from(["document", "bytes"]))
def test_taps_configs(data: st.DataObject, seed: Path, how: str) -> None:
    _taps_run(data, seed, "config", how)


@given(
    data=st.data(),
    seed=st.sampled_from(["1.5", "1.4"]),
    how=st.sampled_from(["json", "json", "bytes"]),
)
def test_wfformat(data: st.DataObject, seed: str, how: str) -> None:
    document = wfformat_15() if seed == "1.5" else wfformat_14()
    with scratch() as folder:
        path = folder / "instance.json"
        if how == "json":
            path.write_text(json.dumps(data.draw(mutated_document(document))))
        else:
            path.write_bytes(data.draw(mutated_bytes(json.dumps(document).encode())))
        read_cleanly(path, folder)


@pytest.fixture(scope="module")
def arrow_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("seed")
    trace = write_trace(folder / "ref.arrow", reference_rows(), app="demo", executor="thread")
    assert trace.path is not None
    return trace.path


@given(data=st.data())
def test_arrow_bytes(data: st.DataObject, arrow_seed: Path) -> None:
    with scratch() as folder:
        path = folder / "trace.arrow"
        path.write_bytes(data.draw(mutated_bytes(arrow_seed.read_bytes())))
        read_cleanly(path, folder, format=data.draw(st.sampled_from([None, "arrow"])))


@given(data=st.data(), what=st.sampled_from(["metadata", "column"]))
def test_arrow_contents(data: st.DataObject, what: str, arrow_seed: Path) -> None:
    """Well-formed Arrow files with wrong contents: run facts of the wrong shape, columns
    of another type, nulls, times out of range, parents naming anything."""
    table = pa.ipc.open_file(arrow_seed).read_all()
    metadata = dict(table.schema.metadata or {})
    if what == "metadata":
        facts = json.loads(metadata[b"tapstrace.run"])
        metadata[b"tapstrace.run"] = json.dumps(data.draw(mutated_document(facts))).encode()
    else:
        index = data.draw(st.integers(0, table.num_columns - 1))
        field = table.schema.field(index)
        column = table.column(index)
        change = data.draw(st.sampled_from(["nulls", "strings", "ints", "drop", "extreme"]))
        if change == "drop":
            table = table.remove_column(index)
        else:
            if change == "nulls":
                values: pa.Array = pa.nulls(table.num_rows, field.type)
                new = pa.field(field.name, field.type)
            elif change == "strings":
                values = pa.array([data.draw(st.text(max_size=5)) for _ in range(table.num_rows)])
                new = pa.field(field.name, pa.string())
            elif change == "ints":
                values = pa.array(data.draw(st.lists(
                    st.integers(-(2**63), 2**63 - 1), min_size=table.num_rows,
                    max_size=table.num_rows)), pa.int64())  # fmt: skip
                new = pa.field(field.name, pa.int64())
            else:  # the column's own type at its extremes
                try:
                    values = pa.array(
                        [None if i % 2 else (2**62 if i % 3 else -(2**62)) for i in range(
                            table.num_rows)], pa.int64()
                    ).cast(field.type, safe=False)  # fmt: skip
                except pa.ArrowException:
                    values = column.combine_chunks()
                new = field
            table = table.set_column(index, new, values)
    schema = table.schema.with_metadata(metadata)
    with scratch() as folder:
        path = folder / "trace.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            writer.write_table(table.replace_schema_metadata(metadata))
        read_cleanly(path, folder)
