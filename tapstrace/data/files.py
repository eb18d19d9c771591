"""The ``file`` transformer: objects go to pickle files in a shared directory.

Each run gets its own sub-directory (of ``directory``, or of the system's temporary
directory), removed when the run ends. On a cluster, point ``directory`` at a file
system that the client and every worker mount at the same path.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from tapstrace.data.reference import Reference
from tapstrace.errors import ConfigError
from tapstrace.plugins.config import TransformerConfig
from tapstrace.plugins.registry import register


class FileRef(Reference):
    """A pickle file holding the object."""

    __slots__ = ("path",)

    def __init__(self, path: str, stored_bytes: int) -> None:
        super().__init__(stored_bytes)
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (FileRef, (self.path, self.stored_bytes))

    def __repr__(self) -> str:
        return f"FileRef({self.path!r}, {self.stored_bytes})"


class FileTransformer:
    """Writes each object to ``<directory>/<uuid>.pkl`` and reads it back on resolve."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = str(directory)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FileTransformer, (self.directory,))

    def transform(self, obj: Any) -> FileRef:
        path = os.path.join(self.directory, f"{uuid.uuid4().hex}.pkl")
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            size = f.tell()
        return FileRef(path, size)

    def resolve(self, ref: FileRef) -> Any:
        with open(ref.path, "rb") as f:
            return pickle.load(f)

    def close(self) -> None:
        """Remove the run's directory and every file in it."""
        shutil.rmtree(self.directory, ignore_errors=True)


@register("transformer")
class FileTransformerConfig(TransformerConfig):
    """Pickle files in a shared directory, removed at the end of the run."""

    name: ClassVar[str] = "file"

    directory: Path | None = Field(
        None,
        description="Where the run's data directory is made: a path every worker sees "
        "(default: the system's temporary directory).",
    )

    def build(self) -> FileTransformer:
        parent = None if self.directory is None else str(self.directory)
        try:
            if parent is not None:
                os.makedirs(parent, exist_ok=True)
            return FileTransformer(tempfile.mkdtemp(prefix="tapstrace-files-", dir=parent))
        except OSError as exc:
            where = parent or tempfile.gettempdir()
            raise ConfigError(
                f"--transformer.directory {where}: cannot make a data directory there "
                f"({exc.strerror or exc})"
            ) from None
