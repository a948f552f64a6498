"""What a stack against the flow world needs before its processes start, and what it starts by itself.

* :func:`seed_demo`: the demo person (logs in to the web UI), the governor policy (``auto_grab`` on
  for the demo: a search's chosen edition is grabbed without anybody asking; the pace stays the
  default ten grabs an hour, so later grabs wait on the governor and say why), a first
  ``account.refresh`` and the first ``library.sync``.
* :func:`follow`: a thread that queues ``gaps.detect`` (with the world's own date) once that sync
  has succeeded, pins one book whose best-looking edition is a wrong recording at the top of the
  wanted list (so the import's rejection shows in the first minutes), then prints each milestone of
  the flow with the time since ``t0`` — library synced, gaps found, an edition chosen, a download
  complete, an import in ABS, a wrong recording caught — which is how the demo's figures are measured.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date

import httpx
from sqlalchemy import text

from shared.download.policy import GovernorPolicy
from shared.download.policy_store import save_policy
from shared.engine import ledger
from shared.infra.db import session_scope
from shared.people.users import create_user
from shared.wanted.service import edit

DEMO_USER = "demo"

#: (label, SQL answering one row when the milestone is reached: its columns are printed)
MILESTONES: tuple[tuple[str, str], ...] = (
    ("library synced", "SELECT count(*) FROM library_items HAVING count(*) > 0"),
    ("gaps found", "SELECT count(*) AS wanted FROM wanted WHERE 'series_gap' = ANY(reasons) "
                   "HAVING count(*) > 0 AND NOT EXISTS (SELECT 1 FROM jobs WHERE type LIKE 'gaps.%' "
                   "AND state IN ('queued', 'running', 'retrying', 'waiting'))"),
    ("first edition chosen", "SELECT w.title, s.summary FROM mam_searches s JOIN wanted w ON w.id = s.wanted_id "
                             "WHERE s.chosen_torrent_id IS NOT NULL ORDER BY s.id LIMIT 1"),
    ("first download complete", "SELECT title, state FROM downloads WHERE completed_at IS NOT NULL "
                                "ORDER BY completed_at LIMIT 1"),
    ("first import in ABS", "SELECT i.abs_path, i.placement FROM imports i WHERE i.verdict = 'imported' "
                            "ORDER BY i.finished_at LIMIT 1"),
    ("a wrong recording caught", "SELECT w.title, i.reason FROM imports i JOIN wanted w ON w.id = i.wanted_id "
                                 "WHERE i.verdict = 'rejected' ORDER BY i.finished_at LIMIT 1"),
)


def seed_demo(password: str, *, auto_grab: bool = True) -> uuid.UUID:
    """The demo person and policy, the account read (the overview's line) and the first library sync;
    returns the sync's job id."""
    with session_scope() as s:
        create_user(s, DEMO_USER, password)
        save_policy(s, GovernorPolicy(auto_grab=auto_grab))
        ledger.create_job(s, "account.refresh", {})
        return ledger.create_job(s, "library.sync", {}).job.id


def queue_gaps_after(sync_job: uuid.UUID, as_of: date, *, timeout: float = 600.0) -> uuid.UUID | None:
    """Wait for ``sync_job`` to succeed, then queue ``gaps.detect`` as of ``as_of``; None if it did not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as s:
            state = s.scalar(text("SELECT state FROM jobs WHERE id = :i"), {"i": sync_job})
            if state == "succeeded":
                return ledger.create_job(s, "gaps.detect", {"as_of": as_of.isoformat()}).job.id
        if state in ("failed", "dead", "cancelled"):
            return None
        time.sleep(0.5)
    return None


def pin_first(gaps_job: uuid.UUID, titles: Sequence[str], *, timeout: float = 600.0) -> str | None:
    """Once ``gaps_job`` has finished, give the first of ``titles`` that is wanted the top priority
    (as a person would in the UI), so automatic searching takes it first; returns its title."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as s:
            if s.scalar(text("SELECT state FROM jobs WHERE id = :i"), {"i": gaps_job}) == "succeeded":
                for title in titles:
                    found = s.scalar(text("SELECT id FROM wanted WHERE title = :t AND state = 'wanted'"), {"t": title})
                    if found is not None:
                        edit(s, int(found), priority=1000)
                        return title
                return None
        time.sleep(0.5)
    return None


def follow(sync_job: uuid.UUID, as_of: date, base_url: str, t0: float, *, pin: Sequence[str] = (), login: str = "",
           say: Callable[[str], None] = print, stop: threading.Event | None = None) -> threading.Thread:
    """Start the thread that queues gap detection after the sync (then pins the first of ``pin`` at the
    top of the wanted list) and reports each milestone once."""
    stop = stop or threading.Event()

    def run() -> None:
        _wait_http(base_url + "/healthz", stop)
        say(f"[{time.monotonic() - t0:6.1f}s] web UI answering on {base_url}")
        if login:  # again, below the processes' start-up banners
            say(login)
        gaps = queue_gaps_after(sync_job, as_of)
        if gaps is None:
            say("the library sync did not succeed: see the Jobs page")
        elif pin and (pinned := pin_first(gaps, pin)):
            say(f"[{time.monotonic() - t0:6.1f}s] pinned {pinned!r} at the top of the wanted list: its best-looking "
                f".m4b on MAM runs 20 % short, so watch its import be rejected and the next search skip it")
        pending = dict(MILESTONES)
        while pending and not stop.is_set():
            for label, sql in list(pending.items()):
                with session_scope() as s:
                    row = s.execute(text(sql)).first()
                if row is not None:
                    del pending[label]
                    say(f"[{time.monotonic() - t0:6.1f}s] {label}: {' | '.join(str(v) for v in row)}")
            stop.wait(1.0)

    thread = threading.Thread(target=run, name="demo-follow", daemon=True)
    thread.start()
    return thread


def _wait_http(url: str, stop: threading.Event, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        try:
            answered = httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:  # not listening yet
            answered = False
        if answered:
            return
        stop.wait(0.3)
