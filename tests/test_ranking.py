"""Scoring and sequencing, on TrackAnalysis objects built in memory (no audio)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tempo.errors import PlaylistError
from tempo.models import Tags, TempoEstimate, TrackAnalysis
from tempo.profiles import Segment, get_profile, profile_from_dict
from tempo.ranking import (
    W_CONFIDENCE,
    best_ratio,
    build_sequence,
    energy_ranks,
    fitting,
    rank,
    score_track,
    unique_segments,
    unmatched,
)


def track(i: int, bpm: float | None, *, energy: float = 0.6, duration_s: float = 210.0,
          artist: str | None = None, confidence: float = 0.8, stable: bool = True,
          curve=()) -> TrackAnalysis:
    return TrackAnalysis(
        path=f"/music/{i:04d}.flac", size=1000 + i, mtime_ns=i, duration_s=duration_s,
        tempo=TempoEstimate(bpm=bpm, confidence=confidence if bpm else 0.0, stable=stable,
                            curve=tuple(curve)),
        energy=energy, tags=Tags(artist=artist or f"Artist {i % 7}", title=f"Song {i}"))


def library(n: int = 240, seed: int = 7, lo: float = 70, hi: float = 185) -> list[TrackAnalysis]:
    """A dense library; energy grows with tempo, like real music tends to."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        bpm = round(rng.uniform(lo, hi), 1)
        energy = min(1.0, max(0.0, (bpm - 60) / 130 + rng.gauss(0, 0.08)))
        out.append(track(i, bpm, energy=round(energy, 3), duration_s=rng.uniform(150, 330),
                         artist=f"Artist {rng.randrange(25)}",
                         confidence=round(rng.uniform(0.3, 1), 2)))
    return out


LIB = library()


# --------------------------------------------------------------------------- scoring

def test_score_is_the_sum_of_named_parts():
    seg = Segment("run", 10, 170, 170, 3, 0.6, 0.6, (1.0, 2.0))
    m = score_track(track(1, 170, energy=0.6, confidence=1.0), seg, fraction=0.5)
    names = [k for k, _ in m.parts]
    assert names == ["tempo_fit", "ratio", "energy_fit", "confidence", "stability", "length"]
    assert m.score == pytest.approx(sum(v for _, v in m.parts))
    assert m.score == pytest.approx(1.0)  # perfect on every part
    assert m.to_dict()["parts"]["tempo_fit"] == pytest.approx(0.45)


def test_half_time_track_serves_at_2x_with_a_small_penalty():
    seg = get_profile("cadence", spm=174).segments[0]
    m = score_track(track(1, 87.0), seg)
    assert (m.ratio, m.effective_bpm) == (2.0, 174.0)
    assert dict(m.parts)["ratio"] < 0
    assert score_track(track(2, 174.0), seg).score > m.score
    # not allowed where the segment does not say so
    assert score_track(track(1, 87.0), get_profile("steady", bpm=174).segments[0]) is None


def test_cycling_uses_half_of_a_fast_track():
    m = score_track(track(1, 180.0), get_profile("cycling", rpm=90).segments[0])
    assert (m.ratio, m.effective_bpm) == (0.5, 90.0)


@pytest.mark.parametrize("bpm", [None, 0.0, 150.0, 100.0])
def test_tracks_outside_the_range_do_not_fit(bpm):
    assert score_track(track(1, bpm), get_profile("steady", bpm=128).segments[0]) is None


def test_closer_tempo_and_better_confidence_and_stability_score_higher():
    seg = Segment("s", 10, 128, 128, 4)
    base = score_track(track(1, 128), seg, fraction=0.5)
    assert score_track(track(1, 131), seg, fraction=0.5).score < base.score
    low = score_track(track(1, 128, confidence=0.3), seg, fraction=0.5)
    assert base.score - low.score == pytest.approx(W_CONFIDENCE * 0.5)
    wobbly = score_track(track(1, 128, stable=False, curve=[(5, 120), (15, 136)]), seg,
                         fraction=0.5)
    assert dict(wobbly.parts)["stability"] < dict(base.parts)["stability"]
    assert score_track(track(1, 128, energy=0.1), seg, fraction=0.5).score < base.score
    short = score_track(track(1, 128, duration_s=30), seg, fraction=0.5)
    assert dict(short.parts)["length"] < dict(base.parts)["length"]


def test_energy_is_ranked_within_the_library():
    lib = [track(1, 120, energy=0.30), track(2, 120, energy=0.35), track(3, 120, energy=0.35),
           track(4, 120, energy=0.40)]
    ranks = energy_ranks(lib)
    assert [ranks[t.path] for t in lib] == [0.0, 0.5, 0.5, 1.0]
    assert energy_ranks(lib[:1]) == {lib[0].path: 0.5}
    # a library whose energies all read low still gets a rising montage energy
    quiet = [dataclasses.replace(t, energy=t.energy * 0.4) for t in LIB]
    seq = build_sequence(quiet, get_profile("montage"), minutes=45)
    e = [m.track.energy for m in seq.matches]
    assert sum(e[-3:]) / 3 > sum(e[:3]) / 3 + 0.1


def test_rank_lists_each_segment_best_first_with_a_limit():
    p = get_profile("montage")
    ms = rank(LIB, p, limit=5)
    assert [m.segment for m in ms] == ["warm-up"] * 5 + ["build"] * 5 + ["peak"] * 5
    for name in ("warm-up", "build", "peak"):
        scores = [m.score for m in ms if m.segment == name]
        assert scores == sorted(scores, reverse=True)
    hiit = rank(LIB, get_profile("hiit"), limit=3)
    assert [m.segment for m in hiit] == ["warm-up"] * 3 + ["work"] * 3 + ["rest"] * 3


# --------------------------------------------------------------------------- the arcs

def minutes_of(seq) -> float:
    return seq.duration_s / 60


def test_montage_builds_to_a_climax():
    seq = build_sequence(LIB, get_profile("montage"), minutes=45)
    bpms = [m.effective_bpm for m in seq.matches]
    assert not seq.shortfalls
    assert abs(seq.duration_s - 45 * 60) <= max(t.duration_s for t in seq.tracks)
    assert 111 <= bpms[0] <= 129                      # warm-up around 115-125
    assert bpms == sorted(bpms)                       # never falls
    assert seq.climax_index == len(bpms) - 1
    assert 140 <= bpms[-1] <= 165                     # a 140-160 peak (+tolerance)
    climax = seq.matches[-1].track
    peak = [m.track for m in seq.matches if m.segment == "peak"]
    assert climax.energy == max(t.energy for t in peak)
    assert bpms[-1] == max(bpms)
    energies = [m.track.energy for m in seq.matches]
    # energy rises too: each third is more intense than the one before
    thirds = [energies[: len(energies) // 3], energies[len(energies) // 3: 2 * len(energies) // 3],
              energies[2 * len(energies) // 3:]]
    means = [sum(x) / len(x) for x in thirds]
    assert means == sorted(means)
    steps = [b / a - 1 for a, b in zip(bpms, bpms[1:])]
    assert max(steps) < 0.08                          # smooth steps


def test_montage_cooldown_falls_after_the_climax():
    seq = build_sequence(LIB, get_profile("montage", cooldown=True), minutes=50)
    bpms = [m.effective_bpm for m in seq.matches]
    c = seq.climax_index
    assert bpms[: c + 1] == sorted(bpms[: c + 1]) and bpms[c] == max(bpms)
    tail = bpms[c + 1:]
    assert tail and tail == sorted(tail, reverse=True) and tail[0] < bpms[c]
    assert {m.segment for m in seq.matches[c + 1:]} == {"cool-down"}


def test_cadence_keeps_every_track_at_the_cadence():
    half_time = [track(9000 + i, 86.0 + i * 0.5, energy=0.7) for i in range(4)]
    seq = build_sequence(LIB + half_time, get_profile("cadence", spm=172), minutes=40)
    assert not seq.shortfalls
    for m in seq.matches:
        assert m.ratio in (1.0, 2.0)
        assert abs(m.track.bpm * m.ratio - 172) <= 172 * 0.03
    assert any(m.ratio == 2.0 for m in seq.matches)  # half-time tracks count at 2x


def test_cycling_keeps_every_track_at_the_pedal_rate_or_twice_it():
    seq = build_sequence(LIB, get_profile("cycling", rpm=88), minutes=30)
    for m in seq.matches:
        assert abs(m.track.bpm - 88) <= 88 * 0.03 or abs(m.track.bpm - 176) <= 176 * 0.03


def test_hiit_alternates_fast_work_and_slow_recovery():
    seq = build_sequence(LIB, get_profile("hiit", rounds=4, work=4, rest=3), minutes=31)
    blocks = []
    for m in seq.matches:
        if not blocks or blocks[-1][0] != m.segment:
            blocks.append((m.segment, []))
        blocks[-1][1].append(m.effective_bpm)
    assert [b[0] for b in blocks] == ["warm-up"] + ["work", "rest"] * 4
    for name, bpms in blocks[1:]:
        assert all(147 <= b <= 173 for b in bpms) if name == "work" else all(
            101 <= b <= 119 for b in bpms)


def test_steady_stays_within_the_tolerance():
    seq = build_sequence(LIB, get_profile("steady", bpm=128, tolerance=3), minutes=30)
    assert all(abs(m.effective_bpm - 128) <= 128 * 0.03 for m in seq.matches)
    assert abs(seq.duration_s - 1800) <= max(t.duration_s for t in seq.tracks)


def test_pyramid_rises_to_the_peak_and_falls_back():
    seq = build_sequence(LIB, get_profile("pyramid"), minutes=60)
    bpms = [m.effective_bpm for m in seq.matches]
    top = max(range(len(bpms)), key=lambda i: (bpms[i], -i))
    assert bpms[: top + 1] == sorted(bpms[: top + 1])
    assert bpms[top:] == sorted(bpms[top:], reverse=True)
    assert bpms[0] < 125 and bpms[-1] < 125 and bpms[top] >= 145


def test_same_artist_not_back_to_back_when_avoidable():
    seq = build_sequence(LIB, get_profile("montage"), minutes=45)
    artists = [m.track.tags.artist for m in seq.matches]
    assert all(a != b for a, b in zip(artists, artists[1:]))


def test_seed_varies_the_choice_and_is_repeatable():
    p = get_profile("steady", bpm=128, tolerance=5)
    paths = {s: [m.path for m in build_sequence(LIB, p, minutes=20, seed=s).matches]
             for s in (None, 1, 2)}
    assert paths[1] == [m.path for m in build_sequence(LIB, p, minutes=20, seed=1).matches]
    assert len({tuple(v) for v in paths.values()}) == 3


# --------------------------------------------------------------------------- shortfalls

def test_missing_peak_is_reported_precisely():
    lib = [t for t in LIB if t.bpm < 141]
    seq = build_sequence(lib, get_profile("montage"), minutes=45)
    short = {s.segment: s for s in seq.shortfalls}["peak"]
    assert short.message == "peak needs 13 min at 141-165 BPM, found 0 min"
    assert any("add folders with music at 141-165 BPM" in s for s in short.suggestions)
    # the time is still filled, with more of the build, and the tempo still only rises
    assert abs(seq.duration_s - 45 * 60) <= max(t.duration_s for t in lib)
    bpms = [m.effective_bpm for m in seq.matches]
    assert bpms == sorted(bpms) and seq.climax_index == len(bpms) - 1
    assert {m.segment for m in seq.matches} == {"warm-up", "build"}


def test_shortfall_suggests_half_time_when_it_would_help():
    lib = [track(i, 80 + i * 0.4, duration_s=200) for i in range(20)]  # 80-88 BPM only
    lib += [track(100, 168, duration_s=200)]
    seq = build_sequence(lib, get_profile("steady", bpm=168, tolerance=3), minutes=20)
    (short,) = seq.shortfalls
    assert short.message == "steady needs 20 min at 163-173 BPM, found 3.3 min"
    assert short.suggestions[0].startswith("allowing half-time (ratio 2) tracks would add")


def test_nothing_fits_is_an_error_not_an_empty_playlist():
    lib = [track(i, 100 + i) for i in range(10)]  # 1x and 2x both miss 180
    with pytest.raises(PlaylistError) as err:
        build_sequence(lib, get_profile("cadence", spm=180), minutes=30)
    assert str(err.value).startswith(
        "no track fits profile 'cadence': run needs 30 min at 175-185 BPM (1x, 2x), found 0 min")
    with pytest.raises(PlaylistError):
        build_sequence([], get_profile("montage"))
    with pytest.raises(PlaylistError, match="no detectable tempo"):
        build_sequence([track(1, None)], get_profile("montage"))


# --------------------------------------------------------------------------- properties

PROFILES = [("montage", {}), ("montage", {"cooldown": True}), ("cadence", {"spm": 165}),
            ("cycling", {}), ("hiit", {"rounds": 3}), ("steady", {"bpm": 120}), ("pyramid", {}),
            ("custom", {})]
CUSTOM = profile_from_dict({"climax": True, "segments": [
    {"name": "easy", "minutes": 5, "bpm": 120, "ratios": [1, 2]},
    {"name": "push", "minutes": 10, "bpm": [140, 170], "ratios": [0.5, 1, 2], "energy": [0.5, 1]},
    {"name": "easy", "minutes": 5, "bpm": 120},
    {"name": "down", "minutes": 5, "bpm": [130, 90], "tolerance_pct": 10}]})


@st.composite
def libraries(draw):
    n = draw(st.integers(1, 60))
    artists = draw(st.integers(1, 6))
    tracks = []
    for i in range(n):
        bpm = draw(st.one_of(st.none(), st.floats(60, 200)))
        tracks.append(track(
            i, None if bpm is None else round(bpm, 1),
            energy=draw(st.floats(0, 1)), duration_s=draw(st.floats(20, 480)),
            artist=f"A{draw(st.integers(0, artists - 1))}",
            confidence=draw(st.floats(0, 1))))
    return tracks


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lib=libraries(), which=st.sampled_from(PROFILES), minutes=st.floats(2, 90),
       seed=st.one_of(st.none(), st.integers(0, 10)), shuffle=st.randoms())
def test_sequencing_properties(lib, which, minutes, seed, shuffle):
    profile = CUSTOM if which[0] == "custom" else get_profile(which[0], **which[1])
    try:
        seq = build_sequence(lib, profile, minutes=minutes, seed=seed)
    except PlaylistError:
        # only when nothing in the library fits any segment
        assert not any(m for m in rank(lib, profile))
        return
    paths = [m.path for m in seq.matches]
    assert paths and len(paths) == len(set(paths))                  # never repeats
    longest = max(t.duration_s for t in lib)
    assert seq.duration_s <= minutes * 60 + longest                 # never far beyond the ask
    if not seq.shortfalls:
        assert abs(seq.duration_s - minutes * 60) <= longest       # within one track's length
    for m in seq.matches:                                           # every track fits its segment
        seg = next(s for s in profile.segments if s.name == m.segment)
        assert seg.min_bpm - 1e-9 <= m.effective_bpm <= seg.max_bpm + 1e-9
    if profile.monotonic and seq.climax_index is not None:
        bpms = [m.effective_bpm for m in seq.matches[: seq.climax_index + 1]]
        assert bpms == sorted(bpms)                                 # never falls before the climax
    shuffled = list(lib)
    shuffle.shuffle(shuffled)
    again = build_sequence(shuffled, profile, minutes=minutes, seed=seed)
    assert [m.path for m in again.matches] == paths                 # deterministic


# --------------------------------------------------------------------------- the turn of the arc

def test_cooldown_never_rises_above_a_climax_from_the_build():
    """Issue 13: with no track for the peak, the build's last track is the climax; a faster
    track the build had no time for must not open the cool-down above it."""
    lib = [track(0, 120, energy=0.3, duration_s=200), track(1, 129, energy=0.5, duration_s=300),
           track(2, 134, energy=0.6, duration_s=420)]  # nothing reaches the peak (141+)
    seq = build_sequence(lib, get_profile("montage", cooldown=True), minutes=18)
    bpms = [m.effective_bpm for m in seq.matches]
    c = seq.climax_index
    assert c is not None and seq.matches[c].segment == "build"
    assert bpms[: c + 1] == sorted(bpms[: c + 1])
    assert all(b <= bpms[c] for b in bpms[c + 1:]), bpms


TURN_PROFILES = [("montage", {"cooldown": True}), ("pyramid", {})]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lib=libraries(), which=st.sampled_from(TURN_PROFILES), minutes=st.floats(2, 90),
       seed=st.one_of(st.none(), st.integers(0, 10)))
def test_tempo_never_falls_before_the_turn_nor_rises_after_it(lib, which, minutes, seed):
    profile = get_profile(which[0], **which[1])
    try:
        seq = build_sequence(lib, profile, minutes=minutes, seed=seed)
    except PlaylistError:
        return
    bpms = [m.effective_bpm for m in seq.matches]
    # the turn: the climax (montage), else the last track of the rising stretch (pyramid)
    last_rising = max(i for i, s in enumerate(profile.segments) if s.direction > 0)
    rising = {s.name for s in profile.segments[: last_rising + 1]}
    turn = seq.climax_index
    if turn is None:
        turn = max((k for k, m in enumerate(seq.matches) if m.segment in rising), default=-1)
    if turn < 0:  # nothing in the rising stretch: the falling one alone never rises
        assert bpms == sorted(bpms, reverse=True)
        return
    assert bpms[: turn + 1] == sorted(bpms[: turn + 1])
    assert bpms[turn:] == sorted(bpms[turn:], reverse=True)


# --------------------------------------------------------------------------- the fit rule

def test_fit_rule_edges():
    seg = Segment("run", 10, 170, 170, 3, ratios=(1.0, 2.0))
    lib = [track(1, 170 * 0.97), track(2, 170 * 0.97 - 0.01), track(3, 85.0), track(4, None),
           track(5, 175.1), track(6, 175.11)]
    fits = dict((t.path, f) for t, f in fitting(lib, seg))
    assert fits == {lib[0].path: [(1.0, 170 * 0.97)], lib[2].path: [(2.0, 170.0)],
                    lib[4].path: [(1.0, 175.1)]}
    # other ratios and a wider tolerance, as the shortfall suggestions ask
    assert [t.path for t, _ in fitting(lib, seg, ratios=(1.0,))] == [lib[0].path, lib[4].path]
    assert len(list(fitting(lib, seg, tolerance_pct=6))) == 5  # 159.8-180.2 BPM


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lib=libraries(), which=st.sampled_from(PROFILES))
def test_one_fit_rule_everywhere(lib, which):
    """Scoring, ranking, the unmatched list and the sequencer all accept exactly what
    ``fitting`` accepts."""
    profile = CUSTOM if which[0] == "custom" else get_profile(which[0], **which[1])
    fit_any = set()
    for seg in unique_segments(profile):
        fit = {t.path for t, _ in fitting(lib, seg)}
        fit_any |= fit
        assert fit == {t.path for t in lib if best_ratio(t, seg) is not None}
        assert fit == {t.path for t in lib if score_track(t, seg) is not None}
        assert fit == {m.path for m in rank(lib, profile) if m.segment == seg.name} or any(
            s.name == seg.name and s != seg for s in profile.segments)
    assert {t.path for t in unmatched(lib, profile)} == {t.path for t in lib} - fit_any
    try:
        seq = build_sequence(lib, profile, minutes=30)
    except PlaylistError:
        assert not fit_any or all(not t.duration_s for t in lib)
        return
    for m in seq.matches:
        segs = [s for s in profile.segments if s.name == m.segment]
        assert any(m.path in {t.path for t, _ in fitting([m.track], s)} for s in segs)
