"""analyze_file end to end on synthetic files of known tempo, and its result type."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tempo
from tempo import DecodeError, EmptyAudioError, TrackAnalysis


def test_steady_fixtures_within_one_percent_at_the_right_octave_or_honestly_unsure(tempo_set,
                                                                                 analyzed_set):
    # every steady fixture's tempo within 1 %; at the right octave, or else with confidence
    # under 0.5 and the right tempo as the second candidate (the bare drum-and-bass pattern)
    right = 0
    for row in tempo_set:
        if not row["stable"]:
            continue
        ta, name = analyzed_set[row["path"]], os.path.basename(row["path"])
        assert ta.tempo.stable, name
        if ta.bpm == pytest.approx(row["bpm"], rel=0.01):
            right += 1
            continue
        assert ta.tempo.confidence < 0.5, (name, ta.tempo)
        assert any(b == pytest.approx(row["bpm"], rel=0.01) for b, _ in ta.tempo.candidates[:2]), name
    assert right >= sum(r["stable"] for r in tempo_set) - 1


def test_dnb_174_is_right_or_honestly_unsure(tempo_set, analyzed_set):
    # bare noise-burst drums in drum and bass's two-step: version 10 put 174 first by 0.43 to
    # 0.42, version 11 87 by 0.56 to 0.44; both with confidence 0.1 (tests/test_estimate.py
    # has the same pattern without the fixture's file formats)
    (row,) = [r for r in tempo_set if r["style"] == "dnb"]
    ta = analyzed_set[row["path"]]
    top2 = [b for b, _ in ta.tempo.candidates[:2]]
    for want in (174.0, 87.0):
        assert any(b == pytest.approx(want, abs=0.5) for b in top2), ta.tempo
    assert ta.bpm == pytest.approx(174.0, abs=0.5) or ta.tempo.confidence < 0.5


def test_candidates_include_half_and_double(analyzed_set):
    for ta in analyzed_set.values():
        bpms = [b for b, _ in ta.tempo.candidates]
        assert ta.bpm in bpms
        for ratio in (0.5, 2.0):
            target = ta.bpm * ratio
            if 30 <= target <= 460:
                assert any(abs(b - target) / target < 0.02 for b in bpms), (ta.path, ratio)
        strengths = [s for _, s in ta.tempo.candidates]
        assert all(0.0 <= s <= 1.0 for s in strengths)
        assert strengths == sorted(strengths, reverse=True)
        assert 0.0 <= ta.confidence <= 1.0


def test_ramp_is_flagged_unstable_with_a_rising_curve(tempo_set, analyzed_set):
    (row,) = [r for r in tempo_set if not r["stable"]]
    ta = analyzed_set[row["path"]]
    assert not ta.tempo.stable
    times = [t for t, _ in ta.tempo.curve]
    bpms = [b for _, b in ta.tempo.curve]
    assert times == sorted(times) and len(bpms) >= 3
    assert bpms[-1] > bpms[0] * 1.08  # 100 -> 120 BPM over the track
    assert 98 <= min(bpms) and max(bpms) <= 122


def test_result_fields(tempo_set, analyzed_set):
    row = tempo_set[0]
    ta = analyzed_set[row["path"]]
    st = os.stat(row["path"])
    assert ta.path == os.path.abspath(row["path"])
    assert (ta.size, ta.mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert ta.duration_s == pytest.approx(15.0, abs=0.1)
    assert ta.analyzer_version == tempo.ANALYZER_VERSION
    assert -40 < ta.loudness_lufs < 0
    assert 0 < ta.energy <= 1 and ta.onset_rate > 0
    assert round(ta.bpm, 1) == ta.bpm  # 0.1 BPM resolution


def test_json_round_trip(analyzed_set):
    for ta in analyzed_set.values():
        blob = json.dumps(ta.to_dict())
        assert TrackAnalysis.from_dict(json.loads(blob)) == ta


def test_energy_orders_sparse_below_dense(tmp_path, fixtures_mod):
    sr = 22050
    sparse = fixtures_mod.click_track(70, duration_s=12.0, sr=sr)
    dense = fixtures_mod.drum_pattern(170, style="dnb", duration_s=12.0, sr=sr)
    a = tempo.analyze_file(fixtures_mod.write_audio(str(tmp_path / "sparse.wav"), sparse, sr))
    b = tempo.analyze_file(fixtures_mod.write_audio(str(tmp_path / "dense.wav"), dense, sr))
    assert a.energy < b.energy
    assert a.onset_rate < b.onset_rate


def test_silence_gives_no_tempo_not_an_error(bad_inputs):
    ta = tempo.analyze_file(bad_inputs["silence"])
    assert ta.bpm is None and ta.confidence == 0.0
    assert ta.loudness_lufs is None
    assert ta.duration_s == pytest.approx(10.0, abs=0.01)


def test_too_short_for_a_tempo_is_a_result_without_one(bad_inputs, tmp_path, fixtures_mod):
    """Below the estimator's minimum length a file is analysed (duration, loudness) but gets
    no tempo; a little above it, the same beat gets its tempo."""
    from tempo.estimate import MIN_DURATION_S

    ta = tempo.analyze_file(bad_inputs["short"])
    assert ta.duration_s == pytest.approx(2.0, abs=0.01) and ta.duration_s < MIN_DURATION_S
    assert ta.bpm is None and ta.confidence == 0.0 and ta.loudness_lufs is not None
    longer = str(tmp_path / "five.wav")
    fixtures_mod.write_audio(longer, fixtures_mod.drum_pattern(120.0, duration_s=MIN_DURATION_S + 2,
                                                               sr=22050), 22050)
    assert tempo.analyze_file(longer).bpm == pytest.approx(120.0, rel=0.02)


def test_truncated_mp3_analyses_what_is_there(bad_inputs):
    ta = tempo.analyze_file(bad_inputs["truncated"])
    assert 4.0 < ta.duration_s < 8.0
    assert ta.bpm == pytest.approx(128.0, rel=0.02)


@pytest.mark.parametrize("kind,error", [("empty", EmptyAudioError), ("text", DecodeError)])
def test_bad_files_raise_named_errors(bad_inputs, kind, error):
    with pytest.raises(error) as err:
        tempo.analyze_file(bad_inputs[kind])
    assert os.path.basename(bad_inputs[kind]) in str(err.value)


def test_white_noise_is_low_confidence(tmp_path, fixtures_mod):
    y = np.random.default_rng(3).uniform(-0.3, 0.3, 15 * 22050).astype(np.float32)
    ta = tempo.analyze_file(fixtures_mod.write_audio(str(tmp_path / "noise.flac"), y, 22050))
    assert ta.confidence < 0.5


def test_loudness_at_analysis_rate_is_close_to_full_band(tempo_set, analyzed_set):
    """Loudness is metered on the resampled channels (above 5.5 kHz left out): within 1 LU of a
    full-band BS.1770 meter on the drums fixtures (hi-hats are the worst case for this)."""
    from tempo.audio import AudioStream
    from tempo.loudness import integrated_loudness

    for row in tempo_set:
        with AudioStream(row["path"]) as stream:
            y = np.concatenate(list(stream.blocks()))
            full = integrated_loudness(y, stream.info.sample_rate)
        assert analyzed_set[row["path"]].loudness_lufs == pytest.approx(full, abs=1.0), row["path"]


def _committed_fixture_files():
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
    out = []
    for sub in ("audio", "library"):
        folder = os.path.join(root, sub)
        out += [os.path.join(folder, f) for f in sorted(os.listdir(folder))
                if f.rsplit(".", 1)[-1] in ("wav", "flac", "mp3", "ogg", "m4a")]
    return out


def test_reported_tempo_is_the_strongest_candidate_on_the_committed_fixtures():
    # issue 13: strengths must be comparable across levels. The half-time reading used to
    # come first (its comb sums the beat's own multiples), so JSON, CSV and plots suggested
    # the level the estimator had just rejected.
    files = _committed_fixture_files()
    assert len(files) == 39
    for path in files:
        ta = tempo.analyze_file(path)
        assert ta.bpm is not None, path
        (first_bpm, first_s), *rest = ta.tempo.candidates
        assert first_bpm == ta.bpm, (os.path.basename(path), ta.tempo.candidates)
        assert all(s <= first_s for _, s in rest), (os.path.basename(path), ta.tempo.candidates)
        if ta.confidence >= 0.8:
            # a confident level: its half and double are clearly weaker
            for b, s in rest:
                if abs(b / ta.bpm - 0.5) < 0.01 or abs(b / ta.bpm - 2.0) < 0.01:
                    assert s < 0.8 * first_s, (os.path.basename(path), ta.tempo.candidates)
