"""The fuzz harness's fixed-seed slice (benchmarks/fuzz.py), and the cases it found.

About 100 mutated files of every format go through the real `tempo scan --jobs 2` and
`--jobs 1`: every file must end analysed or as one named error, with no crash, no hang, no
unexpected exception and an intact cache. `python benchmarks/fuzz.py --files 1000` runs more.
"""

from __future__ import annotations

import importlib.util
import os
import struct

import numpy as np
import pytest
import soundfile as sf

import tempo
from tempo.audio import AudioStream

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def fuzz_mod():
    spec = importlib.util.spec_from_file_location("tempo_fuzz", os.path.join(REPO, "benchmarks", "fuzz.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fixed_seed_slice(fuzz_mod, tmp_path):
    report = fuzz_mod.fuzz(112, seed=20261201, timeout_s=30, workdir=str(tmp_path), seconds=4.0,
                           log=lambda *a: None)
    assert report["problems"] == [], report["problems"]
    runs = report["runs"]
    assert set(runs) == {1, 2}
    for run in runs.values():
        assert run["integrity"] == "ok" and run["summary"]["found"] == 112
        assert set(run["rows"]) == set(report["manifest"])
    # every mutation met every format, and the table says what became of them
    pairs = {(m, f) for m, f, _ in report["table"]}
    assert pairs == {(m, f) for m in fuzz_mod.MUTATIONS for f in fuzz_mod.FORMATS}
    table = fuzz_mod.format_table(report["table"], report["manifest"])
    assert "bad_tags" in table and "m4a" in table
    kinds = {k for _, _, k in report["table"]}
    assert "analysed" in kinds and "decode" in kinds and "internal" not in kinds


def _wav(path, *, channels=2, rate=44100, block_align=None, bits=16, frames=441):
    block_align = (channels * bits // 8 if block_align is None else block_align) & 0xFFFF
    pcm = bytes(frames * max(1, channels * bits // 8))
    fmt = struct.pack("<HHIIHH", 1, channels, rate, (rate * max(block_align, 1)) & 0xFFFFFFFF,
                      block_align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", len(body)) + body)
    return str(path)


@pytest.mark.parametrize("kwargs,message", [
    ({"block_align": 0, "bits": 0}, "not a readable audio file"),   # PyAV: AttributeError before
    ({"rate": 4_000_000_000}, "not a readable audio file"),
    ({"rate": 1}, "unsupported sample rate 1 Hz"),             # libsndfile takes it: refused here
    ({"rate": 900_000}, "unsupported sample rate 900000 Hz"),
    ({"channels": 65535, "frames": 2}, "no sample rate or channels"),
    ({"channels": 100, "frames": 40}, "unsupported channel count 100"),
])
def test_absurd_wav_headers_are_named_errors(tmp_path, kwargs, message):
    path = _wav(tmp_path / "absurd.wav", **kwargs)
    with pytest.raises(tempo.DecodeError, match=message) as err:
        tempo.analyze_file(path)
    assert "absurd.wav" in str(err.value)


def test_frames_switching_between_mono_and_stereo(tmp_path):
    """Badly joined MP3s (stereo, then mono, then stereo): FFmpeg's frames change their channel
    count mid-stream; every block keeps the stream's shape (was: a ValueError)."""
    sr = 22050
    y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(2 * sr) / sr)).astype(np.float32)
    mono, stereo = str(tmp_path / "m.mp3"), str(tmp_path / "s.mp3")
    sf.write(mono, y, sr, format="MP3", subtype="MPEG_LAYER_III")
    sf.write(stereo, np.stack([y, y], axis=1), sr, format="MP3", subtype="MPEG_LAYER_III")
    joined = str(tmp_path / "joined.mp3")
    with open(joined, "wb") as out:
        for part in (stereo, mono, stereo):
            with open(part, "rb") as fh:
                out.write(fh.read())
    with AudioStream(joined) as stream:  # the FFmpeg path, as when libsndfile gives up
        stream._sf.close()
        stream._sf = None
        stream._open_av()
        blocks = list(stream.blocks(block_s=0.5))
    assert {b.shape[1] for b in blocks} == {2}
    assert sum(len(b) for b in blocks) / sr == pytest.approx(6.0, abs=0.3)
    assert tempo.analyze_file(joined).duration_s > 1.0
