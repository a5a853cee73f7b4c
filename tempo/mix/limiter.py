"""A streaming true-peak limiter and meter (4x oversampled peaks). Pure numpy/scipy.

Conventions
-----------
- Blocks are float ``(frames, channels)`` at ``sr``. :meth:`TruePeakLimiter.process` returns
  the limited audio so far (it holds back a few ms of lookahead); feed everything, then
  :meth:`~TruePeakLimiter.flush`: the output has exactly the input's frames, in place.
- True peak as in ITU-R BS.1770-4 annex 2: the signal interpolated 4x (a Kaiser-windowed sinc
  over :data:`HALF_TAPS` samples either side) and its largest absolute value. Only samples
  within :data:`CANDIDATE_DB` of the ceiling (or of the level asked) are interpolated around:
  an inter-sample peak more than 6 dB above both neighbouring samples needs a pathological
  signal, and music at any normal level skips 95 % of the work.
- The gain never lets a peak pass the ceiling: the needed gain per sample (ceiling / peak) is
  min-filtered over the lookahead either side, then averaged over the same span (the gain moves
  smoothly, and every average is still below the need of its centre), then allowed back up at
  :data:`RELEASE_DB_PER_S` at most.
"""

from __future__ import annotations

import numpy as np

OVERSAMPLE = 4
HALF_TAPS = 16
KAISER_BETA = 8.0
CANDIDATE_DB = 6.0
#: Above this fraction of candidate samples, every interval is interpolated (convolution).
DENSE_FRACTION = 0.05
LOOKAHEAD_S = 0.003
RELEASE_DB_PER_S = 40.0


def _kernel() -> np.ndarray:
    """(2*HALF_TAPS, OVERSAMPLE-1) float32: weights of x[c-T+1 .. c+T] for the values at
    c + 1/4, c + 1/2, c + 3/4."""
    k = np.arange(-HALF_TAPS + 1, HALF_TAPS + 1)
    grid = np.linspace(-HALF_TAPS, HALF_TAPS, 2 * HALF_TAPS + 1)
    w = np.kaiser(2 * HALF_TAPS + 1, KAISER_BETA)
    cols = []
    for p in range(1, OVERSAMPLE):
        d = p / OVERSAMPLE - k
        cols.append(np.sinc(d) * np.interp(d, grid, w))
    return np.array(cols, dtype=np.float32).T


_KERNEL = None


def peak_envelope(x: np.ndarray, start: int, stop: int, level: float) -> np.ndarray:
    """True-peak estimate of frames ``start..stop`` of ``x`` (frames, channels): the sample
    peak, raised by the 4x-interpolated peaks of the intervals next to each sample, computed
    only around samples above ``level`` minus CANDIDATE_DB. ``x`` must hold HALF_TAPS frames
    before ``start`` and after ``stop``."""
    global _KERNEL
    if _KERNEL is None:
        _KERNEL = _kernel()
    env1 = _absmax(x[start - 1:stop])
    env = env1[1:].copy()
    # interval (c, c+1) for c = start-1 .. stop-1: a candidate when either end is loud
    loud = env1 > level * 10 ** (-CANDIDATE_DB / 20)
    cand = np.flatnonzero(loud[:-1] | loud[1:]) if len(loud) > 1 else np.zeros(0, int)
    if len(loud) and loud[-1]:
        cand = np.append(cand, len(loud) - 1)
    if cand.size > DENSE_FRACTION * len(env1):
        vals = _interval_peaks_dense(x, start - 1, stop)[cand]
    elif cand.size:
        c = cand + start - 1
        lo = int(c[0]) - HALF_TAPS + 1
        xw = np.asarray(x[lo:int(c[-1]) + HALF_TAPS + 1], dtype=np.float32).reshape(-1, x.shape[1] if x.ndim == 2 else 1)
        idx = (c - c[0])[:, None] + np.arange(2 * HALF_TAPS)[None, :]
        win = xw[idx]  # (nc, 2T, channels)
        vals = np.abs(np.matmul(win.transpose(0, 2, 1), _KERNEL)).max(axis=(1, 2))
    if cand.size:
        # the interval (c, c+1) belongs to both its ends: env index c - 1 and c
        left = cand - 1
        ok = left >= 0
        env[left[ok]] = np.maximum(env[left[ok]], vals[ok])
        ok = cand < len(env)
        env[cand[ok]] = np.maximum(env[cand[ok]], vals[ok])
    return env


def _absmax(x: np.ndarray) -> np.ndarray:
    """(frames,) float64 largest |sample| over the channels (a loop over the few channels:
    numpy reduces along a short last axis slowly)."""
    x = np.asarray(x)
    if x.ndim == 1:
        return np.abs(x).astype(np.float64)
    out = np.abs(x[:, 0]).astype(np.float64)
    for c in range(1, x.shape[1]):
        np.maximum(out, np.abs(x[:, c]), out=out)
    return out


def _interval_peaks_dense(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Largest |interpolated value| in (c, c+1) for every c in start..stop (all at once, one
    overlap-add convolution per channel and fractional delay)."""
    from scipy.signal import oaconvolve

    x2 = np.asarray(x[start - HALF_TAPS + 1:stop + HALF_TAPS], dtype=np.float32)
    x2 = x2.reshape(len(x2), -1)
    n = stop - start
    out = np.zeros(n, dtype=np.float32)
    for ch in range(x2.shape[1]):
        xc = np.ascontiguousarray(x2[:, ch])
        for p in range(_KERNEL.shape[1]):
            # value at c + f = sum_j K[j] x[c - T + 1 + j]: a correlation, i.e. a convolution
            # with the reversed kernel ("valid": index 0 is c = start)
            v = oaconvolve(xc, _KERNEL[::-1, p], mode="valid")[:n]
            np.maximum(out, np.abs(v), out=out)
    return out.astype(np.float64)


class TruePeakMeter:
    """The largest true peak of a stream (blocks of (frames, channels))."""

    def __init__(self, channels: int, *, level: float = 0.5):
        self.channels = channels
        self.level = level
        self._buf = np.zeros((HALF_TAPS, channels))
        self.max_peak = 0.0

    def update(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
        if not len(block):
            return
        self._buf = np.concatenate([self._buf, block])
        n = len(self._buf) - HALF_TAPS
        if n > HALF_TAPS:
            env = peak_envelope(self._buf, HALF_TAPS, n, max(self.level, self.max_peak))
            self.max_peak = max(self.max_peak, float(env.max()))
            self._buf = self._buf[n - HALF_TAPS:]

    def finish(self) -> float:
        """Max true peak in dBTP (-inf dB floor at -200)."""
        self.update(np.zeros((2 * HALF_TAPS + 1, self.channels)))
        return 20 * np.log10(max(self.max_peak, 1e-10))


def true_peak_db(y: np.ndarray) -> float:
    """True peak (dBTP) of a whole signal (frames,) or (frames, channels)."""
    y = np.asarray(y, dtype=np.float64)
    y = y.reshape(len(y), -1)
    m = TruePeakMeter(y.shape[1], level=float(np.abs(y).max()) if y.size else 0.5)
    m.update(y)
    return m.finish()


class TruePeakLimiter:
    """Lookahead limiter to a true-peak ceiling (dBTP); see the module conventions."""

    def __init__(self, sr: int, channels: int, *, ceiling_db: float = -1.0,
                 lookahead_s: float = LOOKAHEAD_S, release_db_per_s: float = RELEASE_DB_PER_S):
        self.sr, self.channels = int(sr), int(channels)
        self.ceiling = 10 ** (ceiling_db / 20)
        self.L = max(1, int(round(lookahead_s * sr)))
        self.rho = release_db_per_s / 20 * np.log(10) / sr  # ln-gain rise per sample
        self._ctx = max(2 * self.L, HALF_TAPS)
        # global sample indices: buffer holds [b0, n), ln-need known for [b0, m)
        self._b0 = -self._ctx
        self._n = 0
        self._m = 0
        self._out = 0
        self._buf = np.zeros((self._ctx, channels))
        self._lr = np.zeros(self._ctx)
        self._last_lg = 0.0
        self.min_gain_db = 0.0

    def process(self, block: np.ndarray) -> np.ndarray:
        block = np.asarray(block, dtype=np.float64).reshape(len(block), -1)
        self._buf = np.concatenate([self._buf, block])
        self._n += len(block)
        new_m = self._n - HALF_TAPS
        if new_m > self._m:
            env = peak_envelope(self._buf, self._m - self._b0, new_m - self._b0, self.ceiling)
            self._lr = np.concatenate(
                [self._lr, np.log(np.minimum(1.0, self.ceiling / np.maximum(env, 1e-12)))])
            self._m = new_m
        return self._emit(self._m - 2 * self.L)

    def flush(self) -> np.ndarray:
        n_real = self._n
        pad = HALF_TAPS + 2 * self.L
        out = self.process(np.zeros((pad, self.channels)))
        # the padding's own output is dropped
        keep = len(out) - max(0, self._out - n_real)
        return out[:keep]

    def _emit(self, end: int) -> np.ndarray:
        from scipy.ndimage import minimum_filter1d, uniform_filter1d

        n_out = end - self._out
        if n_out <= 0:
            return np.zeros((0, self.channels), dtype=np.float32)
        L = self.L
        lo = self._out - 2 * L - self._b0
        lr = self._lr[lo:end + 2 * L - self._b0]
        m = minimum_filter1d(lr, 2 * L + 1, mode="nearest")
        a = uniform_filter1d(m, 2 * L + 1, mode="nearest")
        a = np.minimum(a, lr)[2 * L:2 * L + n_out]
        idx = np.arange(1, n_out + 1)
        v = np.minimum.accumulate(np.concatenate([[self._last_lg], a - self.rho * idx]))[1:]
        lg = np.minimum(np.minimum(v + self.rho * idx, 0.0), a)
        self._last_lg = float(lg[-1])
        self.min_gain_db = min(self.min_gain_db, float(lg.min()) * 20 / np.log(10))
        s = self._out - self._b0
        out = self._buf[s:s + n_out] * np.exp(lg)[:, None]
        self._out = end
        # keep context before the next output sample
        cut = self._out - self._ctx - self._b0
        if cut > 0:
            self._buf = self._buf[cut:]
            self._lr = self._lr[cut:]
            self._b0 += cut
        return out.astype(np.float32)
