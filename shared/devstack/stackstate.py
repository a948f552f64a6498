"""Where the stack that ``mamcrawler up`` runs can be reached: a small state file in the data dir.

Why this exists: ``mamcrawler up`` starts its own PostgreSQL and Redis on free ports, so their
URLs are known only to that process and its children. Operator commands run later in another
shell (``mamcrawler apikey create``, ``migrate``, ``config check``) need the same servers. The
supervisor writes ``<data dir>/stack.json`` once the database is migrated and removes it when it
stops cleanly; the CLI reads it when no URL is set, and checks that the stack named there is
still alive (its pid exists and each server's port answers), because a killed stack leaves the
file behind.

What it holds: the supervisor's pid and the URLs of the servers *it started*. Those servers use
``trust`` authentication on 127.0.0.1 and Redis without a password, so their URLs carry no
secret; :func:`write_state` refuses a URL with a password rather than write it in clear. URLs
the operator gave (MAMC_DATABASE_URL, MAMC_REDIS_URL) are never copied here, and an explicit
URL always wins over the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shared.infra.errors import ConfigError

__all__ = ["STATE_FILE", "StackNotRunning", "StackState", "find_running_stack", "remove_state", "write_state"]

STATE_FILE = "stack.json"
_FORMAT = 1
_HOW_TO_START = (
    "start it with `make up` (or `.venv/bin/mamcrawler up`) from the checkout, with the same "
    "MAMC_DATA_DIR, or set MAMC_DATABASE_URL and MAMC_REDIS_URL to use servers of your own"
)


class StackNotRunning(ConfigError):
    """No live ``mamcrawler up`` owns this data dir; the message says what to run or set."""


@dataclass(frozen=True)
class StackState:
    """What ``stack.json`` says: who runs the stack and where its servers listen."""

    path: Path
    pid: int
    started_at: float
    database_url: str | None
    redis_url: str | None


def state_path(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / STATE_FILE


def write_state(data_dir: Path, *, database_url: str | None, redis_url: str | None, pid: int | None = None) -> Path:
    """Atomically write the state file (0600) for the stack run by ``pid`` (default: this process).

    Written to a temporary file then renamed, so a reader never sees half a file.
    """
    for url in (database_url, redis_url):
        if url is not None and urlsplit(url).password:
            raise ValueError("refusing to write a URL with a password into the stack state file")
    path = state_path(data_dir)
    body = {
        "format": _FORMAT,
        "pid": os.getpid() if pid is None else pid,
        "started_at": time.time(),
        "database_url": database_url,
        "redis_url": redis_url,
    }
    tmp = path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(body, fh)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def remove_state(data_dir: Path, pid: int | None = None) -> None:
    """Remove the state file if it names ``pid`` (default: this process).

    Only our own file: a second ``mamcrawler up`` that failed to start on a data dir in use must
    not hide the stack that is running there.
    """
    path = state_path(data_dir)
    state = _read(path)
    if state is not None and state.pid == (os.getpid() if pid is None else pid):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def find_running_stack(data_dir: Path) -> StackState:
    """The live stack whose state file is in ``data_dir``; StackNotRunning says why there is none."""
    path = state_path(data_dir)
    state = _read(path)
    if state is None:
        raise StackNotRunning(
            f"no MAMcrawler stack is running for the data dir {path.parent} (no {path}); {_HOW_TO_START}"
        )
    if not _pid_alive(state.pid):
        raise StackNotRunning(
            f"{path} names the stack of pid {state.pid}, which is no longer running (it was stopped "
            f"without cleaning up, e.g. killed); {_HOW_TO_START}"
        )
    for what, url in (("PostgreSQL", state.database_url), ("Redis", state.redis_url)):
        if url is not None and not _port_answers(url):
            raise StackNotRunning(
                f"the stack of pid {state.pid} ({path}) is running but its {what} on "
                f"{urlsplit(url).hostname}:{urlsplit(url).port} does not answer; if it is still "
                f"starting, try again in a few seconds, otherwise restart it with `make up`"
            )
    return state


def _read(path: Path) -> StackState | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except PermissionError:
        raise ConfigError(
            f"cannot read {path}: it belongs to the user who ran `mamcrawler up`; run this command as that user"
        ) from None
    try:
        raw = json.loads(text)
        return StackState(
            path=path,
            pid=int(raw["pid"]),
            started_at=float(raw["started_at"]),
            database_url=_opt_str(raw.get("database_url")),
            redis_url=_opt_str(raw.get("redis_url")),
        )
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            f"{path} is not a stack state file MAMcrawler can read; remove it and restart the stack with `make up`"
        ) from None


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string or null, got {type(value).__name__}")


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            data = fh.read()
    except OSError:  # no /proc (not Linux) or it exited just now: kill(0) already said it exists
        return True
    return data[data.rfind(")") + 2 :].split(" ", 1)[0] not in ("Z", "X")


def _port_answers(url: str, timeout: float = 2.0) -> bool:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return True
    except OSError:
        return False
