"""Onset features of decoded audio: pure numpy, block-wise, no file I/O.

Conventions
-----------
- Input is mono float audio in -1..1 at ``sr`` Hz, given whole (:func:`extract_features`) or
  block by block (:class:`FeatureExtractor`), so a 3-hour mix never has to sit in memory.
- Frames are centred: frame ``i`` describes the audio around ``i * hop_length / sr`` seconds.
  ``fps`` = ``sr / hop_length`` frames per second (about 86 at every rate).
- Onset envelopes are half-wave rectified spectral flux of log sub-band energies (dB rise per
  frame, capped at MAX_RISE_DB), summed into the bands of :data:`BAND_EDGES_HZ`, named in
  :data:`BAND_NAMES` (kick, bass, snare body, mid, presence, hats).
- Nothing depends on the playback gain: every level threshold (the floor under the sub-band
  levels, what counts as silence, which frames the spectral means cover) is relative to the
  track's own loud level (:func:`loud_level`), which is known only once the whole track has
  been seen. So the sub-band levels are kept (int16 in 0.005 dB steps: 6 KB per second) and
  the flux is taken in :meth:`FeatureExtractor.finish`. Only digital silence
  (DIGITAL_SILENCE_DB) is an absolute level.
- Nothing here imports librosa (scipy.ndimage only, lazily, for onset picking).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .models import ANALYSIS_SR

#: Frame hop (s): 11.6 ms, 128 samples at 11025 Hz. Fine enough for 0.1 BPM after a line fit.
HOP_S = 128 / 11025
#: Analysis window (s): 46 ms, 512 samples at 11025 Hz.
WINDOW_S = 512 / 11025
#: Edges (Hz) of the onset bands: kick, bass and kick body, snare body, mid, presence, hats.
BAND_EDGES_HZ = (0.0, 120.0, 250.0, 700.0, 2000.0, 4000.0, 48000.0)
BAND_NAMES = ("sub", "low", "lowmid", "mid", "highmid", "high")
#: Number of log-spaced sub-bands whose dB flux is summed into the onset bands.
N_SUBBANDS = 40
#: Floor of the sub-band energies, below the track's loud level (dB): a sub-band quieter than
#: this has nothing in it. 84 dB puts it at -100 dB re full scale for a track of typical level
#: (loud level -16 dBFS).
FLOOR_BELOW_LOUD_DB = 84.0
#: Frame RMS below this (dBFS) is digital silence (16-bit dither is about -98 dBFS), whatever
#: the track: the one absolute level.
DIGITAL_SILENCE_DB = -110.0
#: The frames that set the loud level (:func:`loud_level`) are within this of the loudest (dB).
LOUD_RANGE_DB = 60.0
#: Storage of the sub-band levels until finish(): int16 in steps of this many dB (int16 holds
#: -163 .. +163 dB).
_DB_STEP = 0.005
#: Lowest sub-band level kept (dB re full scale): digital silence.
_DB_MIN = -160.0
#: Largest rise (dB) one sub-band counts per frame: an onset out of digital silence weighs the
#: same at any playback gain.
MAX_RISE_DB = 30.0
#: An onset (for onset_rate) is a local maximum of the envelope this far above its local median.
ONSET_THRESHOLD = 1.0
#: Frame RMS this far below the track's loud level (dB) is silence: the audible span starts and
#: ends there (44 dB is -60 dBFS for a track of typical level).
SILENCE_BELOW_LOUD_DB = 44.0
#: Brightness: the share of power above this frequency (Hz).
HIGH_SPLIT_HZ = 1500.0
#: Spectral fill: sub-bands whose power density is within this of the frame's loudest (dB).
FILL_DB = 30.0


@dataclass(frozen=True)
class Features:
    """Onset features of one track (numpy inside: never leaves the estimation layer).

    ``envelopes``: (n_bands, n_frames) float32 onset envelopes, one row per BAND_NAMES entry, at
    ``fps`` frames per second; ``onset_rate`` in onsets per second of non-silent audio;
    ``energy`` in 0..1 (see :func:`energy_measure`); ``rms_db``: (n_frames,) frame level in dBFS;
    ``centroid_hz``: mean spectral centroid of non-silent frames; ``flatness``: mean spectral
    flatness (0..1, of the sub-band power densities) of non-silent frames; ``high_ratio_db``:
    mean level above HIGH_SPLIT_HZ relative to the whole frame (dB, brightness); ``fill``: mean
    share of sub-bands within FILL_DB of the frame's loudest (how much of the spectrum is busy).
    """

    fps: float
    envelopes: np.ndarray
    duration_s: float
    onset_rate: float = 0.0
    energy: float = 0.0
    rms_db: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sr: int = ANALYSIS_SR
    hop_length: int = 0
    centroid_hz: float = 0.0
    flatness: float = 0.0
    high_ratio_db: float = 0.0
    fill: float = 0.0

    @property
    def n_frames(self) -> int:
        return int(self.envelopes.shape[1])

    @property
    def envelope(self) -> np.ndarray:
        """All bands summed: the broadband onset envelope."""
        return self.envelopes.sum(axis=0)

    def band(self, name: str) -> np.ndarray:
        return self.envelopes[BAND_NAMES.index(name)]


def frame_params(sr: int) -> tuple[int, int]:
    """(hop_length, n_fft) in samples for a sample rate: the same times at every rate."""
    if not 1000 <= sr <= 400_000:
        raise ValueError(f"sr={sr} Hz is outside 1000..400000")
    hop_length = max(1, int(round(sr * HOP_S)))
    n_fft = 1 << int(np.ceil(np.log2(sr * WINDOW_S)))
    return hop_length, n_fft


def _subband_matrix(sr: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges of log-spaced sub-bands and, for each sub-band, its onset band index."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    lo = 30.0
    edges_hz = np.geomspace(lo, sr / 2, N_SUBBANDS + 1)
    edges = np.unique(np.searchsorted(freqs, edges_hz))
    edges = edges[edges < len(freqs)]
    # every sub-band at least one bin; the first starts at the 30 Hz bin
    centres = np.array([freqs[a:b].mean() if b > a else freqs[a] for a, b in zip(edges[:-1], edges[1:])])
    group = np.searchsorted(np.asarray(BAND_EDGES_HZ[1:-1]), centres, side="right")
    return edges, group


class FeatureExtractor:
    """Block-wise onset features: ``update(block)`` as audio arrives, then ``finish()``.

    Memory is the block size plus the sub-band levels and a few floats per frame: about
    4 MB per 10 minutes of audio (the levels are kept, as int16, because the floor under
    them is relative to the track's loud level, known only at the end).
    """

    def __init__(self, *, sr: int = ANALYSIS_SR):
        self.sr = int(sr)
        self.hop_length, self.n_fft = frame_params(self.sr)
        from scipy import fft  # 3x faster than numpy's on many short float32 frames

        self._rfft = fft.rfft
        self._window = np.hanning(self.n_fft + 2)[1:-1].astype(np.float32)
        self._edges, group = _subband_matrix(self.sr, self.n_fft)
        # (n_bands, n_subbands) 0/1 matrix: which sub-bands sum into which onset band
        self._group = (group[None, :] == np.arange(len(BAND_NAMES))[:, None]).astype(np.float32)
        self._freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)
        # power of a full-scale sine in one bin, so that band energies read in dBFS
        self._ref_power = (self._window.sum() / 2.0) ** 2
        self._carry = np.zeros(self.n_fft // 2, dtype=np.float32)  # centred frames: pad the start
        self._levels: list[np.ndarray] = []  # (n, n_subbands) int16 sub-band levels per block
        self._rms: list[np.ndarray] = []
        self._centroids: list[np.ndarray] = []
        self._spectral: list[np.ndarray] = []  # (2, n) per block: brightness, fill
        self._freqs32 = self._freqs.astype(np.float32)
        self._widths = np.diff(self._edges).astype(np.float32)
        # the bins at and above HIGH_SPLIT_HZ: a slice, since the bins are in order
        self._high_start = int(np.searchsorted(self._freqs, HIGH_SPLIT_HZ))
        self._n_samples = 0
        self._finished = False

    def update(self, block: np.ndarray) -> None:
        """Feed the next block of mono samples (any length, including 0)."""
        if self._finished:
            raise RuntimeError("FeatureExtractor.update() after finish()")
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 1:
            raise ValueError(f"expected mono audio (1-D blocks), got shape {block.shape}")
        if not np.all(np.isfinite(block)):
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        self._n_samples += block.size
        y = np.concatenate([self._carry, block]) if block.size else self._carry
        n = 0 if y.size < self.n_fft else 1 + (y.size - self.n_fft) // self.hop_length
        if n:
            self._process(y[: (n - 1) * self.hop_length + self.n_fft], n)
        self._carry = y[n * self.hop_length:].copy()

    def _process(self, y: np.ndarray, n: int) -> None:
        frames = np.lib.stride_tricks.sliding_window_view(y, self.n_fft)[:: self.hop_length][:n]
        spec = self._rfft(frames * self._window, axis=1)
        # |X|^2 / ref, float32, in place (the same values as spec.real**2 + spec.imag**2)
        power = np.square(spec.real)
        power += np.square(spec.imag)
        power /= self._ref_power
        sub = np.add.reduceat(power, self._edges[:-1], axis=1)[:, : len(self._edges) - 1]
        sub /= self._widths
        sub_db = np.maximum(sub, np.float32(10.0 ** (_DB_MIN / 10.0)), out=sub)
        sub_db = np.log10(sub_db, out=sub_db)
        sub_db *= np.float32(10.0)
        self._levels.append(np.rint(sub_db * np.float32(1.0 / _DB_STEP)).astype(np.int16))
        total = power.sum(axis=1)
        # Parseval with the Hann window: mean square of the frame ~ total / n_fft * (ref/ sum w^2)
        ms = total * self._ref_power / (self.n_fft * np.sum(self._window**2)) * 2.0
        rms_db = 10.0 * np.log10(np.maximum(ms, 1e-12))
        self._rms.append(rms_db.astype(np.float32))
        # spectral centroid per frame (einsum: no float64 copy of the spectrum, no BLAS threads)
        num = np.einsum("ij,j->i", power, self._freqs32)
        self._centroids.append((num / np.maximum(total, 1e-20)).astype(np.float32))
        # per frame, for energy: the level above HIGH_SPLIT_HZ against the whole (dB) and the
        # share of sub-bands within FILL_DB of the loudest (flatness needs the track's floor:
        # finish()); averaged in finish() over the frames near the track's own level, so the
        # playback gain does not choose which frames count
        hi = power[:, self._high_start:].sum(axis=1)
        bright = 10.0 * np.log10(np.maximum(hi, 1e-20) / np.maximum(total, 1e-20))
        fill = np.mean(sub_db >= sub_db.max(axis=1, keepdims=True) - FILL_DB, axis=1)
        self._spectral.append(np.stack([bright, fill]).astype(np.float32))

    def finish(self) -> Features:
        """Flush the last frames and return the features of everything fed so far."""
        if not self._finished:
            self._finished = True
            pad = np.zeros(self.n_fft // 2, dtype=np.float32)
            y = np.concatenate([self._carry, pad])
            # frames centred on every hop position up to the last sample
            n_total = 1 + self._n_samples // self.hop_length
            n_done = sum(b.shape[0] for b in self._levels)
            n = min(n_total - n_done, 0 if y.size < self.n_fft else 1 + (y.size - self.n_fft) // self.hop_length)
            if n > 0:
                self._process(y[: (n - 1) * self.hop_length + self.n_fft], n)
            self._carry = np.zeros(0, dtype=np.float32)
        rms = np.concatenate(self._rms) if self._rms else np.zeros(0, np.float32)
        loud = loud_level(rms)
        bands, flat = self._flux(loud)
        spec = np.concatenate(self._spectral, axis=1) if self._spectral else np.zeros((2, 0), np.float32)
        cent = np.concatenate(self._centroids) if self._centroids else np.zeros(0, np.float32)
        near = _near_own_level(rms, loud)
        flatness, bright, fill, centroid = (float(np.mean(x[near])) if near.any() else 0.0
                                            for x in (flat, *spec, cent))
        feats = Features(
            fps=self.sr / self.hop_length,
            envelopes=bands,
            duration_s=self._n_samples / self.sr,
            rms_db=rms,
            sr=self.sr,
            hop_length=self.hop_length,
            centroid_hz=centroid,
            flatness=flatness,
            high_ratio_db=bright,
            fill=fill,
        )
        energy, onset_rate = energy_measure(feats)
        return replace(feats, energy=energy, onset_rate=onset_rate)

    def _flux(self, loud_db: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Onset envelopes (n_bands, n_frames) and spectral flatness per frame, both from the
        sub-band levels above the track's own floor (FLOOR_BELOW_LOUD_DB under ``loud_db``).

        Envelopes: the dB rise of every sub-band from one frame to the next, capped at
        MAX_RISE_DB, summed into the onset bands. Flatness: the geometric over the arithmetic
        mean of the sub-band power densities. Block by block, so a long track needs no float
        copy of all its levels."""
        n = sum(b.shape[0] for b in self._levels)
        bands = np.zeros((len(BAND_NAMES), n), np.float32)
        flat = np.zeros(n, np.float32)
        floor = (loud_db - FLOOR_BELOW_LOUD_DB) if loud_db is not None else DIGITAL_SILENCE_DB
        floor_steps = np.float32(max(floor, _DB_MIN) / _DB_STEP)
        prev, a = None, 0
        for block in self._levels:  # block by block as they came: no copy of them all
            b = a + block.shape[0]
            x = np.maximum(block.astype(np.float32), floor_steps)
            x *= np.float32(_DB_STEP)
            if b > a:
                # frame 0 has no predecessor: no flux
                rise = np.diff(x if prev is None else np.concatenate([prev, x]), axis=0)
                np.clip(rise, 0.0, MAX_RISE_DB, out=rise)
                bands[:, b - rise.shape[0]:b] = self._group @ rise.T
                ln = x * np.float32(np.log(10.0) / 10.0)
                top = ln.max(axis=1, keepdims=True)
                flat[a:b] = np.exp(ln.mean(axis=1) - top[:, 0] - np.log(np.mean(np.exp(ln - top), axis=1)))
                prev = x[-1:]
            a = b
        return bands, flat


def loud_level(rms_db: np.ndarray) -> float | None:
    """The track's loud level (dBFS), or None when it is all digital silence: the 95th
    percentile of its frame levels within LOUD_RANGE_DB of its loudest frame. Every level
    threshold is relative to it, so every feature is the same at any playback gain (the
    frames that count are chosen relative to the loudest too: faint tails that sink into
    digital silence at a lower gain would move an absolute choice)."""
    audible = rms_db[rms_db > DIGITAL_SILENCE_DB]
    if not audible.size:
        return None
    return float(np.percentile(audible[audible >= audible.max() - LOUD_RANGE_DB], 95))


def _near_own_level(rms_db: np.ndarray, ref: float | None = None) -> np.ndarray:
    """Frames within SPREAD_RANGE_DB of the track's loud level (``ref``, when already known:
    :func:`loud_level` of ``rms_db``), and not digital silence: the same frames at any
    playback gain."""
    ref = loud_level(rms_db) if ref is None else ref
    if ref is None:
        return np.zeros(rms_db.shape, bool)
    return (rms_db > DIGITAL_SILENCE_DB) & (rms_db >= ref - SPREAD_RANGE_DB)


def extract_features(y: np.ndarray, *, sr: int = ANALYSIS_SR, block_size: int = 1 << 18) -> Features:
    """Onset features of a whole mono signal (the same result as feeding it block-wise)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"expected mono audio (1-D), got shape {y.shape}")
    ex = FeatureExtractor(sr=sr)
    for start in range(0, y.size, block_size):
        ex.update(y[start:start + block_size])
    return ex.finish()


def onset_times(env: np.ndarray, frame_rate: float, *, threshold: float = ONSET_THRESHOLD) -> np.ndarray:
    """Times (s) of onsets: local maxima of ``env`` clearly above its local median (1 s)."""
    env = np.asarray(env, dtype=np.float64)
    if env.size < 3:
        return np.zeros(0)
    w = max(3, int(round(frame_rate)) | 1)
    base = _running_median(env, w)
    scale = np.median(env[env > 0]) if np.any(env > 0) else 1.0
    w_max = max(1, int(round(0.03 * frame_rate)))
    local_max = env >= _running_max(env, 2 * w_max + 1)
    peaks = local_max & (env > base + threshold * scale) & (env > 0)
    return np.flatnonzero(peaks) / frame_rate


def _running_max(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(x, size=width, mode="nearest")


def _running_median(x: np.ndarray, width: int) -> np.ndarray:
    from scipy.ndimage import median_filter

    # a median over a decimated signal is plenty for a baseline and 10x cheaper
    step = max(1, width // 15)
    coarse = median_filter(x[::step], size=max(3, width // step | 1), mode="nearest")
    return np.interp(np.arange(x.size), np.arange(coarse.size) * step, coarse)


#: Energy: ingredients (see :func:`energy_ingredients`), each centred and scaled so that 0 is
#: "middling" and +-1 a clear step, and their weights in the logistic mapping to 0..1.
#: Percussive density: onsets per second and the summed dB rise of all bands per second
#: (per doubling); spectral fullness: flatness of the sub-band spectrum (distortion, dense
#: mixes) and the share of busy sub-bands; brightness: the level above HIGH_SPLIT_HZ against the
#: whole; dynamics: the spread of frame levels (compressed, sustained walls of sound are
#: intense, a quiet verse and a loud chorus less so).
ENERGY_CENTRES = dict(onsets=5.0, flux=3600.0, flatness=0.12, fill=0.6, bright_db=-12.0, spread_db=12.0,
                      bpm=120.0)
ENERGY_SCALES = dict(flatness=0.08, fill=0.15, bright_db=6.0, spread_db=6.0)
ENERGY_WEIGHTS = dict(onsets=1.2, flux=0.3, flatness=0.3, fill=0.3, bright=0.5, spread=-0.3, tempo=1.8,
                      bias=0.35)
#: Frames quieter than the loudest (95th percentile) by more than this are left out of the
#: spectral ingredients' spread (fades, silence between songs).
SPREAD_RANGE_DB = 40.0


def energy_ingredients(features: Features, bpm: float | None = None) -> dict[str, float] | None:
    """The gain-independent ingredients of :func:`energy_measure` (None for silence):
    ``onsets`` per second, ``flux`` (summed dB rise per second), ``flatness``, ``fill``,
    ``bright_db``, ``spread_db`` (10th to 90th percentile of frame levels, dB) and ``bpm``
    (the tempo when known, else 0: faster music is heard as more intense)."""
    if features.n_frames == 0:
        return None
    ref = loud_level(features.rms_db)
    if ref is None:
        return None
    loud = np.flatnonzero(features.rms_db > max(ref - SILENCE_BELOW_LOUD_DB, DIGITAL_SILENCE_DB))
    lo, hi = int(loud[0]), int(loud[-1]) + 1
    span_s = max((hi - lo) / features.fps, 1.0 / features.fps)
    env = features.envelope[lo:hi]
    levels = features.rms_db[lo:hi]
    levels = levels[_near_own_level(levels)]
    p10, p90 = np.percentile(levels, [10, 90]) if levels.size else (0.0, 0.0)
    return dict(onsets=len(onset_times(env, features.fps)) / span_s, flux=float(env.sum()) / span_s,
                flatness=float(features.flatness), fill=float(features.fill),
                bright_db=float(max(features.high_ratio_db, -40.0)), spread_db=float(p90 - p10),
                bpm=float(bpm or 0.0))


def energy_score(ing: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """Logit of the energy from its ingredients (ENERGY_WEIGHTS unless ``weights``)."""
    w = ENERGY_WEIGHTS if weights is None else weights
    c, sc = ENERGY_CENTRES, ENERGY_SCALES
    terms = dict(
        onsets=np.log2(max(ing["onsets"], 1e-3) / c["onsets"]),
        flux=np.log2(max(ing["flux"], 1e-3) / c["flux"]),
        flatness=(ing["flatness"] - c["flatness"]) / sc["flatness"],
        fill=(ing["fill"] - c["fill"]) / sc["fill"],
        bright=(ing["bright_db"] - c["bright_db"]) / sc["bright_db"],
        spread=(ing["spread_db"] - c["spread_db"]) / sc["spread_db"],
        tempo=np.log2(ing["bpm"] / c["bpm"]) if ing.get("bpm") else 0.0,
    )
    return float(w.get("bias", 0.0) + sum(w[k] * float(np.clip(v, -4.0, 4.0)) for k, v in terms.items()))


def energy_measure(features: Features, bpm: float | None = None) -> tuple[float, float]:
    """(energy in 0..1, onsets per second) of a track, independent of its playback gain.

    Everything is measured over the audible span (first to last frame less than
    SILENCE_BELOW_LOUD_DB under the track's loud level), so
    leading and trailing silence do not dilute it. Energy blends percussive density (onsets,
    and the strength of the attacks), spectral fullness (a flat, busy spectrum: distorted
    guitars, a full band), brightness and dynamics (a compressed wall of sound against a
    quiet verse), squashed by a logistic so that sparse ballads read low and metal, punk and
    drum and bass high. No ingredient depends on the playback gain. ``bpm``: the track's tempo
    when known (tempo.analysis passes it), else the tempo term is left out.
    """
    ing = energy_ingredients(features, bpm)
    if ing is None:
        return 0.0, 0.0
    energy = float(1.0 / (1.0 + np.exp(-energy_score(ing))))
    return round(energy, 4), round(ing["onsets"], 3)
