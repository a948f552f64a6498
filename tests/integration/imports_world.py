"""A world for import tests: download and library folders, the ABS simulator scanning the library
folder on disk over real HTTP, and settings pointing the import at both (with path mappings, so the
three views of each folder really differ: qBittorrent's ``/downloads``, the worker's temporary
folders, ABS's ``/audiobooks``)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.infra.settings import get_settings
from tests.integration.conftest import reset_singletons
from tests.sims.abs import AbsState, serve_abs
from workers.imports.flow import Env, run_import
from workers.library.abs_client import AbsClient
from workers.upstream import UpstreamOptions

TOKEN = "sim-import-token-0123456789"
QBIT_ROOT = "/downloads"
ABS_ROOT = "/audiobooks"
PATCH_ROUTE = "PATCH /api/items/{id}/media"


@dataclass
class ImportWorld:
    downloads: Path  # qBittorrent's /downloads, as this worker sees it
    library: Path  # MAMC_ABS_LIBRARY_DIR; ABS sees it as /audiobooks
    state: AbsState
    base_url: str
    library_id: str
    env: dict[str, str]

    def qbit_path(self, worker_path: Path) -> str:
        return f"{QBIT_ROOT}/{worker_path.relative_to(self.downloads).as_posix()}"

    def client(self) -> AbsClient:
        return AbsClient(UpstreamOptions(self.base_url), TOKEN)

    def run(self, download_id: int) -> dict[str, object]:
        """One import in this process (the worker's body, without the ledger)."""
        return run_import(download_id, Env(settings=get_settings(), client=self.client, sleep=time.sleep))

    def folders(self) -> list[Path]:
        """Item folders under the library (folders holding a file)."""
        return sorted({p.parent for p in self.library.rglob("*") if p.is_file() and not p.name.startswith(".")})

    def items(self) -> int:
        return len(self.state.items_in(self.library_id))

    def patches(self) -> int:
        return self.state.count(PATCH_ROUTE)


def world_settings(downloads: Path, library: Path, base_url: str, **extra: str) -> dict[str, str]:
    return {
        "MAMC_ABS_URL": base_url, "MAMC_ABS_TOKEN": TOKEN, "MAMC_ABS_LIBRARY_DIR": str(library),
        "MAMC_PATH_MAPPINGS": json.dumps({"qbit_to_worker": [[QBIT_ROOT, str(downloads)]],
                                          "worker_to_abs": [[str(library), ABS_ROOT]]}),
        "MAMC_IMPORT_SCAN_POLL": "0.05", "MAMC_IMPORT_SCAN_TIMEOUT": "30",
        # generated tones have no credits: listening would spend its whole budget on each book
        # (tests/integration/test_narrator_listen.py covers the listener; test_imports fakes it)
        "MAMC_IMPORT_LISTEN_NARRATOR": "false",
        "MAMC_RATE_LIMITS": json.dumps({"abs": "2000/1/200", "probe": "1000/1/100"}), **extra,
    }


@pytest.fixture(name="import_world")
def import_world_fixture(settings_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[ImportWorld]:
    downloads, library = tmp_path / "downloads", tmp_path / "library"
    downloads.mkdir()
    library.mkdir()
    state = AbsState(scan_polls=1)
    state.add_api_key(TOKEN)
    lib = state.add_library("Audiobooks", folder_path=ABS_ROOT, disk_path=str(library))
    base, stop = serve_abs(state)
    env = world_settings(downloads, library, base)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    try:
        yield ImportWorld(downloads, library, state, base, lib.id, env)
    finally:
        stop()


def same_inode(a: Path, b: Path) -> bool:
    sa, sb = os.stat(a), os.stat(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
