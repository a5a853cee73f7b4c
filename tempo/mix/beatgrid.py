"""Beat and downbeat times of one track, for beat-matched mixing.

Conventions
-----------
- Times in seconds from the start of the file; tempo in BPM at the track's own beat level
  (the analysed ``bpm``; half/double time is the plan's business).
- :func:`track_grid` takes mono float audio ``(frames,)`` at ``sr`` (one module decodes:
  :func:`grid_file` reads through :mod:`tempo.audio`).
- Method: tempo's own onset envelope (:mod:`tempo.features`, all bands summed) and BPM seed
  a dynamic-programming beat tracker (:mod:`tempo.mix.dpbeat`: librosa's ``beat_track`` with
  ``bpm`` fixed, written in numpy, beat for beat the same), so it only chooses the phase and
  follows drift. When its beats agree with one steady grid
  (:func:`regular_grid`, a robust line fit: 90 % of them, or 60 % when tempo's own curve
  of the track spreads under 1 %, as when the tracker slips onto the off-beat for a few
  bars; that line is fitted to the beats with the stronger half of the attacks, so a
  beatless intro does not pull it) that grid is used over the whole file (the tracker's own
  beats can wander at the ends); otherwise its beats are smoothed by a local
  line fit over :data:`SMOOTH_BEATS` beats either side, leaving out outliers (a drifting or
  ramping track keeps its curve, the 11.6 ms frame jitter goes). The grid is then shifted as a
  whole by the offset that best puts it on the attacks of a fine (1.5 ms) onset function.
  (Snapping each beat to its nearest attack was tried and dropped: on the dev corpus it
  moved waltz and syncopated beats onto the wrong attack.)
- Meter (:func:`detect_meter`): 3 or 4 beats per bar. Per beat: low-band (kick, bass) and
  broadband onset strength at the beat, and over the beat's span a chroma, a bass chroma
  (below :data:`BASS_HZ`) and a 40-band mel spectrum. Evidence for 3 against 4, summed into
  ``meter_score``: the accent contrast (the best bar phase's mean accent against the other
  beats', accents = low band + harmonic, bass-harmonic and spectral change, each z-scored)
  at 3 minus at 4, and for the mel spectra and the onset bands the beat-to-beat similarity
  at lags 3 and 6 minus lags 4 and 8. A track is read in 3 only when the score passes
  :data:`METER_THRESHOLD` (set so that no 4/4 song of the dev corpus is read in 3: a wrong
  3 breaks every transition, a missed waltz only its downbeats); otherwise, and below
  :data:`METER_MIN_BEATS` beats, it keeps 4. A 2-beat bar (2/4, 6/8 counted at the dotted
  quarter) is read as 4: two of its bars from a true downbeat.
- Downbeats: bars of ``beats_per_bar``; the bar phase is the one whose beats carry most
  low-band (kick, bass) onset strength, plus half the broadband strength (accents), plus half
  the (z-scored) chord change into the beat: on the dev corpus the chord change raised the
  4/4 songs' right bar phase from 66 % to 92 %.
- ``start_s`` / ``end_s``: where the music is, i.e. after leading silence and before trailing
  silence or a fade-out (the last moment the level is within :data:`FADE_DB` of its median).
- No librosa: the tracker and the chroma/mel filter banks (:mod:`tempo.mix.filters`) are
  numpy, so a ``tempo mix`` process does not pay librosa's import and numba compilation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError
from ..models import ANALYSIS_SR

#: Beats per bar when the meter is not detected (and the unit of --overlap).
BEATS_PER_BAR = 4
#: Meter score (evidence for 3 beats per bar against 4) above which a track is read in 3.
METER_THRESHOLD = 0.5
#: Fewer beats than this: the meter is not detected (bars of 4).
METER_MIN_BEATS = 30
#: Spectra for the harmonic features: FFT size and hop (samples at ANALYSIS_SR; scaled with
#: the rate), bass chroma below BASS_HZ, mel bands.
CHROMA_NFFT = 4096
CHROMA_HOP = 256
BASS_HZ = 300.0
N_MELS = 40
#: Beats either side in the local line fit that smooths the tracked beats.
SMOOTH_BEATS = 8
#: Beats further than this fraction of a beat from the local line are outliers in the fit.
OUTLIER_FRACTION = 0.04
#: A track whose tracked beats spread less than this fraction of a beat around one steady
#: grid gets that grid.
STEADY_SPREAD = 0.02
#: ... and when at least this fraction of them are within OUTLIER_FRACTION of it (a ramp or a
#: drift leaves many more off the line: those tracks keep the local fits).
STEADY_INLIERS = 0.9
#: A track whose tempo curve (tempo.estimate.tempo_curve, 10 s windows) spreads less than this
#: fraction is steady: its grid is the steady line when at least SLIP_INLIERS of the tracked
#: beats agree with it (the tracker slipped onto the off-beat for a while, or wandered at the
#: end; a house song of the dev corpus was rendered 1.5 % fast through such a stretch).
STEADY_CURVE_SPREAD = 0.01
SLIP_INLIERS = 0.6
#: The tracker's tightness: how strictly it keeps the seeded tempo (librosa's default is 100).
TIGHTNESS = 400.0
#: Fine onset function: frame length and hop (samples at ANALYSIS_SR), and the search span of
#: the grid offset (s): a little over one frame of the tracker (11.6 ms), whose jitter it
#: corrects. At +-50 ms it moved 7 of the dev corpus's 15 waltzes 45-58 ms off their beats,
#: onto the "pah" of the oom-pah-pah (at 15 ms: 11-29 ms, the other songs unchanged).
FINE_FRAME = 64
FINE_HOP = 16
OFFSET_SPAN_S = 0.015
#: Level (dB below the median frame level) under which the start and end count as silence or
#: fade.
SILENCE_BELOW_MEDIAN_DB = 30.0
FADE_DB = 8.0
#: Seconds of level smoothing when finding a fade-out.
FADE_SMOOTH_S = 1.0


@dataclass(frozen=True)
class BeatGrid:
    """Beats of one track. ``beats_s`` are smoothed beat times (s), ``downbeat`` the index in
    ``beats_s`` of the first downbeat (bars of ``beats_per_bar`` from there), ``strength`` one
    intensity value per beat (for choosing the most intense bars), ``raw_beats_s`` the tracker's
    own beats before smoothing, ``meter_score`` the evidence for 3 beats per bar against 4
    (``beats_per_bar`` is 3 when it passes METER_THRESHOLD)."""

    bpm: float
    beats_s: tuple[float, ...]
    downbeat: int
    start_s: float
    end_s: float
    duration_s: float
    strength: tuple[float, ...] = ()
    raw_beats_s: tuple[float, ...] = ()
    beats_per_bar: int = BEATS_PER_BAR
    meter_score: float = 0.0

    def __post_init__(self):
        if self.beats_per_bar not in (2, 3, 4):
            raise ValueError(f"beats_per_bar={self.beats_per_bar!r}: 2, 3 or 4")

    @property
    def downbeats_s(self) -> tuple[float, ...]:
        return self.beats_s[self.downbeat::self.beats_per_bar]

    @property
    def meter(self) -> str:
        """``"3/4"`` or ``"4/4"`` (``"2/4"`` for a grid made with bars of 2)."""
        return f"{self.beats_per_bar}/4"

    def to_dict(self) -> dict:
        return {"bpm": self.bpm, "beats_s": list(self.beats_s), "downbeat": self.downbeat,
                "beats_per_bar": self.beats_per_bar, "meter_score": self.meter_score,
                "start_s": self.start_s, "end_s": self.end_s, "duration_s": self.duration_s,
                "strength": list(self.strength), "raw_beats_s": list(self.raw_beats_s)}

    @classmethod
    def from_dict(cls, d: dict) -> "BeatGrid":
        return cls(bpm=float(d["bpm"]), beats_s=tuple(d["beats_s"]), downbeat=int(d["downbeat"]),
                   start_s=float(d["start_s"]), end_s=float(d["end_s"]),
                   duration_s=float(d["duration_s"]), strength=tuple(d.get("strength", ())),
                   raw_beats_s=tuple(d.get("raw_beats_s", ())),
                   beats_per_bar=int(d.get("beats_per_bar", BEATS_PER_BAR)),
                   meter_score=float(d.get("meter_score", 0.0)))


def smooth_beats(beats: np.ndarray, *, half_width: int = SMOOTH_BEATS) -> np.ndarray:
    """Each beat replaced by a line fit (beat index -> time) over its neighbours; beats more than
    OUTLIER_FRACTION of a beat off the first fit are left out of the second."""
    b = np.asarray(beats, dtype=np.float64)
    n = b.size
    if n < 3:
        return b.copy()
    out = np.empty(n)
    idx = np.arange(n, dtype=np.float64)
    for k in range(n):
        lo, hi = max(0, k - half_width), min(n, k + half_width + 1)
        x, y = idx[lo:hi], b[lo:hi]
        slope, icpt = np.polyfit(x, y, 1)
        resid = np.abs(y - (slope * x + icpt))
        keep = resid <= OUTLIER_FRACTION * abs(slope)
        if 3 <= keep.sum() < keep.size:
            slope, icpt = np.polyfit(x[keep], y[keep], 1)
        out[k] = slope * k + icpt
    return out


def regular_grid(raw: np.ndarray, bpm: float, duration_s: float, *,
                 min_inliers: float = STEADY_INLIERS) -> np.ndarray | None:
    """A steady grid (one period, one phase) through the tracked beats, over the whole file,
    when the beats agree with one (at least ``min_inliers`` of them, spreading less than
    STEADY_SPREAD of a beat); else None.
    Beats are numbered by time (a skipped or doubled beat does not shift the count); beats
    further than OUTLIER_FRACTION of a beat from the fit are left out of it."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.size < 8:
        return None
    period = 60.0 / bpm
    k = np.rint((raw - raw[0]) / period)
    keep = np.ones(raw.size, bool)
    # below the usual share of inliers the outliers can pull the first fit off the line:
    # start wide (a beat slipped by half a beat is out) and narrow down
    widths = [OUTLIER_FRACTION] * 4 if min_inliers >= STEADY_INLIERS else \
        [0.25, 0.12, 0.06] + [OUTLIER_FRACTION] * 4
    for i, width in enumerate(widths):
        slope, icpt = np.polyfit(k[keep], raw[keep], 1)
        resid = raw - (slope * k + icpt)
        new = np.abs(resid) <= width * slope
        if new.sum() < max(8, raw.size // 2):
            return None
        if width == OUTLIER_FRACTION and np.array_equal(new, keep):
            break
        keep = new
    if keep.mean() < min_inliers or float(np.std(resid[keep])) > STEADY_SPREAD * slope:
        return None
    k0 = int(np.ceil(-icpt / slope))
    k1 = int(np.floor((duration_s - icpt) / slope))
    return icpt + slope * np.arange(k0, k1 + 1)


def _steady_tempo(env: np.ndarray, fps: float, bpm: float) -> bool:
    """Whether tempo's own curve (10 s windows) of the onset envelope stays within
    STEADY_CURVE_SPREAD (three windows at least)."""
    from ..estimate import tempo_curve

    values = [b for _, b in tempo_curve(env, fps, bpm)]
    return len(values) >= 3 and max(values) / min(values) - 1 < STEADY_CURVE_SPREAD


def fine_onsets(y: np.ndarray, sr: int) -> tuple[np.ndarray, float]:
    """Rise (dB, half-wave rectified) of the frame energy on short rectangular frames, and its
    frame rate. Frame ``i`` is timed at the end of its first hop, so an attack reads at its own
    time within half a hop."""
    y = np.asarray(y, dtype=np.float32)
    n = 0 if y.size < FINE_FRAME else 1 + (y.size - FINE_FRAME) // FINE_HOP
    if n < 2:
        return np.zeros(0), sr / FINE_HOP
    c = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    starts = np.arange(n) * FINE_HOP
    energy = c[starts + FINE_FRAME] - c[starts]
    # floor 40 dB under the median level: a rise out of near-silence (noise, pre-echo) is not
    # an attack
    floor = max(float(np.median(energy)) * 1e-4, 1e-10 * FINE_FRAME)
    db = 10 * np.log10(np.maximum(energy, floor) / FINE_FRAME)
    rise = np.clip(np.diff(db, prepend=db[0]), 0.0, None)
    return rise, sr / FINE_HOP


def _frame_time_fine(i: np.ndarray, sr: int) -> np.ndarray:
    # frame i spans [i*hop, i*hop + FRAME); its rise over frame i-1 is the audio of its last hop
    return (i * FINE_HOP + FINE_FRAME - FINE_HOP / 2) / sr


def grid_offset(beats: np.ndarray, y: np.ndarray, sr: int, *, span_s: float = OFFSET_SPAN_S
                ) -> float:
    """The shift (s) of the whole grid within +-span_s that puts the beats on the attacks."""
    rise, fps = fine_onsets(y, sr)
    if rise.size == 0 or len(beats) == 0:
        return 0.0
    times = _frame_time_fine(np.arange(rise.size), sr)
    steps = np.arange(-span_s, span_s + 0.5 / fps, 1.0 / fps)
    best, best_score = 0.0, -1.0
    for d in steps:
        i = np.searchsorted(times, np.asarray(beats) + d)
        i = i[(i > 0) & (i < rise.size - 1)]
        if i.size == 0:
            continue
        # the largest rise within one frame either side (the grid is within a frame already)
        score = float(np.maximum(np.maximum(rise[i - 1], rise[i]), rise[i + 1]).sum())
        if score > best_score + 1e-9:
            best, best_score = float(d), score
    # then to the frame: the mean position of the strongest rise near each beat
    i = np.searchsorted(times, np.asarray(beats) + best)
    ok = (i > 1) & (i < rise.size - 2)
    if ok.any():
        idx = i[ok][:, None] + np.arange(-2, 3)[None, :]
        local = rise[idx]
        peak = idx[np.arange(len(idx)), local.argmax(axis=1)]
        strong = local.max(axis=1) > 0.5 * np.median(local.max(axis=1))
        if strong.any():
            best = float(np.median(times[peak[strong]] - np.asarray(beats)[ok][strong]))
    return best


def _attacks(beats: np.ndarray, y: np.ndarray, sr: int) -> np.ndarray:
    """The largest fine onset rise (dB) within one fine frame of each beat."""
    rise, _ = fine_onsets(y, sr)
    out = np.zeros(len(beats))
    if rise.size < 3:
        return out
    times = _frame_time_fine(np.arange(rise.size), sr)
    i = np.clip(np.searchsorted(times, np.asarray(beats)), 1, rise.size - 2)
    return np.maximum(np.maximum(rise[i - 1], rise[i]), rise[i + 1])


def music_span(rms_db: np.ndarray, fps: float, duration_s: float) -> tuple[float, float]:
    """(start, end) in seconds: after leading silence, before trailing silence or a fade-out."""
    if rms_db.size == 0:
        return 0.0, duration_s
    med = float(np.median(rms_db[rms_db > -90])) if np.any(rms_db > -90) else -90.0
    loud = np.flatnonzero(rms_db > med - SILENCE_BELOW_MEDIAN_DB)
    if loud.size == 0:
        return 0.0, duration_s
    start = loud[0] / fps
    w = max(1, int(round(FADE_SMOOTH_S * fps)))
    smooth = np.convolve(np.power(10.0, rms_db / 10.0), np.ones(w) / w, mode="same")
    smooth_db = 10 * np.log10(np.maximum(smooth, 1e-12))
    held = np.flatnonzero(smooth_db > med - FADE_DB)
    end = (held[-1] / fps) if held.size else loud[-1] / fps
    end = max(min(end, duration_s), start)
    return float(start), float(end)


def _peak_at(env: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The largest value of ``env`` within one frame of each of ``frames``."""
    f = np.clip(frames, 1, env.shape[-1] - 2)
    return np.maximum(np.maximum(env[..., f - 1], env[..., f]), env[..., f + 1])


def beat_spectra(y: np.ndarray, sr: int, beats: np.ndarray) -> np.ndarray:
    """Per beat (the span from a beat to the next; the last beat one median period long): the
    mean power spectrum folded into a chroma (12), a bass chroma (12, below BASS_HZ) and mel
    bands (N_MELS), as one ``(len(beats), 24 + N_MELS)`` array. Computed in blocks of frames
    (centred frames, Hann window), so memory stays small on a long track; a beat no frame
    falls in repeats the previous beat's values."""
    from scipy import fft as sfft

    from .filters import chroma_filters, mel_filters

    scale = sr / ANALYSIS_SR
    n_fft = int(2 ** round(np.log2(CHROMA_NFFT * scale)))
    hop = max(1, round(CHROMA_HOP * scale))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    chroma = chroma_filters(sr, n_fft)
    mel = mel_filters(sr, n_fft, N_MELS)
    fold = np.concatenate([chroma, chroma * (freqs < BASS_HZ)[None, :], mel]).T.astype(np.float32)
    beats = np.asarray(beats, dtype=np.float64)
    n = beats.size
    out = np.zeros((n, fold.shape[1]))
    if n == 0:
        return out
    period = float(np.median(np.diff(beats))) if n > 1 else 0.5
    edges = np.rint(np.append(beats, beats[-1] + period) * sr / hop).astype(np.int64)
    y = np.pad(np.asarray(y, dtype=np.float32), n_fft // 2)
    n_frames = 0 if y.size < n_fft else 1 + (y.size - n_fft) // hop
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    counts = np.zeros(n)
    block = 512
    frames_all = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    for i0 in range(0, n_frames, block):
        idx = np.arange(i0, min(n_frames, i0 + block))
        beat = np.searchsorted(edges, idx, side="right") - 1
        ok = (beat >= 0) & (beat < n)
        if not ok.any():
            continue
        spec = sfft.rfft(frames_all[idx[ok]] * window, axis=1)  # float32: single precision
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        np.add.at(out, beat[ok], (power @ fold).astype(np.float64))
        counts += np.bincount(beat[ok], minlength=n)
    for k in range(n):
        if counts[k]:
            out[k] /= counts[k]
        elif k:
            out[k] = out[k - 1]
    return out


def _z(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    sd = float(x.std())
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)


def _unit_rows(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _change(v: np.ndarray) -> np.ndarray:
    """1 - cosine similarity of each row with the previous one (0 for the first)."""
    u = _unit_rows(v)
    return np.concatenate([[0.0], 1.0 - np.sum(u[1:] * u[:-1], axis=1)])


def _contrast(x: np.ndarray, m: int) -> float:
    """The best bar phase's mean of ``x`` (z-scored) minus the other beats' mean, bars of m."""
    x = _z(x)
    best = -np.inf
    for p in range(m):
        sel = np.zeros(x.size, bool)
        sel[p::m] = True
        best = max(best, float(x[sel].mean() - x[~sel].mean()))
    return best


def _lag_similarity(v: np.ndarray, lag: int) -> float:
    return float(np.mean(np.sum(v[lag:] * v[:-lag], axis=1))) if v.shape[0] > lag else 0.0


def meter_score(onsets: np.ndarray, spectra: np.ndarray) -> float:
    """Evidence for 3 beats per bar against 4 (positive: 3) from per-beat onset strengths
    ``onsets`` ``(n, n_bands)`` (the bands of tempo.features, the first two the low band) and
    :func:`beat_spectra` ``(n, 24 + N_MELS)``."""
    low = onsets[:, 0] + onsets[:, 1]
    chroma, bass, mel = spectra[:, :12], spectra[:, 12:24], np.log(spectra[:, 24:] + 1e-10)
    spectral = np.concatenate([[0.0], np.sqrt(np.mean(np.diff(mel, axis=0) ** 2, axis=1))])
    accents = _z(low) + _z(_change(chroma)) + _z(_change(bass)) + _z(spectral)
    score = (_contrast(accents, 3) - _contrast(accents, 4)) / 2.0
    for v in (mel, np.log1p(onsets)):
        u = _unit_rows(v - v.mean(axis=0))
        score += (_lag_similarity(u, 3) + _lag_similarity(u, 6)
                  - _lag_similarity(u, 4) - _lag_similarity(u, 8))
    return float(score)


def bar_phase(onsets: np.ndarray, spectra: np.ndarray, beats_per_bar: int) -> int:
    """Index of the first downbeat: the phase whose beats carry most low-band onset strength,
    plus half the broadband strength, plus half the (z-scored) chord change into the beat."""
    if onsets.shape[0] < beats_per_bar:
        return 0
    low = onsets[:, 0] + onsets[:, 1]
    broad = onsets.sum(axis=1)
    accent = (low / max(float(low.max()), 1e-9) + 0.5 * broad / max(float(broad.max()), 1e-9)
              + 0.5 * _z(_change(spectra[:, :12])))
    scores = [(float(accent[p::beats_per_bar].mean()), -p) for p in range(beats_per_bar)]
    return -max(scores)[1]


def detect_meter(onsets: np.ndarray, spectra: np.ndarray) -> tuple[int, int, float]:
    """(beats per bar, index of the first downbeat, meter score) from per-beat onset strengths
    and :func:`beat_spectra`; 4 unless the score passes METER_THRESHOLD."""
    n = onsets.shape[0]
    score = meter_score(onsets, spectra) if n >= METER_MIN_BEATS else 0.0
    m = 3 if score > METER_THRESHOLD else BEATS_PER_BAR
    return m, bar_phase(onsets, spectra, m), score


def track_grid(y: np.ndarray, sr: int = ANALYSIS_SR, *, bpm: float,
               beats_per_bar: int | None = None) -> BeatGrid:
    """Beat grid of mono audio ``y`` at ``sr`` Hz whose tempo is ``bpm`` (tempo's estimate);
    the meter is detected unless ``beats_per_bar`` is given."""
    from ..features import extract_features

    if not bpm or not np.isfinite(bpm) or bpm <= 0:
        raise AnalysisError(f"no tempo to seed the beat grid (bpm={bpm!r})")
    from .dpbeat import track_beats

    y = np.asarray(y, dtype=np.float32)
    feats = extract_features(y, sr=sr)
    env = feats.envelope.astype(np.float64)
    duration_s = y.size / sr
    if env.size < 8 or not np.any(env > 0):
        raise AnalysisError("no onsets to place beats on")
    frames = track_beats(env, sr / feats.hop_length, float(bpm), tightness=TIGHTNESS,
                         trim=False)
    if frames.size < 2:
        raise AnalysisError("the beat tracker found fewer than two beats")
    raw = frames * feats.hop_length / sr
    steady = regular_grid(raw, float(bpm), duration_s)
    if steady is not None:
        beats = steady + grid_offset(steady, y, sr)
    else:
        smooth = smooth_beats(raw)
        beats = smooth + grid_offset(smooth, y, sr)
        if _steady_tempo(env, feats.fps, float(bpm)):
            # fitted to the beats with the stronger attacks only: the tracker's beats in a
            # beatless intro can pull the line off the drums' phase or tempo
            attack = _attacks(raw, y, sr)
            strong = raw[attack >= np.median(attack)]
            line = regular_grid(strong, float(bpm), duration_s, min_inliers=SLIP_INLIERS)
            if line is not None:
                beats = line + grid_offset(line, y, sr)
    # drop beats the shift moved outside the audio
    beats = beats[(beats >= 0) & (beats < duration_s)]
    bframes = np.rint(beats * feats.fps).astype(np.int64)
    onsets = _peak_at(feats.envelopes.astype(np.float64), bframes).T
    if beats_per_bar is None:
        beats_per_bar, downbeat, score = detect_meter(onsets, beat_spectra(y, sr, beats))
    else:
        score = 0.0
        downbeat = bar_phase(onsets, beat_spectra(y, sr, beats), beats_per_bar)
    f = np.clip(bframes, 0, feats.rms_db.size - 1)
    # intensity per beat: level (dB) plus onset strength over the beat (for --cut)
    strength = feats.rms_db[f].astype(np.float64) + 3.0 * np.log1p(env[np.clip(bframes, 0, env.size - 1)])
    start_s, end_s = music_span(feats.rms_db, feats.fps, duration_s)
    period = 60.0 / bpm
    fitted = float(60.0 / np.median(np.diff(beats))) if beats.size > 1 else float(bpm)
    return BeatGrid(bpm=round(fitted, 3) if abs(fitted / bpm - 1) < 0.1 else float(bpm),
                    beats_s=tuple(round(float(b), 5) for b in beats), downbeat=int(downbeat),
                    start_s=round(max(0.0, start_s - 0.25 * period), 4),
                    end_s=round(end_s, 4), duration_s=round(duration_s, 4),
                    strength=tuple(round(float(s), 3) for s in strength),
                    raw_beats_s=tuple(round(float(b), 5) for b in raw),
                    beats_per_bar=int(beats_per_bar), meter_score=round(score, 4))


def grid_file(path: str | os.PathLike, *, bpm: float, sr: int = ANALYSIS_SR,
              beats_per_bar: int | None = None) -> BeatGrid:
    """Decode ``path`` (mono at ``sr``, through tempo.audio) and return its beat grid."""
    from ..audio import load

    y = load(path, sr=sr)
    try:
        return track_grid(y, sr, bpm=bpm, beats_per_bar=beats_per_bar)
    except AnalysisError as err:
        raise AnalysisError(err.message, path=os.fspath(path), hint=err.hint) from err
