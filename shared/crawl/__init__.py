"""The crawl domain: MAM torrents as typed values, the member's account, and choosing an edition.

Everything here is pure (no I/O): the MAM client (``workers/crawl/``) parses the tracker's JSON into
these values at the edge, and both the API and the crawl workers read and score them.
"""
