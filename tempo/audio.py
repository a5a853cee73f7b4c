"""Decoding: the only module that opens audio files.

Conventions
-----------
- Samples are float32 in [-1, 1]; multichannel blocks have shape ``(frames, channels)``, mono
  blocks shape ``(frames,)``.
- Decoding streams: blocks of about ``BLOCK_S`` seconds, so memory stays bounded for a 3-hour
  DJ mix. Nothing here holds a whole file.
- Two decoders, the faster one first for each format, the other as fallback: soundfile
  (libsndfile) for WAV, FLAC, MP3, AIFF and friends; PyAV (FFmpeg) for OGG/Vorbis and Opus
  and for everything libsndfile lacks (M4A/AAC/ALAC, WMA, WebM, ...).
- Every failure is a :class:`~tempo.errors.DecodeError` (or :class:`EmptyAudioError`) naming the
  file; no decoder exception escapes.
- A file that breaks off (truncated download, corrupt frames) yields what decoded before the
  break; :attr:`AudioStream.stopped` then says why, and :func:`length_warnings` compares the
  decoded length with what the container declares (:attr:`AudioInfo.duration_s`: RIFF/AIFF
  header, FLAC STREAMINFO, MP3 Xing/Info/VBRI header or bitrate, MP4 ``mvhd``). Ogg declares
  no length; its last page shows a cut instead (:func:`ogg_tail_problem`).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import DecodeError, EmptyAudioError
from .models import ANALYSIS_SR

#: Seconds of source audio decoded per block.
BLOCK_S = 8.0
#: Resampling quality for analysis (soxr): onset detection needs no audiophile filter.
RESAMPLE_QUALITY = "LQ"
#: Extensions that PyAV decodes first. Measured per dev-corpus song, decode to (frames,
#: channels) blocks: OGG 48 ms with PyAV vs 62 ms with libsndfile; MP3 70-78 ms with libsndfile
#: vs 90-100 ms with PyAV (its planar frames must be interleaved); WAV 7 vs 14, FLAC 49 vs 56.
#: Re-measured with the block-wise frame gathering (_PendingFrames; median CPU of 10 songs each,
#: busy machine): OGG 128-157 ms libsndfile vs 133-159 ms PyAV, a tie (kept on PyAV: libvorbis
#: and FFmpeg's Vorbis decoder differ in the last bits); MP3 116 vs 187; FLAC 137 vs 143; WAV
#: 26 vs 38.
PYAV_FIRST = (".ogg", ".oga", ".opus")
#: A file is reported truncated when the decoded audio falls short of the declared length by
#: more than both of these (lossy codecs pad or trim a few milliseconds; headers round).
TRUNCATION_MIN_MISSING_S = 1.0
TRUNCATION_MIN_MISSING_FRACTION = 0.02
#: Sample rates and channel counts tempo reads; beyond them a header is taken to be corrupt (a
#: 1 Hz file would be resampled 11,025-fold, a 65,535-channel one metered channel by channel).
MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 64
#: Bytes of a file's start searched for the RIFF/AIFF chunks that declare its length.
HEADER_SCAN_BYTES = 1 << 20
#: Bytes of an Ogg file's end read to check its last page: two of the largest pages (27 header
#: bytes, 255 lacing values, 255 segments of 255 bytes), so at least one whole page precedes
#: the last one.
OGG_TAIL_BYTES = 2 * (27 + 255 + 255 * 255)
#: The Ogg page flag of a logical stream's last page.
OGG_END_OF_STREAM = 0x04


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a file: ``duration_s`` is the length it *declares*
    (0.0 when unknown), which a truncated file does not reach."""

    path: str
    format: str
    sample_rate: int
    channels: int
    duration_s: float
    backend: str


#: libsndfile keeps a file's name in a 1,024-byte buffer and refuses longer paths ("Supplied
#: filename too long"); such files are handed to it as an open file descriptor instead.
SNDFILE_PATH_MAX = 1000


def _soundfile_open(path: str):
    import soundfile as sf

    raw = os.fsencode(path)  # bytes: a name that is not valid UTF-8 (surrogate-escaped) opens too
    if len(raw) < SNDFILE_PATH_MAX:
        try:
            return sf.SoundFile(raw)
        except sf.SoundFileError:
            return None
    try:
        fd = os.open(raw, os.O_RDONLY)
    except OSError:
        return None
    try:
        return sf.SoundFile(fd, closefd=True)
    except (sf.SoundFileError, RuntimeError, TypeError):
        os.close(fd)
        return None


class AudioStream:
    """An open audio file yielding float32 ``(frames, channels)`` blocks at its own rate.

    Use as a context manager: ``with AudioStream(path) as s: for block in s.blocks(): ...``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        try:
            st = os.stat(self.path)
        except OSError as err:
            raise DecodeError(f"cannot read: {err.strerror or err}", path=self.path) from err
        if st.st_size == 0:
            raise EmptyAudioError("empty file (0 bytes)", path=self.path,
                                  hint="re-copy or re-download it")
        try:
            with open(self.path, "rb"):
                pass
        except OSError as err:
            raise DecodeError(f"cannot read: {err.strerror or err}", path=self.path,
                              hint="check the file's permissions") from err
        self._sf = None
        self._av = None
        #: Why decoding ended before the end of the file (None: it did not, as far as we know).
        self.stopped: str | None = None
        if self.path.lower().endswith(PYAV_FIRST):
            try:
                self._open_av()
            except DecodeError:
                if not self._open_sf():
                    raise
        elif not self._open_sf():
            self._open_av()

    def _open_sf(self) -> bool:
        """Open with libsndfile; False when it does not know the format."""
        self._sf = _soundfile_open(self.path)
        if self._sf is None:
            return False
        sf_ = self._sf
        fmt = (sf_.format or "").lower()
        duration_s = float(sf_.frames) / sf_.samplerate if sf_.frames > 0 else 0.0
        if fmt in ("wav", "aiff"):  # libsndfile trims a short data chunk to what is there
            declared = _declared_pcm_frames(self.path)
            if declared:
                duration_s = max(duration_s, declared / sf_.samplerate)
        self.info = AudioInfo(self.path, fmt, int(sf_.samplerate), int(sf_.channels),
                              duration_s, "soundfile")
        self._check_layout()
        return True

    def _open_av(self):
        import av

        try:
            container = av.open(self.path)
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
            raise DecodeError("not a readable audio file", path=self.path,
                              hint=f"the decoder said: {_short(err)}") from err
        try:
            if not container.streams.audio:
                raise DecodeError("no audio stream in the file", path=self.path)
            stream = container.streams.audio[0]
            # a damaged header can leave the stream without a codec context, whose properties
            # then raise AttributeError (PyAV) instead of returning 0
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            channels = int(stream.channels or stream.codec_context.channels or 0)
            if rate <= 0 or channels <= 0:
                raise DecodeError("audio stream has no sample rate or channels", path=self.path)
            duration_s = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            elif container.duration:
                duration_s = container.duration / 1_000_000
            fmt = (stream.codec_context.name or container.format.name or "").lower()
        except (AttributeError, ValueError, TypeError, OverflowError, av.FFmpegError) as err:
            container.close()
            raise DecodeError("not a readable audio file", path=self.path,
                              hint=f"the decoder said: {_short(err)}") from err
        except DecodeError:
            container.close()
            raise
        if not 0.0 <= duration_s < 1e9:  # a corrupt header's negative or absurd length
            duration_s = 0.0
        self._av = container
        self.info = AudioInfo(self.path, fmt, rate, channels, duration_s, "av")
        self._check_layout()

    def _check_layout(self) -> None:
        """Refuse sample rates and channel counts no real file has (a corrupt header), before
        a resampler or meter sizes itself from them."""
        info = self.info
        problem = None
        if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
            problem = (f"unsupported sample rate {info.sample_rate} Hz (tempo reads "
                       f"{MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz)")
        elif not 1 <= info.channels <= MAX_CHANNELS:
            problem = f"unsupported channel count {info.channels} (tempo reads 1 to {MAX_CHANNELS})"
        if problem:
            self.close()
            raise DecodeError(problem, path=self.path, hint="the file's header may be corrupt")

    def __enter__(self) -> "AudioStream":
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._sf is not None:
            self._sf.close()
            self._sf = None
        if self._av is not None:
            self._av.close()
            self._av = None

    def blocks(self, *, block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
        """Yield float32 blocks of shape (frames, channels) until the end of the file.

        A file that breaks off mid-way (truncated download) yields what decoded before the break;
        a file that yields nothing at all raises EmptyAudioError.
        """
        total = 0
        if self._sf is not None:
            try:
                for block in self._sf_blocks(block_s):
                    total += len(block)
                    yield block
            except DecodeError:
                if total:
                    raise
                # libsndfile gave up at once (a FLAC that loses sync, an odd WAV): FFmpeg may
                # still read it, also up to a break further on.
                before = self.info
                self._sf.close()
                self._sf = None
                try:
                    self._open_av()
                except DecodeError:
                    pass
                if self._av is not None and (self.info.sample_rate, self.info.channels) != \
                        (before.sample_rate, before.channels):
                    self.close()  # the callers sized their resampler from the first reading
                if self._av is None:
                    raise
                self.info = AudioInfo(self.path, before.format, before.sample_rate,
                                      before.channels,
                                      max(before.duration_s, self.info.duration_s), "av")
        if self._av is not None:
            for block in self._av_blocks(block_s):
                total += len(block)
                yield block
        if total == 0:
            raise EmptyAudioError("no audio samples could be decoded", path=self.path,
                                  hint="the file is empty, truncated or not audio")
        if self.stopped is None:
            # Ogg declares no length: a cut file decodes to the cut without complaint, and the
            # length FFmpeg reports is read from the last page there is. Its end shows the cut.
            self.stopped = _ogg_end_problem(self.path)

    def _sf_blocks(self, block_s: float) -> Iterator[np.ndarray]:
        import soundfile as sf

        n = max(1024, int(block_s * self.info.sample_rate))
        decoded_any = False
        while True:
            try:
                block = self._sf.read(n, dtype="float32", always_2d=True)
            except (sf.SoundFileError, RuntimeError) as err:
                if decoded_any:  # broke off mid-way: keep what decoded before the break
                    self.stopped = f"the decoder said: {_short(err)}"
                    return
                raise DecodeError("decoding failed", path=self.path,
                                  hint=f"the decoder said: {_short(err)}") from err
            decoded_any = decoded_any or len(block) > 0
            if len(block) == 0:
                return
            yield _finite(block)
            if len(block) < n:
                return

    def _av_blocks(self, block_s: float) -> Iterator[np.ndarray]:
        import av

        channels = self.info.channels
        target = max(1024, int(block_s * self.info.sample_rate))
        pending = _PendingFrames(channels, capacity=target + 8192)
        decoded_any = False
        stream = self._av.streams.audio[0]
        try:
            for frame in self._av.decode(stream):
                if not pending.add(frame):
                    continue
                decoded_any = True
                if pending.frames >= target:
                    yield pending.take()
        except (av.FFmpegError, ValueError) as err:
            # Truncated or partly corrupt: keep what decoded before the break.
            if not decoded_any:
                raise DecodeError("decoding failed", path=self.path,
                                  hint=f"the decoder said: {_short(err)}") from err
            self.stopped = f"the decoder said: {_short(err)}"
        if pending.frames:
            yield pending.take()


#: PyAV sample formats (without the planar "p") read straight from the frame's buffers.
_AV_DTYPES = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "s64": np.int64,
              "flt": np.float32, "dbl": np.float64}


class _PendingFrames:
    """Decoded PyAV frames gathered into one float32 ``(frames, channels)`` block.

    Each frame's samples are copied straight from its planes (``np.frombuffer`` views) into a
    channel-major buffer, one contiguous copy per channel, and the frame is let go at once, so
    FFmpeg reuses its buffers; integer samples are scaled, and the block interleaved, once per
    block. Vorbis and AAC frames hold 576-1024 samples: per-frame conversion (``to_ndarray``,
    transpose, scaling, the finite check) cost more than decoding them. A frame of another
    channel count than the stream's, or of a sample format not in _AV_DTYPES, goes through
    :func:`_frame_to_float` as before.
    """

    def __init__(self, channels: int, capacity: int = 1 << 16):
        self.channels = channels
        self.frames = 0
        self._capacity = max(1024, int(capacity))
        self._buf: np.ndarray | None = None  # (channels, capacity)
        self._runs: list[list] = []  # [start, end, format name]: integer runs to scale

    def add(self, frame) -> bool:
        """Copy a frame's samples in; False when it holds none."""
        n = frame.samples
        if n <= 0:
            return False
        fmt = frame.format.name
        planar = fmt.endswith("p")
        dtype = _AV_DTYPES.get(fmt[:-1] if planar else fmt)
        layout = frame.layout
        frame_channels = getattr(layout, "nb_channels", None)
        if frame_channels is None:  # PyAV before 12
            frame_channels = len(layout.channels)
        if dtype is None or frame_channels != self.channels or not self._copy(frame, dtype,
                                                                              planar, n):
            arr = _frame_to_float(frame.to_ndarray(), fmt, frame.format.is_planar,
                                  self.channels, frame_channels or self.channels)
            if arr.size == 0:
                return False
            n = len(arr)
            self._room(n)[:] = arr.T
        elif dtype not in _FLOAT_DTYPES:
            run = self._runs[-1] if self._runs else None
            if run is not None and run[1] == self.frames and run[2] == fmt:
                run[1] += n
            else:
                self._runs.append([self.frames, self.frames + n, fmt])
        self.frames += n
        return True

    def _copy(self, frame, dtype, planar: bool, n: int) -> bool:
        """Copy the frame's samples in place; False when its planes are not as expected."""
        planes = frame.planes
        ch = self.channels
        try:
            if planar:
                if len(planes) < ch:
                    return False
                views = [np.frombuffer(planes[c], dtype, n) for c in range(ch)]
            else:
                views = np.frombuffer(planes[0], dtype, n * ch).reshape(n, ch).T
        except ValueError:  # a plane shorter than the frame says
            return False
        out = self._room(n)
        for c in range(ch):
            out[c] = views[c]
        return True

    def _room(self, n: int) -> np.ndarray:
        """The next ``n`` columns of the (channels, frames) buffer, growing it when needed."""
        need = self.frames + n
        if self._buf is None:
            self._buf = np.empty((self.channels, max(self._capacity, need)), dtype=np.float32)
        elif need > self._buf.shape[1]:
            grown = np.empty((self.channels, max(2 * self._buf.shape[1], need)), dtype=np.float32)
            grown[:, : self.frames] = self._buf[:, : self.frames]
            self._buf = grown
        return self._buf[:, self.frames:need]

    def take(self) -> np.ndarray:
        """Everything gathered since the last take, as one finite float32 block."""
        if self._buf is None:
            return np.zeros((0, self.channels), dtype=np.float32)
        buf = self._buf[:, : self.frames]
        for start, end, fmt in self._runs:
            _scale_to_unit(buf[:, start:end], fmt)
        block = np.empty((self.frames, self.channels), dtype=np.float32)
        for c in range(self.channels):  # 10x faster than ascontiguousarray(buf.T) for stereo
            block[:, c] = buf[c]
        self._runs = []
        self.frames = 0  # the buffer is reused for the next block
        return _finite(block)


_FLOAT_DTYPES = (np.float32, np.float64)


def _scale_to_unit(out: np.ndarray, fmt: str) -> None:
    """Scale float32 ``out``, holding integer samples of PyAV sample format ``fmt``, to -1..1
    in place (float formats are left as they are)."""
    base = fmt[:-1] if fmt.endswith("p") else fmt
    if base == "u8":
        out -= np.float32(128.0)
        out /= np.float32(128.0)
    elif base in ("s16", "s32", "s64"):
        out /= np.float32(np.iinfo(_AV_DTYPES[base]).max + 1)


def _frame_to_float(arr: np.ndarray, fmt: str, planar: bool, channels: int,
                    frame_channels: int | None = None) -> np.ndarray:
    """PyAV frame array -> float32 (frames, channels). A frame with another channel count than
    the stream declared (a damaged MP3 switching between mono and stereo) is mixed to mono and
    spread over ``channels``, so every block has the stream's shape."""
    frame_channels = frame_channels or channels
    if planar:
        arr = arr.T  # (channels, frames) -> (frames, channels)
    else:
        arr = arr.reshape(-1, frame_channels)
    if arr.shape[1] != channels:
        mono = arr.astype(np.float64).mean(axis=1, keepdims=True).astype(arr.dtype)
        arr = np.repeat(mono, channels, axis=1)
    if arr.dtype.kind == "f":
        out = arr.astype(np.float32, copy=False)
    elif fmt.startswith("u8"):
        out = (arr.astype(np.float32) - 128.0) / 128.0
    else:
        out = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    return _finite(np.ascontiguousarray(out))


def _finite(block: np.ndarray) -> np.ndarray:
    """Replace NaN/inf (broken float files) by 0 so they cannot poison the analysis."""
    if not np.isfinite(block).all():
        block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
    return block


def _declared_pcm_frames(path: str) -> int | None:
    """Sample frames a WAV (RIFF ``data`` chunk) or AIFF (``COMM`` chunk) header declares, read
    from the file's first :data:`HEADER_SCAN_BYTES`; None when absent or unknowable (a streaming
    writer's placeholder size, RF64)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER_SCAN_BYTES)
    except OSError:
        return None
    if len(head) < 12:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        block_align = data_bytes = None
        pos = 12
        while pos + 8 <= len(head):
            cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
            if cid == b"fmt " and pos + 22 <= len(head):
                block_align = struct.unpack("<H", head[pos + 20:pos + 22])[0]
            elif cid == b"data":
                data_bytes = size
                break
            pos += 8 + size + (size & 1)
        if not block_align or not data_bytes or data_bytes in (0xFFFFFFFF, 0x7FFFFFFF):
            return None
        return data_bytes // block_align
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        pos = 12
        while pos + 8 <= len(head):
            cid, size = head[pos:pos + 4], struct.unpack(">I", head[pos + 4:pos + 8])[0]
            if cid == b"COMM" and pos + 14 <= len(head):
                frames = struct.unpack(">I", head[pos + 10:pos + 14])[0]
                return frames or None
            pos += 8 + size + (size & 1)
    return None


def _ogg_end_problem(path: str) -> str | None:
    """Why an Ogg file's end shows it was cut short (:func:`ogg_tail_problem`); None for a
    file that is not Ogg, ends properly, or cannot be read."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"OggS":
                return None
            size = fh.seek(0, os.SEEK_END)
            start = max(0, size - OGG_TAIL_BYTES)
            fh.seek(start)
            tail = fh.read()
    except OSError:
        return None
    return ogg_tail_problem(tail)


def ogg_tail_problem(tail: bytes) -> str | None:
    """What the last bytes of an Ogg file say about its end (pure).

    A finished Ogg file ends with a whole page flagged end-of-stream. Page by page from the
    first page start in ``tail`` that chains (each page's length, from its header and lacing
    values, lands on the next page's ``OggS`` or on the end): None when the chain ends on a
    whole end-of-stream page; a reason when it ends inside a page or on a page without the
    flag (a download or copy that broke off). None as well when no chain of pages is found:
    an ``OggS`` inside the audio data does not chain, so it never makes a false alarm.
    """
    n = len(tail)
    pos = tail.find(b"OggS")
    while pos >= 0:
        at, pages, flags = pos, 0, 0
        verdict = None  # "end" (exactly at the end of the bytes), "cut", or None (no chain)
        while tail[at + 4:at + 5] == b"\x00":  # stream structure version 0
            if at + 27 > n or at + 27 + tail[at + 26] > n:
                verdict = "cut"
                break
            nseg = tail[at + 26]
            end = at + 27 + nseg + sum(tail[at + 27:at + 27 + nseg])
            if end > n:
                verdict = "cut"
                break
            pages, flags = pages + 1, tail[at + 5]
            if end == n:
                verdict = "end"
                break
            rest = tail[end:end + 4]
            if rest != b"OggS":
                if len(rest) < 4 and b"OggS".startswith(rest):
                    verdict = "cut"
                break
            at = end
        if verdict == "end":
            if flags & OGG_END_OF_STREAM:
                return None
            return "the file breaks off: its last Ogg page is not the end of the stream"
        if verdict == "cut" and pages:
            return "the file breaks off in the middle of an Ogg page"
        pos = tail.find(b"OggS", pos + 1)
    return None


def _seconds(x: float) -> str:
    """A length for a message: one decimal below 10 s, whole seconds above."""
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


def length_warnings(decoded_s: float, declared_s: float, *, min_s: float,
                    stopped: str | None = None) -> tuple[str, ...]:
    """What is wrong with the length of the audio that decoded (pure).

    - ``truncated: 0.3 s of 40 s decoded`` when the decoded audio falls short of the length the
      container declares by more than :data:`TRUNCATION_MIN_MISSING_S` and
      :data:`TRUNCATION_MIN_MISSING_FRACTION` of it;
    - ``damaged: decoding stopped after 12 s (...)`` when the decoder broke off and the file
      declares no length (or one that was reached);
    - ``too short: 2.0 s of audio, a tempo needs at least 3 s`` under ``min_s``.
    """
    out = []
    missing = declared_s - decoded_s
    if declared_s > 0 and missing > TRUNCATION_MIN_MISSING_S and \
            missing > TRUNCATION_MIN_MISSING_FRACTION * declared_s:
        out.append(f"truncated: {_seconds(decoded_s)} s of {_seconds(declared_s)} s decoded")
    elif stopped:
        out.append(f"damaged: decoding stopped after {_seconds(decoded_s)} s ({stopped})")
    if decoded_s < min_s:
        out.append(f"too short: {decoded_s:.1f} s of audio, a tempo needs at least {min_s:g} s")
    return tuple(out)


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]


class Resampler:
    """Streaming resampler of a mono (or multichannel) float32 signal to ``out_sr``."""

    def __init__(self, in_sr: int, out_sr: int, *, channels: int = 1,
                 quality: str = RESAMPLE_QUALITY):
        self.passthrough = int(in_sr) == int(out_sr)
        self.channels = channels
        if not self.passthrough:
            import soxr

            self._stream = soxr.ResampleStream(in_sr, out_sr, channels, dtype="float32",
                                               quality=quality)

    def process(self, x: np.ndarray, *, last: bool = False) -> np.ndarray:
        if self.passthrough:
            return x
        return self._stream.resample_chunk(np.ascontiguousarray(x, dtype=np.float32), last=last)

    def flush(self) -> np.ndarray:
        """The resampler's tail; (frames, channels) when it was fed 2-D blocks."""
        empty = np.zeros((0, self.channels) if self.channels > 1 else 0, dtype=np.float32)
        return empty if self.passthrough else self.process(empty, last=True)


def mixdown(block: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) mean of the channels (25x faster than ``mean(axis=1)``
    on interleaved stereo, which reduces along the short axis)."""
    if block.ndim == 1:
        return block
    channels = block.shape[1]
    if channels == 1:
        return block[:, 0]
    if channels == 2:
        return (block[:, 0] + block[:, 1]) * np.float32(0.5)
    return block @ np.full(channels, 1.0 / channels, dtype=np.float32)


def probe(path: str | os.PathLike) -> AudioInfo:
    """Open a file just far enough to read its format, rate, channels and duration."""
    with AudioStream(path) as stream:
        return stream.info


def iter_blocks(path: str | os.PathLike, *, sr: int = ANALYSIS_SR,
                block_s: float = BLOCK_S) -> Iterator[np.ndarray]:
    """Decode ``path`` to mono float32 at ``sr`` Hz, yielded block by block."""
    with AudioStream(path) as stream:
        rs = Resampler(stream.info.sample_rate, sr)
        for block in stream.blocks(block_s=block_s):
            y = rs.process(mixdown(block))
            if len(y):
                yield y
        tail = rs.flush()
        if len(tail):
            yield tail


def load(path: str | os.PathLike, *, sr: int = ANALYSIS_SR) -> np.ndarray:
    """Whole file as mono float32 at ``sr`` (convenience for short files and tests)."""
    blocks = list(iter_blocks(path, sr=sr))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
