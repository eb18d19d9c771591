"""Cost of moving task data in band (the executor) or out of band (tapstrace.data).

Each task receives a payload from the client and sends one of the same size back; the
client submits one task at a time and reads the result, so the time per task is a round
trip: client -> worker -> client. Modes: baseline (no transformer), file (pickle files),
proxystore-file and proxystore-redis (a redis-server started on 127.0.0.1 for the run
when one is installed); the filter is ``size`` with min_bytes=1000, so every payload
moves. Prints the median round trip per executor, payload size and mode, and the ratio
to the baseline; saves one trace per combination and a CSV (for ``tapstrace analyze``).

    python benchmarks/data_transfer.py [--executors thread,process] [--tasks 20]
        [--sizes 10000,100000,1000000,10000000] [--out benchmarks/results/data_transfer]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomli_w

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benchmark

from executor_overhead import WORKER_PARAMETER

from tapstrace.engine import Engine
from tapstrace.plugins import registry
from tapstrace.trace import TraceWriter, read_trace
from tapstrace.trace.metadata import environment, trace_metadata

MODES = ("baseline", "file", "proxystore-file", "proxystore-redis")


def echo(payload: Any) -> bytes:
    """Read the whole payload (a lazy proxy fetches here) and return a copy."""
    return bytes(payload)


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    local = Path(sysconfig.get_path("scripts")) / "redis-server"
    return found or (str(local) if local.is_file() else None)


@contextmanager
def redis_server(workdir: Path) -> Iterator[int | None]:
    """A redis-server on 127.0.0.1 and a free port, or None when none is installed."""
    binary = redis_binary()
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def mode_configs(mode: str, redis_port: int | None, workdir: Path) -> tuple[Any, Any]:
    """The (filter, transformer) configs of a mode."""
    if mode == "baseline":
        return None, None
    size = registry.get("filter", "size")(min_bytes=1000)  # type: ignore[call-arg]
    transformer = registry.get("transformer", "file" if mode == "file" else "proxystore")
    if mode == "file":
        return size, transformer(directory=workdir)  # type: ignore[call-arg]
    if mode == "proxystore-file":
        return size, transformer(connector="file", directory=workdir)  # type: ignore[call-arg]
    return size, transformer(connector="redis", redis_port=redis_port)  # type: ignore[call-arg]


def facts(config: Any) -> dict[str, Any] | None:
    """A plugin config as the runner writes it into a trace's metadata."""
    if config is None:
        return None
    return {"name": type(config).name, "params": config.model_dump(mode="json")}


def run_one(
    executor_name: str, workers: int, mode: str, size: int, tasks: int, redis_port: int | None,
    workdir: Path, trace: Path,
) -> dict[str, Any]:  # fmt: skip
    key = WORKER_PARAMETER.get(executor_name)
    params = {key: workers} if key else {}
    executor_config = registry.get("executor", executor_name)(**params)
    filter_config, transformer_config = mode_configs(mode, redis_port, workdir)
    transformer = transformer_config.build() if transformer_config else None
    executor = executor_config.build()
    app = {"name": "data_transfer", "params": {"payload_bytes": size, "tasks": tasks}}
    run_id = uuid.uuid4().hex[:12]
    run = {
        "run_id": run_id,
        "app": app,
        "executor": {**(facts(executor_config) or {}), **executor.describe()},
        "workers": executor.workers(),
        "filter": facts(filter_config),
        "transformer": facts(transformer_config),
        "benchmark": "data_transfer",
        **environment(),
    }  # fmt: skip
    config = {"app": app, "executor": {"name": executor_name, **params}, "mode": mode}
    writer = TraceWriter(trace, trace_metadata(run, tomli_w.dumps(config)), overwrite=True)
    payload = bytes(size)
    times = []
    try:
        with Engine(
            executor, filter=filter_config.build() if filter_config else None,
            transformer=transformer, recorder=writer, run_id=run_id,
        ) as engine:  # fmt: skip
            with engine.warmup():
                for _ in range(3):
                    len(engine.submit(echo, payload).result())
            for _ in range(tasks):
                start = time.perf_counter()
                assert len(engine.submit(echo, payload).result()) == size
                times.append(time.perf_counter() - start)
    finally:
        if transformer is not None:
            transformer.close()
        writer.close()
    recorded = read_trace(trace).tasks
    rows = recorded.filter(~recorded["warmup"])
    return {
        "executor": executor_name,
        "mode": mode,
        "payload_bytes": size,
        "tasks": tasks,
        "median_ms": statistics.median(times) * 1000,
        "p90_ms": sorted(times)[int(0.9 * (len(times) - 1))] * 1000,
        "oob_bytes_per_task": rows["oob_bytes"].mean() if mode != "baseline" else 0,
        "inband_input_bytes_per_task": rows["inband_input_bytes"].mean()
        if mode != "baseline"
        else rows["input_bytes"].mean(),
        "trace": str(trace),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executors", default="thread,process")
    parser.add_argument("--sizes", default="10000,100000,1000000,10000000")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/data_transfer"))
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # local Ray: no token prompt
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.tasks} round trips per cell, {args.workers} workers")  # fmt: skip
    results = []
    workdir = args.out / "scratch"
    workdir.mkdir(exist_ok=True)
    with redis_server(workdir) as port:
        if port is None and "proxystore-redis" in modes:
            print("proxystore-redis skipped: no redis-server installed (docs/data.md)")
            modes.remove("proxystore-redis")
        header = "".join(f"{m:>22}" for m in modes)
        print(f"{'executor':<10}{'payload':>10}{header}   (median round trip ms, x baseline)")
        for executor_name in args.executors.split(","):
            for size in sizes:
                cells = []
                base = None
                for mode in modes:
                    trace = args.out / f"data_transfer-{executor_name}-{mode}-{size}.arrow"
                    result = run_one(executor_name, args.workers, mode, size, args.tasks, port,
                                     workdir, trace)  # fmt: skip
                    results.append(result)
                    ms = result["median_ms"]
                    base = ms if mode == "baseline" else base
                    ratio = f" ({ms / base:.2f}x)" if base and mode != "baseline" else ""
                    cells.append(f"{ms:>12.2f}{ratio:>10}")
                print(f"{executor_name:<10}{size:>10,}{''.join(cells)}")
    shutil.rmtree(workdir, ignore_errors=True)
    with open(args.out / "data_transfer.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    print(f"traces and data_transfer.csv in {args.out}")


if __name__ == "__main__":
    main()
