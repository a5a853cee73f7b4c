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
