"""From a search answer's JSON to :class:`MamSearchPage`: rows, the "Nothing returned" answer, and
the two readings of ``my_snatched``.

Row parsing is total: a row without a usable id is skipped (and counted), every other row becomes a
:class:`MamTorrent` whatever else is wrong with it, carrying its warnings. The ``dl`` hash is never
read, so it cannot leak through a parsed value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.crawl.torrent import MamTorrent
from shared.infra.errors import MalformedResponse, PermanentError
from workers.crawl.mam_parse import (
    Notes,
    bitrate_from_text,
    parse_added,
    parse_filetypes,
    parse_flag,
    parse_int,
    parse_mediainfo,
    parse_names,
    parse_series,
    parse_size,
    parse_text,
)
from workers.crawl.mam_query import MamQuery, MamSearchPage, SnatchedShape

#: The prefix of MAM's "no results" answer, which is an empty result and not an error.
NOTHING_RETURNED = "nothing returned"


class MamApiError(PermanentError):
    """MAM answered 200 but said no: an ``error``/``message`` other than "Nothing returned", a body
    starting with "Error", or a refused bonus purchase. Permanent: the same request gets the same
    answer (a transient cause shows as 429/5xx instead)."""


def parse_row(raw: object, *, context: str = "search") -> MamTorrent | None:
    """One row as a :class:`MamTorrent`, or None when it has no usable torrent id."""
    if not isinstance(raw, Mapping):
        return None
    torrent_id = parse_int(raw.get("id"))
    if torrent_id is None or torrent_id <= 0:
        return None
    notes = Notes(f"{context} torrent {torrent_id}")
    title = parse_text(raw.get("title") or raw.get("name"))
    tags = parse_text(raw.get("tags"))
    media_kbps, duration = parse_mediainfo(raw.get("mediainfo", raw.get("mediaInfo")), notes)
    return MamTorrent(
        torrent_id=torrent_id,
        title=title,
        authors=parse_names(raw.get("author_info"), notes, "author_info"),
        narrators=parse_names(raw.get("narrator_info"), notes, "narrator_info"),
        series=parse_series(raw.get("series_info"), notes),
        main_cat=parse_int(raw.get("main_cat"), notes, "main_cat"),
        category=parse_int(raw.get("category"), notes, "category"),
        category_name=parse_text(raw.get("catname")),
        lang_code=parse_text(raw.get("lang_code")).upper() or None,
        filetypes=parse_filetypes(raw.get("filetype"), raw.get("filetypes")),
        size_bytes=parse_size(raw.get("size"), notes),
        numfiles=parse_int(raw.get("numfiles"), notes, "numfiles"),
        seeders=parse_int(raw.get("seeders"), notes, "seeders") or 0,
        leechers=parse_int(raw.get("leechers"), notes, "leechers") or 0,
        times_completed=parse_int(raw.get("times_completed"), notes, "times_completed") or 0,
        vip=parse_flag(raw.get("vip"), notes, "vip") or False,
        free=parse_flag(raw.get("free"), notes, "free") or False,
        fl_vip=parse_flag(raw.get("fl_vip"), notes, "fl_vip") or False,
        personal_freeleech=parse_flag(raw.get("personal_freeleech"), notes, "personal_freeleech") or False,
        my_snatched=parse_flag(raw.get("my_snatched"), notes, "my_snatched"),
        added=parse_added(raw.get("added"), notes),
        tags=tags,
        description=parse_text(raw.get("description")),
        bitrate_kbps=media_kbps or bitrate_from_text(tags) or bitrate_from_text(title),
        duration_seconds=duration,
        warnings=tuple(notes.items),
    )


def answer_error(data: object) -> str | None:
    """MAM's own ``error``/``message`` text in a JSON answer, if it carries one."""
    if not isinstance(data, Mapping):
        return None
    for key in ("error", "message", "Error"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def parse_search_body(data: Any, query: MamQuery) -> MamSearchPage:
    """A page from the decoded JSON. "Nothing returned…" → an empty page; any other ``error`` or
    ``message`` → :class:`MamApiError`; not an object, or ``data`` not a list → :class:`MalformedResponse`."""
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"MAM search: expected a JSON object, got {type(data).__name__}")
    error = answer_error(data)
    if error is not None and "data" not in data:
        if error.lower().startswith(NOTHING_RETURNED):
            return MamSearchPage.empty(query)
        raise MamApiError(f"MAM search refused: {error[:200]}")
    rows_raw = data.get("data")
    if not isinstance(rows_raw, list):
        raise MalformedResponse(f"MAM search: 'data' is {type(rows_raw).__name__}, not a list")
    rows: list[MamTorrent] = []
    skipped = 0
    for raw in rows_raw:
        row = parse_row(raw)
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    warnings = (f"{skipped} row(s) without a usable id skipped",) if skipped else ()
    total = parse_int(data.get("total_found")) or parse_int(data.get("found")) or 0
    return MamSearchPage(
        rows=tuple(rows),
        start=parse_int(data.get("start")) or query.start_number,
        perpage=parse_int(data.get("perpage")) or query.perpage,
        total_found=max(total, len(rows_raw)),
        skipped=skipped,
        warnings=warnings,
    )


def snatched_shape(rows: Sequence[MamTorrent]) -> SnatchedShape:
    """Which reading of ``my_snatched`` an answer to a search *sent with the flag* follows.

    Annotated when some row carries the flag and says "not snatched" (MAM marked each row); filtered
    when every row says snatched or none carries the flag (MAM limited the results to snatches).
    Pure, so both shapes are tested without a server.
    """
    if not rows:
        return SnatchedShape.EMPTY
    if any(row.my_snatched is False for row in rows):
        return SnatchedShape.ANNOTATED
    return SnatchedShape.FILTERED


def snatched_ids(rows: Sequence[MamTorrent], shape: SnatchedShape) -> frozenset[int]:
    """The torrent ids the member snatched, read the way ``shape`` says."""
    if shape is SnatchedShape.FILTERED:
        return frozenset(row.torrent_id for row in rows)
    return frozenset(row.torrent_id for row in rows if row.my_snatched)
