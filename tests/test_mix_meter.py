"""tempo mix and the meter: 3/4 (waltz) tracks found in the audio and mixed on their own bars.

The audio is made here with numpy: a waltz (kick and bass note on 1, chord stabs on 2 and 3, a
new chord every bar) and a 4/4 rock song (kick on 1 and 3, snare on 2 and 4, bass and chord held
through the bar, a new chord every bar), both with 8th hi-hats, every beat and downbeat known.
The beat grid must read the waltz in 3 and the rock song in 4 with their downbeats right; the
plan (pure, and through `tempo mix`) must enter and leave each track on its own downbeats and
overlap whole bars of both tracks.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("librosa")

from tempo.mix import BeatGrid, MixItem, plan_mix  # noqa: E402
from tempo.mix.beatgrid import track_grid  # noqa: E402
from tempo.mix.plan import bar_beats  # noqa: E402
from tempo.models import ANALYSIS_SR  # noqa: E402
from tempo.profiles import get_profile  # noqa: E402

SR = 22050
LEAD_S = 0.5
#: Chord roots (semitones above A) cycled one per bar: A, D, E, F#m.
ROOTS = (0, 5, 7, 9)


def _tone(hz: float, n: int, sr: int, decay_s: float) -> np.ndarray:
    t = np.arange(n) / sr
    env = np.exp(-t / decay_s) * np.minimum(1.0, t / 0.004)
    return (np.sin(2 * np.pi * hz * t) * env).astype(np.float32)


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.2 * sr)) / sr
    phase = 2 * np.pi * np.cumsum(45 + 85 * np.exp(-t / 0.03)) / sr
    return (np.sin(phase) * np.exp(-t / 0.06)).astype(np.float32)


def _noise(sr: int, rng, length_s: float, decay_s: float, gain: float) -> np.ndarray:
    t = np.arange(int(length_s * sr)) / sr
    noise = np.diff(rng.standard_normal(len(t) + 1))
    return (gain * noise * np.exp(-t / decay_s)).astype(np.float32)


def _add(y: np.ndarray, x: np.ndarray, at: int, gain: float = 1.0) -> None:
    m = min(len(x), len(y) - at)
    if m > 0:
        y[at:at + m] += gain * x[:m]


def song(bpm: float, meter: int, duration_s: float, *, sr: int = SR, seed: int = 0,
         lead_s: float = LEAD_S) -> tuple[np.ndarray, np.ndarray]:
    """(mono float32 audio, beat times): ``meter`` 3 (waltz) or 4 (rock), beat 0 a downbeat at
    ``lead_s``."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    y = np.zeros(n, np.float32)
    period = 60.0 / bpm
    beats = lead_s + period * np.arange(int((duration_s - lead_s) / period))
    kick = _kick(sr)
    beat_n = int(period * sr)
    for i, b in enumerate(beats):
        at, pos, bar = round(b * sr), i % meter, i // meter
        root = 110.0 * 2 ** (ROOTS[bar % len(ROOTS)] / 12)
        triad = (root * 2, root * 2 * 2 ** (4 / 12), root * 2 * 2 ** (7 / 12))
        if meter == 3:
            if pos == 0:  # oom: kick and the bass note
                _add(y, kick, at, 0.8)
                _add(y, _tone(root / 2, beat_n, sr, 0.25), at, 0.35)
            else:  # pah, pah: chord stabs and a soft snare
                for f in triad:
                    _add(y, _tone(f, beat_n, sr, 0.12), at, 0.09)
                _add(y, _noise(sr, rng, 0.1, 0.03, 0.12), at)
        else:
            if pos in (0, 2):
                _add(y, kick, at, 0.8)
            else:
                _add(y, _noise(sr, rng, 0.15, 0.045, 0.35), at)
            _add(y, _tone(root / 2, beat_n, sr, 0.4), at, 0.3)
            if pos == 0:  # the chord held through the bar
                for f in triad:
                    _add(y, _tone(f, beat_n * meter, sr, 1.2), at, 0.07)
        for half in (0.0, 0.5):
            _add(y, _noise(sr, rng, 0.04, 0.01, 0.1), round((b + half * period) * sr))
    y += 0.001 * rng.standard_normal(n).astype(np.float32)
    return y, beats


def _to_analysis_rate(y: np.ndarray, sr: int) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(y, ANALYSIS_SR, sr).astype(np.float32)


def _grid_of(y: np.ndarray, sr: int, bpm: float) -> BeatGrid:
    return track_grid(_to_analysis_rate(y, sr), ANALYSIS_SR, bpm=bpm)


def _downbeats_right(grid: BeatGrid, beats: np.ndarray, meter: int) -> float:
    """Share of the grid's downbeats whose nearest true beat (within a quarter of a beat: the
    bar phase is checked here, the beat times by tests/test_mix.py) is a true downbeat."""
    period = float(np.median(np.diff(beats)))
    right = []
    for d in grid.downbeats_s:
        k = int(np.argmin(np.abs(beats - d)))
        if abs(beats[k] - d) < period / 4:
            right.append(k % meter == 0)
    assert len(right) >= 0.8 * len(beats) / meter
    return float(np.mean(right))


# --------------------------------------------------------------------------- the grid

@pytest.mark.parametrize("bpm, seed", [(132.0, 1), (104.0, 2)])
def test_grid_reads_a_waltz_in_three_with_its_downbeats(bpm, seed):
    y, beats = song(bpm, 3, 24.0, seed=seed)
    grid = _grid_of(y, SR, bpm)
    assert grid.beats_per_bar == 3 and grid.meter == "3/4"
    assert grid.meter_score > 0.5
    assert _downbeats_right(grid, beats, 3) >= 0.9
    assert BeatGrid.from_dict(grid.to_dict()) == grid


@pytest.mark.parametrize("bpm, seed", [(128.0, 3), (96.0, 4)])
def test_grid_keeps_a_rock_song_in_four_with_its_downbeats(bpm, seed):
    y, beats = song(bpm, 4, 24.0, seed=seed)
    grid = _grid_of(y, SR, bpm)
    assert grid.beats_per_bar == 4
    assert grid.meter_score < 0.5
    assert _downbeats_right(grid, beats, 4) >= 0.9


def test_grid_meter_can_be_forced_and_short_tracks_keep_four():
    y, _ = song(120.0, 3, 24.0, seed=5)
    y = _to_analysis_rate(y, SR)
    assert track_grid(y, ANALYSIS_SR, bpm=120.0, beats_per_bar=4).beats_per_bar == 4
    # 12 s: too few beats to tell, so bars of 4
    assert track_grid(y[:12 * ANALYSIS_SR], ANALYSIS_SR, bpm=120.0).beats_per_bar == 4


# --------------------------------------------------------------------------- the plan (pure)

def _grid(bpm, n_beats, *, meter=4, downbeat=0, start=0.5, strength=None):
    beats = tuple(start + k * 60.0 / bpm for k in range(n_beats))
    return BeatGrid(bpm=bpm, beats_s=beats, downbeat=downbeat, start_s=start,
                    end_s=beats[-1] + 0.01, duration_s=beats[-1] + 1.0,
                    strength=tuple(strength) if strength is not None else (0.0,) * n_beats,
                    beats_per_bar=meter)


def _item(name, bpm, n_beats, *, ratio=1.0, **kw):
    return MixItem(path=f"/m/{name}.flac", name=name, bpm=bpm, grid=_grid(bpm, n_beats, **kw),
                   ratio=ratio)


def _own_index(item, src_time):
    return int(np.argmin(np.abs(np.asarray(item.grid.beats_s) - src_time)))


def test_bar_beats_in_mix_beats():
    assert [bar_beats(4, r) for r in (0.5, 1.0, 2.0)] == [2, 4, 8]
    assert [bar_beats(3, r) for r in (0.5, 1.0, 2.0)] == [3, 3, 6]


def test_plan_waltz_between_four_four_enters_on_its_downbeat_and_overlaps_whole_bars():
    items = [_item("rock", 120.0, 96), _item("waltz", 124.0, 97, meter=3, downbeat=1),
             _item("rock2", 128.0, 96)]
    plan = plan_mix(items, get_profile("montage"), overlap_beats=16)
    rock, waltz, rock2 = plan.tracks
    assert [t.meter for t in plan.tracks] == ["4/4", "3/4", "4/4"]
    # 16 beats is not whole bars of 3/4: 12 is (3 bars of 4/4, 4 of 3/4)
    assert rock.fade_out_beats == waltz.fade_in_beats == 12
    assert waltz.fade_out_beats == rock2.fade_in_beats == 12
    assert any("12-beat transition" in n for n in plan.notes)
    # the waltz plays whole bars of 3 from a downbeat (index 1 mod 3) to a downbeat
    k0 = _own_index(items[1], waltz.src_beats_s[0])
    assert k0 % 3 == 1 and waltz.n_beats % 3 == 0
    # beat on beat through both transitions
    assert rock.out_beats_s[-13:] == waltz.out_beats_s[:13]
    assert waltz.out_beats_s[-13:] == rock2.out_beats_s[:13]
    # where the overlap begins, the outgoing rock song is on its own downbeat too
    k_rock = _own_index(items[0], rock.src_beats_s[-13])
    assert k_rock % 4 == 0
    # and the waltz leaves on its downbeat: its overlap-out starts on one
    k_out = _own_index(items[1], waltz.src_beats_s[-13])
    assert k_out % 3 == 1
    assert plan.to_dict()["tracks"][1]["meter"] == "3/4"


def test_plan_two_waltzes_overlap_whole_even_bars():
    items = [_item("w1", 120.0, 90, meter=3), _item("w2", 122.0, 90, meter=3)]
    plan = plan_mix(items, None, overlap_beats=16)
    assert plan.tracks[0].fade_out_beats == 12  # 4 bars of 3 (even: the bass swap is on a beat)
    assert all(t.n_beats % 3 == 0 for t in plan.tracks)


def test_plan_cut_bars_counts_the_tracks_own_bars():
    strength = [0.0] * 97
    strength[31:43] = [5.0] * 12  # the waltz's bars 10-13 (downbeat at 1)
    items = [_item("waltz", 120.0, 97, meter=3, downbeat=1, strength=strength),
             _item("rock", 120.0, 96)]
    plan = plan_mix(items, None, cut_bars=4, overlap_beats=0)
    waltz, rock = plan.tracks
    assert waltz.n_beats == 12 and rock.n_beats == 16
    assert waltz.src_beats_s[0] == pytest.approx(items[0].grid.beats_s[31])


def test_plan_waltz_at_half_and_double_time():
    # at ratio 1/2 one bar of 3 is 1.5 mix beats: the waltz enters and leaves every two bars
    half = _item("half", 240.0, 120, meter=3, ratio=0.5)
    double = _item("double", 60.0, 40, meter=3, ratio=2.0)
    rock = _item("rock", 120.0, 96)
    plan = plan_mix([half, rock, double], None, overlap_beats=16)
    h, _, d = plan.tracks
    assert h.bar_beats == 3 and d.bar_beats == 6
    assert h.n_beats % 3 == 0 and d.n_beats % 6 == 0
    assert h.fade_out_beats == 12 and d.fade_in_beats == 12
    # the half-time waltz's entry is one of its own downbeats
    assert _own_index(half, h.src_beats_s[0]) % 3 == 0


# --------------------------------------------------------------------------- tempo mix

@pytest.fixture(scope="module")
def meter_library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("meter_lib")
    paths, truth = [], {}
    for i, (bpm, meter) in enumerate(((120.0, 4), (124.0, 3), (128.0, 4))):
        y, beats = song(bpm, meter, 26.0, seed=20 + i)
        path = str(folder / f"{i:02d} Band{i} - Tune {i}.wav")
        sf.write(path, np.stack([y, 0.97 * y], axis=1), SR)
        paths.append(path)
        truth[path] = (meter, beats)
    playlist = folder / "set.m3u8"
    playlist.write_text("#EXTM3U\n" + "\n".join(paths) + "\n")
    return {"paths": paths, "truth": truth, "playlist": str(playlist)}


def _mix(runner, args):
    from tempo.cli import cli

    return runner.invoke(cli, ["mix", *args, "-j", "1", "-q", "--sample-rate", "22050"])


def test_cli_mix_enters_a_waltz_on_its_downbeat_with_whole_bar_overlaps(runner, meter_library,
                                                                        tmp_path):
    out = tmp_path / "mix.flac"
    r = _mix(runner, [meter_library["playlist"], "-o", str(out), "--overlap", "16", "--json",
                      "--db", str(tmp_path / "db.sqlite")])
    assert r.exit_code == 0, r.output + r.stderr
    plan = json.loads(r.stdout)["plan"]
    tracks = plan["tracks"]
    assert [t["meter"] for t in tracks] == ["4/4", "3/4", "4/4"]
    assert "12-beat transition" in r.stderr
    for a, b in zip(tracks, tracks[1:]):
        assert a["fade_out_beats"] == b["fade_in_beats"] == 12
    for t in tracks:
        meter, beats = meter_library["truth"][t["path"]]
        assert t["beats"] % meter == 0
        # entry (and the exit) on a true downbeat of the track's own audio
        for at in (t["src_start_s"], t["src_end_s"]):
            k = int(np.argmin(np.abs(beats - at)))
            assert abs(beats[k] - at) < 0.03 and k % meter == 0, (t["name"], at)
    assert sf.info(str(out)).duration == pytest.approx(plan["duration_s"], abs=0.2)


def test_cli_mix_table_shows_the_meter(runner, meter_library, tmp_path):
    r = _mix(runner, [*meter_library["paths"][:2], "--cut", "--bars", "2", "--overlap", "0",
                      "--no-cue", "-o", str(tmp_path / "m.wav"),
                      "--db", str(tmp_path / "db.sqlite")])
    assert r.exit_code == 0, r.output + r.stderr
    lines = r.stdout.splitlines()
    assert "METER" in lines[0].split()
    rows = {line.split()[-1]: line.split() for line in lines if line.strip()[:1].isdigit()}
    assert rows["0"][5] == "4/4" and rows["1"][5] == "3/4"
