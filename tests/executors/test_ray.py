"""The ray executor on a local Ray instance and attached to a running ``ray start --head``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tapstrace.engine import Engine, MemoryRecorder
from tapstrace.errors import UserError
from tapstrace.executors.ray import RayConfig
from tests.executors.cli import check_cli_run
from tests.executors.conftest import free_port
from tests.executors.scenarios import run_scenarios
from tests.tasks import add, identity, ray_get_first

pytestmark = pytest.mark.slow
pytest.importorskip("ray")  # the ray extra


def is_ray_worker_id(worker_id: str) -> bool:
    return len(worker_id) == 56 and all(c in "0123456789abcdef" for c in worker_id)


def test_local_instance_records_every_task(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    # Ray would turn token authentication on and set RAY_AUTH_MODE for the whole test
    # session; the CLI test runs with Ray's defaults.
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    executor = RayConfig(num_cpus=2).build()
    try:
        assert executor.workers() == 2 and not executor.describe()["attached"]
        with pytest.raises(UserError, match="already initialised"):
            RayConfig(num_cpus=1).build()
        recorder = MemoryRecorder()
        run_scenarios(Engine(executor, recorder=recorder), recorder, is_ray_worker_id)
    finally:
        executor.shutdown()
    assert not ray.is_initialized()


def test_parents_stay_in_the_object_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """A child receives its parents as ObjectRefs, also nested: never as client values."""
    import ray

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")

    submitted: list[tuple[object, tuple[object, ...]]] = []
    executor = RayConfig(num_cpus=2).build()
    remote = executor._remote

    class Spy:
        def remote(self, call: object, *refs: object) -> object:
            submitted.append((call, refs))
            return remote.remote(call, *refs)

    executor._remote = Spy()
    with Engine(executor) as engine:
        a = engine.submit(identity, 1)
        b = engine.submit(add, a, 1)
        c = engine.submit(sum, [a, b, b])
        assert c.result(60) == 1 + 2 + 2
        refs_of_c = submitted[-1][1]
        # A call holding an ObjectRef of its own goes through Ray's serialiser, which
        # keeps the object alive for the worker; others go as the adapter's bytes.
        held = engine.submit(ray_get_first, [ray.put(42)])
        assert held.result(60) == 42
        # So does a large call (Ray moves its buffers without copying them).
        assert engine.submit(len, bytes(200_000)).result(60) == 200_000
    assert len(refs_of_c) == 2 and all(isinstance(r, ray.ObjectRef) for r in refs_of_c)
    assert [type(call) for call, _ in submitted[:3]] == [bytes] * 3
    assert not isinstance(submitted[3][0], bytes) and not isinstance(submitted[4][0], bytes)
    assert not ray.is_initialized()


def test_attached_to_a_running_cluster(ray_head: str) -> None:
    import ray

    executor = RayConfig(address=ray_head).build()
    try:
        facts = executor.describe()
        assert facts["attached"] and facts["nodes"] == 1
        assert executor.workers() == 2
        recorder = MemoryRecorder()
        run_scenarios(Engine(executor, recorder=recorder), recorder, is_ray_worker_id)
    finally:
        executor.shutdown()
    assert not ray.is_initialized()
    # The cluster outlives the driver: attach again.
    again = RayConfig(address=ray_head).build()
    with Engine(again) as engine:
        assert engine.submit(add, 1, 2).result(60) == 3


def test_unreachable_address_fails_fast_naming_it() -> None:
    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(UserError) as info:
        RayConfig(address=address, connect_timeout=1).build()
    assert time.monotonic() - start < 10
    assert str(info.value).startswith(f"--executor.address {address}: no Ray cluster answered")


def test_cli_run_records_a_trace(tmp_path: Path, marker: str) -> None:
    check_cli_run(tmp_path, marker, "ray", "--executor.num-cpus", "2")


_FAILING_PARENTS = """
import sys
from tapstrace.engine import DependencyError, Engine
from tapstrace.executors.ray import RayConfig
from tests.tasks import add, fail

with Engine(RayConfig(num_cpus=2).build()) as engine:
    for _ in range(int(sys.argv[1])):
        bad = engine.submit(fail, "x")
        children = [engine.submit(add, bad, 1) for _ in range(4)]
        for future in children + [engine.submit(add, c, 1) for c in children]:
            try:
                future.result(60)
            except DependencyError:
                pass
            else:
                raise SystemExit("a child of a failed task ran ok")
print("survived")
"""


def test_children_of_failing_tasks_do_not_abort_the_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Many failed tasks with launched children: the client process lives (in a
    subprocess, since Ray aborts the process it dies in), and Ray prints no traceback for
    the children's results."""
    import subprocess
    import sys

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.delenv("RAY_IGNORE_UNHANDLED_ERRORS", raising=False)
    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PYTHONPATH", str(root))
    done = subprocess.run(
        [sys.executable, "-c", _FAILING_PARENTS, "300"],
        capture_output=True, text=True, timeout=300, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0 and "survived" in done.stdout, done.stderr[-3000:]
    assert "Check failed" not in done.stderr
    assert "Unhandled error" not in done.stderr, done.stderr[-3000:]
