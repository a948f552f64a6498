"""The ``stack`` fixture: a migrated database, an empty Redis, settings pointed at both.

Process-wide singletons (settings cache, engine, Redis client, Celery publisher) are reset so
the test process itself talks to this test's servers, like the subprocesses it starts.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack import FAST_ENV, Stack


def reset_singletons() -> None:
    import shared.engine.celery_app
    import shared.infra.redis_client
    from shared.engine import events
    from shared.infra import db
    from shared.infra.settings import get_settings

    events.wait_idle()  # the publisher thread sends what it holds with the settings it was made under
    get_settings.cache_clear()
    db.dispose()
    shared.infra.redis_client._client = None
    shared.engine.celery_app._app = None


@pytest.fixture
def settings_env(pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    workdir = Path(tempfile.mkdtemp(prefix="mamc-stack-"))
    env = {"MAMC_DATABASE_URL": pg_url, "MAMC_REDIS_URL": redis_url, "MAMC_DATA_DIR": str(workdir / "data"),
           **FAST_ENV}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_singletons()
    from shared.infra.migrate import upgrade

    upgrade(pg_url)
    env["__workdir"] = str(workdir)
    yield env
    reset_singletons()


@pytest.fixture
def stack(settings_env: dict[str, str]) -> Iterator[Stack]:
    workdir = Path(settings_env["__workdir"])
    env = {**os.environ, **{k: v for k, v in settings_env.items() if not k.startswith("__")}}
    st = Stack(env=env, workdir=workdir)
    try:
        yield st
    finally:
        st.stop()


@pytest.fixture
def api_key(settings_env: dict[str, str]) -> str:
    from shared.infra.apikeys import create_api_key
    from shared.infra.db import session_scope

    with session_scope() as s:
        return create_api_key(s, "test")
