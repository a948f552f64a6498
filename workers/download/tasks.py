"""Download pool tasks. The grab body lands with the qBittorrent client; ``notify.send`` (workers/notify)
also runs on this pool."""

from __future__ import annotations

from celery import Celery


def register(app: Celery) -> None:
    """Register the download pool's task bodies (none declared yet: ``download.grab`` comes with
    the qBittorrent client, and its declaration joins the catalogue with it)."""
