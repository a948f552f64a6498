"""
Why this exists: ``mamcrawler up`` must work on a single machine without an operator setting up
a database and a broker first, and the test-suite needs real servers it can kill -9 and
restart (fakeredis and SQLite do not crash the way the real things do). Both use this module,
so the product and the tests exercise the same start-up, shutdown and recovery code.

Design decisions, each with its reason:

* Servers are direct children (no ``pg_ctl``, no ``daemonize``): we keep the real PID, so
  ``kill()`` is a genuine SIGKILL of the postmaster / redis-server, and the kernel's
  parent-death signal (``prctl(PR_SET_PDEATHSIG)``) stops them when we die, even by SIGKILL.
  Caveat: Linux delivers that signal when the *thread* that started the server exits, so
  start servers from the main thread (or one that lives as long as the servers).
* They run in their own session, so a Ctrl-C in the terminal reaches only our process, which
  then stops the servers in order instead of having them die under the workers.
* PostgreSQL refuses to run as root. When we are root it runs as an unprivileged user
  (``nobody`` by default) and every parent directory of its data directory must be
  traversable by that user; we check that up front because PostgreSQL's own error
  ("could not change directory") does not say which directory is the problem.
* Ports are chosen free when not given, and the choice is re-checked after start: the server
  must answer on the port *and* prove it is ours (Redis reports our PID, PostgreSQL our data
  directory). A lost race for the port picks another one, up to a few times.
* Logs go to files in the data directory; every start-up error carries the tail of the log
  written by that start-up, because "did not start" alone is useless.
* Child processes get ``LC_ALL=C`` so their messages are English and we can recognise
  "Address already in use" whatever the machine's locale.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import glob
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from shared.infra.errors import ConfigError, MamcError

if TYPE_CHECKING:  # imported lazily at run time: importing this module must stay cheap
    pass

_HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_PORT_ATTEMPTS = 5
_LOG_TAIL_LINES = 40
_ADDRESS_IN_USE = re.compile(r"address already in use", re.IGNORECASE)
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class EmbeddedServerError(MamcError):
    """An embedded server did not start, stop or answer; the message carries its log tail."""


def find_free_port(host: str = _HOST) -> int:
    """Return a TCP port that was free a moment ago on ``host``.

    Only a hint: another process can take it before our server binds, which is why
    ``start()`` re-checks and retries with a new port when the port was chosen for us.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def libpq_dsn(url: str) -> str:
    """Turn a SQLAlchemy URL (``postgresql+psycopg://...``) into a libpq one psycopg accepts.

    The product passes SQLAlchemy URLs around (MAMC_DATABASE_URL); tests and admin code that
    talk to psycopg directly need the plain ``postgresql://`` form.
    """
    return re.sub(r"^postgresql\+[a-z0-9_]+://", "postgresql://", url)


# --------------------------------------------------------------------------------------------
# process plumbing shared by both servers
# --------------------------------------------------------------------------------------------


def _pdeathsig_preexec(sig: signal.Signals) -> Callable[[], None] | None:
    """Build a ``preexec_fn`` that makes the child receive ``sig`` when its parent dies.

    Runs after ``subprocess`` switched user (setreuid happens before preexec_fn), which matters:
    the kernel clears the parent-death signal on credential changes. Returns None off Linux,
    where there is no such mechanism and the caller must stop servers explicitly.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork: nothing to load in the child
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # parent died between fork and prctl: nobody would stop us
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _child_env() -> dict[str, str]:
    """A minimal environment: PATH plus the C locale (English, parseable log messages).

    Deliberately drops PG* variables (PGDATA, PGPORT...) a developer may have exported for
    another cluster: they would silently change what initdb/postgres do.
    """
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}


def _children_of(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (Linux /proc scan; empty elsewhere)."""
    found: list[int] = []
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat_path, encoding="ascii", errors="replace") as fh:
                data = fh.read()
        except OSError:  # the process exited while we were scanning: not a child any more
            continue
        # "pid (comm) state ppid ..." -- comm may contain spaces and parentheses, so split at the last ')'
        fields = data[data.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(data.split(" ", 1)[0]))
    return found


def _alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (orphans are reaped by init, not by us)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            data = fh.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # exists but unreadable: assume alive, the caller escalates to SIGKILL anyway
    return data[data.rfind(")") + 2 :].split(" ", 1)[0] not in ("Z", "X")


def _tail(path: Path, offset: int = 0, lines: int = _LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``path`` written after byte ``offset`` (this start-up's output)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else f"(log {path} is empty)"


def _lookup_user(name: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ConfigError(
            f"user {name!r} does not exist; PostgreSQL refuses to run as root, so the embedded server "
            f"needs an unprivileged user: create it or pass run_as=<existing user>"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _check_traversable(path: Path, uid: int, gid: int) -> None:
    """Fail with a precise message if ``uid``/``gid`` (no supplementary groups) cannot reach ``path``.

    Why: pytest's tmp dirs and /root are 0700, and PostgreSQL's own error names no directory.
    Checks mode bits only (ACLs would be ignored), which is what matters on the machines we run on.
    """
    for parent in reversed(path.resolve().parents):
        st = parent.stat()
        if st.st_uid == uid:
            ok = bool(st.st_mode & stat.S_IXUSR)
        elif st.st_gid == gid:
            ok = bool(st.st_mode & stat.S_IXGRP)
        else:
            ok = bool(st.st_mode & stat.S_IXOTH)
        if not ok:
            raise ConfigError(
                f"{parent} (mode {stat.filemode(st.st_mode)}) is not traversable by uid {uid}, which runs "
                f"the embedded PostgreSQL; put the data directory {path} under a world-traversable "
                f"parent (e.g. /var/lib/mamcrawler or /tmp) or `chmod o+x {parent}`"
            )


class _EmbeddedServer(abc.ABC):
    """Start/stop/kill/restart plumbing shared by both servers; subclasses supply the specifics."""

    #: name used in messages
    name = "server"
    #: signal the server gets when we die: each server's clean-but-quick shutdown
    death_signal = signal.SIGTERM
    #: how long orphaned children of a SIGKILLed server get to exit on their own
    orphan_grace = 0.0

    def __init__(self, data_dir: Path, port: int | None, log_name: str) -> None:
        self.data_dir = Path(data_dir).absolute()
        self._auto_port = port is None
        self.port: int = port if port is not None else find_free_port()
        self.log_path = self.data_dir / log_name
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        #: wall-clock seconds the last successful ``start()`` took (initdb included)
        self.last_start_seconds: float | None = None

    # -- hooks -------------------------------------------------------------------------------

    def _prepare(self) -> None:  # noqa: B027 - optional hook: most servers need no preparation
        """Create directories / initialise on first run."""

    @abc.abstractmethod
    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        """Start the server process (each subclass knows its command line)."""

    @abc.abstractmethod
    def _probe(self) -> bool:
        """True when the server on ``self.port`` answers and is ours."""

    def _after_ready(self) -> None:  # noqa: B027 - optional hook
        """Run once the server answers (e.g. create the application database)."""

    @abc.abstractmethod
    def _graceful_stop(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        """Ask the server to shut down cleanly (SHUTDOWN SAVE, pg_ctl stop -m fast...)."""

    # -- public API --------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """PID of the running server process, None when it is not running."""
        return self._proc.pid if self.is_running() and self._proc is not None else None

    def is_running(self) -> bool:
        """True while the server process we started is alive (it may still be starting)."""
        return self._proc is not None and self._proc.poll() is None

    def ping(self) -> bool:
        """True when the server answers on its port and is ours; never raises."""
        return self.is_running() and self._probe()

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers; a no-op if it is already running.

        Raises EmbeddedServerError (with the log tail) if it exits or does not answer within
        ``timeout`` seconds, ConfigError if binaries or permissions are missing.
        """
        if self.is_running():
            return
        began = time.monotonic()
        deadline = began + timeout
        self._prepare()
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            outcome = self._start_once(deadline)
            if outcome == "ready":
                self._after_ready()
                self.last_start_seconds = time.monotonic() - began
                return
            # outcome == "port in use"
            if not self._auto_port or attempt == _PORT_ATTEMPTS:
                raise EmbeddedServerError(
                    f"{self.name} could not bind {_HOST}:{self.port} (address already in use"
                    f"{f', gave up after {attempt} ports' if self._auto_port else ''}); "
                    f"log {self.log_path}:\n"
                    f"{_tail(self.log_path, self._log_offset)}"
                )
            self.port = find_free_port()
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down cleanly (data kept); a no-op if it is not running."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self._proc = None
            return
        try:
            self._graceful_stop(proc, timeout)
        finally:
            if proc.poll() is None:  # graceful stop failed or timed out: do not leave it behind
                self._kill_tree(proc)
            self._proc = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would; data files are left as they are."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._kill_tree(proc)
        self._proc = None

    def restart(self, timeout: float = 60.0) -> None:
        """Clean stop then start on the same port (URLs handed out stay valid)."""
        self.stop()
        self.start(timeout)

    def ensure_running(self, timeout: float = 60.0) -> None:
        """Bring the server back if a test (or a crash) killed it or it stopped answering."""
        if self.ping():
            return
        if self.is_running():  # alive but deaf: treat as crashed
            self.kill()
        self.start(timeout)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The end of the server log (all runs); handy in assertion messages."""
        return _tail(self.log_path, 0, lines)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running() else "stopped"
        return f"<{type(self).__name__} {_HOST}:{self.port} {state} data_dir={self.data_dir}>"

    # -- internals ---------------------------------------------------------------------------

    def _start_once(self, deadline: float) -> str:
        """Spawn once and wait; returns "ready" or "port in use", raises on anything else."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            proc = self._spawn(log)  # the child keeps its own copy of the fd
        self._proc = proc
        while True:
            code = proc.poll()
            if code is not None:
                self._proc = None
                text = _tail(self.log_path, self._log_offset)
                if _ADDRESS_IN_USE.search(text):
                    return "port in use"
                raise EmbeddedServerError(
                    f"{self.name} exited with status {code} during start-up; log {self.log_path}:\n{text}"
                )
            if time.monotonic() > deadline:  # checked after poll(): a probe can outlast the deadline
                self._kill_tree(proc)
                self._proc = None
                raise EmbeddedServerError(
                    f"{self.name} did not answer on {_HOST}:{self.port} in time; log {self.log_path}:\n"
                    f"{_tail(self.log_path, self._log_offset)}"
                )
            if self._probe():
                return "ready"
            time.sleep(0.02)

    def _kill_tree(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL ``proc``; give its orphans ``orphan_grace`` seconds to notice, then SIGKILL them.

        Why the orphans matter: PostgreSQL backends outlive a SIGKILLed postmaster briefly and
        keep its shared memory attached; a restart before they are gone fails with
        "pre-existing shared memory block is still in use".
        """
        orphans = _children_of(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        deadline = time.monotonic() + self.orphan_grace
        while orphans and time.monotonic() < deadline:
            orphans = [pid for pid in orphans if _alive(pid)]
            if orphans:
                time.sleep(0.02)
        for pid in orphans:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while any(_alive(pid) for pid in orphans) and time.monotonic() < deadline:
            time.sleep(0.02)


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------
