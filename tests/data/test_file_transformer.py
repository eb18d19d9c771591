"""The file transformer end to end through the engine, on the thread and process pools."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tapstrace.data.files import FileTransformer, FileTransformerConfig
from tapstrace.data.filters import SizeFilter
from tapstrace.engine import Engine, MemoryRecorder, Status
from tapstrace.engine.record import TaskRecord
from tests.conftest import build_executor
from tests.data.work import FlakySum, array_sum, kinds, make_array, nested_total

N = 100_000  # 800 kB arrays


@pytest.fixture
def transformer(tmp_path: Path) -> Iterator[FileTransformer]:
    t = FileTransformerConfig(directory=tmp_path / "shared").build()
    yield t
    t.close()


@pytest.fixture
def data_engine(
    executor_name: str, recorder: MemoryRecorder, transformer: FileTransformer
) -> Iterator[Engine]:
    params = {"max_threads": 2} if executor_name == "thread" else {"max_processes": 2}
    engine = Engine(
        build_executor(executor_name, **params),
        filter=SizeFilter(min_bytes=1000),
        transformer=transformer,
        recorder=recorder,
    )
    yield engine
    engine.shutdown(wait=True, cancel_futures=True)


def by_id(recorder: MemoryRecorder) -> dict[int, TaskRecord]:
    return {r.task_id: r for r in recorder.records}


@pytest.mark.slow
def test_large_arguments_move_out_of_band(
    data_engine: Engine, recorder: MemoryRecorder, transformer: FileTransformer
) -> None:
    big = np.arange(N, dtype=np.float64)
    received = data_engine.submit(kinds, big, 7, label="small")
    total = data_engine.submit(array_sum, big)
    assert received.result() == ["ndarray", "int", "str"]  # the task got real values
    assert total.result() == float(big.sum())
    files_during_run = os.listdir(transformer.directory)
    data_engine.shutdown()
    records = by_id(recorder)
    for task_id in (received.task_id, total.task_id):
        r = records[task_id]
        assert r.status == Status.OK
        assert r.input_bytes is not None and r.input_bytes >= big.nbytes  # logical size
        assert r.inband_input_bytes is not None and r.inband_input_bytes < 1000
        assert r.oob_bytes is not None and r.oob_bytes >= big.nbytes
        assert r.resolve_seconds is not None and r.client_transform_seconds is not None
    assert len(files_during_run) == 2  # one file per moved argument
    transformer.close()
    assert not Path(transformer.directory).exists()


@pytest.mark.slow
def test_results_come_back_resolved_and_children_get_references(
    data_engine: Engine, recorder: MemoryRecorder
) -> None:
    parent = data_engine.submit(make_array, N, 2.0)
    child = data_engine.submit(array_sum, parent)
    value = parent.result()
    assert isinstance(value, np.ndarray) and value.shape == (N,) and value[0] == 2.0
    assert child.result() == 2.0 * N
    assert parent.carried is not None  # the reference the child received
    data_engine.shutdown()
    records = by_id(recorder)
    p, c = records[parent.task_id], records[child.task_id]
    assert p.output_bytes == N * 8 and p.inband_output_bytes is not None
    assert p.inband_output_bytes < 1000
    assert p.oob_bytes is not None and p.oob_bytes >= N * 8
    assert p.transform_seconds is not None and p.client_resolve_seconds is not None
    # the child read the parent's file: small in band, the array out of band
    assert c.inband_input_bytes is not None and c.inband_input_bytes < 1000
    assert c.input_bytes == N * 8 and c.oob_bytes is not None and c.oob_bytes >= N * 8
    assert c.output_bytes == 8 and c.inband_output_bytes == 8  # a float stays in band


@pytest.mark.slow
def test_nested_arguments_and_futures_inside_containers(
    data_engine: Engine, recorder: MemoryRecorder
) -> None:
    a = data_engine.submit(make_array, N, 1.0)
    parts = [a, np.full(N, 3.0), 5.0]  # a future and a large array in one list
    result = data_engine.submit(nested_total, parts, scale=(np.full(200, 0.01),))
    assert result.result() == pytest.approx((N * 1.0 + N * 3.0 + 5.0) * 2.0)
    data_engine.shutdown()
    r = by_id(recorder)[result.task_id]
    # the parent's array (its file), the list's array and the scale tuple moved
    assert r.inband_input_bytes is not None and r.inband_input_bytes < 1000
    assert r.oob_bytes is not None and r.oob_bytes >= 2 * N * 8 + 1600


@pytest.mark.slow
def test_lost_file_fails_the_task_with_its_error(
    data_engine: Engine, recorder: MemoryRecorder, transformer: FileTransformer
) -> None:
    parent = data_engine.submit(make_array, N)
    parent.result()
    for name in os.listdir(transformer.directory):
        os.remove(os.path.join(transformer.directory, name))
    child = data_engine.submit(array_sum, parent)
    with pytest.raises(FileNotFoundError):
        child.result()
    data_engine.shutdown()
    record = by_id(recorder)[child.task_id]
    assert record.status == Status.FAILED and record.error_type == "FileNotFoundError"


def test_small_values_stay_in_band(recorder: MemoryRecorder, transformer: FileTransformer) -> None:
    with Engine(
        build_executor("thread", max_threads=2),
        filter=SizeFilter(min_bytes=1000),
        transformer=transformer,
        recorder=recorder,
    ) as engine:
        assert engine.submit(array_sum, [1.0, 2.0]).result() == 3.0
    (r,) = recorder.records
    assert r.oob_bytes == 0 and r.inband_input_bytes == r.input_bytes
    assert os.listdir(transformer.directory) == []


def test_without_a_transformer_nothing_changes(recorder: MemoryRecorder) -> None:
    with Engine(build_executor("thread", max_threads=1), recorder=recorder) as engine:
        assert engine.submit(array_sum, np.ones(N)).result() == N
    (r,) = recorder.records
    assert r.oob_bytes is None and r.inband_input_bytes is None
    assert r.client_transform_seconds is None and r.client_resolve_seconds is None
    assert r.input_bytes == N * 8


def test_unusable_directory_is_a_one_line_error(tmp_path: Path) -> None:
    from tapstrace.errors import ConfigError

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match=r"--transformer.directory .*sub: cannot make"):
        FileTransformerConfig(directory=blocker / "sub").build()


def test_retries_reuse_the_moved_arguments(
    tmp_path: Path, recorder: MemoryRecorder, transformer: FileTransformer
) -> None:
    flaky = FlakySum(str(tmp_path / "marker"))
    with Engine(
        build_executor("thread", max_threads=1), filter=SizeFilter(min_bytes=1000),
        transformer=transformer, recorder=recorder, retries=1,
    ) as engine:  # fmt: skip
        assert engine.submit(flaky, np.ones(N)).result() == N
    first, second = sorted(recorder.records, key=lambda r: r.attempt)
    assert (first.status, second.status) == (Status.FAILED, Status.OK)
    assert first.oob_bytes == second.oob_bytes and first.oob_bytes is not None
    assert first.oob_bytes >= N * 8 and first.inband_input_bytes is not None
    assert first.client_transform_seconds is not None
    assert second.client_transform_seconds is None  # moved once, at submission
    assert len(os.listdir(transformer.directory)) == 1
