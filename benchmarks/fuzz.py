"""Fuzz `tempo scan` with damaged audio files: every file must end analysed or as one named error.

From small fixtures of every format (WAV, FLAC, OGG/Vorbis, Opus, MP3, M4A, AIFF, each with tags),
``--files N`` mutated files are made (seeded): bit flips, truncations at random points, zeroed
and duplicated chunks, garbage in the header, absurd sample rates and channel counts, corrupt
chunk/box/frame sizes, huge or malformed ID3/Vorbis/MP4 tag blocks. They are scanned by the real
command line, ``tempo scan --jobs 2`` and ``--jobs 1`` (each with its own cache), then every
file's outcome is read back with ``tempo analyze --json``. The run fails (exit 1) when:

- a ``tempo`` process exits with an unexpected status or prints a Python traceback (a crash);
- a scan runs past its bound (files x per-file ``--timeout`` / jobs + start-up): a hang;
- a file ends neither analysed nor as one named error, or as kind "internal" (an exception
  tempo did not expect: a bug to fix);
- a cache fails ``PRAGMA integrity_check``.

Worker deaths (kind "crash", a C decoder dying), timeouts and the per-worker memory ceiling
("memory", ``--memory-limit``) are named, per-file outcomes: counted in the table, not failures.

Usage::

    python benchmarks/fuzz.py --files 1000 --seed 1 [--timeout 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMATS = ("wav", "flac", "ogg", "opus", "mp3", "m4a", "aiff")
#: Outcome columns of the table, in order.
KINDS = ("analysed", "warned", "decode", "empty", "analysis", "timeout", "crash", "memory",
         "internal", "other")
#: Kinds that are a finding to fix (an unexpected exception inside tempo).
BUG_KINDS = ("internal",)


# -- fixtures -----------------------------------------------------------------------------------

def _drums(seconds: float, sr: int, channels: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    y = 0.02 * rng.standard_normal(n)
    beat = int(sr * 60 / 124)
    t = np.arange(int(0.08 * sr)) / sr
    kick = np.sin(2 * np.pi * 60 * t) * np.exp(-t * 40)
    hat = rng.standard_normal(int(0.02 * sr)) * np.exp(-np.arange(int(0.02 * sr)) / (0.004 * sr))
    for i, at in enumerate(range(0, n - len(kick), beat // 2)):
        if i % 2 == 0:
            y[at:at + len(kick)] += 0.8 * kick
        y[at:at + len(hat)] += 0.2 * hat
    y = (0.7 * y / np.max(np.abs(y))).astype(np.float32)
    return np.stack([y, 0.9 * y], axis=1) if channels == 2 else y


def make_fixtures(folder: str, *, seconds: float = 5.0, seed: int = 0) -> dict[str, str]:
    """One small tagged file per format: {format: path}."""
    import soundfile as sf

    os.makedirs(folder, exist_ok=True)
    specs = {"wav": (44100, 2), "flac": (22050, 1), "ogg": (22050, 2), "opus": (48000, 2),
             "mp3": (22050, 2), "m4a": (22050, 2), "aiff": (16000, 1)}
    out = {}
    for i, (fmt, (sr, ch)) in enumerate(specs.items()):
        y = _drums(seconds, sr, ch, seed + i)
        path = os.path.join(folder, f"fixture.{fmt}")
        if fmt in ("wav", "flac", "aiff"):
            sf.write(path, y, sr, subtype="PCM_16")
        elif fmt == "ogg":
            sf.write(path, y, sr, format="OGG", subtype="VORBIS")
        elif fmt == "opus":
            sf.write(path, y, sr, format="OGG", subtype="OPUS")
        elif fmt == "mp3":
            sf.write(path, y, sr, format="MP3", subtype="MPEG_LAYER_III")
        else:
            _write_m4a(path, y, sr)
        _tag(path, fmt)
        out[fmt] = path
    return out


def _write_m4a(path: str, y, sr: int) -> None:
    import av
    import numpy as np

    planar = (y[None, :] if y.ndim == 1 else y.T).astype(np.float32)
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    with av.open(path, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=sr, layout=layout)
        stream.bit_rate = 48000
        for i in range(0, planar.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar[:, i:i + 1024]),
                                               format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _tag(path: str, fmt: str) -> None:
    import mutagen

    if fmt in ("wav", "aiff"):
        from mutagen.id3 import TBPM, TIT2, TPE1

        f = mutagen.File(path)
        f.add_tags()
        f.tags.add(TIT2(encoding=3, text=["Fuzz Title"]))
        f.tags.add(TPE1(encoding=3, text=["Fuzz Artist"]))
        f.tags.add(TBPM(encoding=0, text=["124"]))
        f.save()
        return
    f = mutagen.File(path, easy=True)
    if f.tags is None:
        f.add_tags()
    f["title"], f["artist"], f["album"] = "Fuzz Title", "Fuzz Artist", "Fuzz Album"
    f.save()


# -- helpers for format-aware mutations ------------------------------------------------------------

ABSURD_U32 = (0, 1, 3, 255, 65535, 0x7FFFFFFF, 0xFFFFFFFF, 192000 * 1000, 4_000_000_000)
ABSURD_U16 = (0, 1, 255, 256, 4096, 65535)

_CRC_TABLE = []
for _i in range(256):
    _r = _i << 24
    for _ in range(8):
        _r = ((_r << 1) ^ 0x04C11DB7) if _r & 0x80000000 else (_r << 1)
    _CRC_TABLE.append(_r & 0xFFFFFFFF)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for b in page:
        crc = ((crc << 8) ^ _CRC_TABLE[((crc >> 24) & 0xFF) ^ b]) & 0xFFFFFFFF
    return crc


def _ogg_pages(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each well-formed Ogg page."""
    pages, pos = [], 0
    while True:
        pos = data.find(b"OggS", pos)
        if pos < 0 or pos + 27 > len(data):
            return pages
        nseg = data[pos + 26]
        if pos + 27 + nseg > len(data):
            return pages
        body = sum(data[pos + 27:pos + 27 + nseg])
        end = pos + 27 + nseg + body
        pages.append((pos, min(end, len(data))))
        pos = max(end, pos + 4)


def _ogg_fix_crcs(data: bytearray) -> None:
    """Recompute every page's CRC, so a mutation reaches the decoder instead of being dropped
    as a damaged page."""
    for start, end in _ogg_pages(bytes(data)):
        data[start + 22:start + 26] = b"\0\0\0\0"
        data[start + 22:start + 26] = struct.pack("<I", _ogg_crc(bytes(data[start:end])))


def _riff_chunks(data: bytes, big: bool) -> list[tuple[bytes, int]]:
    """(id, offset of the chunk header) of the top-level chunks of a RIFF or AIFF file."""
    out, pos, fmt = [], 12, ">I" if big else "<I"
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack(fmt, data[pos + 4:pos + 8])[0]
        out.append((cid, pos))
        pos += 8 + size + (size & 1)
    return out


def _mp4_boxes(data: bytes) -> list[tuple[bytes, int]]:
    """(type, offset) of every MP4 box found by walking the container boxes."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf"}
    out = []

    def walk(start: int, end: int) -> None:
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if size < 8 or pos + size > end:
                return
            out.append((kind, pos))
            if kind in containers:
                walk(pos + 8, pos + size)
            elif kind == b"meta":
                walk(pos + 12, pos + size)
            elif kind == b"stsd":
                walk(pos + 16, pos + size)
            pos += size

    walk(0, len(data))
    return out


def _mp3_frames(data: bytes, limit: int = 400) -> list[int]:
    """Offsets of MPEG audio frame headers (sync word and a sane-looking header)."""
    out, pos = [], 0
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        s = data[6:10]
        start = 10 + ((s[0] << 21) | (s[1] << 14) | (s[2] << 7) | s[3])
    pos = start
    while len(out) < limit:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 4 > len(data):
            break
        if data[pos + 1] & 0xE0 == 0xE0 and (data[pos + 2] >> 4) not in (0, 15):
            out.append(pos)
            pos += 4
        else:
            pos += 1
    return out


def _put(data: bytearray, at: int, fmt: str, value: int) -> None:
    size = struct.calcsize(fmt)
    if 0 <= at and at + size <= len(data):
        data[at:at + size] = struct.pack(fmt, value & ((1 << (8 * size)) - 1))


# -- the mutations: (data, format, rng) -> bytes -----------------------------------------------------

def bit_flips(data: bytes, fmt: str, rng: random.Random) -> bytes:
    out = bytearray(data)
    span = min(len(out), 4096) if rng.random() < 0.5 else len(out)
    for _ in range(rng.randint(1, 64)):
        i = rng.randrange(span)
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(data: bytes, fmt: str, rng: random.Random) -> bytes:
    cut = rng.randrange(1, len(data)) if rng.random() < 0.7 else rng.randrange(1, min(len(data), 8192))
    return data[:cut]


def zero_chunk(data: bytes, fmt: str, rng: random.Random) -> bytes:
    out = bytearray(data)
    n = rng.choice((16, 256, 4096, 32768))
    at = rng.randrange(len(out))
    out[at:at + n] = bytes(min(n, len(out) - at))
    return bytes(out)


def dup_chunk(data: bytes, fmt: str, rng: random.Random) -> bytes:
    n = rng.choice((16, 512, 4096, 65536))
    src = rng.randrange(len(data))
    dst = rng.randrange(len(data))
    return data[:dst] + data[src:src + n] + data[dst:]


def header_garbage(data: bytes, fmt: str, rng: random.Random) -> bytes:
    out = bytearray(data)
    span = min(len(out), rng.choice((64, 256, 1024)))
    for _ in range(rng.randint(1, 16)):
        out[rng.randrange(span)] = rng.randrange(256)
    return bytes(out)


def absurd_format(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Absurd sample rates and channel counts where the container keeps them."""
    out = bytearray(data)
    rate, chans = rng.choice(ABSURD_U32), rng.choice(ABSURD_U16)
    if fmt == "wav":
        for cid, pos in _riff_chunks(data, big=False):
            if cid == b"fmt ":
                what = rng.randrange(4)
                if what in (0, 3):
                    _put(out, pos + 10, "<H", chans)
                if what in (1, 3):
                    _put(out, pos + 12, "<I", rate)
                if what == 2:
                    _put(out, pos + 20, "<H", rng.choice(ABSURD_U16))  # block align
                    _put(out, pos + 22, "<H", rng.choice(ABSURD_U16))  # bits per sample
    elif fmt == "aiff":
        for cid, pos in _riff_chunks(data, big=True):
            if cid == b"COMM":
                if rng.random() < 0.5:
                    _put(out, pos + 8, ">H", chans)
                else:  # the 80-bit float rate: exponent and mantissa at random
                    out[pos + 16:pos + 26] = bytes(rng.randrange(256) for _ in range(10))
    elif fmt == "flac":
        # STREAMINFO: 20 bits rate, 3 bits channels-1, 5 bits bits-1, 36 bits total samples
        for i in range(18, 26):
            if rng.random() < 0.5:
                out[i] = rng.randrange(256)
    elif fmt in ("ogg", "opus"):
        magic = b"\x01vorbis" if fmt == "ogg" else b"OpusHead"
        at = data.find(magic)
        if at >= 0:
            if fmt == "ogg":
                out[at + 11] = chans & 0xFF
                _put(out, at + 12, "<I", rate)
            else:
                out[at + 9] = chans & 0xFF
                _put(out, at + 12, "<I", rate)
                if rng.random() < 0.3:
                    out[at + 18] = rng.choice((1, 255))  # channel mapping family
            _ogg_fix_crcs(out)
    elif fmt == "mp3":
        for pos in _mp3_frames(data):
            if rng.random() < 0.3:
                out[pos + 2] = (out[pos + 2] & 0xF3) | (rng.randrange(4) << 2)  # rate index
                out[pos + 3] = (out[pos + 3] & 0x3F) | (rng.randrange(4) << 6)  # channel mode
    elif fmt == "m4a":
        for kind, pos in _mp4_boxes(data):
            if kind == b"mp4a":
                _put(out, pos + 24, ">H", chans)
                _put(out, pos + 32, ">I", rate << 16 if rate < 65536 else rate)
            elif kind == b"mdhd" and rng.random() < 0.5:
                _put(out, pos + 20, ">I", rng.choice(ABSURD_U32))  # timescale (version 0)
            elif kind == b"esds" and rng.random() < 0.5:  # AudioSpecificConfig rate/channels
                at = data.find(b"\x05", pos + 12, pos + 64)
                if at > 0 and at + 3 < len(out):
                    out[at + 2] = rng.randrange(256)
                    out[at + 3] = rng.randrange(256)
    return bytes(out)


def bad_sizes(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Chunk, box, block, page and frame sizes that lie."""
    out = bytearray(data)
    lie = rng.choice(ABSURD_U32 + (len(data) * 2, len(data) // 3))
    if fmt in ("wav", "aiff"):
        big = fmt == "aiff"
        chunks = _riff_chunks(data, big=big)
        _put(out, 4, ">I" if big else "<I", lie if rng.random() < 0.5 else len(data))
        if chunks:
            _, pos = rng.choice(chunks)
            _put(out, pos + 4, ">I" if big else "<I", rng.choice(ABSURD_U32))
    elif fmt == "flac":
        pos = 4
        blocks = []
        while pos + 4 <= len(data):
            blocks.append(pos)
            last = data[pos] & 0x80
            pos += 4 + int.from_bytes(data[pos + 1:pos + 4], "big")
            if last:
                break
        at = rng.choice(blocks)
        out[at + 1:at + 4] = rng.randrange(1 << 24).to_bytes(3, "big")
        if rng.random() < 0.5:  # frame headers: block size and sample rate codes
            for i in range(pos, len(out) - 4):
                if out[i] == 0xFF and out[i + 1] in (0xF8, 0xF9) and rng.random() < 0.2:
                    out[i + 2] = rng.randrange(256)
    elif fmt in ("ogg", "opus"):
        pages = _ogg_pages(data)
        for start, _ in rng.sample(pages, min(len(pages), rng.randint(1, 4))):
            nseg = out[start + 26]
            if nseg and rng.random() < 0.5:
                out[start + 27 + rng.randrange(nseg)] = rng.randrange(256)
            else:
                out[start + 26] = rng.randrange(256)
        _ogg_fix_crcs(out)
    elif fmt == "mp3":
        for pos in _mp3_frames(data):
            if rng.random() < 0.2:
                out[pos + 2] = (out[pos + 2] & 0x0F) | (rng.choice((0, 15, rng.randrange(16))) << 4)
    elif fmt == "m4a":
        boxes = _mp4_boxes(data)
        for kind, pos in rng.sample(boxes, min(len(boxes), rng.randint(1, 3))):
            _put(out, pos, ">I", rng.choice((0, 1, 7, 8, lie)))
        for kind, pos in boxes:  # sample sizes and chunk offsets of the sample tables
            if kind in (b"stsz", b"stco", b"stsc", b"stts") and rng.random() < 0.5:
                for _ in range(rng.randint(1, 8)):
                    _put(out, pos + 16 + 4 * rng.randrange(8), ">I", rng.choice(ABSURD_U32))
    return bytes(out)


def bad_tags(data: bytes, fmt: str, rng: random.Random) -> bytes:
    """Huge or malformed tag blocks: ID3v2, Vorbis comments, MP4 ilst."""
    what = rng.randrange(3)
    if fmt in ("mp3", "wav", "aiff"):
        if what == 0:  # an ID3v2 header that declares ~256 MB
            tag = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"TIT2\x7f\x7f\x7f\x7f\x00\x00\x03huge"
        elif what == 1:  # a real 2 MB frame
            body = b"\x03" + b"x" * (2 * 1024 * 1024)
            size = len(body)
            ss = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
            total = size + 10
            ts = bytes([(total >> 21) & 0x7F, (total >> 14) & 0x7F, (total >> 7) & 0x7F, total & 0x7F])
            tag = b"ID3\x04\x00\x00" + ts + b"TXXX" + ss + b"\x00\x00" + body
        else:  # frames whose sizes run past the tag
            tag = b"ID3\x03\x00\x00\x00\x00\x01\x00" + b"TBPM\xff\xff\xff\xff\x00\x00" + os.urandom(100)
        if fmt == "mp3":
            return tag + data
        big = fmt == "aiff"
        chunk = b"id3 " if fmt == "wav" else b"ID3 "
        size = struct.pack(">I" if big else "<I", len(tag) if what != 0 else 0xFFFFFFF0)
        out = bytearray(data + chunk + size + tag)
        _put(out, 4, ">I" if big else "<I", len(out) - 8)
        return bytes(out)
    out = bytearray(data)
    if fmt == "flac":
        pos = 4
        while pos + 4 <= len(data):
            kind, last = data[pos] & 0x7F, data[pos] & 0x80
            length = int.from_bytes(data[pos + 1:pos + 4], "big")
            if kind == 4:  # VORBIS_COMMENT: vendor length, count
                if what == 0:
                    out[pos + 1:pos + 4] = b"\xff\xff\xff"
                else:
                    _put(out, pos + 4 if what == 1 else pos + 8 + int.from_bytes(
                        data[pos + 4:pos + 8], "little"), "<I", 0xFFFFFFFF)
                return bytes(out)
            pos += 4 + length
            if last:
                break
        return bytes(out)
    if fmt in ("ogg", "opus"):
        magic = b"\x03vorbis" if fmt == "ogg" else b"OpusTags"
        at = data.find(magic)
        if at >= 0:
            base = at + len(magic)  # the vendor string's length, then the string, then the count
            vendor = struct.unpack("<I", data[base:base + 4])[0] if base + 4 <= len(data) else 0
            if what == 0:
                _put(out, base, "<I", 0xFFFFFFFF)  # vendor string length
            else:
                _put(out, base + 4 + vendor, "<I", 0xFFFFFFFF if what == 1 else 0x7FFFFFFF)
            _ogg_fix_crcs(out)
        return bytes(out)
    if fmt == "m4a":
        for kind, pos in _mp4_boxes(data):
            if kind in (b"ilst", b"meta", b"udta") and rng.random() < 0.7:
                _put(out, pos, ">I", rng.choice((0xFFFFFFF0, 9, 1, 0)))
                return bytes(out)
        # no tag box found: append a udta whose meta claims 2 GB
        return data + struct.pack(">I4sI4s", 24, b"udta", 0x7FFFFFFF, b"meta") + b"\0" * 8
    return data


MUTATIONS = {
    "bit_flips": bit_flips,
    "truncate": truncate,
    "zero_chunk": zero_chunk,
    "dup_chunk": dup_chunk,
    "header_garbage": header_garbage,
    "absurd_format": absurd_format,
    "bad_sizes": bad_sizes,
    "bad_tags": bad_tags,
}


def make_mutants(fixtures: dict[str, str], folder: str, n: int, seed: int) -> dict[str, tuple[str, str]]:
    """``n`` mutated files in ``folder``: {path: (mutation, format)}; formats and mutations in
    turn (every pair covered once n >= 56), the details drawn from ``seed``."""
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(seed)
    originals = {fmt: open(path, "rb").read() for fmt, path in fixtures.items()}
    names = list(MUTATIONS)
    manifest = {}
    for i in range(n):
        fmt = FORMATS[i % len(FORMATS)]
        mutation = names[(i // len(FORMATS)) % len(names)]
        data = MUTATIONS[mutation](originals[fmt], fmt, rng) or originals[fmt][:1]
        path = os.path.join(folder, f"{i:05d}_{mutation}.{fmt}")
        with open(path, "wb") as fh:
            fh.write(data)
        manifest[path] = (mutation, fmt)
    return manifest


# -- running tempo ------------------------------------------------------------------------------

def _tempo(args: list[str], *, bound_s: float) -> tuple[int | None, str, str, float]:
    """Run ``python -m tempo ARGS``: (exit status or None on a hang, stdout, stderr, seconds)."""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "tempo", *args], capture_output=True,
                              text=True, errors="replace", timeout=bound_s, env=env)
    except subprocess.TimeoutExpired as err:
        out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
        return None, out, "", time.perf_counter() - t0
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - t0


def _integrity(db: str) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _outcome(row: dict) -> str:
    if "error" in row:
        kind = row["error"].get("kind", "other")
        return kind if kind in KINDS else "other"
    return "warned" if row.get("warnings") else "analysed"


def fuzz(n: int, seed: int, *, timeout_s: float = 20.0, memory_limit_mb: int | None = None,
         jobs_list=(2, 1), workdir: str | None = None, seconds: float = 5.0, log=print) -> dict:
    """Make ``n`` mutants of ``seconds``-long fixtures and scan them with each of ``jobs_list``;
    returns the report (``problems`` empty when tempo held up)."""
    work = workdir or tempfile.mkdtemp(prefix="tempo-fuzz-")
    fixtures = make_fixtures(os.path.join(work, "fixtures"), seconds=seconds, seed=seed)
    folder = os.path.join(work, "mutants")
    manifest = make_mutants(fixtures, folder, n, seed)
    problems: list[str] = []
    runs = {}
    limit = [] if memory_limit_mb is None else ["--memory-limit", str(memory_limit_mb)]
    for jobs in jobs_list:
        db = os.path.join(work, f"cache-j{jobs}.sqlite")
        bound = 120 + timeout_s * n / jobs
        common = ["--db", db, "--jobs", str(jobs), "--timeout", f"{timeout_s:g}", *limit, "-q"]
        code, out, err, secs = _tempo(["scan", folder, "--json", *common], bound_s=bound)
        if code is None:
            problems.append(f"jobs {jobs}: tempo scan hung (over {bound:.0f} s)")
            continue
        if code != 0 or "Traceback" in err:
            problems.append(f"jobs {jobs}: tempo scan exited {code}: {err.strip()[-800:]}")
            continue
        summary = json.loads(out)
        code, out, err, _ = _tempo(["analyze", folder, "--json", *common], bound_s=bound)
        if code is None or code not in (0, 1) or "Traceback" in err:
            problems.append(f"jobs {jobs}: tempo analyze exited {code}: {err.strip()[-800:]}")
            continue
        rows = {}
        for line in out.splitlines():
            row = json.loads(line)
            rows[row["path"]] = row
        missing = sorted(set(manifest) - set(rows))
        if missing:
            problems.append(f"jobs {jobs}: {len(missing)} files without an outcome, e.g. {missing[0]}")
        for path, row in rows.items():
            if _outcome(row) in BUG_KINDS:
                problems.append(f"jobs {jobs}: {os.path.basename(path)}: {row['error']['message']}")
        check = _integrity(db)
        if check != "ok":
            problems.append(f"jobs {jobs}: cache integrity_check: {check}")
        runs[jobs] = {"summary": summary, "seconds": secs, "rows": rows, "integrity": check}
        log(f"jobs {jobs}: scanned {summary['found']} files in {secs:.1f} s "
            f"({summary['analysed']} analysed, {summary['failed']} failed); integrity {check}")
    if len(runs) == 2:  # the same verdict with one worker and with two (timeouts aside)
        a, b = (runs[j]["rows"] for j in jobs_list)
        differ = [p for p in manifest if p in a and p in b and ("error" in a[p]) != ("error" in b[p])
                  and not {_outcome(a[p]), _outcome(b[p])} & {"timeout", "crash", "memory"}]
        if differ:
            problems.append(f"{len(differ)} files analysed with one --jobs and failed with the other, "
                            f"e.g. {os.path.basename(differ[0])}")
    first = runs.get(jobs_list[0], {}).get("rows", {})
    table = collections.Counter()
    for path, (mutation, fmt) in manifest.items():
        kind = _outcome(first[path]) if path in first else "other"
        table[(mutation, fmt, kind)] += 1
    return {"manifest": manifest, "runs": runs, "problems": problems, "table": table,
            "workdir": work}


def format_table(table: collections.Counter, manifest: dict) -> str:
    """Outcomes by mutation, then by format: counts per kind."""
    lines = []
    for title, index, keys in (("mutation", 0, list(MUTATIONS)), ("format", 1, list(FORMATS))):
        used = [k for k in KINDS if any(c and key[2] == k for key, c in table.items())]
        lines.append(f"{title:<15}" + "".join(f"{k:>10}" for k in used) + f"{'files':>8}")
        for name in keys:
            counts = [sum(c for key, c in table.items() if key[index] == name and key[2] == k)
                      for k in used]
            lines.append(f"{name:<15}" + "".join(f"{c:>10}" for c in counts) + f"{sum(counts):>8}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, help="mutated files to make")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20.0, help="tempo's --timeout per file (s)")
    parser.add_argument("--memory-limit", type=int, default=None, help="tempo's --memory-limit (MB)")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    work = args.keep or tempfile.mkdtemp(prefix="tempo-fuzz-")
    t0 = time.perf_counter()
    report = fuzz(args.files, args.seed, timeout_s=args.timeout, memory_limit_mb=args.memory_limit,
                  workdir=work)
    print()
    print(format_table(report["table"], report["manifest"]))
    for p in report["problems"]:
        print("PROBLEM:", p)
    print(f"{args.files} files, seed {args.seed}: {len(report['problems'])} problems "
          f"in {time.perf_counter() - t0:.0f} s")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
