"""Reading tags, and writing BPM tags: round trip on every format, audio untouched, atomic."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tempo import TagError, TempoEstimate, TrackAnalysis
from tempo.audio import load
from tempo.tags import (
    format_bpm,
    parse_bpm,
    plan_bpm_tag,
    read_bpm_tag,
    read_tags,
    write_bpm_tag,
)

FORMATS = [".mp3", ".flac", ".ogg", ".m4a", ".wav", ".aiff"]


@pytest.fixture(scope="module")
def loop(fixtures_mod):
    return fixtures_mod.drum_pattern(128.0, duration_s=3.0, sr=22050)


@pytest.mark.parametrize("ext", FORMATS)
def test_bpm_tag_round_trip_leaves_audio_untouched(tmp_path, fixtures_mod, loop, ext):
    path = fixtures_mod.write_audio(str(tmp_path / f"song{ext}"), loop, 22050)
    before = load(path)
    assert read_bpm_tag(path) is None
    write_bpm_tag(path, "128")
    assert read_bpm_tag(path) == "128"
    assert read_tags(path).bpm == 128.0
    assert np.array_equal(load(path), before)  # decoded samples identical
    write_bpm_tag(path, "129")  # replacing keeps exactly one BPM value
    assert read_bpm_tag(path) == "129"
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tempo-tag-")] == []


def test_mp3_gets_id3v23_and_keeps_other_tags(tmp_path, fixtures_mod, loop):
    from mutagen.id3 import ID3

    path = fixtures_mod.write_audio(str(tmp_path / "song.mp3"), loop, 22050)
    fixtures_mod.write_tags(path, artist="Survivor", title="Burning Heart")
    write_bpm_tag(path, "174")
    tags = ID3(path)
    assert tags.version[:2] == (2, 3)
    assert read_tags(path) == read_tags(path).__class__(
        artist="Survivor", title="Burning Heart", album=None, bpm=174.0)


def test_symlink_tags_the_target_and_keeps_the_link(tmp_path, fixtures_mod, loop):
    target = fixtures_mod.write_audio(str(tmp_path / "real.flac"), loop, 22050)
    link = tmp_path / "link.flac"
    link.symlink_to(target)
    write_bpm_tag(str(link), "128")
    assert link.is_symlink()
    assert read_bpm_tag(target) == "128"


def test_read_only_file_is_refused(tmp_path, fixtures_mod, loop):
    path = fixtures_mod.write_audio(str(tmp_path / "ro.flac"), loop, 22050)
    before = open(path, "rb").read()
    os.chmod(path, 0o444)
    with pytest.raises(TagError, match="ro.flac: file is read-only"):
        write_bpm_tag(path, "128")
    assert open(path, "rb").read() == before


def test_corrupt_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "broken.mp3"
    path.write_bytes(b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f garbage")
    before = path.read_bytes()
    with pytest.raises(TagError, match="broken.mp3"):
        write_bpm_tag(str(path), "128")
    assert path.read_bytes() == before


def test_unsupported_format(tmp_path):
    path = tmp_path / "song.wma"
    path.write_bytes(b"x" * 100)
    with pytest.raises(TagError, match="does not write BPM tags"):
        write_bpm_tag(str(path), "128")


@pytest.mark.parametrize("text,value", [("128", 128.0), ("127.5", 127.5), ("128 BPM", 128.0),
                                        ("127,5", 127.5), ("", None), ("fast", None),
                                        ("0", None), (None, None)])
def test_parse_bpm(text, value):
    assert parse_bpm(text) == value


def test_format_bpm_decimals_only_where_allowed():
    assert format_bpm(127.46, decimals=1, kind="flac") == "127.5"
    assert format_bpm(127.46, decimals=1, kind="mp3") == "127"
    assert format_bpm(127.5, decimals=0, kind="ogg") == "128"


def _ta(path="/m/a.mp3", bpm=128.04, confidence=0.9):
    return TrackAnalysis(path=path, size=1, mtime_ns=1, duration_s=200.0,
                         tempo=TempoEstimate(bpm=bpm, confidence=confidence))


@pytest.mark.parametrize("existing,kwargs,action,new", [
    (None, {}, "write", "128"),
    ("120", {}, "skip", "128"),
    ("120", {"force": True}, "write", "128"),
    ("128", {}, "unchanged", "128"),
    (None, {"min_confidence": 0.95}, "skip", None),
])
def test_plan(existing, kwargs, action, new):
    plan = plan_bpm_tag(_ta(), existing=existing, **kwargs)
    assert (plan.action, plan.new, plan.old) == (action, new, existing)


def test_plan_no_tempo_and_unsupported():
    assert plan_bpm_tag(_ta(bpm=None), existing=None).reason == "no tempo found"
    assert plan_bpm_tag(_ta(path="/m/a.wma"), existing=None).action == "skip"


def _tagged(bpm, tag, candidates=()):
    from tempo import Tags

    return TrackAnalysis(path="/m/a.mp3", size=1, mtime_ns=1, duration_s=200.0,
                         tempo=TempoEstimate(bpm=bpm, confidence=0.6, candidates=candidates,
                                             curve=((5.0, bpm or 0.0),)),
                         tags=Tags(bpm=tag))


def test_trust_tags_agreeing_tag_keeps_our_finer_bpm():
    from tempo.tags import apply_tag_tempo

    ta = _tagged(127.6, 128.0)
    assert apply_tag_tempo(ta) == ta


def test_trust_tags_chooses_the_level():
    from tempo.tags import apply_tag_tempo

    out = apply_tag_tempo(_tagged(87.1, 174.0, candidates=((87.1, 1.0), (174.2, 0.7))))
    assert (out.bpm, out.tempo.source) == (174.2, "tag-level")
    assert out.tempo.curve == ((5.0, 174.2),)
    out = apply_tag_tempo(_tagged(120.0, 180.0))  # 2/3 error
    assert (out.bpm, out.tempo.source) == (180.0, "tag-level")


def test_trust_tags_replaces_unrelated_or_missing_estimates():
    from tempo.tags import apply_tag_tempo

    for ours in (None, 101.0):
        out = apply_tag_tempo(_tagged(ours, 128.0))
        assert (out.bpm, out.tempo.source) == (128.0, "tag")
    assert apply_tag_tempo(_tagged(120.0, None)).tempo.source == "audio"


@pytest.mark.skipif(__import__("shutil").which("ffprobe") is None, reason="ffprobe not installed")
@pytest.mark.parametrize("ext", [".mp3", ".flac"])
def test_other_tag_readers_see_the_bpm(tmp_path, fixtures_mod, loop, ext):
    """FFmpeg's reader (what many players use) finds the BPM we wrote. (ffprobe 5.1 does not
    list MP4's tmpo atom at all, so M4A is checked with mutagen only.)"""
    import json
    import subprocess

    path = fixtures_mod.write_audio(str(tmp_path / f"song{ext}"), loop, 22050)
    write_bpm_tag(path, "128")
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json",
                          path], capture_output=True, text=True, check=True).stdout
    tags = {k.lower(): v for k, v in json.loads(out)["format"].get("tags", {}).items()}
    assert tags.get("tbpm", tags.get("bpm")) == "128", tags


def test_a_tag_block_declaring_gigabytes_is_ignored_under_a_memory_ceiling(tmp_path, fixtures_mod):
    """A FLAC whose Vorbis comment declares a 4 GB vendor string: mutagen tries to read what it
    declares; under a worker's memory ceiling that is a MemoryError, which must cost the tags
    only, not the analysis (found by benchmarks/fuzz.py)."""
    import subprocess
    import sys

    y = fixtures_mod.drum_pattern(120.0, duration_s=5.0, sr=22050, seed=3)
    path = fixtures_mod.write_audio(str(tmp_path / "huge_tag.flac"), y, 22050)
    fixtures_mod.write_tags(path, artist="A", title="T")
    data = bytearray(open(path, "rb").read())
    pos = 4
    while data[pos] & 0x7F != 4:  # the VORBIS_COMMENT block
        pos += 4 + int.from_bytes(data[pos + 1:pos + 4], "big")
    data[pos + 4:pos + 8] = b"\xff\xff\xff\xff"  # its vendor string's length
    open(path, "wb").write(bytes(data))
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3072 * 2 ** 20, resource.RLIM_INFINITY))\n"
            "import tempo\n"
            "from tempo.tags import read_bpm_tag\n"
            "ta = tempo.analyze_file(sys.argv[1])\n"
            "print(ta.bpm, ta.tags.title, read_bpm_tag(sys.argv[1]))\n")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=repo), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["120.0", "None", "None"]
