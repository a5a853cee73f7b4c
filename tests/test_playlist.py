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
from urllib.parse import quote, urljoin, urlparse
from urllib.request import url2pathname

import pytest

from tempo.errors import PlaylistError
from tempo.models import Tags, TempoEstimate, TrackAnalysis
from tempo.playlist import (
    FORMATS,
    PlaylistEntry,
    entry_path,
    format_for,
    read_playlist,
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


GOLDEN_MODES = {"relative": {}, "absolute": {"paths": "absolute"}, "uri": {"paths": "uri"},
                "base": {"base": "/srv"}}


@pytest.mark.skipif(os.sep != "/", reason="golden files use POSIX absolute paths")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", GOLDEN_MODES)
def test_golden(fmt, mode):
    text = render(ENTRIES, fmt, base_dir="/srv/lists/workouts", title="tempo montage, 45 min",
                  **GOLDEN_MODES[mode])
    golden = GOLDEN / f"playlist{'' if mode == 'relative' else '-' + mode}.{fmt}"
    if os.environ.get("TEMPO_REGEN_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(text.encode("utf-8"))
    assert text == golden.read_bytes().decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    # titles are NFC; file names keep the bytes the file system has (raw or percent-encoded)
    nfc = unicodedata.normalize("NFC", NFD_NAME)
    assert (nfc.replace("&", "&amp;") if fmt == "xspf" else nfc) + " - Ça plane" in text
    assert NFD_NAME + " - " not in text
    if fmt == "xspf" or mode == "uri":
        assert quote(NFD_NAME) in text
    else:
        assert f"{NFD_NAME}/Ça plane #1 (50% mix).mp3" in text


def test_absolute_is_the_old_spelling_of_paths_absolute():
    assert render(ENTRIES, "m3u8", base_dir="/x", absolute=True) == \
        render(ENTRIES, "m3u8", base_dir="/x", paths="absolute")
    with pytest.raises(PlaylistError, match="contradicts"):
        render(ENTRIES, "m3u8", base_dir="/x", absolute=True, paths="uri")


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


def test_file_names_keep_their_normalisation(tmp_path):
    """An NFD name (as macOS writes them) only opens on Linux under its own bytes: the playlist
    keeps them; the title is NFC."""
    folder = tmp_path / "music"
    folder.mkdir()
    nfd = unicodedata.normalize("NFD", "Café.flac")
    (folder / nfd).write_bytes(b"audio")
    track = _track(folder / nfd, 1)
    text = write_playlist([track], str(tmp_path / "x.m3u8"))
    assert text.splitlines()[-1] == "music/" + nfd
    assert (tmp_path / text.splitlines()[-1]).exists()
    assert unicodedata.is_normalized("NFC", text.splitlines()[-2])


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


# --------------------------------------------------------------------------- path modes, reading

#: Names players and URI decoders get wrong: URI syntax, a literal %XX, XML's &, both Unicode
#: normalisations, a leading '#' (an M3U comment) and bytes that are not UTF-8.
AWKWARD = ["two words.mp3", "Track #1.mp3", "What?.mp3", "a%41.mp3", "AC&DC <live>.mp3",
           unicodedata.normalize("NFC", "Café ☃.mp3"), unicodedata.normalize("NFD", "Ça va.mp3"),
           "#1 hit.mp3", "x:y.mp3", "plain.flac"]
if sys.platform not in ("win32", "darwin"):
    AWKWARD.append(os.fsdecode(b"caf\xe9 latin1.mp3"))  # a surrogate escape


@pytest.fixture
def awkward(tmp_path):
    root = tmp_path / "music root"
    paths = []
    for i, name in enumerate(AWKWARD):
        p = root / ("Artist & Co" if i % 2 else "#tag") / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"audio")
        paths.append(str(p))
    return root, paths


ROUND_TRIP_MODES = {"relative": {}, "absolute": {"paths": "absolute"}, "uri": {"paths": "uri"},
                    "base": "base"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ROUND_TRIP_MODES)
def test_every_format_and_mode_reads_back_the_same_files(tmp_path, awkward, monkeypatch, fmt,
                                                         mode):
    root, paths = awkward
    kwargs = {"base": str(root)} if mode == "base" else ROUND_TRIP_MODES[mode]
    dest = tmp_path / "lists & co" / f"run #1.{fmt}"
    write_playlist([PlaylistEntry(p, 60, os.path.basename(p)) for p in paths], str(dest),
                   **kwargs)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    got = read_playlist(os.path.relpath(dest), base=str(root) if mode == "base" else None)
    assert got == paths
    assert all(os.path.exists(p) for p in got)
    text = dest.read_bytes()
    if mode == "uri" or (fmt == "xspf" and mode == "absolute"):
        assert text.count(b"file:///") == len(paths)
    if fmt == "xspf" or mode == "uri":  # URIs: no raw byte that URI syntax would misread
        assert b"Track%20%231.mp3" in text and b"What%3F.mp3" in text and b"a%2541.mp3" in text
    else:  # raw paths: the name itself
        assert "Track #1.mp3".encode() in text and b"a%41.mp3" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_base_entries_are_relative_to_the_music_root(tmp_path, fmt):
    root = tmp_path / "Music"
    track = root / "Artist" / "Song #2.mp3"
    dest = tmp_path / "mpd" / "playlists" / f"x.{fmt}"
    text = write_playlist([PlaylistEntry(str(track), 60, "t")], str(dest), base=str(root))
    want = "Artist/Song%20%232.mp3" if fmt == "xspf" else "Artist/Song #2.mp3"
    assert want in text and str(tmp_path) not in text and "../" not in text
    assert read_playlist(str(dest), base=str(root)) == [str(track)]


def test_base_refuses_a_track_outside_the_root_and_other_modes(tmp_path):
    e = [PlaylistEntry(str(tmp_path / "elsewhere" / "a.mp3"), 1, "a")]
    with pytest.raises(PlaylistError, match="is not under the music root"):
        render(e, "m3u8", base_dir=str(tmp_path), base=str(tmp_path / "Music"))
    with pytest.raises(PlaylistError, match="makes entries relative"):
        render(e, "m3u8", base_dir=str(tmp_path), base=str(tmp_path), paths="uri")
    with pytest.raises(PlaylistError, match="unknown path mode"):
        render(e, "m3u8", base_dir=str(tmp_path), paths="url")


def test_uri_mode_percent_encodes_in_m3u_and_pls(tmp_path):
    e = [PlaylistEntry("/srv/m/Track #1 & a%41?.mp3", 1, "a")]
    for fmt in ("m3u8", "m3u", "pls"):
        text = render(e, fmt, base_dir="/srv/lists", paths="uri")
        assert "file:///srv/m/Track%20%231%20%26%20a%2541%3F.mp3" in text


def _write(path: Path, text: str) -> str:
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def test_xspf_from_another_tool_is_decoded_once(tmp_path):
    """A spec-valid XSPF (relative references, file:// URIs, entities, a %25 that must stay a
    literal percent, whitespace around the location); the old regex reader broke each of them."""
    music = tmp_path / "music"
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList>
 <track><location>music/Track%20%231.mp3</location></track>
 <track><location>music/What%3F.mp3</location></track>
 <track><location>
   music/a%2541.mp3
 </location></track>
 <track><location>music/Rock%20&amp;%20Roll.mp3</location></track>
 <track><title>no location</title></track>
 <track><location>{(music / 'Ça & ça.mp3').as_uri()}</location></track>
 <track><location>file://localhost{quote(str(music / 'x y.mp3'))}</location></track>
 <track><location>http://example.com/stream?x=1&amp;y=2</location></track>
</trackList></playlist>
"""
    got = read_playlist(_write(tmp_path / "a.xspf", xml))
    assert got == [str(music / "Track #1.mp3"), str(music / "What?.mp3"),
                   str(music / "a%41.mp3"), str(music / "Rock & Roll.mp3"),
                   str(music / "Ça & ça.mp3"), str(music / "x y.mp3"),
                   "http://example.com/stream?x=1&y=2"]


def test_xspf_with_a_doctype_is_refused_before_any_entity_grows(tmp_path):
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
            + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                      for p, c in zip("abcdefgh", "bcdefghi"))
            + ']>\n<playlist xmlns="http://xspf.org/ns/0/"><trackList><track>'
              "<location>&i;</location></track></trackList></playlist>")
    with pytest.raises(PlaylistError, match="DOCTYPE"):
        read_playlist(_write(tmp_path / "bomb.xspf", bomb))


@pytest.mark.parametrize("text,match", [("<playlist><trackList>", "not a valid XSPF"),
                                        ("<html/>", "not an XSPF playlist")])
def test_broken_xspf_names_the_file(tmp_path, text, match):
    path = _write(tmp_path / "bad.xspf", text)
    with pytest.raises(PlaylistError, match=match) as err:
        read_playlist(path)
    assert err.value.path == path


def test_m3u_and_pls_raw_paths_and_file_uris(tmp_path):
    m3u = ("\ufeff#EXTM3U\r\n#EXTINF:1,x\r\nsub/a%41 #1.mp3\r\n\r\n  #comment\r\n"
           f"file://{quote(str(tmp_path / 'b c.mp3'))}\r\n/abs/What?.mp3\r\n")
    assert read_playlist(_write(tmp_path / "x.m3u", m3u)) == [
        str(tmp_path / "sub" / "a%41 #1.mp3"), str(tmp_path / "b c.mp3"), "/abs/What?.mp3"]
    pls = "[playlist]\nFile2=two.mp3\nTitle2=x=y\nfile1 = one.mp3\nNumberOfEntries=2\n"
    assert read_playlist(_write(tmp_path / "x.pls", pls)) == [
        str(tmp_path / "one.mp3"), str(tmp_path / "two.mp3")]


def test_reading_a_missing_or_empty_playlist(tmp_path):
    with pytest.raises(PlaylistError, match="cannot read the playlist"):
        read_playlist(str(tmp_path / "none.m3u8"))
    with pytest.raises(PlaylistError, match="no entries"):
        read_playlist(_write(tmp_path / "e.xspf",
                             '<playlist xmlns="http://xspf.org/ns/0/"><trackList/></playlist>'))


def test_plot_still_reads_playlists_through_the_playlist_module():
    import tempo.plot

    assert tempo.plot.read_playlist is read_playlist


def test_titles_are_valid_text_in_every_format(tmp_path):
    e = [PlaylistEntry("/m/a.mp3", 1, os.fsdecode(b"caf\xe9") + " \x07bell\x00 \u2028x")]
    for fmt in FORMATS:
        text = render(e, fmt, base_dir="/m")
        text.encode("utf-8")  # no surrogate left
        assert "caf\ufffd bell x" in text
    ET.fromstring(render(e, "xspf", base_dir="/m"))


# --------------------------------------------------------------------------- the CLI

@pytest.fixture
def library(tmp_path, monkeypatch):
    """`tempo.library.scan` returning 60 in-memory analyses with awkward names under tmp/Music."""
    import random

    import tempo.library

    root = tmp_path / "Music"
    rng = random.Random(7)
    tracks = []
    for i in range(60):
        bpm = round(rng.uniform(100, 175), 1)
        name = AWKWARD[i % len(AWKWARD)].replace(".", f" {i}.", 1)
        tracks.append(TrackAnalysis(
            path=str(root / f"Artist {i % 4}" / name), size=1, mtime_ns=1,
            duration_s=rng.uniform(150, 240), tempo=TempoEstimate(bpm=bpm, confidence=0.9),
            energy=min(1.0, max(0.0, (bpm - 60) / 130)), tags=Tags(title=f"Song {i}")))

    def fake_scan(self, paths, **kwargs):
        return tempo.library.ScanResult(tracks=list(tracks), failures=[], found=len(tracks),
                                        analysed=0, reused=len(tracks), failed=0, elapsed_s=0.0)

    monkeypatch.setattr(tempo.library.Library, "scan", fake_scan)
    return root, {t.path for t in tracks}


def _cli(runner, *args):
    from tempo.cli import cli

    return runner.invoke(cli, ["playlist", "MUSIC", "--minutes", "20", "-q", *args])


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_paths_uri(runner, tmp_path, library, fmt):
    root, paths = library
    dest = tmp_path / "lists" / f"run.{fmt}"
    res = _cli(runner, "-o", str(dest), "--paths", "uri")
    assert res.exit_code == 0, res.output
    got = read_playlist(str(dest))
    assert len(got) >= 5 and set(got) <= paths
    assert dest.read_text(encoding="utf-8", errors="surrogateescape").count("file:///") == len(got)


def test_cli_base_and_stdout(runner, tmp_path, library):
    root, paths = library
    dest = tmp_path / "mpd" / "playlists" / "run.m3u"
    res = _cli(runner, "-o", str(dest), "--base", str(root))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in dest.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
             if not ln.startswith("#")]
    assert lines and all(ln.startswith(("Artist ", "./#")) for ln in lines)
    got = read_playlist(str(dest), base=str(root))
    assert set(got) <= paths and len(got) == len(lines)
    res = _cli(runner, "-o", "-", "--base", str(root))
    assert res.exit_code == 0
    # stdout gets the same bytes, a name that is not UTF-8 included
    assert [os.fsdecode(ln) for ln in res.stdout_bytes.splitlines()
            if not ln.startswith(b"#")] == lines


def test_cli_absolute_is_still_paths_absolute(runner, tmp_path, library):
    root, paths = library
    a, b = tmp_path / "a" / "x.m3u8", tmp_path / "b" / "x.m3u8"
    assert _cli(runner, "-o", str(a), "--absolute", "--seed", "1").exit_code == 0
    assert _cli(runner, "-o", str(b), "--paths", "absolute", "--seed", "1").exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    entries = [ln for ln in a.read_bytes().splitlines() if not ln.startswith(b"#")]
    assert entries and all(ln.startswith(os.fsencode(str(root)) + b"/") for ln in entries)
    assert set(read_playlist(str(a))) <= paths


@pytest.mark.parametrize("args,message", [
    (["--absolute", "--paths", "uri"], "--absolute means --paths absolute"),
    (["--base", "X", "--paths", "uri"], "--base makes entries relative"),
    (["--paths", "url"], "Invalid value for '--paths'"),
])
def test_cli_contradictory_path_options(runner, tmp_path, library, args, message):
    dest = tmp_path / "x.m3u8"
    res = _cli(runner, "-o", str(dest), *args)
    assert res.exit_code == 2 and message in res.stderr
    assert not dest.exists()


def test_cli_base_that_does_not_hold_the_tracks(runner, tmp_path, library):
    dest = tmp_path / "x.m3u8"
    res = _cli(runner, "-o", str(dest), "--base", str(tmp_path / "Other"))
    assert res.exit_code == 1 and "is not under the music root" in res.stderr
    assert not dest.exists()


def test_vlc_misreads_counts_raw_names_with_uri_syntax():
    from tempo.playlist import vlc_misreads

    names = ["/m/plain.mp3", "/m/two words & more.mp3", "/m/Ça.mp3", "/m/Track #1.mp3",
             "/m/What?.mp3", "/m/a%41.mp3", "/m/#lead.mp3", os.fsdecode(b"/m/caf\xe9.mp3"),
             "/m/100% pure.mp3"]
    entries = [PlaylistEntry(n, 1, "t") for n in names]
    for fmt in ("m3u8", "m3u", "pls"):
        for mode in ("relative", "absolute"):  # VLC's PLS reader keeps non-UTF-8 bytes
            assert vlc_misreads(render(entries, fmt, base_dir="/x", paths=mode), fmt) == \
                (4 if fmt == "pls" else 5)
        assert vlc_misreads(render(entries, fmt, base_dir="/x", paths="uri"), fmt) == 0
    assert vlc_misreads(render(entries, "xspf", base_dir="/x"), "xspf") == 0


@pytest.mark.parametrize("args,noted", [([], True), (["--paths", "uri"], False),
                                        (["--format", "xspf"], False)])
def test_cli_notes_the_names_vlc_cannot_open(runner, tmp_path, library, args, noted):
    from tempo.playlist import vlc_misreads

    dest = tmp_path / "run.m3u8"
    res = _cli(runner, "-o", str(dest), *args)
    assert res.exit_code == 0, res.output
    n = vlc_misreads(dest.read_bytes().decode("utf-8", "surrogateescape"), "m3u8")
    assert ("VLC cannot open them from raw paths" in res.stderr) == noted
    if noted:
        assert n > 0 and f"note: {n} file name(s) hold" in res.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="names with ':' or line breaks")
@pytest.mark.parametrize("fmt", FORMATS)
def test_names_with_a_colon_or_a_line_break_read_back(tmp_path, fmt):
    """'Intro: Part 1.mp3' is a raw path, not a URI with the scheme 'Intro'; a line break
    cannot be written raw, so that entry becomes a file:// URI instead of two lines."""
    paths = [tmp_path / "Intro: Part 1.mp3", tmp_path / "two\nlines.mp3", tmp_path / "c:d.mp3"]
    for p in paths:
        p.write_bytes(b"audio")
    dest = tmp_path / f"x.{fmt}"
    text = write_playlist([PlaylistEntry(str(p), 1, "t") for p in paths], str(dest))
    assert read_playlist(str(dest)) == [str(p) for p in paths]
    if fmt != "xspf":
        assert "Intro: Part 1.mp3\n" in text and "two%0Alines.mp3" in text
