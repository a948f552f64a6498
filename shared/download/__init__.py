"""The download domain: grabs into qBittorrent, seeding obligations, and the account governor.

Rules live here (called by the API and the download workers alike); the qBittorrent client and
the job bodies live in ``workers/download/``.
"""
