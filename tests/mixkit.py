"""Audio made for the mix tests: drum-and-click tracks whose every beat is known.

Each track has a click on every beat (accented on the downbeat), a kick on beats 1 and 3, 8th
hi-hats and a sustained bass note of its own pitch (so a test can tell two basslines apart),
after a short leading silence. Seeded, synthesised with numpy, written with soundfile.
"""

from __future__ import annotations

import numpy as np
import soundfile as sf

SR = 22050
LEAD_S = 0.6


def _click(sr: int, gain: float, hz: float) -> np.ndarray:
    t = np.arange(int(0.03 * sr)) / sr
    return (gain * np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.006)).astype(np.float32)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    phase = 2 * np.pi * np.cumsum(45 + 85 * np.exp(-t / 0.03)) / sr
    return (np.sin(phase) * np.exp(-t / 0.05)).astype(np.float32)


def _hat(sr: int, rng) -> np.ndarray:
    t = np.arange(int(0.04 * sr)) / sr
    return (0.15 * np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t / 0.01)).astype(np.float32)


def beat_times(bpm: float, duration_s: float, lead_s: float = LEAD_S) -> np.ndarray:
    return lead_s + np.arange(0.0, duration_s - lead_s - 0.05, 60.0 / bpm)


def track(bpm: float, duration_s: float, *, bass_hz: float = 55.0, click_hz: float = 2000.0,
          sr: int = SR, seed: int = 0, lead_s: float = LEAD_S) -> np.ndarray:
    """Stereo (frames, 2) float32 track at ``bpm``; beat 0 (a downbeat) at ``lead_s``. Kicks on
    beats 1 and 3 of each bar; give neighbours different ``click_hz`` so that their clicks
    cannot cancel when they coincide."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    y = np.zeros(n, np.float32)
    beats = beat_times(bpm, duration_s, lead_s)
    kick = _kick(sr)
    for i, b in enumerate(beats):
        at = int(round(b * sr))
        for x, g in ((_click(sr, 0.5 if i % 4 == 0 else 0.3, click_hz), 1.0),
                     (kick, 0.5 if i % 4 in (0, 2) else 0.0)):
            if g:
                m = min(len(x), n - at)
                y[at:at + m] += g * x[:m]
        for half in (0.0, 0.5):
            at = int(round((b + half * 60.0 / bpm) * sr))
            h = _hat(sr, rng)
            m = min(len(h), n - at)
            if m > 0:
                y[at:at + m] += h[:m]
    t = np.arange(n) / sr
    bass = 0.12 * np.sin(2 * np.pi * bass_hz * t).astype(np.float32)
    bass[: int(lead_s * sr)] = 0.0
    y += bass
    right = 0.95 * y + 0.002 * rng.standard_normal(n).astype(np.float32)
    return np.stack([y, right], axis=1)


def write(path: str, y: np.ndarray, sr: int = SR) -> str:
    sf.write(path, y, sr)
    return path
