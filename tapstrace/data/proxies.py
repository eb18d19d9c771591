"""The ``proxystore`` transformer: objects go to a ProxyStore Store and travel as proxies.

The Store's connector is chosen in the config: ``file`` (a shared directory), ``redis``
(a Redis server every worker reaches) or ``local`` (this process's memory: the thread
executor only, for tests). Workers rebuild the Store from its config, as ProxyStore's
own factories do. With ``lazy`` (the default) a task receives a ProxyStore Proxy that
fetches its object on first use; otherwise the worker fetches it before the call, and
the time shows as resolve_seconds in the trace.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from tapstrace.data.reference import Reference
from tapstrace.engine.sizes import register_opaque
from tapstrace.errors import ConfigError
from tapstrace.plugins.config import TransformerConfig
from tapstrace.plugins.registry import register

if TYPE_CHECKING:
    from proxystore.store import Store
    from proxystore.store.config import StoreConfig

#: Redis keys are deleted in batches of this many when the run ends.
EVICT_BATCH = 1000


def _as_is(data: bytes) -> bytes:
    """Serializer for bytes that were already serialised (so their length is known)."""
    return data


class ProxyRef(Reference):
    """A ProxyStore proxy of the object. Pickling it pickles only the proxy's factory."""

    __slots__ = ("proxy",)

    def __init__(self, proxy: Any, stored_bytes: int) -> None:
        super().__init__(stored_bytes)
        self.proxy = proxy

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProxyRef, (self.proxy, self.stored_bytes))

    def __repr__(self) -> str:
        return f"ProxyRef({self.stored_bytes} bytes)"


def _worker_side(config: StoreConfig, lazy: bool, redis: tuple[str, int] | None) -> Any:
    return ProxyStoreTransformer(config, lazy, redis, owner=False)


class ProxyStoreTransformer:
    """Puts objects in a ProxyStore Store and resolves the proxies it made.

    The instance built on the client owns the Store: it registers it, remembers the
    Redis keys that the run created (its own and those in the results it received) and
    removes them in ``close``. Copies sent to workers get the Store from ProxyStore's
    registry, or rebuild it from its config.
    """

    def __init__(
        self,
        config: StoreConfig,
        lazy: bool = True,
        redis: tuple[str, int] | None = None,
        *,
        owner: bool = True,
    ) -> None:
        self.config = config
        self.lazy = lazy
        self.redis = redis
        self.owner = owner
        self._store: Store[Any] | None = None
        self._keys: list[str] = []
        from proxystore.proxy import Proxy

        register_opaque(Proxy)  # measuring a proxy's size must not fetch its target

    def __reduce__(self) -> tuple[Any, ...]:
        return (_worker_side, (self.config, self.lazy, self.redis))

    @property
    def store(self) -> Store[Any]:
        """The Store (from ProxyStore's registry, or rebuilt from its config)."""
        if self._store is None:
            from proxystore.store import get_or_create_store

            self._store = get_or_create_store(self.config, register=True)
        return self._store

    def transform(self, obj: Any) -> ProxyRef:
        store = self.store
        data = store.serializer(obj)
        proxy = store.proxy(data, serializer=_as_is, populate_target=False)
        if self.owner:
            self._remember(proxy)
        return ProxyRef(proxy, len(data))

    def resolve(self, ref: ProxyRef) -> Any:
        from proxystore.proxy import extract

        if self.owner:
            self._remember(ref.proxy)
        if self.lazy:
            return ref.proxy
        return extract(ref.proxy)

    def _remember(self, proxy: Any) -> None:
        if self.redis is None:
            return
        from proxystore.store.utils import get_key

        key: Any = get_key(proxy)  # a RedisKey
        self._keys.append(key.redis_key)

    def close(self) -> None:
        """Delete the run's Redis keys (or its store directory) and close the Store."""
        if not self.owner:
            return
        if self.redis is not None and self._keys:
            import redis

            client = redis.Redis(host=self.redis[0], port=self.redis[1])
            try:
                for start in range(0, len(self._keys), EVICT_BATCH):
                    client.delete(*self._keys[start : start + EVICT_BATCH])
            finally:
                client.close()
            self._keys.clear()
        self.store.close()


@register("transformer")
class ProxyStoreTransformerConfig(TransformerConfig):
    """A ProxyStore Store (file, redis or local connector); tasks get lazy proxies."""

    name: ClassVar[str] = "proxystore"

    connector: Literal["file", "redis", "local"] = Field(
        "file",
        description="Where objects go: file (a shared directory), redis (a Redis server), "
        "local (this process's memory: thread executor only).",
    )
    directory: Path | None = Field(
        None,
        description="Where the run's data directory is made: a path every worker sees "
        "(default: the system's temporary directory).",
    )
    redis_host: str = Field("127.0.0.1", description="redis connector: the server's host.")
    redis_port: int = Field(6379, ge=1, le=65535, description="redis connector: its port.")
    redis_timeout: float = Field(
        5.0, gt=0, description="redis connector: seconds to wait for the server at start."
    )
    lazy: bool = Field(
        True,
        description="Tasks get proxies that fetch on first use (true) or the fetched "
        "objects (false: fetch time shows as resolve_seconds).",
    )
    cache_size: int = Field(
        16, ge=0, description="Objects each process keeps in ProxyStore's cache (0: none)."
    )

    def build(self) -> ProxyStoreTransformer:
        try:
            from proxystore.store import Store
        except ImportError:
            raise ConfigError(
                "--transformer proxystore needs ProxyStore: pip install 'tapstrace[data]'"
            ) from None
        redis = None
        if self.connector == "redis":
            redis = (self.redis_host, self.redis_port)
            connector: Any = self._redis()
        elif self.connector == "file":
            connector = self._file()
        else:
            from proxystore.connectors.local import LocalConnector

            connector = LocalConnector()
        store: Store[Any] = Store(
            f"tapstrace-{uuid.uuid4().hex[:12]}",
            connector,
            cache_size=self.cache_size,
            populate_target=False,
            register=True,
        )
        transformer = ProxyStoreTransformer(store.config(), self.lazy, redis)
        transformer._store = store
        return transformer

    def _file(self) -> Any:
        from proxystore.connectors.file import FileConnector

        parent = None if self.directory is None else str(self.directory)
        try:
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
            path = tempfile.mkdtemp(prefix="tapstrace-proxystore-", dir=parent)
        except OSError as exc:
            where = parent or tempfile.gettempdir()
            raise ConfigError(
                f"--transformer.directory {where}: cannot make a data directory there "
                f"({exc.strerror or exc})"
            ) from None
        return FileConnector(path, clear=True)

    def _redis(self) -> Any:
        import redis
        from proxystore.connectors.redis import RedisConnector
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        address = f"{self.redis_host}:{self.redis_port}"
        client = redis.Redis(
            host=self.redis_host,
            port=self.redis_port,
            socket_connect_timeout=self.redis_timeout,
            socket_timeout=self.redis_timeout,
            retry=Retry(NoBackoff(), 0),  # one try: the timeout is the user's bound
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            raise ConfigError(
                f"--transformer.redis-host/--transformer.redis-port: cannot reach Redis at "
                f"{address} ({exc}); start redis-server there (docs/data.md)"
            ) from None
        finally:
            client.close()
        return RedisConnector(self.redis_host, self.redis_port)
