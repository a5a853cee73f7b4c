"""Playlist files: M3U8, M3U, PLS and XSPF text (pure), and the one atomic writer.

Conventions
-----------
- Every format is UTF-8 without a byte-order mark, lines end with ``\\n`` and the text ends with
  a newline. ``.m3u`` is written in UTF-8 too (VLC, mpv and foobar2000 detect it).
- Paths are relative to the playlist's folder by default (what VLC/mpv resolve), with forward
  slashes, NFC-normalised and *not* percent-encoded; ``absolute=True`` writes absolute paths.
  XSPF ``<location>`` holds URIs, so there paths are percent-encoded: a relative URI reference
  by default (resolved against the playlist's own URI), a ``file://`` URI when absolute.
- Durations are whole seconds; titles are "Artist - Title" (or the file name) on one line.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote
from xml.sax.saxutils import escape

from .atomic import atomic_write_bytes
from .errors import PlaylistError
from .models import TrackAnalysis
from .sources import is_url

#: Playlist formats by name; the extension of ``-o FILE`` chooses one unless --format is given.
FORMATS = ("m3u8", "m3u", "pls", "xspf")
DEFAULT_FORMAT = "m3u8"


@dataclass(frozen=True)
class PlaylistEntry:
    """What a playlist line needs: the file, its length and a display title."""

    path: str
    duration_s: float
    title: str

    @classmethod
    def from_track(cls, track: TrackAnalysis) -> "PlaylistEntry":
        return cls(track.path, track.duration_s, track.display_name)

    def to_dict(self) -> dict:
        return {"path": self.path, "duration_s": self.duration_s, "title": self.title}


def format_for(dest: str, fmt: str | None = None) -> str:
    """The format named by ``fmt``, else by the extension of ``dest``, else the default."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise PlaylistError(f"unknown playlist format {fmt!r}",
                                hint=f"choose one of {', '.join(FORMATS)}")
        return fmt
    ext = os.path.splitext(dest)[1].lower().lstrip(".")
    if dest == "-" or not ext:
        return DEFAULT_FORMAT
    if ext not in FORMATS:
        raise PlaylistError(f"unknown playlist extension .{ext}", path=dest,
                            hint=f"use .{', .'.join(FORMATS)} or --format")
    return ext


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _one_line(s: str) -> str:
    return " ".join(_nfc(s).split())


def entry_path(path: str, base_dir: str | None, *, absolute: bool = False) -> str:
    """``path`` as written in a playlist in ``base_dir``: relative with forward slashes (or
    absolute), NFC. Falls back to absolute when no relative path exists (another drive).
    A URL (``s3://bucket/song.mp3``, see :mod:`tempo.sources`) is written as it is."""
    if is_url(path):
        return path
    p = os.path.abspath(path)
    if not absolute and base_dir is not None:
        try:
            p = os.path.relpath(p, os.path.abspath(base_dir))
        except ValueError:  # Windows: another drive
            pass
    if os.sep != "/":
        p = p.replace(os.sep, "/")
    return _nfc(p)


def _uri(path: str, base_dir: str | None, *, absolute: bool) -> str:
    rel = entry_path(path, base_dir, absolute=absolute)
    if is_url(path):
        return rel
    if absolute or PurePosixPath(rel).is_absolute() or (len(rel) > 1 and rel[1] == ":"):
        return Path(_nfc(os.path.abspath(path))).as_uri()
    return quote(rel, safe="/")


def render(entries: Sequence[PlaylistEntry], fmt: str, *, base_dir: str | None,
           absolute: bool = False, title: str | None = None) -> str:
    """The playlist text in ``fmt`` for a playlist file in ``base_dir``."""
    if not entries:
        raise PlaylistError("refusing to write an empty playlist")
    if fmt in ("m3u8", "m3u"):
        lines = ["#EXTM3U"]
        if title:
            lines.append(f"#PLAYLIST:{_one_line(title)}")
        for e in entries:
            lines.append(f"#EXTINF:{round(e.duration_s)},{_one_line(e.title)}")
            loc = entry_path(e.path, base_dir, absolute=absolute)
            lines.append("./" + loc if loc.startswith("#") else loc)  # not a comment line
        return "\n".join(lines) + "\n"
    if fmt == "pls":
        lines = ["[playlist]"]
        for n, e in enumerate(entries, 1):
            lines.append(f"File{n}={entry_path(e.path, base_dir, absolute=absolute)}")
            lines.append(f"Title{n}={_one_line(e.title)}")
            lines.append(f"Length{n}={round(e.duration_s)}")
        lines += [f"NumberOfEntries={len(entries)}", "Version=2"]
        return "\n".join(lines) + "\n"
    if fmt == "xspf":
        lines = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<playlist version="1" xmlns="http://xspf.org/ns/0/">']
        if title:
            lines.append(f"  <title>{escape(_one_line(title))}</title>")
        lines.append("  <trackList>")
        for e in entries:
            lines += [
                "    <track>",
                f"      <location>{escape(_uri(e.path, base_dir, absolute=absolute))}</location>",
                f"      <title>{escape(_one_line(e.title))}</title>",
                f"      <duration>{round(e.duration_s * 1000)}</duration>",
                "    </track>",
            ]
        lines += ["  </trackList>", "</playlist>"]
        return "\n".join(lines) + "\n"
    raise PlaylistError(f"unknown playlist format {fmt!r}",
                        hint=f"choose one of {', '.join(FORMATS)}")


def atomic_write_text(dest: str, text: str) -> None:
    """Write ``text`` (UTF-8, no BOM) to ``dest`` atomically (see :mod:`tempo.atomic`).
    OSError becomes PlaylistError naming ``dest``."""
    try:
        # surrogateescape: a file name that is not valid UTF-8 keeps its own bytes
        atomic_write_bytes(dest, text.encode("utf-8", "surrogateescape"))
    except OSError as err:
        raise PlaylistError(f"cannot write playlist: {err.strerror or err}", path=dest,
                            hint="check the folder exists and is writable") from err


def write_playlist(tracks: Iterable[TrackAnalysis | PlaylistEntry], dest: str, *,
                   fmt: str | None = None, absolute: bool = False,
                   title: str | None = None) -> str:
    """Write the tracks as a playlist to ``dest`` (format from ``fmt`` or the extension) and
    return the text. Paths are relative to ``dest``'s folder unless ``absolute``."""
    entries = [t if isinstance(t, PlaylistEntry) else PlaylistEntry.from_track(t) for t in tracks]
    if not entries:
        raise PlaylistError("refusing to write an empty playlist", path=dest)
    fmt = format_for(dest, fmt)
    text = render(entries, fmt, base_dir=os.path.dirname(os.path.abspath(dest)),
                  absolute=absolute, title=title)
    atomic_write_text(dest, text)
    return text
