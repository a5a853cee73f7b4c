"""Tempo estimation from onset features: pure numpy, no file I/O.

Conventions
-----------
- Input is :class:`tempo.features.Features`: onset envelopes per band at ``fps`` frames/s.
- Periods are in frames (float), tempi in BPM: ``bpm = 60 * fps / period``.
- Output is a :class:`tempo.models.TempoEstimate` (plain floats, JSON-safe): the chosen
  tempo to 0.1 BPM, a confidence in 0..1, candidates (bpm, strength) strongest first, a tempo
  curve over windows of ``curve_window_s`` and a stability flag.

Method
------
1. Periodicity: per band (and for the bands summed, and for kick minus snare), the
   autocorrelation of the locally de-meaned onset envelope, averaged over overlapping windows
   of :data:`ACF_WINDOW_S` weighted by their energy, so quiet intros and breaks count less and
   tempo ramps do not smear it.
2. Pulse: the maximum, on a fine logarithmic BPM grid within [min_bpm, max_bpm], of a comb
   (the summed autocorrelation at the period, its first multiples and its half: duple music
   subdivides the beat, which rules out the 2/3 readings plain librosa makes) times a broad
   log-normal prior around PRIOR_CENTER_BPM.
3. Beat level: the pulse times 1/4, 1/3, 1/2, 2/3, 1, 3/2, 2, 3, 4 (within range) are the
   candidate levels. A small learned model (:class:`LevelModel`, a conditional logit: one
   score per candidate, linear plus a few tanh hidden units, softmax over the track's
   candidates; weights in tempo/level_model.py, trained by benchmarks/level_model.py on
   synthetic songs of 43 styles and real recordings of 23 Debian game-music packages, on the
   tapped level and on the set of levels a workout accepts; its temperature fitted on the
   scores of styles held out of training) scores each from
   :func:`level_features`: the band autocorrelations at fractions and multiples of the
   candidate's period (which subdivisions, which bar lengths pulse in the kick, bass, snare,
   mid and hat bands), kick and snare taking turns, its tempo, its comb strength, the
   hand-written rules' vote (:func:`decide_level`, below) and what kind of music the whole
   track is (:func:`material_cues`, times the candidate's log tempo). The most probable level is the
   tempo; its probability is the level part of the confidence, and the other levels keep
   theirs as candidate strengths.
   The rules (:func:`decide_level`), from what the instruments do at each reading:
   a bass note every three beats means 3/4 (keep the beat, or take it when the pulse found was
   two beats) unless the beat splits in two (funk whose bass cycles in threes is duple); every
   fast pulse alike in every band (a click track, a polka beat) keeps the fast reading;
   otherwise mid-band (snare, guitars, keys) periodicity at the fast reading's eighth note
   decides: strong doubles a slow reading (drum and bass at 174, not 87), absent halves a fast
   one (a ballad's eighth notes are not its beat) unless kick and snare alternate at the fast
   reading (a bare backbeat). Strong eighths do not make a fast reading of FAST_BPM or more
   when kick and snare alternate on the slow beats (a slow backbeat: a groove at 100 with a
   16th hi-hat is not 200, while drum and bass and punk put the snare between them). Weaker
   eighths still double a slow reading when the kick/snare pattern repeats every slow beat
   over a straight kick (a fast backbeat: punk and metal at 180 are not read at 90, while
   funk, hip-hop and dembow keep their beat). With ``level_model=None`` the rules decide alone.
4. Fine tempo (:func:`refine_bpm`): a phase-coherent harmonic comb (the Fourier transform of
   the envelope at the tempo and its harmonics) finds the tempo far below the frame grid: a
   steady 128 BPM track reads 128.0.
5. Curve (:func:`tempo_curve`): per window of ``curve_window_s``, the local period from the
   autocorrelation peaks at the first multiples of the beat (searched in narrowing windows so
   subdivisions are not mistaken for beats); windows without a clear pulse are left out.
   ``stable`` is False when the curve spreads more than STABLE_TOLERANCE (4 %) of its median.
   Independently, once the curve spreads more than CURVE_TRUST_SPREAD (1.5 %) and has at least
   three points, the median of the curve is the tempo (a phase-coherent comb smears over a ramp
   or a drift), so a moving tempo can be reported from its curve while still "stable".
6. Confidence: pulse clarity (the comb at the tempo) times the level certainty (the level's
   probability mapped from LEVEL_P_LOW..LEVEL_P_HIGH to 0..1, halved (CONTESTED_FACTOR) when
   the hand-written rules chose another level): when the cues for the level disagree or are
   absent, confidence is low. Candidates: the tempo x 1/2 and x 2 always,
   x 2/3, 3/2, 1/3, 3 when in range; strength = the level's probability times the pulse
   clarity, so strengths compare across levels and the reported tempo comes first.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from .features import BAND_NAMES, Features
from .models import CURVE_WINDOW_S, MAX_BPM, MIN_BPM, STABLE_TOLERANCE, TempoEstimate

#: Autocorrelation window (s) and hop (s) for the periodicity function.
ACF_WINDOW_S = 12.0
ACF_HOP_S = 4.0
#: Windows transformed at once (bounds memory on long files).
ACF_BATCH = 32
#: Local mean removed from envelopes before autocorrelation (s).
DETREND_S = 1.0
#: BPM grid resolution for candidate search (fraction of tempo per step).
GRID_STEP = 0.0025
#: Pulse candidates kept (strongest first) and the ratio to the strongest below which a
#: candidate is dropped from the result.
N_CANDIDATES = 6
MIN_CANDIDATE_STRENGTH = 0.05
#: Shortest audio (s) with enough beats for a tempo.
MIN_DURATION_S = 3.0
#: Fine-tempo search half-width around the chosen tempo (fraction) and its harmonics.
REFINE_SPAN = 0.03
REFINE_HARMONICS = (1, 2, 3, 4)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    if width <= 1 or x.shape[-1] == 0:
        return x
    pad = width // 2
    xp = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, width - 1 - pad)], mode="edge")
    c = np.cumsum(xp, axis=-1)
    c = np.concatenate([np.zeros(c.shape[:-1] + (1,)), c], axis=-1)
    return (c[..., width:] - c[..., :-width]) / width


#: Rows of :func:`prepare_envelopes` after the bands: kick minus snare, then the sum.
KICK_BAND = "sub"
SNARE_BANDS = ("lowmid", "mid")
ROW_KICK_SNARE = len(BAND_NAMES)


def prepare_envelopes(features: Features) -> np.ndarray:
    """(n_bands + 2, n_frames) float32: de-meaned bands scaled to unit RMS, then kick minus
    snare (negative autocorrelation at a lag = kick and snare alternate), then all bands summed.

    Row by row, so a 3-hour track needs a few tens of MB here.
    """
    env = features.envelopes
    n_bands, n = env.shape
    w = max(3, int(round(DETREND_S * features.fps)))
    out = np.zeros((n_bands + 2, n), dtype=np.float32)
    for i in range(n_bands):
        row = np.asarray(env[i], dtype=np.float64)
        row = row - _moving_average(row, w)
        rms = float(np.sqrt(np.mean(row**2))) if n else 0.0
        if rms > 1e-9:
            out[i] = row / rms
            out[-1] += out[i]
    snare = np.mean([out[BAND_NAMES.index(b)] for b in SNARE_BANDS], axis=0)
    out[ROW_KICK_SNARE] = out[BAND_NAMES.index(KICK_BAND)] - snare
    return out


def windowed_acf(x: np.ndarray, fps: float, *, max_lag: int) -> np.ndarray:
    """Energy-weighted mean autocorrelation over windows, unbiased, normalised to 1 at lag 0.

    ``x`` is (n_signals, n_frames); returns (n_signals, max_lag + 1).
    """
    n_sig, n = x.shape
    win = min(n, int(round(ACF_WINDOW_S * fps)))
    hop = max(1, int(round(ACF_HOP_S * fps)))
    max_lag = min(max_lag, max(win - 1, 1))
    if win < 4:
        return np.zeros((n_sig, max_lag + 1))
    starts = list(range(0, max(n - win, 0) + 1, hop))
    if starts[-1] + win < n:
        starts.append(n - win)
    # zero-padded to win + max_lag: the circular wrap-around stays beyond max_lag
    nfft = 1 << int(np.ceil(np.log2(win + max_lag)))
    # The windows' power spectra are summed, then transformed back once per signal (the
    # inverse FFT is linear): the sum of the windows' autocorrelations, energy-weighted (loud
    # windows count more), for one inverse FFT per signal instead of one per window.
    power = np.zeros((n_sig, nfft // 2 + 1))
    padded = np.zeros((n_sig, min(ACF_BATCH, len(starts)), nfft), dtype=x.dtype)
    for b in range(0, len(starts), ACF_BATCH):  # batches of windows: bounded memory
        batch = starts[b:b + ACF_BATCH]
        frames = padded[:, : len(batch)]
        for j, s in enumerate(batch):
            frames[:, j, :win] = x[:, s:s + win]
        frames[..., :win] -= frames[..., :win].mean(axis=-1, keepdims=True)
        spec = sfft.rfft(frames, axis=-1)
        power += (spec.real**2 + spec.imag**2).sum(axis=1, dtype=np.float64)
    acf = sfft.irfft(power, n=nfft, axis=-1)[:, : max_lag + 1]
    acf /= (win - np.arange(max_lag + 1)) / win  # unbias
    zero = acf[:, :1]
    return np.where(zero > 1e-12, acf / np.maximum(zero, 1e-12), 0.0)


def _interp(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """ACF at fractional lags (linear interpolation; 0 beyond the computed range)."""
    n = acf.shape[-1]
    lags = np.asarray(lags, dtype=np.float64)
    floor = np.floor(lags)
    frac = lags - floor
    i0 = floor.astype(np.intp)
    ok = (i0 >= 0) & (i0 + 1 < n)
    i0c = np.minimum(np.maximum(i0, 0), n - 2)  # (np.clip's Python wrapper costs more here)
    val = acf[..., i0c] * (1 - frac) + acf[..., i0c + 1] * frac
    return np.where(ok, val, 0.0)


#: Points per window of :func:`_peak_interp`.
PEAK_POINTS = 5


def _peak_interp(acf: np.ndarray, lags: np.ndarray, radius: float) -> np.ndarray:
    """Max of the ACF within +-radius frames of each lag (tolerates small tempo drift)."""
    # np.linspace(-radius, radius, PEAK_POINTS), the same numbers without its overhead
    radius = np.asarray(radius, dtype=np.float64)
    step = (radius - -radius) / (PEAK_POINTS - 1)
    offsets = [k * step + -radius for k in range(PEAK_POINTS - 1)] + [radius]
    # every offset in one interpolation: (..., PEAK_POINTS, *lags) then the max over the offsets
    at = np.stack([lags + o for o in offsets])
    return np.max(_interp(acf, at), axis=acf.ndim - 1)


def bpm_grid(lo: float, hi: float) -> np.ndarray:
    n = int(np.ceil(np.log(hi / lo) / np.log1p(GRID_STEP))) + 1
    return lo * (1 + GRID_STEP) ** np.arange(n)


#: Longest stretch (s) the fine-tempo comb reads: the most active part of longer files.
MAX_REFINE_S = 360.0


def _harmonic_power(x: np.ndarray, fps: float, bpms: np.ndarray, harmonics) -> np.ndarray:
    """Sum over harmonics h of |DFT of x at h * bpm / 60 Hz|^2 / h.

    The phasors of one chunk of frames are computed once per harmonic and reused for every
    chunk (times the chunk's start phase), so the cost is a few small matrix products.
    """
    chunk = min(1024, x.size)
    n_chunks = -(-x.size // chunk)
    xp = np.zeros(n_chunks * chunk)
    xp[: x.size] = x
    segs = xp.reshape(n_chunks, chunk)  # (n_chunks, chunk)
    starts = np.arange(n_chunks) * chunk
    base1 = _phasors(2.0 * np.pi * bpms / 60.0 / fps, chunk)  # (n_bpm, chunk)
    power = np.zeros(bpms.size)
    base = np.ones_like(base1)
    for h in range(1, max(harmonics) + 1):
        base = base * base1
        if h not in harmonics:
            continue
        f = bpms * (h / 60.0 / fps)
        # (n_chunks, n_bpm) = segs @ base.T, as einsum: no BLAS call, whose threads (two on
        # this size) cost 10-50x the product itself when the other core is busy (a scan's
        # second process)
        per_chunk = (np.einsum("cn,bn->cb", segs, np.ascontiguousarray(base.real))
                     + 1j * np.einsum("cn,bn->cb", segs, np.ascontiguousarray(base.imag)))
        shift = np.exp(-2j * np.pi * np.outer(starts, f))  # (n_chunks, n_bpm)
        power += np.abs((per_chunk * shift).sum(axis=0)) ** 2 / h
    return power


def _phasors(omega: np.ndarray, n: int) -> np.ndarray:
    """exp(-1j * omega[:, None] * arange(n)): (len(omega), n) complex, as the products of two
    short tables (frame k * m + j = exp at k * m times exp at j), so ~2 sqrt(n) complex
    exponentials per frequency instead of n (numpy's complex exp is slow)."""
    m = max(1, int(np.ceil(np.sqrt(n))))
    coarse = np.exp(-1j * omega[:, None] * (m * np.arange(m)))  # (n_omega, m)
    fine = np.exp(-1j * omega[:, None] * np.arange(m))  # (n_omega, m)
    return (coarse[:, :, None] * fine[:, None, :]).reshape(omega.size, m * m)[:, :n]


def refine_bpm(env: np.ndarray, fps: float, bpm: float, *, span: float = REFINE_SPAN,
               harmonics=REFINE_HARMONICS) -> float:
    """Fine tempo near ``bpm``: the peak of a phase-coherent harmonic comb over ``env``.

    The Fourier transform of the whole envelope at the tempo and its harmonics has a peak far
    narrower than the lag grid of an autocorrelation: two passes (coarse, then fine) find it.
    """
    x = np.asarray(env, dtype=np.float64)
    max_n = int(MAX_REFINE_S * fps)
    if x.size > max_n:  # long mixes: the most active stretch, for a bounded cost
        csum = np.concatenate([[0.0], np.cumsum(np.abs(x))])
        step = max(1, max_n // 8)
        starts = np.arange(0, x.size - max_n + 1, step)
        best = int(starts[np.argmax(csum[starts + max_n] - csum[starts])])
        x = x[best:best + max_n]
    if x.size < 8:
        return bpm
    x = x - x.mean()
    coarse = bpm * np.linspace(1 - span, 1 + span, 25)
    p = _harmonic_power(x, fps, coarse, harmonics)
    i = int(np.argmax(p))
    step = coarse[1] - coarse[0]
    fine = coarse[i] + step * np.linspace(-1, 1, 21)
    p = _harmonic_power(x, fps, fine, harmonics)
    j = int(np.argmax(p))
    off = 0.0
    if 0 < j < fine.size - 1:
        a, b, c = p[j - 1], p[j], p[j + 1]
        den = a - 2 * b + c
        if den < 0:
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    return float(fine[j] + off * (fine[1] - fine[0]))


#: Tempo prior: log-normal around PRIOR_CENTER_BPM, PRIOR_OCTAVES standard deviation.
PRIOR_CENTER_BPM = 120.0
PRIOR_OCTAVES = 1.0
#: Comb: weights of the autocorrelation at the period and its multiples, and at half the
#: period (the subdivision: duple metres subdivide the beat, which rules out 2/3 readings).
COMB_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
SUBDIV_WEIGHT = 1.0

#: Octave decision. The slow/fast split (BPM); the thresholds on the mid-band periodicity at
#: the fast candidate's eighth note (an autocorrelation in -1..1) for doubling a slow reading
#: and for halving a fast one; above FAST_BPM a fast reading always needs DOUBLE_ABOVE.
OCTAVE_SPLIT_BPM = 120.0
DOUBLE_ABOVE = 0.26
HALVE_BELOW = 0.02
FAST_BPM = 160.0
LEVEL_BANDS = ("lowmid", "mid", "highmid")
#: Triple metre: bass periodicity at three beats above that at two and four beats.
TRIPLE_HINT = 0.035
TRIPLE_ABOVE = 0.06
TRIPLE_BAND = "sub"
#: ... unless the beat is duple after all: the mid bands pulse at the doubled beat's eighth
#: note (TRIPLE_EIGHTHS_BELOW; an oom-pah-pah has none) or split the beat in two
#: (DUPLE_SPLIT_ABOVE; a waltz's beat does not split): then the duple decision below applies.
TRIPLE_EIGHTHS_BELOW = 0.15
DUPLE_SPLIT_ABOVE = 0.13
#: Uniform pulse: the fast reading's period autocorrelates at least this strongly, and nearly
#: as strongly as two periods: no accent marks a slower beat.
UNIFORM_ABOVE = 0.86
UNIFORM_RATIO = 0.9
UNIFORM_BAND_MIN = 0.3
#: Kick/snare alternation (minus the kick-minus-snare autocorrelation) at the fast reading
#: that keeps it even without eighth notes: a bare backbeat.
BACKBEAT_ABOVE = 0.3
#: Kick periodicity at the fast period minus half that at two periods that keeps the fast
#: reading even without eighth notes: four on the floor.
FOUR_ON_FLOOR_ABOVE = 0.22
#: Fast backbeat (punk, metal read at half tempo): a slow reading is doubled when all three
#: hold at the fast reading. The mid bands pulse at its eighth notes at least this much
#: (eighth_note_evidence; DOUBLE_ABOVE alone is enough without the other two cues) ...
FAST_BACKBEAT_EIGHTHS = 0.1
#: ... the kick-minus-snare pattern repeats every slow beat (its autocorrelation at two fast
#: beats above this: the snare on 2 and 4 of the fast reading lands on every slow beat, where
#: funk, hip-hop and rock put it on every other one) ...
FAST_BACKBEAT_REPEAT = 0.1
#: ... and the kick band (kick and bass, KICK_BAND) is straight: its periodicity at one fast beat exceeds that at a dotted
#: eighth (three sixteenths of the slow reading) by this much (dembow's 3-3-2 and syncopated
#: funk kicks are not).
FAST_BACKBEAT_STRAIGHT = 0.02
#: Slow backbeat (a 16th-note hi-hat over kick on 1 and 3, snare on 2 and 4 of the slow
#: reading, which looks like eighth notes of the fast one): a fast reading of at least
#: FAST_BPM is halved back, whatever the eighth notes, when all three hold at the slow reading
#: (slow_backbeat_evidence). The kick-minus-snare pattern repeats every two slow beats by at
#: least this much more than every slow beat: kick and snare take turns on the slow beats
#: (punk and metal put the snare on every slow beat) ...
SLOW_BACKBEAT_REPEAT = 0.35
#: ... they do not take turns at half a slow beat: its autocorrelation at one slow beat exceeds
#: that at half a slow beat by less than this (a backbeat at the fast reading, rock at 180 read
#: as 90, puts the snare on the slow off-beats) ...
SLOW_BACKBEAT_HALF = 0.45
#: ... and the kick band (KICK_BAND) pulses on the slow beats, not between them: its
#: periodicity at one slow beat exceeds that at a half and at three quarters of a slow beat by
#: this much (the syncopated two-step kick of drum and bass at 174 read as 87 does not).
SLOW_BACKBEAT_KICK = 0.15
#: (The three lie between synthetic 16th-hat grooves at 88-112 BPM and synthetic drum and bass,
#: backbeats and punk at 170-200; on dev no track with a fast true tempo comes within 0.2.)
#: Width of the decision margins that map to full confidence.
MARGIN_SCALE = 0.08
#: Pulse clarity (comb value) mapped to 0..1 confidence between these two values.
CLARITY_LOW = 0.08
CLARITY_HIGH = 0.25
#: Curve windows need at least this pulse clarity (autocorrelation peak) to give a tempo.
CURVE_MIN_CLARITY = 0.15
#: A curve spreading more than this (fraction of its median) gives the tempo: its median.
CURVE_TRUST_SPREAD = 0.015
#: How far (a factor either way) a following curve (tempo_curve(follow=True)) may move from the
#: file's tempo.
FOLLOW_LIMIT = 1.5
#: Ratios to the chosen tempo reported as candidates (x1/2 and x2 always, others when in range).
CANDIDATE_RATIOS = (1.0, 0.5, 2.0, 2.0 / 3.0, 1.5, 1.0 / 3.0, 3.0)


def _comb(acf: np.ndarray, lags: np.ndarray) -> np.ndarray:
    lags = np.asarray(lags, dtype=np.float64)
    mults = np.array(list(range(1, len(COMB_WEIGHTS) + 1)) + [0.5])
    radii = np.array([0.01 * k for k in range(1, len(COMB_WEIGHTS) + 1)] + [0.005])
    shape = (-1,) + (1,) * lags.ndim
    # all multiples (and the half) in one _peak_interp: (..., n_mults, *lags)
    peaks = _peak_interp(acf, mults.reshape(shape) * lags, radii.reshape(shape) * lags)
    axis = acf.ndim - 1
    out = np.zeros(acf.shape[:-1] + np.shape(lags))
    for k, w in enumerate(COMB_WEIGHTS):
        out += w * np.take(peaks, k, axis=axis)
    out += SUBDIV_WEIGHT * np.take(peaks, len(COMB_WEIGHTS), axis=axis)
    return out / (sum(COMB_WEIGHTS) + SUBDIV_WEIGHT)


def _prior(bpm: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * (np.log2(bpm / PRIOR_CENTER_BPM) / PRIOR_OCTAVES) ** 2)


def eighth_note_evidence(acf: np.ndarray, fps: float, bpm: float) -> float:
    """Mid-band periodicity at an eighth note of ``bpm`` (the subdivision a beat level has)."""
    lag = 60.0 * fps / bpm / 2
    rows = [BAND_NAMES.index(b) for b in LEVEL_BANDS]
    return float(np.mean(_peak_interp(acf[rows], np.array([lag]), 0.01 * lag)))


def triple_evidence(acf: np.ndarray, fps: float, bpm: float) -> float:
    """Bass-band periodicity at three beats of ``bpm`` against two and four (3/4 metre > 0)."""
    lag = 60.0 * fps / bpm
    row = acf[BAND_NAMES.index(TRIPLE_BAND)]
    p = _peak_interp(row, np.array([2 * lag, 3 * lag, 4 * lag]), 0.01 * lag)
    return float(p[1] - 0.5 * (p[0] + p[2]))


def decide_level(bpm: float, acf: np.ndarray, fps: float, *, min_bpm: float = MIN_BPM,
                 max_bpm: float = MAX_BPM) -> tuple[float, float]:
    """The beat level among ``bpm`` x 1/2, 1, 2: returns (bpm, margin in 0..1).

    Duple metre: the beat has eighth notes. A slow reading is doubled when the mid bands
    (snare, guitars, keys) pulse strongly at the fast reading's eighth note; a fast reading is
    halved when they do not pulse there at all (it was the eighth note itself). Triple metre
    (a bass note every three beats) keeps the beat, or picks it when the pulse found was two
    beats. A slow backbeat (:func:`slow_backbeat_evidence`) keeps the slow reading against
    strong eighths above FAST_BPM. ``margin`` says how far the deciding evidence was from its
    threshold.
    """
    tri = triple_evidence(acf, fps, bpm)
    if tri > TRIPLE_HINT:
        if 2 * bpm <= max_bpm:
            tri2 = triple_evidence(acf, fps, 2 * bpm)
            eighths2 = eighth_note_evidence(acf, fps, 2 * bpm)
            if tri2 > TRIPLE_ABOVE and eighths2 < TRIPLE_EIGHTHS_BELOW:
                return 2 * bpm, min(1.0, (tri2 - TRIPLE_ABOVE) / MARGIN_SCALE)
        if eighth_note_evidence(acf, fps, bpm) < DUPLE_SPLIT_ABOVE:
            return bpm, min(1.0, (tri - TRIPLE_HINT) / MARGIN_SCALE)
        # the beat splits in two (funk, punk): duple, the bass every third beat is a chance;
        # the stronger that bass figure, the more contested the duple decision
        level, margin = _duple_level(bpm, acf, fps, min_bpm=min_bpm, max_bpm=max_bpm)
        return level, min(margin, max(0.0, 1.0 - (tri - TRIPLE_HINT) / MARGIN_SCALE))
    return _duple_level(bpm, acf, fps, min_bpm=min_bpm, max_bpm=max_bpm)


def _duple_level(bpm: float, acf: np.ndarray, fps: float, *, min_bpm: float, max_bpm: float
                 ) -> tuple[float, float]:
    """The duple part of :func:`decide_level`: bpm x 1/2, 1 or 2 and the margin."""
    slow = bpm / 2 if bpm >= OCTAVE_SPLIT_BPM else bpm
    fast = 2 * slow
    if fast > max_bpm:
        return slow, 1.0
    if slow < min_bpm:
        return fast, 1.0
    lag_fast = 60.0 * fps / fast
    p = _peak_interp(acf, np.array([lag_fast, 2 * lag_fast]), 0.01 * lag_fast)  # (n_rows, 2)
    p_fast, p_slow = p[:, 0], p[:, 1]
    nb = len(BAND_NAMES)
    periodic = p_slow[:nb] > UNIFORM_BAND_MIN
    if p_fast[-1] >= UNIFORM_ABOVE and periodic.any() and np.all(
            p_fast[:nb][periodic] >= UNIFORM_RATIO * p_slow[:nb][periodic]):
        # every fast pulse alike in every band (a click track, kick and snare on every beat):
        # nothing marks a slower beat
        return fast, min(1.0, (float(p_fast[-1]) - UNIFORM_ABOVE) / MARGIN_SCALE)
    chose_fast = bpm >= OCTAVE_SPLIT_BPM
    threshold = DOUBLE_ABOVE if (not chose_fast or fast >= FAST_BPM) else HALVE_BELOW
    z = eighth_note_evidence(acf, fps, fast)
    margin = min(1.0, abs(z - threshold) / MARGIN_SCALE)
    if z > threshold and fast >= FAST_BPM:
        cues = slow_backbeat_evidence(acf, fps, slow)
        if min(cues) > 0:
            # kick and snare alternate on the slow beats: a backbeat at the slow reading, its
            # 16th notes are not the fast reading's eighths (a groove at 100, not 200)
            return slow, min(1.0, min(cues) / MARGIN_SCALE)
    if z <= threshold and chose_fast:
        alt = -float(_peak_interp(acf[ROW_KICK_SNARE], np.array([lag_fast]), 0.01 * lag_fast)[0])
        if alt > BACKBEAT_ABOVE:
            # kick and snare alternate at the fast reading: a backbeat, however bare
            return fast, min(1.0, (alt - BACKBEAT_ABOVE) / MARGIN_SCALE)
        k = BAND_NAMES.index(KICK_BAND)
        kick = float(p_fast[k] - 0.5 * p_slow[k])
        if kick > FOUR_ON_FLOOR_ABOVE:
            # a kick on every fast beat (four on the floor): the fast reading is the beat
            return fast, min(1.0, (kick - FOUR_ON_FLOOR_ABOVE) / MARGIN_SCALE)
    if z <= threshold and not chose_fast:
        cues = fast_backbeat_evidence(acf, fps, fast, z)
        if min(cues) > 0:
            # straight eighths, a snare on every slow beat, a straight kick: a fast backbeat
            # (punk at 180 read as 90), not a backbeat at the slow reading
            return fast, min(1.0, min(cues) / MARGIN_SCALE)
    return (fast if z > threshold else slow), margin


def fast_backbeat_evidence(acf: np.ndarray, fps: float, fast: float, z: float
                           ) -> tuple[float, float, float]:
    """The three fast-backbeat cues at the ``fast`` reading minus their thresholds (all > 0:
    the fast reading is the beat): eighth notes ``z``, the kick/snare pattern repeating every
    slow beat, and a straight (unsyncopated) kick."""
    lag = 60.0 * fps / fast

    def at(row: int, mult: float) -> float:  # +-1 % of the lag: tolerates a little drift
        return float(_peak_interp(acf[row], np.array([mult * lag]), 0.01 * mult * lag)[0])

    k = BAND_NAMES.index(KICK_BAND)
    repeat = at(ROW_KICK_SNARE, 2.0)
    straight = at(k, 1.0) - at(k, 1.5)
    return (z - FAST_BACKBEAT_EIGHTHS, repeat - FAST_BACKBEAT_REPEAT,
            straight - FAST_BACKBEAT_STRAIGHT)


def slow_backbeat_evidence(acf: np.ndarray, fps: float, slow: float
                           ) -> tuple[float, float, float]:
    """The three slow-backbeat cues at the ``slow`` reading minus their thresholds (all > 0:
    the slow reading is the beat): kick and snare taking turns on the slow beats, not at half
    a slow beat, and a kick band pulsing on the slow beats rather than between them."""
    lag = 60.0 * fps / slow
    mults = np.array([0.5, 0.75, 1.0, 2.0])
    ks = _peak_interp(acf[ROW_KICK_SNARE], mults * lag, 0.01 * mults * lag)
    kick = _peak_interp(acf[BAND_NAMES.index(KICK_BAND)], mults[:3] * lag, 0.01 * mults[:3] * lag)
    repeat = float(ks[3] - ks[2])
    half = float(ks[2] - ks[0])
    on_beat = float(kick[2] - max(kick[0], kick[1]))
    return (repeat - SLOW_BACKBEAT_REPEAT, SLOW_BACKBEAT_HALF - half,
            on_beat - SLOW_BACKBEAT_KICK)


#: Beat-level candidates: the comb's pulse times these ratios, within the BPM range. The level
#: model (:func:`level_probabilities`) scores each one; the reported tempo is the most probable.
LEVEL_RATIOS = (0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Multiples of a candidate's period at which the band autocorrelations are read as features.
FEATURE_MULTS = (0.25, 1.0 / 3.0, 0.5, 2.0 / 3.0, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
#: Rows of prepare_envelopes read at FEATURE_MULTS (the six bands and the sum).
FEATURE_ROWS = tuple(range(len(BAND_NAMES))) + (len(BAND_NAMES) + 1,)
#: Multiples at which the kick-minus-snare row is read (kick and snare taking turns).
KS_MULTS = (0.5, 1.0, 2.0)


#: Track-level cues of the kind of music (:func:`material_cues`), each entering the level
#: features times log2(bpm / 120): the tempo prior leans with the music.
MATERIAL_CUES = ("onset_rate", "centroid", "brightness", "fill", "spikiness")
#: Bounds of every cue (log2 ratios and 0..1 shares): a value past them is an odd file's.
MATERIAL_CUE_LIMIT = 6.0


def material_cues(features: Features) -> np.ndarray:
    """Track-level cues of what kind of music this is, ratios and shares that the playback
    gain leaves alone (every level in the features is the track's own), roughly centred:
    onsets per second (log2 of rate/4), spectral centroid (log2 of centroid/1.5 kHz),
    brightness (level above 1.5 kHz, /10 dB), spectral fill, and how spiky the broadband onset
    envelope is (log2 of its 95th percentile over its mean: drums and plucked notes against
    legato strings and pads). Spectral flatness is left out: music keeps it near 0.05 and a
    noise-burst click track reaches 0.4, eight of its standard deviations, where the model
    would only be extrapolating.

    Since version 10 the level model reads them, each times log2(bpm/120): left out of
    training, real recordings and held-out songs alike read slow sparse music and busy
    percussive music at their tapped levels more often (benchmarks/level_study.py --study
    material)."""
    env = features.envelopes
    total = env.sum(axis=0, dtype=np.float64) if env.size else np.zeros(1)  # no float64 copy
    mean = float(total.mean())
    spiky = np.log2(max(float(np.percentile(total, 95)) / mean, 2.0 ** -MATERIAL_CUE_LIMIT)) \
        if mean > 0 else 0.0
    cues = np.array([np.log2(max(features.onset_rate, 0.1) / 4.0),
                     np.log2(max(features.centroid_hz, 50.0) / 1500.0),
                     features.high_ratio_db / 10.0, features.fill - 0.5, spiky - 1.5])
    return np.clip(np.nan_to_num(cues), -MATERIAL_CUE_LIMIT, MATERIAL_CUE_LIMIT)


def level_feature_names() -> tuple[str, ...]:
    rows = list(BAND_NAMES) + ["sum"]
    names = [f"acf_{r}_x{m:.3g}" for r in rows for m in FEATURE_MULTS]
    names += [f"ks_x{m:g}" for m in KS_MULTS]
    names += ["log2_bpm_120", "comb", "rule_choice", "rule_margin", "triple", "eighths"]
    names += [f"{c}_x_log2_bpm" for c in MATERIAL_CUES]
    return tuple(names)


def level_features(acf: np.ndarray, fps: float, bpm: float, *, comb_top: float,
                   rule_bpm: float, rule_margin: float, cues: np.ndarray) -> np.ndarray:
    """Features of one beat-level candidate ``bpm``: the band autocorrelations at fractions and
    multiples of its period (which subdivisions and which bar lengths pulse), kick and snare
    taking turns, the tempo itself (log2 of bpm/120; the tempo prior itself is fixed, see
    :data:`LEVEL_PRIOR_OCTAVES`), the comb strength, whether the hand-written rules
    (:func:`decide_level`) chose this level and how clearly, the bass's triple-metre evidence,
    the mid bands' eighth notes, and the track's :func:`material_cues` times log2(bpm/120)."""
    lag = 60.0 * fps / bpm
    mults = np.asarray(FEATURE_MULTS)
    rows = acf[list(FEATURE_ROWS)]
    a = _peak_interp(rows, mults * lag, 0.01 * mults * lag)  # (n_rows, n_mults)
    ks = _peak_interp(acf[ROW_KICK_SNARE], np.asarray(KS_MULTS) * lag, 0.01 * np.asarray(KS_MULTS) * lag)
    lb = np.log2(bpm / 120.0)
    comb = float(_comb(acf[-1], np.array([lag]))[0]) / max(comb_top, 1e-9)
    rule = 1.0 if abs(rule_bpm / bpm - 1.0) < 0.03 else 0.0
    extra = [lb, comb, rule, rule * rule_margin,
             triple_evidence(acf, fps, bpm), eighth_note_evidence(acf, fps, bpm)]
    return np.concatenate([a.ravel(), ks, np.asarray(extra), np.asarray(cues) * lb])


def level_candidates(pulse_bpm: float, min_bpm: float, max_bpm: float) -> list[float]:
    return [pulse_bpm * r for r in LEVEL_RATIOS if min_bpm <= pulse_bpm * r <= max_bpm]


#: The level model's fixed tempo prior: a log-normal around 120 BPM (the tempo listeners
#: prefer to tap, van Noorden & Moelants 1999), this many octaves wide. It is not learned:
#: a prior learned from the training styles' tempi (as in version 6) learned those styles'
#: tempo ranges, and left-out styles paid for it. Left out (43 styles, 571 songs, linear model,
#: `benchmarks/level_study.py --study prior-width`), narrower is better for a workout:
#: 25, 27, 33, 35, 37, 40 misses for 0.4, 0.5, 0.6, 0.7, 0.8, 1.0 octaves, acc1 87.0-87.6 %
#: for all. But below 0.7 a plain rock or punk backbeat at 180 (eighth hats, snare on 2 and
#: 4: the fixture and tests/test_estimate.py) reads 90, a half the workout scoring accepts
#: for punk and a DJ does not. 0.7 is the narrowest width that keeps it.
LEVEL_PRIOR_OCTAVES = 0.7
#: Column of log2(bpm / 120) in the level features.
LB_COLUMN = level_feature_names().index("log2_bpm_120")


def level_prior(X: np.ndarray) -> np.ndarray:
    """The fixed log-prior of each candidate (rows of level features)."""
    lb = np.asarray(X, dtype=np.float64)[:, LB_COLUMN]
    return -0.5 * (lb / LEVEL_PRIOR_OCTAVES) ** 2


class LevelModel:
    """A score per candidate, softmax over a track's candidates (a conditional logit): a linear
    score, the fixed tempo prior (:func:`level_prior`) and, when ``hidden`` is given, tanh units.

    ``mean`` and ``scale`` standardise the features; ``weights`` score them. Trained by
    benchmarks/level_model.py on synthetic songs of many styles; shipped in
    tempo/level_model.py (plain floats, numpy inference, nothing downloaded).
    """

    def __init__(self, mean, scale, weights, temperature: float = 1.0, hidden=None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.temperature = float(temperature)
        #: None, or (W1 (n_features, n_hidden), b1, w2): tanh units added to the linear score
        self.hidden = None if hidden is None else tuple(np.asarray(h, dtype=np.float64) for h in hidden)

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Each candidate's score before the softmax (features, hidden units and prior)."""
        X = np.asarray(X, dtype=np.float64)
        Z = (X - self.mean) / self.scale
        s = Z @ self.weights + level_prior(X)
        if self.hidden is not None:
            W1, b1, w2 = self.hidden
            s = s + np.tanh(Z @ W1 + b1) @ w2
        return s

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        z = self.scores(X) / self.temperature
        z = np.exp(z - z.max())
        return z / z.sum()


_DEFAULT_MODEL: LevelModel | None = None


def default_level_model() -> LevelModel | None:
    """The shipped model (tempo/level_model.py), or None when it was not generated."""
    global _DEFAULT_MODEL
    if _DEFAULT_MODEL is None:
        try:
            from . import level_model as lm
        except ImportError:
            return None
        if tuple(lm.FEATURES) != level_feature_names():
            return None
        hidden = None
        if getattr(lm, "N_HIDDEN", 0):
            n = len(lm.MEAN)
            hidden = (np.reshape(lm.HIDDEN_W1, (n, lm.N_HIDDEN)), lm.HIDDEN_B1, lm.HIDDEN_W2)
        _DEFAULT_MODEL = LevelModel(lm.MEAN, lm.SCALE, lm.WEIGHTS, lm.TEMPERATURE, hidden=hidden)
    return _DEFAULT_MODEL


def level_table(acf: np.ndarray, fps: float, pulse_bpm: float, *, min_bpm: float, max_bpm: float,
                comb_top: float, cues: np.ndarray) -> tuple[list[float], np.ndarray, float, float]:
    """(candidate bpms, their features, the rules' level, the rules' margin) for a pulse and
    the track's :func:`material_cues`."""
    rule_bpm, rule_margin = decide_level(pulse_bpm, acf, fps, min_bpm=min_bpm, max_bpm=max_bpm)
    cands = level_candidates(pulse_bpm, min_bpm, max_bpm)
    if not any(abs(rule_bpm / c - 1) < 0.03 for c in cands):
        cands.append(rule_bpm)
    X = np.stack([level_features(acf, fps, c, comb_top=comb_top, rule_bpm=rule_bpm,
                                 rule_margin=rule_margin, cues=cues) for c in cands])
    return cands, X, rule_bpm, rule_margin


def tempo_curve(env: np.ndarray, fps: float, bpm: float, *, window_s: float = CURVE_WINDOW_S,
                span: float = 0.15, follow: bool = False) -> tuple[tuple[float, float], ...]:
    """(window centre s, bpm) for windows of ``window_s`` with a clear pulse near ``bpm``.

    Each window's autocorrelation is searched within +-``span`` of the period at the first
    multiples of the beat; the multiples' peaks, fitted together, give the local period far
    more finely than the frame grid. Windows without a clear pulse (silence, a beatless intro)
    are left out.

    ``follow``: each window is searched around the previous window's tempo instead (within
    a factor FOLLOW_LIMIT of ``bpm``), so the curve of a file whose tempo climbs further than
    ``span`` (a whole mix) follows it instead of locking on 2/3 of the beat at the top. The
    analysis keeps the fixed search (its curve judges a track's stability around its tempo);
    ``tempo plot`` draws the following one.
    """
    win = int(round(window_s * fps))
    period = 60.0 * fps / bpm
    n_mult = max(1, min(4, int((win // 2) / period)))
    if win < 8 or env.size < win or n_mult < 1:
        return ()
    hop = win
    starts = list(range(0, env.size - win + 1, hop))
    max_lag = int(np.ceil(n_mult * period * (FOLLOW_LIMIT if follow else 1.0) * (1 + span))) + 2
    if follow:
        max_lag = min(max_lag, win - 1)
    if max_lag >= win:
        return ()
    frames = np.stack([env[s:s + win] for s in starts])
    frames = frames - frames.mean(axis=1, keepdims=True)
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = sfft.rfft(frames, n=nfft, axis=1)
    acf = sfft.irfft(spec.real**2 + spec.imag**2, n=nfft, axis=1)[:, : max_lag + 1]
    acf /= (win - np.arange(max_lag + 1)) / win
    zero = acf[:, :1]
    acf = np.where(zero > 1e-12, acf / np.maximum(zero, 1e-12), 0.0)
    curve = []
    center = period
    for w, s in enumerate(starts):
        row = acf[w]
        ests, heights = [], []
        local = center
        for k in range(1, n_mult + 1):
            # a cascade: each multiple is searched around the estimate so far, in a window
            # narrow enough (< half a beat) to miss the subdivision peaks beside it
            width = k * local * (span if k == 1 else min(span, 0.2 / k))
            lo = int(np.floor(k * local - width))
            hi = int(np.ceil(k * local + width))
            if hi + 1 >= row.size or lo < 1:
                break
            j = lo + int(np.argmax(row[lo:hi + 1]))
            a, b, c = row[j - 1], row[j], row[j + 1]
            den = a - 2 * b + c
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
            ests.append((j + off) / k)
            heights.append(b)
            weights = np.arange(1, len(ests) + 1, dtype=float)  # longer lags are more precise
            local = float(np.sum(np.array(ests) * weights) / weights.sum())
        if not ests or float(np.mean(heights)) < CURVE_MIN_CLARITY:
            continue
        curve.append((round((s + win / 2) / fps, 2), round(60.0 * fps / local, 1)))
        if follow:
            center = float(np.clip(local, period / FOLLOW_LIMIT, period * FOLLOW_LIMIT))
    return tuple(curve)


class _Pulse:
    """The periodicity analysis shared by the estimator and the level model's training."""

    def __init__(self, features: Features, min_bpm: float, max_bpm: float):
        self.fps = fps = float(features.fps)
        self.ok = False
        if features.duration_s < MIN_DURATION_S or features.n_frames < 16:
            return
        x = prepare_envelopes(features)
        self.total = x[-1]
        if not np.any(self.total):
            return
        max_lag = int(np.ceil(60.0 * fps * 4 / min_bpm)) + 2
        self.acf = windowed_acf(x, fps, max_lag=max_lag)
        grid = bpm_grid(min_bpm, max_bpm)
        self.comb = _comb(self.acf[-1], 60.0 * fps / grid)
        score = np.maximum(self.comb, 0.0) * _prior(grid)
        i = int(np.argmax(score))
        if score[i] <= 0:
            return
        self.pulse_bpm = float(grid[i])
        self.top = max(float(self.comb.max()), 1e-9)
        self.cues = material_cues(features)
        self.ok = True

    def salience(self, b: float) -> float:
        return float(_comb(self.acf[-1], np.array([60.0 * self.fps / b]))[0])


def level_inputs(features: Features, *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM):
    """(candidate bpms, features) of a track's beat-level candidates, or None without a pulse
    (what benchmarks/level_model.py trains on)."""
    p = _Pulse(features, min_bpm, max_bpm)
    if not p.ok:
        return None
    cands, X, _, _ = level_table(p.acf, p.fps, p.pulse_bpm, min_bpm=min_bpm, max_bpm=max_bpm,
                                 comb_top=p.top, cues=p.cues)
    return cands, X


#: Level probability (of the most probable candidate) mapped to 0..1 level certainty.
LEVEL_P_LOW = 0.45
LEVEL_P_HIGH = 1.0
#: A learned level is never certain: confidence stops below 1.
MAX_CONFIDENCE = 0.999
#: When the level model and the hand-written rules (:func:`decide_level`) choose different
#: levels, the level is contested: its certainty is scaled by this. (Chosen, as one round
#: number, after seeing left-out scores of 430 songs: the model was right for a workout in
#: 98 % of the tracks where both agreed and in 88 % where they did not, and 2 of the 11
#: confident ones where they did not were wrong.)
CONTESTED_FACTOR = 0.5
_USE_DEFAULT = object()


def estimate_tempo(features: Features, *, min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM,
                   curve_window_s: float = CURVE_WINDOW_S, level_model=_USE_DEFAULT) -> TempoEstimate:
    """Tempo of a track from its onset features (see the module docstring for the method).

    Returns ``TempoEstimate(bpm=None)`` for audio without a periodic beat (silence, noise,
    too short: under MIN_DURATION_S). ``level_model``: a :class:`LevelModel` to decide the beat
    level with (default: the shipped one), or None for the hand-written rules alone.
    """
    if not 0 < min_bpm < max_bpm:
        raise ValueError(f"need 0 < min_bpm < max_bpm, got min_bpm={min_bpm}, max_bpm={max_bpm}")
    if curve_window_s <= 0:
        raise ValueError(f"curve_window_s={curve_window_s} must be positive")
    p = _Pulse(features, min_bpm, max_bpm)
    if not p.ok:
        return TempoEstimate(bpm=None)
    fps, acf = p.fps, p.acf
    model = default_level_model() if level_model is _USE_DEFAULT else level_model
    cands, X, rule_bpm, rule_margin = level_table(acf, fps, p.pulse_bpm, min_bpm=min_bpm,
                                                  max_bpm=max_bpm, comb_top=p.top, cues=p.cues)
    if model is None:
        level, certainty = rule_bpm, rule_margin
        probs = None
    else:
        probs = model.probabilities(X)
        j = int(np.argmax(probs))
        level = cands[j]
        certainty = float(np.clip((probs[j] - LEVEL_P_LOW) / (LEVEL_P_HIGH - LEVEL_P_LOW), 0.0, 1.0))
        if abs(rule_bpm / level - 1.0) >= 0.03:
            certainty *= CONTESTED_FACTOR
    bpm = refine_bpm(p.total, fps, level)
    if not min_bpm <= bpm <= max_bpm:
        bpm = float(np.clip(bpm, min_bpm, max_bpm))
    curve = tempo_curve(p.total, fps, bpm, window_s=curve_window_s)
    values = sorted(b for _, b in curve)
    stable = True
    if len(values) >= 2:
        median = values[len(values) // 2]
        spread = (values[-1] - values[0]) / median
        stable = spread <= STABLE_TOLERANCE
        if spread > CURVE_TRUST_SPREAD and len(values) >= 3:
            # the tempo moves: a phase-coherent comb smears over a ramp or a drift, the median
            # local tempo is the typical one
            bpm = float(median)

    clarity = p.salience(bpm)
    conf = float(np.clip((clarity - CLARITY_LOW) / (CLARITY_HIGH - CLARITY_LOW), 0.0, 1.0))
    if probs is None:
        confidence = round(conf * (0.5 + 0.5 * certainty), 3)
    else:
        confidence = round(min(conf * certainty, MAX_CONFIDENCE), 3)
    candidates = _candidates(p, bpm, level, cands, probs, certainty, min_bpm, max_bpm)
    return TempoEstimate(bpm=round(bpm, 1), confidence=confidence, candidates=candidates,
                         curve=curve, stable=stable)


def _candidates(p: _Pulse, bpm: float, level: float, cands, probs, certainty: float,
                min_bpm: float, max_bpm: float) -> tuple[tuple[float, float], ...]:
    """(bpm, strength) strongest first, the reported tempo first.

    Strengths are comparable across levels: the probability of each level (the level
    model's softmax over the candidates, or, with the rules, the comb strength shrunk by how
    sure the level decision was) times how clear the pulse is. Half and double are always
    listed (0 when out of range), the others when in range.
    """
    pulse = float(np.clip(p.salience(bpm) / p.top, 0.0, 1.0))
    out: dict[float, float] = {}
    for r in CANDIDATE_RATIOS:
        b = round(bpm * r, 1)
        in_range = min_bpm <= b <= max_bpm
        if not (in_range or r in (0.5, 2.0)):
            continue
        if r == 1.0:
            s = pulse * (1.0 if probs is None else float(np.max(probs)))
        elif not in_range:
            s = 0.0
        elif probs is not None:
            k = [i for i, c in enumerate(cands) if abs(c / (level * r) - 1.0) < 0.03]
            s = pulse * float(probs[k[0]]) if k else 0.0
        else:
            rel = min(1.0, p.salience(b) / max(p.salience(bpm), 1e-9))
            s = pulse * rel * (1.0 - 0.8 * certainty) * 0.99
        if b not in out:
            out[b] = round(float(np.clip(s, 0.0, 1.0)), 3)
    first = round(bpm, 1)
    return tuple(sorted(out.items(), key=lambda c: (c[0] != first, -c[1], c[0])))
