"""Workout profiles: the arcs the built-ins promise, TOML round trips, and clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from tempo.cli import cli
from tempo.errors import ProfileError
from tempo.profiles import (
    BUILTIN,
    DEFAULT_PROFILE,
    Segment,
    get_profile,
    list_profiles,
    load_profile,
    profile_from_dict,
    profile_to_toml,
    resolve_profile,
)


def test_every_builtin_has_a_one_line_description():
    names = [n for n, _ in list_profiles()]
    assert names == ["montage", "cadence", "cycling", "hiit", "steady", "pyramid"]
    assert DEFAULT_PROFILE == "montage"
    for _, description in list_profiles():
        assert description and "\n" not in description and len(description) < 120


@pytest.mark.parametrize("name,options", [
    ("montage", {}), ("montage", {"cooldown": True}), ("cadence", {"spm": 180}),
    ("cycling", {"rpm": 85}), ("hiit", {"rounds": 3, "work": 2, "rest": 1.5}),
    ("steady", {"bpm": 140, "tolerance": 2.5}), ("pyramid", {}),
])
def test_toml_round_trip(tmp_path, name, options):
    profile = get_profile(name, **options)
    path = tmp_path / f"{name}.toml"
    path.write_text(profile_to_toml(profile), encoding="utf-8")
    loaded = load_profile(path)
    assert loaded == dataclasses.replace(profile, source=str(path))
    assert get_profile(str(path)) == loaded


def test_montage_rises_from_warm_up_to_peak():
    p = get_profile("montage")
    assert [s.name for s in p.segments] == ["warm-up", "build", "peak"]
    assert p.monotonic and p.climax
    warm, peak = p.segments[0], p.segments[-1]
    assert 115 <= warm.bpm_start < warm.bpm_end <= 125
    assert 140 <= peak.bpm_start < peak.bpm_end <= 160
    for a, b in zip(p.segments, p.segments[1:]):
        assert a.bpm_end <= b.bpm_start and a.energy_end <= b.energy_start
    assert all(s.direction > 0 and s.energy_end > s.energy_start for s in p.segments)


def test_montage_cooldown_adds_a_falling_tail():
    p = get_profile("montage", cooldown=True)
    assert p.segments[-1].name == "cool-down"
    assert p.segments[-1].direction < 0 and p.segments[-1].energy_end < p.segments[-2].energy_end
    assert [s.name for s in p.segments[:-1]] == ["warm-up", "build", "peak"]


def test_cadence_accepts_1x_and_2x_within_3_percent():
    (seg,) = get_profile("cadence", spm=170).segments
    assert seg.ratios == (1.0, 2.0)
    assert seg.min_bpm == pytest.approx(170 * 0.97) and seg.max_bpm == pytest.approx(170 * 1.03)
    assert get_profile("cadence").segments[0].bpm_start == 170


def test_cycling_accepts_the_pedal_rate_or_twice_it():
    (seg,) = get_profile("cycling", rpm=90).segments
    assert seg.ratios == (1.0, 0.5)  # a 180 BPM track at ratio 0.5 serves 90 rpm
    assert seg.bpm_start == seg.bpm_end == 90


def test_hiit_alternates_work_and_recovery():
    p = get_profile("hiit", rounds=4, work=3, rest=2)
    names = [s.name for s in p.segments]
    assert names == ["warm-up"] + ["work", "rest"] * 4
    work, rest = p.segments[1], p.segments[2]
    assert work.minutes == 3 and rest.minutes == 2
    assert work.min_bpm > rest.max_bpm and work.energy_start > rest.energy_start


@pytest.mark.parametrize("minutes,options,rounds,planned", [
    (None, {}, 6, 45.0),                               # 3 + 6 x (4 + 3): the rounds' length
    (None, {"rounds": 2, "work": 3, "rest": 2}, 2, 13.0),
    (24, {}, 3, 24.0),                                 # the rounds follow the minutes
    (24, {"rounds": 2}, 2, 24.0),                      # both given: the blocks stretch
    (33, {"work": 2, "rest": 1}, 10, 33.0),            # rounds of the given work + rest
    (1, {}, 1, 1.0),                                   # at least one round
])
def test_resolve_profile_reconciles_hiit_rounds_and_minutes(minutes, options, rounds, planned):
    profile, plan_minutes = resolve_profile("hiit", minutes=minutes, **options)
    assert [s.name for s in profile.segments].count("work") == rounds
    assert plan_minutes == planned
    assert profile == get_profile("hiit", **{**options, "rounds": rounds})


def test_resolve_profile_stretches_every_other_profile(tmp_path):
    for name, options in [("montage", {"cooldown": True}), ("cadence", {"spm": 175}),
                          ("cycling", {}), ("steady", {"bpm": 130, "tolerance": None}),
                          ("pyramid", {}), (None, {})]:
        assert resolve_profile(name, **options) == (get_profile(name, **options), 45.0)
        assert resolve_profile(name, minutes=30, **options)[1] == 30.0
    # a profile file is taken as written, even one named hiit
    path = tmp_path / "hiit.toml"
    path.write_text(profile_to_toml(get_profile("hiit", rounds=2)), encoding="utf-8")
    profile, minutes = resolve_profile(str(path), minutes=60)
    assert ([s.name for s in profile.segments].count("work"), minutes) == (2, 60.0)
    with pytest.raises(ProfileError, match="option --rounds does not apply"):
        resolve_profile("montage", minutes=30, rounds=3)
    with pytest.raises(ProfileError, match="must be a positive number"):
        resolve_profile("hiit", minutes=0)


def test_steady_holds_one_tempo_with_a_tolerance():
    (seg,) = get_profile("steady", bpm=128, tolerance=2).segments
    assert (seg.min_bpm, seg.max_bpm) == (pytest.approx(125.44), pytest.approx(130.56))


def test_pyramid_rises_then_falls():
    p = get_profile("pyramid")
    dirs = [s.direction for s in p.segments]
    assert dirs == [1, 1, 1, -1] and p.monotonic
    assert p.segments[-1].bpm_end < p.segments[2].bpm_end


def test_segment_targets_ramp_linearly():
    s = Segment("build", 10, 120, 140, 3, 0.4, 0.8)
    assert s.target_bpm(0) == 120 and s.target_bpm(0.5) == 130 and s.target_bpm(2) == 140
    assert s.target_energy(0.5) == pytest.approx(0.6)


@pytest.mark.parametrize("name,options,message", [
    ("nope", {}, "unknown profile 'nope' (choose one of montage, cadence, cycling, hiit, "
                 "steady, pyramid, or give a .toml file)"),
    ("montage", {"spm": 170}, "option --spm does not apply to profile 'montage' "
                              "(it applies to: cadence)"),
    ("cadence", {"spm": 5}, "spm=5 is outside 40..250"),
    ("hiit", {"rounds": 0}, "rounds=0 must be a whole number in 1..50"),
    ("steady", {"tolerance": 0}, "tolerance=0 percent must be in (0, 50]"),
])
def test_bad_profile_options(name, options, message):
    with pytest.raises(ProfileError) as err:
        get_profile(name, **options)
    assert str(err.value) == message


GOOD = {"name": "mine", "segments": [{"minutes": 10, "bpm": [120, 140]}]}


@pytest.mark.parametrize("data,message", [
    ({**GOOD, "segmnts": []}, "segmnts: unknown key (allowed: name, description, monotonic, "
                              "climax, segments)"),
    ({"name": "x"}, "segments: missing or empty (allowed: one or more [[segments]] tables)"),
    ({"segments": "fast"}, "segments: 'fast' is not a list of tables (allowed: one or more "
                           "[[segments]] tables)"),
    ({"segments": [3]}, "segments[0]: must be a table (allowed: [[segments]] with name, minutes, "
                        "bpm, tolerance_pct, energy, ratios)"),
    ({"segments": [{"minutes": 5}]}, "segments[0].bpm: missing (allowed: a number or [from, to])"),
    ({"segments": [{"minutes": 5, "bpm": 120, "tempo": 3}]},
     "segments[0].tempo: unknown key (allowed: name, minutes, bpm, tolerance_pct, energy, ratios)"),
    ({"segments": [{"minutes": 5, "bpm": 120, "ratios": [1, 3]}]},
     "segments[0].ratios: 3 is not allowed (allowed: 0.5, 1, 2)"),
    ({"segments": [{"minutes": 5, "bpm": 120, "energy": [0.2, 1.5]}]},
     "segments[0].energy: 1.5 is out of range (allowed: energy in 0..1)"),
    ({"segments": [{"minutes": 5, "bpm": "fast"}]},
     "segments[0].bpm: 'fast' must be a number or [from, to] (allowed: BPM in 40..250)"),
    ({"segments": [{"minutes": -1, "bpm": 120}]},
     "segments[0].minutes: -1 must be a positive number (allowed: a positive number of minutes)"),
    ({"monotonic": "yes", "segments": [{"minutes": 1, "bpm": 120}]},
     "monotonic: 'yes' is not a boolean (allowed: true, false)"),
])
def test_bad_profile_files_name_the_key_and_allowed_values(data, message):
    with pytest.raises(ProfileError) as err:
        profile_from_dict(data, source="my.toml")
    assert str(err.value) == f"my.toml: {message}"


def test_user_profile_from_toml(tmp_path):
    path = tmp_path / "tempo run.toml"
    path.write_text('[[segments]]\nname = "go"\nminutes = 20\nbpm = 150\nratios = [2, 1]\n'
                    'energy = [0.5, 0.9]\n', encoding="utf-8")
    p = get_profile(str(path))
    assert p.name == "tempo run" and p.source == str(path)
    (seg,) = p.segments
    assert (seg.bpm_start, seg.bpm_end, seg.ratios) == (150, 150, (1.0, 2.0))
    assert (seg.energy_start, seg.energy_end, seg.tolerance_pct) == (0.5, 0.9, 4.0)


def test_unreadable_profile_files(tmp_path):
    with pytest.raises(ProfileError, match="profile file not found"):
        get_profile(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[[segments]\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="bad.toml: not valid TOML"):
        get_profile(str(bad))


def test_cli_lists_profiles():
    result = CliRunner().invoke(cli, ["profiles"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == list(BUILTIN)
    assert lines[0].endswith("(default)") and "climax last" in lines[0]


def test_cli_show_prints_toml_that_loads_back(tmp_path):
    result = CliRunner().invoke(cli, ["profiles", "show", "cadence", "--spm", "176"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "c.toml"
    path.write_text(result.output, encoding="utf-8")
    assert load_profile(path) == dataclasses.replace(get_profile("cadence", spm=176),
                                                     source=str(path))


def test_cli_show_unknown_profile_is_a_clear_error():
    result = CliRunner().invoke(cli, ["profiles", "show", "rocky"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: unknown profile 'rocky' (choose one of montage")


def test_docs_describe_every_builtin_profile_and_their_toml_example_loads():
    import os
    import re
    from tempo.profiles import tomllib  # tomli on Python 3.10

    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "profiles.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    flat = " ".join(doc.split())
    for name, description in list_profiles():
        assert f"### {name}" in doc
        assert f"*{description}.*" in flat, name
    (example,) = re.findall(r"```toml\n(.*?)```", doc, re.S)
    profile = profile_from_dict(tomllib.loads(example), source="docs")
    assert [s.name for s in profile.segments] == ["warm-up", "tempo"] and profile.climax
