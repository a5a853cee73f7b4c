"""The Library service: one set of options for every command, typed failures (permanent ones
cached, transient ones retried), and the review's bugs in tagging, timeouts and pruning.

Each bug test below failed before its fix (see the commit that added it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3

import pytest

from tempo.cache import Cache
from tempo.cli import cli
from tempo.executors import ProcessExecutor, _death
from tempo.library import Library, LibraryOptions, scan
from tempo.models import TRANSIENT_KINDS, FileFailure

SR = 11025

#: Commands that read the library, and what each needs besides PATHS to run.
LIBRARY_COMMANDS = {
    "analyze": [],
    "scan": [],
    "rank": [],
    "playlist": ["-o", "-"],
    "tag": [],
}
SHARED = ("--db", "--jobs", "--timeout", "--ext", "--hidden", "--retry-failed", "--trust-tags",
          "--quiet")


@pytest.fixture
def music(tmp_path, fixtures_mod):
    folder = tmp_path / "music"
    folder.mkdir()
    paths = []
    for i, bpm in enumerate((96.0, 128.0)):
        p = folder / f"t{i}_{bpm:g}.wav"
        fixtures_mod.write_audio(str(p), fixtures_mod.drum_pattern(bpm, duration_s=6.0, sr=SR, seed=i), SR)
        paths.append(str(p))
    return folder, paths


# -- options declared once --------------------------------------------------------------------

@pytest.mark.parametrize("command", [*LIBRARY_COMMANDS, "plot", "mix", "fix"])
def test_every_library_command_takes_the_same_options(runner, command):
    help_text = runner.invoke(cli, [command, "--help"]).output
    missing = [opt for opt in SHARED if opt not in help_text]
    assert not missing, f"tempo {command} lacks {missing}"


@pytest.mark.parametrize("command", list(LIBRARY_COMMANDS))
def test_the_options_reach_the_library(runner, tmp_path, monkeypatch, command):
    seen = {}

    def fake_scan(self, paths, **kwargs):
        seen.update(vars(self.options))
        raise SystemExit(0)

    monkeypatch.setattr(Library, "scan", fake_scan)
    db = str(tmp_path / "x.sqlite")
    runner.invoke(cli, [command, str(tmp_path), *LIBRARY_COMMANDS[command], "--db", db,
                        "--jobs", "3", "--timeout", "7", "--ext", "mp3,FLAC", "--hidden",
                        "--retry-failed", "--trust-tags", "-q"])
    assert seen["db_path"] == db and seen["jobs"] == 3 and seen["timeout_s"] == 7.0
    assert seen["extensions"] == (".mp3", ".flac")
    assert seen["hidden"] and seen["retry_failed"] and seen["trust_tags"]


def test_bad_library_options_are_refused():
    with pytest.raises(Exception, match="jobs=0"):
        LibraryOptions(jobs=0)
    with pytest.raises(Exception, match="timeout"):
        LibraryOptions(timeout_s=0)


# -- typed failures ---------------------------------------------------------------------------

def test_failure_kinds_say_whether_they_last():
    assert FileFailure("a", "decode", "x").transient is False
    assert FileFailure("a", "internal", "x").transient is False
    for kind in ("timeout", "crash", "memory", "interrupted"):
        assert kind in TRANSIENT_KINDS and FileFailure("a", kind, "x").transient
    assert FileFailure("a", "timeout", "x").to_dict()["transient"] is True


def _abort_with_a_message(path):
    os.write(2, b"libdecoder: frame 17: invalid block size, giving up\n")
    os.abort()


def test_a_crash_keeps_what_the_c_library_said():
    results = dict(ProcessExecutor(1, timeout_s=30, initializer=None).run(_abort_with_a_message, ["x"]))
    failure = results["x"]
    assert failure.kind == "crash" and failure.transient
    assert "SIGABRT" in failure.message
    assert "libdecoder: frame 17: invalid block size" in failure.message


def test_the_c_message_of_one_file_is_not_blamed_on_the_next():
    pool = ProcessExecutor(1, timeout_s=30, initializer=None)
    results = dict(pool.run(_chatty_then_crash, ["talk", "die"]))
    assert results["talk"] is None
    assert "chatter from the first file" not in results["die"].message


def _chatty_then_crash(path):
    if path == "talk":
        os.write(2, b"chatter from the first file\n")
        return None
    os.abort()


def test_sigkill_reads_as_out_of_memory():
    kind, message = _death(-signal.SIGKILL, "")
    assert kind == "memory" and "out of memory" in message
    kind, message = _death(3, "")
    assert kind == "crash" and "exit code 3" in message


def _slow_analysis(path, settings=None):
    """The real analysis, but hung while a file named SLOW lies beside the audio."""
    import time

    from tempo.analysis import analyze_file

    if os.path.exists(os.path.join(os.path.dirname(path), "SLOW")):
        time.sleep(30)
    return analyze_file(path, settings=settings)


def test_timeout_then_default_limit_analyses_the_files(runner, music, tmp_path, monkeypatch):
    """Bug: a scan with a short --timeout, then one with the default, still reported the files
    as failed before."""
    folder, paths = music
    db = str(tmp_path / "c.sqlite")
    (folder / "SLOW").touch()
    monkeypatch.setattr("tempo.library._analyze_task", _slow_analysis)
    short = runner.invoke(cli, ["scan", str(folder), "--db", db, "--timeout", "1", "-j", "2",
                                "--json", "-q"])
    first = json.loads(short.stdout)
    assert first["failed"] == 2 and first["analysed"] == 0
    (folder / "SLOW").unlink()
    again = runner.invoke(cli, ["scan", str(folder), "--db", db, "--json", "-q"])
    second = json.loads(again.stdout)
    assert second["analysed"] == 2 and second["failed"] == 0 and second["known_failed"] == 0
    with Cache.open(db) as cache:
        assert cache.failures() == []


def test_permanent_failures_are_remembered_transient_ones_are_not(tmp_path, music):
    folder, _ = music
    (folder / "notes.mp3").write_text("not audio\n" * 50)
    db = str(tmp_path / "c.sqlite")

    class Flaky:
        """Times out on one file, analyses the rest in this process."""

        def run(self, fn, items):
            for item in items:
                if item.endswith("t0_96.wav"):
                    yield item, FileFailure(item, "timeout", "took too long")
                else:
                    yield item, fn(item)

        def close(self):
            pass

    first = Library(LibraryOptions(db_path=db), executor=Flaky()).scan([folder])
    assert sorted(f.kind for f in first.failures) == ["decode", "timeout"]
    with Cache.open(db) as cache:
        assert [f.kind for f in cache.failures()] == ["decode"]
    second = scan([folder], db_path=db, jobs=1)
    assert [f.kind for f in second.failures] == ["decode"] and second.known_failed == 1
    assert second.analysed == 1 and len(second.tracks) == 2


def test_failures_stored_as_transient_by_older_versions_are_retried(tmp_path, music):
    folder, paths = music
    db = str(tmp_path / "c.sqlite")
    st = os.stat(paths[0])
    with Cache.open(db) as cache:
        cache.put_failure(FileFailure(paths[0], "timeout", "old"), size=st.st_size, mtime_ns=st.st_mtime_ns)
    result = scan([paths[0]], db_path=db, jobs=1)
    assert result.analysed == 1 and not result.failures


# -- tagging keeps the cache true ---------------------------------------------------------------

def test_tag_force_then_trust_tags_sees_the_new_tag(runner, tmp_path, tempo_set):
    """Bug: after `tempo tag --write --force` the cache kept the old tag, so
    `analyze --trust-tags` still reported the previous BPM tag as the file's."""
    from tempo.tags import read_bpm_tag, write_bpm_tag

    row = next(r for r in tempo_set if r["bpm"] == 140.0 and r["path"].endswith(".wav"))
    folder = tmp_path / "m"
    folder.mkdir()
    path = str(folder / os.path.basename(row["path"]))
    shutil.copy(row["path"], path)
    write_bpm_tag(path, "70")  # half our tempo: --trust-tags picks the half level
    db = str(tmp_path / "c.sqlite")
    base = ["--db", db, "-j", "1", "-q"]
    before = json.loads(runner.invoke(cli, ["analyze", path, "--json", "--trust-tags", *base]).stdout)
    assert before["tags"]["bpm"] == 70.0 and before["tempo"]["source"] == "tag-level"

    tagged = runner.invoke(cli, ["tag", path, "--write", "--force", "--min-confidence", "0", *base])
    assert tagged.exit_code == 0, tagged.output
    assert read_bpm_tag(path) == "140"
    after = json.loads(runner.invoke(cli, ["analyze", path, "--json", "--trust-tags", *base]).stdout)
    assert after["tags"]["bpm"] == 140.0
    assert after["tempo"]["bpm"] == pytest.approx(140.0, abs=0.2) and after["tempo"]["source"] == "audio"
    # what the cache holds is the file as it is now, and it was not analysed again
    st = os.stat(path)
    with Cache.open(db) as cache:
        held = cache.get(path, st.st_size, st.st_mtime_ns)
    assert held is not None and held.tags.bpm == 140.0
    rescan = json.loads(runner.invoke(cli, ["scan", path, "--json", *base]).stdout)
    assert rescan["analysed"] == 0 and rescan["reused"] == 1


def test_tagging_saves_file_by_file(tmp_path, tempo_set, monkeypatch):
    """An interruption after the first written file keeps that file's cache entry true."""
    import tempo.tagging as tagging

    rows = [r for r in tempo_set if r["bpm"] in (72.0, 140.0)]
    assert len(rows) == 2
    folder = tmp_path / "m"
    folder.mkdir()
    for r in rows:
        shutil.copy(r["path"], folder)
    db = str(tmp_path / "c.sqlite")
    lib = Library(LibraryOptions(db_path=db, jobs=1))
    lib.scan([folder])
    real = tagging.write_bpm_tag
    calls = []

    def write_then_interrupt(path, value):
        if calls:
            raise KeyboardInterrupt
        calls.append(path)
        real(path, value)

    monkeypatch.setattr(tagging, "write_bpm_tag", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        lib.tag([folder], write=True, min_confidence=0)
    st = os.stat(calls[0])
    with Cache.open(db) as cache:
        held = cache.get(calls[0], st.st_size, st.st_mtime_ns)
    assert held is not None and held.tags.bpm is not None


# -- prune ---------------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="byte file names")
def test_prune_keeps_files_whose_names_are_not_utf8(tmp_path, fixtures_mod):
    """Bug: `tempo cache prune` deleted the rows of existing files with non-UTF-8 names."""
    folder = tmp_path / "music"
    folder.mkdir()
    plain = str(folder / "plain.wav")
    fixtures_mod.write_audio(plain, fixtures_mod.drum_pattern(120.0, duration_s=5.0, sr=SR), SR)
    gone = folder / "gone.wav"
    shutil.copy(plain, gone)
    os.rename(os.fsencode(plain), os.path.join(os.fsencode(str(folder)), b"caf\xe9 \xff.wav"))
    db = str(tmp_path / "c.sqlite")
    result = scan([folder], db_path=db, jobs=1)
    assert len(result.tracks) == 2 and not result.failures
    os.remove(gone)
    with Cache.open(db) as cache:
        pruned = cache.prune()
        assert pruned.missing == 1
        assert len(cache.tracks()) == 1
    again = scan([folder], db_path=db, jobs=1)
    assert again.analysed == 0 and again.reused == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 1
