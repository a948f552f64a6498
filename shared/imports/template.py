"""The library folder of an import: ``MAMC_IMPORT_FOLDER_TEMPLATE`` rendered, its names made safe.

The default is Audiobookshelf's own layout, ``Author/Series/Vol N - YYYY - Title {Narrator} [ASIN]``,
which ABS's folder parser reads back into author, series and sequence, year, title, narrator and
ASIN (reference §7), so even before ``metadata.json`` is read the item is right.

Why empty parts collapse the way they do: a book has no series, no position, no year or no ASIN
often enough that "Vol  -  - Title {} []" folders would be the norm. A template is split into path
segments ("/"), each segment into pieces (" - "), and pieces hold bracket groups (``{…}``, ``[…]``,
``(…)``). A group or a piece whose every field is empty is dropped, and so is a segment left
empty; literal text beside a field ("Vol ") goes with it. A position without a series is
dropped too: ABS only reads a sequence from a folder that sits in a series folder.

Why names are sanitised for *every* filesystem, not this one: the library folder is often a share
(SMB, NFS) that Windows or macOS clients also write, and a name one of them refuses makes a book
that ABS lists but nobody can copy. So: no ``<>:"/\\|?*`` or control characters, no trailing dot or
space, no leading dot (ABS ignores dotfiles), none of the reserved DOS device names, Unicode in NFC
(macOS writes NFD), and at most ``max_bytes`` bytes of UTF-8 per name (255 is the common limit;
the default leaves room for encrypted filesystems), the title shortened first. Brackets inside a
value become parentheses, so a title cannot fake ABS's ``{narrator}`` or ``[ASIN]`` markers.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["DEFAULT_TEMPLATE", "FIELDS", "FolderFields", "check_template", "render", "sanitize_name"]

DEFAULT_TEMPLATE = "{author}/{series}/Vol {position} - {year} - {title} {{{narrator}}} [{asin}]"
#: The fields a template may name.
FIELDS = ("author", "series", "position", "year", "title", "subtitle", "narrator", "asin")
MAX_NAME_BYTES = 200

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COLON = re.compile(r"\s*:\s*")
_SPACES = re.compile(r"\s+")
_FORBIDDEN_LITERAL = re.compile(r'[<>:"\\|?*\x00-\x1f\x7f]')
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                       *(f"LPT{i}" for i in range(1, 10))})
# markers while rendering: a field that rendered empty, and the bounds of one that did not
_EMPTY, _OPEN, _CLOSE = "\x00", "\x01", "\x02"
_GROUP = re.compile(r"\s*[\[{(]([^\[\]{}()]*)[\]})]")
_TRANSLATE = str.maketrans({"/": "-", "\\": "-", '"': "'", "<": None, ">": None, "|": "-", "?": None, "*": None,
                            "[": "(", "]": ")", "{": "(", "}": ")"})


def sanitize_name(text: str) -> str:
    """One value made safe inside a file name on any filesystem (may return "")."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    text = _COLON.sub(" - ", text)
    text = _SPACES.sub(" ", text.translate(_TRANSLATE)).strip()
    return text


def _finish_segment(text: str) -> str:
    """A rendered name made legal as a whole: spaces, edges, reserved device names."""
    text = _SPACES.sub(" ", text).strip()
    text = text.lstrip(".").rstrip(" .").strip()
    if text.split(".", 1)[0].upper() in _RESERVED:
        text = f"{text}_"
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderFields:
    """What a folder name says about a book (raw values: rendering sanitises them)."""

    title: str
    authors: tuple[str, ...] = ()
    series: str | None = None
    position: str | None = None
    year: str | None = None
    subtitle: str | None = None
    narrators: tuple[str, ...] = ()
    asin: str | None = None

    def values(self) -> dict[str, str]:
        """Field name → sanitised text ("" when unknown). Names are joined with " & ", which ABS's
        name parser splits again; at most three are named (a folder is not a credits list)."""
        series = sanitize_name(self.series or "")
        return {
            "author": sanitize_name(" & ".join(a.strip() for a in self.authors[:3] if a.strip())),
            "series": series,
            "position": sanitize_name(self.position or "") if series else "",
            "year": self.year if self.year and self.year.isdigit() and len(self.year) == 4 else "",
            "title": sanitize_name(self.title),
            "subtitle": sanitize_name(self.subtitle or ""),
            "narrator": sanitize_name(" & ".join(n.strip() for n in self.narrators[:3] if n.strip())),
            "asin": self.asin.upper() if self.asin and re.fullmatch(r"[A-Za-z0-9]{10}", self.asin) else "",
        }


Piece = tuple[str, str | None]  # (literal text, field name or None)


def _parse_segment(segment: str) -> list[Piece]:
    try:
        parsed = list(string.Formatter().parse(segment))
    except ValueError as exc:
        raise ValueError(f"folder template segment {segment!r}: {exc}") from None
    out: list[Piece] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (spec or conversion):
            raise ValueError(f"folder template field {{{name}}}: no format specs or conversions")
        if name is not None and name not in FIELDS:
            raise ValueError(f"folder template names an unknown field {{{name}}}; known: {', '.join(FIELDS)}")
        out.append((literal, name))
    return out


def _segments(template: str) -> list[list[Piece]]:
    if not template.strip():
        raise ValueError("the folder template is empty")
    if template.startswith("/"):
        raise ValueError("the folder template is relative to MAMC_ABS_LIBRARY_DIR: it must not start with /")
    segments = template.split("/")
    if any(not s.strip() or s.strip() in (".", "..") for s in segments):
        raise ValueError("the folder template has an empty, '.' or '..' path segment")
    parsed = [_parse_segment(s) for s in segments]
    for pieces in parsed:
        literal = "".join(text for text, _ in pieces)
        bad = _FORBIDDEN_LITERAL.search(literal.replace("{", "").replace("}", ""))
        if bad:
            raise ValueError(f"folder template: {bad.group()!r} is not allowed in a file name")
    if not any(name == "title" for pieces in parsed for _, name in pieces):
        raise ValueError("the folder template must name {title} (two books would share a folder)")
    return parsed


def check_template(template: str) -> str:
    """The template if it renders (known fields, relative, names {title}); ValueError otherwise."""
    _segments(template)
    return template


def _render_segment(pieces: list[Piece], values: dict[str, str]) -> str:
    text = "".join(literal + ("" if name is None else (_OPEN + values[name] + _CLOSE) if values.get(name) else _EMPTY)
                   for literal, name in pieces)

    def group(match: re.Match[str]) -> str:
        inner = match.group(1)
        return "" if _EMPTY in inner and _OPEN not in inner else match.group(0)

    text = _GROUP.sub(group, text)
    kept = [p for p in text.split(" - ") if not (_EMPTY in p and _OPEN not in p)]
    joined = " - ".join(kept)
    for marker in (_EMPTY, _OPEN, _CLOSE):
        joined = joined.replace(marker, "")
    return _finish_segment(joined)


def _fit(pieces: list[Piece], values: dict[str, str], max_bytes: int) -> str:
    """The segment, with its longest field shortened (title first) until it fits ``max_bytes``."""
    values = dict(values)
    rendered = _render_segment(pieces, values)
    names = [n for _, n in pieces if n]
    while len(rendered.encode()) > max_bytes:
        over = len(rendered.encode()) - max_bytes
        longest = max(names, key=lambda n: (n == "title", len(values.get(n, ""))))
        current = values.get(longest, "")
        if not current:
            raise ValueError(f"the folder template's literal text alone exceeds {max_bytes} bytes")
        cut = current.encode()[: max(0, len(current.encode()) - over)].decode(errors="ignore")
        values[longest] = cut.rstrip(" .-") if cut != current else current[:-1]
        if not values[longest]:
            names.remove(longest)
            if not names:
                raise ValueError(f"the folder name cannot fit in {max_bytes} bytes")
        rendered = _render_segment(pieces, values)
    return rendered


def render(template: str, fields: FolderFields, *, max_bytes: int = MAX_NAME_BYTES) -> PurePosixPath:
    """The relative folder for ``fields`` (every segment a legal name); ValueError if none is left."""
    values = fields.values()
    if not values["title"]:
        raise ValueError("a book without a title has no folder name")
    parts = [p for p in (_fit(pieces, values, max_bytes) for pieces in _segments(template)) if p]
    if not parts:
        raise ValueError(f"the folder template {template!r} rendered nothing for {fields.title!r}")
    return PurePosixPath(*parts)
