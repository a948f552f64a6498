"""Rendering a :class:`SimTorrent` as a search row and the account as ``jsonLoad.php``, with the
quirks the reference names (numbers and flags drifting in type, JSON inside strings that can be
malformed, HTML entities, sizes human or bytes)."""

from __future__ import annotations

import hashlib
import html
import zlib
from typing import Any

import orjson

from tests.sims.mam.catalogue import SimAccount, SimTorrent

_FLAGS = ("vip", "free", "fl_vip", "personal_freeleech", "my_snatched")
_NUMBERS = ("id", "main_cat", "category", "numfiles", "seeders", "leechers", "times_completed", "language")
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def name_id(name: str) -> int:
    """MAM's id for an author/narrator/series name: stable per name."""
    return zlib.crc32(name.lower().encode()) % 100_000 + 1


def human_size(size: int) -> str:
    """"287.4 MiB", like MAM's pages."""
    value, unit = float(size), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.1f} {_UNITS[unit]}" if unit else f"{size} B"


def _info(mapping: dict[str, Any], torrent: SimTorrent, malformed_quirk: str) -> Any:
    if malformed_quirk in torrent.quirks:
        # an unescaped quote inside a name, as seen in the wild: invalid JSON
        inner = ", ".join(f'"{k}": "{v}"' for k, v in mapping.items())
        return "{" + inner.replace('": "', '": "The "Real" ', 1) + ', "x": }'
    if "info_as_object" in torrent.quirks:
        return mapping
    return orjson.dumps(mapping).decode()


def _text(value: str, torrent: SimTorrent) -> str:
    return html.escape(value, quote=True) if "html_entities" in torrent.quirks else value


def dl_hash(torrent_id: int, secret: str) -> str:
    """The member's personal download hash for one torrent (a secret, like the cookie)."""
    return hashlib.sha1(f"{secret}:{torrent_id}".encode()).hexdigest()


def render_row(
    torrent: SimTorrent, *, snatched_field: bool, dl_secret: str | None, description: bool, media_info: bool
) -> dict[str, Any]:
    """One row of a search answer."""
    q = torrent.quirks
    row: dict[str, Any] = {
        "id": torrent.id,
        "title": _text(torrent.title, torrent),
        "name": _text(torrent.title, torrent),
        "author_info": _info({str(name_id(a)): _text(a, torrent) for a in torrent.authors}, torrent,
                             "malformed_author_info"),
        "narrator_info": _info({str(name_id(n)): _text(n, torrent) for n in torrent.narrators}, torrent,
                               "malformed_narrator_info"),
        "series_info": _info({str(name_id(s)): [_text(s, torrent), v] for s, v in torrent.series}, torrent,
                             "malformed_series_info"),
        "main_cat": torrent.main_cat,
        "category": torrent.category,
        "catname": torrent.catname,
        "language": torrent.language,
        "lang_code": torrent.lang_code,
        "filetype": torrent.filetype,
        "size": human_size(torrent.size_bytes),
        "numfiles": torrent.numfiles,
        "seeders": torrent.seeders,
        "leechers": torrent.leechers,
        "times_completed": torrent.times_completed,
        "vip": int(torrent.vip),
        "free": int(torrent.free),
        "fl_vip": int(torrent.fl_vip),
        "personal_freeleech": int(torrent.personal_freeleech),
        "my_snatched": int(torrent.snatched),
        "added": torrent.added.strftime("%Y-%m-%d %H:%M:%S"),
        "tags": _text(torrent.tags, torrent),
        "browseflags": 0,
        "owner": 1,
        "owner_name": "uploader",
        "w": 0,
    }
    if "size_as_bytes" in q:
        row["size"] = str(torrent.size_bytes)
    elif "size_as_number" in q:
        row["size"] = torrent.size_bytes
    if "numbers_as_strings" in q:
        row.update({k: str(row[k]) for k in _NUMBERS})
    if "flags_as_strings" in q:
        row.update({k: str(row[k]) for k in _FLAGS})
    elif "flags_as_booleans" in q:
        row.update({k: bool(row[k]) for k in _FLAGS})
    if not snatched_field or "no_my_snatched" in q:
        del row["my_snatched"]
    if description:
        row["description"] = torrent.description
    if media_info and torrent.mediainfo is not None:
        row["mediainfo"] = orjson.dumps(torrent.mediainfo).decode()
    if dl_secret is not None:
        row["dl"] = dl_hash(torrent.id, dl_secret)
    return row


def render_account(account: SimAccount, *, snatch_summary: bool) -> dict[str, Any]:
    """``jsonLoad.php``; with ``snatch_summary`` the unsatisfied counters and their neighbours."""
    data: dict[str, Any] = {
        "uid": account.uid,
        "username": account.username,
        "classname": account.classname,
        "ratio": account.ratio,
        "uploaded": human_size(account.uploaded),
        "downloaded": human_size(account.downloaded),
        "seedbonus": account.seedbonus,
        "wedges": account.wedges,
        "vip_until": account.vip_until.strftime("%Y-%m-%d %H:%M:%S") if account.vip_until else None,
        "connectable": "yes",
        "country_code": "nz",
        "ipv4": "203.0.113.9",
    }
    if snatch_summary:
        data.update({
            "unsat": {"count": account.unsat_count, "limit": account.unsat_limit, "red": False, "size": 0},
            "sSat": {"count": account.satisfied, "red": False, "size": 0},
            "seedHist": {"count": 0, "red": False, "size": 0},
            "leeching": {"count": account.leeching, "red": False, "size": 0},
            "inactHnr": {"count": 0, "red": False, "size": 0},
            "seeding": {"count": account.seeding, "red": False, "size": 0},
        })
    if account.numbers_as_strings:
        for key in ("uid", "ratio", "seedbonus", "wedges"):
            data[key] = str(data[key])
    return data
