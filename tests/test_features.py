"""Onset features: block-wise equals whole, frame timing, gain invariance, energy, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tempo.features import (
    BAND_NAMES,
    FeatureExtractor,
    energy_measure,
    extract_features,
    frame_params,
    onset_times,
)

SR = 11025


def clicks(bpm: float, *, duration_s: float = 10.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Noise-burst clicks at a steady tempo."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration_s * sr), np.float32)
    burst = (rng.standard_normal(400) * np.exp(-np.arange(400) / 60)).astype(np.float32) * 0.5
    for k in range(int(duration_s * bpm / 60)):
        i = int(round(k * 60 / bpm * sr))
        m = min(burst.size, y.size - i)
        y[i:i + m] += burst[:m]
    return y


def test_blockwise_equals_whole():
    y = clicks(120.0)
    whole = extract_features(y, sr=SR)
    fx = FeatureExtractor(sr=SR)
    rng = np.random.default_rng(1)
    i = 0
    while i < y.size:  # ragged blocks, including empty ones and ones shorter than a frame
        n = int(rng.choice([0, 1, 37, 511, 4096, 20000]))
        fx.update(y[i:i + n])
        i += n
    part = fx.finish()
    assert part.envelopes.shape == whole.envelopes.shape
    np.testing.assert_allclose(part.envelopes, whole.envelopes, atol=1e-3)
    assert part.energy == pytest.approx(whole.energy, abs=1e-3)
    assert part.duration_s == whole.duration_s == pytest.approx(10.0)


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 44100, 48000])
def test_frames_are_centred_at_every_rate(sr):
    y = clicks(100.0, sr=sr, duration_s=3.0)
    f = extract_features(y, sr=sr)
    hop, n_fft = frame_params(sr)
    assert f.fps == pytest.approx(sr / hop)
    assert f.fps == pytest.approx(86.13, rel=0.02)
    assert f.n_frames == 1 + y.size // hop
    assert f.envelopes.shape == (len(BAND_NAMES), f.n_frames)
    assert f.envelopes.dtype == np.float32 and np.all(f.envelopes >= 0)
    # the first click starts at t=0; the onset peak sits within two frames of it
    first = int(np.argmax(f.envelope[: int(0.3 * f.fps)]))
    assert first <= 2


def test_onsets_land_on_the_clicks():
    f = extract_features(clicks(120.0), sr=SR)
    times = onset_times(f.envelope, f.fps)
    expected = np.arange(0, 10, 0.5)
    assert len(times) == pytest.approx(len(expected), abs=2)
    assert np.max(np.min(np.abs(times[:, None] - expected[None, :]), axis=1)) < 0.03


@pytest.mark.parametrize("db", [20.0, 40.0])
def test_features_do_not_depend_on_gain(db):
    # clicks in digital silence: every frame between them is far below any fixed floor once
    # the track is 40 dB quieter, so a floor that were not the track's own would show here
    y = clicks(120.0)
    loud = extract_features(y, sr=SR)
    quiet = extract_features(y * np.float32(10 ** (-db / 20)), sr=SR)
    # the same envelope frame by frame (the levels are kept in 0.005 dB steps)
    np.testing.assert_allclose(quiet.envelopes, loud.envelopes, atol=0.5)
    assert loud.envelope.max() > 100.0
    assert quiet.onset_rate == loud.onset_rate
    assert quiet.energy == pytest.approx(loud.energy, abs=1e-3)
    for name in ("centroid_hz", "flatness", "high_ratio_db", "fill"):
        assert getattr(quiet, name) == pytest.approx(getattr(loud, name), rel=1e-3), name


def test_energy_orders_sparse_below_dense():
    sparse = extract_features(clicks(60.0), sr=SR)
    rng = np.random.default_rng(2)
    dense = clicks(240.0) + clicks(480.0, seed=3) * 0.5 + 0.01 * rng.standard_normal(10 * SR).astype(np.float32)
    dense = extract_features(dense, sr=SR)
    assert 0.0 < sparse.energy < dense.energy <= 1.0
    assert sparse.onset_rate == pytest.approx(1.0, abs=0.3)
    assert dense.onset_rate > 3.0


def test_silence_has_no_energy():
    f = extract_features(np.zeros(5 * SR, np.float32), sr=SR)
    assert not f.envelopes.any()
    assert f.energy == 0.0 and f.onset_rate == 0.0
    assert energy_measure(f) == (0.0, 0.0)


def test_empty_input():
    f = FeatureExtractor(sr=SR).finish()
    assert f.n_frames == 1 and f.duration_s == 0.0 and f.energy == 0.0


@pytest.mark.parametrize("bad", [np.zeros((10, 2), np.float32), np.zeros((2, 3, 4), np.float32)])
def test_multichannel_input_is_refused(bad):
    with pytest.raises(ValueError, match="mono"):
        extract_features(bad, sr=SR)


@pytest.mark.parametrize("sr", [0, 500, 10**6])
def test_bad_rate_is_refused_naming_it(sr):
    with pytest.raises(ValueError, match=f"sr={sr}"):
        FeatureExtractor(sr=sr)


def test_update_after_finish_is_an_error():
    fx = FeatureExtractor(sr=SR)
    fx.update(np.zeros(1000, np.float32))
    fx.finish()
    with pytest.raises(RuntimeError):
        fx.update(np.zeros(10, np.float32))


def test_non_finite_samples_do_not_poison_the_features():
    y = clicks(120.0, duration_s=4.0)
    y[1000] = np.nan
    y[2000] = np.inf
    f = extract_features(y, sr=SR)
    assert np.all(np.isfinite(f.envelopes))
