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
  folder, and made in passes over that file (:func:`render_piece`): a worker holds a chunk of
  audio at a time, never a whole track.
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

import functools
import math
import os
import sys
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
CHUNK_BEATS = 48
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
#: Seconds of context either side of a bass swap for its zero-phase low-pass filter.
SWAP_MARGIN_S = 0.5
#: Output block written at a time (frames).
WRITE_BLOCK = 1 << 16
FORMATS = {".flac": ("FLAC", "PCM_24"), ".wav": ("WAV", "PCM_24"),
           ".mp3": ("MP3", "MPEG_LAYER_III"), ".ogg": ("OGG", "VORBIS")}


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    """glibc's malloc_trim, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _trim_heap() -> None:
    """Hand freed heap memory back to the system. glibc keeps the chunk-sized buffers a piece
    frees in its heap, so without this a worker's resident size creeps up chunk after chunk
    (measured: 150 MB -> 220 MB over a 4-minute track)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


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


@dataclass(frozen=True)
class StretchPlan:
    """How one track's section is stretched: the knots' source and output times (s), the
    stretch factor between knots (input speed / output speed: >1 plays faster), the source
    time of the section's first frame, its length (frames at ``sr``), and the output time of
    its first frame and the output length (frames)."""

    ks: np.ndarray
    ko: np.ndarray
    f: np.ndarray
    t0: float
    n_in: int
    out_start: float
    n_out: int
    sr: int

    def out_time(self, s_: float) -> float:
        """Output time (s) of source time ``s_``."""
        i = int(np.clip(np.searchsorted(self.ks, s_, side="right") - 1, 0, len(self.f) - 1))
        return float(self.ko[i] + (s_ - self.ks[i]) / self.f[i])

    @property
    def identity(self) -> bool:
        return bool(np.all(np.abs(self.f - 1.0) < 1e-7))


def stretch_plan(track: PlannedTrack, sr: int, pre_s: float, n_in: int) -> StretchPlan:
    """The :class:`StretchPlan` of ``track``'s section of ``n_in`` frames starting ``pre_s``
    before its entry. Every knot beat (:func:`stretch_knots`) lands on its planned output time;
    a beat between knots is off by the source's own tempo drift within the span (a few ms at
    most)."""
    src = np.asarray(track.src_beats_s)
    out = np.asarray(track.out_beats_s)
    knots = np.asarray(stretch_knots(track))
    ks, ko = src[knots], out[knots]
    f = np.round(np.diff(ks) / np.diff(ko), 7)  # equal spans merge: no change for Rubber Band
    t0 = float(src[0] - pre_s)
    sp = StretchPlan(ks=ks, ko=ko, f=f, t0=t0, n_in=n_in, out_start=0.0, n_out=n_in, sr=sr)
    out_start = sp.out_time(t0)
    n_out = n_in if sp.identity else int(round((sp.out_time(t0 + n_in / sr) - out_start) * sr))
    return StretchPlan(ks=ks, ko=ko, f=f, t0=t0, n_in=n_in, out_start=out_start, n_out=n_out,
                       sr=sr)


def stretch_blocks(pb, y, track: PlannedTrack, sp: StretchPlan):
    """``y`` (a :class:`SectionReader` or an array: the track's section of ``sp.n_in`` frames)
    time-stretched so that its beats land on the planned ones, yielded as consecutive blocks
    of output frames (``sp.n_out`` in all; the first is at output time ``sp.out_start``).

    Rubber Band runs on chunks of CHUNK_BEATS beats (plus CHUNK_MARGIN_S of context either
    side), joined half a beat after a beat (between attacks) with a SEAM_S equal-gain
    crossfade. A block is yielded as soon as no later chunk reaches it: working memory is a
    chunk or two whatever the track's length, and pedalboard's cost, quadratic in the length
    of a call with a varying factor, stays linear."""
    sr = sp.sr
    get = y.get if hasattr(y, "get") else (lambda a, b: y[a:b])
    if sp.identity:
        for a in range(0, sp.n_in, WRITE_BLOCK):
            yield np.array(get(a, min(a + WRITE_BLOCK, sp.n_in)), np.float32)
        return
    src = np.asarray(track.src_beats_s)
    t0, dur, n_out, f, ks = sp.t0, sp.n_in / sr, sp.n_out, sp.f, sp.ks
    n = track.n_beats
    cuts = [(src[b] + src[b + 1]) / 2 for b in range(CHUNK_BEATS, n - CHUNK_BEATS // 4, CHUNK_BEATS)]
    bounds = [t0, *cuts, t0 + dur]
    h = max(1, int(SEAM_S * sr / 2))
    last = len(bounds) - 2
    pend = np.zeros((0, CHANNELS), np.float32)  # output frames pend0.. not yet final
    pend0 = 0
    for c in range(len(bounds) - 1):
        ia = max(0, int(np.floor((bounds[c] - CHUNK_MARGIN_S - t0) * sr))) if c else 0
        ib = min(sp.n_in, int(np.ceil((bounds[c + 1] + CHUNK_MARGIN_S - t0) * sr)))
        s_in = t0 + ia / sr
        edges = np.clip(np.rint((ks[1:-1] - s_in) * sr).astype(np.int64), 0, ib - ia)
        counts = np.diff(np.concatenate([[0], edges, [ib - ia]]))
        factors = np.repeat(f, counts)
        inp = np.ascontiguousarray(get(ia, ib).T)
        zs = pb.time_stretch(inp, sr, factors, high_quality=False).T
        del inp
        o0 = int(round((sp.out_time(s_in) - sp.out_start) * sr))  # output frame of zs[0]
        own_a = 0 if c == 0 else int(round((sp.out_time(bounds[c]) - sp.out_start) * sr))
        own_b = n_out if c == last else int(round((sp.out_time(bounds[c + 1]) - sp.out_start)
                                                  * sr))
        lo_i = max(pend0, own_a - h if c else 0, o0)
        hi_i = min(n_out, own_b + h if c < last else n_out, o0 + len(zs))
        if hi_i > lo_i:
            if pend0 + len(pend) < hi_i:
                pend = np.concatenate([pend, np.zeros((hi_i - pend0 - len(pend), CHANNELS),
                                                      np.float32)])
            part = zs[lo_i - o0:hi_i - o0]  # a view: the seams are weighted in place
            if c > 0:  # fade in over the seam around own_a
                k = min(len(part), own_a + h - lo_i)
                if k > 0:
                    idx = np.arange(lo_i, lo_i + k)
                    part[:k] *= np.clip((idx - (own_a - h)) / (2 * h), 0, 1)[:, None]
            if c < last:  # fade out over the seam around own_b
                k0 = max(0, own_b - h - lo_i)
                if k0 < len(part):
                    idx = np.arange(lo_i + k0, hi_i)
                    part[k0:] *= np.clip(((own_b + h) - idx) / (2 * h), 0, 1)[:, None]
            pend[lo_i - pend0:hi_i - pend0] += part
            del part, zs
        final = n_out if c == last else max(pend0, min(n_out, own_b - h))
        if final > pend0:  # no later chunk reaches before own_b - h
            if pend0 + len(pend) < final:
                pend = np.concatenate([pend, np.zeros((final - pend0 - len(pend), CHANNELS),
                                                      np.float32)])
            yield pend[:final - pend0]
            pend = pend[final - pend0:].copy()
            pend0 = final


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


#: Bytes per output frame in a piece file.
FRAME_BYTES = CHANNELS * 4


def _layout(track: PlannedTrack, start: int, n_out: int, sr: int, is_last: bool
            ) -> tuple[int, int, list[tuple[int, int]]]:
    """Where a track's ``n_out`` stretched frames (the first at mix frame ``start``) are heard:
    (first, last) audible frame span, and the spans where the lows' gain differs from the
    highs' (the bass swaps, with SWAP_MARGIN_S either side for the filter, merged and clipped
    to first..last). Pure: known from the plan before any audio is made."""
    first, last = n_out, 0
    regions: list[list[int]] = []
    for i in range(0, n_out, WRITE_BLOCK):
        hi, lo = _envelopes(track, start + i, min(WRITE_BLOCK, n_out - i), sr, is_last)
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
    if last <= first:
        return 0, 0, []
    margin = int(SWAP_MARGIN_S * sr)
    spans: list[tuple[int, int]] = []
    for a0, b0 in regions:
        a, b = max(first, a0 - margin), min(last, b0 + margin)
        if b <= a:
            continue
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return first, last, spans


def _read(fh, frame: int, n: int) -> np.ndarray:
    """``n`` frames of a piece file from ``frame``."""
    buf = np.empty((n, CHANNELS), np.float32)
    fh.seek(frame * FRAME_BYTES)
    got = fh.readinto(memoryview(buf).cast("B"))
    if got != n * FRAME_BYTES:
        raise OSError(f"piece file ended early ({got} of {n * FRAME_BYTES} bytes)")
    return buf


def _write(fh, frame: int, y: np.ndarray) -> None:
    fh.seek(frame * FRAME_BYTES)
    fh.write(np.ascontiguousarray(y, np.float32).tobytes())


def _limit_file(fh, frames: int, sr: int, gain: float, ceiling_db: float
                ) -> tuple[float | None, float]:
    """Gain then limit the piece file in place, a block at a time (the limiter's output lags
    its input, so a write never overtakes a read). Returns (loudness after, most limited dB)."""
    from ..loudness import LoudnessMeter

    lim = TruePeakLimiter(sr, CHANNELS, ceiling_db=ceiling_db)
    meter = LoudnessMeter(sr, CHANNELS)
    g = np.float32(gain)
    w = 0
    for a in range(0, frames, WRITE_BLOCK):
        out = lim.process(_read(fh, a, min(WRITE_BLOCK, frames - a)) * g)
        if len(out):
            meter.update(out)
            _write(fh, w, out)
            w += len(out)
    out = lim.flush()
    if len(out):
        meter.update(out)
        _write(fh, w, out)
    return meter.integrated(), lim.min_gain_db


def _shape_file(fh, track: PlannedTrack, start: int, first: int, last: int,
                spans: list[tuple[int, int]], sr: int, is_last: bool, gain: float) -> None:
    """Apply a scalar gain, the fades and the bass swaps to the piece file in place: blocks
    of WRITE_BLOCK frames, each bass-swap span whole (its lows are filtered without a seam)."""
    g = np.float32(gain)
    segments: list[tuple[int, int, bool]] = []
    pos = first
    for a, b in spans:
        segments += [(i, min(i + WRITE_BLOCK, a), False) for i in range(pos, a, WRITE_BLOCK)]
        segments.append((a, b, True))
        pos = b
    segments += [(i, min(i + WRITE_BLOCK, last), False) for i in range(pos, last, WRITE_BLOCK)]
    for a, b, swap in segments:
        y = _read(fh, a - first, b - a) * g
        hi, lo = _envelopes(track, start + a, b - a, sr, is_last)
        if swap:
            y = y * hi[:, None] + _lowpass(y, sr) * (lo - hi)[:, None]
        else:
            y *= hi[:, None]
        _write(fh, a - first, y)


def render_piece(track: PlannedTrack, index: int, *, is_last: bool, sr: int, lufs: float,
                 ceiling_db: float, folder: str) -> PieceInfo:
    """Decode, stretch, normalise and fade one planned track into a file of raw float32
    frames in ``folder``, streamed in passes over that file (working memory does not grow with
    the track's length):

    1. decode and stretch chunk by chunk, writing only the frames that will be heard and
       metering their loudness and sample peak;
    2. when the gain to the target would bring peaks near the ceiling: gain and true-peak limit
       in place, metering the loudness again (what the limiter took is given back as gain, up
       to MAX_MAKEUP_DB: the master limiter holds the few peaks that then pass);
    3. the remaining gain, the crossfades and the bass swaps, in place."""
    from ..loudness import LoudnessMeter

    pb = _pedalboard()
    src = track.src_beats_s
    reader = SectionReader(track.path, int(math.floor((src[0] - PRE_S) * sr)),
                           int(math.ceil((src[-1] + PRE_S) * sr)), sr)
    sp = stretch_plan(track, sr, (src[0] * sr - reader.first) / sr, len(reader))
    start = int(round(sp.out_start * sr))
    first, last, spans = _layout(track, start, sp.n_out, sr, is_last)
    file = os.path.join(folder, f"piece-{index:05d}.f32")
    meter = LoudnessMeter(sr, CHANNELS)
    peak = 0.0
    try:
        with open(file, "w+b") as fh:
            z = 0
            for block in stretch_blocks(pb, reader, track, sp):
                lo, hi = max(z, first), min(z + len(block), last)
                for a in range(lo, hi, WRITE_BLOCK):  # small steps: small temporaries
                    part = block[a - z:min(a + WRITE_BLOCK, hi) - z]
                    meter.update(part)
                    peak = max(peak, float(np.abs(part).max()))
                    fh.write(np.ascontiguousarray(part, np.float32).tobytes())
                z += len(block)
                del block
                _trim_heap()
            reader.close()
            before = meter.integrated()
            gain, after, limited, scale = 0.0, before, 0.0, 1.0
            if before is not None:
                gain = lufs - before
                scale = 10 ** (gain / 20)
                after = lufs
                if peak * scale >= 10 ** ((ceiling_db - 3.0) / 20):  # inter-sample peaks near
                    after, limited = _limit_file(fh, last - first, sr, scale, ceiling_db)
                    scale = 1.0
                    if after is not None and after < lufs - LOUDNESS_TOLERANCE_LU:
                        extra = min(lufs - after, MAX_MAKEUP_DB)
                        scale = 10 ** (extra / 20)
                        gain += extra
                        after += extra
            _shape_file(fh, track, start, first, last, spans, sr, is_last, scale)
    finally:
        reader.close()
    return PieceInfo(index=index, file=file, start=start + first, frames=last - first,
                     gain_db=gain, source_lufs=before, lufs=after, limited_db=limited)


# --------------------------------------------------------------------------- the mix

def _render_task(args):
    track, index, is_last, sr, lufs, ceiling_db, folder = args
    return render_piece(track, index, is_last=is_last, sr=sr, lufs=lufs, ceiling_db=ceiling_db,
                        folder=folder)


def _pieces(plan: MixPlan, *, sr: int, lufs: float, ceiling_db: float, folder: str, jobs: int):
    """PieceInfo of every track, in order, made by ``jobs`` processes (at most jobs + 1 ahead
    of the one being mixed).

    Processes, not threads: pedalboard's time_stretch holds the GIL (measured: two threads
    take as long as one after the other). They are started with "spawn", so a worker imports
    only what rendering needs; a forkserver started by this command would preload its main
    module (the CLI) and stay resident beside the workers. Closing the generator (or Ctrl-C)
    cancels the pieces not started and stops the workers."""
    n = len(plan.tracks)
    tasks = [(t, i, i == n - 1, sr, lufs, ceiling_db, folder) for i, t in enumerate(plan.tracks)]
    if jobs <= 1 or n <= 1:
        for task in tasks:
            yield _render_task(task)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=min(jobs, n), mp_context=mp.get_context("spawn"))
    try:
        pending = [pool.submit(_render_task, tasks[i]) for i in range(min(n, jobs + 1))]
        nxt = len(pending)
        while pending:
            fut = pending.pop(0)
            if nxt < n:
                pending.append(pool.submit(_render_task, tasks[nxt]))
                nxt += 1
            yield fut.result()
    except BaseException:
        # Ctrl-C, an error, or the mix closing this generator: stop the workers now. (A worker
        # that got Ctrl-C too reports it as its piece's result and goes on to the next piece
        # queued: waiting for them took 14 s on a 10-minute mix.)
        procs = getattr(pool, "_processes", None)  # no public way before Python 3.14
        workers = list(procs.values()) if isinstance(procs, dict) else []
        pool.shutdown(wait=False, cancel_futures=True)
        for w in workers:
            w.terminate()
        for w in workers:
            w.join(timeout=5)
        raise
    else:
        pool.shutdown(wait=True)


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
            pieces = _pieces(plan, sr=sr, lufs=lufs, ceiling_db=inner_ceiling, folder=work,
                             jobs=jobs)
            try:  # the pieces in progress stop before their folder goes
                for k, info in enumerate(pieces):
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
            finally:
                pieces.close()
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
