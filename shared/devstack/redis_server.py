"""A private Redis server for ``mamcrawler up`` and the tests (see :mod:`shared.devstack.server`)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from shared.infra.errors import ConfigError

if TYPE_CHECKING:  # imported lazily at run time: importing this module must stay cheap
    import redis
from shared.devstack.server import (
    _HOST,
    EmbeddedServerError,
    _child_env,
    _EmbeddedServer,
    _pdeathsig_preexec,
    _tail,
)


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
            "# written by MAMcrawler (shared/devstack) on every start; edits are lost\n"
            + "\n".join(self._config_lines()) + "\n"
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
