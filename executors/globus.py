"""Globus Compute executor: tasks run on a remote endpoint through the Globus Compute service.

The engine resolves every dependency on the client, so each task goes to the endpoint as
an independent call with concrete arguments. The plugin submits one fixed function,
:func:`run_task`, with the engine's task call as its argument: the service registers that
function once instead of once per task, and a task that fails comes back as a value, so
its worker report (times, host, sizes) survives the trip that would otherwise turn the
exception into text.

Credentials are checked before anything that could prompt: a run without them stops at
once with one line saying how to log in, never at an interactive login prompt.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import os
import platform
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from pydantic import Field, field_validator

from tapstrace.engine.adapter import Launched, settle_future
from tapstrace.engine.executor import Executor
from tapstrace.errors import UserError
from tapstrace.executors.remote_call import host_pid, run_task
from tapstrace.plugins.config import ExecutorConfig
from tapstrace.plugins.registry import register

if TYPE_CHECKING:
    import globus_sdk

log = logging.getLogger(__name__)

CLIENT_ID_VAR = "GLOBUS_COMPUTE_CLIENT_ID"
CLIENT_SECRET_VAR = "GLOBUS_COMPUTE_CLIENT_SECRET"
AMQP_PORTS = (443, 5671, 5672)


class GlobusError(UserError):
    """Globus Compute cannot be used: missing SDK, credentials or service."""


def stdin_is_terminal() -> bool:
    """Whether a login prompt could be answered (stdin may be closed or redirected)."""
    return sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty()


class GlobusExecutor(Executor):
    """The engine's view of a Globus Compute Executor.

    ``executor`` is a ``globus_compute_sdk.Executor``, or any concurrent.futures executor
    standing in for it (tests run the same submission path on a local one).
    """

    native_dependencies = False

    def __init__(
        self,
        executor: concurrent.futures.Executor,
        *,
        workers: int | None = None,
        facts: dict[str, Any] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.executor = executor
        self._workers = workers
        self._facts = facts or {}
        self._on_shutdown = on_shutdown

    def launch(self, task: Launched, parents: Sequence[Any] = ()) -> Any:
        future = self.executor.submit(run_task, task)
        future.add_done_callback(functools.partial(settle_future, task, returned=True))
        return future

    def cancel(self, handle: Any) -> bool:
        # The SDK cancels tasks it has not sent yet.
        return bool(handle.cancel())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self.executor.shutdown(wait=wait, cancel_futures=cancel_futures)
        finally:
            if self._on_shutdown is not None:
                self._on_shutdown()

    def worker_id_function(self) -> Callable[[], str | None]:
        # The SDK exposes no worker id on the endpoint: host and process of the worker.
        return host_pid

    def workers(self) -> int | None:
        return self._workers

    def describe(self) -> dict[str, Any]:
        return dict(self._facts)


@register("executor")
class GlobusConfig(ExecutorConfig):
    """Globus Compute: tasks run on a remote endpoint through the Globus Compute service.

    Needs an endpoint (``globus-compute-endpoint start``) whose Python environment has
    tapstrace and the app installed, and credentials: GLOBUS_COMPUTE_CLIENT_ID and
    GLOBUS_COMPUTE_CLIENT_SECRET, or tokens from an earlier login (``--executor.login
    true`` once, in a terminal). Task arguments and results pass through the service,
    which limits their size (about 10 MB): move large data with a transformer.
    """

    name: ClassVar[str] = "globus"

    endpoint_id: UUID = Field(
        description="Endpoint to run tasks on (its UUID, from `globus-compute-endpoint list`)."
    )
    batch_size: int = Field(128, ge=1, description="Most tasks sent to the service at once.")
    amqp_port: int | None = Field(
        None, description="Port of the result queue: 443, 5671 or 5672 (default: the service's)."
    )
    task_group_id: UUID | None = Field(
        None, description="Task group to submit into (default: a new one)."
    )
    resource_specification: dict[str, Any] | None = Field(
        None, description="Resources per task, as JSON (for endpoints that honour it)."
    )
    user_endpoint_config: dict[str, Any] | None = Field(
        None, description="Values for a multi-user endpoint's config template, as JSON."
    )
    label: str = Field("tapstrace", description="Label of the Globus Compute Executor.")
    api_burst_limit: int = Field(
        4, ge=1, le=8, description="API calls allowed in a burst before client throttling."
    )
    api_burst_window_s: int = Field(
        16, ge=1, le=32, description="Window in seconds over which bursts are counted."
    )
    workers: int | None = Field(
        None, ge=1, description="Worker slots of the endpoint, written to the trace (unchecked)."
    )
    login: bool = Field(
        False,
        description="Allow an interactive Globus login when no tokens are stored "
        "(needs a terminal; the tokens are kept for later runs).",
    )
    connect_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for the Globus Compute service at start."
    )

    @field_validator("amqp_port")
    @classmethod
    def _known_port(cls, port: int | None) -> int | None:
        if port is not None and port not in AMQP_PORTS:
            raise ValueError(f"must be one of {', '.join(map(str, AMQP_PORTS))}")
        return port

    def executor_options(self) -> dict[str, Any]:
        """Keyword arguments of ``globus_compute_sdk.Executor`` (without the client)."""
        return {
            "endpoint_id": self.endpoint_id,
            "task_group_id": self.task_group_id,
            "resource_specification": self.resource_specification,
            "user_endpoint_config": self.user_endpoint_config,
            "label": self.label,
            "batch_size": self.batch_size,
            "amqp_port": self.amqp_port,
            "api_burst_limit": self.api_burst_limit,
            "api_burst_window_s": self.api_burst_window_s,
        }

    def build(self, run_dir: Path | None = None) -> GlobusExecutor:
        sdk = import_sdk()
        app = globus_app(interactive=self.login)
        try:
            # Offline: the client adds the Compute scopes to the app, so the login check
            # below asks for every token a run needs.
            client = sdk.Client(app=app, do_version_check=False)
            ensure_login(app, interactive=self.login, timeout=self.connect_timeout)
            service = f"the Globus Compute service ({client.web_service_address})"
            _within(self.connect_timeout, client.version_check, service)
            gce = sdk.Executor(client=client, **self.executor_options())
        except BaseException:
            app.close()
            raise
        try:
            _within(self.connect_timeout, lambda: gce.register_function(run_task), service)
        except BaseException:
            gce.shutdown(wait=False, cancel_futures=True)
            app.close()
            raise
        facts = {
            "sdk_version": sdk.__version__,
            "web_service": client.web_service_address,
        }
        return self.wrap(gce, facts=facts, on_shutdown=app.close)

    def wrap(
        self,
        executor: concurrent.futures.Executor,
        *,
        facts: dict[str, Any] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> GlobusExecutor:
        """The engine-side executor around a Globus Compute Executor or a stand-in."""
        return GlobusExecutor(
            executor,
            workers=self.workers,
            facts={"endpoint_id": str(self.endpoint_id), **(facts or {})},
            on_shutdown=on_shutdown,
        )


def import_sdk() -> Any:
    """``globus_compute_sdk``, or a GlobusError saying how to install it."""
    try:
        import globus_compute_sdk
    except ImportError as exc:
        raise GlobusError(
            f"executor 'globus' needs the Globus Compute SDK ({exc}): "
            "pip install 'tapstrace[globus]'"
        ) from None
    return globus_compute_sdk


def _service_url() -> str:
    from globus_compute_sdk.sdk._environments import get_web_service_url

    return str(get_web_service_url())


def _token_file() -> Path:
    from globus_compute_sdk.sdk.compute_dir import get_compute_dir

    return Path(get_compute_dir()) / "storage.db"


def missing_credentials_message() -> str:
    """One line: what is missing and the ways to log in."""
    return (
        f"executor 'globus': no Globus Compute credentials (no {CLIENT_ID_VAR}/"
        f"{CLIENT_SECRET_VAR} and no login tokens in {_token_file()}); set both variables "
        "to a client id and secret, or log in once in a terminal with --executor.login true"
    )


def globus_app(*, interactive: bool = False) -> globus_sdk.GlobusApp:
    """The Globus app the SDK would make, made safe for unattended runs (offline).

    With a client id and secret it is a client app, which never prompts. Otherwise it is a
    user app on the SDK's token storage which, unless ``interactive``, raises a GlobusError
    where the SDK would start an interactive login (tokens missing, expired or revoked).
    """
    import globus_sdk
    from globus_compute_sdk.sdk.auth.globus_app import DEFAULT_CLIENT_ID
    from globus_compute_sdk.sdk.auth.token_storage import get_token_storage

    client_id = os.environ.get(CLIENT_ID_VAR) or None
    client_secret = os.environ.get(CLIENT_SECRET_VAR) or None
    if client_secret and not client_id:
        raise GlobusError(
            f"executor 'globus': {CLIENT_SECRET_VAR} is set but {CLIENT_ID_VAR} is not; "
            "set both for a client identity, or neither to use login tokens"
        )
    if interactive and not stdin_is_terminal():
        raise GlobusError(
            "executor 'globus': --executor.login needs a terminal to answer the login "
            "prompt (stdin is not one); log in from a terminal, or set "
            f"{CLIENT_ID_VAR} and {CLIENT_SECRET_VAR}"
        )
    storage = get_token_storage()
    app_name = platform.node() or "tapstrace"
    if client_id and client_secret:
        config = globus_sdk.GlobusAppConfig(token_storage=storage, request_refresh_tokens=True)
        return globus_sdk.ClientApp(
            app_name=app_name, client_id=client_id, client_secret=client_secret, config=config
        )
    if interactive:
        config = globus_sdk.GlobusAppConfig(token_storage=storage, request_refresh_tokens=True)
    else:
        config = globus_sdk.GlobusAppConfig(
            token_storage=storage,
            request_refresh_tokens=True,
            login_flow_manager=_refusing_login_flow(),
            token_validation_error_handler=None,
        )
    return globus_sdk.UserApp(
        app_name=app_name, client_id=client_id or DEFAULT_CLIENT_ID, config=config
    )


def ensure_login(app: globus_sdk.GlobusApp, *, interactive: bool, timeout: float) -> None:
    """Stop with a GlobusError naming how to log in when ``app`` has no usable tokens.

    Reads the token storage (with tokens present Globus Auth may be asked about
    consents, hence the timeout). A client app gets its tokens without a prompt.
    """
    import globus_sdk

    if isinstance(app, globus_sdk.ClientApp):
        return
    if not _within(timeout, app.login_required, "Globus Auth"):
        return
    if not interactive:
        raise GlobusError(missing_credentials_message())
    try:
        app.login()
    except EOFError:
        raise GlobusError("executor 'globus': login abandoned (no answer to the prompt)") from None


def _refusing_login_flow() -> Any:
    """A login flow provider whose flow raises instead of prompting."""
    from globus_sdk.login_flows import LoginFlowManager

    class RefusingLoginFlow(LoginFlowManager):
        @classmethod
        def for_globus_app(cls, app_name: str, login_client: Any, config: Any) -> RefusingLoginFlow:
            return cls(login_client)

        def run_login_flow(self, auth_parameters: Any) -> Any:
            raise GlobusError(missing_credentials_message())

    return RefusingLoginFlow


def _within(seconds: float, call: Callable[[], Any], what: str) -> Any:
    """Run ``call`` (a request to the service), failing after ``seconds`` or on error.

    The SDK retries unreachable hosts for a while; the daemon thread left behind on a
    timeout dies with the process.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="tapstrace-globus-connect", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise GlobusError(
            f"executor 'globus': no answer from {what} within {seconds:g} s "
            "(raise --executor.connect-timeout, or check the network)"
        )
    error = outcome.get("error")
    if isinstance(error, UserError):
        raise error
    if error is not None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise GlobusError(
            f"executor 'globus': {what} failed: {type(error).__name__}: {first}"
        ) from error
    return outcome.get("value")
