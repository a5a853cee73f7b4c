#!/usr/bin/env python3
"""Time and peak memory of tempo on absurdly large input (run by hand; not part of CI).

- ``--links N``: a folder of N files (hard links to copies of one 8-second WAV, 1,000 per folder):
  a cold ``tempo scan`` (one analysis, every other file recognised by its content), then a warm
  re-scan; each in a fresh process, its wall time and peak RSS.
- ``--playlist N``: a playlist of the first N of those files, read back through the cache
  (``Library.playlist_tracks``), in a fresh process.
- ``--hours H``: one H-hour WAV (8 kHz mono, streamed to disk), analysed by ``tempo scan`` in a
  worker under the default memory ceiling, and by ``tempo.analyze_file`` in a fresh process for
  its peak RSS.

    python benchmarks/limits.py --links 100000 --playlist 10000
    python benchmarks/limits.py --hours 24
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

#: Hard links made to one copy of the source file (ext4 allows 65,000 per file).
LINKS_PER_SOURCE = 10_000
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD_SCAN = """
import json, resource, sys, time
t0 = time.perf_counter()
from tempo.library import Library, LibraryOptions
r = Library(LibraryOptions(db_path=sys.argv[1], jobs=1)).scan([sys.argv[2]])
print(json.dumps({"found": r.found, "analysed": r.analysed, "reused": r.reused, "failed": r.failed,
                  "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_PLAYLIST = """
import json, resource, sys, time
t0 = time.perf_counter()
from tempo.library import Library, LibraryOptions
tracks, r = Library(LibraryOptions(db_path=sys.argv[1], jobs=1)).playlist_tracks(sys.argv[2])
print(json.dumps({"tracks": len(tracks), "failed": r.failed, "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_ANALYZE = """
import json, resource, sys, time
t0 = time.perf_counter()
import tempo
ta = tempo.analyze_file(sys.argv[1])
print(json.dumps({"bpm": ta.bpm, "duration_s": ta.duration_s, "warnings": list(ta.warnings),
                  "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _drums(seconds: float, sr: int):
    sys.path.insert(0, os.path.join(REPO, "fixtures"))
    import make_fixtures

    return make_fixtures.drum_pattern(128.0, duration_s=seconds, sr=sr)


def make_links(folder: str, n: int) -> str:
    import soundfile as sf

    import shutil

    os.makedirs(folder, exist_ok=True)
    first = os.path.join(folder, "source-0.wav")
    sf.write(first, _drums(8.0, 22050), 22050, subtype="PCM_16")
    for i in range(n):
        sub = os.path.join(folder, "links", f"{i // 1000:03d}")
        if i % 1000 == 0:
            os.makedirs(sub, exist_ok=True)
        source = os.path.join(folder, f"source-{i // LINKS_PER_SOURCE}.wav")
        if not os.path.exists(source):  # ext4 allows 65,000 links to one file: copies of it
            shutil.copy2(first, source)
        os.link(source, os.path.join(sub, f"{i:06d}.wav"))
    return os.path.join(folder, "links")


def write_day(path: str, hours: float, sr: int = 8000) -> None:
    import soundfile as sf

    loop = _drums(60.0, sr)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(int(round(hours * 60))):
            f.write(loop)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--links", type=int, default=0, help="files in the hard-link folder")
    ap.add_argument("--playlist", type=int, default=0, help="entries of the playlist (needs --links)")
    ap.add_argument("--hours", type=float, default=0.0, help="length of the long file")
    ap.add_argument("--keep", help="work in this folder and keep it")
    args = ap.parse_args(argv)
    work = args.keep or tempfile.mkdtemp(prefix="tempo-limits-")
    os.makedirs(work, exist_ok=True)
    db = os.path.join(work, "cache.sqlite")
    if args.links:
        t0 = time.perf_counter()
        folder = make_links(work, args.links)
        print(f"made {args.links} hard links in {time.perf_counter() - t0:.1f} s")
        cold = _child(CHILD_SCAN, db, folder)
        print(f"cold scan: {cold}")
        warm = _child(CHILD_SCAN, db, folder)
        print(f"warm scan: {warm}")
        if args.playlist:
            m3u = os.path.join(work, "long.m3u8")
            with open(m3u, "w", encoding="utf-8") as fh:
                fh.write("#EXTM3U\n")
                for i in range(min(args.playlist, args.links)):
                    fh.write(f"links/{i // 1000:03d}/{i:06d}.wav\n")
            print(f"playlist of {args.playlist}: {_child(CHILD_PLAYLIST, db, m3u)}")
    if args.hours:
        path = os.path.join(work, f"long_{args.hours:g}h.wav")
        t0 = time.perf_counter()
        write_day(path, args.hours)
        print(f"wrote {path} ({os.path.getsize(path) / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
        print(f"analyze_file: {_child(CHILD_ANALYZE, path)}")
        env = dict(os.environ, PYTHONPATH=REPO)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "tempo", "analyze", path, "--json", "-q",
                               "--db", os.path.join(work, "day.sqlite"), "-j", "1",
                               "--timeout", "3600"], capture_output=True, text=True, env=env)
        row = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
        print(f"tempo analyze in a worker (default memory ceiling): exit {done.returncode}, "
              f"{time.perf_counter() - t0:.0f} s, bpm {(row.get('tempo') or {}).get('bpm')}, "
              f"error {row.get('error')}")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
