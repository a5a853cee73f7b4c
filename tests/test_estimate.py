"""Tempo estimation on synthetic drum patterns and click tracks of known tempo (no files).

Tolerances: the right metrical level within 0.5 % (the accuracy issue's regression bar), and
0.1 BPM on steady click tracks (the resolution the product promises).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tempo.estimate import (DOUBLE_ABOVE, decide_level, eighth_note_evidence, estimate_tempo,
                            prepare_envelopes, refine_bpm, windowed_acf)
from tempo.features import extract_features
from tempo.models import MAX_BPM, MIN_BPM, TempoEstimate

SR = 11025


def _kick(sr, rng):
    t = np.arange(int(0.25 * sr)) / sr
    f = 50 + 70 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.12)


def _snare(sr, rng):
    t = np.arange(int(0.2 * sr)) / sr
    return 0.5 * rng.standard_normal(t.size) * np.exp(-t / 0.07) + 0.5 * np.sin(
        2 * np.pi * 190 * t) * np.exp(-t / 0.05)


def _hat(sr, rng):
    t = np.arange(int(0.06 * sr)) / sr
    return 0.35 * np.diff(rng.standard_normal(t.size + 2), 2) / 2 * np.exp(-t / 0.015)


def drum_track(bpm, pattern, *, duration_s=20.0, sr=SR, steps_per_beat=4, swing=0.5, seed=0,
               bpm_end=None):
    """Mono drums: ``pattern`` maps kick/snare/hat to a step string ('X' loud, 'x' soft).

    ``swing`` delays every odd step (0.5 = straight); ``bpm_end`` ramps the tempo linearly.
    """
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration_s * sr) + sr)
    voices = {"kick": _kick(sr, rng), "snare": _snare(sr, rng), "hat": _hat(sr, rng)}
    bpm_end = bpm if bpm_end is None else bpm_end
    for name, pat in pattern.items():
        hit = voices[name]
        t, step = 0.0, 0
        while t < duration_s:
            c = pat[step % len(pat)]
            b = bpm + (bpm_end - bpm) * t / duration_s
            step_s = 60.0 / b / steps_per_beat
            if c != ".":
                at = t + ((swing - 0.5) * 2 * step_s if step % 2 else 0.0)
                i = int(round(at * sr))
                seg = hit * (1.0 if c == "X" else 0.5)
                y[i:i + seg.size] += seg[: y.size - i]
            t += step_s
            step += 1
    return (0.3 * y[: int(duration_s * sr)]).astype(np.float32)


PATTERNS = {
    "four_on_floor": dict(kick="X...X...X...X...", snare="....X.......X...", hat="..x...x...x...x."),
    "backbeat": dict(kick="X.......X.x.....", snare="....X.......X...", hat="x.x.x.x.x.x.x.x."),
    "dnb_two_step": dict(kick="X.........X.....", snare="....X.......X...", hat="x.x.x.x.x.x.x.x."),
    "ballad": dict(kick="X.......x.x.....", snare="....x.......x...", hat="x.x.x.x.x.x.x.x."),
    "boom_bap_16ths": dict(kick="X......X..X.....", snare="....X.......X...", hat="xxxxxxxxxxxxxxxx"),
    "half_time": dict(kick="X......X..X.....", snare="........X.......", hat="x.x.x.x.x.x.x.x."),
    "skate_polka": dict(kick="X...X...X...X...", snare="..x...x...x...x.", hat="x.x.x.x.x.x.x.x."),
    "waltz": dict(kick="X...........", snare="....x...x...", hat="x.x.x.x.x.x."),
    "shuffle_triplets": dict(kick="X.....X.....", snare="...X.....X..", hat="x.xx.xx.xx.x"),
    "bare_backbeat": dict(kick="X.......X.......", snare="....X.......X..."),
    "bare_four_on_floor": dict(kick="X...X...X...X...", snare="....x.......x..."),
    "click": dict(snare="X..."),
}

CASES = [
    ("four_on_floor", 128.0, {}),
    ("backbeat", 100.0, {}),
    ("backbeat", 140.0, {}),
    ("backbeat", 180.0, {}),
    ("bare_backbeat", 128.0, {}),
    ("bare_four_on_floor", 124.0, {}),
    ("ballad", 72.0, {}),
    ("boom_bap_16ths", 90.0, {"swing": 0.58}),
    ("skate_polka", 180.0, {}),
    ("waltz", 150.0, {}),
    ("shuffle_triplets", 100.5, {"steps_per_beat": 3}),
]


@pytest.mark.parametrize("name,bpm,kw", CASES, ids=[f"{c[0]}-{c[1]:g}" for c in CASES])
def test_drum_patterns_at_the_right_level(name, bpm, kw):
    est = estimate_tempo(extract_features(drum_track(bpm, PATTERNS[name], **kw), sr=SR))
    assert est.bpm is not None
    assert abs(est.bpm - bpm) <= 0.005 * bpm, (name, bpm, est.bpm, est.candidates)


def _assert_right_or_honestly_unsure(bpm, pattern, *, also=None):
    """A bare pattern tapped at ``bpm``: the estimate reports its first candidate, ``bpm`` (and
    ``also``, the other reading, when given) is among the first two, and a reading other than
    ``bpm`` comes with confidence under 0.5. Within 0.5 % of each tempo."""
    est = estimate_tempo(extract_features(drum_track(bpm, pattern), sr=SR))
    top2 = [b for b, _ in est.candidates[:2]]
    assert est.candidates[0][0] == est.bpm
    for want in (bpm,) if also is None else (bpm, also):
        assert any(abs(b - want) <= 0.005 * want for b in top2), (want, est)
    assert abs(est.bpm - bpm) <= 0.005 * bpm or est.confidence < 0.5, est


def test_slow_waltz_drums_are_right_or_honestly_unsure():
    # a bare waltz pattern at 90 (kick on 1, snare on 2 and 3, eighth hats) is tapped at 90.
    # Version 9's level model, which learned from real recordings as well (nearly all in 4),
    # is torn between 90 and the eighths at 180 here: it may report either, but then with
    # low confidence and both readings first. Real waltz songs (the waltz, jazzwaltz and
    # viennese styles) are read right; this is the bare pattern, with no bass or chords.
    _assert_right_or_honestly_unsure(90.0, PATTERNS["waltz"])


def test_bare_dnb_two_step_is_right_or_honestly_unsure():
    # drum and bass's two-step (kick on 1 and the "and" of 3, snare on 2 and 4, eighth hats)
    # at 174, with nothing but noise-burst drums. Since version 10 the level model also weighs
    # what kind of music the track is (tempo.estimate.material_cues), and these bare synthetic
    # drums lean it to the half, 87, which a workout accepts for drum and bass; it may report
    # either, but then with low confidence and 174 beside it. Drum and bass songs (the dev
    # corpus's dnb, jungle) are read at 174.
    _assert_right_or_honestly_unsure(174.0, PATTERNS["dnb_two_step"], also=87.0)


def test_half_time_groove_is_right_or_honestly_unsure():
    # a bare half-time groove (snare on 3, eighth hats) at 140 is the tapped 140 or its half:
    # the level model may prefer either, but then not confidently, and both readings are
    # offered with the reported one first
    _assert_right_or_honestly_unsure(140.0, PATTERNS["half_time"], also=70.0)


@pytest.mark.parametrize("bpm", [72.0, 90.0, 100.5, 128.0, 140.0, 174.0, 180.0])
def test_click_tracks_read_to_a_tenth_of_a_bpm(bpm):
    est = estimate_tempo(extract_features(drum_track(bpm, PATTERNS["click"]), sr=SR))
    assert est.bpm == pytest.approx(bpm, abs=0.1)
    assert est.stable
    assert est.confidence >= 0.5


@pytest.mark.parametrize("sr", [8000, 22050, 44100])
def test_other_analysis_rates_agree(sr):
    y = drum_track(128.0, PATTERNS["backbeat"], sr=sr, duration_s=15.0)
    est = estimate_tempo(extract_features(y, sr=sr))
    assert est.bpm == pytest.approx(128.0, abs=0.2)


def test_result_shape_candidates_and_json():
    est = estimate_tempo(extract_features(drum_track(120.0, PATTERNS["backbeat"]), sr=SR))
    assert isinstance(est, TempoEstimate)
    assert est.bpm == pytest.approx(120.0, abs=0.1)
    assert 0.0 <= est.confidence <= 1.0
    bpms = [b for b, _ in est.candidates]
    strengths = [s for _, s in est.candidates]
    # half and double always; 2/3 and 3/2 when within the BPM range; x3 (360) is not
    assert est.bpm in bpms and 60.0 in bpms and 240.0 in bpms and 360.0 not in bpms
    assert any(abs(b - 80.0) < 0.1 for b in bpms) and any(abs(b - 180.0) < 0.1 for b in bpms)
    assert strengths == sorted(strengths, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in strengths)
    # plain JSON types only, and a lossless round trip
    d = json.loads(json.dumps(est.to_dict()))
    assert TempoEstimate.from_dict(d) == est
    assert all(type(b) is float for b, _ in est.candidates)
    assert est.curve and all(type(t) is float and type(b) is float for t, b in est.curve)


def test_tempo_ramp_is_flagged_unstable_and_curve_follows_it():
    y = drum_track(120.0, PATTERNS["backbeat"], duration_s=60.0, bpm_end=132.0)
    est = estimate_tempo(extract_features(y, sr=SR), curve_window_s=10.0)
    assert not est.stable
    assert est.drift > 0.04
    times = [t for t, _ in est.curve]
    assert times == sorted(times) and len(est.curve) >= 4
    assert est.curve[0][1] < 124.0 < 128.0 < est.curve[-1][1]
    assert 120.0 < est.bpm < 132.0


def test_steady_track_is_stable_with_a_flat_curve():
    est = estimate_tempo(extract_features(drum_track(140.0, PATTERNS["backbeat"], duration_s=40.0), sr=SR))
    assert est.stable
    assert all(abs(b - 140.0) < 1.0 for _, b in est.curve)


@pytest.mark.parametrize("kind", ["silence", "too_short", "empty"])
def test_no_beat_gives_none(kind):
    n = {"silence": 10 * SR, "too_short": 2 * SR, "empty": 0}[kind]
    est = estimate_tempo(extract_features(np.zeros(n, np.float32), sr=SR))
    assert est.bpm is None and est.confidence == 0.0 and est.candidates == ()


def test_noise_is_not_confident():
    y = (0.1 * np.random.default_rng(3).standard_normal(20 * SR)).astype(np.float32)
    est = estimate_tempo(extract_features(y, sr=SR))
    assert est.bpm is None or est.confidence < 0.5


def test_bpm_range_is_respected():
    feats = extract_features(drum_track(174.0, PATTERNS["dnb_two_step"]), sr=SR)
    est = estimate_tempo(feats, min_bpm=60.0, max_bpm=120.0)
    assert est.bpm == pytest.approx(87.0, abs=0.2)
    assert all(60.0 <= b <= 120.0 for b, _ in est.candidates if b not in (43.5, 174.0))


@pytest.mark.parametrize("kw", [dict(min_bpm=0), dict(min_bpm=200, max_bpm=100), dict(curve_window_s=0)])
def test_bad_arguments_raise_value_error_naming_them(kw):
    feats = extract_features(drum_track(120.0, PATTERNS["click"], duration_s=5.0), sr=SR)
    with pytest.raises(ValueError, match="min_bpm|curve_window_s"):
        estimate_tempo(feats, **kw)


def test_refine_bpm_is_finer_than_the_lag_grid():
    fps = 86.1328125
    n = int(60 * fps)
    t = np.arange(n) / fps
    env = np.maximum(np.cos(2 * np.pi * t * 173.3 / 60), 0) ** 8
    assert refine_bpm(env, fps, 172.3) == pytest.approx(173.3, abs=0.05)


def test_decide_level_doubles_a_slow_reading_with_fast_eighths():
    feats = extract_features(drum_track(174.0, PATTERNS["dnb_two_step"]), sr=SR)
    acf = windowed_acf(prepare_envelopes(feats), feats.fps, max_lag=600)
    level, margin = decide_level(87.0, acf, feats.fps, min_bpm=MIN_BPM, max_bpm=MAX_BPM)
    assert level == pytest.approx(174.0) and 0.0 <= margin <= 1.0


def _level(y, bpm):
    feats = extract_features(y, sr=SR)
    acf = windowed_acf(prepare_envelopes(feats), feats.fps, max_lag=600)
    level, margin = decide_level(bpm, acf, feats.fps, min_bpm=MIN_BPM, max_bpm=MAX_BPM)
    assert 0.0 <= margin <= 1.0
    return level, eighth_note_evidence(acf, feats.fps, 2 * bpm)


def test_decide_level_doubles_a_fast_backbeat_with_weak_eighths():
    # punk at 180 read as 90: kick on 1 and 3, snare on 2 and 4 (on every beat of the 90
    # reading), quiet eighth notes: too weak alone to double, the backbeat decides
    kit = dict(kick="X.......X.......", snare="....X.......X...")
    y = drum_track(180.0, kit) + 0.1 * drum_track(180.0, dict(hat="X.X.X.X.X.X.X.X."), seed=1)
    level, eighths = _level(y, 90.0)
    assert eighths < DOUBLE_ABOVE
    assert level == pytest.approx(180.0)


@pytest.mark.parametrize("name,bpm,kit,swing", [
    ("boom_bap", 90.0, dict(kick="X......X..X.....", snare="....X.......X..."), 0.58),
    ("funk", 105.0, dict(kick="X..X......X..X..", snare="....X..x.x..X..."), 0.56),
    ("dembow", 95.0, dict(kick="X...X...X...X...", snare="...X..X....X..X."), 0.5),
])
def test_decide_level_keeps_slow_grooves_with_sixteenths(name, bpm, kit, swing):
    # a snare on every other beat (boom-bap, funk) or a 3-3-2 (dembow): the slow reading stays
    y = drum_track(bpm, kit, swing=swing) + 0.1 * drum_track(
        bpm, dict(hat="xxxxxxxxxxxxxxxx"), swing=swing, seed=1)
    level, _ = _level(y, bpm)
    assert level == pytest.approx(bpm), name


@pytest.mark.parametrize("bpm", [100.0, 108.0])
def test_duple_groove_with_a_bass_in_threes_stays_duple(bpm):
    # a kick every three beats over a 4/4 backbeat with eighth notes (a funk bass figure that
    # cycles in threes): the beat splits in two, so the 3/4 rule must not decide the level
    kit = dict(kick="X...........", snare="....X.......X...", hat="x.x.x.x.x.x.x.x.")
    est = estimate_tempo(extract_features(drum_track(bpm, kit, duration_s=30.0), sr=SR))
    assert est.bpm == pytest.approx(bpm, rel=0.01)


@pytest.mark.parametrize("bpm", [92.0, 100.0, 104.0, 108.0])
def test_straight_sixteenth_groove_is_not_doubled(bpm):
    # kick on 1 and 3, snare on 2 and 4, a straight 16th hi-hat: the hats look like eighth
    # notes of twice the tempo, but kick and snare alternate on the slow beats (a backbeat at
    # ``bpm``), so neither the estimate nor the level decision, from either octave, doubles it
    kit = dict(kick="X.......X.......", snare="....X.......X...", hat="xxxxxxxxxxxxxxxx")
    y = drum_track(bpm, kit)
    est = estimate_tempo(extract_features(y, sr=SR))
    assert est.bpm == pytest.approx(bpm, rel=0.005), (bpm, est.bpm, est.candidates)
    assert _level(y, bpm)[0] == pytest.approx(bpm)
    assert _level(y, 2 * bpm)[0] == pytest.approx(bpm)
