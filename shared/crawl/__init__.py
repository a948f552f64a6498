"""The crawl domain: MAM torrents as typed values, the member's account, and choosing an edition.

The values and rules are pure (no I/O): the MAM client (``workers/crawl/``) parses the tracker's JSON
into these values at the edge, and both the API and the crawl workers read and score them. The
account's own state is the exception, kept in PostgreSQL by the modules that say so: ``session`` (the
cookie and whether it works), ``account`` (the standing's history), ``budget`` (the back-off in Redis).
"""
