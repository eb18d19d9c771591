"""1 MB payloads out of band on real clusters: the size filter with each transformer.

On a running dask scheduler with two workers, a running ``ray start --head`` and a local
Parsl HTEX, a diamond whose every edge carries 1 MB (plus a 1 MB argument from the
client) runs through the Engine with ``size`` (min 1000 bytes) and the ``file``
transformer or ProxyStore's ``redis`` connector against a real redis-server. The tasks
receive the real bytes; the records say the payloads moved out of band.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from tapstrace.data.files import FileTransformerConfig
from tapstrace.data.filters import SizeFilter
from tapstrace.data.proxies import ProxyStoreTransformerConfig
from tapstrace.engine import Engine, MemoryRecorder, Status
from tapstrace.engine.executor import Executor
from tests.data import conftest as data_fixtures
from tests.executors.payloads import make_payload, mix, summary

pytestmark = pytest.mark.slow
pytest.importorskip("proxystore")  # the data extra

MB = 1_000_000
SMALL = 1000  # the filter's threshold: anything in band must be below it

redis_server = data_fixtures.redis_server  # the real redis-server fixture


def build(name: str, request: pytest.FixtureRequest, run_dir: Path) -> Executor:
    """The executor attached to this module's cluster (dask, ray) or a local HTEX."""
    if name == "dask":
        pytest.importorskip("distributed")
        from tapstrace.executors.dask import DaskConfig

        return DaskConfig(scheduler_address=request.getfixturevalue("dask_scheduler")).build()
    if name == "ray":
        pytest.importorskip("ray")
        from tapstrace.executors.ray import RayConfig

        return RayConfig(address=request.getfixturevalue("ray_head")).build()
    pytest.importorskip("parsl")
    from tapstrace.executors.parsl import ParslConfig

    return ParslConfig(workers=2).build(run_dir)


def transformer_config(name: str, request: pytest.FixtureRequest, directory: Path) -> Any:
    if name == "file":
        return FileTransformerConfig(directory=directory)
    host, port = request.getfixturevalue("redis_server")
    return ProxyStoreTransformerConfig(connector="redis", redis_host=host, redis_port=port)


def crc(data: bytes) -> int:
    return zlib.crc32(data)


@pytest.mark.parametrize("transformer_name", ["file", "proxystore-redis"])
@pytest.mark.parametrize("executor_name", ["dask", "ray", "parsl"])
def test_payloads_move_out_of_band(
    executor_name: str, transformer_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if executor_name == "ray":
        request.getfixturevalue("monkeypatch").setenv("RAY_AUTH_MODE", "disabled")
    transformer = transformer_config(transformer_name, request, tmp_path / "store").build()
    recorder = MemoryRecorder()
    from_client = make_payload(MB, 7)
    try:
        with Engine(
            build(executor_name, request, tmp_path / "run"),
            filter=SizeFilter(SMALL),
            transformer=transformer,
            recorder=recorder,
        ) as engine:
            root = engine.submit(make_payload, MB, 1)
            left = engine.submit(mix, root, None)
            right = engine.submit(mix, root, from_client)
            join = engine.submit(summary, left, right, from_client)
            got = join.result(120)
            assert bytes(right.result(120)) == mix(make_payload(MB, 1), from_client)
            submitted = engine.submitted
    finally:
        transformer.close()

    # The tasks computed on the real bytes: the join saw both parents' 1 MB results and
    # the client's argument, as references resolved (file) or proxies (lazy ProxyStore).
    root_bytes = make_payload(MB, 1)
    expected = [mix(root_bytes, None), mix(root_bytes, from_client), from_client]
    assert [(n, c) for _, n, c in got] == [(MB, crc(e)) for e in expected]
    kinds = {k for k, _, _ in got}
    assert kinds == ({"bytes"} if transformer_name == "file" else {"Proxy"})

    records = {r.task_id: r for r in recorder.records}
    assert len(recorder.records) == submitted == len(records) == 4
    assert all(r.status == Status.OK and r.worker_id for r in records.values()), records
    ids = root.task_id, left.task_id, right.task_id, join.task_id
    r_root, r_left, r_right, r_join = (records[i] for i in ids)
    assert r_left.parents == r_right.parents == (root.task_id,)
    assert r_join.parents == (left.task_id, right.task_id)
    # Every 1 MB result was stored out of band; only small references went in band.
    for r in (r_root, r_left, r_right):
        assert r.oob_bytes is not None and r.oob_bytes >= MB, r
        assert r.inband_output_bytes is not None and r.inband_output_bytes < SMALL, r
    for r in (r_left, r_right, r_join):
        assert r.inband_input_bytes is not None and r.inband_input_bytes < SMALL, r
    assert r_join.oob_bytes is not None
    assert r_right.client_transform_seconds is not None  # the client's 1 MB was stored
    if transformer_name == "file":
        # tapstrace resolved the parents' files: fetched bytes count for the reader too.
        assert r_right.oob_bytes >= 3 * MB  # root's result, the client's argument, its own
        assert r_join.oob_bytes >= 3 * MB
        assert r_join.resolve_seconds is not None and r_join.resolve_seconds > 0
        assert not Path(transformer.directory).exists()  # its files removed at close
