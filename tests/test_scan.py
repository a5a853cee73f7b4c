"""Library scans: file discovery, cache reuse and invalidation, moved files, failures, the
worker pool's time limit, kill -9 and resume, two scans at once, and the `tempo scan` command.

Audio is a few seconds of synthetic drums at 11.025 kHz, so each scan takes about a second
(mostly starting the worker processes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

import tempo.cache as cache_mod
from tempo.cache import Cache
from tempo.cli import cli
from tempo.errors import TempoError
from tempo.library import (
    InProcessExecutor,
    ProcessExecutor,
    ProgressPrinter,
    ScanResult,
    find_audio_files,
    normalize_extensions,
    scan,
)

SR = 11025
BPMS = (90.0, 120.0, 140.0)


def _write_tracks(fixtures_mod, folder, bpms=BPMS, *, duration_s=6.0, prefix="t"):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, bpm in enumerate(bpms):
        path = os.path.join(folder, f"{prefix}{i:02d}_{bpm:g}.wav")
        fixtures_mod.write_audio(path, fixtures_mod.drum_pattern(bpm, duration_s=duration_s, sr=SR, seed=i), SR)
        paths.append(path)
    return paths


@pytest.fixture
def lib(tmp_path, fixtures_mod):
    """A folder with 3 good tracks and 2 bad files (zero bytes, text named .mp3)."""
    folder = tmp_path / "music"
    good = _write_tracks(fixtures_mod, str(folder))
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "notes.mp3").write_text("not audio\n" * 50)
    return folder, good


class NoAnalysis:
    """An executor that fails the test if anything has to be analysed."""

    def run(self, fn, items):
        for item in items:
            raise AssertionError(f"analysed {item} although its analysis was known")
        return iter(())

    def close(self):
        pass


# -- discovery -----------------------------------------------------------------------------------

def test_find_follows_symlinks_without_loops_and_skips_hidden(tmp_path):
    root = tmp_path / "music"
    (root / "a").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a" / "x.MP3").write_bytes(b"1")
    (root / "a" / "notes.txt").write_bytes(b"1")
    (root / ".hidden" / "y.flac").write_bytes(b"1")
    (root / ".dot.wav").write_bytes(b"1")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "z.ogg").write_bytes(b"1")
    os.symlink(root, root / "a" / "loop")  # a loop back to the top
    os.symlink(outside, root / "linked")  # a folder elsewhere
    os.symlink(tmp_path / "nowhere.wav", root / "broken.wav")  # a broken link
    files = find_audio_files([root])
    assert files == [str(root / "a" / "x.MP3"), str(root / "linked" / "z.ogg")]
    hidden = find_audio_files([root], hidden=True)
    assert str(root / ".hidden" / "y.flac") in hidden and str(root / ".dot.wav") in hidden
    assert find_audio_files([root], extensions=["txt"]) == [str(root / "a" / "notes.txt")]
    # a file given directly is taken as given; a missing path is an error naming it
    assert find_audio_files([root / "a" / "notes.txt"]) == [str(root / "a" / "notes.txt")]
    with pytest.raises(TempoError, match="nowhere"):
        find_audio_files([tmp_path / "nowhere"])


def test_normalize_extensions():
    assert normalize_extensions(["MP3", ".flac", "ogg, opus"]) == (".mp3", ".flac", ".ogg", ".opus")
    with pytest.raises(TempoError):
        normalize_extensions([""])


# -- scanning through the cache ------------------------------------------------------------------

def test_cold_then_warm_then_changed(lib, tmp_path, monkeypatch):
    folder, good = lib
    db = tmp_path / "c.sqlite"
    seen = []
    cold = scan([folder], db_path=db, jobs=2, progress=lambda d, t, p: seen.append((d, t)))
    assert (cold.found, cold.analysed, cold.reused, cold.failed) == (5, 3, 0, 2)
    assert [t.path for t in cold.tracks] == sorted(good)
    assert all(t.bpm is not None for t in cold.tracks)
    assert sorted(f.path for f in cold.failures) == [str(folder / "empty.mp3"), str(folder / "notes.mp3")]
    assert {f.kind for f in cold.failures} <= {"empty", "decode"}
    assert seen[-1] == (5, 5) and [d for d, _ in seen] == [1, 2, 3, 4, 5]

    warm = scan([folder], db_path=db, executor=NoAnalysis())
    assert (warm.analysed, warm.reused, warm.failed, warm.known_failed) == (0, 3, 2, 2)
    assert warm.tracks == cold.tracks and warm.failures == cold.failures

    # touch one file (new mtime), grow another (new size): only those are analysed again
    st = os.stat(good[0])
    os.utime(good[0], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with open(good[1], "ab") as f:
        f.write(b"\0" * 64)
    changed = scan([folder], db_path=db, jobs=1)
    assert (changed.analysed, changed.reused, changed.failed) == (2, 1, 2)

    # a new analyzer version: everything is analysed again, nothing stale comes back
    monkeypatch.setattr(cache_mod, "ANALYZER_VERSION", "test-bump")
    bumped = scan([folder], db_path=db, jobs=2)
    assert (bumped.analysed, bumped.reused) == (3, 0)


def test_moved_file_is_reused_without_decoding(lib, tmp_path):
    folder, good = lib
    db = tmp_path / "c.sqlite"
    first = scan([folder], db_path=db, jobs=1)
    moved_to = folder / "sub" / "renamed.wav"
    moved_to.parent.mkdir()
    os.rename(good[0], moved_to)
    again = scan([folder], db_path=db, executor=NoAnalysis())
    assert (again.analysed, again.reused, again.moved) == (0, 3, 1)
    by_path = {t.path: t for t in again.tracks}
    old = next(t for t in first.tracks if t.path == good[0])
    assert by_path[str(moved_to)].tempo == old.tempo
    assert by_path[str(moved_to)].mtime_ns == os.stat(moved_to).st_mtime_ns


def test_failed_files_are_retried_when_asked_or_changed(lib, tmp_path):
    folder, _ = lib
    db = tmp_path / "c.sqlite"
    scan([folder], db_path=db, jobs=1)
    retried = scan([folder / "empty.mp3", folder / "notes.mp3"], db_path=db, jobs=1, retry_failed=True)
    assert (retried.failed, retried.known_failed) == (2, 0)
    (folder / "notes.mp3").write_text("still not audio, but changed\n")
    changed = scan([folder], db_path=db, jobs=1)
    assert (changed.failed, changed.known_failed) == (2, 1)
    with pytest.raises(TempoError, match="2 of 5 files could not be analysed"):
        scan([folder], db_path=db, strict=True, executor=NoAnalysis())


def test_no_cache_mode_stores_nothing(lib, tmp_path, monkeypatch):
    folder, good = lib
    monkeypatch.setenv("TEMPO_DB", str(tmp_path / "never.sqlite"))
    res = scan([good[0]], use_cache=False, executor=InProcessExecutor())
    assert res.analysed == 1 and res.tracks[0].path == good[0]
    assert not (tmp_path / "never.sqlite").exists()


def test_warm_rescan_does_not_import_librosa_or_numpy(lib, tmp_path):
    folder, _ = lib
    db = tmp_path / "c.sqlite"
    scan([folder], db_path=db, jobs=1)
    code = ("import sys; from tempo.library import scan; "
            f"r = scan([{str(folder)!r}], db_path={str(db)!r}); "
            "print(r.reused, sorted(m for m in ('librosa', 'numpy', 'scipy', 'tempo.analysis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "3 []"


# -- the worker pool --------------------------------------------------------------------------

def test_pool_replaces_a_hung_worker_and_goes_on():
    # time.sleep stands in for a decoder that hangs on one file; os._exit for one that crashes
    pool = ProcessExecutor(2, timeout_s=2.5, initializer=None)
    results = dict(pool.run(time.sleep, [0.1, 60, 0.2, 0.3, 0.1]))
    assert results[60].kind == "timeout" and "--timeout" in results[60].message
    assert [results[x] for x in (0.1, 0.2, 0.3)] == [None, None, None]
    crash = dict(ProcessExecutor(1, timeout_s=30, initializer=None).run(os._exit, [3]))
    assert crash[3].kind == "crash" and "exit code 3" in crash[3].message


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_midway_then_resume(tmp_path, fixtures_mod, sig):
    folder = tmp_path / "music"
    _write_tracks(fixtures_mod, str(folder), bpms=[80.0 + 2 * i for i in range(40)], duration_s=10.0)
    db = tmp_path / "c.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "tempo", "scan", str(folder), "--db", str(db),
                             "--jobs", "1", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                with Cache.open(db) as c:
                    done = c.info().tracks
                if done >= 3:
                    break
            time.sleep(0.02)
        assert proc.poll() is None, f"the scan ended before it could be interrupted: {proc.stderr.read()}"
        os.kill(proc.pid, sig)
    finally:
        proc.wait(30)
    err = proc.stderr.read().decode()
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL, err
    else:
        assert proc.returncode == 130, err
        assert err.endswith("interrupted: finished files are saved; run the same command to resume\n")
    with Cache.open(db) as c:
        kept = c.info().tracks
        assert c.integrity_ok()
    assert 3 <= kept < 40
    res = CliRunner().invoke(cli, ["scan", str(folder), "--db", str(db), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["reused"] == kept and summary["analysed"] == 40 - kept and summary["failed"] == 0
    with Cache.open(db) as c:
        assert c.info().tracks == 40 and c.integrity_ok()


def test_second_scan_stops_with_a_clear_message_while_one_writes(lib, tmp_path):
    folder, _ = lib
    db = tmp_path / "c.sqlite"
    with Cache.open(db) as holder:
        holder.acquire_writer()
        res = CliRunner().invoke(cli, ["scan", str(folder), "--db", str(db), "--quiet", "--wait", "0"])
    assert res.exit_code == 1
    assert res.output == (f"Error: {db}: another tempo scan (pid {os.getpid()}) is writing to this "
                          "cache (wait for it to finish (--wait SECONDS waits longer), or give this run "
                          "its own cache with --db PATH)\n")


def test_two_scans_at_once_do_not_corrupt(tmp_path, fixtures_mod):
    folder = tmp_path / "music"
    _write_tracks(fixtures_mod, str(folder), bpms=[90.0 + 3 * i for i in range(12)])
    db = tmp_path / "c.sqlite"
    cmd = [sys.executable, "-m", "tempo", "scan", str(folder), "--db", str(db), "--jobs", "1", "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    codes = [p.returncode for p in procs]
    assert 0 in codes, outs
    for code, (out, err) in zip(codes, outs):
        assert code == 0 or (code == 1 and "another tempo scan" in err and "--db PATH" in err), (code, err)
    final = scan([folder], db_path=db, executor=NoAnalysis()) if codes == [0, 0] else scan([folder], db_path=db, jobs=1)
    assert final.found == 12 and final.failed == 0 and len(final.tracks) == 12
    with Cache.open(db) as c:
        assert c.info().tracks == 12 and c.integrity_ok()


# -- the command ---------------------------------------------------------------------------------

def test_cli_scan_summary_failed_list_and_strict(lib, tmp_path):
    folder, _ = lib
    db = str(tmp_path / "c.sqlite")
    runner = CliRunner()
    res = runner.invoke(cli, ["scan", str(folder), "--db", db, "--jobs", "1"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("found 5, analysed 3, reused 0, failed 2 in ")
    assert f"failed: {folder / 'empty.mp3'}: empty:" in res.stderr
    assert "analysing 5/5" in res.stderr  # plain progress lines when stderr is not a terminal
    res = runner.invoke(cli, ["scan", str(folder), "--db", db, "--strict", "-q"])
    assert res.exit_code == 1 and res.stderr == ""
    assert res.stdout.startswith("found 5, analysed 0, reused 3, failed 2 in ")
    assert "(2 failed before; --retry-failed tries them again)" in res.stdout
    res = runner.invoke(cli, ["scan", "--failed", "--db", db])
    assert res.exit_code == 0
    assert [line.split(": ")[0] for line in res.output.splitlines()] == [
        str(folder / "empty.mp3"), str(folder / "notes.mp3")]
    res = runner.invoke(cli, ["scan", "--failed", "--json", "--db", db, str(folder / "notes.mp3")])
    assert [json.loads(line)["path"] for line in res.output.splitlines()] == [str(folder / "notes.mp3")]


def test_cli_scan_options(lib, tmp_path):
    folder, good = lib
    db = str(tmp_path / "c.sqlite")
    runner = CliRunner()
    res = runner.invoke(cli, ["scan", str(folder), "--db", db, "--ext", "wav", "--json", "-q", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) | {"elapsed_s": 0} == {
        "found": 3, "analysed": 3, "reused": 0, "failed": 0, "known_failed": 0, "moved": 0, "from_tags": 0,
        "warned": 0, "busy": 0, "elapsed_s": 0}
    res = runner.invoke(cli, ["scan", str(folder), "--db", db, "--ext", "flac", "--ext", "ogg,opus"])
    assert res.exit_code == 0 and res.stdout.startswith("found 0,")
    assert "warning: no audio files found" in res.stderr
    hidden = folder / ".stash"
    hidden.mkdir()
    shutil.copy2(good[0], hidden / "x.wav")
    res = runner.invoke(cli, ["scan", str(folder), "--db", db, "--hidden", "--ext", "WAV", "-q", "-j", "1"])
    assert res.stdout.startswith("found 4, analysed 0, reused 4,")  # the hidden copy is known content
    assert runner.invoke(cli, ["scan", "--db", db]).exit_code == 2  # no paths
    assert runner.invoke(cli, ["scan", str(folder), "--jobs", "0"]).exit_code == 2
    assert runner.invoke(cli, ["scan", str(folder), "--timeout", "0"]).exit_code == 2
    res = runner.invoke(cli, ["scan", str(tmp_path / "nope"), "--db", db])
    assert res.exit_code == 1 and str(tmp_path / "nope") in res.output
    for args in (["scan", "--help"], ["cache", "--help"], ["cache", "info", "--help"],
                 ["cache", "prune", "--help"], ["cache", "clear", "--help"]):
        assert runner.invoke(cli, args).exit_code == 0


def test_progress_printer_formats():
    import io

    out = io.StringIO()
    p = ProgressPrinter(out, tty=False, interval_s=3600)
    p(1, 10, "/music/a.mp3")
    p(5, 10, "/music/b.mp3")  # within the interval: no line
    p(10, 10, "/music/c.mp3")  # the last one always
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("analysing 1/10 ") and lines[1].endswith("c.mp3")
    out = io.StringIO()
    p = ProgressPrinter(out, tty=True)
    p(2, 4, "/music/a.mp3")
    assert out.getvalue().startswith("\r[##########----------] analysing 2/4 ")


def test_scan_result_summary():
    r = ScanResult(tracks=[], failures=[], found=3, analysed=1, reused=1, failed=1, elapsed_s=2.04)
    assert r.summary() == "found 3, analysed 1, reused 1, failed 1 in 2.0 s"


def test_copies_in_one_scan_are_analysed_once(tmp_path, fixtures_mod):
    folder = tmp_path / "music"
    (src,) = _write_tracks(fixtures_mod, str(folder), bpms=[128.0])
    for i in range(3):
        shutil.copy2(src, folder / f"copy{i}.wav")
    (folder / "a.mp3").write_bytes(b"")
    (folder / "b.mp3").write_bytes(b"")
    res = scan([folder], db_path=tmp_path / "c.sqlite", jobs=2)
    assert (res.found, res.analysed, res.reused, res.moved, res.failed) == (6, 1, 3, 3, 2)
    assert len({t.tempo for t in res.tracks}) == 1 and len(res.tracks) == 4
    assert [f.path for f in res.failures] == [str(folder / "a.mp3"), str(folder / "b.mp3")]
    assert res.failures[0].kind == res.failures[1].kind


def _fail_at_start():
    raise SystemExit(7)


def test_pool_reports_workers_that_cannot_start():
    pool = ProcessExecutor(1, timeout_s=5, initializer=_fail_at_start)
    with pytest.raises(TempoError, match=r"worker process could not start \(exit code 7\)"):
        list(pool.run(time.sleep, [0.1]))


def test_file_name_that_is_not_utf8_does_not_stop_the_scan(tmp_path, fixtures_mod):
    folder = tmp_path / "music"
    (good,) = _write_tracks(fixtures_mod, str(folder), bpms=[120.0])
    weird = os.path.join(str(folder), os.fsdecode(b"caf\xe9.wav"))  # Latin-1 name, as old rips have
    try:
        shutil.copy(good, weird)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    os.utime(weird, ns=(0, 10**18))  # not a twin of the good file: a new state
    with open(weird, "ab") as f:
        f.write(b"\0\0")
    db = tmp_path / "c.sqlite"
    first = scan([folder], db_path=db, jobs=1)
    # the odd name is decoded and analysed like any other file, not merely survived
    assert first.found == 2 and first.analysed == 2 and not first.failures
    by_path = {t.path: t for t in first.tracks}
    assert by_path[weird].bpm == pytest.approx(by_path[good].bpm, abs=0.1)
    again = scan([folder], db_path=db, executor=NoAnalysis())
    assert again.reused == 2 and not again.failures
    assert weird in [t.path for t in again.tracks]
