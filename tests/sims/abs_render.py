"""JSON shapes the Audiobookshelf simulator serves, one function per shape ABS has.

ABS has three item shapes and the differences are the trap (reference §3-§4):

* **minified** (every list): display strings ``authorName``/``seriesName``/``narratorName`` only,
  no ``authors[]``/``series[]`` arrays — names with commas are ambiguous here;
* **expanded** (``?expanded=1``, ``batch/get``): a strict superset of minified, adding the arrays,
  ``audioFiles``, ``tracks``, ``libraryFiles``…;
* **old** (``GET /api/items/:id`` without ``expanded``, the PATCH response): has the arrays but no
  ``numFiles``, top-level ``size``, ``media.duration``, ``tracks`` or display strings.
"""

from __future__ import annotations

from typing import Any

from tests.sims.abs_records import CODECS, SimFile, SimItem, SimLibrary
from tests.sims.abs_state import AbsState

_PREFIXES = ("the ", "a ")


def render_library(lib: SimLibrary) -> dict[str, Any]:
    return {
        "id": lib.id,
        "name": lib.name,
        "folders": [{"id": lib.folder_id, "fullPath": lib.folder_path, "libraryId": lib.id, "addedAt": lib.created_at}],
        "displayOrder": lib.display_order,
        "icon": "audiobookshelf" if lib.media_type == "book" else "podcast",
        "mediaType": lib.media_type,
        "provider": lib.provider,
        "settings": dict(lib.settings),
        "lastScan": lib.last_scan,
        "lastScanVersion": "2.36.0",
        "createdAt": lib.created_at,
        "lastUpdate": lib.last_scan or lib.created_at,
    }


def media_id(item: SimItem) -> str:
    """Stable media id derived from the item id (stored ids would cost ~100 B per item)."""
    h = item.id.replace("-", "")
    h = h[16:] + h[:16]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def title_ignore_prefix(title: str | None) -> str | None:
    if not title:
        return title
    for prefix in _PREFIXES:
        if title.lower().startswith(prefix):
            return f"{title[len(prefix) :]}, {title[: len(prefix) - 1]}"
    return title


def _last_first(name: str) -> str:
    parts = name.split()
    return name if len(parts) < 2 else f"{parts[-1]}, {' '.join(parts[:-1])}"


def _author_names(state: AbsState, item: SimItem) -> list[str]:
    return [state.authors[a].name for a in item.author_ids]


def _series_name(state: AbsState, item: SimItem) -> str | None:
    parts = [state.series[s].name + (f" #{q}" if q else "") for s, q in item.series]
    return ", ".join(parts) if parts else None


def _path(state: AbsState, item: SimItem) -> str:
    return f"{state.libraries[item.library_id].folder_path}/{item.rel_path}"


def _base(state: AbsState, item: SimItem) -> dict[str, Any]:
    lib = state.libraries[item.library_id]
    return {
        "id": item.id,
        "ino": item.ino,
        "oldLibraryItemId": None,
        "libraryId": item.library_id,
        "folderId": lib.folder_id,
        "path": _path(state, item),
        "relPath": item.rel_path,
        "isFile": item.is_file,
        "mtimeMs": item.mtime_ms,
        "ctimeMs": item.mtime_ms,
        "birthtimeMs": item.birthtime_ms,
        "addedAt": item.added_at,
        "updatedAt": item.updated_at,
    }


def _flags(item: SimItem) -> dict[str, Any]:
    return {"isMissing": item.is_missing, "isInvalid": item.is_invalid, "mediaType": item.media_type}


def _file_name(item: SimItem, index: int) -> str:
    ext = CODECS[item.codec][1]
    if item.media_type == "podcast":
        return f"Episode {index:03d}{ext}"
    return f"{item.title or 'audio'}{ext}" if item.n_files == 1 else f"Part {index:02d}{ext}"


def _file_meta(state: AbsState, item: SimItem, f: SimFile) -> dict[str, Any]:
    name = f.rel_path.rsplit("/", 1)[-1]
    return {"filename": name, "ext": "." + name.rsplit(".", 1)[-1].lower() if "." in name else "",
            "path": f"{_path(state, item)}/{f.rel_path}", "relPath": f.rel_path, "size": f.size,
            "mtimeMs": f.mtime_ms, "ctimeMs": f.mtime_ms, "birthtimeMs": 0}


def _disk_audio_files(state: AbsState, item: SimItem) -> list[dict[str, Any]]:
    """A scanned item's audio files, as ABS's ``AudioFile`` records them (ffprobe's figures)."""
    out = []
    for index, f in enumerate(item.audio, start=1):
        out.append({
            "index": index, "ino": f.ino, "metadata": _file_meta(state, item, f), "addedAt": item.added_at,
            "updatedAt": item.added_at, "trackNumFromMeta": None, "discNumFromMeta": None,
            "trackNumFromFilename": None, "discNumFromFilename": None, "manuallyVerified": False, "exclude": False,
            "error": None, "format": f.format, "duration": f.duration, "bitRate": f.bitrate, "language": None,
            "codec": f.codec, "timeBase": None, "channels": f.channels,
            "channelLayout": "stereo" if f.channels == 2 else "mono", "chapters": [], "embeddedCoverArt": None,
            "metaTags": dict(f.tags), "mimeType": f.mime_type,
        })
    return out


def audio_files(state: AbsState, item: SimItem) -> list[dict[str, Any]]:
    """One entry per file; durations split evenly so they sum to the item's duration."""
    if item.files:
        return _disk_audio_files(state, item)
    fmt, _ext, mime = CODECS[item.codec]
    base_ino, n = int(item.ino), item.n_files
    each = round(item.duration / n, 3)
    out = []
    for index in range(1, n + 1):
        duration = round(item.duration - each * (n - 1), 3) if index == n else each
        name = _file_name(item, index)
        out.append(
            {
                "index": index,
                "ino": str(base_ino + index),
                "metadata": {
                    "filename": name,
                    "ext": CODECS[item.codec][1],
                    "path": f"{_path(state, item)}/{name}",
                    "relPath": name,
                    "size": item.size // n,
                    "mtimeMs": item.mtime_ms,
                    "ctimeMs": item.mtime_ms,
                    "birthtimeMs": 0,
                },
                "addedAt": item.added_at,
                "updatedAt": item.added_at,
                "trackNumFromMeta": index,
                "discNumFromMeta": None,
                "trackNumFromFilename": index if n > 1 else None,
                "discNumFromFilename": None,
                "manuallyVerified": False,
                "exclude": False,
                "error": None,
                "format": fmt,
                "duration": duration,
                "bitRate": item.bitrate,
                "language": None,
                "codec": item.codec,
                "timeBase": "1/44100",
                "channels": item.channels,
                "channelLayout": "stereo" if item.channels == 2 else "mono",
                "chapters": [],
                "embeddedCoverArt": None,
                "metaTags": {"tagAlbum": item.title, "tagTrack": str(index)},
                "mimeType": mime,
            }
        )
    return out


def _library_files(state: AbsState, item: SimItem, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if item.files:
        return [{"ino": f.ino, "metadata": _file_meta(state, item, f), "isSupplementary": None,
                 "addedAt": item.added_at, "updatedAt": item.added_at, "fileType": f.file_type} for f in item.files]
    out = [
        {
            "ino": f["ino"],
            "metadata": f["metadata"],
            "isSupplementary": None,
            "addedAt": item.added_at,
            "updatedAt": item.added_at,
            "fileType": "audio",
        }
        for f in files
    ]
    if item.has_cover:
        meta = {
            "filename": "cover.jpg",
            "ext": ".jpg",
            "path": f"{_path(state, item)}/cover.jpg",
            "relPath": "cover.jpg",
            "size": 120_000,
            "mtimeMs": item.mtime_ms,
            "ctimeMs": item.mtime_ms,
            "birthtimeMs": 0,
        }
        out.append(
            {
                "ino": str(int(item.ino) + item.n_files + 1),
                "metadata": meta,
                "isSupplementary": None,
                "addedAt": item.added_at,
                "updatedAt": item.added_at,
                "fileType": "image",
            }
        )
    return out


def _num_chapters(item: SimItem) -> int:
    """One chapter per file for multi-file books, roughly one per hour for a single file."""
    return item.n_files if item.n_files > 1 else max(1, int(item.duration // 3600))


def _num_files(item: SimItem) -> int:
    return len(item.files) if item.files else item.n_files + int(item.has_cover)


def _chapters(item: SimItem, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if item.n_files > 1:
        spans, start = [], 0.0
        for f in files:
            spans.append((start, start + f["duration"]))
            start += f["duration"]
    else:
        count = _num_chapters(item)
        step = item.duration / count
        spans = [(i * step, (i + 1) * step if i < count - 1 else item.duration) for i in range(count)]
    return [
        {"id": i, "start": round(s, 3), "end": round(e, 3), "title": f"Chapter {i + 1}"}
        for i, (s, e) in enumerate(spans)
    ]


def _tracks(item: SimItem, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tracks, offset = [], 0.0
    for f in files:
        tracks.append(
            {
                "index": f["index"],
                "startOffset": round(offset, 3),
                "duration": f["duration"],
                "title": f["metadata"]["filename"],
                "contentUrl": f"/api/items/{item.id}/file/{f['ino']}",
                "mimeType": f["mimeType"],
                "codec": f["codec"],
                "metadata": f["metadata"],
            }
        )
        offset += f["duration"]
    return tracks


def _cover(state: AbsState, item: SimItem) -> str | None:
    if item.files:
        image = next((f for f in item.files if f.file_type == "image"), None)
        return f"{_path(state, item)}/{image.rel_path}" if image else None
    return f"{_path(state, item)}/cover.jpg" if item.has_cover else None


def _book_scalars(item: SimItem) -> dict[str, Any]:
    return {
        "publishedYear": item.published_year,
        "publishedDate": item.published_date,
        "publisher": item.publisher,
        "description": item.description,
        "isbn": item.isbn,
        "asin": item.asin,
        "language": item.language,
        "explicit": item.explicit,
        "abridged": item.abridged,
    }


def _display_strings(state: AbsState, item: SimItem) -> dict[str, Any]:
    names = _author_names(state, item)
    return {
        "authorName": ", ".join(names),
        "authorNameLF": ", ".join(_last_first(n) for n in names),
        "narratorName": ", ".join(item.narrators),
        "seriesName": _series_name(state, item),
    }


def _arrays(state: AbsState, item: SimItem) -> dict[str, Any]:
    return {
        "authors": [{"id": a, "name": state.authors[a].name} for a in item.author_ids],
        "narrators": list(item.narrators),
        "series": [{"id": s, "name": state.series[s].name, "sequence": q} for s, q in item.series],
    }


def _podcast_metadata(item: SimItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "titleIgnorePrefix": title_ignore_prefix(item.title),
        "author": item.podcast_author,
        "description": item.description,
        "releaseDate": None,
        "genres": list(item.genres),
        "feedUrl": f"https://feeds.example.invalid/{item.ino}.xml",
        "imageUrl": None,
        "itunesPageUrl": None,
        "itunesId": None,
        "itunesArtistId": None,
        "explicit": item.explicit,
        "language": item.language,
        "type": "episodic",
    }


def _podcast_media(state: AbsState, item: SimItem, expanded: bool) -> dict[str, Any]:
    media: dict[str, Any] = {
        "id": media_id(item),
        "metadata": _podcast_metadata(item),
        "coverPath": _cover(state, item),
        "tags": list(item.tags),
        "autoDownloadEpisodes": False,
        "autoDownloadSchedule": "0 * * * *",
        "lastEpisodeCheck": item.updated_at,
        "maxEpisodesToKeep": 0,
        "maxNewEpisodesToDownload": 3,
    }
    if expanded:
        media["libraryItemId"] = item.id
        media["episodes"] = [
            {
                "libraryItemId": item.id,
                "podcastId": media["id"],
                "id": f"ep_{item.ino}_{f['index']}",
                "index": f["index"],
                "title": f"Episode {f['index']}",
                "audioFile": f,
                "duration": f["duration"],
                "size": f["metadata"]["size"],
                "publishedAt": item.added_at,
                "addedAt": item.added_at,
            }
            for f in audio_files(state, item)
        ]
    else:
        media["numEpisodes"] = item.n_files
    media["size"] = item.size
    return media


def render_minified(state: AbsState, item: SimItem, *, series_id: str | None = None) -> dict[str, Any]:
    """List shape. With a series filter ABS adds ``metadata.series`` as one ``{id,name,sequence}``."""
    out = _base(state, item) | _flags(item)
    if item.media_type == "podcast":
        out["media"] = _podcast_media(state, item, expanded=False)
        out["numFiles"] = _num_files(item)
        out["size"] = item.size
        return out
    metadata: dict[str, Any] = {
        "title": item.title,
        "titleIgnorePrefix": title_ignore_prefix(item.title),
        "subtitle": item.subtitle,
        **_display_strings(state, item),
        "genres": list(item.genres),
        **_book_scalars(item),
    }
    if series_id is not None:
        seq = dict(item.series).get(series_id)
        metadata["series"] = {"id": series_id, "name": state.series[series_id].name, "sequence": seq}
    out["media"] = {
        "id": media_id(item),
        "metadata": metadata,
        "coverPath": _cover(state, item),
        "tags": list(item.tags),
        "numTracks": item.n_files,
        "numAudioFiles": item.n_files,
        "numChapters": _num_chapters(item),
        "duration": item.duration,
        "size": item.size,
        "ebookFormat": None,
    }
    out["numFiles"] = _num_files(item)
    out["size"] = item.size
    return out


def render_expanded(state: AbsState, item: SimItem) -> dict[str, Any]:
    """``toOldJSONExpanded``: minified plus arrays, files, tracks and scan info."""
    out = render_minified(state, item)
    files = audio_files(state, item)
    out["lastScan"] = state.libraries[item.library_id].last_scan
    out["scanVersion"] = state.server_version
    out["libraryFiles"] = _library_files(state, item, files)
    if item.media_type == "podcast":
        out["media"] = _podcast_media(state, item, expanded=True)
        return out
    media = out["media"]
    media["libraryItemId"] = item.id
    media["metadata"] |= _arrays(state, item)
    media["metadata"]["descriptionPlain"] = item.description
    media["audioFiles"] = files
    media["chapters"] = _chapters(item, files)
    media["ebookFile"] = None
    media["tracks"] = _tracks(item, files)
    return out


def render_old(state: AbsState, item: SimItem) -> dict[str, Any]:
    """``toOldJSON``: arrays but no display strings, ``numFiles``, ``size``, duration or tracks."""
    out = _base(state, item)
    out["lastScan"] = state.libraries[item.library_id].last_scan
    out["scanVersion"] = state.server_version
    out |= _flags(item)
    files = audio_files(state, item)
    if item.media_type == "podcast":
        media = _podcast_media(state, item, expanded=True)
        media.pop("size", None)
    else:
        metadata = {
            "title": item.title,
            "subtitle": item.subtitle,
            **_arrays(state, item),
            "genres": list(item.genres),
            **_book_scalars(item),
        }
        media = {
            "id": media_id(item),
            "libraryItemId": item.id,
            "metadata": metadata,
            "coverPath": _cover(state, item),
            "tags": list(item.tags),
            "audioFiles": files,
            "chapters": _chapters(item, files),
            "ebookFile": None,
        }
    out["media"] = media
    out["libraryFiles"] = _library_files(state, item, files)
    return out
