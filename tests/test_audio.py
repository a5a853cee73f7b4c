"""Decoding: every format and layout users have, streaming, and every bad input."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import soundfile as sf

from tempo import DecodeError, EmptyAudioError
from tempo.audio import AudioStream, iter_blocks, load, probe

SR_OUT = 11025


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aiff"])
@pytest.mark.parametrize("channels", [1, 2])
def test_formats_decode_to_mono_at_analysis_rate(tmp_path, fixtures_mod, ext, channels):
    sr = 44100
    y = fixtures_mod.click_track(120, duration_s=3.0, sr=sr)
    if channels == 2:
        y = fixtures_mod.stereo(y)
    path = fixtures_mod.write_audio(str(tmp_path / f"clicks{ext}"), y, sr)
    info = probe(path)
    assert info.sample_rate == sr and info.channels == channels
    out = load(path, sr=SR_OUT)
    assert out.dtype == np.float32 and out.ndim == 1
    # lossy codecs pad a little; never lose or invent more than 0.1 s
    assert abs(len(out) / SR_OUT - 3.0) < 0.1
    # the clicks survive: the loudest sample sits near a beat (every 0.5 s)
    peak_t = np.argmax(np.abs(out)) / SR_OUT
    assert min(peak_t % 0.5, 0.5 - peak_t % 0.5) < 0.06


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_wav_sample_formats(tmp_path, subtype):
    sr = 8000
    t = np.arange(sr) / sr
    y = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = str(tmp_path / f"tone_{subtype}.wav")
    sf.write(path, y, sr, subtype=subtype)
    out = load(path, sr=sr)
    assert np.allclose(out, y, atol=1e-2)


@pytest.mark.parametrize("sr", [8000, 22050, 96000, 192000])
@pytest.mark.parametrize("channels", [1, 6, 8])
def test_rates_and_channel_counts(tmp_path, sr, channels):
    t = np.arange(int(0.5 * sr)) / sr
    y = np.repeat((0.3 * np.sin(2 * np.pi * 220 * t))[:, None], channels, axis=1)
    path = str(tmp_path / f"tone_{sr}_{channels}.flac" if sr <= 96000 else tmp_path / "t.wav")
    sf.write(path, y, sr)
    out = load(path, sr=SR_OUT)
    assert abs(len(out) - SR_OUT // 2) <= 2
    assert 0.25 < np.max(np.abs(out)) < 0.35


def test_streaming_blocks_are_bounded(tmp_path):
    sr = 22050
    y = np.random.default_rng(0).uniform(-0.1, 0.1, 40 * sr).astype(np.float32)
    path = str(tmp_path / "noise.wav")
    sf.write(path, y, sr)
    sizes = [len(b) for b in iter_blocks(path, sr=SR_OUT, block_s=2.0)]
    assert len(sizes) >= 15
    assert max(sizes) <= 2.1 * SR_OUT
    assert abs(sum(sizes) - 40 * SR_OUT) <= 2


def test_nan_samples_become_zero(tmp_path):
    y = np.zeros(8000, dtype=np.float32)
    y[100:200] = np.nan
    path = str(tmp_path / "nan.wav")
    sf.write(path, y, 8000, subtype="FLOAT")
    assert np.isfinite(load(path, sr=8000)).all()


def test_bad_inputs(bad_inputs):
    with pytest.raises(EmptyAudioError, match="empty file"):
        probe(bad_inputs["empty"])
    with pytest.raises(DecodeError, match="not a readable audio file") as err:
        load(bad_inputs["text"])
    assert bad_inputs["text"] in str(err.value)
    # a truncated MP3 yields what decodes before the cut (about half of 12 s)
    assert 4.0 < len(load(bad_inputs["truncated"])) / SR_OUT < 8.0
    assert len(load(bad_inputs["silence"])) / SR_OUT == pytest.approx(10.0, abs=0.01)


def test_missing_file_names_path(tmp_path):
    missing = str(tmp_path / "nope.flac")
    with pytest.raises(DecodeError, match="nope.flac: cannot read"):
        AudioStream(missing)


def test_header_only_wav_is_empty(tmp_path):
    path = str(tmp_path / "header_only.wav")
    sf.write(path, np.zeros(0, dtype=np.float32), 22050)
    assert os.path.getsize(path) > 0
    with pytest.raises(EmptyAudioError, match="no audio samples"):
        load(path)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root reads every file")
def test_unreadable_file(tmp_path, fixtures_mod):
    path = fixtures_mod.write_audio(str(tmp_path / "locked.wav"),
                                    fixtures_mod.click_track(100, duration_s=1.0), 22050)
    os.chmod(path, 0)
    with pytest.raises(DecodeError, match="locked.wav: cannot read"):
        probe(path)


@pytest.mark.skipif(os.name != "posix" or sys.platform == "darwin",
                    reason="needs a file system that takes any bytes as a name")
@pytest.mark.parametrize("ext", [".wav", ".ogg", ".mp3", ".m4a"])
def test_file_name_that_is_not_utf8(tmp_path, fixtures_mod, ext):
    import tempo

    y = fixtures_mod.drum_pattern(120.0, duration_s=6.0, sr=22050)
    good = fixtures_mod.write_audio(str(tmp_path / f"good{ext}"), y, 22050)
    name = os.path.join(os.fsencode(str(tmp_path)), b"caf\xe9" + ext.encode())
    os.rename(good, name)
    ta = tempo.analyze_file(os.fsdecode(name))
    assert ta.bpm == pytest.approx(120.0, rel=0.01)


# -- declared length and truncation -------------------------------------------------------------

@pytest.mark.parametrize("ext", [".wav", ".aiff", ".flac", ".mp3"])
def test_cut_files_decode_what_is_there_and_declare_the_whole(tmp_path, fixtures_mod, ext):
    """A file cut in half still yields its first half (FLAC too, through FFmpeg when libsndfile
    loses sync) and still declares the whole length, so the cut can be reported."""
    from tempo.audio import length_warnings

    y = fixtures_mod.drum_pattern(120.0, duration_s=20.0, sr=22050, seed=1)
    full = fixtures_mod.write_audio(str(tmp_path / f"full{ext}"), y, 22050)
    with open(full, "rb") as fh:
        data = fh.read()
    cut = str(tmp_path / f"cut{ext}")
    with open(cut, "wb") as fh:
        fh.write(data[: len(data) // 2])
    with AudioStream(cut) as stream:
        decoded = sum(len(b) for b in stream.blocks()) / stream.info.sample_rate
        declared = stream.info.duration_s
    assert declared == pytest.approx(20.0, abs=0.1)
    assert 4.0 < decoded < 10.5
    (warning,) = length_warnings(decoded, declared, min_s=3.0)
    assert warning.startswith("truncated: ") and warning.endswith(" of 20 s decoded")


def test_length_warnings_thresholds():
    from tempo.audio import length_warnings

    assert length_warnings(40.0, 40.0, min_s=3) == ()
    assert length_warnings(39.5, 40.0, min_s=3) == ()          # a codec's padding, not a cut
    assert length_warnings(170.0, 172.0, min_s=3) == ()        # under 2 % of the whole
    assert length_warnings(30.0, 0.0, min_s=3) == ()           # nothing declared
    assert length_warnings(0.3, 40.0, min_s=3) == (
        "truncated: 0.3 s of 40 s decoded", "too short: 0.3 s of audio, a tempo needs at least 3 s")
    assert length_warnings(2.0, 2.0, min_s=3) == ("too short: 2.0 s of audio, a tempo needs at least 3 s",)
    assert length_warnings(12.0, 0.0, min_s=3, stopped="x") == ("damaged: decoding stopped after 12 s (x)",)


def test_wav_header_declaring_a_day_is_read_without_holding_it(tmp_path):
    """A WAV whose header declares 24 hours but holds 1 s: the declared day is known from the
    header alone, the decode yields the 1 s there is."""
    import struct

    sr = 8000
    pcm = (np.sin(np.arange(sr) * 0.1) * 8000).astype("<i2").tobytes()
    declared = 24 * 3600 * sr * 2
    header = (b"RIFF" + struct.pack("<I", 36 + declared) + b"WAVE" + b"fmt " +
              struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16) + b"data" + struct.pack("<I", declared))
    path = str(tmp_path / "day.wav")
    with open(path, "wb") as fh:
        fh.write(header + pcm)
    with AudioStream(path) as stream:
        assert stream.info.duration_s == pytest.approx(24 * 3600)
        assert sum(len(b) for b in stream.blocks()) == sr


@pytest.mark.parametrize("fmt", ["u8", "s16", "s32", "flt", "dbl", "u8p", "s16p", "s32p", "fltp", "dblp"])
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("capacity", [1024, 1 << 16])
def test_pyav_frames_gathered_per_block_as_frame_by_frame(fmt, channels, capacity):
    """PyAV frames are copied straight into the block and scaled once per block: the samples
    equal the frame-by-frame conversion (_frame_to_float) for every sample format and layout,
    including a frame with another channel count mixed in, a change of format mid-block and a
    block that outgrows its first buffer."""
    av = pytest.importorskip("av")
    from tempo.audio import _frame_to_float, _PendingFrames

    layouts = {1: "mono", 2: "stereo", 6: "5.1"}
    rng = np.random.default_rng(channels)
    dtypes = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "flt": np.float32,
              "dbl": np.float64}

    def frame(f, ch, n):
        dt = dtypes[f.rstrip("p")]
        if np.dtype(dt).kind == "f":
            x = rng.uniform(-1, 1, (ch, n))
        else:
            info = np.iinfo(dt)
            x = rng.integers(info.min, info.max, (ch, n), endpoint=True)
        x = x.astype(dt)
        arr = x if f.endswith("p") else x.T.reshape(1, -1)
        return av.AudioFrame.from_ndarray(arr, format=f, layout=layouts[ch])

    other = 2 if channels == 1 else 1
    frames = [frame(fmt, channels, 576), frame(fmt, channels, 1024), frame(fmt, other, 300),
              frame(fmt, channels, 47), frame("fltp", channels, 200), frame(fmt, channels, 333)]
    pending = _PendingFrames(channels, capacity=capacity)
    for fr in frames:
        assert pending.add(fr)
    assert pending.frames == sum(fr.samples for fr in frames)
    got = pending.take()
    want = np.concatenate([
        _frame_to_float(fr.to_ndarray(), fr.format.name, fr.format.is_planar, channels,
                        len(fr.layout.channels)) for fr in frames])
    assert got.dtype == np.float32 and got.shape == (sum(fr.samples for fr in frames), channels)
    assert np.array_equal(got, want)
    assert pending.frames == 0
    assert pending.add(frames[1]) and np.array_equal(pending.take(), want[576:1600])
