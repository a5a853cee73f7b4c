"""Integrated loudness against BS.1770 reference values."""

from __future__ import annotations

import numpy as np
import pytest

from tempo.loudness import LoudnessMeter, integrated_loudness


def _tone(sr, amp, seconds=10.0, freq=997.0):
    t = np.arange(int(seconds * sr)) / sr
    return amp * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("sr", [44100, 48000, 22050])
def test_stereo_997hz_tone(sr):
    # BS.1770: a 997 Hz sine at amplitude A on both channels reads 20*log10(A) LUFS (+-0.1)
    s = _tone(sr, 0.1)
    assert integrated_loudness(np.stack([s, s], axis=1), sr) == pytest.approx(-20.0, abs=0.1)


def test_mono_is_dual_mono():
    s = _tone(48000, 0.1)
    assert integrated_loudness(s, 48000) == pytest.approx(
        integrated_loudness(np.stack([s, s], axis=1), 48000), abs=0.01)


def test_gating_ignores_silence():
    sr = 48000
    s = np.concatenate([_tone(sr, 0.1, 5.0), np.zeros(20 * sr)])
    assert integrated_loudness(np.stack([s, s], 1), sr) == pytest.approx(-20.0, abs=0.2)


def test_silence_is_none():
    assert integrated_loudness(np.zeros(48000 * 3), 48000) is None


def test_blockwise_equals_whole():
    sr = 44100
    rng = np.random.default_rng(1)
    y = rng.standard_normal((sr * 7, 2)) * np.linspace(0.01, 0.3, sr * 7)[:, None]
    meter = LoudnessMeter(sr, 2)
    for i in range(0, len(y), 12345):
        meter.update(y[i:i + 12345])
    assert meter.integrated() == pytest.approx(integrated_loudness(y, sr), abs=0.01)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_any_block_split_gives_the_same_steps(channels):
    """Blocks shorter than a 100 ms step, empty blocks and steps spanning blocks: the meter
    carries the unfinished step over, so every split reads exactly as one whole block."""
    sr = 11025
    rng = np.random.default_rng(channels)
    y = (rng.standard_normal((sr * 5 + 77, channels))
         * np.linspace(0.01, 0.5, sr * 5 + 77)[:, None]).astype(np.float32)
    whole = LoudnessMeter(sr, channels)
    whole.update(y)
    split = LoudnessMeter(sr, channels)
    sizes = [1, 7, 0, 1101, 1102, 1103, 3, 5000] + [int(s) for s in rng.integers(0, 3000, 40)]
    i = 0
    for size in sizes:
        split.update(y[i:i + size])
        i += size
    split.update(y[i:])
    # the same steps (to the last bits of the channel weighting's dot product)
    assert len(split._sub_power) == len(whole._sub_power) == len(y) // 1102
    np.testing.assert_allclose(split._sub_power, whole._sub_power, rtol=1e-13)
    assert split.integrated() == whole.integrated() is not None
