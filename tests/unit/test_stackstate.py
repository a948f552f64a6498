"""The CLI finds the stack ``mamcrawler up`` runs through MAMC_DATA_DIR/stack.json, or says why not.

Fast checks of the state file and of how the CLI uses it; the end-to-end check (a real
``mamcrawler up``, then ``apikey create`` from a clean shell) is tests/integration/test_cli_stack.py.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.devstack.stackstate import STATE_FILE, StackNotRunning, find_running_stack, remove_state, write_state
from shared.infra.errors import ConfigError
from shared.infra.settings import get_settings

MAMCRAWLER = Path(sys.executable).with_name("mamcrawler")
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on, standing in for a server the stack started."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No MAMC_* from the outside; MAMC_DATA_DIR is a fresh dir; the settings cache is reset."""
    for name in list(os.environ):
        if name.startswith("MAMC_"):
            monkeypatch.delenv(name)
    for name in ("MAMC_DATABASE_URL", "MAMC_REDIS_URL"):  # recorded, so what the CLI sets is undone
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("MAMC_DATA_DIR", str(data))
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_written_state_is_found_private_and_removed_only_by_its_owner(tmp_path: Path, listening: int) -> None:
    db = f"postgresql+psycopg://mamcrawler@127.0.0.1:{listening}/mamcrawler"
    path = write_state(tmp_path, database_url=db, redis_url=f"redis://127.0.0.1:{listening}/0")
    assert path == tmp_path.resolve() / STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = find_running_stack(tmp_path)
    assert (state.pid, state.database_url) == (os.getpid(), db)
    remove_state(tmp_path, pid=os.getpid() + 1)  # another stack's stop must not remove ours
    assert path.exists()
    remove_state(tmp_path)
    assert not path.exists()
    remove_state(tmp_path)  # nothing to remove: no error


def test_a_url_with_a_password_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="password"):
        write_state(tmp_path, database_url="postgresql+psycopg://u:hunter2@127.0.0.1:5/d", redis_url=None)
    assert not (tmp_path / STATE_FILE).exists()


def test_no_state_file_says_what_to_run_and_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(StackNotRunning) as err:
        find_running_stack(tmp_path)
    message = str(err.value)
    assert str(tmp_path.resolve()) in message
    assert "make up" in message and "MAMC_DATA_DIR" in message and "MAMC_DATABASE_URL" in message


def test_a_killed_stack_is_not_used(tmp_path: Path, listening: int) -> None:
    write_state(tmp_path, database_url=f"postgresql+psycopg://m@127.0.0.1:{listening}/m", redis_url=None,
                pid=dead_pid())
    with pytest.raises(StackNotRunning, match="no longer running.*make up"):
        find_running_stack(tmp_path)


def test_a_server_that_does_not_answer_is_named(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # bound, never listening: connections are refused
        write_state(tmp_path, database_url=None, redis_url=f"redis://127.0.0.1:{closed}/0")
        with pytest.raises(StackNotRunning, match=f"Redis on 127.0.0.1:{closed} does not answer"):
            find_running_stack(tmp_path)


def test_a_garbled_state_file_says_to_remove_it(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text(json.dumps({"pid": "x"}))
    with pytest.raises(ConfigError, match="remove it"):
        find_running_stack(tmp_path)


def test_cli_fills_in_unset_urls_from_the_running_stack(clean_settings: Path, listening: int) -> None:
    from shared.cli import _use_running_stack

    db = f"postgresql+psycopg://mamcrawler@127.0.0.1:{listening}/mamcrawler"
    redis = f"redis://127.0.0.1:{listening}/0"
    write_state(clean_settings, database_url=db, redis_url=redis)
    _use_running_stack(need_redis=True)
    assert (get_settings().database_url, get_settings().redis_url) == (db, redis)


def test_cli_explicit_urls_win_over_the_running_stack(
    clean_settings: Path, listening: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.cli import _use_running_stack

    write_state(clean_settings, database_url=f"postgresql+psycopg://mamcrawler@127.0.0.1:{listening}/mamcrawler",
                redis_url=f"redis://127.0.0.1:{listening}/0")
    mine = "postgresql+psycopg://me@db.example:5432/mine"
    monkeypatch.setenv("MAMC_DATABASE_URL", mine)
    get_settings.cache_clear()
    _use_running_stack(need_redis=True)
    assert get_settings().database_url == mine
    assert get_settings().redis_url == f"redis://127.0.0.1:{listening}/0"  # the unset one still comes from the file


def test_cli_with_database_url_set_needs_no_stack(clean_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.cli import _use_running_stack

    monkeypatch.setenv("MAMC_DATABASE_URL", "postgresql+psycopg://me@db.example:5432/mine")
    get_settings.cache_clear()
    _use_running_stack(need_redis=False)  # no stack.json, and none needed
    with pytest.raises(StackNotRunning):
        _use_running_stack(need_redis=True)


def test_cli_names_a_server_the_stack_did_not_start(clean_settings: Path, listening: int) -> None:
    from shared.cli import _use_running_stack

    write_state(clean_settings, database_url=None, redis_url=f"redis://127.0.0.1:{listening}/0")
    with pytest.raises(ConfigError, match="set MAMC_DATABASE_URL here"):
        _use_running_stack(need_redis=False)


@pytest.mark.parametrize("argv", [["apikey", "create", "--name", "second"], ["apikey", "list"], ["migrate"]])
def test_cli_without_a_stack_says_so_and_exits_2(tmp_path: Path, argv: list[str]) -> None:
    """The command a user runs in a fresh shell: no MAMC_* at all, the default ./data, nothing running."""
    out = subprocess.run([str(MAMCRAWLER), *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={"PATH": SYSTEM_PATH, "HOME": str(tmp_path)})
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert "no MAMcrawler stack is running" in out.stderr
    assert str(tmp_path / "data") in out.stderr and "make up" in out.stderr
    assert "Traceback" not in out.stderr


def test_config_check_without_a_stack_is_ok_and_says_none_runs(tmp_path: Path) -> None:
    out = subprocess.run([str(MAMCRAWLER), "config", "check"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60, env={"PATH": SYSTEM_PATH, "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert "no MAMcrawler stack is running" in out.stdout
    assert "MAMC_DATABASE_URL=None" in out.stdout  # not the placeholder used for the registry check
    assert out.stdout.rstrip().endswith("configuration OK")
