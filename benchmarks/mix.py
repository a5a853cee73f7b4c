#!/usr/bin/env python3
"""Speed and peak memory of ``tempo mix``: a long mix rendered from a synthetic library.

Writes a library of dense synthetic tracks (drums, bass line, a noise pad; 44.1 kHz stereo
FLAC, tempi spread over the montage's 115-160 BPM), analyses it into a throw-away cache
(untimed), then times ``tempo mix LIBRARY --minutes M -o mix.flac --jobs J`` in a fresh
process while sampling the resident memory of its whole process tree (the command and its
workers, summed; and their proportional set size, which counts the libraries they share once)
every 50 ms. Prints the mix length, the wall time, the ratio to real time
(goal: >= 20x with --jobs 2 on 2 cores) and the peak memory (goal: < 600 MB), with the render
stage's own time from the command's JSON.

    python benchmarks/mix.py                         # 45-minute mix, --jobs 2
    python benchmarks/mix.py --minutes 10 --jobs 1
    python benchmarks/mix.py --library ~/tempo-corpus/dev --minutes 20   # real songs

Run by hand (minutes); not part of CI.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _fixtures():
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", os.path.join(REPO, "fixtures", "make_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_library(folder: str, *, n: int, track_min: float, sr: int = 44100) -> None:
    """``n`` dense stereo tracks of ``track_min`` minutes, written a minute at a time."""
    import numpy as np
    import soundfile as sf

    fx = _fixtures()
    styles = ("four", "rock", "four", "dnb")
    for i in range(n):
        bpm = round(115 + 45 * i / max(1, n - 1) + (i % 3) * 0.7, 1)
        loop = fx.drum_pattern(bpm, style=styles[i % 4], duration_s=60.0, sr=sr, seed=i)
        rng = np.random.default_rng(i)
        t = np.arange(len(loop)) / sr
        bass = 0.25 * np.sin(2 * np.pi * (41.2 * 2 ** ((i % 5) / 12)) * t)
        pad = np.convolve(rng.standard_normal(len(loop)), np.ones(8) / 8, mode="same") * 0.05
        y = (0.5 * loop + bass + pad).astype(np.float32)
        stereo = fx.stereo(y / max(1e-9, float(np.abs(y).max())) * 0.7, seed=i)
        path = os.path.join(folder, f"{i:02d} Synth - Track {i} {bpm}.flac")
        with sf.SoundFile(path, "w", samplerate=sr, channels=2, format="FLAC") as f:
            for _ in range(int(round(track_min))):
                f.write(stereo)


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_pss_mb(pid: int) -> float:
    """Proportional set size (MB) of a process tree: each shared page (libraries loaded by
    several processes) counted once in all, which the sum of resident sizes does not."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=45.0, help="length of the mix")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--library", help="mix this folder instead of a synthetic library")
    ap.add_argument("--track-min", type=float, default=4.0, help="synthetic track length")
    ap.add_argument("--keep", help="keep the mix here (default: a temporary folder)")
    args = ap.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory(prefix="tempo-mix-bench-") as tmp:
        lib = args.library
        if lib is None:
            lib = os.path.join(tmp, "library")
            os.makedirs(lib)
            n = int(args.minutes * 1.4 / args.track_min) + 2
            t0 = time.perf_counter()
            write_library(lib, n=n, track_min=args.track_min)
            print(f"library: {n} tracks x {args.track_min:g} min written in "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        db = os.path.join(tmp, "cache.sqlite")
        subprocess.run([sys.executable, "-m", "tempo", "scan", lib, "--db", db, "-q",
                        "-j", str(args.jobs)], check=True, env=env, stdout=subprocess.DEVNULL)
        out = args.keep or os.path.join(tmp, "mix.flac")
        cmd = [sys.executable, "-m", "tempo", "mix", lib, "--minutes", str(args.minutes),
               "-o", out, "--db", db, "-j", str(args.jobs), "-q", "--json"]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        peak = peak_pss = 0.0
        pids: list[int] = []
        tick = 0
        page_mb = os.sysconf("SC_PAGE_SIZE") / 1e6
        while proc.poll() is None:
            # the process tree is found every 0.5 s (a walk over /proc costs a core's tenth at
            # 20 Hz, taken from the command measured); resident sizes are read at 20 Hz
            if tick % 10 == 0:
                pids = tree_pids(proc.pid)
                peak_pss = max(peak_pss, tree_pss_mb(proc.pid))
            rss = 0
            for p in pids:
                try:
                    with open(f"/proc/{p}/statm") as fh:
                        rss += int(fh.read().split()[1])
                except (OSError, IndexError, ValueError):
                    continue
            peak = max(peak, rss * page_mb)
            tick += 1
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        stdout, stderr = proc.communicate()
        if proc.returncode:
            print(stderr, file=sys.stderr)
            return proc.returncode
        data = json.loads(stdout.strip().splitlines()[-1])
        result = data["result"]
        mix_s = result["duration_s"]
        print(f"tempo mix, {len(data['plan']['tracks'])} tracks, --jobs {args.jobs}: "
              f"{mix_s / 60:.1f} min of mix in {wall:.1f} s wall")
        print(f"  whole command (beat grids + plan + render): {mix_s / wall:.1f}x real time "
              f"(goal >= 20x)")
        print(f"  CPU time, command + workers: {cpu:.1f} s, i.e. {mix_s / (cpu / args.jobs):.1f}x "
              f"real time if {args.jobs} core(s) were kept busy (a check on a loaded machine)")
        print(f"  render stage alone: {mix_s / result['elapsed_s']:.1f}x real time "
              f"({result['elapsed_s']:.1f} s)")
        print(f"  peak memory, command + workers: {peak:.0f} MB resident, summed (goal < 600 MB); "
              f"{peak_pss:.0f} MB proportional (shared libraries counted once)")
        print(f"  output: {result['lufs']} LUFS integrated, {result['true_peak_db']} dBTP")
    return 0


if __name__ == "__main__":
    sys.exit(main())
