"""The import domain: a completed download verified, placed in the Audiobookshelf library folder
by hardlinks, scanned by ABS and described in ABS's own schema; or rejected as the wrong recording.

Rules live here (pure, or at the database level, called by the API and the ``library_sync`` pool
alike): the folder template and name sanitising (``template``), path mappings between
qBittorrent's, the worker's and ABS's views (``paths``), the verification verdict (``verify``),
the ``metadata.json`` ABS reads (``abs_metadata``), the duplicate check (``owned``) and the import
record that makes every step resumable (``records``). The bodies that touch files, ffprobe and ABS
live in ``workers/imports/``.
"""
