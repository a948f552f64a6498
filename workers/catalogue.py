"""Every task body of every pool, registered on a Celery app: the one list of them.

``workers.app`` calls it for the real app; tests call it on an app that never connects, so the
start-up registry check (workers/registry.py) runs against exactly what the workers register.
"""

from __future__ import annotations

from celery import Celery

from workers.connections import tasks as connection_tasks
from workers.crawl import tasks as crawl_tasks
from workers.download import monitor as download_monitor
from workers.download import spend as download_spend
from workers.download import tasks as download_tasks
from workers.download import trackers as download_trackers
from workers.imports import tasks as import_tasks
from workers.library import tasks as library_tasks
from workers.metadata import tasks as metadata_tasks
from workers.notify import tasks as notify_tasks
from workers.tasks import probe


def register_all(app: Celery) -> None:
    probe.register(app)
    crawl_tasks.register(app)
    library_tasks.register(app)
    metadata_tasks.register(app)
    download_tasks.register(app)
    download_spend.register(app)
    download_monitor.register(app)
    download_trackers.register(app)
    notify_tasks.register(app)
    import_tasks.register(app)
    connection_tasks.register(app)
