"""The search endpoint's semantics: both request forms read into one :class:`SearchParams`, then
filter, sort and page the catalogue the way the reference describes.

GET form: PHP bracket keys (``tor[text]``, ``tor[srchIn][title]=true``, ``tor[cat][]=0``,
``tor[browse_lang][0]=1``). POST JSON form: ``srchIn`` a list, ``perpage``/``dlLink``/``my_snatched``
beside ``tor``. Top-level flags count when *present* (PHP ``isset``), whatever their value: the
reference's own example sends ``"dlLink": ""`` to ask for ``dl``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tests.sims.mam.catalogue import SimTorrent

_BRACKETS = re.compile(r"\[([^\]]*)\]")
_FLAG_KEYS = ("dlLink", "my_snatched", "description", "mediaInfo", "isbn", "thumbnail")


class BadRequest(ValueError):
    """A request the real site would refuse; answered as MAM's JSON ``error``."""


@dataclass
class SearchParams:
    text: str = ""
    srch_in: list[str] = field(default_factory=lambda: ["title", "author", "narrator", "series"])
    search_type: str = "all"
    main_cat: list[int] = field(default_factory=list)
    cat: list[int] = field(default_factory=list)
    browse_lang: list[int] = field(default_factory=list)
    sort_type: str = "default"
    start: int = 0
    perpage: int = 25
    start_date: datetime | None = None
    end_date: datetime | None = None
    flags: set[str] = field(default_factory=set)
    torrent_id: int | None = None


def nest_brackets(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP's reading of ``a[b][c]=v`` and ``a[]=v`` query keys into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head = key.split("[", 1)[0]
        path = [head, *_BRACKETS.findall(key[len(head):])]
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, list):
                node.append(value if last else {})
                node = node[-1]
                continue
            nxt_is_list = not last and path[i + 1] == ""
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, [] if nxt_is_list else {})
    return root


def _ints(value: Any) -> list[int]:
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else [value]
    return [int(v) for v in items if str(v).strip().lstrip("-").isdigit()]


def _when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise BadRequest(f"bad date {text!r}") from None


def read_params(data: Mapping[str, Any]) -> SearchParams:
    """Both forms, already nested (GET via :func:`nest_brackets`, POST as parsed JSON)."""
    tor = data.get("tor") or {}
    if not isinstance(tor, Mapping):
        raise BadRequest("tor must be an object")
    srch_in = tor.get("srchIn")
    if isinstance(srch_in, Mapping):  # GET form: srchIn[title]=true
        fields_in = [k for k, v in srch_in.items() if str(v).lower() in ("true", "1", "on")]
    elif isinstance(srch_in, list):
        fields_in = [str(v) for v in srch_in]
    else:
        fields_in = ["title", "author", "narrator", "series"]
    perpage = int(data.get("perpage", tor.get("perpage", 25)) or 25)
    cats = [c for c in _ints(tor.get("cat", [])) if c != 0]
    return SearchParams(
        text=str(tor.get("text", "") or ""),
        srch_in=fields_in,
        search_type=str(tor.get("searchType", "all") or "all"),
        main_cat=_ints(tor.get("main_cat", [])),
        cat=cats,
        browse_lang=_ints(tor.get("browse_lang", [])),
        sort_type=str(tor.get("sortType", "default") or "default"),
        start=max(0, int(tor.get("startNumber", data.get("startNumber", 0)) or 0)),
        perpage=min(1000, max(5, perpage)),
        start_date=_when(tor.get("startDate")),
        end_date=_when(tor.get("endDate")),
        flags={k for k in _FLAG_KEYS if k in data},
        torrent_id=int(tor["id"]) if str(tor.get("id", "")).isdigit() else None,
    )


_SEARCH_TYPES: dict[str, Callable[[SimTorrent], bool]] = {
    "all": lambda t: True,
    "active": lambda t: t.seeders > 0,
    "inactive": lambda t: t.seeders == 0,
    "fl": lambda t: t.free,
    "fl-VIP": lambda t: t.free or t.fl_vip,
    "VIP": lambda t: t.vip,
    "nVIP": lambda t: not t.vip,
    "nMeta": lambda t: not t.authors,
}

_SORTS: dict[str, Callable[[SimTorrent], Any]] = {
    "title": lambda t: t.title.lower(),
    "file": lambda t: t.filetype,
    "size": lambda t: t.size_bytes,
    "seeders": lambda t: t.seeders,
    "leechers": lambda t: t.leechers,
    "snatched": lambda t: t.times_completed,
    "date": lambda t: t.added,
    "category": lambda t: t.category,
    "bmka": lambda t: t.id,
    "reseed": lambda t: t.id,
}


def _matches_text(torrent: SimTorrent, params: SearchParams) -> bool:
    words = re.findall(r"\w+", params.text.lower())
    if not words:
        return True
    haystack = " ".join(torrent.haystack(f) for f in params.srch_in)
    return all(word in haystack for word in words)


def select(catalogue: list[SimTorrent], params: SearchParams, *, only_snatched: bool) -> list[SimTorrent]:
    """Every matching torrent, sorted (the page is cut by the caller)."""
    if params.search_type not in _SEARCH_TYPES:
        raise BadRequest(f"unknown searchType {params.search_type!r}")
    keep = _SEARCH_TYPES[params.search_type]
    rows = [
        t for t in catalogue
        if keep(t)
        and (params.torrent_id is None or t.id == params.torrent_id)
        and (not params.main_cat or t.main_cat in params.main_cat)
        and (not params.cat or t.category in params.cat)
        and (not params.browse_lang or t.language in params.browse_lang)
        and (params.start_date is None or t.added >= params.start_date)
        and (params.end_date is None or t.added < params.end_date)
        and (not only_snatched or t.snatched)
        and _matches_text(t, params)
    ]
    return sort_rows(rows, params)


def sort_rows(rows: list[SimTorrent], params: SearchParams) -> list[SimTorrent]:
    sort = params.sort_type
    if sort == "random":
        return random.Random(len(rows)).sample(rows, len(rows))
    if sort == "default":  # relevance weight (not simulated) then id descending; newest first without text
        key: Callable[[SimTorrent], Any] = (lambda t: t.id) if params.text else (lambda t: t.added)
        return sorted(rows, key=key, reverse=True)
    for suffix, reverse in (("Asc", False), ("Desc", True)):
        if sort.endswith(suffix) and sort[: -len(suffix)] in _SORTS:
            return sorted(rows, key=_SORTS[sort[: -len(suffix)]], reverse=reverse)
    raise BadRequest(f"unknown sortType {sort!r}")
