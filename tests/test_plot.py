"""Pictures: the data plotted equals the analysis; PNGs render with Agg at a sensible size."""

from __future__ import annotations

import dataclasses
import os
import struct
import sys
from unittest import mock

import pytest

pytest.importorskip("matplotlib")

from click.testing import CliRunner  # noqa: E402

from tempo import Tags, TempoError, TempoEstimate, TrackAnalysis  # noqa: E402
from tempo.cli import cli  # noqa: E402
from tempo.library import Library, LibraryOptions  # noqa: E402
from tempo.playlist import write_playlist  # noqa: E402
from tempo.plot import (  # noqa: E402
    DPI,
    FIG_SIZE_IN,
    arc_data,
    plot_playlist,
    read_playlist,
    render_arc,
    track_data,
)
from tempo.profiles import get_profile, resolve_profile  # noqa: E402
from tempo.ranking import build_sequence  # noqa: E402


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
    # the drawn curve follows the tempo window to window; on a track it agrees with the
    # analysis's own curve (which searches around the track's tempo)
    drawn, own = dict(data.curve), dict(analysis.tempo.curve)
    assert set(own) <= set(drawn)
    assert all(abs(drawn[t] / own[t] - 1) < 0.01 for t in own)
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
    import tempo.plot as plot_mod

    with mock.patch.object(plot_mod, "render_arc", wraps=plot_mod.render_arc) as drawn:
        result = runner.invoke(cli, ["plot", str(playlist), "-o", str(tmp_path / "arc.png"),
                                     "--db", db, "--jobs", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "4 tracks against profile montage" in result.output
    assert _png_size(str(tmp_path / "arc.png"))[0] > 500
    # what was drawn is the playlist's tracks as analysed, in the playlist's order and timeline
    data = drawn.call_args.args[0]
    from tempo.library import scan

    analysed = {t.path: t for t in scan(picks, db_path=db, jobs=1).tracks}
    assert data.bpms == tuple(analysed[p].bpm for p in picks)
    assert data.durations_s == tuple(analysed[p].duration_s for p in picks)
    assert data.starts_s[0] == 0 and all(
        b == pytest.approx(a + d) for a, d, b in zip(data.starts_s, data.durations_s, data.starts_s[1:]))
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


# --- the arc drawn is the arc planned (issue 13) ------------------------------------------------

def _library(n=240, seed=7):
    """A dense, seeded library; energy grows with tempo."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        bpm = round(rng.uniform(70, 185), 1)
        out.append(TrackAnalysis(
            path=f"/music/{i:04d}.flac", size=1, mtime_ns=1, duration_s=rng.uniform(150, 330),
            tempo=TempoEstimate(bpm=bpm, confidence=0.8),
            energy=round(min(1.0, max(0.0, (bpm - 60) / 130 + rng.gauss(0, 0.08))), 3),
            tags=Tags(artist=f"Artist {rng.randrange(25)}", title=f"Song {i}")))
    return out


LIBRARY = _library()

#: (profile, --minutes or None, options) as a user gives them to `tempo playlist`
PLANS = [("montage", None, {}), ("montage", 50, {"cooldown": True}),
         ("cadence", 30, {"spm": 172}), ("cycling", None, {}), ("hiit", 24, {}),
         ("hiit", None, {"rounds": 4}), ("hiit", 20, {"rounds": 2, "work": 3, "rest": 2}),
         ("steady", 30, {"bpm": 128, "tolerance": 3}), ("pyramid", 60, {})]


def _planned(name, minutes, options):
    profile, plan_minutes = resolve_profile(name, minutes=minutes, **options)
    return profile, build_sequence(LIBRARY, profile, minutes=plan_minutes)


@pytest.mark.parametrize("name,minutes,options", PLANS)
def test_arc_draws_the_segments_the_playlist_planned(name, minutes, options):
    profile, seq = _planned(name, minutes, options)
    # what `tempo plot PLAYLIST --profile NAME [options]` knows: the tracks and the options
    data = arc_data(seq.tracks, name, **options)
    assert [s for s, _, _ in data.segments] == [s.name for s in profile.segments]
    # the planned profile stretched to the playlist: same shares of time, same targets
    total = seq.duration_s
    for (s_name, a, b), seg in zip(data.segments, profile.segments):
        assert b - a == pytest.approx(total * seg.minutes / profile.minutes)
    assert data.segments[-1][2] == pytest.approx(total)
    targets = [(seg.target_bpm(0.0), seg.target_bpm(1.0)) for seg in profile.segments]
    drawn = [(lo + hi) / 2 for _, lo, hi in data.band]
    assert drawn == pytest.approx([x for pair in targets for x in pair])
    # each track at the tempo it was planned to play at (1x, 2x or 1/2x)
    assert data.effective_bpms == tuple(round(m.effective_bpm, 2) for m in seq.matches)
    assert data.profile == profile.name


def test_hiit_24_minutes_is_drawn_with_its_3_rounds():
    """Issue 13: `tempo plot` of a 24-minute HIIT playlist (3 rounds) drew 6 squeezed rounds."""
    profile, seq = _planned("hiit", 24, {})
    assert [s.name for s in profile.segments].count("work") == 3
    data = arc_data(seq.tracks, "hiit")
    assert [s for s, _, _ in data.segments] == ["warm-up"] + ["work", "rest"] * 3
    # blocks keep their planned length: 3 min of warm-up, 4 of work, 3 of rest (x playlist/24)
    stretch = seq.duration_s / (24 * 60)
    assert [round((b - a) / 60 / stretch, 6) for _, a, b in data.segments] == [3] + [4, 3] * 3
    # rounds given explicitly are kept, whatever the playlist's length
    assert [s for s, _, _ in arc_data(seq.tracks, "hiit", rounds=2).segments].count("work") == 2


def test_arc_of_the_planned_minutes_puts_every_track_in_its_planned_segment():
    """With the minutes the playlist was planned for (its title records them), the segments
    are where the sequencer put them: every track's middle lies in its planned segment."""
    for name, minutes, options in PLANS:
        profile, plan_minutes = resolve_profile(name, minutes=minutes, **options)
        seq = build_sequence(LIBRARY, profile, minutes=plan_minutes)
        data = arc_data(seq.tracks, name, minutes=plan_minutes, **options)
        assert data.segments[-1][2] == pytest.approx(plan_minutes * 60)
        for m, start, length in zip(seq.matches, data.starts_s, data.durations_s):
            middle = start + length / 2
            drawn = next((s for s, a, b in data.segments if a <= middle < b), None)
            assert drawn == m.segment, (name, minutes, options, m.segment, middle)


def _cached_hiit_playlist(tmp_path):
    """A planned 24-minute HIIT sequence as placeholder files whose analyses the cache holds,
    and a PLS playlist of them (no title, so only the tracks tell the length). Returns
    (sequence, cache path, playlist path)."""
    from tempo.cache import Cache

    _, seq = _planned("hiit", 24, {})
    music = tmp_path / "music"
    music.mkdir()
    db = str(tmp_path / "cache.sqlite")
    tracks = []
    with Cache.open(db) as cache:
        for i, m in enumerate(seq.matches):
            path = music / f"{i:02d}.flac"
            path.write_bytes(b"not audio: the cache answers for it" + bytes([i]))
            st_ = os.stat(path)
            tracks.append(dataclasses.replace(m.track, path=str(path), size=st_.st_size,
                                              mtime_ns=st_.st_mtime_ns))
            cache.put(tracks[-1])
    playlist = tmp_path / "hiit.pls"
    write_playlist(tracks, str(playlist))
    return seq, db, playlist


def test_plot_playlist_draws_the_planned_hiit_rounds(tmp_path):
    """End to end through the cache: a 24-minute HIIT playlist file is drawn with 3 rounds."""
    seq, db, playlist = _cached_hiit_playlist(tmp_path)
    out, data = plot_playlist(str(playlist), str(tmp_path / "arc.png"), profile="hiit",
                              library=Library(LibraryOptions(db_path=db, jobs=1)))
    assert [s for s, _, _ in data.segments] == ["warm-up"] + ["work", "rest"] * 3
    assert data.effective_bpms == tuple(round(m.effective_bpm, 2) for m in seq.matches)
    assert _png_size(out)[0] > 500


def test_cli_plot_draws_the_planned_hiit_rounds(tmp_path):
    import tempo.plot as plot_mod

    _, db, playlist = _cached_hiit_playlist(tmp_path)
    with mock.patch.object(plot_mod, "render_arc", wraps=plot_mod.render_arc) as drawn:
        result = CliRunner().invoke(cli, ["plot", str(playlist), "-o", str(tmp_path / "a.png"),
                                          "--profile", "hiit", "--db", db, "-q"])
    assert result.exit_code == 0, result.output
    segments = drawn.call_args.args[0].segments
    assert [s for s, _, _ in segments] == ["warm-up"] + ["work", "rest"] * 3


def test_drawn_curve_follows_a_mix_that_climbs_further_than_the_search():
    """A whole montage climbs 120 -> 180 BPM (+-20 % around its middle), beats with weaker
    eighths between them. Searched around the file's tempo, some windows near the ends lock on
    another period; followed window to window, every window reads the tempo played there."""
    import numpy as np

    from tempo.estimate import tempo_curve

    fps, seconds, top = 86.13, 600.0, 180.0
    n = int(fps * seconds)
    t = np.arange(n) / fps
    phase = np.cumsum((120.0 + (top - 120.0) * t / seconds) / 60.0 / fps)  # beats elapsed
    env = np.zeros(n)
    env[np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1] = 1.0
    env[np.flatnonzero(np.diff(np.floor(2 * phase)) > 0) + 1] += 0.4
    env += 0.05 * np.random.default_rng(0).random(n)

    def worst(curve):
        return max(abs(b / (120.0 + (top - 120.0) * c / seconds) - 1) for c, b in curve)

    follow = tempo_curve(env, fps, 150.0, follow=True)
    assert len(follow) >= 55 and worst(follow) < 0.02
    assert worst(tempo_curve(env, fps, 150.0)) > 0.1
