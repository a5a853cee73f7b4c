"""Data passed between tempo's modules: frozen, JSON-safe dataclasses.

Conventions
-----------
- Tempo in beats per minute (``bpm``), times in seconds (``*_s``), file times in nanoseconds
  (``mtime_ns``), loudness in LUFS (ITU-R BS.1770 integrated loudness).
- ``to_dict()`` returns plain JSON types only (no numpy); ``from_dict(to_dict(x)) == x``.
- This module imports nothing heavy: the cache, the ranking and the CLI read results without
  loading numpy-based analysis code (let alone librosa).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields

#: Bump whenever estimation changes its output: cached rows of another version are recomputed.
ANALYZER_VERSION = "11"

#: Default analysis sample rate (Hz). Tempo lives below 20 Hz of onset rate; 11.025 kHz keeps
#: kick, snare and hi-hat attacks while halving decode/resample and STFT cost against 22.05 kHz.
ANALYSIS_SR = 11025
#: Default tempo search range (BPM): the slowest ballad to the fastest metal a listener taps.
MIN_BPM = 50.0
MAX_BPM = 230.0
#: Window of the tempo curve (s) and the drift that makes a track "unstable" (fraction of tempo).
CURVE_WINDOW_S = 10.0
STABLE_TOLERANCE = 0.04


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that changes analysis output besides the file itself and ANALYZER_VERSION."""

    sr: int = ANALYSIS_SR
    min_bpm: float = MIN_BPM
    max_bpm: float = MAX_BPM
    curve_window_s: float = CURVE_WINDOW_S

    def __post_init__(self):
        if not 4000 <= self.sr <= 48000:
            raise ValueError(f"sr={self.sr} Hz is outside 4000..48000")
        if not 0 < self.min_bpm < self.max_bpm:
            raise ValueError(f"need 0 < min_bpm < max_bpm, got min_bpm={self.min_bpm}, max_bpm={self.max_bpm}")
        if self.curve_window_s <= 0:
            raise ValueError(f"curve_window_s={self.curve_window_s} must be positive")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "AnalysisSettings":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def settings_hash(self) -> str:
        """Short stable hash of the settings, part of the cache key."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha1(blob).hexdigest()[:12]


@dataclass(frozen=True)
class TempoEstimate:
    """A tempo decision with its alternatives.

    ``bpm`` is None when no periodic beat was found (silence, noise, beatless audio); then
    ``confidence`` is 0. ``candidates`` are (bpm, strength) pairs, strongest first, strength in
    0..1, and always include the chosen tempo's half and double when those are in range.
    ``curve`` is the tempo over time as (window centre in s, bpm) pairs; ``stable`` is False when
    the curve moves more than STABLE_TOLERANCE around the median.

    ``source`` says where ``bpm`` comes from: ``"audio"`` (the estimate), or a read-time view
    (:mod:`tempo.corrections`, :func:`tempo.tags.apply_tag_tempo`): ``"user"`` (a correction),
    ``"range"`` (the preferred BPM range chose another candidate), ``"tag-level"`` / ``"tag"``
    (the file's BPM tag). ``raw_bpm`` then keeps the audio's own reading (None for "audio").
    """

    bpm: float | None
    confidence: float = 0.0
    candidates: tuple[tuple[float, float], ...] = ()
    curve: tuple[tuple[float, float], ...] = ()
    stable: bool = True
    source: str = "audio"
    raw_bpm: float | None = None

    @property
    def drift(self) -> float:
        """(max - min) / median of the tempo curve, 0.0 for a flat or missing curve."""
        values = sorted(b for _, b in self.curve if b)
        if len(values) < 2:
            return 0.0
        median = values[len(values) // 2]
        return (values[-1] - values[0]) / median

    def to_dict(self) -> dict:
        return {
            "bpm": self.bpm,
            "confidence": self.confidence,
            "candidates": [list(c) for c in self.candidates],
            "curve": [list(c) for c in self.curve],
            "stable": self.stable,
            "source": self.source,
            "raw_bpm": self.raw_bpm,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TempoEstimate":
        return cls(
            bpm=d.get("bpm"),
            confidence=float(d.get("confidence", 0.0)),
            candidates=tuple((float(b), float(s)) for b, s in d.get("candidates", ())),
            curve=tuple((float(t), float(b)) for t, b in d.get("curve", ())),
            stable=bool(d.get("stable", True)),
            source=d.get("source", "audio"),
            raw_bpm=d.get("raw_bpm"),
        )


@dataclass(frozen=True)
class Tags:
    """Tags read from the file (None where absent). ``bpm`` is an existing BPM tag, if any."""

    artist: str | None = None
    title: str | None = None
    album: str | None = None
    bpm: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Tags":
        return cls(**{k: d.get(k) for k in ("artist", "title", "album", "bpm")})


@dataclass(frozen=True)
class TrackAnalysis:
    """Everything tempo knows about one audio file.

    ``energy`` is an intensity score in 0..1 (onset density, attack strength, spectral fullness,
    brightness, dynamics and tempo, gain-independent: a quiet ballad near 0.1-0.2, metal and
    punk near 0.95); ``onset_rate`` is onsets per second; ``loudness_lufs`` is None for digital
    silence. ``warnings`` are what the user should know about the file although it was
    analysed, each "kind: text" (``truncated: 0.3 s of 40 s decoded``, ``too short: ...``,
    ``damaged: ...``; see :func:`tempo.audio.length_warnings`); empty for a healthy file.
    """

    path: str
    size: int
    mtime_ns: int
    duration_s: float
    tempo: TempoEstimate
    loudness_lufs: float | None = None
    energy: float = 0.0
    onset_rate: float = 0.0
    tags: Tags = field(default_factory=Tags)
    format: str = ""
    sample_rate: int = 0
    channels: int = 0
    analyzer_version: str = ANALYZER_VERSION
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    warnings: tuple[str, ...] = ()

    @property
    def bpm(self) -> float | None:
        return self.tempo.bpm

    @property
    def confidence(self) -> float:
        return self.tempo.confidence

    @property
    def display_name(self) -> str:
        """'Artist - Title' from tags, else the file name without extension."""
        if self.tags.title:
            return f"{self.tags.artist} - {self.tags.title}" if self.tags.artist else self.tags.title
        return os.path.splitext(os.path.basename(self.path))[0]

    def to_row(self) -> dict:
        """One flat row of plain values (for CSV and tables); candidates as 'bpm:strength;...'."""
        return {
            "path": self.path,
            "bpm": self.tempo.bpm,
            "confidence": round(self.tempo.confidence, 3),
            "stable": self.tempo.stable,
            "drift": round(self.tempo.drift, 4),
            "energy": self.energy,
            "loudness_lufs": self.loudness_lufs,
            "onset_rate": self.onset_rate,
            "duration_s": self.duration_s,
            "artist": self.tags.artist,
            "title": self.tags.title,
            "album": self.tags.album,
            "tag_bpm": self.tags.bpm,
            "candidates": ";".join(f"{b:g}:{s:.2f}" for b, s in self.tempo.candidates),
            "bpm_source": self.tempo.source,
            "raw_bpm": self.tempo.raw_bpm,
            "format": self.format,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "warnings": "; ".join(self.warnings),
        }

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["tempo"] = self.tempo.to_dict()
        d["tags"] = self.tags.to_dict()
        d["settings"] = self.settings.to_dict()
        d["warnings"] = list(self.warnings)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrackAnalysis":
        d = dict(d)
        d["tempo"] = TempoEstimate.from_dict(d["tempo"])
        d["tags"] = Tags.from_dict(d.get("tags") or {})
        d["settings"] = AnalysisSettings.from_dict(d.get("settings") or {})
        d["warnings"] = tuple(str(w) for w in d.get("warnings") or ())  # rows cached before
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


#: Failure kinds that say nothing lasting about the file itself: the analysis ran out of time,
#: its process died or ran out of memory, or the scan was interrupted, or another scan held the
#: cache ("busy"). They are reported but never cached, so the next run (perhaps with a higher
#: --timeout) simply tries the file again.
TRANSIENT_KINDS = frozenset({"timeout", "crash", "memory", "interrupted", "changed", "busy"})


@dataclass(frozen=True)
class FileFailure:
    """One file that could not be analysed: its path, the error kind and a one-line message.

    A failure is *permanent* (the file cannot be decoded or analysed: kinds such as "decode",
    "empty", "analysis", "internal"), remembered in the cache until the file changes; or
    *transient* (:data:`TRANSIENT_KINDS`), retried on the next run.
    """

    path: str
    kind: str
    message: str

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT_KINDS

    def to_dict(self) -> dict:
        return dict(asdict(self), transient=self.transient)
