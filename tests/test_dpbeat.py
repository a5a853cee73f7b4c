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
