"""The one Celery app configuration, shared by gateway (to publish by name), workers and beat.

The reliability settings here are decided together (docs/architecture.md): late acks so a
killed process's message is not lost; reject-on-worker-lost so it comes back at once, with the
ledger's attempt cap as the poison-pill guard Redis does not have; one visibility timeout for
every process, longer than any time limit plus the longest countdown we ever publish.
"""

from __future__ import annotations

from celery import Celery

from shared.engine.pools import QUEUES
from shared.infra.settings import Settings, get_settings


def make_celery(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    if not settings.redis_url:
        from shared.infra.errors import ConfigError

        raise ConfigError("MAMC_REDIS_URL is not set (or run everything with `mamcrawler up`)")
    app = Celery("mamcrawler", broker=settings.redis_url, set_as_current=False)
    transport = {
        "visibility_timeout": settings.visibility_timeout,
        "socket_keepalive": True,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "retry_on_timeout": True,
        "health_check_interval": 25,
    }
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,  # the ledger in PostgreSQL is the result store
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_create_missing_queues=True,
        task_default_queue=QUEUES[0],
        worker_prefetch_multiplier=1,
        worker_send_task_events=True,
        task_send_sent_event=False,  # the ledger records publication; saves a Redis write per job
        worker_soft_shutdown_timeout=10.0,
        worker_enable_soft_shutdown_on_idle=False,  # idle: stop at once; held ETA messages are restored
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_max_tasks_per_child=2000,
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_heartbeat=0,
        broker_pool_limit=20,
        event_queue_expires=60,
        event_queue_ttl=10,
        beat_scheduler="shared.engine.beat:LedgerScheduler",
        beat_max_loop_interval=settings.beat_max_loop_interval,
        redbeat_redis_url=settings.redis_url,
        redbeat_key_prefix="mamc:redbeat:",
        redbeat_lock_key="mamc:redbeat::lock",
        redbeat_lock_timeout=settings.beat_lock_timeout,
        timezone="UTC",
        enable_utc=True,
    )
    return app


_app: Celery | None = None


def publisher() -> Celery:
    """The process-wide app used to publish; created on first use (after fork)."""
    global _app
    if _app is None:
        _app = make_celery()
    return _app
