"""``connection.test``: one cheap call to one service, through the client and the rules its pool uses.

Each test is written against the same entry points the real jobs use, so it proves what they would
meet: the ABS key (``abs_client``), qBittorrent's login with its gate (``qbit_client``), the MAM
session with the account's budget and 403 stop (``mam_session``), the providers through the
metadata pool's polite clients (cache reads bypassed: the test must reach the service).

What the test found is the job's result, not its state: a refused key is ``ok: false`` with the
reason, and the job succeeds. Waiting for a rate-limit slot is not a finding (the job is re-scheduled
as usual), nor is a cancel. Messages come from the clients' errors, which never carry secrets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery import Celery

from shared.connections.jobs import CONNECTION_TEST, ConnectionTestArgs, Service
from shared.crawl import session as mam_state
from shared.download.qbit_settings import load_connection
from shared.infra.db import session_scope
from shared.infra.errors import Cancelled, MamcError, Parked, RateLimited
from shared.infra.secret_store import effective_secret
from shared.infra.settings import get_settings
from workers.base import job_task
from workers.context import JobContext
from workers.crawl.account import refresh
from workers.crawl.session import mam_session
from workers.download.qbit_session import qbit_client
from workers.library.tasks import abs_client
from workers.metadata.clients import Clients


class NotConfigured(MamcError):
    """Nothing to test with: the credential the service needs is not set."""


@dataclass(frozen=True)
class Found:
    message: str
    facts: dict[str, Any] = field(default_factory=dict)


def _abs(ctx: JobContext[ConnectionTestArgs]) -> Found:
    with abs_client(ctx) as client:
        version = client.server_version()
        books = client.book_libraries()
    return Found(f"Audiobookshelf {version} at {get_settings().abs_url}: the API key works and sees "
                 f"{len(books)} book librar{'y' if len(books) == 1 else 'ies'}",
                 {"version": version, "book_libraries": len(books)})


def _qbittorrent(ctx: JobContext[ConnectionTestArgs]) -> Found:
    with session_scope() as s:
        conn = load_connection(s)
    with qbit_client() as client:  # parks (reported below) instead of logging in again with refused credentials
        client.throttle = lambda: ctx.throttle("qbit", max_wait=10.0)
        try:
            version = client.version()
        finally:
            client.throttle = None  # the process keeps this client: the next job sets its own hook
    who = f"logged in as {conn.username!r}" if conn.username else "no login asked"
    return Found(f"qBittorrent {version} at {conn.url}: {who}", {"version": version})


def _mam(ctx: JobContext[ConnectionTestArgs]) -> Found:
    with session_scope() as s:
        state = mam_state.view(s)
    if state.state == "unset":
        raise NotConfigured("no MAM session cookie is set: enter one (PUT /api/v1/account/session) or set MAMC_MAM_ID")
    if state.state == "invalid":
        raise NotConfigured(f"MAM refused the session cookie ({state.reason or 'no reason kept'}): enter a new one "
                            "(PUT /api/v1/account/session)")
    with mam_session(ctx) as client:  # the account's budget, back-off and 403 stop; one GET, nothing spent
        _, snapshot = refresh(client)
    return Found(f"MAM accepted the session cookie (class {snapshot.classname or 'unknown'}); the account's "
                 "standing was refreshed", {"classname": snapshot.classname})


def _audible(ctx: JobContext[ConnectionTestArgs]) -> Found:
    clients = Clients(ctx, force=True)
    page = clients.audible().search(keywords="audiobook", num_results=1)
    return Found(f"Audible ({clients.region}) answered a search ({page.total_results} results)",
                 {"region": clients.region, "results": page.total_results})


def _hardcover(ctx: JobContext[ConnectionTestArgs]) -> Found:
    client = Clients(ctx, force=True).hardcover()
    if client is None:
        raise NotConfigured("no Hardcover API token is set (PUT /api/v1/settings/metadata-keys or "
                            "MAMC_HARDCOVER_TOKEN)")
    books = client.search_books("Dune", per_page=1)
    return Found(f"Hardcover accepted the API token and answered a search ({len(books)} result(s))",
                 {"results": len(books)})


def _googlebooks(ctx: JobContext[ConnectionTestArgs]) -> Found:
    with session_scope() as s:
        _, source = effective_secret(s, "googlebooks_key")
    books = Clients(ctx, force=True).googlebooks().search("Dune", max_results=1)
    key = "with the API key" if source != "unset" else "without a key (the anonymous quota)"
    return Found(f"Google Books answered a search {key} ({len(books)} result(s))", {"results": len(books)})


TESTS: dict[Service, Callable[[JobContext[ConnectionTestArgs]], Found]] = {
    Service.ABS: _abs,
    Service.QBITTORRENT: _qbittorrent,
    Service.MAM: _mam,
    Service.AUDIBLE: _audible,
    Service.HARDCOVER: _hardcover,
    Service.GOOGLEBOOKS: _googlebooks,
}


def connection_test(ctx: JobContext[ConnectionTestArgs]) -> dict[str, Any]:
    service = ctx.args.service
    started = time.monotonic()
    try:
        found = TESTS[service](ctx)
    except (RateLimited, Cancelled):
        raise  # waiting for a slot, or stopped by a person: no verdict yet
    except Parked as exc:  # a closed gate (a refused cookie or login): the verdict, without sending anything
        return _verdict(service, False, str(exc), started)
    except MamcError as exc:  # what the client made of the service's answer (never a secret)
        return _verdict(service, False, str(exc) or type(exc).__name__, started)
    return _verdict(service, True, found.message, started, found.facts)


def _verdict(service: Service, ok: bool, message: str, started: float,
             facts: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"service": service.value, "ok": ok, "message": message[:1000],
            "elapsed_ms": round((time.monotonic() - started) * 1000), **({"facts": facts} if facts else {})}


def register(app: Celery) -> None:
    job_task(app, CONNECTION_TEST)(connection_test)
