"""The ProxyStore transformer with its real Store and connectors (file, local, Redis)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tapstrace.data.filters import SizeFilter
from tapstrace.data.proxies import ProxyStoreTransformer, ProxyStoreTransformerConfig
from tapstrace.engine import Engine, MemoryRecorder, Status
from tapstrace.errors import ConfigError
from tests.conftest import build_executor
from tests.data.conftest import free_port
from tests.data.work import array_sum, make_array, proxy_state

N = 100_000


def pool(executor_name: str) -> Any:
    params = {"max_threads": 2} if executor_name == "thread" else {"max_processes": 2}
    return build_executor(executor_name, **params)


def store_dir(transformer: ProxyStoreTransformer) -> str:
    return str(transformer.config.connector.options["store_dir"])


@pytest.fixture
def file_store(tmp_path: Path) -> Iterator[ProxyStoreTransformer]:
    t = ProxyStoreTransformerConfig(connector="file", directory=tmp_path).build()
    yield t
    t.close()


@pytest.mark.slow
def test_file_connector_gives_tasks_lazy_proxies(
    executor_name: str, recorder: MemoryRecorder, file_store: ProxyStoreTransformer
) -> None:
    big = np.arange(N, dtype=np.float64)
    with Engine(
        pool(executor_name), filter=SizeFilter(1000), transformer=file_store, recorder=recorder
    ) as engine:
        state = engine.submit(proxy_state, big).result()
        objects = [n for n in os.listdir(store_dir(file_store)) if not n.endswith(".ready")]
        assert len(objects) == 1  # the argument, in the store
    # the task got an unresolved Proxy, and resolving it gave the real array
    assert state == ("Proxy", False, float(big.sum()))
    (r,) = recorder.records
    assert r.status == Status.OK
    assert r.oob_bytes is not None and r.oob_bytes >= big.nbytes
    assert r.inband_input_bytes is not None and r.inband_input_bytes < 1000
    file_store.close()
    assert not os.path.exists(store_dir(file_store))


@pytest.mark.slow
def test_eager_mode_fetches_before_the_call(executor_name: str, tmp_path: Path) -> None:
    recorder = MemoryRecorder()
    transformer = ProxyStoreTransformerConfig(
        connector="file", directory=tmp_path, lazy=False
    ).build()
    try:
        with Engine(
            pool(executor_name), filter=SizeFilter(1000), transformer=transformer,
            recorder=recorder,
        ) as engine:  # fmt: skip
            parent = engine.submit(make_array, N, 3.0)
            state = engine.submit(proxy_state, parent).result()
            value = parent.result()
    finally:
        transformer.close()
    assert state == ("ndarray", True, 3.0 * N)
    assert isinstance(value, np.ndarray) and value.sum() == 3.0 * N
    child = max(recorder.records, key=lambda r: r.task_id)
    assert child.input_bytes == N * 8  # fetched before the call: logical size
    assert child.oob_bytes is not None and child.oob_bytes >= N * 8


def test_lazy_results_reach_the_user_as_proxies(tmp_path: Path) -> None:
    from proxystore.proxy import Proxy, is_resolved

    transformer = ProxyStoreTransformerConfig(connector="local").build()
    try:
        with Engine(
            build_executor("thread", max_threads=2), filter=SizeFilter(1000),
            transformer=transformer,
        ) as engine:  # fmt: skip
            parent = engine.submit(make_array, N, 1.0)
            value = parent.result()
            assert type(value) is Proxy and not is_resolved(value)
            # in one process the child's proxy is this very object: submitted after the check
            assert engine.submit(array_sum, parent).result() == float(N)
            assert float(np.sum(value)) == float(N)
    finally:
        transformer.close()


@pytest.mark.slow
def test_redis_connector_moves_data_through_a_real_server(
    executor_name: str, redis_server: tuple[str, int], redis_client: Any
) -> None:
    host, port = redis_server
    before = set(redis_client.keys("*"))
    recorder = MemoryRecorder()
    transformer = ProxyStoreTransformerConfig(
        connector="redis", redis_host=host, redis_port=port
    ).build()
    try:
        with Engine(
            pool(executor_name), filter=SizeFilter(1000), transformer=transformer,
            recorder=recorder,
        ) as engine:  # fmt: skip
            parent = engine.submit(make_array, N, 2.0)
            state = engine.submit(proxy_state, parent).result()
            arg = engine.submit(array_sum, np.ones(N)).result()
        during = set(redis_client.keys("*")) - before
    finally:
        transformer.close()
    assert state == ("Proxy", False, 2.0 * N)
    assert arg == float(N)
    assert len(during) == 2  # the parent's result and the large argument
    assert all(r.status == Status.OK for r in recorder.records)
    assert all(r.oob_bytes and r.oob_bytes >= N * 8 for r in recorder.records)
    assert set(redis_client.keys("*")) - before == set()  # close removed the run's keys


def test_unreachable_redis_fails_fast_with_the_address() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    with pytest.raises(ConfigError, match=rf"cannot reach Redis at 127\.0\.0\.1:{port}"):
        ProxyStoreTransformerConfig(connector="redis", redis_port=port, redis_timeout=2).build()
    assert time.monotonic() - started < 10
