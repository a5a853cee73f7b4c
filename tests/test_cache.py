"""The SQLite analysis cache: keys, invalidation, fingerprints, failures, maintenance, and the
clear errors for a corrupt database, a foreign database and a read-only location.

These tests build TrackAnalysis values by hand (no audio decoding), so they are fast.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import replace

import pytest
from click.testing import CliRunner

import tempo.cache as cache_mod
from tempo.cache import Cache, CacheInfo, clear, default_db_path, fingerprint
from tempo.cli import cli
from tempo.errors import CacheError
from tempo.models import ANALYZER_VERSION, AnalysisSettings, FileFailure, TempoEstimate, TrackAnalysis


def _file(path, content: bytes = b"x" * 1000) -> tuple[str, os.stat_result]:
    with open(path, "wb") as f:
        f.write(content)
    return str(path), os.stat(path)


def _analysis(path: str, st: os.stat_result, bpm: float = 128.0, settings=None) -> TrackAnalysis:
    return TrackAnalysis(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, duration_s=10.0,
                         tempo=TempoEstimate(bpm=bpm, confidence=0.9, candidates=((bpm, 1.0),)),
                         settings=settings or AnalysisSettings())


@pytest.fixture
def db(tmp_path):
    with Cache.open(tmp_path / "cache.sqlite") as c:
        yield c


def test_hit_returns_the_stored_analysis(db, tmp_path):
    path, st = _file(tmp_path / "a.wav")
    a = _analysis(path, st)
    db.put(a)
    assert db.get(path, st.st_size, st.st_mtime_ns) == a


def test_results_survive_reopening(tmp_path):
    path, st = _file(tmp_path / "a.wav")
    with Cache.open(tmp_path / "c.sqlite") as c:
        c.put(_analysis(path, st))
    with Cache.open(tmp_path / "c.sqlite") as c:
        assert c.get(path, st.st_size, st.st_mtime_ns).bpm == 128.0


@pytest.mark.parametrize("change", ["size", "mtime", "path", "settings"])
def test_any_key_change_is_a_miss(db, tmp_path, change):
    path, st = _file(tmp_path / "a.wav")
    db.put(_analysis(path, st))
    size, mtime_ns, settings = st.st_size, st.st_mtime_ns, AnalysisSettings()
    if change == "size":
        size += 1
    elif change == "mtime":
        mtime_ns += 1
    elif change == "path":
        path = path + "x"
    else:
        settings = AnalysisSettings(min_bpm=60.0)
    assert db.get(path, size, mtime_ns, settings) is None


def test_new_analyzer_version_is_a_miss_and_old_rows_are_pruned(db, tmp_path, monkeypatch):
    path, st = _file(tmp_path / "a.wav")
    db.put(_analysis(path, st))
    monkeypatch.setattr(cache_mod, "ANALYZER_VERSION", "999")
    assert db.get(path, st.st_size, st.st_mtime_ns) is None
    assert db.prune().old_version == 1
    assert db.info().tracks == 0


def test_rows_per_settings_live_side_by_side(db, tmp_path):
    path, st = _file(tmp_path / "a.wav")
    fast = AnalysisSettings(sr=8000)
    db.put(_analysis(path, st, bpm=100.0))
    db.put(_analysis(path, st, bpm=101.0, settings=fast))
    assert db.get(path, st.st_size, st.st_mtime_ns).bpm == 100.0
    assert db.get(path, st.st_size, st.st_mtime_ns, fast).bpm == 101.0
    assert len(db.info().versions) == 2


def test_fingerprint_finds_moved_content(db, tmp_path):
    content = os.urandom(300_000)
    old, st = _file(tmp_path / "old.wav", content)
    db.put(_analysis(old, st), fingerprint=fingerprint(old, st.st_size))
    new, st2 = _file(tmp_path / "renamed.wav", content)
    found = db.get_by_fingerprint(fingerprint(new, st2.st_size))
    assert found is not None and found.bpm == 128.0
    # a different middle is not looked at (cheap), a different end is
    _, st3 = _file(tmp_path / "other.wav", content[:-1] + bytes([content[-1] ^ 1]))
    assert fingerprint(str(tmp_path / "other.wav"), st3.st_size) != fingerprint(new, st2.st_size)
    assert fingerprint(str(tmp_path / "missing.wav"), 10) is None


def test_fingerprint_of_small_file_hashes_all_of_it(tmp_path):
    a, st = _file(tmp_path / "a.wav", b"a" * 100_000)
    b, _ = _file(tmp_path / "b.wav", b"a" * 99_999 + b"b")
    assert fingerprint(a, st.st_size) != fingerprint(b, st.st_size)


def test_failures_are_keyed_like_tracks_and_cleared_by_success(db, tmp_path):
    path, st = _file(tmp_path / "bad.mp3")
    failure = FileFailure(path=path, kind="decode", message="not a readable audio file")
    db.put_failure(failure, size=st.st_size, mtime_ns=st.st_mtime_ns)
    assert db.get_failure(path, st.st_size, st.st_mtime_ns) == failure
    assert db.get_failure(path, st.st_size, st.st_mtime_ns + 1) is None  # changed: retry
    assert db.failures() == [failure]
    assert db.failures(under=[str(tmp_path / "elsewhere")]) == []
    assert db.failures(under=[str(tmp_path)]) == [failure]
    db.put(_analysis(path, st))
    assert db.failures() == []


def test_info_and_prune_of_missing_files(db, tmp_path):
    keep, st = _file(tmp_path / "keep.wav")
    gone, st2 = _file(tmp_path / "gone.wav")
    db.put(_analysis(keep, st))
    db.put(_analysis(gone, st2))
    db.put_failure(FileFailure(gone, "decode", "x"), size=1, mtime_ns=1)
    os.remove(gone)
    info = db.info()
    assert isinstance(info, CacheInfo)
    assert (info.tracks, info.failures) == (2, 1)
    assert info.versions == ((ANALYZER_VERSION, AnalysisSettings().settings_hash(), 2),)
    assert db.prune().missing == 2
    assert db.info().tracks == 1 and db.integrity_ok()


def test_default_path_comes_from_tempo_db(monkeypatch, tmp_path):
    monkeypatch.setenv("TEMPO_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == str(tmp_path / "x.sqlite")
    monkeypatch.delenv("TEMPO_DB")
    assert default_db_path().endswith(os.path.join("tempo", "tempo.sqlite"))


def test_corrupt_database_names_the_fix(tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError) as err:
        Cache.open(bad)
    assert str(bad) in str(err.value)
    assert f"tempo cache clear --db {bad}" in str(err.value)
    # ... and that fix works on the corrupt file, which is kept aside, not destroyed
    garbage = bad.read_bytes()
    done = clear(bad)
    assert done and done.unusable.startswith("is not a usable tempo cache database")
    assert done.corrections_kept == 0 and done.corrections_lost is None  # unknown: unreadable
    assert not bad.exists()
    assert os.path.basename(done.set_aside).startswith("c.sqlite.unusable-")
    assert open(done.set_aside, "rb").read() == garbage
    with Cache.open(bad) as c:
        assert c.info().tracks == 0


def test_foreign_sqlite_database_is_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE songs (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="not a tempo cache"):
        Cache.open(other)


def test_newer_schema_is_refused(tmp_path, monkeypatch):
    Cache.open(tmp_path / "c.sqlite").close()
    monkeypatch.setattr(cache_mod, "SCHEMA_VERSION", "2")
    with pytest.raises(CacheError, match="another tempo version"):
        Cache.open(tmp_path / "c.sqlite")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc as read-only place")
def test_read_only_location_names_the_fix(tmp_path):
    # chmod does not stop root (CI runs as root); /proc refuses new files for everyone
    places = ["/proc/tempo-test.sqlite", "/proc/tempo-test/cache.sqlite"]
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        places.append(str(ro / "cache.sqlite"))
    for place in places:
        with pytest.raises(CacheError) as err:
            Cache.open(place)
        text = str(err.value)
        assert place in text and "--db PATH" in text and "TEMPO_DB" in text


def test_one_writer_at_a_time(tmp_path):
    with Cache.open(tmp_path / "c.sqlite") as first, Cache.open(tmp_path / "c.sqlite") as second:
        first.acquire_writer()
        with pytest.raises(CacheError) as err:
            second.acquire_writer()
        assert f"another tempo scan (pid {os.getpid()}) is writing to this cache" in str(err.value)
        first.release_writer()
        second.acquire_writer()  # free again
        with pytest.raises(CacheError, match="another tempo scan"):
            clear(tmp_path / "c.sqlite")


# -- CLI ----------------------------------------------------------------------------------------

def test_cli_cache_info_prune_clear(tmp_path):
    db_path = tmp_path / "c.sqlite"
    keep, st = _file(tmp_path / "keep.wav")
    gone, st2 = _file(tmp_path / "gone.wav")
    with Cache.open(db_path) as c:
        c.put(_analysis(keep, st))
        c.put(_analysis(gone, st2))
    os.remove(gone)
    runner = CliRunner()
    res = runner.invoke(cli, ["cache", "info", "--db", str(db_path), "--json"])
    assert res.exit_code == 0, res.output
    import json

    info = json.loads(res.output)
    assert info["path"] == str(db_path) and info["tracks"] == 2 and info["size_bytes"] > 0
    res = runner.invoke(cli, ["cache", "info", "--db", str(db_path)])
    assert "tracks: 2" in res.output
    res = runner.invoke(cli, ["cache", "prune", "--db", str(db_path)])
    assert res.exit_code == 0
    assert res.output == "removed 1 rows of missing files, 0 rows of older analyzer versions\n"
    res = runner.invoke(cli, ["cache", "clear", "--db", str(db_path)], input="n\n")
    assert res.exit_code == 1 and db_path.exists()  # declined
    res = runner.invoke(cli, ["cache", "clear", "--db", str(db_path), "--yes"])
    assert res.exit_code == 0 and res.output == f"deleted 1 analysis from {db_path}\n"
    with Cache.open(db_path) as c:
        assert c.info().tracks == 0
    res = runner.invoke(cli, ["cache", "clear", "--db", str(db_path), "--all", "--yes"])
    assert res.exit_code == 0 and res.output == f"deleted {db_path} (0 analyses, 0 corrections)\n"
    assert not db_path.exists()
    res = runner.invoke(cli, ["cache", "clear", "--db", str(db_path), "--yes"])
    assert res.exit_code == 0 and res.output == f"nothing to delete: {db_path} does not exist\n"


def test_cli_uses_tempo_db(tmp_path):
    db_path = tmp_path / "env.sqlite"
    res = CliRunner().invoke(cli, ["cache", "info"], env={"TEMPO_DB": str(db_path)})
    assert res.exit_code == 0 and f"path: {db_path}" in res.output


def test_cli_corrupt_database_exits_1_with_the_fix(tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"\0garbage" * 500)
    res = CliRunner().invoke(cli, ["cache", "info", "--db", str(bad)])
    assert res.exit_code == 1
    assert res.output.startswith(f"Error: {bad}: is not a usable tempo cache database")
    assert f"tempo cache clear --db {bad}" in res.output


def test_unreadable_row_is_a_miss_not_a_crash(db, tmp_path):
    path, st = _file(tmp_path / "a.wav")
    db.put(_analysis(path, st))
    with db._write() as conn:  # simulate a row from a development build with another shape
        conn.execute("UPDATE tracks SET data = ?", ('{"path": "x"}',))
    assert db.get(path, st.st_size, st.st_mtime_ns) is None
    assert db.tracks() == []


# -- clear keeps the listener's corrections -------------------------------------------------------

def _filled(db_path, tmp_path, n_tracks=3, n_corrections=2):
    """A cache with analyses, a failure record and corrections; the corrections as stored."""
    with Cache.open(db_path) as c:
        for i in range(n_tracks):
            path, st = _file(tmp_path / f"t{i}.wav", bytes([i % 256]) * 1000)
            c.put(_analysis(path, st), fingerprint=fingerprint(path, st.st_size))
        c.put_failure(FileFailure(str(tmp_path / "bad.mp3"), "decode", "x"), size=1, mtime_ns=1)
        for i in range(n_corrections):
            c.put_correction(f"fp{i}", str(tmp_path / f"t{i}.wav"), 90.0 + i)
    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT fingerprint, path, bpm, updated_at FROM corrections ORDER BY 1").fetchall()
    conn.close()
    assert len(rows) == n_corrections
    return rows


def _stored_corrections(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT fingerprint, path, bpm, updated_at FROM corrections ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_clear_deletes_analyses_and_keeps_corrections(tmp_path):
    db_path = tmp_path / "c.sqlite"
    kept = _filled(db_path, tmp_path, n_tracks=2000)
    before = os.path.getsize(db_path)
    done = clear(db_path)
    assert (done.analyses, done.failures, done.corrections_kept, done.corrections_lost) == (2000, 1, 2, 0)
    assert done.unusable is None and done.set_aside is None
    assert _stored_corrections(db_path) == kept  # the same rows, their times too
    with Cache.open(db_path) as c:
        assert (c.info().tracks, c.info().failures) == (0, 0) and c.integrity_ok()
        assert c.corrections() == [(fp, p, bpm) for fp, p, bpm, _ in sorted(kept, key=lambda r: r[1])]
    assert os.path.getsize(db_path) < before / 4  # the space is given back (VACUUM)
    assert not [f for f in os.listdir(tmp_path) if UNUSABLE in f or f.endswith(".tmp")]


UNUSABLE = cache_mod.UNUSABLE_SUFFIX


def test_clear_all_deletes_the_file_corrections_included(tmp_path):
    db_path = tmp_path / "c.sqlite"
    _filled(db_path, tmp_path)
    assert cache_mod.stored_counts(db_path) == cache_mod.StoredCounts(analyses=3, failures=1, corrections=2)
    done = clear(db_path, keep_corrections=False)
    assert (done.analyses, done.failures, done.corrections_kept, done.corrections_lost) == (3, 1, 0, 2)
    assert os.listdir(tmp_path) == [] or all(f.endswith(".wav") for f in os.listdir(tmp_path))
    assert cache_mod.stored_counts(db_path) is None
    assert not clear(db_path) and not clear(db_path, keep_corrections=False)  # nothing there


def test_clear_of_an_older_cache_without_the_corrections_table(tmp_path):
    db_path = tmp_path / "c.sqlite"
    _filled(db_path, tmp_path, n_corrections=0)
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE corrections")  # as written before `tempo fix` existed
    conn.commit()
    conn.close()
    assert cache_mod.stored_counts(db_path).corrections == 0
    done = clear(db_path)
    assert (done.analyses, done.corrections_kept, done.unusable) == (3, 0, None)
    with Cache.open(db_path) as c:
        assert c.info().tracks == 0 and c.corrections() == []
        c.put_correction("fp", str(tmp_path / "t0.wav"), 100.0)  # and the table is there now


def test_clear_under_an_open_connection_loses_nothing_written_after(tmp_path):
    """Another command (``tempo fix`` takes no writer lock) with the database open writes into
    the same file after a clear: its correction is kept (a replaced file would swallow it)."""
    db_path = tmp_path / "c.sqlite"
    _filled(db_path, tmp_path)
    with Cache.open(db_path) as other:
        assert other.info().tracks == 3
        clear(db_path)
        assert other.info().tracks == 0  # it reads the cleared state
        other.put_correction("fp-late", str(tmp_path / "late.wav"), 77.0)
    with Cache.open(db_path) as c:
        assert [bpm for fp, _, bpm in c.corrections() if fp == "fp-late"] == [77.0]
        assert len(c.corrections()) == 3


def _other_version(db_path):
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE meta SET value='2' WHERE key='schema'")
    conn.commit()
    conn.close()


def test_unusable_cache_is_set_aside_and_its_corrections_kept(tmp_path):
    db_path = tmp_path / "c.sqlite"
    kept = _filled(db_path, tmp_path)
    _other_version(db_path)
    done = clear(db_path)
    assert "another tempo version" in done.unusable
    assert (done.corrections_kept, done.corrections_lost) == (2, 0)
    assert _stored_corrections(db_path) == kept
    with Cache.open(db_path) as c:  # a fresh cache of this version
        assert c.info().tracks == 0 and c.integrity_ok()
    conn = sqlite3.connect(done.set_aside)  # the old file, whole, under its new name
    assert conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0] == 3
    conn.close()
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp") or ".tmp-" in f]


def test_damage_found_while_clearing_sets_the_file_aside(tmp_path):
    """Pages of analyses overwritten with garbage: the file opens, clearing it finds the damage;
    the corrections (on their own pages) are read back into a fresh cache."""
    db_path = tmp_path / "c.sqlite"
    kept = _filled(db_path, tmp_path, n_tracks=400, n_corrections=1)  # one row: its root page
    size = os.path.getsize(db_path)
    with open(db_path, "r+b") as f:  # the last pages hold analyses and their indexes
        f.seek(size - 16 * 4096)
        f.write(b"\xff\x13garbage" * (12 * 4096 // 9))
    with Cache.open(db_path):
        pass  # it opens: the damage shows only when the analyses are read
    done = clear(db_path)
    assert "malformed" in done.unusable and done.set_aside and done.corrections_kept == 1
    assert _stored_corrections(db_path) == kept
    with Cache.open(db_path) as c:
        assert c.info().tracks == 0 and c.integrity_ok()


def test_a_failure_while_setting_aside_loses_nothing(tmp_path, monkeypatch):
    db_path = tmp_path / "c.sqlite"
    kept = _filled(db_path, tmp_path)
    _other_version(db_path)
    real_replace = os.replace

    def failing_replace(src, dst):
        if os.fspath(dst) == str(db_path):  # the last step: the fresh file over the old one
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(cache_mod.os, "replace", failing_replace)
    with pytest.raises(CacheError, match="cannot set the unusable cache file aside"):
        clear(db_path)
    monkeypatch.undo()
    assert _stored_corrections(db_path) == kept  # still there, under the old name
    aside = [f for f in os.listdir(tmp_path) if UNUSABLE in f and not f.endswith(("-wal", "-shm"))]
    assert len(aside) == 1 and _stored_corrections(tmp_path / aside[0]) == kept  # and the new one
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]
    done = clear(db_path)  # run again: works
    assert done.corrections_kept == 2 and _stored_corrections(db_path) == kept


_KILL_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[2])
from tempo.cache import clear
print("go", flush=True)
clear(sys.argv[1])
"""


def test_clear_killed_at_any_moment_keeps_the_corrections(tmp_path):
    """``kill -9`` during a clear: the database is either whole or cleared, never without its
    corrections, never damaged."""
    import random
    import shutil
    import subprocess
    import time

    src = tmp_path / "full.sqlite"
    kept = _filled(src, tmp_path)
    path, st = _file(tmp_path / "a.wav")
    with Cache.open(src) as c:  # many analyses: a clear that takes a while
        c.put_many((replace(_analysis(path, st), path=f"{path}.{i}"), f"fp-{i}") for i in range(10_000))
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rng = random.Random(7)
    for _ in range(6):
        db_path = tmp_path / "c.sqlite"
        for suffix in ("", "-wal", "-shm", ".lock"):
            if os.path.exists(str(db_path) + suffix):
                os.remove(str(db_path) + suffix)
        shutil.copy(src, db_path)
        proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(db_path), repo],
                                stdout=subprocess.PIPE)
        proc.stdout.readline()  # imported; now clearing
        time.sleep(rng.uniform(0.0, 0.3))  # a clear of this takes ~0.15 s here
        proc.kill()
        proc.wait()
        proc.stdout.close()
        assert _stored_corrections(db_path) == kept
        with Cache.open(db_path) as c:
            assert c.integrity_ok()
            tracks = c.info().tracks
        assert tracks in (0, 10_003)  # (here both states are hit: the kill lands before or after)
