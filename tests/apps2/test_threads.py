"""Workers run numerical libraries with one thread by default (OMP_NUM_THREADS=1)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tapstrace.apps.threads import VARIABLES, limit_threads
from tapstrace.engine import Engine
from tests.apps2.conftest import needs
from tests.conftest import build_executor

pytestmark = needs("tblite", "threadpoolctl")


def thread_report(threads: int) -> dict[str, Any]:
    """Import an OpenMP library (tblite) and numpy's BLAS, limit, report the pools."""
    import numpy  # noqa: F401
    import tblite.ase  # noqa: F401
    from threadpoolctl import threadpool_info

    before = {i["user_api"]: i["num_threads"] for i in threadpool_info()}
    limit_threads(threads, f"test-{threads}")
    after = {i["user_api"]: i["num_threads"] for i in threadpool_info()}
    return {"env": os.environ.get("OMP_NUM_THREADS"), "before": before, "after": after}


def test_worker_pools_are_limited(engine: Engine) -> None:
    report = engine.submit(thread_report, 1).result()
    assert report["env"] == "1"
    assert {"openmp", "blas"} <= set(report["after"])  # tblite's OpenMP, numpy's BLAS
    assert set(report["after"].values()) == {1}


@pytest.mark.slow
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to see a default pool")
def test_fresh_worker_process_goes_from_all_cores_to_one(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:  # workers start at the first submit and inherit this environment
        monkeypatch.delenv(name, raising=False)
    with Engine(build_executor("process", max_processes=1)) as engine:
        report = engine.submit(thread_report, 1).result()
    assert max(report["before"].values()) > 1
    assert set(report["after"].values()) == {1} and report["env"] == "1"
