"""Rendering a :class:`~tempo.mix.plan.MixPlan` to one audio file (and its CUE sheet).

Conventions
-----------
- Each track becomes a *piece*, made on its own (in a worker process with ``jobs`` > 1):
  decoded through :mod:`tempo.audio` (only the bars it plays), time-stretched with pitch kept
  by Rubber Band (pedalboard) so that every source beat lands on its planned output beat,
  brought to the loudness target (gain, then a true-peak limiter, measured again and corrected),
  given its fades: an equal-power crossfade over each overlap, with a bass swap (the incoming
  track's lows, below :data:`BASS_HZ`, held back until mid-transition, where the outgoing
  track's lows leave within one beat). A piece is stored as raw float32 frames in a temporary
  folder.
- The mix is the sum of the pieces, streamed in order, a block at a time read from the pieces'
  files: memory does not grow with the length of the mix (nor with a track's). A master true-peak limiter
  (:mod:`tempo.mix.limiter`) keeps the output at or below the ceiling (-1 dBTP), the sum never
  clips.
- Output format from the extension (FLAC, WAV, MP3, OGG), written with soundfile to a
  temporary name in the destination folder and renamed at the end; the CUE sheet beside it
  (same name, ``.cue``) goes through :mod:`tempo.atomic`.
- pedalboard is imported lazily (the ``mix`` extra); its absence is a clear TempoError.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import DecodeError, TempoError
from .defaults import CEILING_DBTP, DEFAULT_LUFS, DEFAULT_SR, MIX_EXTRA_HINT
from .limiter import TruePeakLimiter, TruePeakMeter
from .plan import GLIDE_BEATS, MixError, MixPlan, PlannedTrack

#: Output channels.
CHANNELS = 2
#: The limiters aim this far below the ceiling: a margin for the meter's own tolerance.
CEILING_MARGIN_DB = 0.2
#: Bass swap: crossover (Hz) and how long the swap takes (beats).
BASS_HZ = 150.0
SWAP_BEATS = 1.0
#: Beats between the places where a track's stretch factor may change (besides its glide).
KNOT_BEATS = 16
#: Beats per Rubber Band call, the context given either side (s), and the crossfade joining
#: two calls (s).
CHUNK_BEATS = 64
CHUNK_MARGIN_S = 1.0
SEAM_S = 0.010
#: Seconds of audio decoded before a track's entry and after its exit (fades of a cut).
PRE_S = 0.05
CUT_FADE_S = 0.010
#: The mix before the next piece's planned start minus this (s) is final and written out.
READY_MARGIN_S = 0.5
#: Loudness the track limiter may take before it is given back as gain (LU), and the most
#: given back (dB).
LOUDNESS_TOLERANCE_LU = 0.2
MAX_MAKEUP_DB = 3.0
#: Output block written at a time (frames).
WRITE_BLOCK = 1 << 16
FORMATS = {".flac": ("FLAC", "PCM_24"), ".wav": ("WAV", "PCM_24"),
           ".mp3": ("MP3", "MPEG_LAYER_III"), ".ogg": ("OGG", "VORBIS")}


def _pedalboard():
    try:
        import pedalboard
    except ImportError as err:
        raise TempoError("rendering a mix needs pedalboard (Rubber Band time-stretching)",
                         hint=MIX_EXTRA_HINT) from err
    return pedalboard


@dataclass(frozen=True)
class PieceInfo:
    """One rendered track: where it starts in the mix (frames), its length, the gain applied,
    its loudness before and after, and how much its limiter took at most."""

    index: int
    file: str
    start: int
    frames: int
    gain_db: float
    source_lufs: float | None
    lufs: float | None
    limited_db: float


@dataclass(frozen=True)
class MixResult:
    """What was written: the mix, its CUE sheet, length, loudness and true peak measured on the
    output, the pieces, and the time it took."""

    path: str
    cue_path: str | None
    duration_s: float
    sr: int
    lufs: float | None
    true_peak_db: float
    pieces: tuple[PieceInfo, ...]
    elapsed_s: float
    notes: tuple[str, ...] = field(default=())

    @property
    def speed(self) -> float:
        """Seconds of mix rendered per second of wall time."""
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else math.inf

    def to_dict(self) -> dict:
        return {"path": self.path, "cue": self.cue_path, "duration_s": round(self.duration_s, 3),
                "sr": self.sr, "lufs": self.lufs, "true_peak_db": round(self.true_peak_db, 2),
                "elapsed_s": round(self.elapsed_s, 3), "notes": list(self.notes),
                "tracks": [{"start_s": round(p.start / self.sr, 3), "gain_db": round(p.gain_db, 2),
                            "source_lufs": p.source_lufs, "lufs": p.lufs,
                            "limited_db": round(p.limited_db, 2)} for p in self.pieces]}


# --------------------------------------------------------------------------- output checks

def output_format(path: str) -> tuple[str, str]:
    """(soundfile format, subtype) from the file's extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise MixError(f"unknown output format {ext or '(no extension)'!r}", path=path,
                       hint="use .flac, .wav, .mp3 or .ogg")
    return FORMATS[ext]


def check_output(path: str) -> str:
    """Refuse, before any work, an output the mix cannot be written to. Returns the absolute
    path. The folder is created if missing (as the final write would)."""
    path = os.path.abspath(os.fspath(path))
    output_format(path)
    if os.path.isdir(path):
        raise MixError("is a folder", path=path, hint="give a file name such as mix.flac")
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tempo-mix-", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise MixError(f"cannot write the mix here: {err.strerror or err}", path=path,
                       hint="choose another -o path") from err
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise MixError("the existing file is read-only", path=path,
                       hint="choose another -o path")
    return path


# --------------------------------------------------------------------------- one piece

class SectionReader:
    """Frames ``first..last`` of a file at ``sr``, (frames, CHANNELS) float32, decoded through
    :mod:`tempo.audio` as they are asked for: :meth:`get` takes ranges whose starts never go
    back, and only the frames from the last start on are kept (silence where the file does not
    reach)."""

    def __init__(self, path: str, first: int, last: int, sr: int):
        from ..audio import AudioStream, Resampler

        self.first, self.last = first, last
        self._stream = AudioStream(path)
        info = self._stream.info
        self._rs = Resampler(info.sample_rate, sr, channels=info.channels, quality="HQ")
        self._blocks = self._stream.blocks()
        self._pos = 0  # source frames decoded so far (at sr)
        self._buf = np.zeros((0, CHANNELS), np.float32)
        self._buf0 = first  # frame of _buf[0]
        self._done = False

    def close(self):
        self._stream.close()

    def __len__(self) -> int:
        return self.last - self.first

    def _more(self) -> bool:
        if self._done:
            return False
        block = next(self._blocks, None)
        y = self._rs.process(block) if block is not None else self._rs.flush()
        if block is None:
            self._done = True
        y = y.reshape(len(y), -1)
        a, b = self._pos, self._pos + len(y)
        self._pos = b
        lo, hi = max(a, self._buf0 + len(self._buf)), min(b, self.last)
        if lo < self._buf0 + len(self._buf):
            lo = self._buf0 + len(self._buf)
        if hi > lo:
            part = y[lo - a:hi - a]
            part = np.repeat(part, CHANNELS, axis=1) if part.shape[1] == 1 else part[:, :CHANNELS]
            gap = lo - (self._buf0 + len(self._buf))
            pieces = [self._buf]
            if gap > 0:
                pieces.append(np.zeros((gap, CHANNELS), np.float32))
            pieces.append(part.astype(np.float32, copy=False))
            self._buf = np.concatenate(pieces)
        return b < self.last

    def get(self, a: int, b: int) -> np.ndarray:
        """Frames a..b (relative to ``first``); a must not be before an earlier call's a."""
        a, b = a + self.first, min(b + self.first, self.last)
        if a > self._buf0:  # forget what no later call can ask for
            drop = min(a - self._buf0, len(self._buf))
            self._buf = self._buf[drop:]
            self._buf0 += drop
        while self._buf0 + len(self._buf) < b and self._more():
            pass
        if self._buf0 + len(self._buf) < b:  # past the end of the file: silence
            self._buf = np.concatenate([self._buf, np.zeros((b - self._buf0 - len(self._buf),
                                                             CHANNELS), np.float32)])
        if self._buf0 > self.first and a < self._buf0:
            raise ValueError("SectionReader.get went back")
        lead = max(0, self._buf0 - a)  # before the file's start
        out = self._buf[max(0, a - self._buf0):b - self._buf0]
        if lead:
            out = np.concatenate([np.zeros((lead, CHANNELS), np.float32), out])
        return out


def stretch_knots(track: PlannedTrack) -> list[int]:
    """Beat indices where the stretch factor may change: every beat of the glide after the
    overlap-in (the tempo changes there), the overlap boundaries, and every KNOT_BEATS beats
    (a drifting track's tempo). Rubber Band (pedalboard) slows down with every change of
    factor, quadratically in the length of the track, so they are kept few."""
    n = track.n_beats
    knots = set(range(0, n, KNOT_BEATS)) | {0, n, track.fade_in_beats, n - track.fade_out_beats}
    if track.fade_in_beats:
        knots |= set(range(track.fade_in_beats, min(n, track.fade_in_beats + GLIDE_BEATS + 1)))
    return sorted(k for k in knots if 0 <= k <= n)


def stretch_map(track: PlannedTrack, sr: int, pre_s: float, n_in: int
                ) -> tuple[np.ndarray, float]:
    """Rubber Band's stretch factor for every input sample (input speed / output speed: >1
    plays faster), constant between knots (:func:`stretch_knots`), and the output time (s) of
    the first input sample. Every knot beat lands on its planned output time; a beat between
    knots is off by the source's own tempo drift within the span (a few ms at most)."""
    src = np.asarray(track.src_beats_s)
    out = np.asarray(track.out_beats_s)
    knots = np.asarray(stretch_knots(track))
    factors = np.diff(src[knots]) / np.diff(out[knots])
    factors = np.round(factors, 7)  # equal spans merge: no change for Rubber Band
    t0 = src[0] - pre_s
    edges = np.clip(np.rint((src[knots[1:-1]] - t0) * sr).astype(np.int64), 0, n_in)
    counts = np.diff(np.concatenate([[0], edges, [n_in]]))
    out_start = out[0] - pre_s / factors[0]
    return np.repeat(factors, counts).astype(np.float64), float(out_start)


def stretch(pb, y, track: PlannedTrack, sr: int, pre_s: float) -> tuple[np.ndarray, float]:
    """``y`` (a :class:`SectionReader` or an array: the track's section from ``pre_s`` before
    its entry) time-stretched so that its beats land on the planned ones: (audio, output time
    of its first frame in s).

    Rubber Band runs on chunks of CHUNK_BEATS beats (plus CHUNK_MARGIN_S of context either
    side), joined half a beat after a beat (between attacks) with a SEAM_S equal-gain
    crossfade: working memory stays bounded, and pedalboard's cost, quadratic in the length of
    a call with a varying factor, stays linear."""
    src = np.asarray(track.src_beats_s)
    out = np.asarray(track.out_beats_s)
    knots = np.asarray(stretch_knots(track))
    ks, ko = src[knots], out[knots]
    f = np.round(np.diff(ks) / np.diff(ko), 7)  # equal spans merge: no change for Rubber Band
    t0 = src[0] - pre_s
    dur = len(y) / sr

    def out_time(s_):
        i = int(np.clip(np.searchsorted(ks, s_, side="right") - 1, 0, len(f) - 1))
        return float(ko[i] + (s_ - ks[i]) / f[i])

    out_start = out_time(t0)
    if np.all(np.abs(f - 1.0) < 1e-7):
        return np.array(y.get(0, len(y)) if hasattr(y, "get") else y), out_start
    get = y.get if hasattr(y, "get") else (lambda a, b: y[a:b])
    n_out = int(round((out_time(t0 + dur) - out_start) * sr))
    z = np.zeros((n_out, CHANNELS), np.float32)
    n = track.n_beats
    cuts = [(src[b] + src[b + 1]) / 2 for b in range(CHUNK_BEATS, n - CHUNK_BEATS // 4, CHUNK_BEATS)]
    bounds = [t0, *cuts, t0 + dur]
    h = max(1, int(SEAM_S * sr / 2))
    last = len(bounds) - 2
    for c in range(len(bounds) - 1):
        ia = max(0, int(np.floor((bounds[c] - CHUNK_MARGIN_S - t0) * sr))) if c else 0
        ib = min(len(y), int(np.ceil((bounds[c + 1] + CHUNK_MARGIN_S - t0) * sr)))
        s_in = t0 + ia / sr
        edges = np.clip(np.rint((ks[1:-1] - s_in) * sr).astype(np.int64), 0, ib - ia)
        counts = np.diff(np.concatenate([[0], edges, [ib - ia]]))
        factors = np.repeat(f, counts)
        zs = pb.time_stretch(np.ascontiguousarray(get(ia, ib).T), sr, factors,
                             high_quality=False).T
        o0 = int(round((out_time(s_in) - out_start) * sr))  # z frame of zs[0]
        own_a = 0 if c == 0 else int(round((out_time(bounds[c]) - out_start) * sr))
        own_b = n_out if c == last else int(round((out_time(bounds[c + 1]) - out_start) * sr))
        lo_i = max(0, own_a - h if c else 0, o0)
        hi_i = min(n_out, own_b + h if c < last else n_out, o0 + len(zs))
        if hi_i <= lo_i:
            continue
        w = np.ones(hi_i - lo_i, np.float32)
        idx = np.arange(lo_i, hi_i)
        if c > 0:
            w *= np.clip((idx - (own_a - h)) / (2 * h), 0, 1).astype(np.float32)
        if c < last:
            w *= np.clip(((own_b + h) - idx) / (2 * h), 0, 1).astype(np.float32)
        z[lo_i:hi_i] += zs[lo_i - o0:hi_i - o0] * w[:, None]
    return z, out_start


def _envelopes(track: PlannedTrack, start: int, n: int, sr: int, is_last: bool
               ) -> tuple[np.ndarray, np.ndarray]:
    """(gain of the highs, gain of the lows) for the ``n`` output frames from frame ``start``:
    equal-power crossfades over the overlaps, the bass swap at their middle, short fades at
    cuts and the end fade. Computed only over the fades (ones elsewhere)."""
    out = np.asarray(track.out_beats_s)
    nb = track.n_beats
    hi = np.ones(n, np.float32)
    lo = np.ones(n, np.float32)
    beat_in = (out[1] - out[0]) if nb else 0.5
    beat_out = (out[-1] - out[-2]) if nb else 0.5

    def ramp(gains, t0, t1, rising):
        """Multiply gains by a sin (rising) / cos quarter wave over t0..t1 (s), 0 / 1 outside."""
        a = int(np.floor(t0 * sr)) - start
        b = int(np.ceil(t1 * sr)) - start
        if rising:
            gains[:max(0, min(a, n))] = 0.0
        else:
            gains[max(0, min(b, n)):] = 0.0
        lo_i, hi_i = max(a, 0), min(b, n)
        if hi_i > lo_i:
            t = (start + np.arange(lo_i, hi_i)) / sr
            x = np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)
            w = np.sin(0.5 * np.pi * x) if rising else np.cos(0.5 * np.pi * x)
            gains[lo_i:hi_i] *= w.astype(np.float32)

    t_in, t_out = out[0], out[-1]
    if track.fade_in_beats:
        ramp(hi, t_in, out[track.fade_in_beats], True)
        mid = out[track.fade_in_beats // 2]
        ramp(lo, mid - 0.5 * SWAP_BEATS * beat_in, mid + 0.5 * SWAP_BEATS * beat_in, True)
    else:
        ramp(hi, t_in - CUT_FADE_S, t_in, True)
        ramp(lo, t_in - CUT_FADE_S, t_in, True)
    if track.fade_out_beats and not is_last:
        ramp(hi, out[nb - track.fade_out_beats], t_out, False)
        mid = out[nb - track.fade_out_beats // 2]
        ramp(lo, mid - 0.5 * SWAP_BEATS * beat_out, mid + 0.5 * SWAP_BEATS * beat_out, False)
    elif track.fade_out_beats:
        t1 = out[max(0, nb - track.fade_out_beats)]
        ramp(hi, t1, t_out, False)
        ramp(lo, t1, t_out, False)
    else:
        ramp(hi, t_out - CUT_FADE_S, t_out, False)
        ramp(lo, t_out - CUT_FADE_S, t_out, False)
    return hi, lo


def _lowpass(y: np.ndarray, sr: int) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, BASS_HZ, btype="low", fs=sr, output="sos")
    return sosfiltfilt(sos, y, axis=0).astype(np.float32)


def _loudness(y: np.ndarray, sr: int) -> float | None:
    """Integrated loudness, metered block by block (bounded working memory)."""
    from ..loudness import LoudnessMeter

    meter = LoudnessMeter(sr, y.shape[1])
    for i in range(0, len(y), WRITE_BLOCK):
        meter.update(y[i:i + WRITE_BLOCK].astype(np.float64))
    return meter.integrated()


def _limit(y: np.ndarray, sr: int, ceiling_db: float) -> tuple[np.ndarray, float]:
    """``y`` through a fresh limiter, block by block (bounded working memory), in place."""
    lim = TruePeakLimiter(sr, y.shape[1], ceiling_db=ceiling_db)
    pos = 0
    for i in range(0, len(y), WRITE_BLOCK):
        out = lim.process(y[i:i + WRITE_BLOCK])
        y[pos:pos + len(out)] = out
        pos += len(out)
    out = lim.flush()
    y[pos:pos + len(out)] = out
    return y, lim.min_gain_db


def normalise(y: np.ndarray, sr: int, *, lufs: float, ceiling_db: float
              ) -> tuple[np.ndarray, float, float | None, float | None, float]:
    """Gain ``y`` to ``lufs`` (in place) and limit its true peaks to ``ceiling_db``; when the
    limiter took loudness away, the shortfall is added back as gain (the master limiter then
    holds the few peaks that pass the ceiling by that much). Returns (audio, gain dB, loudness
    before, loudness after the limiter, most limited dB)."""
    before = _loudness(y, sr)
    if before is None:
        return y, 0.0, None, None, 0.0
    gain = lufs - before
    y *= np.float32(10 ** (gain / 20))
    peak = max((float(np.abs(y[i:i + WRITE_BLOCK]).max()) for i in range(0, len(y), WRITE_BLOCK)),
               default=0.0)
    if peak < 10 ** ((ceiling_db - 3.0) / 20):  # no inter-sample peak gets near the ceiling
        return y, gain, before, lufs, 0.0
    y, limited = _limit(y, sr, ceiling_db)
    after = _loudness(y, sr)
    if after is not None and after < lufs - LOUDNESS_TOLERANCE_LU:
        extra = min(lufs - after, MAX_MAKEUP_DB)
        y *= np.float32(10 ** (extra / 20))
        gain += extra
        after += extra
    return y, gain, before, after, limited


def render_piece(track: PlannedTrack, index: int, *, is_last: bool, sr: int, lufs: float,
                 ceiling_db: float, folder: str) -> PieceInfo:
    """Decode, stretch, normalise and fade one planned track; save it as raw float32 frames in
    ``folder``."""
    pb = _pedalboard()
    src = track.src_beats_s
    reader = SectionReader(track.path, int(math.floor((src[0] - PRE_S) * sr)),
                           int(math.ceil((src[-1] + PRE_S) * sr)), sr)
    try:
        z, out_start = stretch(pb, reader, track, sr, (src[0] * sr - reader.first) / sr)
    finally:
        reader.close()
    z, gain, before, after, limited = normalise(z, sr, lufs=lufs, ceiling_db=ceiling_db)
    start = int(round(out_start * sr))
    first, last = len(z), 0
    regions = []  # frames where the lows' gain differs from the highs' (the bass swaps)
    for i in range(0, len(z), WRITE_BLOCK):
        hi, lo = _envelopes(track, start + i, min(WRITE_BLOCK, len(z) - i), sr, is_last)
        audible = np.flatnonzero(np.maximum(hi, lo) > 0)
        if audible.size:
            first, last = min(first, i + int(audible[0])), max(last, i + int(audible[-1]) + 1)
        differ = np.flatnonzero(np.abs(lo - hi) > 1e-6)
        if differ.size:
            a, b = i + int(differ[0]), i + int(differ[-1]) + 1
            if regions and a - regions[-1][1] <= sr:
                regions[-1][1] = b
            else:
                regions.append([a, b])
    lows = []
    margin = int(0.5 * sr)
    for a0, b0 in regions:
        a, b = max(0, a0 - margin), min(len(z), b0 + margin)
        hi, lo = _envelopes(track, start + a, b - a, sr, is_last)
        lows.append((a, _lowpass(z[a:b], sr) * (lo - hi)[:, None]))
    for i in range(0, len(z), WRITE_BLOCK):
        hi, _ = _envelopes(track, start + i, min(WRITE_BLOCK, len(z) - i), sr, is_last)
        z[i:i + len(hi)] *= hi[:, None]
    for a, part in lows:
        z[a:a + len(part)] += part
    # keep what is heard (from the fade-in to the end of the fade-out), as raw float32 frames
    if last <= first:
        first = last = 0
    file = os.path.join(folder, f"piece-{index:05d}.f32")
    np.ascontiguousarray(z[first:last], dtype=np.float32).tofile(file)
    return PieceInfo(index=index, file=file, start=start + first, frames=last - first,
                     gain_db=gain, source_lufs=before, lufs=after, limited_db=limited)


# --------------------------------------------------------------------------- the mix

def _render_task(args):
    track, index, is_last, sr, lufs, ceiling_db, folder = args
    return render_piece(track, index, is_last=is_last, sr=sr, lufs=lufs, ceiling_db=ceiling_db,
                        folder=folder)


def _pieces(plan: MixPlan, *, sr: int, lufs: float, ceiling_db: float, folder: str, jobs: int):
    """PieceInfo of every track, in order, made by ``jobs`` processes (at most jobs + 1 ahead
    of the one being mixed)."""
    n = len(plan.tracks)
    tasks = [(t, i, i == n - 1, sr, lufs, ceiling_db, folder) for i, t in enumerate(plan.tracks)]
    if jobs <= 1 or n <= 1:
        for task in tasks:
            yield _render_task(task)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("forkserver" if hasattr(os, "fork") else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        pending = []
        it = iter(tasks)
        for task in it:
            pending.append(pool.submit(_render_task, task))
            if len(pending) > jobs:
                break
        while pending:
            fut = pending.pop(0)
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.submit(_render_task, nxt))
            yield fut.result()


def render_mix(plan: MixPlan, out_path: str, *, lufs: float = DEFAULT_LUFS,
               ceiling_db: float = CEILING_DBTP, sr: int = DEFAULT_SR, jobs: int = 1,
               progress=None, cue: bool = True, title: str | None = None) -> MixResult:
    """Render ``plan`` to ``out_path`` (format from the extension) and a CUE sheet beside it.

    ``progress(done, total, name)`` is called as each track is mixed in. Raises MixError (a
    TempoError) naming the file for an unwritable output (before any work) or a track that no
    longer decodes.
    """
    import soundfile as sf

    from ..atomic import atomic_write_bytes
    from ..loudness import LoudnessMeter

    t0 = time.perf_counter()
    out_path = check_output(out_path)
    fmt, subtype = output_format(out_path)
    _pedalboard()
    if not plan.tracks:
        raise MixError("the plan has no tracks")
    if not -40.0 <= lufs <= 0.0:
        raise MixError(f"--lufs {lufs:g} must be in -40..0")
    inner_ceiling = ceiling_db - CEILING_MARGIN_DB
    folder = os.path.dirname(out_path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(out_path) + ".",
                               suffix=".tmp")
    os.close(fd)
    total = len(plan.tracks)
    meter = LoudnessMeter(sr, CHANNELS)
    peak = TruePeakMeter(CHANNELS)
    limiter = TruePeakLimiter(sr, CHANNELS, ceiling_db=inner_ceiling)
    infos: list[PieceInfo] = []
    written = 0
    try:
        with tempfile.TemporaryDirectory(prefix="tempo-mix-") as work, \
                sf.SoundFile(tmp, "w", samplerate=sr, channels=CHANNELS, format=fmt,
                             subtype=subtype) as f:
            def emit(block):
                nonlocal written
                if len(block):
                    meter.update(block)
                    peak.update(block)
                    f.write(block)
                    written += len(block)

            live: list[PieceInfo] = []  # pieces that still reach the write position
            pos = 0  # output frames handed to the limiter
            end = 0
            for k, info in enumerate(_pieces(plan, sr=sr, lufs=lufs, ceiling_db=inner_ceiling,
                                            folder=work, jobs=jobs)):
                infos.append(info)
                live.append(info)
                end = max(end, info.start + info.frames)
                # everything before the next piece's earliest start is final
                if k + 1 < total:
                    ready = int(math.floor((plan.tracks[k + 1].start_s - READY_MARGIN_S) * sr))
                else:
                    ready = end
                for a in range(pos, ready, WRITE_BLOCK):
                    b = min(a + WRITE_BLOCK, ready)
                    emit(limiter.process(_sum_pieces(live, a, b)))
                pos = max(pos, ready)
                for p in [p for p in live if p.start + p.frames <= pos]:
                    live.remove(p)
                    os.unlink(p.file)
                if progress is not None:
                    progress(k + 1, total, plan.tracks[k].path)
            emit(limiter.flush())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out_path)
        tmp = None
    except OSError as err:
        raise MixError(f"cannot write the mix: {err.strerror or err}", path=out_path) from err
    except DecodeError as err:
        raise MixError(f"a track failed to decode while rendering: {err}", path=out_path) from err
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    cue_path = None
    if cue:
        cue_path = os.path.splitext(out_path)[0] + ".cue"
        try:
            atomic_write_bytes(cue_path, plan.cue_sheet(out_path, title=title).encode("utf-8"))
        except OSError as err:
            raise MixError(f"cannot write the CUE sheet: {err.strerror or err}",
                           path=cue_path) from err
    return MixResult(path=out_path, cue_path=cue_path, duration_s=written / sr, sr=sr,
                     lufs=meter.integrated(), true_peak_db=peak.finish(), pieces=tuple(infos),
                     elapsed_s=time.perf_counter() - t0, notes=plan.notes)


def _sum_pieces(pieces, a: int, b: int) -> np.ndarray:
    """Output frames a..b: the sum of the pieces' frames there, read from their files."""
    block = np.zeros((b - a, CHANNELS), np.float32)
    frame_bytes = CHANNELS * 4
    for p in pieces:
        lo, hi = max(a, p.start), min(b, p.start + p.frames)
        if hi <= lo:
            continue
        with open(p.file, "rb") as fh:
            fh.seek((lo - p.start) * frame_bytes)
            data = np.fromfile(fh, dtype=np.float32, count=(hi - lo) * CHANNELS)
        block[lo - a:hi - a] += data.reshape(-1, CHANNELS)
    return block


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
