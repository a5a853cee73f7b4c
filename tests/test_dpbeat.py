"""The numpy beat tracker (tempo.mix.dpbeat): beats where the onsets are, and the same beats as
librosa's tracker it replaces (when librosa is installed)."""

from __future__ import annotations

import numpy as np
import pytest

from tempo.mix.dpbeat import beat_dp, last_beat, local_score, track_beats

FPS = 22050 / 512


def _clicks(n, period, *, start=0, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    env = noise * np.abs(rng.standard_normal(n))
    env[np.round(np.arange(start, n, period)).astype(int)] += 1.0
    return env


def test_beats_fall_on_the_clicks_at_the_given_tempo():
    period = FPS * 60 / 128  # 20.2 frames
    env = _clicks(3000, period, start=7)
    beats = track_beats(env, FPS, 128.0, tightness=400, trim=False)
    clicks = np.round(np.arange(7, 3000, period)).astype(int)
    assert len(beats) == len(clicks)
    assert np.abs(beats - clicks).max() <= 1


def test_a_tempo_off_by_a_little_still_follows_the_clicks():
    """Seeded 2 % slow, the tracker still puts each beat on its click (the gap penalty is
    soft), which is what a drifting live recording needs."""
    period = FPS * 60 / 125
    env = _clicks(2500, period, noise=0.02, seed=1)
    beats = track_beats(env, FPS, 122.5, tightness=100, trim=False)
    clicks = np.round(np.arange(0, 2500, period)).astype(int)
    matched = [np.min(np.abs(clicks - b)) <= 1 for b in beats]
    assert np.mean(matched) > 0.95 and abs(len(beats) - len(clicks)) <= 2


def test_leading_silence_starts_no_chain_and_trim_drops_weak_ends():
    period = FPS * 60 / 120
    env = _clicks(3000, period, noise=0.0)
    env[:600] = 0.0
    beats = track_beats(env, FPS, 120.0, trim=False)
    assert np.sum(beats < 600) <= 1  # the first click's chain may reach one beat back, no more
    quiet = env.copy()
    quiet[2400:] *= 0.05  # a fade-out: trimmed away with trim=True only
    assert track_beats(quiet, FPS, 120.0, trim=True)[-1] < 2400
    assert track_beats(quiet, FPS, 120.0, trim=False)[-1] > 2400


def test_parts_and_edge_cases():
    env = _clicks(500, 20.0)
    local = local_score(env, 20.0)
    assert local.shape == env.shape and np.all(local >= 0)
    back, cum = beat_dp(local, 20.0, 100.0)
    assert back[0] == -1 and np.all(back < np.arange(len(back)))
    assert 0 <= last_beat(cum) < len(cum)
    assert track_beats(np.zeros(100), FPS, 120.0).size == 0
    with pytest.raises(ValueError):
        track_beats(env, FPS, 0.0)
    with pytest.raises(ValueError):
        track_beats(np.ones((2, 5)), FPS, 120.0)


@pytest.mark.parametrize("seed", range(12))
def test_same_beats_as_librosa(seed):
    """Random envelopes (clicks at a random period in noise, some with leading silence),
    random seeded tempo, both tightness values and trim settings: librosa's beat_track and
    ours give the same frames."""
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(300, 12000))
    env = np.abs(rng.standard_normal(n)) ** 3
    env[np.arange(0, n, rng.uniform(15, 60)).astype(int)] += 5.0
    if seed % 3 == 0:
        env[:int(rng.integers(1, 400))] = 0.0
    bpm = float(rng.uniform(60, 200))
    tightness = (100.0, 400.0)[seed % 2]
    trim = bool(seed % 4 < 2)
    _, ref = librosa.beat.beat_track(onset_envelope=env, sr=22050, hop_length=512, bpm=bpm,
                                     tightness=tightness, trim=trim, units="frames")
    ours = track_beats(env, FPS, bpm, tightness=tightness, trim=trim)
    np.testing.assert_array_equal(ours, np.asarray(ref))


@pytest.mark.parametrize("sr,n_fft", [(22050, 4096), (44100, 8192), (22050, 2048)])
def test_filter_banks_are_librosas(sr, n_fft):
    librosa = pytest.importorskip("librosa")
    from tempo.mix.filters import chroma_filters, mel_filters

    np.testing.assert_allclose(mel_filters(sr, n_fft, 40),
                               librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=40), atol=1e-7)
    np.testing.assert_allclose(chroma_filters(sr, n_fft),
                               librosa.filters.chroma(sr=sr, n_fft=n_fft), atol=1e-7)


def test_the_beat_grid_does_not_load_librosa(tmp_path):
    """A mix's beat grid (tracker, meter, filter banks) runs without importing librosa: its
    import and numba compilation cost seconds and 160 MB in every process."""
    import os
    import subprocess
    import sys

    import soundfile as sf

    sr = 22050
    t = np.arange(sr * 12) / sr
    y = np.zeros_like(t)
    for b in np.arange(0.25, 12, 0.5):  # 120 BPM clicks
        i = int(b * sr)
        y[i:i + 400] += np.sin(2 * np.pi * 1500 * t[:400]) * np.exp(-t[:400] * 300)
    path = tmp_path / "clicks.wav"
    sf.write(path, (0.5 * y).astype(np.float32), sr)
    code = ("import sys\nfrom tempo.mix.beatgrid import grid_file\n"
            f"g = grid_file({str(path)!r}, bpm=120.0)\n"
            "print(len(g.beats_s), g.beats_per_bar, 'librosa' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": root}, check=True).stdout.split()
    assert int(out[0]) >= 20 and out[2] == "False"
