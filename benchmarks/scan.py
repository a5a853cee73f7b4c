#!/usr/bin/env python3
"""Scan speed: cold `tempo scan` with --jobs 1 and --jobs 2 beside a plain librosa loop, and a
warm re-scan of 10,000 unchanged files. Run by hand (not in CI), on a quiet machine, niced:

    nice -n 5 python benchmarks/scan.py                      # first 80 songs of the dev corpus
    nice -n 5 python benchmarks/scan.py --corpus DIR --n 60  # any folder of audio files
    nice -n 5 python benchmarks/scan.py --skip-cold          # only the 10,000-file warm re-scan

Everything runs as separate processes, measured the same way (wall time including interpreter
start and imports): the plain loop is `librosa.load(path, sr=22050, mono=True)` +
`librosa.feature.tempo` (the ``librosa-default`` estimator of ../shared/bench/score.py); tempo is
`python -m tempo scan FOLDER --db FRESH.sqlite --jobs N --quiet`. Printed: seconds, files/s and
the ratios the goals are about (jobs 2 / jobs 1 >= 1.7; tempo cold faster than the loop;
warm 10,000 < 3 s), plus whether the warm re-scan imported librosa or numpy (it must not).
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS = "/work/corpus/dev"
AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus", ".aiff")

LIBROSA_LOOP = """
import sys, time
import librosa
for path in sys.argv[1:]:
    y, sr = librosa.load(path, sr=22050, mono=True)
    librosa.feature.tempo(y=y, sr=sr)
"""

WARM_CHECK = """
import sys
from tempo.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="tempo", standalone_mode=False)
finally:
    print("heavy modules:", sorted(m for m in ("librosa", "numpy", "scipy", "tempo.analysis") if m in sys.modules),
          file=sys.stderr)
"""


#: CPU seconds (user + sys) of the last _timed command and all its descendants (workers, and
#: the forkserver's children, which RUSAGE_CHILDREN does not see), sampled with psutil.
LAST_CPU_S = 0.0


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    import psutil

    global LAST_CPU_S
    cpu: dict[int, float] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [root] + root.children(recursive=True)
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = max(cpu.get(p.pid, 0.0), t.user + t.system)
                except psutil.Error:
                    pass
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    LAST_CPU_S = sum(cpu.values())
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd[:6])} ...\n{done.stderr[-2000:]}")
    return elapsed, done


def _tempo_scan(folder: str, db: str, jobs: int) -> tuple[float, dict]:
    elapsed, proc = _timed([sys.executable, "-m", "tempo", "scan", folder, "--db", db,
                            "--jobs", str(jobs), "--quiet", "--json"])
    return elapsed, json.loads(proc.stdout)


def cold(files: list[str], work: str, rounds: int) -> None:
    folder = os.path.join(work, "cold")
    os.makedirs(folder)
    for i, f in enumerate(files):  # one folder of links, so tempo and the loop see the same files
        os.symlink(f, os.path.join(folder, f"{i:04d}_{os.path.basename(f)}"))
    n = len(files)
    print(f"cold: {n} files, {sum(os.path.getsize(f) for f in files) / 1e6:.0f} MB "
          f"({', '.join(sorted({os.path.splitext(f)[1] for f in files}))})")
    rows: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for r in range(rounds):  # interleaved rounds, best of each: the machine is shared
        name = "librosa loop (load + tempo)"
        t, _ = _timed([sys.executable, "-c", LIBROSA_LOOP] + sorted(files))
        rows.setdefault(name, []).append(t)
        cpu.setdefault(name, []).append(LAST_CPU_S)
        for jobs in (1, 2):
            name = f"tempo scan --jobs {jobs}"
            t, summary = _tempo_scan(folder, os.path.join(work, f"cold{jobs}-{r}.sqlite"), jobs)
            if summary["analysed"] + summary["failed"] != n:
                sys.exit(f"unexpected summary {summary}")
            rows.setdefault(name, []).append(t)
            cpu.setdefault(name, []).append(LAST_CPU_S)
            if summary["failed"] and r == 0:
                print(f"  (--jobs {jobs}: {summary['failed']} files failed)")
    print(f"  best of {rounds} rounds (all: " + "; ".join(
        f"{k.split(' (')[0]} {', '.join(f'{x:.1f}' for x in v)}" for k, v in rows.items()) + ")")
    rows = {k: min(v) for k, v in rows.items()}
    cpu = {k: min(v) for k, v in cpu.items()}
    base = rows["librosa loop (load + tempo)"]
    for name, t in rows.items():
        print(f"  {name:<30} {t:7.1f} s  {n / t:6.2f} files/s  {base / t:5.2f}x the librosa loop"
              f"   (CPU {cpu[name]:6.1f} s, {cpu[name] / n:.2f} s/file)")
    j1, j2 = rows["tempo scan --jobs 1"], rows["tempo scan --jobs 2"]
    print(f"  jobs 2 / jobs 1 throughput: {j1 / j2:.2f}x (goal >= 1.7)")
    print(f"  tempo --jobs 1 vs librosa loop: {base / j1:.2f}x; --jobs 2: {base / j2:.2f}x (goal > 1)")


def _load_fixtures():
    spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(REPO, "fixtures", "make_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def warm(work: str, n_files: int, repeats: int) -> None:
    """n_files hard links of 5 short tracks in 100 folders: the cold fill decodes 5 files and
    recognises the rest by content; then time re-scans with nothing changed."""
    mf = _load_fixtures()
    src = os.path.join(work, "src")
    os.makedirs(src)
    sources = []
    for i, bpm in enumerate((90, 110, 128, 150, 174)):
        path = os.path.join(src, f"s{i}.wav")
        mf.write_audio(path, mf.drum_pattern(bpm, duration_s=5.0, sr=11025, seed=i), 11025)
        sources.append(path)
    folder = os.path.join(work, "warm")
    for i in range(n_files):
        sub = os.path.join(folder, f"album{i % 100:03d}")
        os.makedirs(sub, exist_ok=True)
        os.link(sources[i % len(sources)], os.path.join(sub, f"track{i:05d}.wav"))
    db = os.path.join(work, "warm.sqlite")
    t, summary = _tempo_scan(folder, db, 2)
    print(f"warm: {n_files} unchanged files (hard links of {len(sources)} tracks)")
    print(f"  first scan {t:.1f} s: analysed {summary['analysed']}, recognised by content {summary['moved']}")
    times = []
    for _ in range(repeats):
        t, summary = _tempo_scan(folder, db, 2)
        assert summary["reused"] == n_files, summary
        times.append(t)
    _, proc = _timed([sys.executable, "-c", WARM_CHECK, "scan", folder, "--db", db, "--quiet"])
    heavy = proc.stderr.strip().splitlines()[-1]
    t_import, _ = _timed([sys.executable, "-c", "import tempo.cli"])
    print(f"  re-scan: median {statistics.median(times):.2f} s of {repeats} (min {min(times):.2f}, "
          f"max {max(times):.2f}); goal < 3 s -> {3.0 / statistics.median(times):.1f}x margin")
    print(f"  (of which interpreter + `import tempo.cli`: {t_import:.2f} s); {heavy} (goal: none)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=DEFAULT_CORPUS, help="folder of audio files [%(default)s]")
    ap.add_argument("--n", type=int, default=80, help="files for the cold runs [%(default)s]")
    ap.add_argument("--warm-files", type=int, default=10_000, help="files for the warm re-scan [%(default)s]")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the cold runs [%(default)s]")
    ap.add_argument("--repeats", type=int, default=3, help="warm re-scans to time [%(default)s]")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--skip-warm", action="store_true")
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="tempo-bench-") as work:
        if not args.skip_cold:
            files = sorted(f for f in glob.glob(os.path.join(args.corpus, "**", "*"), recursive=True)
                           if f.lower().endswith(AUDIO))[: args.n]
            if not files:
                sys.exit(f"no audio files in {args.corpus}")
            cold(files, work, args.rounds)
        if not args.skip_warm:
            warm(work, args.warm_files, args.repeats)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
