"""Playlists in real players: a slice of benchmarks/players.py's compatibility matrix.

Each test runs one player (skipped when it is not installed; CI installs them when it can) on a
playlist tempo wrote for files with awkward names (0.2 s WAVs), and checks the entries it opened
against what docs/players.md promises: the mode the docs recommend for a player opens every
name, and the limits the docs state are still there (if a player changes, the docs must).
The whole matrix: ``python benchmarks/players.py``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile

import pytest

from tempo.playlist import vlc_misreads

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="players driven as on Linux")


def _load_players():
    spec = importlib.util.spec_from_file_location(
        "tempo_bench_players", os.path.join(REPO, "benchmarks", "players.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


P = _load_players()
ALL = list(P.NAMES)
TIMEOUT = 30.0


@pytest.fixture(scope="module")
def world():
    """A music root readable by another user (VLC runs as nobody under root), with every name."""
    root = tempfile.mkdtemp(prefix="tempo-players-test-")
    os.chmod(root, 0o755)
    files = P.make_music(root)
    if set(files) != set(ALL):
        pytest.skip("this file system refuses some of the names")
    P._open_to_others(root)
    yield root, files
    shutil.rmtree(root, ignore_errors=True)


def _case(world, fmt, mode, **kw):
    root, files = world
    path = P.write_case(root, files, fmt, mode, **kw)
    os.chmod(path, 0o644)
    return path


def _need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


# --- mpv ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt,mode", [("m3u8", "relative"), ("pls", "absolute"), ("m3u", "uri")])
def test_mpv_opens_every_name_in_m3u_and_pls(world, fmt, mode):
    _need("mpv")
    assert P.run_mpv(_case(world, fmt, mode), world[1], TIMEOUT) == ALL


def test_mpv_does_not_read_xspf(world):
    _need("mpv")
    assert P.run_mpv(_case(world, "xspf", "relative"), world[1], TIMEOUT) == []


# --- VLC ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vlc(world):
    if P.vlc_command() is None:
        pytest.skip("cvlc is not installed (or we are root without runuser)")
    files = _some(world, ["plain"])
    path = P.write_case(world[0], files, "m3u", "relative")
    os.chmod(path, 0o644)
    if P.run_vlc(path, files, TIMEOUT) != ["plain"]:  # e.g. runuser not permitted here
        pytest.skip("cvlc runs here but opens nothing, not even plain.wav")


#: VLC takes about half a second per entry: a slice of the names (the full set: the benchmark)
VLC_NAMES = ["plain", "#", "?", "%41", "lead#", "latin1", "nfd"]
#: a raw '#' at the start of a name makes VLC open (and play) the whole folder: left out here
VLC_RAW_NAMES = ["plain", "&", "#", "?", "%41", "latin1"]


def _some(world, keys):
    return {k: world[1][k] for k in keys}


def test_vlc_opens_every_name_from_uris(world, vlc):
    files = _some(world, VLC_NAMES)
    path = P.write_case(world[0], files, "m3u8", "uri")
    os.chmod(path, 0o644)
    assert P.run_vlc(path, files, TIMEOUT) == VLC_NAMES


def test_vlc_opens_every_name_from_xspf(world, vlc):
    files = _some(world, VLC_NAMES)
    path = P.write_case(world[0], files, "xspf", "absolute")
    os.chmod(path, 0o644)
    assert P.run_vlc(path, files, TIMEOUT) == VLC_NAMES


@pytest.mark.parametrize("fmt", ["pls", "m3u8"])
def test_vlc_misreads_raw_paths_as_tempo_warns(world, vlc, fmt):
    files = _some(world, VLC_RAW_NAMES)
    path = P.write_case(world[0], files, fmt, "absolute")
    os.chmod(path, 0o644)
    opened = P.run_vlc(path, files, TIMEOUT)
    # VLC's PLS reader keeps a name's bytes; its M3U reader does not
    assert opened == (["plain", "&", "latin1"] if fmt == "pls" else ["plain", "&"])
    with open(path, "rb") as fh:  # the CLI's note counts exactly the others
        assert vlc_misreads(fh.read().decode("utf-8", "surrogateescape"), fmt) == \
            len(VLC_RAW_NAMES) - len(opened)


# --- MPD ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mpd(world):
    _need("mpd", "mpc")
    root, files = world
    # the playlists the tests load, written before MPD scans its music folder
    for fmt, mode in [("m3u8", "relative"), ("xspf", "relative")]:
        _case(world, fmt, mode)
    for mode in ("relative", "base"):
        _case(world, "m3u", mode, stored=True)
    try:
        with P.Mpd(root, TIMEOUT) as server:
            yield server
    except RuntimeError as err:
        pytest.skip(str(err))


def test_mpd_opens_every_name_from_relative_m3u8_in_its_music_folder(world, mpd):
    assert mpd.load(f"{P.LISTS}/relative.m3u8", world[1]) == ALL


def test_mpd_stored_playlist_needs_base(world, mpd):
    """MPD reads a stored playlist's relative entries against its music folder: --base."""
    assert mpd.load("m3u-base", world[1]) == ALL
    assert mpd.load("m3u-relative", world[1]) == []


def test_mpd_does_not_percent_decode_xspf(world, mpd):
    assert mpd.load(f"{P.LISTS}/relative.xspf", world[1]) == ["plain"]
