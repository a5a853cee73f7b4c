"""Reliability under hostile input, through the CLI: truncated and too-short files, control
characters in tags and names, concurrent use, full and read-only places, absurd sizes."""

from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
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


def _ogg_page(body: bytes, flags: int = 0) -> bytes:
    """One Ogg page around ``body`` (< 255 * 255 bytes); the CRC is left zero: only the
    structure matters to the end check."""
    lacing = [255] * (len(body) // 255) + [len(body) % 255]
    return (b"OggS" + bytes([0, flags]) + bytes(20) + bytes([len(lacing)]) + bytes(lacing) + body)


def test_ogg_tail_problem_reads_the_page_chain():
    from tempo.audio import OGG_END_OF_STREAM, ogg_tail_problem

    rng = np.random.default_rng(3)
    pages = [_ogg_page(rng.bytes(n)) for n in (4000, 700, 5100)]
    last = _ogg_page(rng.bytes(900), flags=OGG_END_OF_STREAM)
    whole = b"".join(pages) + last
    assert ogg_tail_problem(whole) is None
    # the tail starts inside a page, and that page's data holds a stray "OggS": no alarm
    tail = whole[1500:]
    assert ogg_tail_problem(b"xxOggS" + bytes(40) + tail) is None
    assert ogg_tail_problem(tail) is None
    assert "middle of an Ogg page" in ogg_tail_problem(whole[:-100])
    assert "middle of an Ogg page" in ogg_tail_problem(whole[:-len(last) + 10])  # header cut
    assert "middle of an Ogg page" in ogg_tail_problem(whole[:-len(last) + 2])  # "Og"
    assert "not the end of the stream" in ogg_tail_problem(whole[:-len(last)])
    # no chain of pages at all (random bytes, a lone page header): nothing to say
    assert ogg_tail_problem(rng.bytes(3000)) is None
    assert ogg_tail_problem(last[:30]) is None


@pytest.fixture(scope="module")
def cut_oggs(tmp_path_factory, fixtures_mod):
    """Vorbis and Opus files of 30 s: whole, cut in half, and cut just before the last page."""
    import soundfile as sf

    folder = tmp_path_factory.mktemp("cutogg")
    y = fixtures_mod.drum_pattern(120.0, duration_s=30.0, sr=48000, seed=6).astype(np.float32)
    out = {}
    for ext, subtype in ((".ogg", "VORBIS"), (".opus", "OPUS")):
        whole = str(folder / f"whole{ext}")
        sf.write(whole, 0.5 * y, 48000, format="OGG", subtype=subtype)
        with open(whole, "rb") as fh:
            data = fh.read()
        last = data.rfind(b"OggS")
        for name, part in (("half", data[: len(data) // 2]), ("page", data[:last])):
            with open(str(folder / f"{name}{ext}"), "wb") as fh:
                fh.write(part)
        out[ext] = {name: str(folder / f"{name}{ext}") for name in ("whole", "half", "page")}
    return out


@pytest.mark.parametrize("ext", [".ogg", ".opus"])
def test_cut_ogg_is_reported_and_whole_is_not(cut_oggs, ext):
    files = cut_oggs[ext]
    whole = tempo.analyze_file(files["whole"])
    assert whole.warnings == () and whole.bpm == pytest.approx(120.0, rel=0.02)
    half = tempo.analyze_file(files["half"])
    assert half.duration_s < 20.0
    expected = (f"damaged: decoding stopped after {half.duration_s:.0f} s "
                "(the file breaks off in the middle of an Ogg page)")
    assert half.warnings == (expected,)
    page = tempo.analyze_file(files["page"])
    assert len(page.warnings) == 1 and "not the end of the stream" in page.warnings[0]


def test_cut_ogg_through_the_cli(runner, cut_oggs, tmp_path):
    files = cut_oggs[".ogg"]
    db = str(tmp_path / "c.sqlite")
    res = runner.invoke(cli, ["analyze", files["half"], files["whole"], "--db", db, "-j", "1", "-q"])
    assert res.exit_code == 0, res.stderr
    assert f"warning: {files['half']}: damaged: decoding stopped after " in res.stderr
    assert "whole.ogg" not in res.stderr
    res = runner.invoke(cli, ["scan", files["half"], "--db", db, "--strict"])
    assert res.exit_code == 1 and "1 with warnings" in res.stdout


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


# -- 3. concurrent use --------------------------------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_HOLD_WRITER = """
import sys, time
from tempo.cache import Cache
with Cache.open(sys.argv[1]) as cache:
    cache.acquire_writer()
    conn = cache._conn
    conn.execute("BEGIN IMMEDIATE")   # a write transaction left open, as in a scan's commit
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('busy', 'yes')")
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
"""


def _hold_writer(db: str, seconds: float) -> subprocess.Popen:
    """Another process that holds the cache's writer lock and an open write transaction."""
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-c", _HOLD_WRITER, db, str(seconds)],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline().strip() == "holding"
    return proc


@pytest.fixture()
def two_songs(tmp_path, fixtures_mod):
    y = fixtures_mod.drum_pattern(128.0, duration_s=8.0, sr=SR, seed=4)
    a = fixtures_mod.write_audio(str(tmp_path / "music" / "a.wav"), y, SR)
    b = fixtures_mod.write_audio(str(tmp_path / "music" / "b.wav"), y[::-1].copy(), SR)
    return str(tmp_path / "music"), a, b


def test_readers_do_not_wait_for_a_writer(runner, tmp_path, two_songs):
    folder, a, b = two_songs
    db = str(tmp_path / "c.sqlite")
    assert runner.invoke(cli, ["scan", folder, "--db", db, "-j", "1", "-q"]).exit_code == 0
    proc = _hold_writer(db, 30)
    try:
        t0 = time.monotonic()
        res = runner.invoke(cli, ["analyze", folder, "--db", db, "--json", "-q"])
        assert res.exit_code == 0, res.stderr
        assert time.monotonic() - t0 < 10  # not the 30 s the writer holds on
        assert {json.loads(x)["path"] for x in res.stdout.splitlines()} == {a, b}
    finally:
        proc.kill()
        proc.wait()


def test_commands_wait_then_use_the_cache_and_scan_errors(runner, tmp_path, two_songs):
    folder, a, b = two_songs
    db = str(tmp_path / "c.sqlite")
    assert runner.invoke(cli, ["scan", a, "--db", db, "-j", "1", "-q"]).exit_code == 0
    proc = _hold_writer(db, 60)
    try:
        # analyze: waits (and says so), then shows what is cached and names the file left out
        res = runner.invoke(cli, ["analyze", folder, "--db", db, "--wait", "0.5", "-j", "1"])
        assert res.exit_code == 1
        assert f"pid {proc.pid}" in res.stderr and "waiting up to 0.5 s" in res.stderr
        assert a in res.stdout and b not in res.stdout
        assert f"error: {b}: not analysed: another tempo scan (pid {proc.pid})" in res.stderr
        # rank: works from the cache with one clear note
        res = runner.invoke(cli, ["rank", folder, "--db", db, "--wait", "0.2", "-j", "1"])
        assert res.exit_code == 0, res.stderr
        assert "1 files not analysed yet were left out" in res.stderr
        # scan: waits, then a clear error naming the holder and the fix
        res = runner.invoke(cli, ["scan", folder, "--db", db, "--wait", "0.3", "-j", "1"])
        assert res.exit_code == 1
        assert f"another tempo scan (pid {proc.pid}) is writing to this cache (waited 0.3 s)" in res.stderr
        assert "--wait SECONDS" in res.stderr
    finally:
        proc.kill()
        proc.wait()


def test_a_wait_that_ends_in_time_analyses(runner, tmp_path, two_songs):
    folder, a, b = two_songs
    db = str(tmp_path / "c.sqlite")
    assert runner.invoke(cli, ["scan", a, "--db", db, "-j", "1", "-q"]).exit_code == 0
    proc = _hold_writer(db, 1.5)
    try:
        res = runner.invoke(cli, ["scan", folder, "--db", db, "--wait", "60", "-j", "1", "--json"])
        assert res.exit_code == 0, res.stderr
        assert "waiting up to 60 s" in res.stderr
        summary = json.loads(res.stdout)
        assert summary["analysed"] == 1 and summary["reused"] == 1 and summary["busy"] == 0
    finally:
        proc.wait()


_TAG_LOOP = """
import sys
from tempo.tags import write_bpm_tag
for i in range(int(sys.argv[3])):
    write_bpm_tag(sys.argv[1], sys.argv[2])
"""


@pytest.mark.parametrize("ext", [".mp3", ".flac"])
def test_concurrent_tag_writes_never_leave_a_half_written_file(tmp_path, fixtures_mod, ext):
    """Two processes tag one file over and over while this one reads it: every read sees a
    whole file (tags parse, the audio is all there), and no temporary copy is left behind."""
    import mutagen

    from tempo.audio import AudioStream
    from tempo.tags import read_bpm_tag

    y = fixtures_mod.drum_pattern(120.0, duration_s=6.0, sr=SR, seed=6)
    path = fixtures_mod.write_audio(str(tmp_path / f"song{ext}"), y, SR)
    with AudioStream(path) as s:
        frames = sum(len(b) for b in s.blocks())
    env = dict(os.environ, PYTHONPATH=REPO)
    procs = [subprocess.Popen([sys.executable, "-c", _TAG_LOOP, path, value, "25"], env=env)
             for value in ("100", "101")]
    reads = 0
    while any(p.poll() is None for p in procs):
        assert mutagen.File(path) is not None
        assert read_bpm_tag(path) in (None, "100", "101")
        reads += 1
    assert [p.wait() for p in procs] == [0, 0]
    assert read_bpm_tag(path) in ("100", "101") and reads > 0
    with AudioStream(path) as s:
        assert sum(len(b) for b in s.blocks()) == frames
    assert os.listdir(tmp_path) == [os.path.basename(path)]


def test_two_tag_runs_on_one_folder(tmp_path, fixtures_mod):
    """Two real `tempo tag --write --force` processes on one folder: both succeed, every file
    holds a BPM tag and decodes whole, nothing temporary is left."""
    from tempo.tags import read_bpm_tag

    folder = tmp_path / "music"
    for i in range(4):
        y = fixtures_mod.drum_pattern(100.0 + 10 * i, duration_s=5.0, sr=SR, seed=i)
        fixtures_mod.write_audio(str(folder / f"s{i}.flac"), y, SR)
    env = dict(os.environ, PYTHONPATH=REPO)
    db = str(tmp_path / "c.sqlite")
    from tempo.library import scan

    assert scan([str(folder)], db_path=db, jobs=1).analysed == 4
    procs = [subprocess.Popen([sys.executable, "-m", "tempo", "tag", str(folder), "--write", "--force",
                               "--min-confidence", "0", "--db", db, "-j", "1", "-q",
                               "--decimals", d], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for d in ("0", "1")]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    names = sorted(os.listdir(folder))
    assert names == [f"s{i}.flac" for i in range(4)]
    for name in names:
        assert read_bpm_tag(str(folder / name)) is not None
        assert tempo.analyze_file(str(folder / name)).duration_s == pytest.approx(5.0, abs=0.01)


# -- 4. full disks and read-only places ---------------------------------------------------------

import contextlib  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402


@contextlib.contextmanager
def _small_fs(path, size="1m"):
    """A real, size-limited file system (tmpfs) at ``path``; skips where mounting is not
    permitted (not root, or a container without CAP_SYS_ADMIN)."""
    os.makedirs(path, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot run mount")
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=10)


def _fill(folder: str, leave: int) -> str:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    filler = os.path.join(folder, "filler")
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as fh:
        with contextlib.suppress(OSError):
            fh.write(b"\0" * max(0, free - leave))
    return filler


@pytest.fixture(scope="module")
def many_songs(tmp_path_factory, fixtures_mod):
    folder = tmp_path_factory.mktemp("many")
    y = fixtures_mod.drum_pattern(128.0, duration_s=4.0, sr=8000, seed=7)
    for i in range(30):
        fixtures_mod.write_audio(str(folder / f"s{i:02d}.wav"), y * (0.4 + i / 60), 8000)
    return str(folder)


def test_cache_on_a_full_disk(runner, tmp_path, many_songs):
    with _small_fs(tmp_path / "fs") as fs:
        db = os.path.join(fs, "cache", "tempo.sqlite")
        first = [os.path.join(many_songs, f"s0{i}.wav") for i in range(2)]
        assert runner.invoke(cli, ["scan", *first, "--db", db, "-j", "1", "-q"]).exit_code == 0
        filler = _fill(fs, leave=60_000)
        res = runner.invoke(cli, ["scan", many_songs, "--db", db, "-j", "1", "-q"])
        assert res.exit_code == 1
        assert f"Error: {db}: cannot " in res.stderr and "the disk holding it is full" in res.stderr
        assert "free some space there, or choose another location with --db" in res.stderr
        os.remove(filler)
        with contextlib.closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {r[0] for r in conn.execute("SELECT path FROM tracks")}
        assert set(first) <= stored  # what was stored before is kept
        # with room again, the same command finishes the job
        res = runner.invoke(cli, ["scan", many_songs, "--db", db, "-j", "1", "--json", "-q"])
        assert res.exit_code == 0 and json.loads(res.stdout)["found"] == 30


def test_playlist_on_a_full_disk_keeps_the_old_one(runner, tmp_path, many_songs):
    db = str(tmp_path / "c.sqlite")
    assert runner.invoke(cli, ["scan", many_songs, "--db", db, "-j", "1", "-q"]).exit_code == 0
    with _small_fs(tmp_path / "fs", size="256k") as fs:
        out = os.path.join(fs, "run.m3u8")
        with open(out, "w") as fh:
            fh.write("#EXTM3U\nold.mp3\n")
        _fill(fs, leave=0)
        res = runner.invoke(cli, ["playlist", many_songs, "--db", db, "-o", out, "-q"])
        assert res.exit_code == 1
        assert f"{out}: cannot write playlist: No space left on device" in res.stderr
        assert "free some space there or write elsewhere" in res.stderr
        with open(out) as fh:
            assert fh.read() == "#EXTM3U\nold.mp3\n"
        assert sorted(os.listdir(fs)) == ["filler", "run.m3u8"]  # no temporary file left


def test_read_only_cache_reads_and_refuses_to_store(runner, tmp_path, many_songs):
    with _small_fs(tmp_path / "fs") as fs:
        db = os.path.join(fs, "tempo.sqlite")
        one = os.path.join(many_songs, "s00.wav")
        assert runner.invoke(cli, ["scan", one, "--db", db, "-j", "1", "-q"]).exit_code == 0
        subprocess.run(["mount", "-o", "remount,ro", fs], check=True)
        # what is cached is still there to read
        res = runner.invoke(cli, ["analyze", one, "--db", db, "--json", "-q"])
        assert res.exit_code == 0, res.stderr
        assert json.loads(res.stdout)["path"] == one
        # storing anything new: a clear error naming the place and the fix
        res = runner.invoke(cli, ["scan", many_songs, "--db", db, "-j", "1", "-q"])
        assert res.exit_code == 1
        assert f"{db}: cannot write to the cache database: it is read-only" in res.stderr
        assert "--db PATH" in res.stderr
        res = runner.invoke(cli, ["scan", one, "--db", os.path.join(fs, "new", "t.sqlite")])
        assert res.exit_code == 1 and "Read-only file system" in res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files")
def test_read_only_cache_file(runner, tmp_path, many_songs):
    db = str(tmp_path / "tempo.sqlite")
    one = os.path.join(many_songs, "s00.wav")
    assert runner.invoke(cli, ["scan", one, "--db", db, "-j", "1", "-q"]).exit_code == 0
    os.chmod(db, 0o444)
    res = runner.invoke(cli, ["analyze", one, "--db", db, "-q"])
    assert res.exit_code == 0, res.stderr
    res = runner.invoke(cli, ["scan", many_songs, "--db", db, "-j", "1", "-q"])
    assert res.exit_code == 1 and "read-only" in res.stderr


def test_playlist_write_beyond_the_file_size_limit(tmp_path):
    """Without a small file system: RLIMIT_FSIZE in a child process makes the write fail
    (EFBIG); the error names the file, the old playlist stays whole, no temporary is left."""
    out = tmp_path / "p.m3u8"
    out.write_text("#EXTM3U\nold.mp3\n")
    code = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))\n"
        "from tempo.playlist import PlaylistEntry, write_playlist\n"
        "from tempo.errors import TempoError\n"
        "entries = [PlaylistEntry(f'/m/{i:05d}.mp3', 200.0, f'Song {i}') for i in range(100)]\n"
        "try:\n"
        "    write_playlist(entries, sys.argv[1])\n"
        "except TempoError as err:\n"
        "    print(err)\n")
    done = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=REPO), timeout=60)
    assert f"{out}: cannot write playlist: File too large" in done.stdout, done.stderr
    assert out.read_text() == "#EXTM3U\nold.mp3\n"
    assert os.listdir(tmp_path) == ["p.m3u8"]


# -- 5. a memory ceiling per worker ---------------------------------------------------------------

def _greedy(path):
    """A task that wants 8 GB, as a decoder trusting a corrupt header might."""
    import numpy as np

    try:
        block = np.ones(8 * 1024 ** 3 // 8)
    except MemoryError:
        from tempo.models import FileFailure

        return FileFailure(path=path, kind="memory", message="out of memory")
    return float(block[0])


def test_a_worker_over_its_memory_ceiling_fails_alone():
    from tempo.executors import ProcessExecutor

    pool = ProcessExecutor(1, timeout_s=60, initializer=None, memory_limit_mb=1024)
    outcomes = dict(pool.run(_greedy, ["a.wav", "b.wav"]))
    for path in ("a.wav", "b.wav"):  # the worker survives its MemoryError and goes on
        assert outcomes[path].kind == "memory" and outcomes[path].transient
        assert "1024 MB; raise it with --memory-limit" in outcomes[path].message


def test_memory_limit_option_reaches_the_workers(runner, tmp_path, monkeypatch):
    from tempo import executors

    seen = []
    real = executors.ProcessExecutor.__init__

    def spy(self, jobs, **kwargs):
        seen.append(kwargs.get("memory_limit_mb"))
        real(self, jobs, **kwargs)

    monkeypatch.setattr(executors.ProcessExecutor, "__init__", spy)
    (tmp_path / "x.wav").write_bytes(b"RIFF....WAVEjunk")
    runner.invoke(cli, ["scan", str(tmp_path), "--db", str(tmp_path / "c.sqlite"), "-j", "1",
                        "--memory-limit", "1500", "-q"])
    assert seen == [1500]
    assert runner.invoke(cli, ["scan", str(tmp_path), "--memory-limit", "-1"]).exit_code == 2


# -- 6. limits on absurd input -------------------------------------------------------------------

def test_a_header_declaring_a_day(runner, tmp_path):
    """A WAV whose header declares 24 hours but holds 4 s: analysed with bounded work (only what
    is there is decoded) and reported as truncated."""
    import struct

    import numpy as np

    sr = 8000
    t = np.arange(4 * sr) / sr
    pcm = (np.sin(2 * np.pi * 2 * t) * (np.sin(2 * np.pi * 220 * t)) * 9000).astype("<i2").tobytes()
    declared = 24 * 3600 * sr * 2
    header = (b"RIFF" + struct.pack("<I", (36 + declared) & 0xFFFFFFFF) + b"WAVE" + b"fmt " +
              struct.pack("<IHHIIHH", 16, 1, 1, sr, sr * 2, 2, 16) + b"data" + struct.pack("<I", declared))
    path = tmp_path / "day.wav"
    path.write_bytes(header + pcm)
    res = runner.invoke(cli, ["analyze", str(path), "--db", str(tmp_path / "c.sqlite"), "--json", "-q"])
    assert res.exit_code == 0, res.stderr
    row = json.loads(res.stdout)
    assert row["duration_s"] == pytest.approx(4.0, abs=0.01)
    assert row["warnings"] == ["truncated: 4.0 s of 86400 s decoded"]


def test_names_and_paths_at_the_os_limit(runner, tmp_path, fixtures_mod):
    """A file name of 255 bytes (NAME_MAX) deep in a path of about 4,000 bytes (PATH_MAX is
    4,096 on Linux) is found and analysed; a playlist with a 255-byte name is written (its
    temporary file's name is shortened to fit)."""
    deep = str(tmp_path)
    while len(os.fsencode(deep)) < 4096 - 2 * 256:
        deep = os.path.join(deep, "d" * min(250, 4096 - 2 * 256 - len(os.fsencode(deep))))
    os.makedirs(deep)
    name = "é" * 125 + ".flac"  # 250 + 5 bytes
    assert len(os.fsencode(name)) == 255
    y = fixtures_mod.drum_pattern(128.0, duration_s=8.0, sr=SR, seed=8)
    # (libsndfile itself cannot open paths over 1,024 bytes: write short, then move)
    path = os.path.join(deep, name)
    os.rename(fixtures_mod.write_audio(str(tmp_path / "short.flac"), y, SR), path)
    assert len(os.fsencode(path)) > 3800
    from tempo.audio import AudioStream

    with AudioStream(path) as stream:  # libsndfile too, through a file descriptor
        assert stream.info.backend == "soundfile" and stream.info.duration_s == pytest.approx(8.0)
    db = str(tmp_path / "c.sqlite")
    res = runner.invoke(cli, ["analyze", str(tmp_path), "--db", db, "--json", "-q", "-j", "1"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["path"] == path
    out = str(tmp_path / ("p" * 250 + ".m3u8")[-255:])
    assert len(os.fsencode(os.path.basename(out))) == 255
    res = runner.invoke(cli, ["playlist", str(tmp_path), "--db", db, "-o", out, "--minutes", "1",
                              "--absolute", "-q"])
    assert res.exit_code == 0, res.stderr
    with open(out, encoding="utf-8") as fh:
        assert path in fh.read().splitlines()


def test_long_playlist_names_fit_their_temporary_file(tmp_path):
    from tempo.atomic import NAME_MAX, _temp_prefix, atomic_write_bytes

    for name in ("x" * 255, "ü" * 127 + "y", "short.m3u8"):
        prefix = _temp_prefix(str(tmp_path / name))
        assert len(os.fsencode(prefix)) + 8 + len(".tmp") <= NAME_MAX
        if len(os.fsencode(name)) <= NAME_MAX:
            atomic_write_bytes(str(tmp_path / name), b"ok\n")
            assert (tmp_path / name).read_bytes() == b"ok\n"
