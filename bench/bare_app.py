"""The baseline: the same Celery configuration as MAMcrawler's pools, with a no-op task and no ledger."""

from __future__ import annotations

from shared.engine.celery_app import make_celery

app = make_celery()


@app.task(name="bench.noop", acks_late=True)
def noop() -> None:
    """Does nothing: what the ledger costs is measured against this."""
