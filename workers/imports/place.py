"""Placing a download in the library folder: hardlinks, a copy only across filesystems, never a move.

Why hardlinks: on a private tracker the files must keep seeding exactly as they are; a move breaks
the torrent and a copy doubles the disk. A hardlink is a second name for the same inode: the
library shares the bytes and the seeding file is not opened for writing, renamed or retagged.
``os.link`` fails with ``EXDEV`` when the two folders are on different filesystems (two mounts,
two Docker volumes on different disks): only then is the file copied, through a hidden temporary
name renamed into place, so ABS (which ignores dotfiles) never scans half a file, and the import
records ``placement: copy``. Any other link error (a filesystem without hardlinks, permissions) is
reported, not papered over with a copy.

Every step is safe to repeat after a kill: a name already linked to the same inode, or a finished
copy (the temporary name is only renamed once complete), counts as placed; a name holding
anything else stops the import (:class:`TargetOccupied`) rather than overwrite it.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from shared.imports.states import Placement
from shared.infra.errors import PermanentError

__all__ = ["SourceFile", "TargetOccupied", "content_files", "place_files", "write_atomically"]

#: Written by the import itself (ABS's format, our values): a torrent's own copy is not linked.
METADATA_NAME = "metadata.json"
_SKIPPED_SUFFIXES = (".!qB", ".parts", ".part")


class TargetOccupied(PermanentError):
    """The library folder already holds another file under a name this import needs."""


class MissingDownload(PermanentError):
    """The download's files are not where the mapped path says."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path  # as this worker sees it
    rel: PurePosixPath  # inside the download (and inside the library folder)


def _wanted(rel: PurePosixPath) -> bool:
    if any(part.startswith(".") for part in rel.parts):
        return False  # hidden files: nothing ABS reads, nothing a library needs
    if rel.name.endswith(_SKIPPED_SUFFIXES):
        return False  # qBittorrent's incomplete and unwanted-piece files
    return rel != PurePosixPath(METADATA_NAME)


def content_files(source: Path) -> list[SourceFile]:
    """The files of a download: the file itself, or every regular file under its folder, sorted."""
    if source.is_file():
        return [SourceFile(source, PurePosixPath(source.name))]
    if not source.is_dir():
        raise MissingDownload(f"the download's files are not at {source}: check MAMC_PATH_MAPPINGS "
                              "(qbit_to_worker) and that this worker mounts the download folder")
    found = []
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = PurePosixPath(path.relative_to(source).as_posix())
            if _wanted(rel):
                found.append(SourceFile(path, rel))
    return found


def _temporary(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.mamc-part")


def _copy(src: Path, dst: Path) -> None:
    tmp = _temporary(dst)
    shutil.copyfile(src, tmp)
    shutil.copystat(src, tmp)
    os.replace(tmp, dst)


def _already_placed(src: Path, dst: Path) -> Placement | None:
    """How ``dst`` was placed by an earlier run, None if it does not exist; TargetOccupied if foreign."""
    try:
        there = dst.lstat()
    except FileNotFoundError:
        return None
    here = src.stat()
    if (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino):
        return Placement.HARDLINK
    if not dst.is_symlink() and dst.is_file() and there.st_size == here.st_size:
        return Placement.COPY  # complete: copies only ever appear under this name once finished
    raise TargetOccupied(f"{dst} already exists and is not this download's file")


def place_one(src: Path, dst: Path) -> Placement:
    earlier = _already_placed(src, dst)
    if earlier is not None:
        return earlier
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return Placement.HARDLINK
    except FileExistsError:  # another delivery of this import linked it meanwhile
        placed = _already_placed(src, dst)
        assert placed is not None
        return placed
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise PermanentError(f"cannot hardlink {src} to {dst}: {exc.strerror} (a copy is made only across "
                                 "filesystems)") from None
    _copy(src, dst)
    return Placement.COPY


def place_files(files: list[SourceFile], target_dir: Path) -> Placement:
    """Link (or, across filesystems, copy) every file under ``target_dir``; how they were placed."""
    if not files:
        raise PermanentError("the download holds no file to place")
    target_dir.mkdir(parents=True, exist_ok=True)
    ways = {place_one(f.path, target_dir.joinpath(*f.rel.parts)) for f in files}
    return Placement.COPY if Placement.COPY in ways else Placement.HARDLINK


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` under a hidden name and rename it into place (ABS never reads half a file).

    A rename replaces the *name*: were ``path`` a hardlink to a seeding file, that file would keep
    its bytes (the link is dropped, the inode untouched)."""
    tmp = _temporary(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
