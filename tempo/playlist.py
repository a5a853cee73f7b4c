"""Playlist files: M3U8, M3U, PLS and XSPF text (pure), the one atomic writer, and the reader.

Conventions
-----------
- Every format is UTF-8 without a byte-order mark, lines end with ``\\n`` and the text ends with
  a newline. ``.m3u`` is written in UTF-8 too (VLC, mpv and foobar2000 detect it).
- How an entry names its file is the *path mode* (``paths=``), measured against real players in
  ``benchmarks/players.py`` (table in ``docs/players.md``):

  ``relative``  relative to the playlist's folder (or to ``base``, a music root, when given);
  ``absolute``  the absolute path;
  ``uri``       a ``file://`` URI, percent-encoded (in M3U/M3U8/PLS too).

  M3U/M3U8/PLS entries in ``relative``/``absolute`` mode are raw paths (forward slashes, *not*
  percent-encoded); an M3U line that would start with ``#`` gets ``./`` so it is not a comment.
  XSPF ``<location>`` holds URIs, so there every mode is percent-encoded: a relative URI
  reference for ``relative``, a ``file://`` URI for ``absolute`` and ``uri``. A name holding
  a line break is written as a ``file://`` URI in M3U/PLS too (a raw line cannot hold it).
- File names are written as the file system stores them: *not* Unicode-normalised (an NFD name
  on Linux only opens under its NFD bytes), and a name that is not valid UTF-8 keeps its bytes
  (raw in M3U/PLS, percent-encoded in URIs).
- Titles are NFC, on one line; durations are whole seconds (milliseconds in XSPF).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes, urljoin, urlsplit
from xml.sax.saxutils import escape

from .atomic import atomic_write_bytes
from .errors import PlaylistError
from .models import TrackAnalysis
from .sources import is_url

#: Playlist formats by name; the extension of ``-o FILE`` chooses one unless --format is given.
FORMATS = ("m3u8", "m3u", "pls", "xspf")
DEFAULT_FORMAT = "m3u8"
#: How entries name their files (see the module docstring).
PATH_MODES = ("relative", "absolute", "uri")
#: The mode used when none is asked for, per format (chosen from docs/players.md).
DEFAULT_PATHS = {"m3u8": "relative", "m3u": "relative", "pls": "relative", "xspf": "relative"}

XSPF_NS = "http://xspf.org/ns/0/"


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


def path_mode(fmt: str, paths: str | None = None, *, absolute: bool = False,
              base: str | None = None) -> str:
    """The path mode to use: ``paths`` if given (``absolute=True`` is the older spelling of
    ``paths="absolute"``), else the format's default. ``base`` only goes with ``relative``."""
    if absolute:
        if paths not in (None, "absolute"):
            raise PlaylistError(f"absolute=True contradicts paths={paths!r}")
        paths = "absolute"
    if paths is None:
        paths = "relative" if base is not None else DEFAULT_PATHS.get(fmt, "relative")
    if paths not in PATH_MODES:
        raise PlaylistError(f"unknown path mode {paths!r}",
                            hint=f"choose one of {', '.join(PATH_MODES)}")
    if base is not None and paths != "relative":
        raise PlaylistError(f"a music root (base) makes entries relative, not {paths}",
                            hint="drop --base, or use --paths relative")
    return paths


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _one_line(s: str) -> str:
    """A title on one line, NFC, valid UTF-8 (a name that is not UTF-8 gets U+FFFD) and without
    control characters (XML cannot hold them)."""
    s = s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    s = "".join(c if c.isprintable() or c.isspace() else " " for c in s)
    return " ".join(_nfc(s).split())


def _slashes(p: str) -> str:
    return p.replace(os.sep, "/") if os.sep != "/" else p


def entry_path(path: str, base_dir: str | None, *, absolute: bool = False,
               base: str | None = None) -> str:
    """``path`` as a raw playlist path: relative to ``base`` (a music root) when given, else to
    ``base_dir`` (the playlist's folder), with forward slashes; absolute when ``absolute`` or when
    no relative path exists (another drive). Not normalised: the file system's own name.
    A file outside ``base`` is an error (players that read entries against a music root refuse
    ``..``)."""
    p = os.path.abspath(path)
    if base is not None:
        root = os.path.abspath(base)
        rel = os.path.relpath(p, root) if os.path.splitdrive(p)[0] == os.path.splitdrive(root)[0] \
            else ".."
        if rel == ".." or rel.startswith(".." + os.sep):
            raise PlaylistError(f"{path} is not under the music root {root}",
                                hint="choose a --base that holds every track")
        return _slashes(rel)
    if not absolute and base_dir is not None:
        try:
            p = os.path.relpath(p, os.path.abspath(base_dir))
        except ValueError:  # Windows: another drive
            pass
    return _slashes(p)


def _quote(p: str) -> str:
    """Percent-encode a path's bytes (as the file system stores them) for a URI."""
    return quote(os.fsencode(p), safe="/")


def file_uri(path: str) -> str:
    """The ``file://`` URI of ``path`` (absolute), percent-encoded from the name's bytes."""
    p = _slashes(os.path.abspath(path))
    if not p.startswith("/"):  # Windows: C:/x -> file:///C:/x
        p = "/" + p
    return "file://" + _quote(p)


def entry_location(path: str, fmt: str, *, base_dir: str | None, paths: str = "relative",
                   base: str | None = None) -> str:
    """The text naming ``path`` in a playlist of format ``fmt`` in folder ``base_dir``, for the
    path mode ``paths`` (see the module docstring). Pure: no file is looked at. A URL
    (``s3://bucket/song.mp3``, see :mod:`tempo.sources`) is written as it is, in every mode."""
    if is_url(path):
        return path
    if paths == "uri" or (fmt == "xspf" and paths == "absolute"):
        return file_uri(path)
    rel = entry_path(path, base_dir, absolute=paths == "absolute", base=base)
    if fmt == "xspf":
        if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
            return file_uri(path)
        return _quote(rel)  # ':' is encoded too, so no first segment reads as a scheme
    if "\n" in rel or "\r" in rel:
        return file_uri(path)  # a line break cannot be written raw in a line-based format
    if fmt in ("m3u8", "m3u") and rel.startswith("#"):
        return "./" + rel  # not a comment line
    return rel


def render(entries: Sequence[PlaylistEntry], fmt: str, *, base_dir: str | None,
           paths: str | None = None, absolute: bool = False, base: str | None = None,
           title: str | None = None) -> str:
    """The playlist text in ``fmt`` for a playlist file in ``base_dir``.

    ``paths`` is the path mode (default: the format's, see :data:`DEFAULT_PATHS`);
    ``absolute=True`` means ``paths="absolute"``; ``base`` is a music root that relative entries
    start from instead of ``base_dir`` (for MPD, Navidrome, Jellyfin)."""
    if not entries:
        raise PlaylistError("refusing to write an empty playlist")
    if fmt not in FORMATS:
        raise PlaylistError(f"unknown playlist format {fmt!r}",
                            hint=f"choose one of {', '.join(FORMATS)}")
    mode = path_mode(fmt, paths, absolute=absolute, base=base)

    def loc(e: PlaylistEntry) -> str:
        return entry_location(e.path, fmt, base_dir=base_dir, paths=mode, base=base)

    if fmt in ("m3u8", "m3u"):
        lines = ["#EXTM3U"]
        if title:
            lines.append(f"#PLAYLIST:{_one_line(title)}")
        for e in entries:
            lines.append(f"#EXTINF:{round(e.duration_s)},{_one_line(e.title)}")
            lines.append(loc(e))
        return "\n".join(lines) + "\n"
    if fmt == "pls":
        lines = ["[playlist]"]
        for n, e in enumerate(entries, 1):
            lines.append(f"File{n}={loc(e)}")
            lines.append(f"Title{n}={_one_line(e.title)}")
            lines.append(f"Length{n}={round(e.duration_s)}")
        lines += [f"NumberOfEntries={len(entries)}", "Version=2"]
        return "\n".join(lines) + "\n"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<playlist version="1" xmlns="{XSPF_NS}">']
    if title:
        lines.append(f"  <title>{escape(_one_line(title))}</title>")
    lines.append("  <trackList>")
    for e in entries:
        lines += [
            "    <track>",
            f"      <location>{escape(loc(e))}</location>",
            f"      <title>{escape(_one_line(e.title))}</title>",
            f"      <duration>{round(e.duration_s * 1000)}</duration>",
            "    </track>",
        ]
    lines += ["  </trackList>", "</playlist>"]
    return "\n".join(lines) + "\n"


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
                   fmt: str | None = None, paths: str | None = None, absolute: bool = False,
                   base: str | None = None, title: str | None = None) -> str:
    """Write the tracks as a playlist to ``dest`` (format from ``fmt`` or the extension) and
    return the text. ``paths``/``absolute``/``base`` choose how entries name files (see
    :func:`render`); by default they are relative to ``dest``'s folder."""
    entries = [t if isinstance(t, PlaylistEntry) else PlaylistEntry.from_track(t) for t in tracks]
    if not entries:
        raise PlaylistError("refusing to write an empty playlist", path=dest)
    fmt = format_for(dest, fmt)
    text = render(entries, fmt, base_dir=os.path.dirname(os.path.abspath(dest)), paths=paths,
                  absolute=absolute, base=base, title=title)
    atomic_write_text(dest, text)
    return text


_URI_SYNTAX = re.compile(r"[#?]|%[0-9A-Fa-f]{2}")


def vlc_misreads(text: str, fmt: str) -> int:
    """How many raw-path entries of an M3U/M3U8/PLS playlist's ``text`` VLC 3 cannot open
    (measured: docs/players.md). It reads raw paths as URI references, so ``#`` and ``?`` cut
    the name and ``%XX`` is decoded; in M3U/M3U8 (not PLS) a name that is not UTF-8 fails too.
    0 for XSPF and for ``file://`` URIs, which VLC decodes right."""
    if fmt == "xspf":
        return 0
    locs = playlist_locations(text.encode("utf-8", "surrogateescape"), fmt)
    return sum(1 for loc in locs if not _is_uri(loc, slashes=True) and (
        _URI_SYNTAX.search(loc) or (fmt != "pls" and not _is_utf8(loc))))


def _is_utf8(s: str) -> bool:
    return s == s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# --- reading -------------------------------------------------------------------------------------

def _is_uri(s: str, *, slashes: bool = False) -> bool:
    """``s`` starts with a URI scheme (``file:``, ``http:``...), not a drive letter (``C:``).
    ``slashes``: only ``scheme://`` counts (raw M3U/PLS lines: "Intro: Part 1.mp3" is a path)."""
    head, sep, rest = s.partition(":")
    return bool(sep) and len(head) > 1 and head[0].isascii() and head[0].isalpha() and \
        all(c.isascii() and (c.isalnum() or c in "+-.") for c in head) and \
        (not slashes or rest.startswith("//"))


def _uri_path(uri: str) -> str | None:
    """The local path of an absolute ``file:`` URI, percent-decoded once (bytes, so a name that
    is not UTF-8 comes back as the file system's own name); None for other schemes."""
    parts = urlsplit(uri)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    raw = unquote_to_bytes(parts.path)
    if os.name == "nt" and raw[:1] == b"/" and raw[2:3] == b":":
        raw = raw[1:]
    return os.path.normpath(os.fsdecode(raw))


def _xspf_locations(data: bytes, where: str) -> list[str]:
    import xml.etree.ElementTree as ET

    class _NoDoctype(ET.TreeBuilder):
        def doctype(self, name, pubid, system):  # called before any entity is expanded
            raise PlaylistError("refusing an XSPF playlist with a DOCTYPE (entities)",
                                path=where)

    parser = ET.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except ET.ParseError as err:
        raise PlaylistError(f"not a valid XSPF playlist: {err}", path=where) from err
    ns = f"{{{XSPF_NS}}}"
    if root.tag not in (f"{ns}playlist", "playlist"):
        raise PlaylistError("not an XSPF playlist (no <playlist> root)", path=where)
    out = []
    for track in root.iter():
        if track.tag in (f"{ns}track", "track"):
            for child in track:
                if child.tag in (f"{ns}location", "location") and (child.text or "").strip():
                    out.append(child.text.strip())
                    break  # the first location is the track's; others are alternatives
    return out


def playlist_locations(data: bytes, fmt: str, *, where: str = "playlist") -> list[str]:
    """The entries of a playlist's bytes as written (URIs for XSPF, raw lines otherwise).

    Pure. Text is UTF-8 (a BOM is skipped); bytes that are not UTF-8 are kept with
    surrogateescape, so a raw file name in another encoding keeps its bytes."""
    if fmt == "xspf":
        return _xspf_locations(data, where)
    text = data.decode("utf-8-sig", "surrogateescape")
    if fmt == "pls":
        numbered = []
        for line in text.splitlines():
            key, sep, value = line.strip().partition("=")
            key = key.strip().lower()
            if sep and key.startswith("file") and key[4:].isdigit():
                numbered.append((int(key[4:]), value.strip()))
        return [v for _, v in sorted(numbered, key=lambda kv: kv[0]) if v]
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def resolve_location(loc: str, fmt: str, *, playlist_path: str, base: str | None = None) -> str:
    """The file an entry names, as an absolute normalised path (or the URI itself when it is
    not a local file). Relative entries resolve from ``base`` (a music root) when given, else
    from the playlist's folder, as players do. Decoding happens exactly once: XSPF locations are
    URI references (percent-decoded), M3U/PLS lines are raw paths unless they are URIs."""
    start = os.path.abspath(base) if base is not None else \
        os.path.dirname(os.path.abspath(playlist_path))
    if fmt == "xspf":
        if not _is_uri(loc):
            loc = urljoin(file_uri(start) + "/", loc)
        path = _uri_path(loc)
        return loc if path is None else path
    if _is_uri(loc, slashes=True):
        path = _uri_path(loc)
        return loc if path is None else path
    if os.sep != "/":
        loc = loc.replace("/", os.sep)
    return os.path.normpath(os.path.join(start, loc))


def read_playlist(path: str, *, base: str | None = None) -> list[str]:
    """Absolute paths of the entries of an M3U/M3U8, PLS or XSPF playlist, in order.

    The format comes from the extension (M3U for any other). Relative entries resolve from the
    playlist's folder, or from ``base`` (the music root of a playlist written with ``base``);
    ``file://`` URIs are decoded once. An entry that is a non-file URI is returned as is."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise PlaylistError(f"cannot read the playlist: {err.strerror or err}", path=path) from err
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    fmt = ext if ext in FORMATS else "m3u"
    out = [resolve_location(loc, fmt, playlist_path=path, base=base)
           for loc in playlist_locations(data, fmt, where=path)]
    if not out:
        raise PlaylistError("the playlist has no entries", path=path)
    return out
