"""The mix plan: which beats of which track play when, at what tempo. Pure: no audio, no files.

Conventions
-----------
- A *mix beat* is a beat at the tempo the profile counts: a track served at ratio 2 (an 87 BPM
  half-time track in a 174 BPM run) has two mix beats per beat of its own, a track at ratio 1/2
  one per two of its beats. A track's bars are its own meter (``grid.beats_per_bar``: 3 or 4
  beats) in mix beats (:func:`bar_beats`: a 4/4 track is 4 mix beats a bar at ratio 1, 8 at
  ratio 2, 2 at ratio 1/2; a 3/4 track 3 at ratio 1, 6 at ratio 2, and at ratio 1/2 two of its
  bars, 3 mix beats, since one and a half mix beats is not a beat).
- Every track plays a whole number of its bars, from a downbeat (its *entry*) to a downbeat
  (its *exit*), both inside its music (after leading silence, before a fade-out); ``cut_bars``
  counts bars of the track's own meter.
- Consecutive tracks overlap by ``overlap_beats`` made a whole number of bars of BOTH tracks
  (and even, so the bass swap falls on a beat): the largest multiple of the least common
  multiple of their bars (and 2) not above it (16 beats between a 4/4 and a 3/4 track become
  12; between two 3/4 tracks 12); fewer when a track is too short; below
  :data:`MIN_OVERLAP_BEATS` the join is a cut on the beat. The overlap is at the outgoing
  track's tempo, beat on beat, downbeat on downbeat.
- The *played* tempo of a track is the profile's target at its place in the mix, clipped to
  ``max_stretch`` around the track's own (effective) tempo. After its overlap-in the incoming
  track glides from the outgoing's tempo to its own over :data:`GLIDE_BEATS` beats; in a
  monotonic profile a rising stretch never steps back while the stretch bound allows it.
- Output times in seconds from the start of the mix (``out_beats_s``), source times in seconds
  from the start of the file (``src_beats_s``); one entry per mix beat of the track, from the
  entry to the exit inclusive. The renderer maps each source beat to its output beat.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from ..errors import TempoError
from .beatgrid import BEATS_PER_BAR, BeatGrid
from .defaults import DEFAULT_BARS, DEFAULT_MAX_STRETCH, DEFAULT_OVERLAP_BEATS  # noqa: F401

#: An overlap shorter than this (beats) is made a cut on the beat instead.
MIN_OVERLAP_BEATS = 4
#: Beats over which a track glides from the outgoing track's tempo to its own.
GLIDE_BEATS = 8
#: Beats of fade-out at the very end of the mix.
END_FADE_BEATS = 4


class MixError(TempoError):
    """A mix cannot be planned or rendered."""

    kind = "mix"


@dataclass(frozen=True)
class MixItem:
    """A track offered to the planner: its analysis numbers, the ratio it serves at (1, 2 or
    1/2) and its beat grid."""

    path: str
    name: str
    bpm: float
    grid: BeatGrid
    ratio: float = 1.0
    segment: str | None = None

    @property
    def effective_bpm(self) -> float:
        return self.grid.bpm * self.ratio


@dataclass(frozen=True)
class PlannedTrack:
    """One track in the mix: the beats it plays (source and output times), its tempi, fades."""

    path: str
    name: str
    bpm: float
    ratio: float
    effective_bpm: float
    played_bpm: float
    entry_bpm: float
    target_bpm: float
    src_beats_s: tuple[float, ...]
    out_beats_s: tuple[float, ...]
    first_beat: int
    fade_in_beats: int
    fade_out_beats: int
    segment: str | None = None
    beats_per_bar: int = BEATS_PER_BAR
    bar_beats: int = BEATS_PER_BAR

    @property
    def meter(self) -> str:
        """The track's own meter, ``"3/4"`` or ``"4/4"``."""
        return f"{self.beats_per_bar}/4"

    @property
    def start_s(self) -> float:
        return self.out_beats_s[0]

    @property
    def end_s(self) -> float:
        return self.out_beats_s[-1]

    @property
    def n_beats(self) -> int:
        return len(self.src_beats_s) - 1

    @property
    def stretch(self) -> float:
        """Played tempo over the track's own effective tempo, minus 1 (+0.03 = 3 % faster)."""
        return self.played_bpm / self.effective_bpm - 1.0

    @property
    def body_s(self) -> tuple[float, float]:
        """Output times (s) where this track plays alone at its played tempo (after its
        overlap-in and glide, before its overlap-out); may be empty (start >= end)."""
        a = self.fade_in_beats + (GLIDE_BEATS if self.fade_in_beats else 0)
        b = self.n_beats - self.fade_out_beats
        a = min(a, b)
        return self.out_beats_s[a], self.out_beats_s[b]

    def to_dict(self) -> dict:
        return {"path": self.path, "name": self.name, "bpm": self.bpm, "ratio": self.ratio,
                "effective_bpm": round(self.effective_bpm, 3),
                "played_bpm": round(self.played_bpm, 3), "entry_bpm": round(self.entry_bpm, 3),
                "target_bpm": round(self.target_bpm, 3), "stretch": round(self.stretch, 4),
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "src_start_s": self.src_beats_s[0], "src_end_s": self.src_beats_s[-1],
                "beats": self.n_beats, "fade_in_beats": self.fade_in_beats,
                "fade_out_beats": self.fade_out_beats, "segment": self.segment,
                "meter": self.meter, "beats_per_bar": self.beats_per_bar,
                "bar_beats": self.bar_beats}


@dataclass(frozen=True)
class MixPlan:
    """The whole mix: tracks in order (each with its beats), and the output beat grid."""

    tracks: tuple[PlannedTrack, ...]
    beats_s: tuple[float, ...]
    profile: str
    overlap_beats: int
    max_stretch: float
    cut_bars: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return self.tracks[-1].end_s if self.tracks else 0.0

    def to_dict(self) -> dict:
        return {"profile": self.profile, "overlap_beats": self.overlap_beats,
                "max_stretch": self.max_stretch, "cut_bars": self.cut_bars,
                "duration_s": round(self.duration_s, 3),
                "tracks": [t.to_dict() for t in self.tracks], "notes": list(self.notes)}

    def cue_sheet(self, audio_file: str, *, title: str | None = None) -> str:
        """A CUE sheet for the rendered file: one TRACK per planned track at its entry."""
        return cue_sheet(self, audio_file, title=title)


# --------------------------------------------------------------------------- helpers

def _mix_beats(grid: BeatGrid, ratio: float) -> tuple[list[float], int, list[float]]:
    """(source times of the mix beats, index of the first mix downbeat, strength per mix
    beat) for a track served at ``ratio``."""
    beats, strength = list(grid.beats_s), list(grid.strength) or [0.0] * len(grid.beats_s)
    if ratio == 1.0:
        return beats, grid.downbeat, strength
    if ratio == 2.0:
        out, st = [], []
        for k in range(len(beats) - 1):
            out += [beats[k], (beats[k] + beats[k + 1]) / 2]
            st += [strength[k], strength[k]]
        out.append(beats[-1])
        st.append(strength[-1])
        return out, 2 * grid.downbeat, st
    if ratio == 0.5:
        return beats[grid.downbeat::2], 0, strength[grid.downbeat::2]
    raise MixError(f"ratio {ratio:g} is not supported (1/2, 1 or 2)")


def bar_beats(beats_per_bar: int, ratio: float) -> int:
    """Mix beats between two downbeats the plan may enter or leave a track on: one bar of its
    own meter at ``ratio``, or two when one bar is not a whole number of mix beats (3/4 at
    1/2)."""
    b = beats_per_bar * ratio
    if abs(b - round(b)) > 1e-9:
        b *= 2
    return max(1, round(b))


def _lcm(*xs: int) -> int:
    out = 1
    for x in xs:
        out = out * x // math.gcd(out, x)
    return out


def _usable_range(beats: list[float], downbeat: int, start_s: float, end_s: float,
                  bar: int = BEATS_PER_BAR) -> tuple[int, int]:
    """(entry, exit) indices: the first downbeat at or after start_s, the last downbeat at or
    before end_s (whole bars of ``bar`` beats between them); (k, k) when not even one bar
    fits."""
    first = downbeat
    while first < len(beats) and beats[first] < start_s:
        first += bar
    if first >= len(beats):
        return downbeat, downbeat
    last = first
    while last + bar < len(beats) and beats[last + bar] <= end_s:
        last += bar
    return first, last


def _most_intense(strength: list[float], first: int, last: int, n_beats: int,
                  bar: int = BEATS_PER_BAR) -> tuple[int, int]:
    """The window of ``n_beats`` (whole bars of ``bar`` beats, from a downbeat) in first..last
    with the most summed strength; the whole range when it is shorter."""
    if last - first <= n_beats:
        return first, last
    best, best_sum = first, -math.inf
    for a in range(first, last - n_beats + 1, bar):
        s = sum(strength[a:a + n_beats])
        if s > best_sum + 1e-9:
            best, best_sum = a, s
    return best, best + n_beats


def arc_target(profile, total_s: float, t: float) -> tuple[float, str]:
    """(target BPM, segment name) of ``profile`` stretched to ``total_s`` at time ``t``."""
    scale = total_s / (profile.minutes * 60.0)
    start = 0.0
    for seg in profile.segments:
        length = seg.minutes * 60.0 * scale
        if t < start + length or seg is profile.segments[-1]:
            frac = (t - start) / length if length > 0 else 0.0
            return seg.target_bpm(frac), seg.name
        start += length
    raise AssertionError("unreachable")


def _rising_at(profile, total_s: float, t: float) -> bool:
    scale = total_s / (profile.minutes * 60.0)
    start = 0.0
    for seg in profile.segments:
        length = seg.minutes * 60.0 * scale
        if t < start + length or seg is profile.segments[-1]:
            return seg.direction > 0
        start += length
    return False


def check_options(*, max_stretch: float, overlap_beats: int, cut_bars: int | None) -> None:
    if not 0 <= max_stretch <= 0.5:
        raise MixError(f"--max-stretch {max_stretch:g} must be in 0..0.5 (a fraction: 0.08 = 8 %)")
    if overlap_beats < 0 or overlap_beats % BEATS_PER_BAR:
        raise MixError(f"--overlap {overlap_beats} must be whole bars: 0, 4, 8, 16, ... beats")
    if cut_bars is not None and cut_bars < 1:
        raise MixError(f"--bars {cut_bars} must be at least 1")


# --------------------------------------------------------------------------- planning

def plan_mix(items, profile=None, *, minutes: float | None = None,
             max_stretch: float = DEFAULT_MAX_STRETCH,
             overlap_beats: int = DEFAULT_OVERLAP_BEATS, cut_bars: int | None = None) -> MixPlan:
    """Plan a beat-matched mix of ``items`` (:class:`MixItem`, in play order).

    ``profile``: the arc whose tempo the mix follows, stretched over the mix (``minutes`` is
    only what was asked; the arc spans the mix as planned). Without a profile each track plays
    at its own effective tempo (and the glides only match neighbours). ``cut_bars``: each
    track contributes its most intense N bars instead of all its music.
    """
    check_options(max_stretch=max_stretch, overlap_beats=overlap_beats, cut_bars=cut_bars)
    items = list(items)
    if not items:
        raise MixError("nothing to mix: no track has a beat grid")
    notes: list[str] = []
    # 1. the beats each track plays
    spans = []
    for it in items:
        beats, downbeat, strength = _mix_beats(it.grid, it.ratio)
        bar = bar_beats(it.grid.beats_per_bar, it.ratio)
        first, last = _usable_range(beats, downbeat, it.grid.start_s, it.grid.end_s, bar)
        if cut_bars is not None:
            # N bars of the track's own meter, in mix beats, rounded up to whole units
            own = cut_bars * it.grid.beats_per_bar * it.ratio
            first, last = _most_intense(strength, first, last, bar * math.ceil(own / bar - 1e-9),
                                        bar)
        if last - first < bar:
            notes.append(f"{it.name}: left out, less than one bar of music with beats")
            continue
        spans.append((it, beats, first, last, bar))
    if not spans:
        raise MixError("nothing to mix: no track has a whole bar of music with beats")
    lengths = [sp[3] - sp[2] for sp in spans]
    # 2. overlaps (whole bars of both tracks, at most half of either track)
    overlaps = []
    for i in range(len(spans) - 1):
        a, b = spans[i], spans[i + 1]
        unit = _lcm(a[4], b[4], 2)
        half = min(lengths[i], lengths[i + 1]) // 2
        ov = min(overlap_beats, half) // unit * unit
        if not ov and overlap_beats and unit <= min(half, 2 * overlap_beats):
            ov = unit  # one common bar, up to twice what was asked, rather than a cut
        if ov < MIN_OVERLAP_BEATS:
            if overlap_beats:
                notes.append(f"{b[0].name}: too short for a {overlap_beats}-beat "
                             "transition, joined with a cut on the beat")
            ov = 0
        elif ov != min(overlap_beats, half - half % BEATS_PER_BAR):
            notes.append(f"{b[0].name}: {ov}-beat transition (whole bars of "
                         f"{a[0].grid.meter} and {b[0].grid.meter})")
        overlaps.append(ov)
    starts = [0]
    for i in range(len(spans) - 1):
        starts.append(starts[-1] + lengths[i] - overlaps[i])
    total_beats = starts[-1] + lengths[-1]
    # 3. played tempo along the arc (positions first estimated at the tracks' own tempi)
    eff = [it.effective_bpm for it, *_ in spans]
    approx_t, t = [], 0.0
    for i in range(len(spans)):
        approx_t.append(t + (lengths[i] / 2) * 60.0 / eff[i])
        t += (lengths[i] - (overlaps[i] if i < len(overlaps) else 0)) * 60.0 / eff[i]
    total_s = t
    played, targets, segments = [], [], []
    for i, (it, *_rest) in enumerate(spans):
        lo, hi = eff[i] * (1 - max_stretch), eff[i] * (1 + max_stretch)
        if profile is not None:
            target, seg = arc_target(profile, total_s, approx_t[i])
        else:
            target, seg = eff[i], it.segment
        p = min(max(target, lo), hi)
        if profile is not None and profile.monotonic and played:
            prev = played[-1]
            if _rising_at(profile, total_s, approx_t[i]) and p < prev:
                if prev <= hi:
                    p = prev
                else:
                    notes.append(f"{it.name}: {eff[i]:.1f} BPM cannot reach {prev:.1f} within "
                                 f"{max_stretch:.0%} stretch; the tempo steps back")
        played.append(p)
        targets.append(target)
        segments.append(it.segment or seg)
    # 4. tempo of every output beat: the outgoing track's tempo through an overlap, then a glide
    tempo = [0.0] * total_beats
    for i in range(len(spans)):
        ov_in = overlaps[i - 1] if i else 0
        ov_out = overlaps[i] if i < len(overlaps) else 0
        glide = min(GLIDE_BEATS, max(0, lengths[i] - ov_in - ov_out)) if i else 0
        for j in range(ov_in, lengths[i]):
            g = starts[i] + j
            if j < ov_in + glide:
                f = (j - ov_in + 1) / (glide + 1)
                tempo[g] = played[i - 1] + (played[i] - played[i - 1]) * f
            else:
                tempo[g] = played[i]
        if i == 0:
            for j in range(ov_in):
                tempo[starts[i] + j] = played[i]
    out = [0.0]
    for g in range(total_beats):
        out.append(out[-1] + 60.0 / tempo[g])
    # 5. the planned tracks
    tracks = []
    for i, (it, beats, first, last, bar) in enumerate(spans):
        g0 = starts[i]
        tracks.append(PlannedTrack(
            path=it.path, name=it.name, bpm=it.bpm, ratio=it.ratio, effective_bpm=eff[i],
            played_bpm=played[i], entry_bpm=tempo[g0], target_bpm=targets[i],
            src_beats_s=tuple(beats[first:last + 1]),
            out_beats_s=tuple(round(x, 6) for x in out[g0:g0 + lengths[i] + 1]),
            first_beat=g0, fade_in_beats=overlaps[i - 1] if i else 0,
            fade_out_beats=overlaps[i] if i < len(overlaps) else END_FADE_BEATS,
            segment=segments[i], beats_per_bar=it.grid.beats_per_bar, bar_beats=bar))
    return MixPlan(tracks=tuple(tracks), beats_s=tuple(round(x, 6) for x in out),
                   profile=profile.name if profile is not None else "-",
                   overlap_beats=overlap_beats, max_stretch=max_stretch, cut_bars=cut_bars,
                   notes=tuple(notes))


def items_from_sequence(sequence, grids: dict) -> list[MixItem]:
    """MixItems of a :class:`tempo.ranking.Sequence` (its order and ratios) whose beat grids
    are in ``grids`` (path -> BeatGrid); tracks without a grid are left out."""
    out = []
    for m in sequence.matches:
        grid = grids.get(m.track.path)
        if grid is not None:
            out.append(MixItem(path=m.track.path, name=m.track.display_name, bpm=m.track.bpm,
                               grid=grid, ratio=m.ratio, segment=m.segment))
    return out


#: A mix planned within this share of the minutes asked is kept; a shorter one is planned once
#: more from a sequence asked for proportionally more minutes (:func:`refill_minutes`).
FILL_TOLERANCE = 0.03
#: The second sequence is asked for at most this many times the minutes asked.
FILL_MAX_SCALE = 1.5


def refill_minutes(asked_min: float, planned_s: float) -> float | None:
    """The minutes to ask the sequencer for, so that a mix planned at ``planned_s`` seconds
    comes nearer the ``asked_min`` minutes asked; None when it is within FILL_TOLERANCE (or
    longer). A track gives a mix less than its length (the silence before and after its music,
    whole bars, the beats it shares with the next), and by how much is known only once the mix
    is planned: the shortfall is asked for again, in proportion, at most FILL_MAX_SCALE times."""
    asked_s = asked_min * 60.0
    if planned_s <= 0 or planned_s >= asked_s * (1.0 - FILL_TOLERANCE):
        return None
    return asked_min * min(asked_s / planned_s, FILL_MAX_SCALE)


def choose_ratio(bpm: float, target_bpm: float, ratios=(0.5, 1.0, 2.0)) -> float:
    """The ratio that brings ``bpm`` nearest ``target_bpm`` (in log tempo; 1 on ties)."""
    return min(ratios, key=lambda r: (abs(math.log(bpm * r / target_bpm)), r != 1.0))


# --------------------------------------------------------------------------- CUE sheet

def _cue_time(seconds: float) -> str:
    frames = int(round(seconds * 75))
    return f"{frames // (75 * 60):02d}:{frames // 75 % 60:02d}:{frames % 75:02d}"


def _cue_str(s: str) -> str:
    return s.replace('"', "'").replace("\n", " ")


def cue_sheet(plan: MixPlan, audio_file: str, *, title: str | None = None) -> str:
    """CUE sheet text: the audio file's name (as written beside it) and a TRACK per track."""
    ext = os.path.splitext(audio_file)[1].lower()
    kind = "MP3" if ext == ".mp3" else "WAVE"
    lines = ['PERFORMER "tempo"', f'TITLE "{_cue_str(title or "tempo mix")}"',
             f'FILE "{_cue_str(os.path.basename(audio_file))}" {kind}']
    for n, t in enumerate(plan.tracks, 1):
        artist, _, song = t.name.partition(" - ")
        lines.append(f"  TRACK {n:02d} AUDIO")
        lines.append(f'    TITLE "{_cue_str(song or artist)}"')
        if song:
            lines.append(f'    PERFORMER "{_cue_str(artist)}"')
        lines.append(f'    REM BPM {t.played_bpm:.1f}')
        lines.append(f"    INDEX 01 {_cue_time(t.start_s)}")
    return "\n".join(lines) + "\n"
