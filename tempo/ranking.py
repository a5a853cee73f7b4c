"""Scoring tracks against a profile's segments, and sequencing them into a playlist. Pure.

Conventions
-----------
- A track *fits* a segment when its analysed BPM times one of the segment's ratios (the
  *effective* tempo) lies in ``segment.min_bpm .. segment.max_bpm``. Tracks without a tempo never
  fit. :func:`fitting` is that rule; everything else asks it.
- Energy targets are percentiles of the library's energies (:func:`energy_ranks`): the arc
  asks for the quieter or the more intense tracks *of this library*.
- A :class:`Match` score is the sum of named parts (``tempo_fit``, ``ratio``, ``energy_fit``,
  ``confidence``, ``stability``, ``length``), each already weighted; ``Match.parts`` lists them
  in that order, so ``--explain`` shows exactly what was added.
- Sequencing is deterministic: inputs are sorted by path and ties broken by path; ``seed`` adds
  a small, per-track jitter (derived by hashing, not from the process' random state) for variety.
- Times in seconds (``*_s``), tempo in BPM.
"""

from __future__ import annotations

import bisect
import hashlib
import statistics
from collections.abc import Iterable, Iterator, Sequence as Seq
from dataclasses import dataclass, field

from .errors import PlaylistError
from .models import TrackAnalysis
from .profiles import ALLOWED_RATIOS, DEFAULT_MINUTES, Profile, Segment
#: Weights of the score parts; a perfect match scores their sum (1.0).
W_TEMPO = 0.45
W_ENERGY = 0.25
W_CONFIDENCE = 0.15
W_STABILITY = 0.10
W_LENGTH = 0.05
#: Subtracted when a track serves the segment at half or double time rather than 1x.
RATIO_PENALTY = 0.05
#: Tempo deviation (fraction of the target) at which ``tempo_fit`` reaches zero, as a multiple
#: of the segment's tolerance.
TEMPO_SCALE = 2.0
#: Energy difference at which ``energy_fit`` reaches zero.
ENERGY_SCALE = 0.4
#: Tempo drift (fraction) at which ``stability`` reaches zero.
DRIFT_SCALE = 0.2
#: Tracks shorter than this (s) lose ``length`` points: intros and interludes break a workout.
MIN_TRACK_S = 90.0
#: Neighbour tempo steps above this fraction (beyond what the profile's ramp asks) are penalised.
MAX_STEP = 0.06
W_STEP = 3.0
#: Penalty per minute by which a segment's last track misses the segment's end.
W_TIME = 0.1
#: A segment that ran dry is reported when it misses more than this fraction of its time (or
#: when the whole playlist is short).
SHORT_FRACTION = 0.25
#: Jitter added to scores when a seed is given (variety without losing the arc).
SEED_JITTER = 0.15


@dataclass(frozen=True)
class Match:
    """One track scored against one segment, with the ratio it serves at and the score parts."""

    track: TrackAnalysis
    segment: str
    ratio: float
    effective_bpm: float
    score: float
    parts: tuple[tuple[str, float], ...]

    @property
    def path(self) -> str:
        return self.track.path

    def to_dict(self) -> dict:
        t = self.track
        return {
            "path": t.path,
            "name": t.display_name,
            "artist": t.tags.artist,
            "title": t.tags.title,
            "bpm": t.bpm,
            "ratio": self.ratio,
            "effective_bpm": round(self.effective_bpm, 2),
            "energy": t.energy,
            "confidence": t.confidence,
            "duration_s": t.duration_s,
            "segment": self.segment,
            "score": round(self.score, 4),
            "parts": {k: round(v, 4) for k, v in self.parts},
        }


@dataclass(frozen=True)
class Shortfall:
    """A segment the library could not fill, with what it needed, what exists, and what helps."""

    segment: str
    needed_s: float
    placed_s: float
    found_s: float
    bpm_range: str
    suggestions: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        text = (f"{self.segment} needs {_min(self.needed_s)} min at {self.bpm_range}, "
                f"found {_min(self.found_s)} min")
        if self.found_s >= self.needed_s:
            text += (f" but placed only {_min(self.placed_s)} min (the rest was used earlier or "
                     "would break the tempo order)")
        return text

    def to_dict(self) -> dict:
        return {"segment": self.segment, "needed_s": round(self.needed_s, 1),
                "placed_s": round(self.placed_s, 1), "found_s": round(self.found_s, 1),
                "bpm_range": self.bpm_range, "message": self.message,
                "suggestions": list(self.suggestions)}


@dataclass(frozen=True)
class Sequence:
    """A sequenced playlist: the chosen matches in order, and any segment left short."""

    profile: str
    requested_s: float
    matches: tuple[Match, ...]
    shortfalls: tuple[Shortfall, ...] = ()
    climax_index: int | None = None
    skipped_no_tempo: int = 0

    @property
    def duration_s(self) -> float:
        return sum(m.track.duration_s for m in self.matches)

    @property
    def tracks(self) -> list[TrackAnalysis]:
        return [m.track for m in self.matches]

    def to_dict(self) -> dict:
        return {"profile": self.profile, "requested_s": self.requested_s,
                "duration_s": round(self.duration_s, 1), "climax_index": self.climax_index,
                "matches": [m.to_dict() for m in self.matches],
                "shortfalls": [s.to_dict() for s in self.shortfalls]}


def _min(seconds: float) -> str:
    m = seconds / 60
    return f"{m:.0f}" if m >= 10 or m == int(m) else f"{m:.1f}"


# --------------------------------------------------------------------------- scoring

def fitting(tracks: Iterable[TrackAnalysis], segment: Segment, *,
            ratios: Seq[float] | None = None, tolerance_pct: float | None = None
            ) -> Iterator[tuple[TrackAnalysis, list[tuple[float, float]]]]:
    """The rule "does this track fit this segment", in one place: each of ``tracks`` whose
    analysed BPM times one of the ratios (the segment's own, or ``ratios``) lies in the
    segment's accepted span (its ramp's span plus ``tolerance_pct``, by default its own
    tolerance), with the ``(ratio, effective BPM)`` pairs that fit, in the order of the ratios.
    Tracks without a tempo never fit."""
    if tolerance_pct is None:
        lo, hi = segment.min_bpm, segment.max_bpm
    else:
        tol = tolerance_pct / 100
        lo = min(segment.bpm_start, segment.bpm_end) * (1 - tol)
        hi = max(segment.bpm_start, segment.bpm_end) * (1 + tol)
    ratios = segment.ratios if ratios is None else tuple(ratios)
    for t in tracks:
        bpm = t.tempo.bpm
        if not bpm or bpm <= 0:
            continue
        fits = [(r, bpm * r) for r in ratios if lo <= bpm * r <= hi]
        if fits:
            yield t, fits


def best_ratio(track: TrackAnalysis, segment: Segment, target_bpm: float | None = None
               ) -> tuple[float, float] | None:
    """(ratio, effective BPM) of the allowed ratio that fits the segment closest to the target
    (or to the segment's span when no target is given); None when no ratio fits."""
    best = None
    for ratio, eff in next((fits for _, fits in fitting((track,), segment)), []):
        dev = abs(eff - target_bpm) if target_bpm is not None else _outside(
            eff, segment.bpm_start, segment.bpm_end)
        key = (dev, ratio != 1.0, ratio)
        if best is None or key < best[0]:
            best = (key, ratio, eff)
    return None if best is None else (best[1], best[2])


def _outside(x: float, a: float, b: float) -> float:
    lo, hi = min(a, b), max(a, b)
    return lo - x if x < lo else x - hi if x > hi else 0.0


def _clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def score_track(track: TrackAnalysis, segment: Segment, *, fraction: float | None = None,
                segment_s: float | None = None, energy: float | None = None) -> Match | None:
    """Score ``track`` for ``segment``; None when it does not fit at any allowed ratio.

    With ``fraction`` (0..1, the point of the segment the track would play at) the tempo and
    energy are compared to the ramp's target there; without it, to the segment's whole span.
    ``segment_s`` (the segment's real length) lets ``length`` penalise tracks longer than it.
    ``energy`` is the track's energy on the targets' scale: its percentile in the library
    (:func:`energy_ranks`), which :func:`rank` and the sequencer pass. Without it the track's
    own :attr:`~tempo.models.TrackAnalysis.energy` is compared, which is on another scale: only
    for a library whose energies already spread over 0..1.
    """
    target_bpm = segment.target_bpm(fraction) if fraction is not None else None
    fit = best_ratio(track, segment, target_bpm)
    if fit is None:
        return None
    ratio, eff = fit
    tol = segment.tolerance_pct / 100
    if energy is None:
        energy = track.energy or 0.0
    if fraction is not None:
        variable = _variable_parts(eff, ratio, energy, target_bpm, segment.target_energy(fraction),
                                   tol)
    else:
        lo = min(segment.bpm_start, segment.bpm_end)
        dev = _outside(eff, segment.bpm_start, segment.bpm_end) / lo
        e_dev = _outside(energy, segment.energy_start, segment.energy_end)
        variable = (W_TEMPO * _clip(1 - dev / (tol * TEMPO_SCALE)),
                    0.0 if ratio == 1.0 else -RATIO_PENALTY,
                    W_ENERGY * _clip(1 - e_dev / ENERGY_SCALE))
    return _make_match(track, segment.name, ratio, eff, variable, _fixed_parts(track, segment_s))


def _variable_parts(eff: float, ratio: float, energy: float, target_bpm: float,
                    target_energy: float, tol: float) -> tuple[float, float, float]:
    """(tempo_fit, ratio, energy_fit) against a point target."""
    dev = abs(eff - target_bpm) / target_bpm
    return (W_TEMPO * _clip(1 - dev / (tol * TEMPO_SCALE)),
            0.0 if ratio == 1.0 else -RATIO_PENALTY,
            W_ENERGY * _clip(1 - abs(energy - target_energy) / ENERGY_SCALE))


def _fixed_parts(track: TrackAnalysis, segment_s: float | None) -> tuple[float, float, float]:
    """(confidence, stability, length): the parts that do not depend on the target."""
    confidence = W_CONFIDENCE * _clip(track.confidence or 0.0, 0.0, 1.0)
    stab = max(0.0, 1 - track.tempo.drift / DRIFT_SCALE)
    if not track.tempo.stable:
        stab = min(stab, 0.5)
    d = track.duration_s or 0.0
    length = 1.0 if d >= MIN_TRACK_S else max(0.0, d / MIN_TRACK_S)
    if segment_s and d > segment_s:
        length *= segment_s / d
    return confidence, W_STABILITY * stab, W_LENGTH * length


def _make_match(track: TrackAnalysis, segment: str, ratio: float, eff: float,
                variable: tuple[float, float, float], fixed: tuple[float, float, float]
                ) -> Match:
    parts = tuple(zip(("tempo_fit", "ratio", "energy_fit", "confidence", "stability", "length"),
                      variable + fixed))
    return Match(track, segment, ratio, eff, sum(variable) + sum(fixed), parts)


def _usable(tracks: Iterable[TrackAnalysis]) -> list[TrackAnalysis]:
    """Tracks sorted by path, one per path."""
    seen: dict[str, TrackAnalysis] = {}
    for t in tracks:
        seen.setdefault(t.path, t)
    return [seen[p] for p in sorted(seen)]


def unique_segments(profile: Profile) -> list[Segment]:
    """The profile's segments with repeats (same targets, e.g. HIIT rounds) removed, in order."""
    out: list[Segment] = []
    keys = set()
    for s in profile.segments:
        k = (s.name, s.bpm_start, s.bpm_end, s.tolerance_pct, s.energy_start, s.energy_end,
             s.ratios)
        if k not in keys:
            keys.add(k)
            out.append(s)
    return out


def rank(tracks: Iterable[TrackAnalysis], profile: Profile, *, limit: int | None = None
         ) -> list[Match]:
    """Every fitting track scored per (unique) segment: segment by segment, best first.

    Energy is compared as the track's percentile in ``tracks`` (see :func:`energy_ranks`).

    ``limit`` keeps the best N per segment. Ties are broken by path.
    """
    pool = _usable(tracks)
    energy = energy_ranks(pool) if pool else {}
    out: list[Match] = []
    for seg in unique_segments(profile):
        ms = [m for m in (score_track(t, seg, energy=energy[t.path]) for t in pool)
              if m is not None]
        ms.sort(key=lambda m: (-round(m.score, 9), m.path))
        out.extend(ms[:limit] if limit else ms)
    return out


def unmatched(tracks: Iterable[TrackAnalysis], profile: Profile) -> list[TrackAnalysis]:
    """Tracks that fit no segment of ``profile`` (no tempo, or outside every range), by path."""
    segs = unique_segments(profile)
    return [t for t in _usable(tracks) if all(best_ratio(t, s) is None for s in segs)]


# --------------------------------------------------------------------------- sequencing

def _jitter(seed: int | None, path: str) -> float:
    if seed is None:
        return 0.0
    h = hashlib.sha1(f"{seed}\0{path}".encode("utf-8", "surrogatepass")).digest()
    return SEED_JITTER * int.from_bytes(h[:8], "big") / 2**64


def _artist(t: TrackAnalysis) -> str | None:
    a = t.tags.artist
    return a.strip().casefold() if a and a.strip() else None


def _fits_minutes(tracks: Seq[TrackAnalysis], seg: Segment, ratios: Seq[float],
                  tolerance_pct: float | None = None) -> float:
    """Seconds of ``tracks`` that fit ``seg`` at one of ``ratios`` (and ``tolerance_pct``)."""
    return sum(t.duration_s for t, _ in fitting(tracks, seg, ratios=ratios,
                                                tolerance_pct=tolerance_pct))


def _suggestions(pool: Seq[TrackAnalysis], seg: Segment, profile: Profile) -> tuple[str, ...]:
    out = []
    have = _fits_minutes(pool, seg, seg.ratios)
    other = [r for r in ALLOWED_RATIOS if r not in seg.ratios
             and _fits_minutes(pool, seg, tuple(seg.ratios) + (r,)) > have]
    if other:
        extra = _fits_minutes(pool, seg, tuple(seg.ratios) + tuple(other)) - have
        if extra > 0:
            label = " and ".join({0.5: "double-time (ratio 0.5)", 2.0: "half-time (ratio 2)",
                                  1.0: "1x (ratio 1)"}[r] for r in other)
            out.append(f"allowing {label} tracks would add {_min(extra)} min "
                       f"(set ratios in a profile file: tempo profiles show {profile.name})")
    wider = seg.tolerance_pct * 2
    extra = _fits_minutes(pool, seg, seg.ratios, wider) - have
    if extra > 0:
        builtin_steady = profile.name == "steady" and profile.source == "built-in"
        how = "--tolerance" if builtin_steady else "tolerance_pct in a profile file"
        out.append(f"a wider tolerance (+-{wider:g}%, {how}) would add {_min(extra)} min")
    out.append(f"add folders with music at {seg.describe_range()}, or ask for fewer --minutes")
    return tuple(out)


def energy_ranks(tracks: Iterable[TrackAnalysis]) -> dict[str, float]:
    """Each track's energy as a percentile (0..1) of the library's: energy targets are relative.

    The quietest track is 0, the most intense 1, equal energies share their mean rank; a library
    of one track is 0.5. Relative targets make the arcs work whatever the energy scale of the
    estimator or the genre mix of the library (the quietest metal track still opens a montage).
    """
    ordered = sorted(tracks, key=lambda t: (t.energy or 0.0, t.path))
    n = len(ordered)
    if n == 1:
        return {ordered[0].path: 0.5}
    out: dict[str, float] = {}
    i = 0
    while i < n:
        j = i
        e = ordered[i].energy or 0.0
        while j + 1 < n and (ordered[j + 1].energy or 0.0) == e:
            j += 1
        pct = (i + j) / 2 / (n - 1)
        for k in range(i, j + 1):
            out[ordered[k].path] = pct
        i = j + 1
    return out


def build_sequence(tracks: Iterable[TrackAnalysis], profile: Profile, *,
                   minutes: float = DEFAULT_MINUTES, seed: int | None = None) -> Sequence:
    """Choose and order tracks to follow ``profile`` over ``minutes``.

    - segments are scaled to span ``minutes``; each is filled while the next track ends nearer
      the segment's end than it starts, so a fully filled playlist lands within half a track of
      the requested length;
    - no track twice; the same artist is not placed back to back when another track fits;
    - in monotonic profiles the effective tempo never falls while the arc rises and never rises
      after the turn (no track after the climax, or after the rising stretch's last track, is
      faster than it), and a rising segment leaves the tempi above the next segment's start to
      it; with ``climax`` the last rising segment ends on its fastest, most intense fitting
      track. When a segment runs dry, unused tracks that fit between neighbours (keeping the
      order) fill the time;
    - energy targets are compared with each track's energy percentile in the library;
    - a segment the library cannot fill is recorded as a :class:`Shortfall`.

    The steps, in order: :func:`_plan_segments` (lengths and the turn of the arc), then per
    segment :func:`_pick_climax` (on the last rising segment of a ``climax`` profile),
    :func:`_fill_segment` and :func:`_place_climax`; then :func:`_backfill` (monotonic
    profiles short of time), :func:`_spread_artists` and :func:`_shortfalls`.

    Raises PlaylistError when nothing at all fits.
    """
    if not minutes or minutes <= 0:
        raise PlaylistError(f"--minutes must be positive, got {minutes!r}")
    all_tracks = _usable(tracks)
    no_tempo = sum(1 for t in all_tracks if not t.bpm or not t.duration_s or t.duration_s <= 0)
    pool = [t for t in all_tracks if t.bpm and t.duration_s and t.duration_s > 0]
    energy = energy_ranks(pool) if pool else {}
    plan = _plan_segments(profile, minutes, pool)
    draft = _Draft()
    cand_cache: dict = {}
    exhausted = [False] * len(profile.segments)
    climax_index: int | None = None
    seg_end_abs = 0.0
    for i, seg in enumerate(profile.segments):
        seg_len = plan.seg_lens[i]
        seg_end_abs += seg_len
        # an earlier shortfall shortens the playlist rather than stretching this segment
        target_end = min(seg_end_abs, draft.cursor + seg_len)
        key = (seg, seg_len)
        if key not in cand_cache:
            cand_cache[key] = _candidates(pool, seg, seg_len, energy)
        cands = [c for c in cand_cache[key] if c[0].path not in draft.used]
        climax, top = (_pick_climax(draft, plan, i, cands) if profile.climax
                       and i == plan.last_rising else (None, []))
        time_blocked = _fill_segment(draft, plan, i, cands, target_end, climax, seed)
        if _place_climax(draft, i, climax, top, target_end):
            climax_index = len(draft.out) - 1
        elif profile.climax and i == plan.last_rising and draft.out:
            climax_index = len(draft.out) - 1  # peak empty: the build's last (fastest) track
        # ran dry: the loop stopped for want of music, not of time
        exhausted[i] = not time_blocked and target_end - draft.cursor > 0

    out, seg_of = draft.out, draft.seg_of
    if profile.monotonic and plan.total_s - draft.cursor > plan.slack and out:
        climax_index = _backfill(out, seg_of, pool, draft.used, profile, plan.seg_lens, energy,
                                 plan.total_s - draft.cursor, plan.last_rising, climax_index)

    _spread_artists(out, seg_of, profile)
    shortfalls = _shortfalls(pool, profile, out, seg_of, plan.seg_lens, exhausted, plan.slack,
                             short_s=plan.total_s - sum(m.track.duration_s for m in out))
    if not out:
        lines = [s.message for s in shortfalls] or ["no track fits the profile"]
        hint = shortfalls[0].suggestions[0] if shortfalls and shortfalls[0].suggestions else None
        if no_tempo:
            lines.append(f"{no_tempo} track(s) have no detectable tempo")
        raise PlaylistError(f"no track fits profile {profile.name!r}: " + "; ".join(lines),
                            hint=hint)
    return Sequence(profile.name, plan.total_s, tuple(out), shortfalls, climax_index, no_tempo)


@dataclass(frozen=True)
class _Plan:
    """The profile laid over the requested time: each segment's length (s), the turn of the
    arc (``last_rising``: the index of the last rising segment; for a ``climax`` profile
    without one, the last segment; else -1) and the slack (half a median track, s) within
    which a playlist counts as full."""

    profile: Profile
    total_s: float
    seg_lens: tuple[float, ...]
    last_rising: int
    slack: float

    def rising(self, i: int) -> bool:
        """Segment ``i`` is in a monotonic profile's rising stretch (tempo never falls)."""
        return self.profile.monotonic and i <= self.last_rising

    def falling(self, i: int) -> bool:
        """Segment ``i`` is in a monotonic profile's falling stretch (tempo never rises)."""
        return self.profile.monotonic and i > self.last_rising


def _plan_segments(profile: Profile, minutes: float, pool: Seq[TrackAnalysis]) -> _Plan:
    """Step 1: scale the segments to ``minutes`` and find the turn of the arc."""
    total_s = minutes * 60.0
    scale = total_s / (profile.minutes * 60.0)
    segs = profile.segments
    rising = [i for i, s in enumerate(segs) if s.direction > 0]
    last_rising = rising[-1] if rising else (len(segs) - 1 if profile.climax else -1)
    slack = max(statistics.median([t.duration_s for t in pool]) / 2, 1.0) if pool else 1.0
    return _Plan(profile, total_s, tuple(s.minutes * 60.0 * scale for s in segs), last_rising,
                 slack)


@dataclass
class _Draft:
    """The playlist being built: matches in order, the segment index of each, the paths used
    and the time filled so far (s)."""

    out: list[Match] = field(default_factory=list)
    seg_of: list[int] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    cursor: float = 0.0

    def place(self, m: Match, i: int) -> None:
        self.out.append(m)
        self.seg_of.append(i)
        self.used.add(m.path)
        self.cursor += m.track.duration_s


def _pick_climax(draft: _Draft, plan: _Plan, i: int, cands: Seq[tuple]
                 ) -> tuple[Match | None, list[Match]]:
    """Step 2 (the last rising segment of a ``climax`` profile): reserve the climax, the most
    intense of the fastest fitting tracks (within 2% of the fastest, not slower than the last
    track placed in a rising stretch); returns it (or None) and those fastest tracks."""
    seg, seg_len = plan.profile.segments[i], plan.seg_lens[i]
    floor = draft.out[-1].effective_bpm if (draft.out and plan.rising(i)) else 0.0
    top_cands = [m for m in (score_track(c[0], seg, fraction=1.0, segment_s=seg_len,
                                         energy=c[5]) for c in cands)
                 if m is not None and m.effective_bpm >= floor]
    if not top_cands:
        return None, []
    fastest = max(m.effective_bpm for m in top_cands)
    top = sorted((m for m in top_cands if m.effective_bpm >= fastest * 0.98),
                 key=lambda m: m.path)
    return max(top, key=lambda m: (round(m.track.energy or 0.0, 3), m.effective_bpm)), top


def _fill_segment(draft: _Draft, plan: _Plan, i: int, cands: Seq[tuple], target_end: float,
                  climax: Match | None, seed: int | None) -> bool:
    """Step 3: fill segment ``i`` up to ``target_end`` (leaving room for a reserved climax),
    best-scoring track first: its tempo and energy against the ramp's target where it would
    play, penalised for big steps from its neighbour, for missing the segment's end, and for
    following its own artist. Returns whether the time, rather than the music, ran out."""
    segs, seg_len = plan.profile.segments, plan.seg_lens[i]
    seg = segs[i]
    seg_begin = target_end - seg_len
    rising_phase, falling_phase = plan.rising(i), plan.falling(i)
    out, seg_of, used = draft.out, draft.seg_of, draft.used
    continuous = i > 0 and bool(out) and seg_of[-1] == i - 1 and abs(
        segs[i - 1].bpm_end - seg.bpm_start) <= 0.05 * seg.bpm_start
    # in a rising stretch, tempi above the next segment's start belong to that segment
    cap = segs[i + 1].bpm_start if (rising_phase and i < plan.last_rising
                                    and segs[i + 1].bpm_start > seg.bpm_start) else None
    fill_end = target_end - (climax.track.duration_s if climax else 0.0)
    ramp_seg = seg
    if climax is not None and climax.effective_bpm != seg.bpm_start:
        # lead up to the climax's own tempo, not past it
        ramp_seg = _retarget(seg, climax.effective_bpm)
    ramp_len = max(fill_end - seg_begin, 1.0)
    tol = ramp_seg.tolerance_pct / 100
    step_ramp = abs(seg.bpm_end - seg.bpm_start) / seg.bpm_start / seg_len

    climax_artist = _artist(climax.track) if climax else None
    placed_here = 0
    time_blocked = False
    while True:
        cursor = draft.cursor
        prev = out[-1] if out else None
        smooth = prev is not None and (seg_of[-1] == i or continuous)
        first_anyway = placed_here == 0 and climax is None and cursor < target_end
        prev_artist = _artist(prev.track) if prev else None
        best = None
        time_blocked = False
        for t, fits, fixed_sum, fixed, artist, e_pct in cands:
            if t.path in used or (climax and t.path == climax.path):
                continue
            d = t.duration_s
            frac = (cursor + d / 2 - seg_begin) / ramp_len
            target = ramp_seg.target_bpm(frac)
            ratio, eff = fits[0] if len(fits) == 1 else min(
                fits, key=lambda o: (abs(o[1] - target), o[0] != 1.0, o[0]))
            # the order holds across the turn too: the first track after the climax (or the
            # rising stretch's last track, when the peak found nothing) is not faster than it
            if prev is not None:
                if rising_phase and eff < prev.effective_bpm:
                    continue
                if falling_phase and eff > prev.effective_bpm:
                    continue
            if (climax and eff > climax.effective_bpm) or (cap and eff > cap):
                continue
            if cursor + d / 2 > fill_end and not first_anyway:
                time_blocked = True
                continue
            variable = _variable_parts(eff, ratio, e_pct, target,
                                       ramp_seg.target_energy(frac), tol)
            value = sum(variable) + fixed_sum + _jitter(seed, t.path)
            if smooth:
                step = abs(eff - prev.effective_bpm) / prev.effective_bpm
                value -= W_STEP * max(0.0, step - max(MAX_STEP, step_ramp * d))
            left = fill_end - cursor
            if left < 1.5 * d:  # probably the segment's last track: end it on time
                value -= W_TIME * abs(left - d) / 60.0
            same_artist = prev_artist is not None and artist == prev_artist
            if climax_artist is not None and artist == climax_artist and (
                    fill_end - cursor - d < d / 2):
                same_artist = True  # would probably sit right before the climax
            rank_key = (same_artist, -round(value, 9), t.path)
            if best is None or rank_key < best[0]:
                best = (rank_key, t, ratio, eff, variable, fixed)
        if best is None:
            return time_blocked
        _, t, ratio, eff, variable, fixed = best
        draft.place(_make_match(t, seg.name, ratio, eff, variable, fixed), i)
        placed_here += 1


def _place_climax(draft: _Draft, i: int, climax: Match | None, top: Seq[Match],
                  target_end: float) -> bool:
    """Step 4: end segment ``i`` on the reserved climax, swapped for another of the fastest,
    most intense tracks when its artist would follow itself; dropped when the segment has no
    room left (the last, fastest track placed then stands as the climax). Returns whether it
    was placed."""
    out = draft.out
    if climax is not None and out and _artist(out[-1].track) is not None and _artist(
            out[-1].track) == _artist(climax.track):
        # another of the fastest, most intense tracks, by another artist, if there is one
        others = [m for m in top if m.path not in draft.used and m.effective_bpm >= (
            out[-1].effective_bpm) and _artist(m.track) != _artist(out[-1].track)]
        if others:
            climax = max(others, key=lambda m: (round(m.track.energy or 0.0, 3),
                                                m.effective_bpm))
    if climax is None or draft.cursor >= target_end:
        return False  # no room left: the last (fastest) track placed stands as the climax
    draft.place(climax, i)
    return True


def _candidates(pool: Seq[TrackAnalysis], seg: Segment, seg_len: float,
                energy: dict[str, float]) -> list[tuple]:
    """(track, [(ratio, effective bpm) that fit], fixed score, fixed parts, artist, energy
    percentile) per fitting track."""
    out = []
    for t, fits in fitting(pool, seg):
        fixed = _fixed_parts(t, seg_len)
        out.append((t, fits, sum(fixed), fixed, _artist(t), energy.get(t.path, 0.5)))
    return out


def _backfill(out: list[Match], seg_of: list[int], pool: Seq[TrackAnalysis], used: set[str],
              profile: Profile, seg_lens: Seq[float], energy: dict[str, float], deficit: float,
              last_rising: int, climax_index: int | None) -> int | None:
    """Insert unused tracks where they keep the tempo order (monotonic profiles) until the
    requested time is filled, the segment furthest behind its share first; returns the climax
    index, moved by the insertions."""
    segs = profile.segments
    # the turn: the last track of the rising stretch (the climax when there is one)
    turn = climax_index if climax_index is not None else max(
        (k for k, i in enumerate(seg_of) if i <= last_rising), default=-1)
    if turn < 0:
        return climax_index
    by_seg: dict[int, list[Match]] = {}
    spare = [t for t in pool if t.path not in used]
    for i in sorted(set(seg_of)):
        by_seg[i] = [m for m in (score_track(t, segs[i], segment_s=seg_lens[i],
                                             energy=energy.get(t.path, 0.5)) for t in spare)
                     if m is not None]
    for ms in by_seg.values():
        ms.sort(key=lambda m: (-round(m.score, 9), m.path))
    placed = [0.0] * len(segs)
    for m, i in zip(out, seg_of):
        placed[i] += m.track.duration_s

    def position(m: Match, i: int) -> int | None:
        """Where ``m`` keeps the order with neighbours of segment ``i``, or None."""
        eff = m.effective_bpm
        rise = [x.effective_bpm for x in out[: turn + 1]]
        if rise[0] <= eff <= rise[-1]:
            j = max(1, min(bisect.bisect_right(rise, eff), turn))
        else:
            fall = [-x.effective_bpm for x in out[turn + 1:]]
            if not fall or not -fall[0] >= eff:
                return None
            j = turn + 1 + max(1, bisect.bisect_right(fall, -eff))
        a, b = out[j - 1], (out[j] if j < len(out) else None)
        if not (a.effective_bpm <= eff <= b.effective_bpm if j <= turn else
                a.effective_bpm >= eff and (b is None or eff >= b.effective_bpm)):
            return None
        artist = _artist(m.track)
        if artist is not None and artist in (_artist(a.track), _artist(b.track) if b else None):
            return None
        return j if i in (seg_of[j - 1], seg_of[j] if b is not None else None) else None

    active = {i for i, ms in by_seg.items() if ms}
    while active and deficit > 0:
        i = min(active, key=lambda i: (placed[i] / seg_lens[i], i))
        ms = by_seg[i]
        while ms:
            m = ms.pop(0)
            if m.path in used or deficit <= m.track.duration_s / 2:
                continue
            j = position(m, i)
            if j is None:
                continue  # no place now means no place later: insertions only split gaps
            out.insert(j, m)
            seg_of.insert(j, i)
            used.add(m.path)
            placed[i] += m.track.duration_s
            deficit -= m.track.duration_s
            if j <= turn:
                turn += 1
                if climax_index is not None:
                    climax_index += 1
            break
        if not ms:
            active.discard(i)
    return climax_index


def _spread_artists(out: list[Match], seg_of: list[int], profile: Profile) -> None:
    """Reorder tracks inside constant-tempo segments of unordered profiles so that the same
    artist does not play twice in a row where another order avoids it (swaps, in place)."""
    if profile.monotonic or profile.climax:
        return

    def clash(k: int) -> bool:
        if k <= 0 or k >= len(out):
            return False
        a, b = _artist(out[k - 1].track), _artist(out[k].track)
        return a is not None and a == b

    def clashes_around(ks) -> int:
        return sum(clash(k) for k in {k + d for k in ks for d in (0, 1)})

    for k in range(1, len(out)):
        if not clash(k) or seg_of[k] != seg_of[k - 1] or profile.segments[seg_of[k]].direction:
            continue
        for m in range(len(out)):
            if m in (k, k - 1) or seg_of[m] != seg_of[k]:
                continue
            before = clashes_around((k, m))
            out[k], out[m] = out[m], out[k]
            if clashes_around((k, m)) < before:
                break
            out[k], out[m] = out[m], out[k]


def _retarget(seg: Segment, bpm_end: float) -> Segment:
    """The segment with its ramp ending at ``bpm_end`` (the reserved climax's tempo)."""
    from dataclasses import replace

    lo = min(seg.bpm_start, bpm_end)
    tol = max(seg.tolerance_pct, 100 * (1 - seg.min_bpm / lo) + 1e-9) if lo > 0 else 0
    return replace(seg, bpm_end=bpm_end, tolerance_pct=min(tol, 50.0))


def _shortfalls(pool: Seq[TrackAnalysis], profile: Profile, out: Seq[Match], seg_of: Seq[int],
                seg_lens: Seq[float], exhausted: Seq[bool], slack: float, short_s: float
                ) -> tuple[Shortfall, ...]:
    """Segments (merged by name) that ran out of fitting music and hold less than they need
    by more than half a typical track; when none does but the playlist is short by more than
    that overall (``short_s``), every segment that ran dry and holds less than it needs."""
    placed = [0.0] * len(seg_lens)
    for m, i in zip(out, seg_of):
        placed[i] += m.track.duration_s
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(profile.segments):
        groups.setdefault(s.name, []).append(i)
    result = []
    short = {name: (sum(seg_lens[i] for i in idx), sum(placed[i] for i in idx))
             for name, idx in groups.items() if any(exhausted[i] for i in idx)}
    # a full-length playlist whose segment is a few percent short is not worth a warning
    over_slack = {n for n, (needed, got) in short.items() if needed - got > slack
                  and (needed - got > SHORT_FRACTION * needed or short_s > slack)}
    if not over_slack and short_s > slack:
        over_slack = {n for n, (needed, got) in short.items() if needed - got > 0}
    for name, idx in groups.items():
        if name not in over_slack:
            continue
        needed, got = short[name]
        seg = profile.segments[idx[0]]
        found = _fits_minutes(pool, seg, seg.ratios)
        result.append(Shortfall(name, needed, got, found, seg.describe_range(),
                                _suggestions(pool, seg, profile)))
    return tuple(result)
