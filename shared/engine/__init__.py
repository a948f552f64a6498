"""The job engine: declarations and routing, the ledger (the outbox), dispatch and the wire format,
the sweeper, beat's schedule, pool policies and the global rate limiter.

Knows nothing of audiobooks: a domain declares its jobs (``shared/<domain>/jobs.py``) and the engine
runs them.
"""
