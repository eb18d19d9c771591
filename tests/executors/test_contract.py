"""The adapter contract, one suite for every executor on its real framework.

An executor adapter launches a task and reports exactly one outcome per launch
(tapstrace.engine.adapter.Outcome). Each test launches probes (task calls that keep what
the adapter reports for them) straight on the adapter, as the engine does, and checks
the outcomes: a value; the task's failure with the worker's report; a lost worker; a
failed parent (executors that take parents natively); cancellation; shutdown. Every
executor runs the suite on its real framework on localhost: thread and process pools,
Dask, Ray, Parsl (HighThroughputExecutor and threads), Globus Compute through its local
stand-in, TaskVine where ndcctools is installed.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tapstrace.engine.adapter import Outcome
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import Slot, TaskCall, TaskFailed, TaskResult, WorkerReport
from tests.tasks import add, die, fail, identity, sleep

pytestmark = pytest.mark.slow

WAIT = 120.0  # seconds: a loaded machine, frameworks restarting workers
IN_PROCESS = {"thread", "parsl-thread"}  # a task that kills its worker kills the test


class Probe(TaskCall):
    """A launched task as the contract sees it: it keeps every outcome reported for it.

    Pickled (to a worker process), it is the plain TaskCall the engine would send."""

    def __init__(self, executor: Executor, fn: Callable[..., Any], *args: Any, task_id: int):
        super().__init__(fn, args, {}, task_id, "fast", executor.worker_id_function())
        self.local = executor.local
        self.outcomes: list[tuple[Outcome, Any]] = []
        self.reported = threading.Event()

    def settle(self, outcome: Outcome, detail: Any) -> None:
        self.outcomes.append((outcome, detail))
        self.reported.set()

    def outcome(self) -> tuple[Outcome, Any]:
        """The one outcome reported (waits for it)."""
        assert self.reported.wait(WAIT), f"no outcome for task {self.task_id}"
        time.sleep(0.05)  # a second report would come now
        assert len(self.outcomes) == 1, self.outcomes
        return self.outcomes[0]


class Harness:
    """One live executor and probe ids."""

    def __init__(self, name: str, executor: Executor) -> None:
        self.name = name
        self.executor = executor
        self.ids = iter(range(10**6))
        self.closed = False

    def launch(self, fn: Callable[..., Any], *args: Any, parents: Sequence[Any] = ()) -> Probe:
        probe = Probe(self.executor, fn, *args, task_id=next(self.ids))
        probe.handle = self.executor.launch(probe, parents)  # type: ignore[attr-defined]
        return probe

    def value(self, probe: Probe) -> Any:
        outcome, detail = probe.outcome()
        assert outcome is Outcome.VALUE, (outcome, detail)
        if self.executor.local:
            return detail
        assert type(detail) is TaskResult
        report = WorkerReport._make(detail.report)
        assert report.started is not None and report.ended is not None and report.worker_pid
        return detail.value


def _build(name: str, tmp: Path) -> Executor:
    if name == "thread":
        from tapstrace.executors.thread import ThreadConfig

        return ThreadConfig(max_threads=2).build()
    if name == "process":
        from tapstrace.executors.process import ProcessConfig

        return ProcessConfig(max_processes=2).build()
    if name == "dask":
        pytest.importorskip("distributed")
        from tapstrace.executors.dask import DaskConfig

        return DaskConfig(workers=2).build(tmp)
    if name == "ray":
        pytest.importorskip("ray")
        from tapstrace.executors.ray import RayConfig

        return RayConfig(num_cpus=2).build()
    if name in ("parsl", "parsl-thread"):
        pytest.importorskip("parsl")
        from tapstrace.executors.parsl import ParslConfig, ParslThreadConfig

        if name == "parsl":
            # A pool checks its workers every heartbeat period (30 s by default):
            # test_worker_death waits for that check.
            return ParslConfig(workers=2, htex_options={"heartbeat_period": 2}).build(tmp)
        return ParslThreadConfig(max_threads=2).build(tmp)
    if name == "globus":
        pytest.importorskip("globus_compute_sdk")
        import uuid

        from tapstrace.executors.globus import GlobusConfig
        from tests.executors_remote.globus_standin import EndpointStandIn

        config = GlobusConfig(endpoint_id=uuid.UUID("4b116d3c-1703-4f8f-9f6f-39921e5864df"))
        return config.wrap(EndpointStandIn(workers=2))
    if name == "taskvine":
        pytest.importorskip("ndcctools.taskvine")
        if shutil.which("vine_worker") is None:
            pytest.skip("vine_worker is not on PATH")
        from tapstrace.executors.taskvine import TaskVineConfig

        return TaskVineConfig(workers=2).build(tmp)
    raise ValueError(name)


@pytest.fixture(
    scope="module",
    params=["thread", "process", "dask", "ray", "parsl", "parsl-thread", "globus", "taskvine"],
)
def harness(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch_module: pytest.MonkeyPatch,
) -> Iterator[Harness]:
    name = str(request.param)
    if name in ("ray", "taskvine", "globus"):
        # Workers import tests.tasks (TaskVine's run with this environment).
        root = str(Path(__file__).resolve().parents[2])
        monkeypatch_module.setenv("PYTHONPATH", root)
    if name == "ray":
        monkeypatch_module.setenv("RAY_AUTH_MODE", "disabled")
    harness = Harness(name, _build(name, tmp_path_factory.mktemp(name)))
    yield harness
    if not harness.closed:
        harness.executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture
def live(harness: Harness) -> Harness:
    if harness.closed:
        pytest.skip("the executor was shut down by an earlier test of the suite")
    return harness


def test_ok(live: Harness) -> None:
    probes = [live.launch(add, i, 1) for i in range(5)]
    assert [live.value(p) for p in probes] == [1, 2, 3, 4, 5]
    big = live.launch(bytes, 1_000_000)
    assert live.value(big) == bytes(1_000_000)
    if live.executor.native_dependencies:  # a parent's value, resolved by the framework
        parent = live.launch(identity, 41)
        native = live.executor.native_argument(parent.handle)  # type: ignore[attr-defined]
        child = live.launch(add, Slot(0), 1, parents=[native])
        assert live.value(child) == 42


def test_exception(live: Harness) -> None:
    probe = live.launch(fail, "kaput")
    outcome, failed = probe.outcome()
    assert outcome is Outcome.FAILED
    assert isinstance(failed, TaskFailed) and failed.task_id == probe.task_id
    assert (failed.error_type, failed.message) == ("ValueError", "kaput")
    assert WorkerReport._make(failed.report).started is not None
    assert live.value(live.launch(add, 1, 1)) == 2  # the executor goes on


def test_parent_failure(live: Harness) -> None:
    if not live.executor.native_dependencies:
        pytest.skip("the engine launches a task only once its parents are done")
    parent = live.launch(fail, "kaput")
    native = live.executor.native_argument(parent.handle)  # type: ignore[attr-defined]
    child = live.launch(identity, [Slot(0)], parents=[native])
    assert parent.outcome()[0] is Outcome.FAILED
    outcome, detail = child.outcome()
    assert (outcome, detail) in ((Outcome.PARENT_FAILED, parent.task_id),
                                 (Outcome.PARENT_FAILED, None)), (outcome, detail)  # fmt: skip


def test_cancellation(live: Harness) -> None:
    # Two workers; a process pool also fills a call queue of three tasks, all of which
    # count as started: three rounds of blockers keep the last task queued.
    blockers = [live.launch(sleep, 0.5) for _ in range(6)]
    time.sleep(0.3)
    queued = live.launch(identity, "never")
    handle = queued.handle  # type: ignore[attr-defined]
    assert live.executor.cancel(handle)  # not started: every framework drops it
    assert [live.value(p) for p in blockers] == [0.5] * 6
    done = live.launch(identity, 1)
    assert live.value(done) == 1
    assert not live.executor.cancel(done.handle)  # type: ignore[attr-defined]
    time.sleep(1.0)
    # Cancelled: reported cancelled, or (Parsl cannot cancel) not at all, or its late
    # result, which the engine discards; never twice.
    assert len(queued.outcomes) <= 1, queued.outcomes
    if queued.outcomes:
        assert queued.outcomes[0][0] in (Outcome.CANCELLED, Outcome.VALUE), queued.outcomes


def test_worker_death(live: Harness) -> None:
    if live.name in IN_PROCESS:
        pytest.skip("the workers are threads of this process")
    probe = live.launch(die)
    outcome, detail = probe.outcome()
    assert outcome is Outcome.LOST, (outcome, detail)
    assert isinstance(detail, BaseException)


def test_shutdown(live: Harness) -> None:
    """Last: shutting down reports each launch at most once, and nothing after."""
    if live.name in ("process", "globus"):
        pytest.skip("worker death broke the pool (test_worker_death)")
    probes = [live.launch(sleep, 0.5) for _ in range(6)]
    time.sleep(0.2)
    live.closed = True
    live.executor.shutdown(wait=True, cancel_futures=True)
    counts = [len(p.outcomes) for p in probes]
    time.sleep(1.0)
    assert [len(p.outcomes) for p in probes] == counts  # nothing after shutdown
    assert all(n <= 1 for n in counts), counts
    for probe in probes:
        for outcome, _ in probe.outcomes:
            assert outcome in (Outcome.VALUE, Outcome.CANCELLED, Outcome.LOST)
