"""Parsl executors: the HighThroughputExecutor (local or through a batch-system provider)
and Parsl's ThreadPoolExecutor, both behind a DataFlowKernel of their own.

Dependencies go through the DataFlowKernel: a child is submitted at once with its
parents' futures as arguments and Parsl launches it when they are done.

Parsl leaves its interchange and worker processes behind when the driver exits without
``DataFlowKernel.cleanup()``. The executor cleans up on ``shutdown``, at interpreter exit
(an exception, a second Ctrl-C) and on SIGTERM/SIGHUP (turned into an orderly exit).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from tapstrace.engine.adapter import Launched, Outcome, Relay, dumps_call, settle_error
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import Packed, TaskFailed, run_call, run_packed
from tapstrace.errors import UserError
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register
from tapstrace.runner import signals

log = logging.getLogger(__name__)

#: Provider names of ``--executor.provider`` and their classes in parsl.providers.
PROVIDERS = {
    "local": "LocalProvider",
    "slurm": "SlurmProvider",
    "pbs": "PBSProProvider",
    "torque": "TorqueProvider",
    "lsf": "LSFProvider",
    "sge": "GridEngineProvider",
    "condor": "CondorProvider",
    "kubernetes": "KubernetesProvider",
}
#: Launcher names of ``--executor.launcher`` and their classes in parsl.launchers.
LAUNCHERS = {
    "simple": "SimpleLauncher",
    "single-node": "SingleNodeLauncher",
    "srun": "SrunLauncher",
    "srun-mpi": "SrunMPILauncher",
    "aprun": "AprunLauncher",
    "jsrun": "JsrunLauncher",
    "mpiexec": "MpiExecLauncher",
    "mpirun": "MpiRunLauncher",
    "gnu-parallel": "GnuParallelLauncher",
    "wrapped": "WrappedLauncher",
}
Provider = Literal["local", "slurm", "pbs", "torque", "lsf", "sge", "condor", "kubernetes"]
Launcher = Literal[
    "default",
    "simple",
    "single-node",
    "srun",
    "srun-mpi",
    "aprun",
    "jsrun",
    "mpiexec",
    "mpirun",
    "gnu-parallel",
    "wrapped",
]

_WORKER_POOL = "process_worker_pool.py"


def parsl_worker_id() -> str | None:
    """Worker id of a Parsl worker: ``block/pool/rank`` on HTEX, the thread name otherwise."""
    rank = os.environ.get("PARSL_WORKER_RANK")
    if rank is None:
        return threading.current_thread().name
    block = os.environ.get("PARSL_WORKER_BLOCK_ID", "?")
    pool = os.environ.get("PARSL_WORKER_POOL_ID", "?")
    return f"{block}/{pool}/{rank}"


def interchange_command() -> list[str]:
    """How to start the interchange: with this interpreter (whatever PATH says), immune to
    the terminal's Ctrl-C, and stopped by the kernel if this process dies (main thread)."""
    command = [sys.executable, "-m", "tapstrace.executors.parsl_interchange"]
    if threading.current_thread() is threading.main_thread():
        command += ["--die-with-parent", str(os.getpid())]
    return command


def _make(module: Any, class_name: str, options: dict[str, Any], flag: str) -> Any:
    try:
        return getattr(module, class_name)(**options)
    except TypeError as exc:
        raise UserError(f"{flag}: {class_name}: {exc}") from None


@register("executor")
class ParslConfig(ExecutorConfig):
    """Parsl HighThroughputExecutor: worker pools on this machine or on batch-system nodes.

    Tasks go through Parsl's DataFlowKernel, interchange and worker pools; the run's
    Parsl files (logs, submit scripts) are kept in the run directory.
    """

    name: ClassVar[str] = "parsl"
    # With no prefetch (Parsl's default), the interchange sends a task to a worker pool
    # when one of its workers is free, and the pool hands it, inputs and all, over a
    # pipe to that worker.
    inputs_at_slot: ClassVar[bool] = True

    workers: int | None = Field(
        None,
        ge=1,
        description="Workers per node (block); none: one per CPU here (local), Parsl's "
        "choice elsewhere.",
    )
    cores_per_worker: float = Field(1.0, gt=0, description="CPU cores each worker claims.")
    address: str | None = Field(
        None,
        description="Address workers connect to; none: 127.0.0.1 with the local provider, "
        "Parsl's probe of this host's addresses otherwise.",
    )
    provider: Provider = Field(
        "local", description="Where worker pools run: local or a batch system's provider."
    )
    provider_options: dict[str, Any] = Field(
        default_factory=dict,
        description='Keyword arguments of the Parsl provider class (JSON, e.g. {"partition": '
        '"debug", "walltime": "00:30:00", "nodes_per_block": 2}).',
    )
    launcher: Launcher = Field(
        "default", description="How a block starts its worker pools (default: the provider's)."
    )
    launcher_options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the Parsl launcher class."
    )
    blocks: int = Field(1, ge=1, description="Blocks (batch jobs) to start, and the most kept.")
    htex_options: dict[str, Any] = Field(
        default_factory=dict,
        description="More keyword arguments of parsl's HighThroughputExecutor (JSON).",
    )

    def make_provider(self) -> Any:
        """The Parsl provider (with its launcher) this config describes."""
        import parsl.launchers
        import parsl.providers

        options: dict[str, Any] = {"init_blocks": self.blocks, "max_blocks": self.blocks}
        options["min_blocks"] = 0
        if self.launcher != "default":
            options["launcher"] = _make(
                parsl.launchers,
                LAUNCHERS[self.launcher],
                self.launcher_options,
                "--executor.launcher-options",
            )
        options.update(self.provider_options)
        return _make(
            parsl.providers, PROVIDERS[self.provider], options, "--executor.provider-options"
        )

    def make_htex(self) -> Any:
        """The Parsl HighThroughputExecutor this config describes (not started)."""
        from parsl.executors import HighThroughputExecutor
        from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD

        local = self.provider == "local"
        htex: dict[str, Any] = {
            "label": "htex",
            "provider": self.make_provider(),
            "cores_per_worker": self.cores_per_worker,
            "interchange_launch_cmd": interchange_command(),
        }
        workers = self._workers_per_node()
        if workers is not None:
            htex["max_workers_per_node"] = workers
        address = self.address or ("127.0.0.1" if local else None)
        if address is not None:
            htex["address"] = address
        if local:  # worker pools run here too: same interpreter
            pool = f"{shlex.quote(sys.executable)} -m parsl.executors.high_throughput."
            htex["launch_cmd"] = DEFAULT_LAUNCH_CMD.replace(
                _WORKER_POOL, pool + "process_worker_pool", 1
            )
        htex.update(self.htex_options)
        try:
            return HighThroughputExecutor(**htex)
        except TypeError as exc:
            raise UserError(f"--executor.htex-options: {exc}") from None

    def _workers_per_node(self) -> int | None:
        if self.workers is not None or self.provider != "local":
            return self.workers
        return os.cpu_count() or 1

    def build(self, run_dir: Path | None = None) -> ParslExecutor:
        executor = self.make_htex()
        slots = None
        workers = self._workers_per_node()
        if workers is not None:
            provider = executor.provider
            nodes = int(getattr(provider, "nodes_per_block", 1) or 1)
            slots = workers * nodes * int(getattr(provider, "max_blocks", self.blocks))
        return ParslExecutor(executor, run_dir, slots, describe={"provider": self.provider})


@register("executor")
class ParslThreadConfig(ExecutorConfig):
    """Parsl ThreadPoolExecutor: threads of this process behind Parsl's DataFlowKernel."""

    name: ClassVar[str] = "parsl-thread"

    max_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, description="Threads in the pool."
    )

    def build(self, run_dir: Path | None = None) -> ParslExecutor:
        from parsl.executors import ThreadPoolExecutor

        pool = ThreadPoolExecutor(label="threads", max_threads=self.max_threads)
        return ParslExecutor(pool, run_dir, self.max_threads)


class ParslExecutor(Executor):
    """A DataFlowKernel of its own around one Parsl executor.

    Parsl cannot cancel a task: ``cancel`` stops the client waiting (the task is recorded
    cancelled, its children dependency-failed) while the task may still run on a worker;
    its result is discarded.
    """

    native_dependencies = True

    def __init__(
        self,
        executor: Any,
        run_dir: Path | None,
        slots: int | None,
        describe: dict[str, Any] | None = None,
    ) -> None:
        from parsl.app.python import PythonApp
        from parsl.config import Config
        from parsl.dataflow.dflow import DataFlowKernel

        self._slots = slots
        self._facts = describe or {}
        self._temp_dir: str | None = None
        if run_dir is None:
            self._temp_dir = tempfile.mkdtemp(prefix="tapstrace-parsl-")
            parsl_dir = Path(self._temp_dir)
        else:
            parsl_dir = run_dir / "parsl"
        self.parsl_dir = parsl_dir
        self._closed = False
        self._lock = threading.Lock()
        self._parsl_logger = logging.getLogger("parsl")
        self._propagate = self._parsl_logger.propagate
        # Parsl logs to parsl_dir/NNN/parsl.log; keep its messages off the terminal and
        # out of the run's log.txt.
        self._parsl_logger.propagate = False
        self._executor = executor
        self._signals = signals.terminable()
        atexit.register(self._atexit)
        config = Config(
            executors=[executor],
            run_dir=str(parsl_dir),
            usage_tracking=0,
            retries=0,  # the engine retries, and records every attempt
            strategy="simple",
        )
        self._relay = Relay("tapstrace-parsl-results")
        try:
            self.dfk = DataFlowKernel(config)
            # Parsl starts an executor's initial blocks at its scaling strategy's first
            # tick, strategy_period (5 s) after the start: tick once now, so the worker
            # pools start with the executor (the timer's later ticks go on as before).
            self.dfk.job_status_poller.poll()
        except BaseException:
            self._close_partial()
            raise
        from parsl.executors import ThreadPoolExecutor

        # An executor that ships calls pickles them with dill, whose pure-Python pickler
        # took a sixth of the client's CPU per no-op task: the call goes as bytes of the
        # standard pickle instead (adapter.dumps_call; dill for what goes by value), and
        # so does its result (worker.Packed).
        self._dumps: Callable[[Any], bytes] | None = None
        function: Callable[..., Any] = run_call
        if not isinstance(executor, ThreadPoolExecutor):
            import dill

            self._dumps, function = dill.dumps, run_packed
        self._app = PythonApp(function, data_flow_kernel=self.dfk, executors=[executor.label])

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        call: Any = task if self._dumps is None else dumps_call(task, self._dumps)
        native = self._app(call, *parents)
        # Parsl calls back on its task launch thread: only enqueue there.
        native.add_done_callback(functools.partial(self._relay.put, _settle, task))
        return native

    def cancel(self, handle: Any) -> bool:
        # Parsl cannot cancel: the engine records the task cancelled and drops its result.
        return not handle.done()

    def worker_id_function(self) -> Callable[[], str | None] | None:
        return parsl_worker_id

    def workers(self) -> int | None:
        return self._slots

    def describe(self) -> dict[str, Any]:
        import parsl

        return {
            "parsl_version": parsl.__version__,
            "parsl_executor": type(self._executor).__name__,
            "parsl_run_dir": str(self.dfk.run_dir),
            **self._facts,
        }

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._stop_blocks_if_orphaned()
            self.dfk.cleanup()
        finally:
            self._relay.close()
            self._release()

    def _stop_blocks_if_orphaned(self) -> None:
        """The interchange died: Parsl's clean-up would wait for it forever to scale in,
        so cancel the blocks through the provider and put the executor in a bad state."""
        interchange = getattr(self._executor, "interchange_proc", None)
        if interchange is None or interchange.poll() is None:
            return
        code = interchange.returncode
        log.warning("the Parsl interchange exited (%s); cancelling its blocks", code)
        jobs = list(getattr(self._executor, "blocks_to_job_id", {}).values())
        try:
            if jobs:
                self._executor.provider.cancel(jobs)
        finally:
            self._executor.set_bad_state_and_fail_all(
                RuntimeError(f"the Parsl interchange exited with {code}")
            )

    def _atexit(self) -> None:
        """Interpreter exit without shutdown (an exception, a second Ctrl-C): clean up."""
        if not self._closed and hasattr(self, "dfk"):
            log.warning("Parsl executor not shut down; cleaning up at exit")
            self.shutdown(wait=False)

    def _close_partial(self) -> None:
        """The DataFlowKernel did not start: stop what the executor started."""
        try:
            if getattr(self._executor, "interchange_proc", None) is not None:
                self._executor.shutdown()
        finally:
            self._closed = True
            self._relay.close()
            self._release()

    def _release(self) -> None:
        atexit.unregister(self._atexit)
        signals.restore(self._signals)
        self._parsl_logger.propagate = self._propagate
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)


def _settle(task: Launched, future: Any) -> None:
    exc = future.exception()
    if exc is None:
        value = future.result()
        task.settle(Outcome.VALUE, value.unpack() if type(value) is Packed else value)
        return
    root = _root_failure(exc)
    if root is not None:
        settle_error(task, root)
    elif getattr(exc, "dependent_exceptions_tids", None):
        task.settle(Outcome.PARENT_FAILED, None)  # Parsl's DependencyError
    else:
        settle_error(task, exc)


def _root_failure(exc: BaseException) -> TaskFailed | None:
    """The task failure behind Parsl's DependencyError chain, if any."""
    if isinstance(exc, TaskFailed):
        return exc
    for inner, _ in getattr(exc, "dependent_exceptions_tids", ()) or ():
        found = _root_failure(inner)
        if found is not None:
            return found
    return None
