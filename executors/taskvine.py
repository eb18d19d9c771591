"""TaskVine executor: a TaskVine Manager in this process, workers here or on a cluster.

TaskVine (``ndcctools.taskvine``) is not on PyPI; it comes from conda-forge and is
imported only when this executor is chosen.

Every task is recorded, by construction. TaskVine's own futures (FuturesExecutor) run
their done-callbacks only when someone asks for their result, so a task whose future only
fed other tasks never reported back (TaPS lost those records). This plugin does not use
them: dependencies are resolved by the engine (native_dependencies is False), so each task
is an independent submission with concrete arguments, and one thread owns the Manager,
waits for every submitted task and reports the outcome of each of them to the engine,
also when a task fails, is cancelled or the executor shuts down.

TaskVine's Python calls hold the GIL while the manager waits (up to a second at a time):
the thread waits only while tasks are out, and children of a finished task are submitted
from that same thread without delay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from tapstrace.engine.adapter import Launched, Outcome, settle_error
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import TaskFailed, TaskResult, WorkerReport
from tapstrace.errors import UserError
from tapstrace.executors.remote_call import run_file, run_task
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register

log = logging.getLogger(__name__)

INSTALL = "conda install -c conda-forge ndcctools"
LIBRARY = "tapstrace"
#: Longest time (s) one Manager.wait call blocks; TaskVine counts whole seconds.
WAIT_SECONDS = 1
#: Task mode's command: a new Python (the worker's python3, or that of a poncho
#: environment, as in TaskVine's PythonTask) runs the call in file ``call`` and writes
#: its outcome to file ``result``, with the standard pickle (run_file).
TASK_COMMAND = (
    "${PONCHO_PREFIX:+${PONCHO_PREFIX}/bin/}python3 -c "
    f"'import sys; from {run_file.__module__} import {run_file.__name__}; "
    f"{run_file.__name__}(*sys.argv[1:])' call result"
)


class TaskVineError(UserError):
    """TaskVine cannot be used: not installed, port taken, no workers."""


class TaskVineTaskError(Exception):
    """TaskVine could not run a task (lost worker, missing output, exhausted resources)."""


def import_taskvine() -> Any:
    """``ndcctools.taskvine``, or a TaskVineError naming how to install it."""
    try:
        import ndcctools.taskvine as vine
    except ImportError as exc:
        raise TaskVineError(
            f"executor 'taskvine' needs TaskVine, which is not on PyPI ({exc}); "
            f"install it with: {INSTALL}"
        ) from None
    return vine


@register("executor")
class TaskVineConfig(ExecutorConfig):
    """TaskVine: a Manager here; workers started here, by a vine_factory, or by you.

    Install with `conda install -c conda-forge ndcctools` (not on PyPI). Workers run tasks
    with the `python3` on their PATH, which needs tapstrace (and the app) installed.
    """

    name: ClassVar[str] = "taskvine"

    port: int = Field(
        0, ge=0, le=65535, description="Port the manager listens on (0: any free port)."
    )
    manager_name: str | None = Field(
        None,
        description="Project name, announced to the catalog server, so that workers and "
        "factories can find the manager with -M NAME.",
    )
    workers: int = Field(
        2,
        ge=0,
        description="Workers to start (local vine_worker processes, or through the factory); "
        "0: start none and use workers you start (vine_worker HOST PORT).",
    )
    cores_per_worker: int = Field(1, ge=1, description="Cores each started worker offers.")
    cores_per_task: int = Field(1, ge=1, description="Cores each task asks for.")
    factory: str | None = Field(
        None,
        description="Start the workers through a vine_factory with this batch type (local, "
        "slurm, condor, sge, ...) instead of as local processes.",
    )
    mode: Literal["task", "function-call"] = Field(
        "task",
        description="task: each task is a new Python process on the worker; "
        "function-call: serverless, each task is a FunctionCall to a library that stays "
        "loaded on every worker.",
    )
    exec_mode: Literal["fork", "direct"] = Field(
        "fork",
        description="function-call: run each call in a fork of the library (fork) or in the "
        "library process itself (direct).",
    )
    function_slots: int | None = Field(
        None, ge=1, description="function-call: concurrent calls per library (default: cores)."
    )
    worker_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait at start for the workers to connect."
    )
    worker_binary: Path | None = Field(
        None, description="vine_worker program (default: found on PATH)."
    )
    factory_binary: Path | None = Field(
        None, description="vine_factory program (default: found on PATH)."
    )

    def build(self, run_dir: Path | None = None) -> TaskVineExecutor:
        vine = import_taskvine()
        if self.mode == "function-call":
            check_function_call_mode()
        return TaskVineExecutor(vine, self, run_dir)


def check_function_call_mode() -> None:
    """The function-call mode builds its library with TaskVine's poncho, which needs
    conda-pack and cloudpickle: check before anything starts, and name what is missing
    (TaskVine itself only says that poncho is not available, from deep in a traceback)."""
    try:
        import ndcctools.poncho.package_serverize  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "a module of ndcctools.poncho"
        package = {"conda_pack": "conda-pack"}.get(missing, missing.split(".")[0])
        raise TaskVineError(
            f"--executor.mode function-call needs TaskVine's poncho, which cannot import "
            f"{missing} ({exc}); install it with: conda install -c conda-forge {package}, "
            "or use --executor.mode task"
        ) from None


def _with_worker(report: tuple[Any, ...], worker: str | None) -> tuple[Any, ...]:
    """A worker report with TaskVine's id of the worker (known to the manager only)."""
    return tuple(WorkerReport._make(report)._replace(worker_id=worker))


def _unpickle(buffer: Any) -> Any:
    """What a task-mode task wrote to its result buffer (run_file), or the error reading
    it (reported as the task's loss)."""
    try:
        return pickle.loads(buffer.contents())
    except Exception as exc:
        return exc


def _exited(pid: int) -> bool:
    """Whether the child ``pid`` has exited, without reaping it (its id stays reserved)."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None


def _stop_session(process: subprocess.Popen[bytes], deadline: float) -> None:
    """Let a worker leave until ``deadline``, then make it; then kill what is left of its
    session (the worker leads it) and reap the worker."""
    try:
        while not _exited(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _exited(process.pid):
            process.terminate()  # the worker's own clean exit on SIGTERM
            end = time.monotonic() + 5
            while not _exited(process.pid) and time.monotonic() < end:
                time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    except ChildProcessError:  # already reaped
        pass
    process.wait()


class TaskVineExecutor(Executor):
    """A TaskVine Manager, its workers and the thread that owns them."""

    native_dependencies = False

    def __init__(self, vine: Any, config: TaskVineConfig, run_dir: Path | None = None) -> None:
        self.vine = vine
        self.config = config
        self._temp_dir: Path | None = None
        if run_dir is None:
            run_dir = self._temp_dir = Path(tempfile.mkdtemp(prefix="tapstrace-taskvine-"))
        self.info_dir = Path(run_dir) / "taskvine"
        self.info_dir.mkdir(parents=True, exist_ok=True)
        self._processes: list[subprocess.Popen[bytes]] = []
        self._factory: Any = None
        #: Launched tasks not settled yet, by id(task) (under the lock).
        self._open: dict[int, Launched] = {}
        #: Tasks out in TaskVine, by TaskVine's task id (manager thread only): the task,
        #: TaskVine's task and, in task mode, its call and result buffers.
        self._pending: dict[int, tuple[Launched, Any, tuple[Any, Any] | None]] = {}
        self._vine_ids: dict[int, int] = {}  # id(task) -> TaskVine's task id
        self._requests: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self.manager: Any = None
        try:
            self.manager = self._create_manager()
            self.port = int(self.manager.port)
            self._start_workers()
            if config.mode == "function-call":
                self._install_library()
            self._wait_for_workers()
        except BaseException:
            self._teardown()
            raise
        log.info("TaskVine manager on port %d (run info in %s)", self.port, self.info_dir)
        self._thread = threading.Thread(target=self._loop, name="tapstrace-taskvine", daemon=True)
        self._thread.start()

    # -- the engine's interface -------------------------------------------------------------

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        with self._lock:
            if self._closed:
                raise RuntimeError("the TaskVine executor is shut down")
            self._open[id(task)] = task
        if threading.get_ident() == self._thread_id:
            # A child dispatched while its parent's outcome is reported: submit at once.
            self._submit_now(task)
        else:
            self._requests.put(("submit", task))
        return task

    def cancel(self, handle: Any) -> bool:
        with self._lock:
            if self._open.pop(id(handle), None) is None:
                return False  # settled already
            if not self._closed:
                self._requests.put(("cancel", handle))
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the manager thread, then the factory, the workers and the manager.

        Without ``wait``, or with ``cancel_futures``, tasks still out are cancelled (and
        their futures say so): nothing is left running either way.
        """
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        if self._thread is not None:
            self._requests.put(("stop", cancel_futures or not wait))
            if threading.get_ident() != self._thread_id:
                self._thread.join()
        self._teardown()

    def workers(self) -> int | None:
        if not self.config.workers:
            return None
        slots = max(1, self.config.cores_per_worker // self.config.cores_per_task)
        return self.config.workers * slots

    def describe(self) -> dict[str, Any]:
        return {
            "taskvine_version": str(self.vine.cvine.vine_version_string()),
            "port": self.port,
            "run_info": str(self.info_dir),
        }

    # -- start and stop ---------------------------------------------------------------------

    def _create_manager(self) -> Any:
        port = self.config.port
        if port:
            with socket.socket() as probe:  # TaskVine reports a taken port only on stderr
                try:
                    probe.bind(("", port))
                except OSError as exc:
                    raise TaskVineError(
                        f"executor 'taskvine': cannot listen on port {port} ({exc.strerror}); "
                        "choose another --executor.port, or 0 for any free port"
                    ) from None
        # The Manager sets TCP_LOW_PORT/TCP_HIGH_PORT in os.environ: keep them out of
        # this process and of the workers.
        saved = {k: os.environ.get(k) for k in ("TCP_LOW_PORT", "TCP_HIGH_PORT")}
        try:
            manager = self.vine.Manager(
                port=port,
                name=self.config.manager_name,
                shutdown=True,
                run_info_path=str(self.info_dir),
                run_info_template="manager",
            )
        except Exception as exc:
            raise TaskVineError(f"executor 'taskvine': cannot start the manager: {exc}") from None
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        return manager

    def _program(self, given: Path | None, name: str) -> str:
        found = str(given) if given is not None else shutil.which(name)
        if not found or not os.access(found, os.X_OK):
            raise TaskVineError(
                f"executor 'taskvine': {given or name} not found"
                f"{'' if given else ' on PATH'} ({INSTALL} provides it)"
            )
        return found

    def _start_workers(self) -> None:
        c = self.config
        if not c.workers:
            return
        if c.factory:
            try:
                factory = self.vine.Factory(
                    batch_type=c.factory,
                    manager=self.manager,
                    factory_binary=self._program(c.factory_binary, "vine_factory"),
                    worker_binary=self._program(c.worker_binary, "vine_worker"),
                    log_file=str(self.info_dir / "factory.log"),
                )
                factory.min_workers = c.workers
                factory.max_workers = c.workers
                factory.cores = c.cores_per_worker
                factory.extra_options = "--single-shot"  # workers leave with the manager
                self._factory = factory.start()
            except UserError:
                raise
            except Exception as exc:
                raise TaskVineError(f"executor 'taskvine': vine_factory failed: {exc}") from None
            return
        worker = self._program(c.worker_binary, "vine_worker")
        env = {k: v for k, v in os.environ.items() if k not in ("TCP_LOW_PORT", "TCP_HIGH_PORT")}
        # Tasks run `python3`: the one of this interpreter, which has tapstrace.
        env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
        for i in range(c.workers):
            with open(self.info_dir / f"worker-{i}.log", "wb") as out:
                self._processes.append(
                    subprocess.Popen(
                        [worker, f"--cores={c.cores_per_worker}", "--single-shot",
                         "--parent-death", "localhost", str(self.port)],
                        env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )  # fmt: skip

    def _install_library(self) -> None:
        library = self.manager.create_library_from_functions(
            LIBRARY, run_task, add_env=False, exec_mode=self.config.exec_mode
        )
        library.set_cores(self.config.cores_per_worker)
        if self.config.function_slots:
            library.set_function_slots(self.config.function_slots)
        self.manager.install_library(library)

    def _wait_for_workers(self) -> None:
        wanted = self.config.workers or 1
        deadline = time.monotonic() + self.config.worker_timeout
        while self.manager.stats.workers_connected < wanted:
            for process in self._processes:
                if process.poll() is not None:
                    raise TaskVineError(
                        f"executor 'taskvine': a vine_worker exited with code "
                        f"{process.returncode} (see {self.info_dir}/worker-*.log)"
                    )
            if time.monotonic() > deadline:
                how = (
                    f"start workers with `vine_worker HOST {self.port}`"
                    if not self.config.workers
                    else f"see {self.info_dir}"
                )
                raise TaskVineError(
                    f"executor 'taskvine': {self.manager.stats.workers_connected} of {wanted} "
                    f"workers connected to port {self.port} within "
                    f"{self.config.worker_timeout:g} s ({how}, or raise "
                    "--executor.worker-timeout)"
                )
            began = time.monotonic()
            self.manager.wait(WAIT_SECONDS)
            if time.monotonic() - began < 0.05:
                time.sleep(0.05)  # an empty manager returns at once

    def _teardown(self) -> None:
        """Release everything started, in an order that leaves no worker behind.

        The manager goes first: it tells its workers to exit and closes its port, so the
        single-shot workers leave and the factory has nothing to replace. Local workers run
        in sessions of their own, so whatever they forked (transfer servers, libraries) is
        stopped with them.
        """
        if self.manager is not None:
            with contextlib.suppress(Exception):
                self.manager.__exit__(None, None, None)
            self.manager = None
        if self._factory is not None:
            with contextlib.suppress(Exception):
                self._factory.stop()
            self._factory = None
        deadline = time.monotonic() + 10
        for process in self._processes:
            _stop_session(process, deadline)
        self._processes = []
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    # -- the manager thread -----------------------------------------------------------------

    def _settle(self, task: Launched, outcome: Outcome, detail: Any) -> None:
        """Report ``task``'s outcome, unless it was cancelled (or settled) already."""
        with self._lock:
            if self._open.pop(id(task), None) is None:
                return
        task.settle(outcome, detail)

    def _loop(self) -> None:
        self._thread_id = threading.get_ident()
        error: BaseException | None = None
        try:
            stopping = False
            while not (stopping and not self._pending):
                stopping = self._drain(block=not self._pending) or stopping
                if self._pending:
                    task = self.manager.wait(WAIT_SECONDS)
                    if task is not None:
                        self._complete(task)
        except BaseException as exc:
            error = exc
            log.exception("the TaskVine manager thread failed")
        finally:
            with self._lock:
                self._closed = True
                left = list(self._open.values())
            self._pending.clear()
            stopped = RuntimeError(f"the TaskVine manager stopped: {error!r}")
            for task in left:
                if error is not None:
                    self._settle(task, Outcome.LOST, stopped)
                else:
                    self._settle(task, Outcome.CANCELLED, None)

    def _drain(self, block: bool) -> bool:
        """Handle queued requests (waiting for one when ``block``); True once told to stop."""
        stop = False
        try:
            item = self._requests.get(timeout=0.5) if block else self._requests.get_nowait()
            while True:
                kind = item[0]
                if kind == "submit":
                    self._submit_now(*item[1:])
                elif kind == "cancel":
                    self._cancel_now(item[1])
                elif kind == "stop":
                    stop = True
                    if item[1]:
                        for task, _, _ in list(self._pending.values()):
                            self._settle(task, Outcome.CANCELLED, None)
                            self._cancel_now(task)
                item = self._requests.get_nowait()
        except queue.Empty:
            pass
        return stop

    def _submit_now(self, task: Launched) -> None:
        if id(task) not in self._open:  # cancelled before it reached the manager
            return
        buffers = None
        try:
            if self.config.mode == "function-call":
                vine_task = self.vine.FunctionCall(LIBRARY, run_task.__name__, task)
            else:
                vine_task, buffers = self._process_task(task)
            vine_task.set_cores(self.config.cores_per_task)
            vine_id = int(self.manager.submit(vine_task))
        except Exception as exc:
            self._release(buffers)
            self._settle(task, Outcome.LOST, exc)
            return
        self._pending[vine_id] = (task, vine_task, buffers)
        self._vine_ids[id(task)] = vine_id

    def _process_task(self, task: Launched) -> tuple[Any, tuple[Any, Any]]:
        """Task mode: a Task running TASK_COMMAND, its call and its result in buffers.

        Not TaskVine's PythonTask, whose process imports cloudpickle (20 ms) for every
        task and whose call and result go through files in the manager's staging
        directory: here the call is pickled by cloudpickle (functions of ``__main__``
        travel by value) into memory, and the worker's process reads it with the
        standard pickle.
        """
        import cloudpickle  # a dependency of ndcctools.taskvine

        call = self.manager.declare_buffer(cloudpickle.dumps(task, pickle.HIGHEST_PROTOCOL))
        result = self.manager.declare_buffer()
        vine_task = self.vine.Task(TASK_COMMAND)
        vine_task.add_input(call, "call")
        vine_task.add_output(result, "result")
        return vine_task, (call, result)

    def _cancel_now(self, task: Launched) -> None:
        vine_id = self._vine_ids.pop(id(task), None)
        if vine_id is None or vine_id not in self._pending:
            return
        _, vine_task, buffers = self._pending.pop(vine_id)
        with contextlib.suppress(Exception):
            self.manager.cancel_by_task_id(vine_id)
        self._discard(vine_task, buffers)

    def _complete(self, vine_task: Any) -> None:
        entry = self._pending.pop(vine_task.id, None)
        if entry is None:  # cancelled meanwhile, or not ours
            self._discard(vine_task)
            return
        task, _, buffers = entry
        self._vine_ids.pop(id(task), None)
        try:
            outcome, detail = self._outcome(task, vine_task, buffers)
        except Exception as exc:  # never leave a task unsettled
            outcome, detail = Outcome.LOST, exc
        self._discard(vine_task, buffers)
        if outcome is None:
            with self._lock:
                known = self._open.pop(id(task), None) is not None
            if known:
                settle_error(task, detail)
        else:
            self._settle(task, outcome, detail)

    def _outcome(
        self, task: Launched, vine_task: Any, buffers: tuple[Any, Any] | None
    ) -> tuple[Outcome | None, Any]:
        """The outcome of a finished TaskVine task (None: an error to classify)."""
        worker = vine_task.addrport or None
        if not vine_task.successful():
            lines = (vine_task.std_output or "").strip().splitlines()
            last = f": {lines[-1].strip()}" if lines else ""
            return Outcome.LOST, TaskVineTaskError(
                f"TaskVine task {vine_task.id} on {worker or 'no worker'} ended with "
                f"{vine_task.result!r}, exit code {vine_task.exit_code}{last}"
            )
        value = vine_task.output if buffers is None else _unpickle(buffers[1])
        if isinstance(value, TaskResult):
            return Outcome.VALUE, TaskResult(value.value, _with_worker(value.report, worker))
        if isinstance(value, TaskFailed):
            value.report = _with_worker(value.report, worker)
            return None, value
        if isinstance(value, BaseException):
            return None, value
        return Outcome.LOST, TaskVineTaskError(
            f"TaskVine task {vine_task.id} on {worker} returned no result: {str(value)[:300]}"
        )

    def _release(self, buffers: tuple[Any, Any] | None) -> None:
        """Free a task-mode task's call and result buffers."""
        for buffer in buffers or ():
            with contextlib.suppress(Exception):
                self.manager.undeclare_file(buffer)

    def _discard(self, task: Any, buffers: tuple[Any, Any] | None = None) -> None:
        """Free a finished task's buffers, or delete its output file (a function call's)
        from the manager's staging directory."""
        if buffers is not None:
            self._release(buffers)
            return
        output = getattr(task, "output_file", None)
        if not output:
            return
        with contextlib.suppress(Exception):
            path = output.source()
            self.manager.undeclare_file(output)
            if path:
                os.unlink(path)
