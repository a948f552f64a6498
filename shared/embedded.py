"""Private PostgreSQL and Redis servers, run as child processes of this Python process.

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
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from shared.errors import ConfigError, MamcError

if TYPE_CHECKING:  # imported lazily at run time: importing this module must stay cheap
    import redis
    from psycopg import sql

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "find_free_port",
    "libpq_dsn",
]

#: Where Debian/Ubuntu install PostgreSQL server binaries (``<version>/bin``); searched after PATH.
PG_LIB_ROOT = Path("/usr/lib/postgresql")

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


def _pg_version(bin_dir: Path) -> int | None:
    """Major version of the ``postgres`` binary in ``bin_dir`` (None if it cannot say)."""
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def _pg_bin_candidates() -> list[Path]:
    """Directories holding both ``initdb`` and ``postgres``: PATH first, then Debian's, newest first."""
    found: list[Path] = []
    on_path = shutil.which("postgres")
    if on_path:
        found.append(Path(os.path.realpath(on_path)).parent)
    versions = []
    for bin_dir in PG_LIB_ROOT.glob("*/bin"):
        try:
            versions.append((float(bin_dir.parent.name), bin_dir))
        except ValueError:  # not a version directory (e.g. a stray "common")
            continue
    found.extend(bin_dir for _, bin_dir in sorted(versions, reverse=True))
    unique: list[Path] = []
    for bin_dir in found:
        if bin_dir not in unique and (bin_dir / "initdb").is_file() and (bin_dir / "postgres").is_file():
            unique.append(bin_dir)
    return unique


class EmbeddedPostgres(_EmbeddedServer):
    """A private PostgreSQL cluster under ``data_dir``, reachable only on 127.0.0.1.

    Layout: ``data_dir/pgdata`` (the cluster), ``data_dir/postgres.log``, ``data_dir/initdb.log``.
    The superuser and the application database are both called ``mamcrawler``; authentication
    is ``trust`` for 127.0.0.1 only and there is no Unix socket, so nothing outside this host
    (and no other socket directory) is involved.

    ``fsync=False`` turns off fsync, synchronous_commit and full_page_writes: safe against a
    killed server (the page cache survives), unsafe against a power cut -- tests only.
    """

    name = "PostgreSQL"
    # "fast" shutdown: disconnects clients and checkpoints; SIGTERM ("smart") would wait for them
    death_signal = signal.SIGINT
    orphan_grace = 5.0
    superuser = "mamcrawler"
    database = "mamcrawler"

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        fsync: bool = True,
        max_connections: int = 200,
        settings: Mapping[str, str] | None = None,
        bin_dir: Path | None = None,
        run_as: str | None = None,
    ) -> None:
        """Locate the binaries now, so a missing install fails at start-up with what to install.

        ``settings`` are extra ``postgres -c name=value`` options; ``bin_dir`` overrides the
        binary search; ``run_as`` is the user to run as when we are root (default ``nobody``).
        """
        super().__init__(data_dir, port, "postgres.log")
        self.pgdata = self.data_dir / "pgdata"
        self.fsync = fsync
        self.max_connections = max_connections
        self.settings = dict(settings or {})
        self.bin_dir = Path(bin_dir) if bin_dir is not None else self._find_bin_dir()
        if os.geteuid() == 0:
            self._uid_gid: tuple[int, int] | None = _lookup_user(run_as or "nobody")
        elif run_as is not None and run_as != pwd.getpwuid(os.geteuid()).pw_name:
            raise ConfigError(f"run_as={run_as!r} needs root; run without it to use the current user")
        else:
            self._uid_gid = None

    # -- URLs --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``mamcrawler`` database (what MAMC_DATABASE_URL would hold)."""
        return self.url_for(self.database)

    @property
    def dsn(self) -> str:
        """libpq/psycopg URL of the ``mamcrawler`` database."""
        return self.dsn_for(self.database)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{self.superuser}@{_HOST}:{self.port}/{dbname}"

    def dsn_for(self, dbname: str) -> str:
        """libpq/psycopg URL of database ``dbname`` on this server."""
        return f"postgresql://{self.superuser}@{_HOST}:{self.port}/{dbname}"

    # -- databases ---------------------------------------------------------------------------

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create an empty database and return its SQLAlchemy URL.

        ``template0`` by default: it is never connected to, so CREATE DATABASE cannot fail with
        "source database is being accessed by other users" the way template1 can.
        """
        from psycopg import sql

        for value in (name, template):
            if not _DB_NAME.match(value):
                raise ValueError(f"database name {value!r}: use letters, digits and _ (max 63)")
        self._admin(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, disconnecting whoever is still connected (WITH (FORCE))."""
        from psycopg import sql

        if not _DB_NAME.match(name):
            raise ValueError(f"database name {name!r}: use letters, digits and _ (max 63)")
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def database_exists(self, name: str) -> bool:
        """True if a database called ``name`` exists."""
        import psycopg

        with psycopg.connect(self.dsn_for("postgres"), autocommit=True, connect_timeout=10) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row is not None

    def _admin(self, statement: sql.Composed) -> None:
        import psycopg

        with psycopg.connect(self.dsn_for("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    # -- hooks -------------------------------------------------------------------------------

    def _find_bin_dir(self) -> Path:
        candidates = _pg_bin_candidates()
        if not candidates:
            raise ConfigError(
                "PostgreSQL server binaries (initdb, postgres) were not found on PATH or in "
                f"{PG_LIB_ROOT}/*/bin; install them with `apt-get install postgresql`, "
                "or set MAMC_DATABASE_URL to use an existing PostgreSQL server instead"
            )
        version_file = self.pgdata / "PG_VERSION"
        if version_file.is_file():  # an existing cluster only opens with its own major version
            wanted = int(version_file.read_text().strip())
            for bin_dir in candidates:
                if _pg_version(bin_dir) == wanted:
                    return bin_dir
            raise ConfigError(
                f"{self.pgdata} was created by PostgreSQL {wanted}, but only "
                f"{', '.join(str(c) for c in candidates)} are installed; install it with "
                f"`apt-get install postgresql-{wanted}` (or upgrade the cluster with pg_upgrade)"
            )
        return candidates[0]

    def _popen(self, cmd: list[str], log: IO[bytes], sig: signal.Signals) -> subprocess.Popen[bytes]:
        """Start ``cmd`` as the unprivileged user (when root), dying with ``sig`` when we die."""
        uid: int | None = None
        gid: int | None = None
        groups: list[int] | None = None  # None: keep ours (we are not root, nothing to drop)
        if self._uid_gid is not None:
            (uid, gid), groups = self._uid_gid, []
        return subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            cwd=self.data_dir,  # our cwd may be unreadable to the unprivileged user (e.g. /root)
            start_new_session=True,
            preexec_fn=_pdeathsig_preexec(sig),
            user=uid,
            group=gid,
            extra_groups=groups,
        )

    def _prepare(self) -> None:
        created = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if created and self._uid_gid is not None:
            self.data_dir.chmod(0o755)
        if self._uid_gid is not None:
            _check_traversable(self.pgdata, *self._uid_gid)
        if not (self.pgdata / "PG_VERSION").is_file():
            self._initdb()

    def _initdb(self) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedServerError(
                f"{self.pgdata} is not empty but holds no cluster (no PG_VERSION): a previous initdb was "
                f"interrupted or the path is wrong; remove it to start afresh"
            )
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self.pgdata.chmod(0o700)
        if self._uid_gid is not None:
            os.chown(self.pgdata, *self._uid_gid)
        log_path = self.data_dir / "initdb.log"
        cmd = [
            str(self.bin_dir / "initdb"),
            "-D", str(self.pgdata),
            "--username", self.superuser,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--locale", "C",  # always available, even on minimal images without generated locales
        ]  # fmt: skip
        if not self.fsync:
            cmd.append("--no-sync")
        with open(log_path, "ab") as log:
            offset = log.tell()
            code = self._popen(cmd, log, signal.SIGKILL).wait()
        if code != 0:
            raise EmbeddedServerError(f"initdb failed with status {code}; log {log_path}:\n{_tail(log_path, offset)}")
        # Only TCP from 127.0.0.1, no password: the cluster is private to this host and user.
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text(
            "# written by shared/embedded.py: trust on 127.0.0.1 only, no Unix socket is opened\n"
            "host    all    all    127.0.0.1/32    trust\n"
        )
        hba.chmod(0o600)
        if self._uid_gid is not None:
            os.chown(hba, *self._uid_gid)

    def _server_settings(self) -> dict[str, str]:
        settings = {
            "listen_addresses": _HOST,
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": str(self.max_connections),
        }
        if not self.fsync:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        settings.update(self.settings)
        return settings

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        cmd = [str(self.bin_dir / "postgres"), "-D", str(self.pgdata)]
        for key, value in self._server_settings().items():
            cmd += ["-c", f"{key}={value}"]
        return self._popen(cmd, log, self.death_signal)

    def _probe(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn_for("postgres"), autocommit=True, connect_timeout=2) as conn:
                row = conn.execute("SHOW data_directory").fetchone()
        except psycopg.OperationalError:  # refused, starting up, in recovery, or not ours (auth)
            return False
        return row is not None and os.path.realpath(row[0]) == os.path.realpath(self.pgdata)

    def _after_ready(self) -> None:
        if not self.database_exists(self.database):
            self.create_database(self.database)

    def _graceful_stop(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        proc.send_signal(signal.SIGINT)  # fast shutdown: abort sessions, checkpoint, exit
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"PostgreSQL did not shut down within {timeout}s (killed); log {self.log_path}:\n"
                f"{_tail(self.log_path, self._log_offset)}"
            ) from None


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class EmbeddedRedis(_EmbeddedServer):
    """A private redis-server under ``data_dir``, configured like production.

    Production settings on purpose (``maxmemory-policy noeviction``, AOF with
    ``appendfsync everysec``): Celery, redbeat and the rate limiter must never have keys
    evicted, and the chaos tests must see the same durability the product gets. With
    ``appendonly=False`` only RDB snapshots remain (SHUTDOWN SAVE still keeps data over a
    clean restart; a SIGKILL loses what was written since the last snapshot). Even with AOF, a
    SIGKILL can lose writes acknowledged in the last ~2 s (see :meth:`wait_aof_written`): that is
    the production guarantee too, and code that must not lose a write has to be idempotent.
    Layout: ``data_dir/redis.conf``, ``redis.log``, ``appendonlydir/``, ``dump.rdb``.
    """

    name = "Redis"
    death_signal = signal.SIGTERM  # Redis' clean shutdown: flushes AOF / saves RDB
    orphan_grace = 0.0

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        appendonly: bool = True,
        *,
        maxmemory: str | None = None,
        settings: Mapping[str, str] | None = None,
        binary: Path | None = None,
    ) -> None:
        """Locate ``redis-server`` now, so a missing install fails at start-up with what to install.

        ``maxmemory`` (e.g. ``"256mb"``) bounds memory, ``settings`` adds raw config directives.
        """
        super().__init__(data_dir, port, "redis.log")
        self.appendonly = appendonly
        self.maxmemory = maxmemory
        self.settings = dict(settings or {})
        self.binary = Path(binary) if binary is not None else self._find_binary()
        self.config_path = self.data_dir / "redis.conf"

    @property
    def url(self) -> str:
        """URL of database 0 (what MAMC_REDIS_URL would hold)."""
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        """URL of logical database ``db``."""
        return f"redis://{_HOST}:{self.port}/{db}"

    def client(self, db: int = 0, *, timeout: float = 10.0, retry: bool = True) -> redis.Redis[bytes]:
        """A redis-py client for database ``db`` (for tests and admin code).

        ``retry=False`` disables redis-py's default retries: probes and SHUTDOWN must fail fast,
        not retry with backoff against a port that is not (or no longer) a Redis server.
        """
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        connect_timeout = min(2.0, timeout)
        if retry:
            return redis.Redis(
                host=_HOST, port=self.port, db=db, socket_connect_timeout=connect_timeout, socket_timeout=timeout
            )
        return redis.Redis(
            host=_HOST,
            port=self.port,
            db=db,
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def wait_aof_written(self, timeout: float = 5.0) -> None:
        """Wait until every write acknowledged so far is in the AOF file (the kernel's page cache).

        Why this exists: with ``appendfsync everysec`` Redis acknowledges a write before writing it
        to the AOF when a background fsync is still running (it postpones the write up to 2 s), so
        a SIGKILL right after a write can lose it. Chaos tests call this before killing Redis when
        they mean to test recovery rather than that window. Returns at once without AOF.
        """
        deadline = time.monotonic() + timeout
        with self.client(timeout=timeout, retry=False) as conn:
            while True:
                info = conn.info("persistence")
                if not info.get("aof_enabled") or info.get("aof_buffer_length", 0) == 0:
                    return
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"Redis still holds {info.get('aof_buffer_length')} bytes of AOF buffer after "
                        f"{timeout}s (slow disk?); log {self.log_path}:\n{_tail(self.log_path, self._log_offset)}"
                    )
                time.sleep(0.01)

    @staticmethod
    def _find_binary() -> Path:
        found = shutil.which("redis-server")
        if found is None:
            raise ConfigError(
                "redis-server was not found on PATH; install it with `apt-get install redis-server`, "
                "or set MAMC_REDIS_URL to use an existing Redis server instead"
            )
        return Path(found)

    def _config_lines(self) -> Sequence[str]:
        lines = [
            f"bind {_HOST}",
            f"port {self.port}",
            "protected-mode yes",
            "daemonize no",
            'logfile ""',  # stdout, which we point at redis.log
            f"dir {_redis_quote(str(self.data_dir))}",
            "dbfilename dump.rdb",
            "maxmemory-policy noeviction",
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            'appenddirname "appendonlydir"',
        ]
        if self.maxmemory:
            lines.append(f"maxmemory {self.maxmemory}")
        lines += [f"{key} {value}" for key, value in self.settings.items()]
        return lines

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        # Rewritten on every start because the port can change between starts.
        self.config_path.write_text(
            "# written by shared/embedded.py on every start; edits are lost\n" + "\n".join(self._config_lines()) + "\n"
        )
        return subprocess.Popen(
            [str(self.binary), str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_child_env(),
            cwd=self.data_dir,
            start_new_session=True,
            preexec_fn=_pdeathsig_preexec(self.death_signal),
        )

    def _probe(self) -> bool:
        import redis

        proc = self._proc
        try:
            with self.client(timeout=1.0, retry=False) as conn:
                info = conn.info("server")
                conn.ping()  # raises BusyLoadingError while the AOF is still being loaded
        except redis.RedisError:  # refused, loading, or a foreign server with a password
            return False
        return proc is not None and info.get("process_id") == proc.pid

    def _graceful_stop(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        import redis

        try:
            with self.client(timeout=timeout, retry=False) as conn:
                conn.shutdown(save=True)  # fsyncs the AOF and writes dump.rdb, then exits
        except redis.RedisError as exc:
            raise EmbeddedServerError(
                f"Redis refused SHUTDOWN SAVE ({exc}); it was killed, data since the last save may be "
                f"lost; log {self.log_path}:\n{_tail(self.log_path, self._log_offset)}"
            ) from exc
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise EmbeddedServerError(
                f"Redis did not exit within {timeout}s of SHUTDOWN SAVE (killed); log {self.log_path}:\n"
                f"{_tail(self.log_path, self._log_offset)}"
            ) from None
