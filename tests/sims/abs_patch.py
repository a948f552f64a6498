"""``PATCH /api/items/:id/media`` exactly as ABS applies it, silent failures included.

Mirrors ``Book.updateFromRequest`` + ``updateSeriesFromRequest`` + ``updateAuthorsFromRequest`` and
the controller glue (``LibraryItemController.updateMedia``), because the client's job is to detect
what ABS quietly ignores or wipes — a simulator that "fixed" these would hide real bugs:

* string fields accept strings or ``null`` only; numbers become strings (JS ``String()``), ``""``
  stores ``null``, anything else (bool, list, object) is ignored;
* ``explicit``/``abridged`` use JavaScript truthiness (``"false"`` is true!);
* ``narrators``/``genres`` (in ``metadata``) and ``tags`` (top level, *not* in metadata) must be
  arrays of strings, otherwise ignored;
* ``authors`` elements without a string ``name`` are dropped — so ``["Terry Pratchett"]`` becomes
  ``[]`` and detaches every author; a ``null`` element throws in ABS (500 here);
* one ``series`` element without a string ``name`` skips the whole series update; a non-string
  ``sequence`` becomes ``null``;
* ``seriesName``/``authorName``/``narratorName``/``authorNameLF`` and unknown keys are ignored.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tests.sims.abs_query import SimHTTPError
from tests.sims.abs_records import SimItem
from tests.sims.abs_state import AbsState

BOOK_STRING_KEYS = (
    "title",
    "subtitle",
    "publishedYear",
    "publishedDate",
    "publisher",
    "description",
    "isbn",
    "asin",
    "language",
)
_ATTR = {
    "title": "title",
    "subtitle": "subtitle",
    "publishedYear": "published_year",
    "publishedDate": "published_date",
    "publisher": "publisher",
    "description": "description",
    "isbn": "isbn",
    "asin": "asin",
    "language": "language",
}
_PODCAST_STRING_KEYS = {
    "title": "title",
    "author": "podcast_author",
    "description": "description",
    "language": "language",
}
_ALLOWED_TAGS = {"p", "ol", "ul", "li", "a", "strong", "em", "del", "br", "b", "i"}
_DROP_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_HREF = re.compile(r"""\s(href|name|target)\s*=\s*("[^"]*"|'[^']*')""", re.IGNORECASE)
_UNDEFINED = object()


def js_truthy(value: Any) -> bool:
    if value is None or value is False or value == "" or (isinstance(value, int | float) and value == 0):
        return False
    return not (isinstance(value, float) and math.isnan(value))


def js_string(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value) if not isinstance(value, float) else repr(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sanitize_html(text: str) -> str:
    """ABS ``htmlSanitizer.sanitize``: a small allow-list of tags; ``a`` keeps href/name/target."""
    text = _DROP_BLOCKS.sub("", text)

    def tag(match: re.Match[str]) -> str:
        closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
        if name not in _ALLOWED_TAGS:
            return ""
        kept = "".join(f" {m.group(1).lower()}={m.group(2)}" for m in _HREF.finditer(attrs)) if name == "a" else ""
        return f"<{closing}{name}{kept}>"

    return _TAG.sub(tag, text)


def _string_list(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _apply_strings(item: SimItem, metadata: dict[str, Any], keys: dict[str, str]) -> bool:
    changed = False
    for key, attr in keys.items():
        value = metadata.get(key, _UNDEFINED)
        if _is_number(value):
            value = js_string(value)
        if not (isinstance(value, str) or value is None) or getattr(item, attr) == value:
            continue
        if key == "description" and value:
            value = sanitize_html(value)
        setattr(item, attr, value or None)
        changed = True  # note: "" over null counts as an update although nothing changes
    return changed


def _apply_flags_and_lists(item: SimItem, metadata: dict[str, Any]) -> bool:
    changed = False
    for key in ("explicit", "abridged"):
        if key in metadata and getattr(item, key) != js_truthy(metadata[key]):
            setattr(item, key, js_truthy(metadata[key]))
            changed = True
    for key in ("narrators", "genres"):
        values = _string_list(metadata.get(key))
        if values is not None and values != getattr(item, key):
            setattr(item, key, values)
            changed = True
    return changed


def _series_entries(raw: list[Any]) -> list[tuple[str, str | None]] | None:
    entries = []
    for element in raw:
        if element is None:
            raise SimHTTPError(500, "Internal Server Error")  # TypeError: reading 'name' of null
        name = element.get("name") if isinstance(element, dict) else None
        if not name or not isinstance(name, str):
            return None  # one bad element: the whole series update is skipped, silently
        sequence = element.get("sequence")
        entries.append((name, sequence if isinstance(sequence, str) else None))
    return entries


def _author_names(raw: list[Any]) -> list[str]:
    names = []
    for element in raw:
        if element is None:
            raise SimHTTPError(500, "Internal Server Error")
        name = element.get("name") if isinstance(element, dict) else None
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def apply_media_patch(state: AbsState, item: SimItem, payload: Any) -> bool:
    """Apply a PATCH body to ``item``; returns ABS's ``updated`` flag. Caller holds ``state.lock``."""
    if not isinstance(payload, dict):
        return False  # express.json accepts arrays; every lookup on one is undefined
    for unsupported in ("url", "audioFiles", "chapters", "ebookFile"):
        if js_truthy(payload.get(unsupported)) or isinstance(payload.get(unsupported), list):
            raise SimHTTPError(501, f"simulator: PATCH media {unsupported!r} is not simulated")
    try:
        return _apply(state, item, payload)
    except SimHTTPError:
        state.version += 1  # ABS had already saved the scalar fields when it threw
        raise


def _apply(state: AbsState, item: SimItem, payload: dict[str, Any]) -> bool:
    metadata = payload.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if item.media_type == "podcast":
        changed = _apply_strings(item, metadata, _PODCAST_STRING_KEYS)
        changed = (
            _apply_flags_and_lists(item, {k: v for k, v in metadata.items() if k in ("explicit", "genres")}) or changed
        )
    else:
        changed = _apply_strings(item, metadata, _ATTR)
        changed = _apply_flags_and_lists(item, metadata) or changed
    tags = _string_list(payload.get("tags"))
    if tags is not None and tags != item.tags:
        item.tags = tags
        changed = True
    if item.media_type == "book" and isinstance(metadata.get("series"), list):
        entries = _series_entries(metadata["series"])
        if entries is not None:
            changed = state.set_item_series(item, entries) or changed
    if item.media_type == "book" and isinstance(metadata.get("authors"), list):
        changed = state.set_item_authors(item, _author_names(metadata["authors"])) or changed
    if changed:
        state.touch(item)
    return changed
