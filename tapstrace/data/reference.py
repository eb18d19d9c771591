"""References: the small objects that travel through the executor in place of data
that a transformer moved out of band."""

from __future__ import annotations

from typing import Any, Protocol


class Reference:
    """Base class of every transformer's reference.

    ``stored_bytes`` is how many bytes the referenced object takes in the out-of-band
    store (the pickle file, the ProxyStore entry): the worker counts it as bytes moved
    out of band when it resolves the reference. The attribute is deliberately not called
    ``nbytes``, so that size measurement (tapstrace.engine.sizes) counts a reference as
    the small object it is, not as the data behind it.
    """

    __slots__ = ("stored_bytes",)

    def __init__(self, stored_bytes: int) -> None:
        self.stored_bytes = stored_bytes


class Transformer(Protocol):
    """What a transformer plugin builds (``TransformerConfig.build()``).

    It must be picklable: it travels to the workers inside the DataManager, where it
    resolves arguments and transforms results. ``close`` is called once, by the process
    that built it, when the run ends.
    """

    def transform(self, obj: Any) -> Reference:
        """Store ``obj`` out of band; return a reference to it."""
        ...

    def resolve(self, ref: Any) -> Any:
        """The object behind ``ref`` (or a lazy stand-in that fetches it on first use)."""
        ...

    def close(self) -> None:
        """Remove what this transformer stored (files, keys, directories)."""
        ...
