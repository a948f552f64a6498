"""Real PostgreSQL and Redis started by shared/devstack/: start, connect, crash, recover.

These start real servers (about a second each) and SIGKILL them on purpose: they are what
tells us ``mamcrawler up`` and the chaos tests can rely on the durability we claim.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from shared.devstack import postgres_server
from shared.devstack import server as devserver
from shared.devstack.postgres_server import EmbeddedPostgres
from shared.devstack.redis_server import EmbeddedRedis
from shared.devstack.server import EmbeddedServerError, libpq_dsn
from shared.infra.errors import ConfigError

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

Starter = Callable[[EmbeddedPostgres | EmbeddedRedis], None]


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A per-test directory PostgreSQL can reach when it runs as ``nobody`` (tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mamc-embedded-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.fixture
def started() -> Iterator[Starter]:
    """Start servers for one test and make sure none outlives it, whatever the test did."""
    servers: list[EmbeddedPostgres | EmbeddedRedis] = []

    def start(server: EmbeddedPostgres | EmbeddedRedis) -> None:
        servers.append(server)
        server.start()

    yield start
    for server in servers:
        server.kill()


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not devserver._alive(pid):
            return True
        time.sleep(0.05)
    return False


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


@pytest.mark.chaos
def test_postgres_keeps_committed_data_over_clean_restart_and_sigkill(world_dir: Path, started: Starter) -> None:
    pg = EmbeddedPostgres(world_dir / "pg")  # product settings: fsync on
    started(pg)
    port, url = pg.port, pg.url
    assert url == f"postgresql+psycopg://mamcrawler@127.0.0.1:{port}/mamcrawler"
    with psycopg.connect(libpq_dsn(url)) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), current_setting('max_connections'),"
            " current_setting('listen_addresses'), current_setting('unix_socket_directories'),"
            " current_setting('fsync')"
        ).fetchone()
        assert row == ("mamcrawler", "mamcrawler", "200", "127.0.0.1", "", "on")
        conn.execute("CREATE TABLE books (id int PRIMARY KEY, title text NOT NULL)")
        conn.execute("INSERT INTO books VALUES (1, 'Dune')")

    pg.stop()
    assert not pg.is_running() and not _port_open(port)
    pg.start()
    assert pg.port == port, "a clean restart must keep the port so handed-out URLs stay valid"
    with psycopg.connect(pg.dsn) as conn:
        conn.execute("INSERT INTO books VALUES (2, 'Hyperion')")

    postmaster = pg.pid
    assert postmaster is not None
    pg.kill()
    assert _wait_gone(postmaster, 1), "kill() must SIGKILL the postmaster, not ask it to stop"
    assert devserver._children_of(postmaster) == []
    pg.start()
    assert "not properly shut down" in pg.log_tail(200), "the restart after kill() should run crash recovery"
    with psycopg.connect(pg.dsn) as conn:
        assert conn.execute("SELECT id, title FROM books ORDER BY id").fetchall() == [(1, "Dune"), (2, "Hyperion")]


def test_postgres_create_and_drop_database(world_dir: Path, started: Starter) -> None:
    pg = EmbeddedPostgres(world_dir / "pg", fsync=False)
    started(pg)
    with psycopg.connect(pg.dsn) as conn:
        conn.execute("CREATE TABLE only_in_main (x int)")

    url = pg.create_database("scratch_1")
    assert url == pg.url_for("scratch_1")
    conn = psycopg.connect(libpq_dsn(url), autocommit=True)
    tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    assert tables == [], "a new database must be empty, not a copy of mamcrawler"
    assert conn.execute("SELECT current_setting('fsync')").fetchone() == ("off",)
    # drop_database must evict sessions still connected (WITH (FORCE)) ...
    pg.drop_database("scratch_1")
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()
    assert not pg.database_exists("scratch_1")
    pg.drop_database("scratch_1")  # ... and be idempotent

    with pytest.raises(ValueError, match="database name"):
        pg.create_database('x"; DROP DATABASE mamcrawler; --')
    with pytest.raises(psycopg.errors.DuplicateDatabase):
        pg.create_database("mamcrawler")


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop only happens when running as root")
def test_postgres_runs_unprivileged_and_checks_traversal(world_dir: Path, started: Starter) -> None:
    pg = EmbeddedPostgres(world_dir / "pg", fsync=False)
    started(pg)
    assert pg.pid is not None and _uid_of(pg.pid) != 0
    assert pg.pgdata.stat().st_mode & 0o777 == 0o700

    hidden = world_dir / "private"
    hidden.mkdir(mode=0o700)
    with pytest.raises(ConfigError, match=f"{hidden} .*not traversable"):
        EmbeddedPostgres(hidden / "pg").start()


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


@pytest.mark.chaos
def test_redis_sigkill_keeps_aof_data(world_dir: Path, started: Starter) -> None:
    r = EmbeddedRedis(world_dir / "redis")
    started(r)
    client = r.client()
    config = {key: client.config_get(key)[key] for key in ("maxmemory-policy", "appendonly", "appendfsync", "bind")}
    assert config == {
        "maxmemory-policy": "noeviction",
        "appendonly": "yes",
        "appendfsync": "everysec",
        "bind": "127.0.0.1",
    }
    client.set("job:1", "queued")
    client.rpush("queue", "a", "b", "c")
    client.hset("lease", mapping={"owner": "w1"})
    client.close()
    # everysec may postpone the AOF write of an acknowledged command while an fsync runs; the
    # guarantee under test is recovery of what reached the AOF, so wait for that first.
    r.wait_aof_written()

    pid, port = r.pid, r.port
    assert pid is not None
    r.kill()
    assert _wait_gone(pid, 1) and not _port_open(port)
    r.start()
    assert r.port == port
    client = r.client()
    assert client.get("job:1") == b"queued"
    assert client.lrange("queue", 0, -1) == [b"a", b"b", b"c"]
    assert client.hgetall("lease") == {b"owner": b"w1"}
    client.close()


@pytest.mark.parametrize("appendonly", [True, False])
def test_redis_clean_stop_keeps_data(world_dir: Path, started: Starter, appendonly: bool) -> None:
    r = EmbeddedRedis(world_dir / "redis", appendonly=appendonly)
    started(r)
    with r.client() as client:
        client.set("k", "v")
    r.stop()
    assert not r.is_running()
    assert (world_dir / "redis" / "dump.rdb").is_file(), "SHUTDOWN SAVE writes an RDB snapshot"
    r.start()
    with r.client() as client:
        assert client.get("k") == b"v"
    r.restart()
    with r.client() as client:
        assert client.get("k") == b"v"


@pytest.mark.chaos
def test_redis_without_aof_loses_unsaved_writes_on_sigkill(world_dir: Path, started: Starter) -> None:
    """The control for the AOF test: proves kill() really crashes Redis, so AOF is what saved the data."""
    r = EmbeddedRedis(world_dir / "redis", appendonly=False)
    started(r)
    with r.client() as client:
        client.set("k", "v")
    r.kill()
    r.start()
    with r.client() as client:
        assert client.get("k") is None


# --------------------------------------------------------------------------------------------
# ports, errors, parent death
# --------------------------------------------------------------------------------------------


def test_auto_port_taken_before_start_moves_to_another_port(world_dir: Path, started: Starter) -> None:
    r = EmbeddedRedis(world_dir / "redis")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", r.port))
        squatter.listen()
        taken = r.port
        started(r)
        assert r.port != taken and r.ping()
        assert "Address already in use" in r.log_tail(200)


def test_explicit_port_taken_fails_with_log_tail(world_dir: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        r = EmbeddedRedis(world_dir / "redis", port=port)
        with pytest.raises(EmbeddedServerError, match=r"(?s)could not bind.*Address already in use"):
            r.start(timeout=20)
        pg = EmbeddedPostgres(world_dir / "pg", port=port, fsync=False)
        with pytest.raises(EmbeddedServerError, match=r"(?s)could not bind.*Address already in use"):
            pg.start(timeout=30)
    assert not r.is_running() and not pg.is_running()


def test_bad_setting_fails_with_log_tail(world_dir: Path) -> None:
    pg = EmbeddedPostgres(world_dir / "pg", fsync=False, settings={"max_connections": "not-a-number"})
    with pytest.raises(EmbeddedServerError, match=r"(?s)exited with status.*max_connections"):
        pg.start()


def test_missing_binaries_say_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: nothing to find
    monkeypatch.setattr(postgres_server, "PG_LIB_ROOT", tmp_path / "no-postgresql")
    with pytest.raises(ConfigError, match=r"apt-get install postgresql`.*MAMC_DATABASE_URL"):
        EmbeddedPostgres(tmp_path / "pg")
    with pytest.raises(ConfigError, match=r"apt-get install redis-server`.*MAMC_REDIS_URL"):
        EmbeddedRedis(tmp_path / "redis")


@pytest.mark.chaos
def test_servers_die_with_their_parent(world_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from shared.devstack.postgres_server import EmbeddedPostgres
        from shared.devstack.redis_server import EmbeddedRedis
        base = Path(sys.argv[1])
        pg = EmbeddedPostgres(base / "pg", fsync=False)
        pg.start()
        r = EmbeddedRedis(base / "redis")
        r.start()
        print(pg.pid, r.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(world_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        pg_pid, redis_pid = map(int, parent.stdout.readline().split())
        assert devserver._alive(pg_pid) and devserver._alive(redis_pid)
        parent.send_signal(signal.SIGKILL)  # no chance to clean up: only the kernel can stop them
        parent.wait()
        assert _wait_gone(redis_pid), "redis-server outlived its parent"
        assert _wait_gone(pg_pid), "postgres outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    # The parent-death signals are the clean ones: PostgreSQL did a fast shutdown, not a crash.
    assert "database system is shut down" in (world_dir / "pg" / "postgres.log").read_text()
    assert "ready to exit" in (world_dir / "redis" / "redis.log").read_text()


# --------------------------------------------------------------------------------------------
# the pytest plugin (tests/fixtures/services.py)
# --------------------------------------------------------------------------------------------


def test_pg_url_is_a_fresh_empty_database(pg_server: EmbeddedPostgres, pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://") and pg_url != pg_server.url
    with psycopg.connect(libpq_dsn(pg_url)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
        conn.execute("CREATE TABLE leftover (x int)")  # must not leak into the next test's database


def test_pg_url_differs_per_test(pg_url: str) -> None:
    with psycopg.connect(libpq_dsn(pg_url)) as conn:
        assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)


def test_redis_url_hands_out_database_zero(redis_server: EmbeddedRedis, redis_url: str) -> None:
    assert redis_url == redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("leftover", "1")  # must be gone in the next test, in every logical database
    client.close()
    with redis_server.client(db=3) as other_db:
        other_db.set("leftover", "1")


def test_redis_url_is_flushed_between_tests(redis_server: EmbeddedRedis, redis_url: str) -> None:
    for db in (0, 3):
        with redis_server.client(db=db) as client:
            assert client.dbsize() == 0, f"db {db} kept keys from the previous test"


@pytest.mark.chaos
def test_fixtures_revive_killed_servers(
    request: pytest.FixtureRequest, pg_server: EmbeddedPostgres, redis_server: EmbeddedRedis
) -> None:
    pg_port, redis_port = pg_server.port, redis_server.port
    pg_server.kill()
    redis_server.kill()
    assert not pg_server.ping() and not redis_server.ping()
    redis_url = request.getfixturevalue("redis_url")
    pg_url = request.getfixturevalue("pg_url")
    assert (pg_server.port, redis_server.port) == (pg_port, redis_port)
    assert redis.Redis.from_url(redis_url).ping()
    with psycopg.connect(libpq_dsn(pg_url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_fixtures_after_the_kill_see_running_servers(pg_server: EmbeddedPostgres, redis_server: EmbeddedRedis) -> None:
    """Runs after the kill test: the autouse reviver must have restarted both servers."""
    assert pg_server.ping() and redis_server.ping()
