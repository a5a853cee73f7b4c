"""Chroma and mel filter banks for the beat grid's meter evidence, in numpy.

They are librosa's (``librosa.filters.chroma`` with its defaults, ``librosa.filters.mel`` with
Slaney's mel scale and area normalisation), written out so that the mix needs no librosa:
importing librosa costs seconds and 160 MB in every process. ``tests/test_dpbeat.py`` checks
both against librosa when it is installed.

Matrices are ``(bands, 1 + n_fft // 2)`` float32, to multiply a magnitude or power spectrum.
"""

from __future__ import annotations

import numpy as np

#: Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log = hz >= _MIN_LOG_HZ
    return np.where(log, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-300) / _MIN_LOG_HZ) / _LOGSTEP,
                    mel)


def mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    log = mel >= _MIN_LOG_MEL
    return np.where(log, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


def mel_filters(sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                fmax: float | None = None) -> np.ndarray:
    """Triangular filters equally spaced on the mel scale, each of unit area (Slaney)."""
    fmax = sr / 2.0 if fmax is None else fmax
    fft_f = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_f)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def chroma_filters(sr: float, n_fft: int, n_chroma: int = 12, *, ctroct: float = 5.0,
                   octwidth: float = 2.0) -> np.ndarray:
    """Each FFT bin spread over the pitch classes by a Gaussian in log frequency, unit length
    per bin, weighted by a Gaussian over octaves centred on ``ctroct`` (octaves above 27.5 Hz);
    row 0 is C."""
    freqs = np.linspace(0, sr, n_fft, endpoint=False)[1:]
    bins = n_chroma * np.log2(freqs / 27.5)  # A0 = 27.5 Hz, tuning 0
    bins = np.concatenate(([bins[0] - 1.5 * n_chroma], bins))
    width = np.concatenate((np.maximum(np.diff(bins), 1.0), [1.0]))
    d = np.subtract.outer(bins, np.arange(n_chroma, dtype=np.float64)).T
    half = np.round(n_chroma / 2.0)
    d = np.remainder(d + half + 10 * n_chroma, n_chroma) - half
    w = np.exp(-0.5 * (2 * d / width[None, :]) ** 2)
    norm = np.sqrt(np.sum(w ** 2, axis=0, keepdims=True))
    w = w / np.where(norm < np.finfo(np.float64).tiny, 1.0, norm)
    w *= np.exp(-0.5 * ((bins / n_chroma - ctroct) / octwidth) ** 2)[None, :]
    w = np.roll(w, -3 * (n_chroma // 12), axis=0)
    return np.ascontiguousarray(w[:, :1 + n_fft // 2], dtype=np.float32)
