"""A private PostgreSQL cluster for ``mamcrawler up`` and the tests (see :mod:`shared.devstack.server`).

PostgreSQL refuses to run as root: as root it runs as an unprivileged user, and every parent
directory of its data directory must be traversable by that user (checked up front).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from shared.infra.errors import ConfigError

if TYPE_CHECKING:  # imported lazily at run time: importing this module must stay cheap
    from psycopg import sql
from shared.devstack.server import (
    _DB_NAME,
    _HOST,
    EmbeddedServerError,
    _check_traversable,
    _child_env,
    _EmbeddedServer,
    _lookup_user,
    _pdeathsig_preexec,
    _tail,
)

#: Where Debian/Ubuntu install PostgreSQL server binaries (``<version>/bin``); searched after PATH.
PG_LIB_ROOT = Path("/usr/lib/postgresql")


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
            "# written by MAMcrawler (shared/devstack): trust on 127.0.0.1 only, no Unix socket is opened\n"
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
