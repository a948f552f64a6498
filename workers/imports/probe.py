"""ffprobe and ffmpeg on a download's files: what each audio file is, and whether it decodes.

ffprobe reads only headers, so a file cut short (a torrent completed from a bad seed, a truncated
upload) can probe fine; each audio file is therefore also *decoded* on three short windows (the
start, the middle, the end), where a truncated or corrupt stream shows as an ffmpeg error. Decoding
the whole of a 30-hour book would take minutes for little more certainty.

The files are opened read-only by both tools: probing never writes a seeding file.

ffprobe's JSON is parsed defensively (:func:`parse_probe`): numbers arrive as strings, "N/A" or not
at all, tags under the format or the stream, in any case.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.imports.verify import AUDIO_EXTENSIONS, FileProbe
from shared.infra.errors import ConfigError

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 120.0
DECODE_WINDOW = 5.0  # seconds decoded at each sample point


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return None
        return parsed if parsed == parsed and parsed not in (float("inf"), float("-inf")) else None
    return None


def _tags(*sources: Any) -> dict[str, str]:
    """Tags of the format and the audio stream, keys folded to lower case (the format's win)."""
    out: dict[str, str] = {}
    for source in reversed(sources):
        if isinstance(source, Mapping):
            for key, value in source.items():
                if isinstance(key, str) and isinstance(value, str | int | float) and not isinstance(value, bool):
                    out[key.strip().lower()] = str(value).replace("\x00", "").strip()[:500]
    return out


def parse_probe(rel: str, size: int, data: Any) -> FileProbe:
    """One ffprobe ``-show_format -show_streams`` answer as a :class:`FileProbe` (total: no raise)."""
    doc: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
    raw_format = doc.get("format")
    fmt: Mapping[str, Any] = raw_format if isinstance(raw_format, Mapping) else {}
    raw_streams = doc.get("streams")
    streams = [s for s in raw_streams if isinstance(s, Mapping)] if isinstance(raw_streams, list) else []
    audio: Mapping[str, Any] | None = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if audio is None:
        return FileProbe(rel, size, audio=True, decodes=False, error="no audio stream",
                         format=str(fmt.get("format_long_name") or "") or None, tags=_tags(fmt.get("tags")))
    duration = _number(fmt.get("duration")) or _number(audio.get("duration"))
    bitrate = _number(audio.get("bit_rate")) or _number(fmt.get("bit_rate"))
    channels = _number(audio.get("channels"))
    return FileProbe(
        rel, size, audio=True, decodes=True, codec=str(audio.get("codec_name") or "") or None,
        bitrate=int(bitrate) if bitrate else None, channels=int(channels) if channels else None,
        duration=duration if duration and duration > 0 else None,
        format=str(fmt.get("format_long_name") or "") or None, tags=_tags(fmt.get("tags"), audio.get("tags")),
    )


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ConfigError(f"{args[0]} is not installed: imports need ffmpeg (apt install ffmpeg)") from None


def _decoded_seconds(progress: str) -> float:
    """The last ``out_time_us`` of ffmpeg's ``-progress`` report, in seconds."""
    times = [line.split("=", 1)[1] for line in progress.splitlines() if line.startswith("out_time_us=")]
    try:
        return max(0.0, int(times[-1]) / 1e6) if times else 0.0
    except ValueError:
        return 0.0


def _decode_error(path: Path, duration: float) -> str | None:
    """ffmpeg's first error decoding the start, middle and end of the file, or None.

    A file cut short decodes *nothing* past its end without a word of error, so each window must
    also yield audio: at least half of what it should (at most a second is asked for, as a stated
    duration can be an estimate)."""
    starts = sorted({0.0, max(0.0, duration / 2 - DECODE_WINDOW / 2), max(0.0, duration - DECODE_WINDOW)})
    for start in starts:
        done = _run(["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-progress", "pipe:1", "-nostats",
                     "-ss", f"{start:.3f}", "-t", f"{DECODE_WINDOW}", "-i", str(path), "-vn", "-f", "null", "-"],
                    PROBE_TIMEOUT)
        message = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0 or message:
            first = message.splitlines()[0] if message else f"ffmpeg exited {done.returncode}"
            return f"at {start:.0f} s: {first[:300]}"
        expected = min(DECODE_WINDOW, duration - start)
        decoded = _decoded_seconds(done.stdout.decode(errors="replace"))
        if decoded < min(1.0, expected / 2):
            return (f"at {start:.0f} s: {decoded:.1f} s of audio decoded, {expected:.1f} s expected "
                    f"(the file ends before its stated {duration:.0f} s)")
    return None


def probe_file(path: Path, rel: str) -> FileProbe:
    """Probe one file of the download (non-audio files only get their size)."""
    size = path.stat().st_size
    if path.suffix[1:].lower() not in AUDIO_EXTENSIONS:
        return FileProbe(rel, size, audio=False)
    try:
        done = _run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--",
                     str(path)], PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return FileProbe(rel, size, audio=True, decodes=False, error=f"ffprobe took over {PROBE_TIMEOUT:.0f} s")
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        return FileProbe(rel, size, audio=True, decodes=False,
                         error=(message[0] if message else f"ffprobe exited {done.returncode}")[:300])
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return FileProbe(rel, size, audio=True, decodes=False, error="ffprobe printed no JSON")
    found = parse_probe(rel, size, data)
    if found.decodes and found.duration:
        try:
            error = _decode_error(path, found.duration)
        except subprocess.TimeoutExpired:
            error = f"decoding took over {PROBE_TIMEOUT:.0f} s"
        if error:
            return FileProbe(rel, size, audio=True, decodes=False, error=error, codec=found.codec,
                             bitrate=found.bitrate, channels=found.channels, duration=found.duration,
                             format=found.format, tags=found.tags)
    return found
