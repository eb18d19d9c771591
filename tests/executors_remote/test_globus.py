"""The globus executor: against the Globus Compute SDK's real classes where they work
offline, and through a local stand-in for the service and endpoint (globus_standin.py).

The Globus Compute cloud service cannot be reached from the test machines, so nothing
here submits to a real endpoint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

gc = pytest.importorskip("globus_compute_sdk")

from globus_compute_sdk.serialize import ComputeSerializer  # noqa: E402

from tapstrace.engine import Engine, MemoryRecorder, TaskFailed  # noqa: E402
from tapstrace.engine.worker import TaskCall, TaskResult, WorkerReport  # noqa: E402
from tapstrace.errors import UserError  # noqa: E402
from tapstrace.executors.globus import (  # noqa: E402
    GlobusConfig,
    GlobusError,
    ensure_login,
    globus_app,
)
from tapstrace.executors.remote_call import host_pid, run_task  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.executors_remote import checks  # noqa: E402
from tests.executors_remote.globus_standin import EndpointStandIn  # noqa: E402
from tests.tasks import add, fail, sleep  # noqa: E402

ENDPOINT = "4b116d3c-1703-4f8f-9f6f-39921e5864df"
CREDENTIAL_VARS = ("GLOBUS_COMPUTE_CLIENT_ID", "GLOBUS_COMPUTE_CLIENT_SECRET")


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No client credentials and an empty Globus Compute directory (token storage)."""
    for var in CREDENTIAL_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "globus-home"
    monkeypatch.setenv("GLOBUS_COMPUTE_USER_DIR", str(home))
    return home


def config(**kw: object) -> GlobusConfig:
    return GlobusConfig(endpoint_id=uuid.UUID(ENDPOINT), **kw)  # type: ignore[arg-type]


# -- the config and the SDK's real Executor -----------------------------------------------


def test_options_build_a_real_sdk_executor() -> None:
    """The options the plugin passes are the ones the SDK's Executor takes and keeps."""
    from globus_sdk.authorizers import NullAuthorizer

    cfg = config(
        batch_size=7,
        amqp_port=5671,
        resource_specification={"num_nodes": 1},
        user_endpoint_config={"queue": "debug"},
        label="tt",
        api_burst_limit=2,
        api_burst_window_s=8,
    )
    client = gc.Client(authorizer=NullAuthorizer(), do_version_check=False)  # offline
    gce = gc.Executor(client=client, **cfg.executor_options())
    try:
        assert str(gce.endpoint_id) == ENDPOINT
        assert (gce.batch_size, gce.amqp_port, gce.label) == (7, 5671, "tt")
        assert gce.resource_specification == {"num_nodes": 1}
        assert gce.user_endpoint_config == {"queue": "debug"}
        assert (gce.api_burst_limit, gce.api_burst_window_s) == (2, 8)
        # A known function id skips the service: the plugin's function is cached as is.
        fid = str(uuid.uuid4())
        assert gce.register_function(run_task, function_id=fid) == fid
        executor = cfg.wrap(gce)
        assert executor.native_dependencies is False
        assert executor.describe()["endpoint_id"] == ENDPOINT
        assert executor.worker_id_function() is host_pid
    finally:
        gce.shutdown(wait=False, cancel_futures=True)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="443, 5671, 5672"):
        config(amqp_port=1234)
    with pytest.raises(ValueError, match="endpoint_id"):
        GlobusConfig(endpoint_id="not-a-uuid")  # type: ignore[arg-type]
    assert config(amqp_port=443).amqp_port == 443


def test_submission_serialises_with_the_sdk() -> None:
    """What the plugin submits (run_task and the task call with its arguments) goes
    through the SDK's default serialiser, by reference to tapstrace's modules."""
    serde = ComputeSerializer()
    assert serde.deserialize(serde.serialize(run_task)) is run_task
    call = TaskCall(add, (1,), {"b": 2}, 3, "fast", host_pid)
    fn, args, kwargs = serde.check_strategies(run_task, call)
    result = fn(*args, **kwargs)
    assert isinstance(result, TaskResult) and result.value == 3
    assert WorkerReport._make(result.report).worker_id == host_pid()
    # A failure is returned, not raised, and survives the result serialiser.
    failed = run_task(TaskCall(fail, ("no",), {}, 4, "fast", host_pid))
    back = serde.deserialize(serde.serialize_from_list(failed, ()))
    assert isinstance(back, TaskFailed) and back.task_id == 4
    assert WorkerReport._make(back.report).started is not None


# -- the dependency-wrapper path on a stand-in for the service and endpoint --------------


@pytest.fixture
def standin_engine() -> Iterator[tuple[Engine, MemoryRecorder, EndpointStandIn]]:
    standin = EndpointStandIn(workers=2)
    recorder = MemoryRecorder()
    engine = Engine(config().wrap(standin), recorder=recorder)
    yield engine, recorder, standin
    engine.shutdown(wait=True, cancel_futures=True)


@pytest.mark.slow
def test_diamond_on_standin(standin_engine: tuple[Engine, MemoryRecorder, EndpointStandIn]) -> None:
    engine, recorder, standin = standin_engine
    checks.check_diamond(engine, recorder)
    assert standin.submitted == 4 and list(standin.functions) == [run_task]  # registered once
    worker_ids = {r.worker_id for r in recorder.records}
    assert all(w and w.count(":") == 1 for w in worker_ids)  # host:pid of the endpoint worker
    assert {r.worker_pid for r in recorder.records} != {os.getpid()}


@pytest.mark.slow
def test_failure_on_standin(standin_engine: tuple[Engine, MemoryRecorder, EndpointStandIn]) -> None:
    checks.check_failure(*standin_engine[:2])


@pytest.mark.slow
def test_payload_on_standin(standin_engine: tuple[Engine, MemoryRecorder, EndpointStandIn]) -> None:
    checks.check_payload(*standin_engine[:2])


@pytest.mark.slow
def test_cancel_on_shutdown_records_every_task() -> None:
    recorder = MemoryRecorder()
    engine = Engine(config().wrap(EndpointStandIn(workers=1)), recorder=recorder)
    assert engine.submit(sleep, 0.1).result(timeout=60) == 0.1
    rest = [engine.submit(sleep, 1) for _ in range(4)]
    engine.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() for f in rest)
    assert sorted(r.status for r in recorder.records) == ["cancelled"] * 4 + ["ok"]


@pytest.mark.slow
def test_random_dag_trace_on_standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the runner: the trace's edges equal the DAG, one record per submission."""
    from tapstrace.executors.thread import ThreadConfig

    # The run builds the plugin's executor around the stand-in instead of the service.
    monkeypatch.setattr(
        GlobusConfig, "build", lambda self, run_dir=None: self.wrap(EndpointStandIn(2))
    )
    app = {"structure": "random", "width": 4, "depth": 3, "mean_seconds": 0.0, "seed": 3}
    remote = checks.run_synthetic(config(workers=2), tmp_path, "globus", **app)
    local = checks.run_synthetic(ThreadConfig(max_threads=2), tmp_path, "thread", **app)
    assert remote.tasks.height == 12
    assert checks.graph(remote).equals(checks.graph(local))
    assert remote.metadata["executor"]["endpoint_id"] == ENDPOINT
    assert remote.metadata["workers"] == 2
    assert remote.tasks["worker_id"].null_count() == 0


# -- credentials: fail fast, never prompt ------------------------------------------------


def test_no_credentials_is_a_user_error(no_credentials: Path) -> None:
    app = globus_app()
    try:
        gc.Client(app=app, do_version_check=False)  # adds the Compute scopes, offline
        with pytest.raises(GlobusError, match="no Globus Compute credentials") as info:
            ensure_login(app, interactive=False, timeout=30)
    finally:
        app.close()
    message = str(info.value)
    assert "\n" not in message
    for hint in (*CREDENTIAL_VARS, "--executor.login true", str(no_credentials / "storage.db")):
        assert hint in message
    assert isinstance(info.value, UserError)


def test_stored_tokens_pass_the_check_and_a_later_login_raises(no_credentials: Path) -> None:
    """With tokens stored, the check passes offline; if the service later wants a new
    login (expired or revoked tokens), the app raises instead of prompting."""
    from globus_compute_sdk.sdk.auth.token_storage import get_token_storage
    from globus_sdk.token_storage import TokenStorageData

    app = globus_app()
    try:
        gc.Client(app=app, do_version_check=False)
        far = int(time.time()) + 86400
        storage = get_token_storage()  # the SDK's own storage, as a login would fill it
        identity = str(uuid.uuid4())
        for server, scopes in app._scope_requirements.items():
            storage.store_token_data_by_resource_server(
                {
                    server: TokenStorageData(
                        resource_server=server,
                        identity_id=identity,
                        scope=" ".join(sorted({str(s) for s in scopes})),
                        access_token="access",
                        refresh_token="refresh",
                        expires_at_seconds=far,
                        token_type="Bearer",
                    )
                }
            )
        storage.close()
        ensure_login(app, interactive=False, timeout=30)  # no error: tokens are there
        with pytest.raises(GlobusError, match="no Globus Compute credentials"):
            app.login(force=True)  # where the SDK would prompt
    finally:
        app.close()


def test_secret_without_id(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLOBUS_COMPUTE_CLIENT_SECRET", "s3cret")
    with pytest.raises(GlobusError, match="GLOBUS_COMPUTE_CLIENT_ID is not"):
        globus_app()


def test_client_credentials_make_a_client_app(
    no_credentials: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import globus_sdk

    monkeypatch.setenv("GLOBUS_COMPUTE_CLIENT_ID", str(uuid.uuid4()))
    monkeypatch.setenv("GLOBUS_COMPUTE_CLIENT_SECRET", "s3cret")
    app = globus_app()
    try:
        assert isinstance(app, globus_sdk.ClientApp)
        ensure_login(app, interactive=False, timeout=1)  # a client app never prompts
    finally:
        app.close()


def test_login_needs_a_terminal(no_credentials: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", None)  # as in a process started with stdin closed
    with pytest.raises(GlobusError, match="needs a terminal"):
        globus_app(interactive=True)


def _cli(tmp_path: Path, *args: str, closed_stdin: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    env["GLOBUS_COMPUTE_USER_DIR"] = str(tmp_path / "globus-home")
    command = [sys.executable, "-m", "tapstrace", "run", "synthetic", "--executor", "globus",
               "--executor.endpoint-id", ENDPOINT, "--record", *args]  # fmt: skip
    if closed_stdin:  # file descriptor 0 closed, not merely empty
        command = ["sh", "-c", 'exec "$@" 0<&-', "sh", *command]
    return subprocess.run(
        command,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdin=None if closed_stdin else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.parametrize("closed_stdin", [True, False], ids=["stdin-closed", "stdin-devnull"])
@pytest.mark.parametrize("extra", [[], ["--executor.login", "true"]], ids=["plain", "login"])
def test_cli_without_credentials_fails_fast(
    tmp_path: Path, closed_stdin: bool, extra: list[str]
) -> None:
    started = time.monotonic()
    result = _cli(tmp_path, *extra, closed_stdin=closed_stdin)
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tapstrace: error: executor 'globus': ")
    assert ("needs a terminal" if extra else "no Globus Compute credentials") in lines[0]
    assert not (tmp_path / "traces").exists()  # no trace begun
    assert elapsed < 30, elapsed  # bound for a hang, not a performance figure
