"""Pictures: the data plotted equals the analysis; PNGs render with Agg at a sensible size."""

from __future__ import annotations

import os
import struct
import sys

import pytest

pytest.importorskip("matplotlib")

from click.testing import CliRunner  # noqa: E402

from tempo import Tags, TempoError, TempoEstimate, TrackAnalysis  # noqa: E402
from tempo.cli import cli  # noqa: E402
from tempo.playlist import write_playlist  # noqa: E402
from tempo.plot import (  # noqa: E402
    DPI,
    FIG_SIZE_IN,
    arc_data,
    read_playlist,
    render_arc,
    track_data,
)
from tempo.profiles import get_profile  # noqa: E402


def _png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _track(i, bpm, energy, duration_s=180.0):
    return TrackAnalysis(path=f"/music/{i:02d}.mp3", size=1, mtime_ns=1, duration_s=duration_s,
                         tempo=TempoEstimate(bpm=bpm, confidence=0.9,
                                             candidates=((bpm, 1.0), (bpm / 2, 0.5))),
                         energy=energy, tags=Tags(artist=f"A{i}", title=f"T{i}"))


def test_arc_data_is_the_analysis_on_the_profile_timeline():
    tracks = [_track(i, bpm, 0.3 + 0.05 * i) for i, bpm in enumerate(
        [118, 122, 126, 131, 136, 140, 146, 150, 154, 158])]
    profile = get_profile("montage")
    data = arc_data(tracks, profile)
    assert data.starts_s == tuple(180.0 * i for i in range(10))
    assert data.bpms == tuple(t.bpm for t in tracks)
    assert data.energies == tuple(t.energy for t in tracks)
    assert data.effective_bpms == data.bpms  # montage plays every track at 1x
    # the band covers the playlist: profile stretched to 30 minutes
    assert data.band[0][0] == 0.0 and data.band[-1][0] == pytest.approx(1800.0)
    assert [name for name, _, _ in data.segments] == [s.name for s in profile.segments]
    assert all(lo < hi for _, lo, hi in data.band)


def test_arc_data_shows_half_time_tracks_as_played():
    tracks = [_track(0, 170.0, 0.8), _track(1, 85.5, 0.7), _track(2, 172.0, 0.8)]
    data = arc_data(tracks, get_profile("cadence", spm=170))
    assert data.effective_bpms == (170.0, 171.0, 172.0)
    assert data.bpms == (170.0, 85.5, 172.0)


def test_render_arc_png(tmp_path):
    tracks = [_track(i, 115 + 5 * i, 0.3 + 0.06 * i) for i in range(9)]
    out = render_arc(arc_data(tracks, get_profile("montage")), str(tmp_path / "sub" / "arc.png"))
    width, height = _png_size(out)
    assert (width, height) == (int(FIG_SIZE_IN[0] * DPI), int(FIG_SIZE_IN[1] * DPI))
    assert 20_000 < os.path.getsize(out) < 1_000_000
    assert [p for p in os.listdir(tmp_path / "sub") if p.startswith(".arc.png.")] == []


def test_track_data_equals_the_analysis(tempo_set):
    from tempo.analysis import analyze_with_features

    row = [r for r in tempo_set if not r["stable"]][0]
    analysis, features = analyze_with_features(row["path"])
    data = track_data(analysis, features)
    assert data.curve == analysis.tempo.curve
    assert data.candidates == analysis.tempo.candidates
    assert data.bpm == analysis.bpm
    assert max(data.envelope) == pytest.approx(1.0)
    assert data.envelope_times_s[-1] == pytest.approx(analysis.duration_s, abs=1.0)


@pytest.mark.parametrize("ext", [".m3u8", ".m3u", ".pls", ".xspf"])
def test_read_playlist_resolves_what_we_write(tmp_path, ext):
    music = tmp_path / "Música" / "dir with space"
    music.mkdir(parents=True)
    paths = []
    for i, name in enumerate(["Ünïcode ☃.mp3", "plain.flac", "a#b%20c.ogg"]):
        p = music / name
        p.write_bytes(b"x")
        paths.append(str(p))
    tracks = [TrackAnalysis(path=p, size=1, mtime_ns=1, duration_s=100.0,
                            tempo=TempoEstimate(bpm=120.0)) for p in paths]
    dest = tmp_path / "lists" / f"run{ext}"
    write_playlist(tracks, str(dest))
    assert read_playlist(str(dest)) == paths


def test_cli_plot_playlist_and_track(tmp_path, tempo_set):
    runner = CliRunner()
    picks = [r["path"] for r in tempo_set if r["stable"]][:4]
    tracks = [TrackAnalysis(path=p, size=1, mtime_ns=1, duration_s=15.0,
                            tempo=TempoEstimate(bpm=120.0)) for p in picks]
    playlist = tmp_path / "pl" / "montage.m3u8"
    write_playlist(tracks, str(playlist))
    db = str(tmp_path / "c.sqlite")
    result = runner.invoke(cli, ["plot", str(playlist), "-o", str(tmp_path / "arc.png"),
                                 "--db", db, "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "4 tracks against profile montage" in result.output
    assert _png_size(str(tmp_path / "arc.png"))[0] > 500
    result = runner.invoke(cli, ["plot", picks[0], "-o", str(tmp_path / "track.png")])
    assert result.exit_code == 0, result.output
    assert os.path.getsize(tmp_path / "track.png") > 20_000


def test_missing_matplotlib_names_the_extra(tmp_path, monkeypatch, tempo_set):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result = CliRunner().invoke(cli, ["plot", tempo_set[0]["path"], "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "pip install 'tempo-montage[plot]'" in result.output
    assert not (tmp_path / "x.png").exists()


def test_playlist_with_missing_files(tmp_path):
    playlist = tmp_path / "gone.m3u8"
    playlist.write_text("#EXTM3U\nmissing.mp3\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["plot", str(playlist), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "1 playlist entries do not exist" in result.output


def test_empty_playlist(tmp_path):
    playlist = tmp_path / "empty.m3u8"
    playlist.write_text("#EXTM3U\n", encoding="utf-8")
    with pytest.raises(TempoError, match="no entries"):
        read_playlist(str(playlist))


def test_png_gets_normal_permissions(tmp_path):
    out = render_arc(arc_data([_track(0, 120, 0.5)], get_profile("steady", bpm=120)),
                     str(tmp_path / "arc.png"))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask
