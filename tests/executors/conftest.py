"""Real localhost clusters for the executor tests, and a check that none outlives its test.

Every process a test starts (cluster daemons, CLI runs) carries a marker in its
environment, inherited by its children; ``leftovers(marker)`` finds survivors by it, so
other sessions' processes on the machine are never mistaken for ours, nor touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")  # installed with the dask and ray extras

MARK = "TAPSTRACE_TEST_MARK"
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def marked_env(marker: str, **extra: str) -> dict[str, str]:
    """This process's environment plus the marker (and ``extra``)."""
    return {**os.environ, MARK: marker, **extra}


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:150]}"
    except psutil.Error:
        return str(proc.pid)


def marked(marker: str, cwd: Path | None = None) -> list[psutil.Process]:
    """Live processes carrying ``marker`` in their environment, or working in ``cwd``.

    A process that rewrites its title (Parsl's interchange: setproctitle) clobbers its
    environment: find it by its working directory, or with :func:`family` while its
    parent runs.
    """
    found = []
    for proc in psutil.process_iter():
        try:
            mine = proc.environ().get(MARK) == marker
            if not mine and cwd is not None:
                mine = Path(proc.cwd()).is_relative_to(cwd)
            if mine and _alive(proc):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def family(pid: int) -> list[psutil.Process]:
    """A live process and all its descendants."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def leftovers(
    marker: str, known: Sequence[psutil.Process] = (), cwd: Path | None = None
) -> list[str]:
    """A test's processes still alive: marked ones, ones in ``cwd``, and ``known`` ones."""
    alive = {p.pid: p for p in known if _alive(p)}
    alive.update((p.pid, p) for p in marked(marker, cwd))
    return [_describe(p) for p in alive.values()]


def wait_no_leftovers(
    marker: str,
    known: Sequence[psutil.Process] = (),
    cwd: Path | None = None,
    timeout: float = 15.0,
) -> list[str]:
    """Leftovers still there after ``timeout`` seconds (processes may take a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(marker, known, cwd)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def stop_tree(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 20) -> None:
    """Stop a process we started and all its descendants, by pid: TERM, then KILL."""
    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    _, alive = psutil.wait_procs(family, timeout=5)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=5)


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture
def marker() -> str:
    return f"tt-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1: the address."""
    marker = f"tt-dask-{uuid.uuid4().hex[:8]}"
    env = marked_env(marker, PYTHONPATH=str(ROOT))  # workers import tests.tasks
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    workdir = tmp_path_factory.mktemp("dask-cluster")
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env=env,
            cwd=workdir,
            **quiet,
        )
    ]
    try:
        wait_port(port, procs[0])
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [*dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                     "--host", "127.0.0.1", "--name", f"w{i}", "--no-nanny",
                     "--local-directory", str(workdir / f"w{i}")],
                    env=env,
                    cwd=workdir,
                    **quiet,
                )
            )  # fmt: skip
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            stop_tree(proc)
        assert not wait_no_leftovers(marker, timeout=5)


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """``ray start --head --block`` on 127.0.0.1 with free ports: its address.

    Stopped by signalling that process (it stops what it started), never by ``ray stop``,
    which would stop every Ray instance on the machine. Token authentication is off for
    the head and the driver (RAY_AUTH_MODE=disabled).
    """
    marker = f"tt-ray-{uuid.uuid4().hex[:8]}"
    ports = {
        name: free_port()
        for name in (
            "port", "ray-client-server-port", "node-manager-port", "object-manager-port",
            "dashboard-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
            "runtime-env-agent-port", "metrics-export-port",
        )
    }  # fmt: skip
    # Ray's socket paths must stay short: a temp dir of its own right under /tmp.
    temp_dir = tempfile.mkdtemp(prefix="tt-ray-")
    ray = str(Path(sys.executable).with_name("ray"))
    args = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=2",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
            *(f"--{name}={port}" for name, port in ports.items())]  # fmt: skip
    previous = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = marked_env(
        marker, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(ROOT)
    )
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_port(ports["port"], proc, timeout=90)
        yield f"127.0.0.1:{ports['port']}"
    finally:
        stop_tree(proc, timeout=40)
        if previous is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = previous
        left = wait_no_leftovers(marker, timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not left
