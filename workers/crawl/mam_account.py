"""``/jsonLoad.php?snatch_summary`` → :class:`AccountSnapshot`, defensively.

The answer's exact shape varies between transcriptions (counters as numbers, strings, or objects
with a ``count``), so every field is optional and the raw answer is kept, minus anything that could
be a credential, for what we do not read yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.crawl.torrent import AccountSnapshot
from shared.infra.errors import MalformedResponse
from workers.crawl.mam_parse import parse_added, parse_float, parse_int, parse_size, parse_text

#: Keys never kept in ``raw``: session and tracker credentials, and personal network data.
SECRET_KEYS = frozenset({
    "mam_id", "cookie", "session", "passkey", "torrent_pass", "torrentpass", "announce", "dl", "dllink",
    "email", "ip", "ipv4", "ipv6", "ip_address", "rss_key", "rsskey", "api_key", "apikey", "token",
})


def strip_secrets(data: Any, redact: Callable[[str], str] = str) -> Any:
    """A copy of a JSON tree without :data:`SECRET_KEYS` (any depth), strings passed through ``redact``."""
    if isinstance(data, Mapping):
        return {str(k): strip_secrets(v, redact) for k, v in data.items() if str(k).lower() not in SECRET_KEYS}
    if isinstance(data, list):
        return [strip_secrets(v, redact) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data


def _count(value: object) -> int | None:
    """A counter given as 7, "7" or ``{"count": 7, ...}``."""
    if isinstance(value, Mapping):
        return parse_int(value.get("count"))
    return parse_int(value)


def _bytes(data: Mapping[str, Any], key: str) -> int | None:
    """A volume as bytes: ``uploaded_bytes`` when present, else the human ``uploaded`` ("1.2 TiB")."""
    exact = parse_int(data.get(f"{key}_bytes"))
    return exact if exact is not None else parse_size(data.get(key))


def parse_account(data: Any, redact: Callable[[str], str] = str) -> AccountSnapshot:
    """The member's standing; raises :class:`MalformedResponse` only when the answer is no object."""
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"MAM jsonLoad: expected a JSON object, got {type(data).__name__}")
    unsat = data.get("unsat")
    unsat_map: Mapping[str, Any] = unsat if isinstance(unsat, Mapping) else {}
    classname = parse_text(data.get("classname") or data.get("class")) or None
    return AccountSnapshot(
        uid=parse_int(data.get("uid")),
        username=parse_text(data.get("username")) or None,
        classname=classname,
        ratio=parse_float(data.get("ratio")),
        uploaded_bytes=_bytes(data, "uploaded"),
        downloaded_bytes=_bytes(data, "downloaded"),
        seedbonus=parse_float(data.get("seedbonus")),
        wedges=parse_int(data.get("wedges")),
        vip_until=parse_added(data.get("vip_until")),
        unsat_count=_count(unsat) if unsat is not None else None,
        unsat_limit=parse_int(unsat_map.get("limit")),
        seeding=_count(data.get("seeding") or data.get("sSeed")),
        leeching=_count(data.get("leeching")),
        satisfied=_count(data.get("sSat")),
        bonus_per_hour=parse_float(data.get("bonus_per_hour") or data.get("bonusPerHour")),
        raw=strip_secrets(dict(data), redact),
    )
