"""A local stand-in for the Globus Compute service and an endpoint, for tests.

The service cannot be reached from the test machines. This executor does what the SDK,
the service and the endpoint do to a submission, with the SDK's own classes: the function
is serialised as ``FunctionRegistrationData`` registers it, the arguments as ``Batch.add``
packs them, the endpoint side (in another process) unpacks the joined buffer with
``ComputeSerializer.unpack_and_deserialize``, calls the function and serialises the result
as the endpoint does, and the client deserialises it or raises ``TaskExecutionFailed``.
Not exercised: the web service, AMQP result delivery, batching and authentication.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from globus_compute_sdk.errors import TaskExecutionFailed
from globus_compute_sdk.sdk.asynchronous.compute_future import ComputeFuture
from globus_compute_sdk.sdk.batch import Batch
from globus_compute_sdk.sdk.client import FunctionRegistrationData
from globus_compute_sdk.serialize import ComputeSerializer

FUNCTION_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def endpoint_execute(task_buffer: str) -> tuple[bool, str]:
    """What an endpoint worker does with a task: (ok, serialised result or traceback)."""
    serializer = ComputeSerializer()
    try:
        fn, args, kwargs = serializer.unpack_and_deserialize(task_buffer)
        return True, serializer.serialize_from_list(fn(*args, **kwargs), ())
    except Exception:
        return False, traceback.format_exc()


class EndpointStandIn(concurrent.futures.Executor):
    """A concurrent.futures executor shaped like ``globus_compute_sdk.Executor``."""

    def __init__(self, workers: int = 2) -> None:
        self.serializer = ComputeSerializer()
        self.pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn")
        )
        self.functions: dict[Callable[..., Any], str] = {}
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> ComputeFuture:
        code = self.functions.get(fn)
        if code is None:  # registration, once per function
            code = FunctionRegistrationData(function=fn, serializer=self.serializer).function_code
            self.functions[fn] = code
        batch = Batch(task_group_id=None, serializer=self.serializer)
        batch.add(FUNCTION_ID, args, kwargs)
        (payload,) = batch.tasks[FUNCTION_ID]
        self.submitted += 1
        outer = ComputeFuture()
        inner = self.pool.submit(endpoint_execute, code + payload)
        inner.add_done_callback(lambda done: self._deliver(done, outer))
        return outer

    def _deliver(self, inner: concurrent.futures.Future[Any], outer: ComputeFuture) -> None:
        if outer.done():
            return
        if inner.cancelled():
            outer.cancel()
            return
        exc = inner.exception()
        if exc is not None:
            outer.set_exception(exc)
            return
        ok, data = inner.result()
        if ok:
            outer.set_result(self.serializer.deserialize(data))
        else:
            outer.set_exception(TaskExecutionFailed(data))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)
