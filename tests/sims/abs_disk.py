"""The simulator's library scan of a real folder, as Audiobookshelf 2.36 does it (reference §7, §8).

A library added with ``disk_path`` is scanned from that folder when a scan finishes: the files are
walked, grouped into items, probed with ffprobe (as ABS does), and described by ABS's metadata
precedence. Ported from ABS's source (``server/utils/scandir.js``, ``fileUtils.js``,
``scanner/BookScanner.js``, ``AudioFileScanner.js``, ``AbsMetadataFileScanner.js``,
``generators/abmetadataGenerator.js``, ``parsers/parseSeriesString.js``), kept to what an import
exercises:

* **Walk**: dotfiles and dot-folders, ``@eaDir``, temporary extensions (``.part``, ``.tmp``…) and
  folders holding a ``.ignore`` file are skipped.
* **Grouping**: the deepest folder holding a media file is one item; a ``CD1``/``Disc 2`` folder is
  folded into its parent; a media file in the library root is a single-file item.
* **Identity**: an item is the folder's path; failing that, the folder's inode (a move). A folder
  gone from disk marks its item ``isMissing`` (never deleted); one that comes back is cleared.
* **Metadata of a new item**, lowest to highest: the folder names (``Author/Series/Vol N - YYYY -
  Title {Narrator} [ASIN]``), the first audio file's tags (album/title, artist/album_artist,
  composer → narrators, date, series/series-part, asin), then ``metadata.json``. Author names from
  tags are split on commas (a quirk reference §10 measured). Not simulated: ``.nfo``, ``desc.txt``,
  ``reader.txt``, ``.opf``, ebooks, subtitle parsing, embedded chapters.
* **Rescans** of a known folder update its files (inodes, sizes, durations) and keep its metadata,
  as ABS keeps it unless forced.

Items added with ``add_book`` (no ``files``) are never touched by a disk scan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.sims.abs_records import CODECS, SimFile, SimLibrary

AUDIO = frozenset("m4b mp3 m4a flac opus ogg oga mp4 aac wma aiff aif wav webm webma mka awb caf mpg mpeg".split())
EBOOK = frozenset("epub pdf mobi azw3 cbr cbz".split())
IMAGE = frozenset("png jpg jpeg webp".split())
TEXT = frozenset({"txt", "nfo"})
METADATA = frozenset({"opf", "abs", "xml", "json"})
_IGNORED_EXT = frozenset({".part", ".tmp", ".crdownload", ".download", ".bak", ".old", ".temp", ".tempfile",
                          ".tempfile~"})
_CD = re.compile(r"^(cd|dis[ck])\s*\d{1,3}$", re.IGNORECASE)
_MIME = {"m4b": "audio/mp4", "m4a": "audio/mp4", "mp4": "audio/mp4", "mp3": "audio/mpeg", "flac": "audio/flac",
         "opus": "audio/ogg", "ogg": "audio/ogg", "oga": "audio/ogg", "wav": "audio/wav"}
# ffprobe tag name (lower case) -> ABS metaTags key (AudioFileScanner / prober.js)
_TAG_KEYS = {"album": "tagAlbum", "artist": "tagArtist", "album_artist": "tagAlbumArtist", "title": "tagTitle",
             "composer": "tagComposer", "date": "tagDate", "genre": "tagGenre", "series": "tagSeries",
             "series-part": "tagSeriesPart", "grouping": "tagGrouping", "asin": "tagASIN", "isbn": "tagIsbn",
             "language": "tagLanguage", "publisher": "tagPublisher", "subtitle": "tagSubtitle",
             "comment": "tagComment", "description": "tagDescription", "track": "tagTrack"}


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def file_type(name: str) -> str:
    ext = _ext(name)
    if ext in AUDIO:
        return "audio"
    if ext in EBOOK:
        return "ebook"
    if ext in IMAGE:
        return "image"
    if ext in TEXT:
        return "text"
    if ext in METADATA:
        return "metadata"
    return "unknown"


# ------------------------------------------------------------------ walking and grouping


def walk(root: Path) -> list[str]:
    """Every file under ``root`` ABS would consider, as "/"-separated paths relative to it."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        if rel_dir and ".ignore" in filenames:
            dirnames[:] = []
            continue
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and "@eaDir" not in d]
        for name in filenames:
            if name.startswith(".") or os.path.splitext(name)[1].lower() in _IGNORED_EXT:
                continue
            found.append(f"{rel_dir}/{name}" if rel_dir else name)
    return sorted(found)


def group(paths: list[str]) -> dict[str, list[str]]:
    """``groupFileItemsIntoLibraryItemDirs`` for books: item folder → files relative to it."""
    items: dict[str, list[str]] = {}
    media = [p for p in paths if file_type(p) in ("audio", "ebook")]
    other = [p for p in paths if p not in set(media)]
    for rel in media:
        dirs, name = rel.split("/")[:-1], rel.split("/")[-1]
        if not dirs:
            items[name] = [name]  # a media file in the root: a single-file item
            continue
        path = ""
        for i, part in enumerate(dirs):
            path = f"{path}/{part}" if path else part
            rest = dirs[i + 1:]
            if path in items:
                items[path].append("/".join([*rest, name]))
                break
            if not rest:
                items[path] = [name]
                break
            if len(rest) == 1 and _CD.match(rest[0]):
                items[path] = [f"{rest[0]}/{name}"]
                break
    for rel in other:
        dirs, name = rel.split("/")[:-1], rel.split("/")[-1]
        path = ""
        for i, part in enumerate(dirs):
            path = f"{path}/{part}" if path else part
            if path in items:
                items[path].append("/".join([*dirs[i + 1:], name]))
                break
    return items


# ------------------------------------------------------------------ names and folders


def parse_names(text: str | None) -> list[str]:
    """``parseNameString.parse``, simplified: split on "&", " and ", ";" then commas; an even number
    of comma chunks whose first has no space is read as "Last, First" pairs."""
    if not text:
        return []
    if "&" in text:
        chunks = [c for part in text.split("&") for c in part.split(",")]
    elif " and " in text:
        chunks = [c for part in text.split(" and ") for c in part.split(",")]
    elif ";" in text:
        chunks = [c for part in text.split(";") for c in part.split(",")]
    else:
        chunks = text.split(",")
    chunks = [c.strip() for c in chunks if c.strip()]
    if "," in text and len(chunks) % 2 == 0 and chunks and " " not in chunks[0]:
        return [f"{chunks[i + 1]} {chunks[i]}" for i in range(0, len(chunks), 2)]
    return list(dict.fromkeys(chunks))


_ASIN = re.compile(r"(?: |^)\[([A-Z0-9]{10})](?= |$)")
_NARRATOR = re.compile(r"^(?P<title>.*) \{(?P<narrators>.*)\}$")
_SEQUENCE = re.compile(
    r"^(?P<label>vol\.? |volume |book )?(?P<seq>\d{0,3}(?:\.\d{1,2})?)(?P<dot>\.?)(?: (?P<suffix>.*))?$", re.IGNORECASE)
_YEAR = re.compile(r"^ *\(?([0-9]{4})\)? * - *(.+)")


def _sequence(folder: str) -> tuple[str, str | None]:
    parts = folder.split(" - ")
    for i, part in enumerate(parts):
        m = _SEQUENCE.match(part)
        if m and not (m.group("suffix") and not (m.group("label") or m.group("dot"))):
            seq = m.group("seq")
            try:
                number = float(seq)
                sequence: str | None = str(int(number)) if number.is_integer() else str(number)
            except ValueError:
                sequence = seq or None
            if m.group("suffix"):
                parts[i] = m.group("suffix")
            else:
                parts.pop(i)
            return " - ".join(parts), sequence
    return folder, None


def folder_metadata(rel_path: str) -> dict[str, Any]:
    """``getBookDataFromDir``: the last three segments are Author/Series/Title."""
    parts = rel_path.split("/")
    folder = parts.pop()
    series = parts.pop() if len(parts) > 1 else None
    author = parts.pop() if parts else None
    asin = None
    m = _ASIN.search(folder)
    if m:
        asin = m.group(1)
        folder = folder.replace(m.group(0), "")
    folder = folder.strip()
    narrators = None
    m2 = _NARRATOR.match(folder)
    if m2:
        folder, narrators = m2.group("title"), m2.group("narrators")
    sequence = None
    if series:
        folder, sequence = _sequence(folder)
    year = None
    m3 = _YEAR.match(folder)
    if m3:
        year, folder = m3.group(1), m3.group(2)
    return {"title": folder, "authors": parse_names(author), "narrators": parse_names(narrators),
            "series": [(series, sequence)] if series else [], "publishedYear": year, "asin": asin}


def _series_string(text: str) -> tuple[str, str | None] | None:
    """``parseSeriesString.parse``: "Name #1a" → ("Name", "1a")."""
    if not text:
        return None
    m = re.search(r" #([^#\s]+)$", text)
    if m:
        return text[: m.start()], m.group(1)
    return text, None


def tag_metadata(tags: dict[str, str]) -> dict[str, Any]:
    """``setBookMetadataFromAudioMetaTags`` for the tags an import meets."""
    out: dict[str, Any] = {}
    title = tags.get("tagAlbum") or tags.get("tagTitle")
    if title:
        out["title"] = title.strip()
    artist = tags.get("tagArtist") or tags.get("tagAlbumArtist")
    if artist:
        out["authors"] = parse_names(artist.strip())
    if tags.get("tagComposer"):
        out["narrators"] = parse_names(tags["tagComposer"].strip())
    if tags.get("tagDate"):
        out["publishedYear"] = tags["tagDate"].strip()[:4]
    if tags.get("tagASIN"):
        out["asin"] = tags["tagASIN"].strip()
    if tags.get("tagSeries"):
        out["series"] = [(tags["tagSeries"].strip(), (tags.get("tagSeriesPart") or "").strip() or None)]
    elif tags.get("tagGrouping"):
        out["series"] = [s for s in (_series_string(p.strip()) for p in tags["tagGrouping"].split(";")) if s]
    return out


_JSON_TYPES = {"title": "string", "subtitle": "string", "authors": "array", "narrators": "array", "series": "array",
               "genres": "array", "tags": "array", "publishedYear": "string", "publishedDate": "string",
               "publisher": "string", "description": "string", "isbn": "string", "asin": "string",
               "language": "string", "explicit": "boolean", "abridged": "boolean"}


def json_metadata(text: str) -> dict[str, Any]:
    """``abmetadataGenerator.parseJson`` then ``scanBookMetadataFile``: typed keys only; null values
    and empty authors/genres/tags skipped (an empty narrators or series list *does* clear)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    if isinstance(data.get("metadata"), dict):
        data = {**data, **data.pop("metadata")}
    out: dict[str, Any] = {}
    for key, kind in _JSON_TYPES.items():
        if key not in data or data[key] is None:
            continue
        value = data[key]
        if kind == "string":
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if isinstance(value, str):
                out[key] = value
        elif kind == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            if isinstance(value, bool):
                out[key] = value
        elif isinstance(value, list):
            out[key] = list(dict.fromkeys(v.strip() for v in value if isinstance(v, str) and v.strip()))
    if "series" in out:
        out["series"] = [s for s in (_series_string(v) for v in out["series"]) if s]
    for key in ("authors", "genres", "tags"):
        if key in out and not out[key]:
            del out[key]
    return out


# ------------------------------------------------------------------ probing


def probe_audio(path: Path) -> dict[str, Any]:
    """ffprobe of one audio file, as ABS's ``prober.js`` keeps it (the simulator's own call)."""
    done = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                           str(path)], capture_output=True, timeout=60, check=False)
    try:
        data = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        data = {}
    fmt = data.get("format") or {}
    stream = next((s for s in data.get("streams") or [] if s.get("codec_type") == "audio"), {})
    raw_tags = fmt.get("tags") or {}  # prober.js reads the container's tags
    tags = {_TAG_KEYS[k.lower()]: str(v) for k, v in raw_tags.items() if k.lower() in _TAG_KEYS}
    duration = float(fmt.get("duration") or stream.get("duration") or 0.0)
    bitrate = stream.get("bit_rate") or fmt.get("bit_rate")
    return {"duration": duration, "codec": stream.get("codec_name"),
            "bitrate": int(bitrate) if bitrate and str(bitrate).isdigit() else None,
            "channels": stream.get("channels"), "format": fmt.get("format_long_name"), "tags": tags}


def scan_file(item_dir: Path, rel: str) -> SimFile:
    path = item_dir / rel if rel else item_dir
    st = path.stat()
    kind = file_type(path.name)
    common = {"rel_path": rel or path.name, "ino": str(st.st_ino), "size": st.st_size,
              "mtime_ms": int(st.st_mtime * 1000), "file_type": kind}
    if kind != "audio":
        return SimFile(**common)
    probe = probe_audio(path)
    return SimFile(**common, duration=probe["duration"], codec=probe["codec"], bitrate=probe["bitrate"],
                   channels=probe["channels"], format=probe["format"], mime_type=_MIME.get(_ext(path.name)),
                   tags=tuple(sorted(probe["tags"].items())))


# ------------------------------------------------------------------ the scan


@dataclass
class ScanResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def describe(rel_path: str, files: list[SimFile], root: Path) -> dict[str, Any]:
    """A new item's metadata by ABS's default precedence (later sources win)."""
    meta = folder_metadata(rel_path)
    audio = [f for f in files if f.file_type == "audio"]
    if audio:
        meta.update(tag_metadata(dict(audio[0].tags)))
    doc = next((f for f in files if f.rel_path == "metadata.json"), None)
    if doc is not None:
        meta.update(json_metadata((root / rel_path / doc.rel_path).read_text(errors="replace")))
    return meta


def scan_library(state: Any, lib: SimLibrary) -> ScanResult:
    """Scan ``lib.disk_path`` into ``state`` (the caller holds ``state.lock``)."""
    assert lib.disk_path is not None
    root = Path(lib.disk_path)
    result = ScanResult()
    groups = group(walk(root)) if root.is_dir() else {}
    disk_items = [i for i in state.items_in(lib.id) if i.files]
    by_path = {i.rel_path: i for i in disk_items}
    seen: set[str] = set()
    for rel_path, rels in sorted(groups.items()):
        single = rel_path == rels[0] and "/" not in rel_path and file_type(rel_path) in ("audio", "ebook")
        item_path = root / rel_path
        files = [scan_file(item_path, "" if single else r) for r in sorted(rels)]
        if not any(f.file_type == "audio" for f in files):
            continue  # ebooks are not simulated
        ino = str(item_path.stat().st_ino)
        existing = by_path.get(rel_path) or next((i for i in disk_items if i.ino == ino and i.id not in seen), None)
        if existing is not None:
            seen.add(existing.id)
            if existing.rel_path != rel_path or existing.files != tuple(files) or existing.is_missing:
                state.rescan_disk_item(existing, rel_path, ino, files)
                result.updated.append(existing.id)
            continue
        item = state.add_disk_item(lib.id, rel_path=rel_path, ino=ino, files=files, is_file=single,
                                   metadata=describe(rel_path.rsplit(".", 1)[0] if single else rel_path, files, root))
        seen.add(item.id)
        result.added.append(item.id)
    for item in disk_items:
        if item.id not in seen and not item.is_missing:
            state.mark_missing(item.id)
            result.missing.append(item.id)
    return result


def codec_for(files: list[SimFile]) -> str:
    first = next((f.codec for f in files if f.file_type == "audio" and f.codec), None)
    return first if first in CODECS else "aac"
