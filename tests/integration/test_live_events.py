"""Live events: committed job state changes reach ``GET /api/v1/events`` through Redis pub/sub.

A rolled-back change is never announced; a real job run by a real worker is seen queued, running
and succeeded by a client of a real gateway process; after the gateway restarts, a client that
reconnects (as a browser's EventSource does) gets the events again.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import httpx
import redis as redis_lib
from sqlalchemy import select

from shared.engine import events, ledger
from shared.infra.db import session_scope
from shared.models.jobs import Job
from tests.integration.stack import Stack, api_headers, wait_state


def _subscribe(redis_url: str) -> Any:
    pubsub = redis_lib.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events.CHANNEL)
    return pubsub


def _drain(pubsub: Any, seconds: float, want: int | None = None, then: float = 1.0) -> list[dict[str, Any]]:
    """Every event within ``seconds``; with ``want``, stop waiting ``then`` seconds after that many came.

    Why the long window: the publisher thread may still be sending an earlier test's events (to a
    Redis that test stopped: connect timeouts) when this one's arrive; only the order counts here."""
    out, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message:
            out.append(json.loads(message["data"]))
            if want is not None and len(out) == want:
                deadline = min(deadline, time.monotonic() + then)
    return out


def test_only_committed_changes_are_announced(settings_env: dict[str, str]) -> None:
    pubsub = _subscribe(settings_env["MAMC_REDIS_URL"])
    with session_scope() as s:
        kept = ledger.create_job(s, "probe", {"pool": "crawl"}).job.id
    try:
        with session_scope() as s:
            ledger.create_job(s, "probe", {"pool": "download"})
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with session_scope() as s:  # an ORM change of state (replay after a failure) is found by the flush hook
        job = s.scalar(select(Job).where(Job.id == kept))
        assert job is not None
        job.state = "dead"
    seen = _drain(pubsub, 20.0, want=2)
    assert [(e["id"], e["state"]) for e in seen] == [(str(kept), "queued"), (str(kept), "dead")]
    assert seen[0] == {"kind": "job", "id": str(kept), "state": "queued", "type": "probe", "queue": "crawl"}


class Listener:
    """An SSE client in a thread: collects (event, data) pairs, like a browser's EventSource."""

    def __init__(self, url: str, key: str) -> None:
        self.items: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(url, key), daemon=True)
        self.thread.start()

    def _run(self, url: str, key: str) -> None:
        try:
            with httpx.stream("GET", url, headers=api_headers(key), timeout=httpx.Timeout(5, read=60)) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                kind = ""
                for line in r.iter_lines():
                    if line.startswith(":"):
                        self.items.put(("comment", {"text": line}))
                    elif line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.items.put((kind, json.loads(line[6:])))
        except httpx.HTTPError:
            self.items.put(("closed", {}))

    def until(self, predicate: Any, timeout: float = 30) -> list[tuple[str, dict[str, Any]]]:
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                item = self.items.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(item)
            if predicate(item):
                return seen
        raise AssertionError(f"no matching event in {timeout}s; saw {seen}")


def _post_probe(base: str, key: str, **args: Any) -> str:
    r = httpx.post(f"{base}/api/v1/jobs", headers=api_headers(key), json={"type": "probe",
                                                                           "args": {"pool": "crawl", **args}})
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def test_a_gateway_client_sees_a_job_run_and_reconnects_after_a_restart(stack: Stack, api_key: str) -> None:
    stack.worker("crawl", concurrency=1)
    api, base = stack.api()
    listener = Listener(f"{base}/api/v1/events", api_key)
    listener.until(lambda e: e[0] == "hello")
    job_id = _post_probe(base, api_key)
    seen = listener.until(lambda e: e[1].get("id") == job_id and e[1]["state"] == "succeeded")
    states = [d["state"] for k, d in seen if k == "job" and d["id"] == job_id]
    assert states == ["queued", "running", "succeeded"], seen
    assert all(d["type"] == "probe" for k, d in seen if k == "job" and d["id"] == job_id)

    paused = httpx.post(f"{base}/api/v1/pools/crawl/pause", headers=api_headers(api_key))
    assert paused.status_code == 200
    listener.until(lambda e: e == ("pool", {"kind": "pool", "pool": "crawl", "paused": True}))
    assert httpx.post(f"{base}/api/v1/pools/crawl/resume", headers=api_headers(api_key)).status_code == 200

    port = int(base.rsplit(":", 1)[1])
    api.terminate()
    listener.until(lambda e: e[0] == "closed")  # the stream ends with the gateway
    stack.api(port)  # the same address, as after a restart
    again = Listener(f"{base}/api/v1/events", api_key)
    again.until(lambda e: e[0] == "hello")
    second = _post_probe(base, api_key)
    again.until(lambda e: e[1].get("id") == second and e[1]["state"] == "succeeded")
    wait_state(second, ("succeeded",))


def test_an_idle_stream_stays_open_with_keep_alives(stack: Stack, api_key: str) -> None:
    """Nothing happens for longer than the keep-alive period (and the Redis client's socket timeout):
    the stream stays the same connection (no second ``hello``) and sends a comment line."""
    _, base = stack.api()
    listener = Listener(f"{base}/api/v1/events", api_key)
    listener.until(lambda e: e[0] == "hello")
    seen = listener.until(lambda e: e[0] == "comment", timeout=25)
    assert [k for k, _ in seen] == ["comment"], seen
    time.sleep(3)
    assert listener.items.empty()  # no reconnection, no second hello


def test_events_need_a_caller(stack: Stack) -> None:
    _, base = stack.api()
    assert httpx.get(f"{base}/api/v1/events", timeout=5).status_code == 401
