"""`tempo tag` through the CLI: dry run changes nothing, --write tags, existing tags respected."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from tempo.audio import load
from tempo.cli import cli
from tempo.tags import read_bpm_tag


@pytest.fixture()
def music(tmp_path, tempo_set):
    folder = tmp_path / "music"
    folder.mkdir()
    for row in tempo_set:
        if row["bpm"] in (128.0, 140.0) and row["stable"]:
            shutil.copy(row["path"], folder)
    return folder


def _digests(folder):
    return {p: hashlib.sha256((folder / p).read_bytes()).hexdigest()
            for p in sorted(os.listdir(folder))}


def test_dry_run_changes_nothing(runner, music, tmp_path):
    before = _digests(music)
    db = str(tmp_path / "c.sqlite")
    result = runner.invoke(cli, ["tag", str(music), "--db", db, "--jobs", "1", "-q",
                                 "--min-confidence", "0"])
    assert result.exit_code == 0, result.stderr
    assert _digests(music) == before
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all("-> " in line and "[write]" in line for line in lines)
    assert "dry run: nothing written; add --write" in result.stderr


def test_write_then_keep_existing_then_force(runner, music, tmp_path):
    db = str(tmp_path / "c.sqlite")
    args = ["tag", str(music), "--db", db, "--jobs", "1", "-q", "--min-confidence", "0", "--json"]
    samples = {p: load(str(music / p)) for p in os.listdir(music)}
    result = runner.invoke(cli, [*args, "--write"])
    assert result.exit_code == 0, result.stderr
    plans = [json.loads(line) for line in result.stdout.splitlines()]
    assert {p["action"] for p in plans} == {"written"}
    for plan in plans:
        assert read_bpm_tag(plan["path"]) == plan["new"]
        assert np.array_equal(load(plan["path"]), samples[os.path.basename(plan["path"])])
    # tagging did not invalidate the cache: a scan reuses every analysis
    rescan = runner.invoke(cli, ["scan", str(music), "--db", db, "--json", "-q"])
    summary = json.loads(rescan.stdout)
    assert summary["analysed"] == 0 and summary["reused"] == 2
    # ... and what it reuses is the file as it is now: its new size, mtime and BPM tag
    from tempo.cache import Cache

    with Cache.open(db) as cache:
        for plan in plans:
            st = os.stat(plan["path"])
            held = cache.get(plan["path"], st.st_size, st.st_mtime_ns)
            assert held is not None and held.tags.bpm == float(plan["new"])

    # an existing, different tag is kept without --force ...
    path = plans[0]["path"]
    from tempo.tags import write_bpm_tag
    write_bpm_tag(path, "99")
    again = runner.invoke(cli, [*args, "--write"])
    by_path = {p["path"]: p for p in map(json.loads, again.stdout.splitlines())}
    assert by_path[path]["action"] == "skip" and read_bpm_tag(path) == "99"
    assert {p["action"] for p in by_path.values() if p["path"] != path} == {"unchanged"}
    # ... and replaced with it
    forced = runner.invoke(cli, [*args, "--write", "--force"])
    assert forced.exit_code == 0
    assert read_bpm_tag(path) == plans[0]["new"]


def test_low_confidence_is_skipped(runner, music, tmp_path):
    db = str(tmp_path / "c.sqlite")
    result = runner.invoke(cli, ["tag", str(music), "--db", db, "--jobs", "1", "-q",
                                 "--min-confidence", "1.0", "--write", "--json"])
    plans = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(p["action"] == "skip" and p["reason"].startswith("confidence") for p in plans)
    assert all(read_bpm_tag(p["path"]) is None for p in plans)


def test_bad_file_reported_rest_tagged(runner, music, tmp_path, bad_inputs):
    shutil.copy(bad_inputs["text"], music)
    db = str(tmp_path / "c.sqlite")
    result = runner.invoke(cli, ["tag", str(music), "--db", db, "--jobs", "1", "-q",
                                 "--min-confidence", "0", "--write"])
    assert result.exit_code == 1
    assert "notes.mp3" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.count("[written]") == 2


def test_trust_tags_on_analyze_scan_and_playlist(runner, music, tmp_path):
    """A BPM tag at half our tempo chooses that level with --trust-tags, and only then."""
    from tempo.tags import write_bpm_tag

    db = str(tmp_path / "c.sqlite")
    base = ["--db", db, "--jobs", "1", "-q"]
    plain = runner.invoke(cli, ["analyze", str(music), "--json", *base])
    ours = {r["path"]: r["tempo"]["bpm"] for r in map(json.loads, plain.stdout.splitlines())}
    path = sorted(ours)[0]
    write_bpm_tag(path, str(int(round(ours[path] / 2))))

    trusted = runner.invoke(cli, ["analyze", str(music), "--json", "--trust-tags", *base])
    rows = {r["path"]: r["tempo"] for r in map(json.loads, trusted.stdout.splitlines())}
    assert rows[path]["source"] == "tag-level"
    assert rows[path]["bpm"] == pytest.approx(ours[path] / 2, abs=0.6)
    other = [p for p in rows if p != path][0]
    assert rows[other]["source"] == "audio" and rows[other]["bpm"] == ours[other]
    again = runner.invoke(cli, ["analyze", path, "--json", *base])  # cache kept the audio's view
    assert json.loads(again.stdout)["tempo"]["bpm"] == ours[path]

    summary = runner.invoke(cli, ["scan", str(music), "--json", "--trust-tags", *base])
    assert json.loads(summary.stdout)["from_tags"] == 1
    out = tmp_path / "x.m3u8"
    made = runner.invoke(cli, ["playlist", str(music), "--trust-tags", "--profile", "steady",
                               "--bpm", "110", "--tolerance", "50", "-m", "1", "-o", str(out),
                               *base])
    assert made.exit_code == 0, made.stderr
    assert out.read_text(encoding="utf-8").startswith("#EXTM3U")
