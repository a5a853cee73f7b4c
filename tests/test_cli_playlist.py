"""`tempo playlist`, `tempo rank`: through click's CliRunner.

Most tests replace the library scan with in-memory analyses (fast, exact); the end-to-end tests
analyse a synthetic tagged library of 30 short tracks once per session.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil

import pytest
from click.testing import CliRunner

import tempo.library
from tempo.cli import cli
from tempo.models import FileFailure, Tags, TempoEstimate, TrackAnalysis


def _tracks(root: str, n: int = 120, seed: int = 3) -> list[TrackAnalysis]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        bpm = round(rng.uniform(75, 185), 1)
        out.append(TrackAnalysis(
            path=os.path.join(root, f"Artist {i % 9}", f"{i:03d} song.mp3"), size=1, mtime_ns=1,
            duration_s=rng.uniform(150, 300),
            tempo=TempoEstimate(bpm=bpm, confidence=rng.uniform(0.4, 1.0)),
            energy=min(1.0, max(0.0, (bpm - 60) / 130 + rng.gauss(0, 0.05))),
            tags=Tags(artist=f"Artist {i % 9}", title=f"Song {i}")))
    return out


@pytest.fixture()
def fake_library(tmp_path, monkeypatch):
    """`tempo.library.scan` returning 120 in-memory analyses (and one failure) under tmp/music."""
    root = str(tmp_path / "music")
    tracks = _tracks(root)
    failure = FileFailure(os.path.join(root, "broken.mp3"), "decode", "not an audio file")
    calls = []

    def fake_scan(self, paths, **kwargs):
        calls.append((list(paths), dict(vars(self.options), **kwargs)))
        return tempo.library.ScanResult(tracks=list(tracks), failures=[failure],
                                        found=len(tracks) + 1, analysed=0, reused=len(tracks),
                                        failed=1, elapsed_s=0.0)

    monkeypatch.setattr(tempo.library.Library, "scan", fake_scan)
    return root, tracks, calls


def _entries(m3u_text: str) -> list[str]:
    return [line for line in m3u_text.splitlines() if line and not line.startswith("#")]


def test_playlist_writes_the_montage(runner, tmp_path, fake_library):
    root, tracks, calls = fake_library
    dest = tmp_path / "out" / "montage.m3u8"
    res = runner.invoke(cli, ["playlist", root, "-o", str(dest), "--db", "x.sqlite", "-j", "2"])
    assert res.exit_code == 0, res.output
    assert calls[0][0] == [root] and calls[0][1]["db_path"] == "x.sqlite"
    assert calls[0][1]["jobs"] == 2
    by_path = {t.path: t for t in tracks}
    text = dest.read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n")
    paths = [os.path.normpath(os.path.join(dest.parent, p)) for p in _entries(text)]
    bpms = [by_path[p].bpm for p in paths]
    assert bpms == sorted(bpms) and 111 <= bpms[0] <= 129 and bpms[-1] >= 140
    assert abs(sum(by_path[p].duration_s for p in paths) - 45 * 60) <= 300
    assert "<- climax" in res.stdout.splitlines()[len(paths)]
    assert "skipped: " in res.stderr and "broken.mp3: decode: not an audio file" in res.stderr
    assert "1 of 121 files could not be analysed and were left out" in res.stderr
    assert f"wrote {dest}: {len(paths)} tracks" in res.stdout


def test_playlist_to_stdout(runner, fake_library):
    root, _, _ = fake_library
    res = runner.invoke(cli, ["playlist", root, "-o", "-", "--profile", "steady", "--minutes",
                              "20", "-q"])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("#EXTM3U\n#PLAYLIST:tempo steady, 20 min\n#EXTINF:")
    assert "wrote stdout:" in res.stderr and "wrote" not in res.stdout


@pytest.mark.parametrize("args,check", [
    (["-o", "{tmp}/list.txt", "--format", "xspf"], lambda t: t.startswith("<?xml")),
    (["-o", "{tmp}/list.pls"], lambda t: t.startswith("[playlist]\nFile1=music/Artist ")),
    (["-o", "{tmp}/list.m3u", "--absolute"], lambda t: _entries(t)[0].startswith("/")
     or _entries(t)[0][1] == ":"),
])
def test_playlist_formats_and_absolute(runner, tmp_path, fake_library, args, check):
    root, _, _ = fake_library
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    res = runner.invoke(cli, ["playlist", root, "--minutes", "15", *args])
    assert res.exit_code == 0, res.output
    assert check(open(args[1], encoding="utf-8").read())


def test_playlist_profile_options_and_files(runner, tmp_path, fake_library):
    root, tracks, _ = fake_library
    by_path = {t.path: t for t in tracks}
    out = tmp_path / "run.m3u8"
    res = runner.invoke(cli, ["playlist", root, "-p", "cadence", "--spm", "165", "-m", "20",
                              "-o", str(out)])
    assert res.exit_code == 0, res.output
    for p in _entries(out.read_text(encoding="utf-8")):
        bpm = by_path[os.path.normpath(os.path.join(tmp_path, p))].bpm
        assert min(abs(bpm - 165), abs(2 * bpm - 165)) <= 165 * 0.03
    toml = tmp_path / "mine.toml"
    toml.write_text(runner.invoke(cli, ["profiles", "show", "steady", "--bpm", "100"]).stdout,
                    encoding="utf-8")
    res = runner.invoke(cli, ["playlist", root, "-p", str(toml), "-m", "10", "-o", "-"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["playlist", root, "--spm", "170", "-o", "-"])
    assert res.exit_code == 1
    assert res.stderr == ("Error: option --spm does not apply to profile 'montage' "
                          "(it applies to: cadence)\n")


@pytest.mark.parametrize("args,asked,rounds", [
    ([], "45:00", 6),                                   # 3 + 6 x (4 + 3) minutes
    (["--rounds", "2", "--work", "3", "--rest", "2"], "13:00", 2),
    (["--minutes", "24"], "24:00", 3),                  # rounds follow the minutes
    (["--minutes", "24", "--rounds", "2"], "24:00", 2),  # both given: blocks stretch
])
def test_hiit_blocks_keep_their_length(runner, fake_library, args, asked, rounds):
    root, _, _ = fake_library
    res = runner.invoke(cli, ["playlist", root, "-p", "hiit", "-o", "-", *args])
    assert res.exit_code == 0, res.output
    assert f"(asked {asked}), profile hiit" in res.stderr
    segments = [line.split()[5] for line in res.stderr.splitlines()
                if line[:4].strip().isdigit()]
    blocks = [s for i, s in enumerate(segments) if i == 0 or segments[i - 1] != s]
    assert blocks == ["warm-up"] + ["work", "rest"] * rounds


def test_playlist_seed_is_repeatable_and_varies(runner, fake_library):
    root, _, _ = fake_library
    def run(*extra):
        res = runner.invoke(cli, ["playlist", root, "-p", "steady", "--tolerance", "6", "-o",
                                  "-", "-q", *extra])
        assert res.exit_code == 0, res.output
        return res.stdout
    assert run() == run()
    assert run("--seed", "4") == run("--seed", "4") != run()


def test_shortfall_is_reported_and_empty_result_is_an_error(runner, tmp_path, fake_library):
    root, _, _ = fake_library
    dest = tmp_path / "long.m3u8"
    res = runner.invoke(cli, ["playlist", root, "-p", "steady", "--bpm", "100", "--tolerance",
                              "1", "-m", "60", "-o", str(dest)])
    assert res.exit_code == 0, res.output
    assert "warning: steady needs 60 min at 99-101 BPM, found " in res.stderr
    assert "  try: a wider tolerance (+-2%, --tolerance) would add" in res.stderr
    assert dest.exists()
    dest = tmp_path / "none.m3u8"
    res = runner.invoke(cli, ["playlist", root, "-p", "steady", "--bpm", "230", "-o", str(dest)])
    assert res.exit_code == 1
    assert res.stderr.splitlines()[-1].startswith(
        "Error: no track fits profile 'steady': steady needs 45 min at 221-239 BPM, found 0 min")
    assert not dest.exists()


def test_rank_table_explain_json_csv(runner, fake_library):
    root, _, _ = fake_library
    res = runner.invoke(cli, ["rank", root, "-n", "3", "--explain", "-q"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0] == "warm-up: 112-129 BPM"
    assert lines[1].split() == ["#", "SCORE", "BPM", "RATIO", "EFF_BPM", "ENERGY", "TRACK"]
    assert lines[3].strip().startswith("tempo_fit=+")
    assert "build: 121-149 BPM" in lines and "peak: 141-165 BPM" in lines
    assert "\nnote: " in res.stderr and "of 120 tracks fit no segment of montage" in res.stderr

    res = runner.invoke(cli, ["rank", root, "-p", "cadence", "--json", "-n", "0", "-q"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(r["segment"] == "run" for r in rows)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert {"tempo_fit", "ratio", "energy_fit", "confidence", "stability", "length"} == set(
        rows[0]["parts"])
    assert any(r["ratio"] == 2.0 for r in rows)
    assert all(abs(r["effective_bpm"] - 170) <= 5.1 for r in rows)

    res = runner.invoke(cli, ["rank", root, "--csv", "-q"])
    table = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(table) == 30 and float(table[0]["score"]) >= float(table[1]["score"])
    row = table[0]
    assert row["ratio"] == "1.0" and float(row["confidence"]) > 0.3  # the track's own values
    parts = [k for k in row if k.startswith("score_")]
    assert parts == ["score_tempo_fit", "score_ratio", "score_energy_fit", "score_confidence",
                     "score_stability", "score_length"]
    assert sum(float(row[k]) for k in parts) == pytest.approx(float(row["score"]), abs=1e-3)

    res = runner.invoke(cli, ["rank", root, "--csv", "--json"])
    assert res.exit_code == 2


@pytest.mark.parametrize("cmd", [["playlist"], ["rank"], ["profiles"], ["profiles", "show"]])
def test_help(runner, cmd):
    res = runner.invoke(cli, [*cmd, "--help"])
    assert res.exit_code == 0 and "Usage:" in res.stdout


# --------------------------------------------------------------------------- end to end

@pytest.fixture(scope="session")
def analysed_library(tmp_path_factory, fixtures_mod):
    """30 tagged short tracks at 80-180 BPM, analysed once into a session database."""
    root = tmp_path_factory.mktemp("e2e")
    folder = root / "My Music"
    committed = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "library")
    if os.path.isfile(os.path.join(committed, "truth.json")):
        # the script's compact library, as committed: copying saves ~10 s of synthesis
        shutil.copytree(committed, folder)
        with open(os.path.join(committed, "truth.json"), encoding="utf-8") as f:
            rows = json.load(f)
    else:
        rows = fixtures_mod.make_library(str(folder), n=30, duration_s=20.0, seed=0)
    db = str(root / "cache.sqlite")
    result = tempo.library.scan([str(folder)], db_path=db, jobs=2)
    assert len(result.tracks) == len(rows) and not result.failures
    return folder, db, {t.path: t for t in result.tracks}


def test_end_to_end_montage_on_a_real_library(analysed_library):
    folder, db, analyses = analysed_library
    dest = folder.parent / "Workouts" / "Rocky" / "montage.m3u8"  # another tree
    res = CliRunner().invoke(cli, ["playlist", str(folder), "--db", db, "--minutes", "3",
                                   "-o", str(dest)])
    assert res.exit_code == 0, res.output
    assert "analysing" not in res.output  # every file came from the cache
    raw = dest.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    entries = _entries(raw.decode("utf-8"))
    assert all(e.startswith("../../My Music/") for e in entries)
    paths = [os.path.normpath(os.path.join(dest.parent, e)) for e in entries]
    assert all(os.path.isfile(p) for p in paths) and len(set(paths)) == len(paths)
    bpms = [analyses[p].bpm for p in paths]
    assert bpms == sorted(bpms)  # as analysed, the tempo rises to the climax, which is last
    assert 111 <= bpms[0] <= 129 and 141 <= bpms[-1] <= 165
    assert abs(sum(analyses[p].duration_s for p in paths) - 180) <= 20
    artists = [analyses[p].tags.artist for p in paths]
    assert all(a != b for a, b in zip(artists, artists[1:]))


def test_end_to_end_rank_json(runner, analysed_library):
    folder, db, analyses = analysed_library
    res = runner.invoke(cli, ["rank", str(folder), "--db", db, "-p", "steady", "--bpm",
                                   "120", "--tolerance", "8", "--json", "-q"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert rows and all(r["path"] in analyses for r in rows)
    assert all(110.4 <= r["effective_bpm"] <= 129.6 for r in rows)
