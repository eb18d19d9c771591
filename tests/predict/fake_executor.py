"""An executor with known costs, for checking that calibration measures them.

Threads stand in for workers; every cost is a fixed sleep, injected where a real
executor spends it, and the executor never reads a clock: what calibration finds comes
only from tapstrace's own timestamps.

- start-up: worker k sleeps ``startup[k]`` after the executor is built; or, with
  ``spawn``, workers start only when a task finds none idle, each sleeping ``spawn``
  first (a process pool's way);
- service: the dispatcher sleeps ``service`` after handing over each task;
- launch: a worker sleeps ``launch`` (plus ``per_input_byte`` per argument byte) after
  taking a task, before running it;
- result: the result is delivered ``result`` (plus ``per_result_byte`` per byte) after
  the task returns;
- gap: a worker sleeps ``gap`` after a task before taking the next one.
"""

from __future__ import annotations

import concurrent.futures
import functools
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from tapstrace.engine.adapter import Launched, settle_future
from tapstrace.engine.executor import Executor
from tapstrace.engine.worker import TaskResult
from tapstrace.plugins.config import ExecutorConfig


def _worker_name() -> str:
    return threading.current_thread().name


def _size(value: Any) -> int:
    if isinstance(value, TaskResult):
        value = value.value
    return len(value) if isinstance(value, bytes | bytearray) else 0


class FakeExecutor(Executor):
    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.submitted: queue.Queue[Any] = queue.Queue()
        self.dispatched: queue.Queue[Any] = queue.Queue()
        # Results travel on pool threads (started now: starting a thread per task would
        # add its own, load-dependent delay to the worker).
        self.delivery = concurrent.futures.ThreadPoolExecutor(16)
        for _ in range(16):
            self.delivery.submit(time.sleep, 0.01)
        self.lock = threading.Lock()
        self.idle = 0
        self.threads = [threading.Thread(target=self._dispatch, daemon=True)]
        self.threads[0].start()
        if config.spawn is None:
            for _ in range(config.workers):
                self._start_worker()

    def _start_worker(self) -> None:
        k = len(self.threads) - 1
        thread = threading.Thread(target=self._work, args=(k,), name=f"fake-{k}", daemon=True)
        self.threads.append(thread)
        thread.start()

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.add_done_callback(functools.partial(settle_future, task))
        # The call's own arguments are what the worker receives as input.
        inputs = getattr(task, "args", ())
        self.submitted.put((task, inputs, future))
        return future

    def cancel(self, handle: Any) -> bool:
        return False  # every task runs to its end

    def _dispatch(self) -> None:
        c = self.config
        while (item := self.submitted.get()) is not None:
            if c.spawn is not None:
                with self.lock:
                    start = self.idle == 0 and len(self.threads) - 1 < c.workers
                if start:
                    self._start_worker()
            self.dispatched.put(item)
            time.sleep(c.service)
        for _ in range(len(self.threads) - 1):
            self.dispatched.put(None)

    def _work(self, k: int) -> None:
        c = self.config
        if c.spawn is not None:
            time.sleep(c.spawn)
        else:
            time.sleep(c.startup[k] if k < len(c.startup) else 0.0)
        while True:
            with self.lock:
                self.idle += 1
            item = self.dispatched.get()
            with self.lock:
                self.idle -= 1
            if item is None:
                break
            task, inputs, future = item
            time.sleep(c.launch + c.per_input_byte * sum(_size(a) for a in inputs))
            try:
                value = task()
            except BaseException as exc:  # delivered like a result
                value, error = None, exc
            else:
                error = None
            delay = c.result + c.per_result_byte * _size(value)
            self.delivery.submit(self._deliver, future, value, error, delay)
            time.sleep(c.gap)

    @staticmethod
    def _deliver(future: Any, value: Any, error: BaseException | None, delay: float) -> None:
        time.sleep(delay)
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.submitted.put(None)
        if wait:
            for thread in self.threads:
                thread.join(timeout=10)
        self.delivery.shutdown(wait=wait)

    def worker_id_function(self) -> Any:
        return _worker_name

    def workers(self) -> int:
        return self.config.workers


class FakeConfig(ExecutorConfig):
    """Threads with injected costs (not registered: tests build it directly)."""

    name: ClassVar[str] = "fake"

    workers: int = Field(1, ge=1)
    startup: list[float] = Field(default_factory=list)
    spawn: float | None = None
    service: float = 0.0
    launch: float = 0.0
    result: float = 0.0
    gap: float = 0.0
    per_input_byte: float = 0.0
    per_result_byte: float = 0.0

    def build(self, run_dir: Path | None = None) -> FakeExecutor:
        return FakeExecutor(self)
