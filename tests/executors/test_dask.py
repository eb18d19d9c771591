"""The dask executor on a LocalCluster and attached to a running dask scheduler."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.errors import UserError
from tapstrace.executors.dask import DaskConfig
from tests.executors.cli import check_cli_run
from tests.executors.conftest import free_port
from tests.executors.scenarios import run_scenarios

pytestmark = pytest.mark.slow
pytest.importorskip("distributed")  # the dask extra


def test_local_cluster_records_every_task(tmp_path: Path) -> None:
    executor = DaskConfig(workers=2).build(tmp_path)
    assert executor.workers() == 2
    addresses = set(executor.describe()["worker_addresses"])
    recorder = MemoryRecorder()
    run_scenarios(Engine(executor, recorder=recorder), recorder, addresses.__contains__)
    assert (tmp_path / "dask").is_dir()  # workers' local directory in the run directory


def test_attached_to_a_running_scheduler(dask_scheduler: str) -> None:
    from distributed import Client

    executor = DaskConfig(scheduler_address=dask_scheduler).build()
    facts = executor.describe()
    assert facts["attached"] and facts["scheduler_address"] == dask_scheduler
    assert executor.workers() == 2
    recorder = MemoryRecorder()
    records = run_scenarios(Engine(executor, recorder=recorder), recorder)
    used = {r.worker_id for r in records.values() if r.worker_id}
    assert used <= set(facts["worker_addresses"]) and len(facts["worker_addresses"]) == 2
    # Shutting the executor down leaves the user's cluster running.
    with Client(dask_scheduler, timeout=10, set_as_default=False) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def test_threads_in_this_process() -> None:
    recorder = MemoryRecorder()
    with Engine(DaskConfig(workers=1, threads_per_worker=2, processes=False).build(),
                recorder=recorder) as engine:  # fmt: skip
        futures = [engine.submit(pow, i, 2) for i in range(4)]
        assert engine.submit(sum, futures).result(60) == 0 + 1 + 4 + 9
    assert len(recorder.records) == 5
    assert all(r.worker_id and r.worker_id.startswith("inproc://") for r in recorder.records)


def test_unreachable_scheduler_fails_fast_naming_it() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(UserError) as info:
        DaskConfig(scheduler_address=address, connect_timeout=1).build()
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith(f"--executor.scheduler-address {address}: no Dask scheduler")
    assert "\n" not in message


def test_cli_run_records_a_trace(tmp_path: Path, marker: str) -> None:
    check_cli_run(tmp_path, marker, "dask", "--executor.workers", "2")
