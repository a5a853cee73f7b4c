"""Playlist writers: golden text per format, paths that resolve back to the files, safe writes.

Regenerate the golden files after an intended format change with
``TEMPO_REGEN_GOLDEN=1 pytest tests/test_playlist.py`` and review the diff.
"""

from __future__ import annotations

import os
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse
from urllib.request import url2pathname

import pytest

from tempo.errors import PlaylistError
from tempo.models import Tags, TempoEstimate, TrackAnalysis
from tempo.playlist import (
    FORMATS,
    PlaylistEntry,
    entry_path,
    format_for,
    render,
    write_playlist,
)

GOLDEN = Path(__file__).parent / "golden"
NFD_NAME = unicodedata.normalize("NFD", "Beyoncé & Björk")

ENTRIES = [
    PlaylistEntry("/srv/music/Rocky IV/01 Training Montage.flac", 214.4, "Vince DiCola - Training Montage"),
    PlaylistEntry(f"/srv/music/{NFD_NAME}/Ça plane #1 (50% mix).mp3", 187.6, f"{NFD_NAME} - Ça plane"),
    PlaylistEntry("/srv/lists/same folder.m4a", 60.0, "Tab\there & <xml> \"quotes\""),
]


@pytest.mark.skipif(os.sep != "/", reason="golden files use POSIX absolute paths")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_golden(fmt, absolute):
    text = render(ENTRIES, fmt, base_dir="/srv/lists/workouts", absolute=absolute,
                  title="tempo montage, 45 min")
    golden = GOLDEN / f"playlist{'-absolute' if absolute else ''}.{fmt}"
    if os.environ.get("TEMPO_REGEN_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    assert text == golden.read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    assert unicodedata.is_normalized("NFC", text)
    assert NFD_NAME not in text


def test_m3u8_shape():
    text = render(ENTRIES[:1], "m3u8", base_dir="/srv/music")
    assert text == ("#EXTM3U\n#EXTINF:214,Vince DiCola - Training Montage\n"
                    "Rocky IV/01 Training Montage.flac\n")


def test_m3u_line_starting_with_hash_is_not_a_comment():
    e = PlaylistEntry("/srv/lists/#1 hit.mp3", 10, "x")
    assert render([e], "m3u8", base_dir="/srv/lists").splitlines()[-1] == "./#1 hit.mp3"


def test_relative_paths_use_forward_slashes_and_no_percent_encoding():
    p = entry_path("/a/b c/Ça 100%.mp3", "/a/x/y")
    assert p == "../../b c/Ça 100%.mp3"
    assert entry_path("/a/b.mp3", "/a/x", absolute=True) == "/a/b.mp3"


@pytest.mark.parametrize("dest,fmt,expected", [
    ("x.m3u8", None, "m3u8"), ("X.M3U", None, "m3u"), ("a/b.pls", None, "pls"),
    ("list.xspf", None, "xspf"), ("-", None, "m3u8"), ("noext", None, "m3u8"),
    ("x.txt", "pls", "pls"), ("x.m3u8", "XSPF", "xspf"),
])
def test_format_from_extension_or_option(dest, fmt, expected):
    assert format_for(dest, fmt) == expected


def test_unknown_format_is_an_error():
    with pytest.raises(PlaylistError, match=r"x\.wpl: unknown playlist extension \.wpl"):
        format_for("x.wpl")
    with pytest.raises(PlaylistError, match="unknown playlist format 'wpl'"):
        format_for("x.m3u8", "wpl")


# --------------------------------------------------------------------------- real files

def _track(path: Path, i: int) -> TrackAnalysis:
    return TrackAnalysis(path=str(path), size=1, mtime_ns=1, duration_s=100.0 + i,
                         tempo=TempoEstimate(bpm=120.0 + i, confidence=0.9),
                         tags=Tags(artist=f"Artist {i}", title=f"Title {i}"))


@pytest.fixture
def music(tmp_path):
    """Files with spaces, unicode (stored NFC) and '#'/'%' in their names, in a music tree."""
    names = ["Rocky IV/01 Training Montage.flac", "Björk/Ça plane #1 (50% mix).mp3",
             "a/b/c/deep track.ogg"]
    paths = []
    for name in names:
        p = tmp_path / "music" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"audio")
        paths.append(p)
    return paths


def _resolve(playlist: Path, fmt: str) -> list[Path]:
    """The files a player finds from the playlist, resolving as VLC/mpv do."""
    text = playlist.read_bytes().decode("utf-8")
    base = playlist.parent
    if fmt in ("m3u8", "m3u"):
        locs = [line for line in text.splitlines() if line and not line.startswith("#")]
    elif fmt == "pls":
        locs = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("File")]
    else:
        ns = {"x": "http://xspf.org/ns/0/"}
        root = ET.fromstring(text)
        uris = [e.text for e in root.findall("x:trackList/x:track/x:location", ns)]
        return [Path(url2pathname(urlparse(urljoin(playlist.as_uri(), u)).path)) for u in uris]
    return [Path(loc) if os.path.isabs(loc) else base / loc for loc in locs]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_playlist_in_another_tree_resolves_back_to_the_files(tmp_path, music, fmt, absolute):
    dest = tmp_path / "elsewhere" / "lists" / f"my workout.{fmt}"  # folders created
    write_playlist([_track(p, i) for i, p in enumerate(music)], str(dest), absolute=absolute)
    resolved = _resolve(dest, fmt)
    assert len(resolved) == len(music)
    for got, want in zip(resolved, music):
        assert got.exists() and os.path.samefile(got, want)
    raw = dest.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8")
    if fmt != "xspf":
        assert ("../../music/" in text) != absolute
        assert "%20" not in text and "Ça plane #1 (50% mix).mp3" in text
    else:
        assert ("file://" in text) == absolute
        assert "Ça" not in text and "%C3%87a%20plane%20%231%20%2850%25%20mix%29.mp3" in text
    assert sorted(os.listdir(dest.parent)) == [dest.name]  # no temp file left behind


def test_unicode_is_written_nfc(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    track = _track(folder / unicodedata.normalize("NFD", "Café.flac"), 1)
    text = write_playlist([track], str(tmp_path / "x.m3u8"))
    assert text.splitlines()[-1] == "music/" + unicodedata.normalize("NFC", "Café.flac")
    assert unquote("%C3%A9") in text


def test_write_replaces_an_existing_playlist(tmp_path, music):
    dest = tmp_path / "x.m3u8"
    dest.write_text("old", encoding="utf-8")
    write_playlist([_track(music[0], 0)], str(dest))
    assert dest.read_text(encoding="utf-8").startswith("#EXTM3U\n")


def test_empty_playlist_is_refused_and_nothing_written(tmp_path):
    dest = tmp_path / "x.m3u8"
    with pytest.raises(PlaylistError, match="refusing to write an empty playlist"):
        write_playlist([], str(dest))
    assert not dest.exists()


def test_unwritable_destination_names_the_path(tmp_path, music):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    dest = blocker / "sub" / "x.m3u8"
    with pytest.raises(PlaylistError) as err:
        write_playlist([_track(music[0], 0)], str(dest))
    assert str(err.value).startswith(f"{dest}: cannot write playlist: ")
    assert err.value.path == str(dest)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="needs a file system that stores arbitrary bytes in names")
def test_file_name_that_is_not_utf8_keeps_its_bytes(tmp_path):
    name = os.fsdecode(b"caf\xe9.mp3")  # Latin-1 on a UTF-8 system: a surrogate escape
    (tmp_path / name).write_bytes(b"audio")
    dest = tmp_path / "x.m3u8"
    write_playlist([_track(tmp_path / name, 1)], str(dest))
    line = dest.read_bytes().splitlines()[-1]
    assert line == b"caf\xe9.mp3" and (tmp_path / os.fsdecode(line)).exists()
