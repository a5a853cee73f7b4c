"""The estimator's numeric kernels against plain, slow reference computations.

The kernels are written for speed (one FFT pass per signal, stacked interpolations, no BLAS);
these references say what they compute: each window's autocorrelation by ``np.correlate``, the
peak search point by point, the harmonic comb as a direct DFT. Seeded random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from tempo.estimate import (ACF_BATCH, ACF_HOP_S, ACF_WINDOW_S, COMB_WEIGHTS, SUBDIV_WEIGHT,
                            _comb, _harmonic_power, _interp, _peak_interp, _phasors,
                            windowed_acf)

FPS = 11025 / 128


def _windowed_acf_reference(x, fps, max_lag):
    n_sig, n = x.shape
    win = min(n, int(round(ACF_WINDOW_S * fps)))
    hop = max(1, int(round(ACF_HOP_S * fps)))
    max_lag = min(max_lag, max(win - 1, 1))
    starts = list(range(0, max(n - win, 0) + 1, hop))
    if starts[-1] + win < n:
        starts.append(n - win)
    acf = np.zeros((n_sig, max_lag + 1))
    for s in starts:
        for i in range(n_sig):
            w = x[i, s:s + win].astype(np.float64)
            w = w - w.mean()
            full = np.correlate(w, w, mode="full")[win - 1:]
            acf[i] += full[: max_lag + 1]
    acf /= (win - np.arange(max_lag + 1)) / win
    zero = acf[:, :1]
    return np.where(zero > 1e-12, acf / np.maximum(zero, 1e-12), 0.0), len(starts)


@pytest.mark.parametrize("seconds, max_lag", [(8.0, 300), (40.0, 520), (150.0, 520), (30.0, 5000)])
def test_windowed_acf_is_the_sum_of_window_autocorrelations(seconds, max_lag):
    rng = np.random.default_rng(int(seconds))
    n = int(seconds * FPS)
    t = np.arange(n) / FPS
    pulse = np.maximum(np.cos(2 * np.pi * t * 2.1), 0) ** 6  # a beat at 126 BPM
    x = np.stack([pulse + 0.3 * rng.standard_normal(n), rng.standard_normal(n),
                  np.r_[np.zeros(n // 2), pulse[n // 2:]]]).astype(np.float32)
    got = windowed_acf(x, FPS, max_lag=max_lag)
    want, n_windows = _windowed_acf_reference(x, FPS, max_lag)
    if seconds == 150.0:
        assert n_windows > ACF_BATCH  # more than one batch of windows
    assert got.shape == want.shape
    # float32 spectra: ~1e-6 of lag 0, magnified at long lags by the unbiasing (win / (win - lag))
    win = min(n, int(round(ACF_WINDOW_S * FPS)))
    unbias = win / (win - np.arange(got.shape[1]))
    assert np.all(np.abs(got - want) <= 2e-6 * unbias)


def _peak_interp_reference(acf, lags, radius):
    offsets = np.linspace(-radius, radius, 5)
    return np.max(np.stack([_interp(acf, lags + o) for o in offsets]), axis=0)


def _comb_reference(acf, lags):
    out = np.zeros(acf.shape[:-1] + np.shape(lags))
    for k, w in enumerate(COMB_WEIGHTS, start=1):
        out += w * _peak_interp_reference(acf, k * lags, 0.01 * k * lags)
    out += SUBDIV_WEIGHT * _peak_interp_reference(acf, 0.5 * lags, 0.005 * lags)
    return out / (sum(COMB_WEIGHTS) + SUBDIV_WEIGHT)


@pytest.mark.parametrize("rows", [None, 1, 8])
def test_peak_search_and_comb_match_the_point_by_point_search_exactly(rows):
    rng = np.random.default_rng(7)
    acf = rng.uniform(-1, 1, 600 if rows is None else (rows, 600))
    lags = rng.uniform(-5, 640, 300)  # some beyond either end of the computed range
    for radius in (2.5, 0.01 * lags, 0.0):
        assert np.array_equal(_peak_interp(acf, lags, radius),
                              _peak_interp_reference(acf, lags, radius))
    scalar = np.array([37.25])
    assert np.array_equal(_peak_interp(acf, scalar, 0.4), _peak_interp_reference(acf, scalar, 0.4))
    grid_lags = 60.0 * FPS / np.geomspace(30, 300, 900)
    assert np.array_equal(_comb(acf, grid_lags), _comb_reference(acf, grid_lags))


def test_harmonic_power_is_the_direct_dft():
    rng = np.random.default_rng(3)
    for n in (700, 5000):
        x = rng.standard_normal(n)
        bpms = 128.0 * np.linspace(0.97, 1.03, 25)
        harmonics = (1, 2, 4)
        got = _harmonic_power(x, FPS, bpms, harmonics)
        frames = np.arange(n)
        want = sum(np.abs(np.exp(-2j * np.pi * np.outer(bpms * h / 60.0 / FPS, frames)) @ x) ** 2
                   / h for h in harmonics)
        np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("n", [1, 2, 31, 1000, 1024])
def test_phasor_table(n):
    omega = np.linspace(0.001, 0.7, 19)
    want = np.exp(-1j * np.outer(omega, np.arange(n)))
    got = _phasors(omega, n)
    assert got.shape == (19, n)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
