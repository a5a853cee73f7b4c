"""Reliability under hostile input, through the CLI: truncated and too-short files, control
characters in tags and names, concurrent use, full and read-only places, absurd sizes."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

import tempo
from tempo.cli import cli

SR = 22050


@pytest.fixture(scope="module")
def cut_mp3(tmp_path_factory, fixtures_mod):
    """A 40-second MP3 cut to its first 5,000 bytes, and its whole original."""
    folder = tmp_path_factory.mktemp("cut")
    y = fixtures_mod.drum_pattern(120.0, duration_s=40.0, sr=SR, seed=5)
    full = fixtures_mod.write_audio(str(folder / "whole.mp3"), y, SR)
    cut = str(folder / "cut.mp3")
    with open(full, "rb") as fh:
        data = fh.read(5000)
    with open(cut, "wb") as fh:
        fh.write(data)
    return cut, full


# -- 1. truncation and too-short audio --------------------------------------------------------

def test_cut_mp3_is_reported_truncated(cut_mp3):
    cut, full = cut_mp3
    ta = tempo.analyze_file(cut)
    assert ta.duration_s < 2.0
    assert ta.warnings[0].startswith("truncated: ") and ta.warnings[0].endswith(" of 40 s decoded")
    assert any(w.startswith("too short: ") for w in ta.warnings)
    whole = tempo.analyze_file(full)
    assert whole.warnings == () and whole.bpm == pytest.approx(120.0, rel=0.02)


def test_analyze_table_stderr_json_csv_and_strict(runner, cut_mp3, tmp_path):
    cut, full = cut_mp3
    db = str(tmp_path / "c.sqlite")
    res = runner.invoke(cli, ["analyze", cut, full, "--db", db, "-j", "1", "-q"])
    assert res.exit_code == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if "cut.mp3" in x)
    assert "[truncated: " in line and " of 40 s decoded" in line
    assert f"warning: {cut}: truncated: " in res.stderr
    assert "whole.mp3" not in res.stderr
    # JSON and CSV carry the list (answered from the cache now)
    res = runner.invoke(cli, ["analyze", cut, "--db", db, "--json", "-q"])
    row = json.loads(res.stdout)
    assert row["warnings"][0].startswith("truncated: ")
    res = runner.invoke(cli, ["analyze", cut, full, "--db", db, "--csv", "-q"])
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(res.stdout))}
    assert rows[cut]["warnings"].startswith("truncated: ") and rows[full]["warnings"] == ""
    # --strict: warnings fail analyze and scan; a healthy file passes both
    res = runner.invoke(cli, ["analyze", cut, "--db", db, "--strict", "-q"])
    assert res.exit_code == 1 and "have warnings (--strict)" in res.stderr
    assert runner.invoke(cli, ["analyze", full, "--db", db, "--strict", "-q"]).exit_code == 0
    res = runner.invoke(cli, ["scan", cut, full, "--db", db, "--strict"])
    assert res.exit_code == 1 and "1 with warnings" in res.stdout
    assert f"warning: {cut}: truncated" in res.stderr
    res = runner.invoke(cli, ["scan", full, "--db", db, "--strict", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["warned"] == 0


def test_library_strict_raises_on_warnings(cut_mp3, tmp_path):
    from tempo.library import Library, LibraryOptions

    lib = Library(LibraryOptions(db_path=str(tmp_path / "c.sqlite"), jobs=1))
    assert lib.scan([cut_mp3[0]]).warned == 1
    with pytest.raises(tempo.TempoError, match="1 of 1 files have warnings.*truncated"):
        lib.scan([cut_mp3[0]], strict=True)


def test_old_cache_rows_without_warnings_still_read():
    from tempo.models import TrackAnalysis, TempoEstimate

    ta = TrackAnalysis(path="/a.mp3", size=1, mtime_ns=2, duration_s=3.0,
                       tempo=TempoEstimate(bpm=120.0), warnings=("too short: x",))
    d = ta.to_dict()
    assert d["warnings"] == ["too short: x"] and TrackAnalysis.from_dict(d) == ta
    d.pop("warnings")
    assert TrackAnalysis.from_dict(d).warnings == ()


# -- 2. terminal output is safe ---------------------------------------------------------------

EVIL_TITLE = "Eye of the\nTiger\x1b[31m red \u202egnp.exe"
EVIL_NAME = "bad\x1b]0;owned\x07\nname.ogg"


@pytest.fixture(scope="module")
def evil_folder(tmp_path_factory, fixtures_mod):
    """Two real 128 BPM files: one whose title tag holds a newline, an ESC colour sequence and a
    right-to-left override; one whose file name holds an OSC sequence, BEL and a newline."""
    folder = tmp_path_factory.mktemp("evil")
    y = fixtures_mod.drum_pattern(128.0, duration_s=12.0, sr=SR, seed=2)
    tagged = fixtures_mod.write_audio(str(folder / "tagged.flac"), y, SR)
    fixtures_mod.write_tags(tagged, artist="Sur\x9b2JVivor", title=EVIL_TITLE, bpm=128)
    named = fixtures_mod.write_audio(str(folder / EVIL_NAME), y, SR)
    return str(folder), tagged, named


def _no_controls(text: str) -> None:
    from tempo.textsafe import UNSAFE

    for line in text.splitlines():
        assert not UNSAFE.search(line), repr(line)


def test_safe_escapes_what_acts_and_keeps_the_rest():
    from tempo.textsafe import json_line, safe, safe_path

    assert safe("a\nb\tc\x1b[31m\x9b\x7f\x00") == "a\\nb\\tc\\x1b[31m\\x9b\\x7f\\x00"
    assert safe("\u202egnp.exe\u2066\u2028") == "\\u202egnp.exe\\u2066\\u2028"
    kept = "Sigur Rós – Hoppípolla 東京 👩\u200d👩\u200d👧 é"
    assert safe(kept) == kept
    assert safe(None) == "" and safe(128) == "128"
    assert safe_path(os.fsdecode(b"/m/caf\xe9\n.mp3")) == "/m/caf\\xe9\\n.mp3"
    assert safe_path(b"/m/x\x1b.mp3") == "/m/x\\x1b.mp3"
    value = {"title": EVIL_TITLE + "\x9b", "path": os.fsdecode(b"/m/caf\xe9.mp3")}
    line = json_line(value)
    _no_controls(line)
    assert json.loads(line) == value


def test_cli_tables_and_messages_escape_tags_and_names(runner, evil_folder, tmp_path):
    folder, tagged, named = evil_folder
    db = str(tmp_path / "c.sqlite")
    res = runner.invoke(cli, ["analyze", folder, "--db", db, "-j", "1", "-q"])
    assert res.exit_code == 0, res.stderr
    _no_controls(res.stdout)
    assert len(res.stdout.splitlines()) == 3  # header + one line per file
    assert "bad\\x1b]0;owned\\x07\\nname.ogg" in res.stdout
    # JSON stays exact: the title and the name come back as they are
    res = runner.invoke(cli, ["analyze", folder, "--db", db, "--json", "-q"])
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    _no_controls(res.stdout)
    assert {r["path"] for r in rows} == {tagged, named}
    assert next(r for r in rows if r["path"] == tagged)["tags"]["title"] == EVIL_TITLE
    # rank and playlist show display names ("Artist - Title") escaped, one line each
    res = runner.invoke(cli, ["rank", folder, "--db", db, "-q"])
    assert res.exit_code == 0, res.stderr
    _no_controls(res.stdout + res.stderr)
    assert "Sur\\x9b2JVivor - Eye of the\\nTiger\\x1b[31m red \\u202egnp.exe" in res.stdout
    res = runner.invoke(cli, ["playlist", folder, "--db", db, "-o", str(tmp_path / "p.m3u8"),
                              "--minutes", "1", "-q"])
    assert res.exit_code == 0, res.stderr
    _no_controls(res.stdout + res.stderr)
    assert "Tiger\\x1b[31m" in res.stdout
    # tag (dry run): file names and the old tag text escaped
    res = runner.invoke(cli, ["tag", folder, "--db", db, "-q"])
    _no_controls(res.stdout + res.stderr)
    assert "bad\\x1b]0;owned\\x07\\nname.ogg" in res.stdout


def test_error_messages_escape_names(runner, tmp_path):
    """A file that fails, and a path that does not exist: the name is shown escaped."""
    bad = tmp_path / "x\x1b[2J\ny.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    res = runner.invoke(cli, ["analyze", str(bad), "--db", str(tmp_path / "c.sqlite"), "-j", "1"])
    assert res.exit_code == 1
    _no_controls(res.stderr)
    assert "x\\x1b[2J\\ny.mp3" in res.stderr
    res = runner.invoke(cli, ["analyze", str(tmp_path / "gone\x1b[2J.mp3")])
    assert res.exit_code == 1 and "gone\\x1b[2J.mp3" in res.stderr
    _no_controls(res.stderr)


def test_progress_line_escapes_names(tmp_path):
    from tempo.library import ProgressPrinter

    out = io.StringIO()
    ProgressPrinter(out, tty=True)(1, 2, "/m/a\x1b[2J\r.mp3")
    assert "a\\x1b[2J\\r.mp3" in out.getvalue() and "\x1b" not in out.getvalue()
