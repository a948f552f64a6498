"""Path mappings: one folder seen from qBittorrent, from this worker and from Audiobookshelf.

In containers the three rarely agree: qBittorrent saves to ``/downloads``, the worker mounts the same
share at ``/srv/downloads``, ABS mounts the library at ``/audiobooks`` while the worker writes it at
``/srv/library``. ``MAMC_PATH_MAPPINGS`` states the pairs as the *arr apps do::

    {"qbit_to_worker": [["/downloads", "/srv/downloads"]],
     "worker_to_abs": [["/srv/library", "/audiobooks"]]}

A path is mapped by the longest prefix that matches it on whole path components (``/downloads2``
is not under ``/downloads``); a path no pair matches is the same in both views.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PathMappings", "map_path"]

Pair = tuple[str, str]


def _clean(path: str) -> str:
    return str(PurePosixPath(path)) if path else path


def map_path(path: str, pairs: Sequence[Pair]) -> str:
    """``path`` with the longest matching ``from`` prefix replaced by its ``to``."""
    clean = PurePosixPath(path)
    best: tuple[int, Pair] | None = None
    for source, target in pairs:
        prefix = PurePosixPath(source)
        if (clean == prefix or prefix in clean.parents) and (best is None or len(prefix.parts) > best[0]):
            best = (len(prefix.parts), (source, target))
    if best is None:
        return str(clean)
    source, target = best[1]
    rest = clean.relative_to(PurePosixPath(source))
    return str(PurePosixPath(target) / rest) if rest.parts else str(PurePosixPath(target))


class PathMappings(BaseModel):
    """The two mappings an import needs (``MAMC_PATH_MAPPINGS``); each a list of [from, to] pairs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    qbit_to_worker: list[tuple[str, str]] = Field(default_factory=list)
    worker_to_abs: list[tuple[str, str]] = Field(default_factory=list)

    @field_validator("qbit_to_worker", "worker_to_abs")
    @classmethod
    def _absolute(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for source, target in pairs:
            if not source.startswith("/") or not target.startswith("/"):
                raise ValueError(f"path mapping [{source!r}, {target!r}]: both paths must be absolute")
        return [(_clean(s), _clean(t)) for s, t in pairs]

    def worker_path(self, qbit_path: str) -> str:
        """Where this worker finds a file qBittorrent names."""
        return map_path(qbit_path, self.qbit_to_worker)

    def abs_path(self, worker_path: str) -> str:
        """How Audiobookshelf names a folder this worker wrote."""
        return map_path(worker_path, self.worker_to_abs)
