"""Ray executor: a local Ray instance, or a running Ray cluster by address.

Task results stay in Ray's object store: a child receives its parents' ObjectRefs as
arguments and Ray moves the data between workers; the client also receives every result
once, to complete the task's future.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from tapstrace.engine.adapter import Launched, Outcome, Relay, dumps_call, settle_error
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import TaskResult, run_pickled
from tapstrace.errors import UserError
from tapstrace.executors.options import check_keys, parameters
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register
from tapstrace.runner import signals

log = logging.getLogger(__name__)


_worker_id: tuple[int, str | None] = (-1, None)


def ray_worker_id() -> str | None:
    """Worker id of a Ray worker process: Ray's worker id (hex), cached per process."""
    global _worker_id
    pid = os.getpid()
    if _worker_id[0] != pid:
        import ray

        try:
            _worker_id = (pid, str(ray.get_runtime_context().get_worker_id()))
        except Exception:
            return None
    return _worker_id[1]


def wait_for_port(address: str, timeout: float) -> None:
    """Return once ``host:port`` accepts TCP connections; raise TimeoutError after ``timeout``.

    Ray's own connection attempt to an absent cluster retries for minutes, printing
    warnings from its C++ core; probing first bounds the wait and keeps the terminal quiet.
    """
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return  # no port to probe (e.g. "auto"): let Ray resolve it
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=max(0.1, left)).close()
            return
        except OSError as exc:
            if time.monotonic() + 0.2 >= deadline:
                raise TimeoutError(str(exc)) from None
            time.sleep(0.2)


@register("executor")
class RayConfig(ExecutorConfig):
    """Ray: a local Ray instance or a running cluster; data stays in Ray's object store.

    Quiet by default: no dashboard, no usage statistics, workers' output not forwarded.
    """

    name: ClassVar[str] = "ray"

    address: str | None = Field(
        None,
        description="Address of a running Ray cluster (host:6379, or ray://host:10001 for "
        "Ray Client); none starts a local Ray instance.",
    )
    num_cpus: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Local instance: CPUs, i.e. tasks running at once.",
    )
    connect_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the cluster's address to answer."
    )
    log_to_driver: bool = Field(
        False, description="Show the workers' stdout and stderr on this terminal."
    )
    init_options: dict[str, Any] = Field(
        default_factory=dict,
        description='More keyword arguments of ray.init (JSON, e.g. {"object_store_memory": '
        "1000000000}).",
    )
    remote_options: dict[str, Any] = Field(
        default_factory=dict,
        description='Options of every task (ray.remote), e.g. {"num_cpus": 2, "max_retries": 0}.',
    )

    def build(self, run_dir: Path | None = None) -> RayExecutor:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        # The engine records every task's error; Ray would also print the traceback of
        # each failed result it was not asked for (a failed parent's children).
        os.environ.setdefault("RAY_IGNORE_UNHANDLED_ERRORS", "1")
        import ray

        if ray.is_initialized():
            raise UserError(
                "--executor ray: Ray is already initialised in this process; shut it down "
                "first (one Ray executor per process)"
            )
        options: dict[str, Any] = {
            "log_to_driver": self.log_to_driver,
            "configure_logging": True,
            "logging_level": logging.ERROR,
        }
        if self.address is None:  # every process of the instance on loopback only
            options.update(
                address="local",
                num_cpus=self.num_cpus,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
            )
        else:
            try:
                wait_for_port(self.address, self.connect_timeout)
            except TimeoutError as exc:
                raise UserError(
                    f"--executor.address {self.address}: no Ray cluster answered within "
                    f"{self.connect_timeout:g} s ({exc})"
                ) from None
            options["address"] = self.address
        # Options checked before anything starts: a mistyped key is one line.
        public = {k: v for k, v in self.init_options.items() if not k.startswith("_")}
        check_keys(public, "--executor.init-options", parameters(ray.init), "ray.init")
        try:
            remote = ray.remote(run_pickled)
            if self.remote_options:
                remote = remote.options(**self.remote_options)
        except (TypeError, ValueError) as exc:
            raise UserError(f"--executor.remote-options: {exc}") from None
        options.update(self.init_options)
        auth_error = getattr(ray.exceptions, "AuthenticationError", ConnectionError)
        try:
            # Ray installs a SIGTERM handler of its own (exit status 15): keep the run's,
            # so that a kill unwinds a Ray run like any other (exit 143, quietly).
            with _loopback_only(ray, self.address is None), signals.kept():
                ray.init(**options)
        except TypeError as exc:
            raise UserError(f"--executor.init-options: {exc}") from None
        except RuntimeError as exc:
            if not str(exc).startswith("Unknown keyword argument"):  # a private _option
                raise
            raise UserError(f"--executor.init-options: {exc}") from None
        except (ConnectionError, auth_error) as exc:
            ray.shutdown()
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            hint = ""
            if _caused_by(exc, auth_error, "InvalidAuthToken"):
                hint = " (the cluster wants token authentication: set RAY_AUTH_MODE=token and "
                hint += "give its token in RAY_AUTH_TOKEN or ~/.ray/auth_token)"
            raise UserError(
                f"--executor.address {self.address}: cannot attach to Ray: {first}{hint}"
            ) from None
        return RayExecutor(remote, attached=self.address is not None)


#: On Linux, Ray swaps a node IP of 127.0.0.1 for the host's address, so that other nodes
#: can join, and its servers and agents then listen on every interface. With this switch
#: off (Ray's default on macOS and Windows) the node keeps 127.0.0.1 and every server,
#: agent and worker of a local instance binds to loopback only.
_CLUSTER_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextlib.contextmanager
def _loopback_only(ray: Any, local: bool) -> Iterator[None]:
    """While a local instance starts: Ray's multi-node switch off, here and in the
    processes it starts (they inherit the environment); restored afterwards, so a later
    attach to a real cluster is not affected."""
    if not local:
        yield
        return
    from ray._private import ray_constants

    previous_env = os.environ.get(_CLUSTER_SWITCH)
    previous = ray_constants.ENABLE_RAY_CLUSTER
    os.environ[_CLUSTER_SWITCH] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous
        if previous_env is None:
            os.environ.pop(_CLUSTER_SWITCH, None)
        else:
            os.environ[_CLUSTER_SWITCH] = previous_env


def _caused_by(exc: BaseException, kind: type[BaseException], text: str) -> bool:
    """Whether ``exc`` or an exception in its chain is a ``kind`` or mentions ``text``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind) or text in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


#: Largest task call the adapter pickles itself: Ray passes arguments up to 100 KiB
#: inline (max_direct_call_object_size), larger ones through its object store.
_INLINE_BYTES = 100 * 1024


class RayExecutor(Executor):
    """Launches tasks as Ray tasks; parents' ObjectRefs are their children's arguments."""

    native_dependencies = True
    # Ray fails a child of a failed or cancelled parent itself. Cancelling that child
    # too races with its failure's reply: Ray 2.60's core worker then aborts the whole
    # process ("Tried to complete task that was not pending", task_manager.cc).
    fails_children = True
    stops_tasks_on_shutdown = True  # the same race: ray.cancel on a task replying

    def __init__(self, remote: Any, attached: bool) -> None:
        import ray

        self._ray = ray
        self._remote = remote
        self.attached = attached
        self._relay = Relay("tapstrace-ray-results")
        self._dumps = ray.cloudpickle.dumps

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        # Pickled here: Ray's cloudpickle takes about 4x the standard pickle's time.
        # Ray's own serialiser takes a call holding an ObjectRef (it keeps the objects
        # referenced alive for the worker) or a large one (it moves large buffers into
        # its object store without copying: 8 MB of bytes, 8.5 ms a task against 14 ms
        # as one pickle).
        data: Any = dumps_call(task, self._dumps)
        if len(data) > _INLINE_BYTES or b"ObjectRef" in data:
            data = task
        ref = self._remote.remote(data, *parents)
        # Ray calls back on its core worker thread: only enqueue there. _on_completed
        # hands over the value (or the error) without making a Future per task.
        report = functools.partial(self._relay.put, _settle, task)
        on_completed = getattr(ref, "_on_completed", None)
        if on_completed is not None:
            on_completed(report)
        else:  # a Ray without it
            ref.future().add_done_callback(lambda f: report(_outcome_of(f)))
        return ref

    def cancel(self, handle: Any) -> bool:
        try:
            ready, _ = self._ray.wait([handle], timeout=0, fetch_local=False)
            if ready:
                return False  # finished: its outcome is on its way
            self._ray.cancel(handle)
        except Exception:  # finished, or Ray refused
            log.debug("cannot cancel %r", handle, exc_info=True)
            return False
        return True

    def worker_id_function(self) -> Callable[[], str | None] | None:
        return ray_worker_id

    def workers(self) -> int | None:
        try:
            return int(self._ray.cluster_resources().get("CPU", 0)) or None
        except Exception:
            return None

    def describe(self) -> dict[str, Any]:
        ray = self._ray
        facts: dict[str, Any] = {"ray_version": ray.__version__, "attached": self.attached}
        try:
            facts["gcs_address"] = ray.get_runtime_context().gcs_address
            facts["nodes"] = sum(1 for node in ray.nodes() if node.get("Alive"))
        except Exception:
            log.debug("cannot describe the Ray cluster", exc_info=True)
        return facts

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self._ray.shutdown()  # attached: disconnects this driver only
        finally:
            self._relay.close()


def _outcome_of(future: Any) -> Any:
    """A done Future of an ObjectRef as _on_completed would give it: value or error."""
    exc = future.exception()
    return future.result() if exc is None else exc


def _settle(task: Launched, result: Any) -> None:
    """Report what Ray delivered for a task: its value, or an error."""
    from ray.exceptions import RayTaskError, TaskCancelledError

    if type(result) is TaskResult or not isinstance(result, BaseException):
        task.settle(Outcome.VALUE, result)
        return
    if isinstance(result, RayTaskError):
        # The task raised (TaskFailed from the call), or a parent failed or was
        # cancelled: keep what happened, not Ray's wrapper with its formatted traceback.
        cause = getattr(result, "cause", None)
        if isinstance(cause, BaseException):
            result = cause
    if isinstance(result, TaskCancelledError):
        task.settle(Outcome.CANCELLED, None)
        return
    settle_error(task, result)
