"""The listener settles the beat level: a preferred BPM range and per-track corrections, applied
through the one Library service to every command (analyze, rank, playlist, plot, tag)."""

from __future__ import annotations

import csv
import json
import os
import shutil

import pytest

import tempo.analysis
import tempo.cache
import tempo.library
from tempo.cache import Cache
from tempo.cli import cli
from tempo.corrections import BpmRange, RangeError, in_range, with_user_bpm
from tempo.library import InProcessExecutor, Library, LibraryOptions
from tempo.models import Tags, TempoEstimate, TrackAnalysis

SR = 11025


def _analysis(path, bpm=184.0, candidates=((184.0, 0.55), (92.0, 0.45), (276.0, 0.1)), **kw):
    st = os.stat(path)
    return TrackAnalysis(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, duration_s=200.0,
                         tempo=TempoEstimate(bpm=bpm, confidence=kw.pop("confidence", 0.9),
                                             candidates=candidates,
                                             curve=((5.0, bpm), (15.0, bpm))),
                         energy=0.5, tags=kw.pop("tags", Tags(artist="A", title=os.path.basename(path))),
                         **kw)


@pytest.fixture
def hiphop(tmp_path, fixtures_mod):
    """A real file whose cached analysis reads 184 BPM with 92 among its candidates (a hip-hop
    track with sixteenth-note hats read double), and a 120 BPM one."""
    folder = tmp_path / "music"
    folder.mkdir()
    a = str(folder / "hiphop.wav")
    b = str(folder / "house.wav")
    fixtures_mod.write_audio(a, fixtures_mod.drum_pattern(92.0, duration_s=4.0, sr=SR, seed=1), SR)
    fixtures_mod.write_audio(b, fixtures_mod.drum_pattern(120.0, duration_s=4.0, sr=SR, seed=2), SR)
    db = str(tmp_path / "c.sqlite")
    with Cache.open(db) as cache:
        cache.put(_analysis(a), fingerprint=tempo.cache.fingerprint(a, os.path.getsize(a)))
        cache.put(_analysis(b, bpm=120.0, candidates=((120.0, 0.7), (60.0, 0.3))),
                  fingerprint=tempo.cache.fingerprint(b, os.path.getsize(b)))
    return folder, a, b, db


def _json(result):
    assert result.exit_code == 0, result.output
    return {r["path"]: r for r in map(json.loads, result.stdout.splitlines())}


# -- the range ------------------------------------------------------------------------------------

def test_range_parsing_and_the_octave_rule():
    assert BpmRange.parse("87-174") == BpmRange(87, 174)
    assert BpmRange.parse(" 70..140 ") == BpmRange(70, 140)
    with pytest.raises(RangeError, match="narrower than an octave"):
        BpmRange.parse("90-150")
    with pytest.raises(RangeError, match="LOW-HIGH"):
        BpmRange.parse("fast")
    with pytest.raises(RangeError, match="lower bound first"):
        BpmRange.parse("174-87")


def test_range_picks_the_tracks_own_candidate_and_never_invents(tmp_path):
    f = tmp_path / "x.wav"
    f.write_bytes(b"x")
    ta = _analysis(str(f))
    moved = in_range(ta, BpmRange(70, 140))
    assert moved.bpm == 92.0 and moved.tempo.source == "range" and moved.tempo.raw_bpm == 184.0
    assert [b for _, b in moved.tempo.curve] == [92.0, 92.0]
    # no candidate at a level inside the range: the reading stays as the audio gave it
    lonely = _analysis(str(f), candidates=((184.0, 1.0),))
    assert in_range(lonely, BpmRange(70, 140)) == lonely
    # already inside: unchanged; a user's tempo is never moved
    assert in_range(ta, BpmRange(87, 190)) == ta
    user = with_user_bpm(ta, 180.0)
    assert in_range(user, BpmRange(70, 140)) == user


def test_cli_bpm_range_reads_184_as_92(runner, hiphop, monkeypatch):
    folder, a, b, db = hiphop
    base = ["--db", db, "-q", "--json"]
    plain = _json(runner.invoke(cli, ["analyze", str(folder), *base]))
    assert plain[a]["tempo"]["bpm"] == 184.0 and plain[a]["tempo"]["source"] == "audio"
    ranged = _json(runner.invoke(cli, ["analyze", str(folder), "--bpm-range", "70-140", *base]))
    assert ranged[a]["tempo"]["bpm"] == 92.0 and ranged[a]["tempo"]["source"] == "range"
    assert ranged[a]["tempo"]["raw_bpm"] == 184.0
    assert ranged[b]["tempo"]["bpm"] == 120.0 and ranged[b]["tempo"]["source"] == "audio"
    # the environment variable, and the config file, say the same
    monkeypatch.setenv("TEMPO_BPM_RANGE", "70-140")
    assert _json(runner.invoke(cli, ["analyze", a, *base]))[a]["tempo"]["bpm"] == 92.0
    monkeypatch.delenv("TEMPO_BPM_RANGE")
    config = hiphop[0].parent / "config.toml"
    config.write_text('bpm_range = "70-140"\n')
    monkeypatch.setenv("TEMPO_CONFIG", str(config))
    assert _json(runner.invoke(cli, ["analyze", a, *base]))[a]["tempo"]["bpm"] == 92.0
    # the option wins over both; "off" turns it off
    assert _json(runner.invoke(cli, ["analyze", a, "--bpm-range", "off", *base]))[a]["tempo"]["bpm"] == 184.0
    # a cached analysis is not touched by a view
    with Cache.open(db) as cache:
        assert cache.get(a, os.path.getsize(a), os.stat(a).st_mtime_ns).bpm == 184.0


def test_cli_narrow_range_is_refused_with_the_reason(runner, hiphop):
    folder, a, b, db = hiphop
    result = runner.invoke(cli, ["analyze", a, "--db", db, "--bpm-range", "100-150"])
    assert result.exit_code == 1
    assert "narrower than an octave" in result.output and "100-200" in result.output


def test_range_flows_into_rank_playlist_and_tag(runner, hiphop, tmp_path):
    folder, a, b, db = hiphop
    base = ["--db", db, "-q", "--bpm-range", "70-140"]
    ranked = runner.invoke(cli, ["rank", str(folder), "--profile", "steady", "--bpm", "92",
                                 "--tolerance", "5", "--json", *base])
    rows = [json.loads(line) for line in ranked.stdout.splitlines()]
    assert [(r["path"], r["bpm"], r["ratio"]) for r in rows] == [(a, 92.0, 1.0)]
    out = tmp_path / "p.m3u8"
    made = runner.invoke(cli, ["playlist", str(folder), "--profile", "steady", "--bpm", "92",
                               "--tolerance", "5", "-m", "3", "-o", str(out), *base])
    assert made.exit_code == 0, made.output
    assert "hiphop.wav" in out.read_text() and "  92.0" in made.output
    tagged = runner.invoke(cli, ["tag", a, "--json", "--min-confidence", "0", *base])
    assert json.loads(tagged.stdout)["new"] == "92"


# -- corrections -----------------------------------------------------------------------------------

def test_fix_shows_everywhere_and_survives_rescan_rename_and_tagging(runner, hiphop, tmp_path):
    folder, a, b, db = hiphop
    base = ["--db", db, "-q"]
    done = runner.invoke(cli, ["fix", a, "--half", *base])
    assert done.exit_code == 0, done.output
    assert "184.0 -> 92.0" in done.stdout and "[fixed]" in done.stdout
    row = _json(runner.invoke(cli, ["analyze", a, "--json", *base]))[a]
    assert row["tempo"]["bpm"] == 92.0 and row["tempo"]["source"] == "user"
    assert row["tempo"]["raw_bpm"] == 184.0 and row["tempo"]["confidence"] == 1.0
    table = runner.invoke(cli, ["analyze", a, *base])
    assert "  92.0*" in table.stdout
    # a range never overrides the listener
    assert _json(runner.invoke(cli, ["analyze", a, "--json", "--bpm-range", "150-300",
                                     *base]))[a]["tempo"]["bpm"] == 92.0
    # a re-scan, a rename (recognised by content: not decoded again)
    runner.invoke(cli, ["scan", str(folder), *base])
    moved = str(folder / "renamed.wav")
    os.rename(a, moved)
    summary = json.loads(runner.invoke(cli, ["scan", str(folder), "--json", *base]).stdout)
    assert summary["analysed"] == 0
    assert _json(runner.invoke(cli, ["analyze", moved, "--json", *base]))[moved]["tempo"]["bpm"] == 92.0
    listed = runner.invoke(cli, ["fix", "--list", "--json", *base])
    assert [json.loads(x) for x in listed.stdout.splitlines()] == [{"path": moved, "bpm": 92.0}]
    # tag writes the fixed value, and the correction follows the file's new bytes
    from tempo.tags import read_bpm_tag

    tagged = runner.invoke(cli, ["tag", moved, "--write", "--force", *base])
    assert tagged.exit_code == 0, tagged.output
    assert read_bpm_tag(moved) == "92"
    shutil.copy(moved, tmp_path / "elsewhere.wav")  # same content, another place
    other = str(tmp_path / "elsewhere.wav")
    assert _json(runner.invoke(cli, ["analyze", other, "--json", *base]))[other]["tempo"]["bpm"] == 92.0
    # clear: the estimate stands again
    runner.invoke(cli, ["fix", moved, "--clear", *base])
    assert _json(runner.invoke(cli, ["analyze", moved, "--json", *base]))[moved]["tempo"]["bpm"] == 184.0


def test_fix_survives_a_new_analyzer_version(hiphop, monkeypatch):
    import tempo.models

    folder, a, b, db = hiphop
    lib = Library(LibraryOptions(db_path=db), executor=InProcessExecutor())
    lib.fix([a], bpm=93.5)
    for mod in (tempo.cache, tempo.analysis, tempo.models):
        monkeypatch.setattr(mod, "ANALYZER_VERSION", "999-test")
    result = lib.scan([folder])
    assert result.analysed == 2  # really analysed again, by the "new" analyzer
    by_path = {t.path: t for t in result.tracks}
    assert by_path[a].bpm == 93.5 and by_path[a].tempo.source == "user"
    raw = {t.path: t for t in lib.scan([folder], view=False).tracks}[a]
    assert raw.analyzer_version == "999-test" and by_path[a].tempo.raw_bpm == raw.bpm


def test_fix_options_and_bad_values(runner, hiphop):
    folder, a, b, db = hiphop
    both = runner.invoke(cli, ["fix", a, "--half", "--double", "--db", db])
    assert both.exit_code == 2 and "exactly one" in both.output
    absurd = runner.invoke(cli, ["fix", a, "--bpm", "5000", "--db", db])
    assert absurd.exit_code == 1 and "not a plausible tempo" in absurd.output
    nothing = runner.invoke(cli, ["fix", "--bpm", "90", "--db", db])
    assert nothing.exit_code == 2


def test_export_and_import_move_corrections_between_caches(runner, hiphop, tmp_path):
    folder, a, b, db = hiphop
    runner.invoke(cli, ["fix", a, "--bpm", "91", "--db", db, "-q"])
    runner.invoke(cli, ["fix", b, "--double", "--db", db, "-q"])
    dest = tmp_path / "fixes.csv"
    out = runner.invoke(cli, ["fix", "--export", str(dest), "--db", db])
    assert out.exit_code == 0 and "wrote 2 corrections" in out.output
    rows = list(csv.DictReader(dest.open()))
    assert {(r["path"], float(r["bpm"])) for r in rows} == {(a, 91.0), (b, 240.0)}
    assert all(r["fingerprint"] for r in rows)
    # another machine: another cache, the music under another folder
    other_db = str(tmp_path / "other.sqlite")
    music2 = tmp_path / "music2"
    shutil.copytree(folder, music2)
    with dest.open("a") as fh:
        fh.write(f"{music2 / 'house.wav'},,bad\n")
    imported = runner.invoke(cli, ["fix", "--import", str(dest), "--db", other_db])
    assert imported.exit_code == 0 and "imported 2 corrections" in imported.output
    assert "is not a tempo" in imported.output
    got = _json(runner.invoke(cli, ["analyze", str(music2), "--json", "--db", other_db, "-q", "-j", "1"]))
    assert got[str(music2 / "hiphop.wav")]["tempo"]["bpm"] == 91.0
    assert got[str(music2 / "house.wav")]["tempo"]["bpm"] == 240.0


def test_review_takes_answers_from_the_keyboard(runner, tmp_path, fixtures_mod):
    folder = tmp_path / "music"
    folder.mkdir()
    paths = []
    for i in range(4):
        p = str(folder / f"t{i}.wav")
        fixtures_mod.write_audio(p, fixtures_mod.drum_pattern(100.0 + i, duration_s=4.0, sr=SR, seed=i), SR)
        paths.append(p)
    db = str(tmp_path / "c.sqlite")
    with Cache.open(db) as cache:
        for i, p in enumerate(paths):
            conf = 0.9 if i == 3 else 0.3  # the last one is sure: not offered
            cache.put(_analysis(p, bpm=200.0, candidates=((200.0, 0.5), (100.0, 0.5)), confidence=conf),
                      fingerprint=tempo.cache.fingerprint(p, os.path.getsize(p)))
    # t0: halve; t1: a typo, then a number; t2: keep (Enter)
    result = runner.invoke(cli, ["fix", str(folder), "--review", "--db", db, "-q"],
                           input="h\nfast\n101.5\n\n")
    assert result.exit_code == 0, result.output
    assert "3 tracks below confidence 0.5" in result.output
    assert "answer 2, h, a number" in result.output and "2 of 3 fixed" in result.output
    got = _json(runner.invoke(cli, ["analyze", str(folder), "--json", "--db", db, "-q"]))
    assert [got[p]["tempo"]["bpm"] for p in paths] == [100.0, 101.5, 200.0, 200.0]
    assert [got[p]["tempo"]["source"] for p in paths] == ["user", "user", "audio", "audio"]
    # fixed tracks are not offered again; q stops at once
    again = runner.invoke(cli, ["fix", str(folder), "--review", "--db", db, "-q"], input="q\n")
    assert "1 tracks below" in again.output and "stopped: 0 fixed" in again.output


# -- cache clear keeps the corrections ----------------------------------------------------------------

def test_cache_clear_keeps_corrections_and_they_apply_after_a_rescan(runner, hiphop):
    folder, a, b, db = hiphop
    base = ["--db", db, "-q"]
    assert runner.invoke(cli, ["fix", a, "--bpm", "91", *base]).exit_code == 0
    asked = runner.invoke(cli, ["cache", "clear", "--db", db], input="y\n")
    assert asked.exit_code == 0, asked.output
    assert f"delete the 2 analyses stored in {db} (keeping 1 correction)?" in asked.output
    assert asked.stdout == f"deleted 2 analyses from {db}; kept 1 correction (--all forgets them too)\n"
    listed = runner.invoke(cli, ["fix", "--list", "--json", *base])
    assert [json.loads(x) for x in listed.stdout.splitlines()] == [{"path": a, "bpm": 91.0}]
    # the analyses are gone: a scan analyses both files again, and the correction applies
    summary = json.loads(runner.invoke(cli, ["scan", str(folder), "--json", *base]).stdout)
    assert (summary["analysed"], summary["reused"]) == (2, 0)
    rows = _json(runner.invoke(cli, ["analyze", str(folder), "--json", *base]))
    assert rows[a]["tempo"]["bpm"] == 91.0 and rows[a]["tempo"]["source"] == "user"
    assert rows[b]["tempo"]["source"] == "audio"
    assert rows[a]["tempo"]["raw_bpm"] != 184.0  # really analysed again (the cached 184 was made up)


def test_cache_clear_all_forgets_the_corrections(runner, hiphop):
    folder, a, b, db = hiphop
    base = ["--db", db, "-q"]
    runner.invoke(cli, ["fix", a, "--bpm", "91", *base])
    runner.invoke(cli, ["fix", b, "--half", *base])
    declined = runner.invoke(cli, ["cache", "clear", "--all", "--db", db], input="n\n")
    assert declined.exit_code == 1
    assert (f"delete {db} and the 2 corrections in it (tempo fix --export saves them first)?"
            in declined.output)
    assert len(runner.invoke(cli, ["fix", "--list", "--json", *base]).stdout.splitlines()) == 2
    done = runner.invoke(cli, ["cache", "clear", "--all", "--db", db, "-y"])
    assert done.exit_code == 0 and done.stdout == f"deleted {db} (2 analyses, 2 corrections)\n"
    assert runner.invoke(cli, ["fix", "--list", "--json", *base]).stdout == ""
    row = _json(runner.invoke(cli, ["analyze", a, "--json", *base]))[a]
    assert row["tempo"]["source"] == "audio"


def test_cache_clear_of_a_corrupt_file_says_what_was_lost(runner, tmp_path):
    bad = tmp_path / "c.sqlite"
    garbage = b"\0garbage" * 500
    bad.write_bytes(garbage)
    asked = runner.invoke(cli, ["cache", "clear", "--db", str(bad)], input="y\n")
    assert asked.exit_code == 0, asked.output
    assert f"delete every stored analysis in {bad}?" in asked.output  # it cannot count them
    aside = [p for p in tmp_path.iterdir() if ".unusable-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage and not bad.exists()
    assert asked.stderr.splitlines()[-2:] == [
        f"warning: {bad} is not a usable tempo cache database (file is not a database); kept it as "
        f"{aside[0]} (delete that when you no longer need it)",
        "warning: no corrections could be read from it: any it held are lost "
        "(tempo fix --import restores an export)"]
    assert asked.stdout == f"cleared {bad}: the next command starts a fresh cache\n"
    assert runner.invoke(cli, ["cache", "info", "--db", str(bad)]).exit_code == 0


def test_cache_clear_of_another_versions_cache_keeps_its_corrections(runner, hiphop):
    import sqlite3

    folder, a, b, db = hiphop
    runner.invoke(cli, ["fix", a, "--bpm", "91", "--db", db, "-q"])
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value='2' WHERE key='schema'")  # written by a newer tempo
    conn.commit()
    conn.close()
    refused = runner.invoke(cli, ["analyze", a, "--db", db])
    assert refused.exit_code == 1 and f"tempo cache clear --db {db}" in refused.output
    done = runner.invoke(cli, ["cache", "clear", "--db", db, "-y"])
    assert done.exit_code == 0, done.output
    assert "was written by another tempo version" in done.stderr and "could not" not in done.stderr
    assert done.stdout == f"cleared {db}: a fresh cache holds the 1 correction read from it\n"
    row = _json(runner.invoke(cli, ["analyze", a, "--json", "--db", db, "-q"]))[a]
    assert row["tempo"]["bpm"] == 91.0 and row["tempo"]["source"] == "user"
