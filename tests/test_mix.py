"""tempo mix: plan (pure), limiter, rendering checked on the rendered audio, and the CLI.

The rendered-mix checks find the beats, tempi, loudness and peaks in the OUTPUT file, not in
the plan: every beat across every transition within 10 ms of the planned grid, each track's
section re-analysed by tempo's estimator within 1 % of its planned tempo, each section within
1 LU of the loudness target, true peak at most -1 dBTP, no sample jump at a join larger than the
music's own.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mixkit  # noqa: E402

pytest.importorskip("pedalboard")

from tempo.mix import (BeatGrid, MixError, MixItem, beat_grids, check_output,  # noqa: E402
                       plan_mix, render_mix)
from tempo.mix.limiter import TruePeakLimiter, true_peak_db  # noqa: E402
from tempo.mix.plan import cue_sheet  # noqa: E402
from tempo.profiles import get_profile  # noqa: E402

OUT_SR = 22050
LUFS = -14.0
TRACKS = ((118.0, 55.0), (124.0, 73.0), (131.0, 55.0), (138.0, 73.0))


# --------------------------------------------------------------------------- helpers

def _grid(bpm, n_beats, *, start=0.5, downbeat=0, strength=None, lead=0.0, tail=0.0):
    beats = tuple(start + k * 60.0 / bpm for k in range(n_beats))
    return BeatGrid(bpm=bpm, beats_s=beats, downbeat=downbeat, start_s=start + lead,
                    end_s=beats[-1] - tail + 0.01, duration_s=beats[-1] + 1.0,
                    strength=tuple(strength) if strength is not None else (0.0,) * n_beats)


def _item(name, bpm, n_beats, **kw):
    return MixItem(path=f"/music/{name}.flac", name=name, bpm=bpm, grid=_grid(bpm, n_beats, **kw))


def _attack_finder(y, sr):
    """``attack(t)``: the time of the beat attack nearest ``t`` (within 40 ms) in mono ``y``:
    where the click band (1.5-4 kHz) envelope first reaches half its peak in that window."""
    from scipy.signal import butter, sosfiltfilt

    band = sosfiltfilt(butter(4, [1500, 4000], btype="band", fs=sr, output="sos"), y)
    env = np.abs(band)
    w = max(1, int(0.0005 * sr))
    env = np.convolve(env, np.ones(w) / w, mode="same")

    def attack(t, span=0.04):
        a, b = int((t - span) * sr), int((t + span) * sr)
        seg = env[a:b]
        return (a + int(np.argmax(seg >= 0.5 * seg.max()))) / sr

    return attack


# --------------------------------------------------------------------------- the plan (pure)

def test_plan_overlaps_beats_on_beats_and_tempo_rises():
    items = [_item(f"t{i}", bpm, 96) for i, bpm in enumerate((117.0, 126.0, 133.0, 150.0))]
    plan = plan_mix(items, get_profile("montage"), overlap_beats=16, max_stretch=0.08)
    assert [t.name for t in plan.tracks] == ["t0", "t1", "t2", "t3"]
    for a, b in zip(plan.tracks, plan.tracks[1:]):
        # the incoming track's first 16 beats are the outgoing's last 16, at the same times
        assert a.fade_out_beats == b.fade_in_beats == 16
        assert a.out_beats_s[-17:] == b.out_beats_s[:17]
        assert b.first_beat == a.first_beat + a.n_beats - 16
        assert b.played_bpm >= a.played_bpm  # the montage never steps back
    for t in plan.tracks:
        assert abs(t.stretch) <= 0.08 + 1e-9
        assert t.n_beats % 4 == 0
        src = np.asarray(t.src_beats_s)
        # entry and exit on downbeats of the track's own grid (downbeat 0, bars of 4)
        grid = np.asarray(next(i.grid for i in items if i.name == t.name).beats_s)
        k0 = int(np.argmin(abs(grid - src[0])))
        assert k0 % 4 == 0 and (k0 + t.n_beats) % 4 == 0
    # the output grid is strictly increasing and its tempo never falls in this montage
    period = np.diff(plan.beats_s)
    assert np.all(period > 0)
    assert np.all(np.diff(period) <= 1e-5)


def test_plan_respects_silence_fade_and_downbeat_phase():
    item = _item("x", 120.0, 64, downbeat=2, lead=3.0, tail=4.0)
    plan = plan_mix([item], None, overlap_beats=16)
    t = plan.tracks[0]
    beats = item.grid.beats_s
    assert t.src_beats_s[0] >= item.grid.start_s
    assert t.src_beats_s[-1] <= item.grid.end_s
    assert beats.index(t.src_beats_s[0]) % 4 == 2
    assert t.played_bpm == pytest.approx(120.0)


def test_plan_cut_takes_the_most_intense_bars():
    strength = [0.0] * 96
    strength[40:56] = [5.0] * 16  # bars 10-13 are the loudest
    item = _item("x", 128.0, 96, strength=strength)
    plan = plan_mix([item], None, cut_bars=4)
    t = plan.tracks[0]
    assert t.n_beats == 16
    assert t.src_beats_s[0] == pytest.approx(item.grid.beats_s[40])


def test_plan_short_track_is_joined_with_a_cut():
    items = [_item("long", 128.0, 64), _item("short", 128.0, 6), _item("next", 128.0, 64)]
    plan = plan_mix(items, None, overlap_beats=16)
    short = plan.tracks[1]
    assert short.n_beats == 4
    assert short.fade_in_beats == 0 and short.fade_out_beats == 0
    assert any("short" in n and "cut" in n for n in plan.notes)
    assert plan.tracks[0].out_beats_s[-1] == short.out_beats_s[0]


def test_plan_stretch_bound_and_step_back_note():
    # 100 BPM cannot reach the montage's 115+ within 5 %; 160 cannot come down to the warm-up
    items = [_item("slow", 100.0, 64), _item("fast", 160.0, 64), _item("slow2", 100.0, 64)]
    plan = plan_mix(items, get_profile("montage"), max_stretch=0.05)
    for t in plan.tracks:
        assert abs(t.stretch) <= 0.05 + 1e-9
    assert any("steps back" in n for n in plan.notes)


@pytest.mark.parametrize("kw, message", [
    ({"overlap_beats": 6}, "whole bars"),
    ({"max_stretch": 0.9}, "max-stretch"),
    ({"cut_bars": 0}, "--bars"),
])
def test_plan_rejects_bad_options(kw, message):
    with pytest.raises(MixError, match=message):
        plan_mix([_item("x", 120.0, 64)], None, **kw)


def test_cue_sheet_times():
    items = [_item("A - One", 120.0, 64), _item("B - Two", 120.0, 64)]
    plan = plan_mix(items, None, overlap_beats=16)
    text = cue_sheet(plan, "/x/mix.flac", title="test")
    assert 'FILE "mix.flac" WAVE' in text
    assert text.count("TRACK ") == 2
    assert 'TITLE "Two"' in text and 'PERFORMER "B"' in text
    # 60 beats (whole bars inside the music), the last 16 shared: track 2 enters after 44
    # beats at 120 BPM = 22.0 s = 00:22:00
    assert "INDEX 01 00:22:00" in text


# --------------------------------------------------------------------------- limiter

def test_limiter_holds_true_peak_and_leaves_quiet_audio_alone():
    from scipy.signal import resample_poly

    sr = 44100
    rng = np.random.default_rng(3)
    n = sr * 4
    t = np.arange(n) / sr
    x = 0.3 * rng.standard_normal((n, 2))
    x += 0.9 * np.sin(2 * np.pi * 11025.5 * t)[:, None]  # inter-sample peaks near fs/4
    x[::4000] += 2.0
    lim = TruePeakLimiter(sr, 2, ceiling_db=-1.0)
    y = np.concatenate([lim.process(x[i:i + 10000]) for i in range(0, n, 10000)] + [lim.flush()])
    assert y.shape == x.shape
    up = resample_poly(y, 4, 1, axis=0)[200:-200]
    assert 20 * np.log10(np.abs(up).max()) <= -1.0 + 0.1
    assert true_peak_db(y) <= -1.0 + 0.01  # float32 output rounding
    quiet = 0.05 * x
    lim = TruePeakLimiter(sr, 2, ceiling_db=-1.0)
    q = np.concatenate([lim.process(quiet[:5000]), lim.process(quiet[5000:]), lim.flush()])
    np.testing.assert_allclose(q, quiet, atol=1e-6)


# --------------------------------------------------------------------------- a rendered mix

@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    import tempo

    folder = tmp_path_factory.mktemp("mixlib")
    paths = []
    for i, (bpm, bass) in enumerate(TRACKS):
        y = mixkit.track(bpm, 26.0, bass_hz=bass, click_hz=1800.0 + 700.0 * (i % 2), seed=i)
        paths.append(mixkit.write(str(folder / f"{i:02d} Artist{i} - Song {i}.wav"), y))
    tracks = [tempo.analyze_file(p) for p in paths]
    grids, failures = beat_grids(tracks)
    assert not failures
    items = [MixItem(t.path, t.display_name, t.bpm, grids[t.path]) for t in tracks]
    plan = plan_mix(items, get_profile("montage"), overlap_beats=16)
    out = str(folder / "out" / "mix.flac")
    result = render_mix(plan, out, lufs=LUFS, sr=OUT_SR, jobs=1)
    y, sr = sf.read(out, dtype="float32")
    return {"plan": plan, "result": result, "y": y, "sr": sr, "grids": grids, "paths": paths}


def test_mix_writes_flac_and_cue(rendered):
    plan, result = rendered["plan"], rendered["result"]
    assert rendered["sr"] == OUT_SR and rendered["y"].shape[1] == 2
    assert len(plan.tracks) == 4
    assert abs(len(rendered["y"]) / OUT_SR - plan.duration_s) < 0.1
    text = open(result.cue_path).read()
    assert text.count("TRACK ") == 4 and 'FILE "mix.flac" WAVE' in text
    leftovers = [f for f in os.listdir(os.path.dirname(result.path)) if f.endswith(".tmp")]
    assert leftovers == []


def test_beats_across_every_transition_land_on_the_planned_grid(rendered):
    plan, y, sr = rendered["plan"], rendered["y"], rendered["sr"]
    attack = _attack_finder(y.mean(axis=1), sr)
    checked = 0
    for a, b in zip(plan.tracks, plan.tracks[1:]):
        # the transition's beats, and a bar either side
        for t in plan.beats_s[b.first_beat - 4:b.first_beat + b.fade_in_beats + 5]:
            found = attack(t)
            assert abs(found - t) <= 0.010, f"beat at {t:.3f} s found at {found:.3f} s"
            checked += 1
    assert checked == 3 * 25
    # and every other beat of the mix too (the ends excepted: fade-in and end fade)
    errors = [abs(attack(t) - t) for t in plan.beats_s[1:-8]]
    assert max(errors) <= 0.010


def test_each_section_tempo_reanalysed_within_one_percent(rendered):
    from tempo.estimate import estimate_tempo
    from tempo.features import extract_features

    plan, y, sr = rendered["plan"], rendered["y"], rendered["sr"]
    mono = y.mean(axis=1)
    for t in plan.tracks:
        a, b = t.body_s
        assert b - a > 5.0
        # the stretch is what is checked, not the beat level (these are bare synthetic drum
        # patterns): the estimate is asked within a third of an octave of the played tempo
        est = estimate_tempo(extract_features(mono[int(a * sr):int(b * sr)], sr=sr),
                             min_bpm=t.played_bpm / 1.25, max_bpm=t.played_bpm * 1.25)
        assert est.bpm == pytest.approx(t.played_bpm, rel=0.01), t.name
    # the played tempi are the stretched ones, not the originals
    assert plan.tracks[-1].played_bpm > plan.tracks[-1].effective_bpm


def test_loudness_per_section_and_true_peak(rendered):
    from scipy.signal import resample_poly

    from tempo.loudness import integrated_loudness

    plan, y, sr = rendered["plan"], rendered["y"], rendered["sr"]
    for t in plan.tracks:
        a, b = t.body_s
        lufs = integrated_loudness(y[int(a * sr):int(b * sr)], sr)
        assert lufs == pytest.approx(LUFS, abs=1.0), t.name
    up = resample_poly(y.astype(np.float64), 4, 1, axis=0)
    assert 20 * np.log10(np.abs(up).max()) <= -1.0
    assert rendered["result"].true_peak_db <= -1.0
    assert abs(np.abs(y).max()) < 1.0  # nothing clips


def test_no_jump_at_joins_larger_than_the_music(rendered):
    plan, y, sr = rendered["plan"], rendered["y"], rendered["sr"]
    jumps = np.abs(np.diff(y, axis=0)).max(axis=1)
    own = max(jumps[int(t.body_s[0] * sr):int(t.body_s[1] * sr)].max() for t in plan.tracks)
    for t in plan.tracks:
        for at in (t.start_s, t.end_s):
            i = int(at * sr)
            near = jumps[max(0, i - int(0.02 * sr)):i + int(0.02 * sr)]
            if near.size:
                assert near.max() <= own


def test_bass_swap_keeps_two_basslines_apart(rendered):
    """Outgoing bass 55 Hz, incoming 73 Hz (then the reverse): before mid-transition only the
    outgoing bass sounds, after it only the incoming one."""
    plan, y, sr = rendered["plan"], rendered["y"], rendered["sr"]
    mono = y.mean(axis=1).astype(np.float64)

    def level(beats, hz):
        """Mean level of a sine at ``hz`` between the kicks (both tracks kick on beats 1 and
        3 of their bars, which coincide): from 0.3 s after a kick to just before the next."""
        out = []
        for g0, g1 in zip(beats[0::2], beats[2::2]):
            seg = mono[int((g0 + 0.3) * sr):int((g1 - 0.02) * sr)]
            t = np.arange(len(seg)) / sr
            w = np.hanning(len(seg))
            out.append(abs(np.dot(seg * w, np.exp(-2j * np.pi * hz * t))) / w.sum())
        return float(np.mean(out))

    for i, (a, b) in enumerate(zip(plan.tracks, plan.tracks[1:])):
        out_hz, in_hz = TRACKS[i][1], TRACKS[i + 1][1]
        beats = plan.beats_s[b.first_beat:b.first_beat + b.fade_in_beats + 1]
        first, second = beats[0:7], beats[10:17]  # before and after the swap (beat 8 +- 1/2)
        # a plain equal-power crossfade would give about 0.3 in both
        assert level(first, in_hz) < 0.1 * level(first, out_hz)
        assert level(second, out_hz) < 0.2 * level(second, in_hz)
        assert level(second, out_hz) < 0.15 * level(first, out_hz)


def test_parallel_render_writes_the_same_mix(rendered, tmp_path):
    """Pieces made by two worker processes give the mix one process makes, sample for sample."""
    out = str(tmp_path / "mix2.flac")
    result = render_mix(rendered["plan"], out, lufs=LUFS, sr=OUT_SR, jobs=2)
    y2, _ = sf.read(out, dtype="float32")
    assert y2.shape == rendered["y"].shape
    np.testing.assert_array_equal(y2, rendered["y"])
    assert [p.gain_db for p in result.pieces] == [p.gain_db for p in rendered["result"].pieces]


def test_a_track_broken_mid_render_stops_the_mix_cleanly(rendered, tmp_path):
    """A source that no longer decodes while the pieces are made in parallel: a MixError
    naming it, no output and no temporary file left, no worker process left running."""
    import dataclasses
    import multiprocessing

    plan = rendered["plan"]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt " + os.urandom(2000))
    tracks = list(plan.tracks)
    tracks[2] = dataclasses.replace(tracks[2], path=str(broken))
    bad = dataclasses.replace(plan, tracks=tuple(tracks))
    out = tmp_path / "out" / "mix.flac"
    with pytest.raises(MixError, match="broken.wav|decode"):
        render_mix(bad, str(out), lufs=LUFS, sr=OUT_SR, jobs=2)
    assert not out.exists()
    assert os.listdir(out.parent) == []
    assert multiprocessing.active_children() == []


# --------------------------------------------------------------------------- output checks

@pytest.mark.parametrize("name", ["mix.txt", "mix"])
def test_unknown_output_format_is_refused(tmp_path, name):
    with pytest.raises(MixError, match="format"):
        check_output(str(tmp_path / name))


def test_unwritable_output_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(str(ro), os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(MixError, match="cannot write"):
            check_output(str(ro / "mix.flac"))
    finally:
        ro.chmod(0o700)


def test_missing_extra_names_it(monkeypatch, tmp_path):
    from tempo.errors import TempoError
    from tempo.mix import render

    monkeypatch.setitem(sys.modules, "pedalboard", None)
    with pytest.raises(TempoError, match=r"tempo-montage\[mix\]"):
        render._pedalboard()


# --------------------------------------------------------------------------- the CLI

@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Five short tracks across the montage's tempi, and a file that is not audio."""
    folder = tmp_path_factory.mktemp("cli_lib")
    paths = []
    for i, bpm in enumerate((117.0, 124.0, 131.0, 140.0, 150.0)):
        y = mixkit.track(bpm, 16.0, bass_hz=(55.0, 73.0)[i % 2],
                         click_hz=1800.0 + 700.0 * (i % 2), seed=10 + i)
        paths.append(mixkit.write(str(folder / f"{i:02d} Band{i} - Tune {i}.wav"), y))
    bad = folder / "99 broken.wav"
    bad.write_bytes(b"RIFF not really a wave file" * 10)
    return {"folder": str(folder), "paths": paths, "bad": str(bad)}


def _run(runner, args):
    from tempo.cli import cli

    return runner.invoke(cli, ["mix", *args, "-j", "1", "-q", "--sample-rate", str(OUT_SR)])


def test_cli_mix_playlist_skips_missing_and_broken_entries(runner, library, tmp_path):
    pl = tmp_path / "set.m3u8"
    entries = [library["paths"][0], str(tmp_path / "gone.flac"), library["bad"],
               *library["paths"][1:3]]
    pl.write_text("#EXTM3U\n" + "\n".join(entries) + "\n")
    out = tmp_path / "mix.flac"
    r = _run(runner, [str(pl), "-o", str(out), "--overlap", "8"])
    assert r.exit_code == 0, r.output + r.stderr
    assert f"skipped: {tmp_path / 'gone.flac'}: missing" in r.stderr
    assert "99 broken.wav" in r.stderr
    rows = [line for line in r.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 3 and "Band0 - Tune 0" in rows[0] and "Band2 - Tune 2" in rows[2]
    assert f"wrote {out}" in r.stdout
    y, sr = sf.read(str(out))
    assert sr == OUT_SR and len(y) > 20 * sr
    cue = (tmp_path / "mix.cue").read_text()
    assert cue.count("TRACK ") == 3


def test_cli_mix_strict_stops_at_a_missing_entry(runner, library, tmp_path):
    pl = tmp_path / "set.m3u8"
    pl.write_text("\n".join([library["paths"][0], str(tmp_path / "gone.flac")]) + "\n")
    out = tmp_path / "mix.flac"
    r = _run(runner, [str(pl), "-o", str(out), "--strict"])
    assert r.exit_code == 1
    assert "gone.flac" in r.stderr and "does not exist" in r.stderr
    assert not out.exists()


def test_cli_mix_paths_cut_montage_mp3(runner, library, tmp_path):
    out = tmp_path / "montage.mp3"
    r = _run(runner, [library["folder"], "--minutes", "1", "--cut", "--bars", "4",
                      "--overlap", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output + r.stderr
    assert "99 broken.wav" in r.stderr  # named, skipped, the mix goes on
    rows = [line for line in r.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) >= 3
    played = [float(line.split()[3]) for line in rows]
    assert played == sorted(played)  # the montage's tempo rises
    from tempo.audio import probe

    info = probe(str(out))
    assert info.format in ("mp3", "mpeg") or "mp3" in info.format
    # each track plays 4 bars, sharing one with its neighbours
    beats = sum(4 * 4 for _ in rows) - 4 * (len(rows) - 1)
    assert info.duration_s == pytest.approx(beats * 60 / 140, rel=0.25)


@pytest.mark.parametrize("ext", ["wav", "ogg"])
def test_cli_mix_formats(runner, library, tmp_path, ext):
    out = tmp_path / f"m.{ext}"
    r = _run(runner, [library["paths"][1], library["paths"][2], "--cut", "--bars", "2",
                      "--overlap", "0", "--no-cue", "-o", str(out)])
    assert r.exit_code == 0, r.output + r.stderr
    from tempo.audio import load

    assert len(load(str(out), sr=8000)) > 8000
    assert not (tmp_path / "m.cue").exists()


@pytest.mark.parametrize("make_output, message", [
    (lambda d: str(d / "a-file" / "mix.flac"), "cannot write the mix here"),
    (lambda d: str(d / "mix.aac"), "unknown output format"),
    (lambda d: str(d), "is a directory"),
])
def test_cli_mix_refuses_bad_output_before_any_work(runner, library, tmp_path, make_output,
                                                    message):
    (tmp_path / "a-file").write_text("not a folder")
    r = _run(runner, [library["folder"], "-o", make_output(tmp_path)])
    assert r.exit_code != 0
    assert message in r.stderr
    assert "skipped" not in r.stderr  # nothing was scanned


def test_cli_mix_rejects_overlap_not_in_bars(runner, library, tmp_path):
    r = _run(runner, [library["paths"][0], "--overlap", "6", "-o", str(tmp_path / "m.wav")])
    assert r.exit_code == 1
    assert "whole bars" in r.stderr


def test_tempo_plot_reads_the_mix(runner, rendered, tmp_path):
    pytest.importorskip("matplotlib")
    from tempo.cli import cli

    png = tmp_path / "mix.png"
    r = runner.invoke(cli, ["plot", rendered["result"].path, "-o", str(png)])
    assert r.exit_code == 0, r.output + r.stderr
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_ctrl_c_mid_render_stops_at_once_and_leaves_nothing(library, tmp_path, sig):
    """Ctrl-C (or a plain kill) while two workers render: exit 130 with a message (143) within
    seconds, the old output untouched, no temporary file, no worker left (a worker that got
    Ctrl-C too used to go on to the next queued piece; SIGTERM used to leave the pieces)."""
    import signal
    import subprocess
    import time

    signum = getattr(signal, sig)

    out = tmp_path / "mix.flac"
    out.write_bytes(b"an earlier mix")
    db = tmp_path / "c.sqlite"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    scratch = tmp_path / "scratch"  # the pieces' temporary folder goes here
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": root, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tempo", "mix", library["folder"], "-o", str(out), "--db", str(db),
         "-j", "2", "--minutes", "3", "--sample-rate", "44100"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if [f for f in os.listdir(tmp_path) if f.startswith(".mix.flac.")] and \
                    any(f.startswith("piece-") for d in scratch.iterdir() if d.is_dir()
                        for f in os.listdir(d)):
                break  # the render has begun (a piece is being written)
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.3)
        os.killpg(proc.pid, signum)
        t0 = time.monotonic()
        proc.wait(60)
        stopped_in = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    err = proc.stderr.read()
    if signum == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted: nothing written" in err
    else:
        assert proc.returncode == 128 + signal.SIGTERM, err
    assert stopped_in < 10
    assert out.read_bytes() == b"an earlier mix"
    assert [f for f in os.listdir(tmp_path) if f.startswith(".mix.flac.")] == []
    assert list(scratch.iterdir()) == []
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(out) not in ps


def test_refill_minutes_asks_again_in_proportion_and_within_bounds():
    from tempo.mix import refill_minutes
    from tempo.mix.plan import FILL_MAX_SCALE, FILL_TOLERANCE

    assert refill_minutes(10.0, 600.0) is None  # as asked
    assert refill_minutes(10.0, 650.0) is None  # longer: nothing to add
    assert refill_minutes(10.0, 600.0 * (1 - FILL_TOLERANCE / 2)) is None  # near enough
    assert refill_minutes(10.0, 500.0) == pytest.approx(12.0)  # 5/6 planned: ask 6/5
    assert refill_minutes(10.0, 100.0) == pytest.approx(10.0 * FILL_MAX_SCALE)
    assert refill_minutes(10.0, 0.0) is None


def test_cli_mix_fills_the_minutes_when_tracks_give_less_than_their_length(runner, tmp_path):
    # eight tracks of 16 s of music between 4 s of silence: the sequencer counts 24 s each,
    # the mix gets 16 s less the overlap; the mix is planned again from a longer sequence
    folder = tmp_path / "padded"
    folder.mkdir()
    pad = np.zeros((4 * mixkit.SR, 2), np.float32)
    for i, bpm in enumerate(np.linspace(118.0, 150.0, 8)):
        y = mixkit.track(float(bpm), 16.0, bass_hz=(55.0, 73.0)[i % 2],
                         click_hz=1800.0 + 700.0 * (i % 2), seed=30 + i)
        mixkit.write(str(folder / f"{i:02d} Pad{i} - Tune {i}.wav"), np.concatenate([pad, y, pad]))
    out = tmp_path / "fill.flac"
    r = _run(runner, [str(folder), "--minutes", "1.5", "--overlap", "4", "-o", str(out)])
    assert r.exit_code == 0, r.output + r.stderr
    rows = [line for line in r.stdout.splitlines() if line.strip()[:1].isdigit()]
    y, sr = sf.read(str(out))
    # one pass would have given about 4 tracks, under a minute; refilled: within 10 % of 90 s
    assert len(rows) >= 5
    assert len(y) / sr == pytest.approx(90.0, rel=0.1)
