"""Dask distributed executor: a local cluster, or a running cluster by scheduler address.

Parents' results reach their children through Dask (futures passed as task arguments), so
data moves worker to worker; the client also receives every result once, to complete the
task's future.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from tapstrace.engine.adapter import Launched, Outcome, settle_error
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import run_call
from tapstrace.errors import UserError
from tapstrace.executors.options import check_keys, parameters
from tapstrace.executors.watchdog import Watchdog, WorkersLost
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register

log = logging.getLogger(__name__)

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


def dask_worker_address() -> str | None:
    """Worker id of a Dask worker: its address (``tcp://host:port``)."""
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # not running on a worker
        return None


@register("executor")
class DaskConfig(ExecutorConfig):
    """Dask distributed: a local cluster (worker processes or threads) or a running one.

    Futures are Dask's: children receive their parents' results worker to worker.
    """

    name: ClassVar[str] = "dask"
    # Dask's scheduler puts a task next to its inputs (decide_worker), even on a busy
    # worker: measured, 83-100 % of the tasks with parents ran on a parent's worker.
    placement: ClassVar[Literal["fifo", "locality"]] = "locality"

    scheduler_address: str | None = Field(
        None,
        description="Address of a running Dask scheduler (tcp://host:8786); none starts a "
        "local cluster.",
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Local cluster: workers."
    )
    threads_per_worker: int = Field(1, ge=1, description="Local cluster: threads per worker.")
    processes: bool = Field(
        True, description="Local cluster: workers are processes (true) or threads of this one."
    )
    connect_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the scheduler before giving up."
    )
    log_level: LogLevel = Field(
        "critical",
        description="Local cluster: level of Dask's log messages on the terminal (task "
        "errors are in the trace).",
    )
    cluster_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Local cluster: more keyword arguments of distributed.LocalCluster "
        '(JSON, e.g. {"memory_limit": "2GiB"}).',
    )
    lost_workers_timeout: float = Field(
        60.0,
        gt=0,
        description="Fail the tasks still waiting when the cluster has had no worker and "
        "finished no task for this many seconds (workers died or never came); for a "
        "cluster that scales up from zero, set it above its start-up time.",
    )

    def build(self, run_dir: Path | None = None) -> DaskExecutor:
        import distributed

        if self.scheduler_address is not None:
            try:
                client = distributed.Client(
                    self.scheduler_address, timeout=self.connect_timeout, set_as_default=False
                )
            except (OSError, ValueError) as exc:
                raise UserError(
                    f"--executor.scheduler-address {self.scheduler_address}: no Dask scheduler "
                    f"answered within {self.connect_timeout:g} s ({exc})"
                ) from None
            return DaskExecutor(client, None, self.lost_workers_timeout)
        options: dict[str, Any] = {
            "n_workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
            "processes": self.processes,
            "dashboard_address": None,
            # No dashboard, but the scheduler's HTTP routes (health, metrics) still start:
            # on a free port, not 8787, which another cluster may hold.
            "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
            "silence_logs": getattr(logging, self.log_level.upper()),
        }
        if run_dir is not None:
            options["local_directory"] = str(run_dir / "dask")
        if self.processes:  # the workers leave Ctrl-C to the run, which stops them in order
            options["preload"] = [PRELOAD]
        extra = dict(self.cluster_options)
        _check_cluster_options(extra)
        options["scheduler_kwargs"].update(extra.pop("scheduler_kwargs", {}))
        if "preload" in extra:
            options["preload"] = [*options.get("preload", []), *_as_list(extra.pop("preload"))]
        options.update(extra)
        try:
            cluster = distributed.LocalCluster(**options)
        except TypeError as exc:
            raise UserError(f"--executor.cluster-options: {exc}") from None
        try:
            client = distributed.Client(cluster, timeout=self.connect_timeout, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        return DaskExecutor(client, cluster, self.lost_workers_timeout)


#: Imported by every worker of a local cluster at start (Dask's preload).
PRELOAD = "tapstrace.executors.dask_preload"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _check_cluster_options(options: dict[str, Any]) -> None:
    """Every key must be one LocalCluster, its workers (Nanny, Worker) or, in
    ``scheduler_kwargs``, the Scheduler accepts: one line, not workers failing to start."""
    from distributed import LocalCluster, Nanny, Scheduler, Worker
    from distributed.core import Server

    flag = "--executor.cluster-options"
    check_keys(
        options,
        flag,
        parameters(LocalCluster, Nanny, Worker, Server),
        "distributed.LocalCluster or its workers",
    )
    scheduler = options.get("scheduler_kwargs", {})
    if not isinstance(scheduler, dict):
        raise UserError(f"{flag}: scheduler_kwargs must be a JSON object")
    check_keys(scheduler, f"{flag} scheduler_kwargs", parameters(Scheduler, Server), "Scheduler")


class DaskExecutor(Executor):
    """Launches tasks on a Dask client; parents' Dask futures are their children's arguments.

    A thread of the executor takes the tasks that finished, in batches (distributed's
    ``as_completed(...).batches()``), fetches their results with one ``gather`` per
    batch (one request per worker, as ``client.gather`` does for a user) and reports
    them: a fetch per task would cost a round trip each.
    """

    native_dependencies = True

    def __init__(
        self, client: Any, cluster: Any | None, lost_workers_timeout: float = 60.0
    ) -> None:
        import distributed

        self.client = client
        self.cluster = cluster
        self._tasks: dict[str, Launched] = {}
        self._prefix = uuid.uuid4().hex[:12]
        self._count = itertools.count()
        self._lock = threading.Lock()
        self._closing = False
        self._lost: WorkersLost | None = None
        self._wake = threading.Event()
        self._results = distributed.as_completed(loop=client.loop)
        self._collector = threading.Thread(
            target=self._collect, name="tapstrace-dask-results", daemon=True
        )
        self._collector.start()
        self._watchdog = Watchdog(
            f"the Dask cluster at {client.scheduler.address}",
            lost_workers_timeout,
            "--executor.lost-workers-timeout",
            waiting=lambda: len(self._tasks),
            workers=lambda: len(self.client.nthreads()),
            fail=self._fail_waiting,
        )

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        if self._lost is not None:
            raise self._lost  # recorded as the attempt's failure by the engine
        key = f"{getattr(task, '__name__', 'task')}-{self._prefix}-{next(self._count)}"
        with self._lock:
            self._tasks[key] = task
        native = self.client.submit(run_call, task, *parents, key=key, pure=False)
        self._results.add(native)
        self._wake.set()
        return native

    def cancel(self, handle: Any) -> bool:
        # A task not yet reported is ours to drop, even when Dask has finished it: its
        # result may be on a worker that is gone (Ctrl-C reaches the workers too), and
        # the collector's fetch of it would never end.
        with self._lock:
            task = self._tasks.pop(handle.key, None)
        if task is None:
            return False  # reported, or being reported: its outcome comes
        if not handle.done():
            handle.cancel()
        return True

    def _collect(self) -> None:
        while True:
            self._wake.clear()
            for batch in self._results.batches():
                self._report(batch)
            if self._closing:
                return
            self._wake.wait(1.0)

    def _report(self, batch: list[Any]) -> None:
        """Report a batch of finished Dask futures."""
        finished = {f.key: f for f in batch if f.status == "finished"}
        values: dict[Any, Any] = {}
        if finished:
            fetched = self._gather(finished)
            if fetched is None:
                return  # given up: the run is ending or the workers are lost
            values = fetched
        for native in batch:
            with self._lock:
                task = self._tasks.pop(native.key, None)
            if task is None:
                continue
            self._watchdog.progress()
            value = values.get(native.key)
            if value is not None:  # a task's call returns a TaskResult, never None
                task.settle(Outcome.VALUE, value)
            else:
                _settle(task, native)

    def _gather(self, finished: dict[str, Any]) -> dict[Any, Any] | None:
        """The results of finished Dask futures ({} for those that failed to come).

        A result whose worker died is recomputed by Dask, which waits for a worker
        forever: the fetch is given up (None) once the executor shuts down or the
        watchdog has declared the workers lost.
        """
        loop = self.client.loop.asyncio_loop
        fetch = asyncio.run_coroutine_threadsafe(_gather(self.client, finished), loop)
        while True:
            try:
                return fetch.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                if self._closing or self._lost is not None:
                    fetch.cancel()
                    return None
            except Exception:  # a failed fetch: each is then looked at alone
                log.debug("gathering %d results failed", len(finished), exc_info=True)
                return {}

    def _fail_waiting(self, error: WorkersLost) -> None:
        """The cluster lost its workers: fail what waits, refuse what comes."""
        import distributed

        with self._lock:
            self._lost = error
            waiting, self._tasks = self._tasks, {}
        for task in waiting.values():
            task.settle(Outcome.LOST, error)
        try:
            self.client.cancel([distributed.Future(key, self.client) for key in waiting])
        except Exception:  # the scheduler may be gone too
            log.debug("cannot cancel the lost tasks", exc_info=True)

    def worker_id_function(self) -> Callable[[], str | None] | None:
        return dask_worker_address

    def workers(self) -> int | None:
        try:
            return sum(self.client.nthreads().values()) or None
        except Exception:  # the scheduler went away
            return None

    def describe(self) -> dict[str, Any]:
        import distributed

        return {
            "dask_version": distributed.__version__,
            "scheduler_address": self.client.scheduler.address,
            "attached": self.cluster is None,
            "worker_addresses": sorted(self.client.nthreads()),
        }

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._watchdog.close()
        self._closing = True
        self._results.clear()  # unfinished tasks: the engine records them as cancelled
        self._wake.set()
        self._collector.join(10)
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


async def _gather(client: Any, finished: dict[str, Any]) -> Any:
    return await client.gather(finished, errors="skip", asynchronous=True)


def _settle(task: Launched, native: Any) -> None:
    """Report a finished Dask future whose result was not gathered: its error."""
    try:
        if native.status == "cancelled":
            task.settle(Outcome.CANCELLED, None)
            return
        exc = native.exception(timeout=60)
    except CancelledError:
        task.settle(Outcome.CANCELLED, None)
    except Exception as lost:  # the result went with its worker, the scheduler left
        task.settle(Outcome.LOST, lost)
    else:
        if exc is None:
            exc = RuntimeError(f"the result of Dask task {native.key} was lost")
        settle_error(task, exc)
