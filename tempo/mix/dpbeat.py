"""Beat tracking by dynamic programming (Ellis 2007) with the tempo given, in numpy.

Conventions
-----------
- Input: an onset-strength envelope ``(frames,)`` at ``fps`` frames per second and the tempo in
  BPM; output: the frame index of every beat, ascending.
- The method and its choices are those of ``librosa.beat.beat_track`` with ``bpm`` fixed, so
  that the beat grid keeps the results measured with it (``tests/test_dpbeat.py`` compares the
  two beat for beat when librosa is installed):

  1. the envelope, divided by its standard deviation, is smoothed by a Gaussian window one
     beat either side (the *local score*);
  2. each frame's cumulative score is its local score plus the best of an earlier frame's
     cumulative score, half a beat to two beats back, minus ``tightness`` times the squared
     log-ratio of that gap to the beat period;
  3. the last beat is the last local maximum of the cumulative score above half the median
     of its local maxima; the beats are followed back from it; frames before the first
     local score of 1 % of the largest start no chain;
  4. beats before the first and after the last frame whose local score exceeds a threshold
     are dropped (``trim``: half the RMS of the smoothed beat scores; else 0).

- Why not librosa itself: librosa compiles part of its tracker with numba in every new process
  (5-9 s of CPU per ``tempo mix``, longer than the grids of a 45-minute mix) and takes 160 MB.
  Here step 2 runs half a beat of frames at a time as one array operation (a frame's
  candidates all lie at least half a beat back), a few tens of milliseconds per song.
"""

from __future__ import annotations

import numpy as np


def local_score(envelope: np.ndarray, frames_per_beat: float) -> np.ndarray:
    """The normalised envelope convolved with a Gaussian of one beat either side (its first
    frame left out, as librosa's loop does)."""
    x = np.asarray(envelope, dtype=np.float64)
    x = x / (x.std(ddof=1) + np.finfo(np.float64).tiny)
    x[0] = 0.0
    fpb = float(frames_per_beat)
    window = np.exp(-0.5 * (np.arange(-fpb, fpb + 1) * 32.0 / fpb) ** 2)
    k = len(window)
    return np.convolve(x, window, mode="full")[k // 2:k // 2 + len(x)]


def beat_dp(local: np.ndarray, frames_per_beat: float, tightness: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """(backlink, cumulative score) of every frame: the previous beat of a beat here (-1 for
    none) and the best chain's score up to here."""
    n = len(local)
    fpb = float(frames_per_beat)
    tight = float(np.float32(tightness))  # librosa passes it as float32
    half = int(np.round(fpb / 2))
    gaps = np.arange(half, int(2 * fpb) + 1)  # nearest candidate first: ties go to it
    penalty = tight * (np.log(gaps) - np.log(fpb)) ** 2
    cum = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    step = max(1, half)
    for s in range(0, n, step):
        i = np.arange(s, min(n, s + step))
        locs = i[:, None] - gaps[None, :]
        valid = locs >= 0
        scores = np.where(valid, cum[np.maximum(locs, 0)] - penalty[None, :], -np.inf)
        best_at = np.argmax(scores, axis=1)
        rows = np.arange(len(i))
        best = scores[rows, best_at]
        found = valid[rows, best_at]
        cum[i] = np.where(found, local[i] + best, local[i])
        back[i] = np.where(found, locs[rows, best_at], -1)
    strong = np.flatnonzero(local >= 0.01 * local.max())
    first = int(strong[0]) if strong.size else n
    back[:first] = -1
    return back, cum


def last_beat(cum: np.ndarray) -> int:
    """The last local maximum of ``cum`` at or above half the median of its local maxima (the
    last frame when there is none)."""
    n = len(cum)
    peaks = np.zeros(n, dtype=bool)
    if n >= 3:
        peaks[1:-1] = (cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])
    if n >= 2:
        peaks[-1] = cum[-1] > cum[-2]
    if not peaks.any():
        return n - 1
    threshold = 0.5 * float(np.median(cum[peaks]))
    ok = np.flatnonzero(peaks & (cum >= threshold))
    return int(ok[-1]) if ok.size else n - 1


def track_beats(envelope: np.ndarray, fps: float, bpm: float, *, tightness: float = 100.0,
                trim: bool = True) -> np.ndarray:
    """Frame indices of the beats of an onset envelope at ``fps`` whose tempo is ``bpm``."""
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim != 1:
        raise ValueError("the onset envelope must be one-dimensional")
    if not bpm > 0 or not tightness > 0:
        raise ValueError(f"bpm ({bpm}) and tightness ({tightness}) must be positive")
    if env.size < 2 or not env.any():
        return np.zeros(0, dtype=np.int64)
    fpb = float(np.round(fps * 60.0 / bpm))
    local = local_score(env, fpb)
    back, cum = beat_dp(local, fpb, tightness)
    beats = np.zeros(len(env), dtype=bool)
    k = last_beat(cum)
    while k >= 0:
        beats[k] = True
        k = int(back[k])
    threshold = 0.0
    if trim:
        smooth = np.convolve(local[beats], np.hanning(5))[2:len(local) + 2]
        threshold = 0.5 * float(np.sqrt(np.mean(smooth ** 2)))
    above = np.flatnonzero(local > threshold)
    if not above.size:
        return np.zeros(0, dtype=np.int64)
    beats[:above[0]] = False
    beats[above[-1] + 1:] = False
    return np.flatnonzero(beats).astype(np.int64)
