#!/usr/bin/env python3
"""Beat F-measure of the mix's beat grid beside plain librosa, on a corpus with beat truth.

For every song of a corpus made by ../shared/bench/make_corpus.py (``truth.json`` and
``beats/<stem>.beats``), three beat sequences are scored with mir_eval's beat F-measure
(70 ms window, the first 5 s left out as mir_eval does by default):

- ``grid``: tempo.mix.beatgrid (tempo's BPM and onset envelope seeding librosa's tracker,
  then the steady-grid fit, snapping and smoothing) -- what ``tempo mix`` uses;
- ``seeded``: the seeded librosa tracker's own beats, before any of that (``raw_beats_s``);
- ``librosa``: plain ``librosa.beat.beat_track`` on ``librosa.load(sr=22050)``, its defaults.

Also the median absolute timing error (ms) of matched beats, and seconds per song.

    python benchmarks/beatgrid.py ~/tempo-corpus/dev
    python benchmarks/beatgrid.py ~/tempo-corpus/dev --limit 40 --csv beats.csv

Run by hand (a few minutes for 200 songs); not part of CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def read_beats(path: str) -> np.ndarray:
    with open(path) as fh:
        return np.array([float(line.split()[0]) for line in fh if line.strip()])


def timing_ms(ref: np.ndarray, est: np.ndarray, window: float = 0.07) -> float:
    """Median |error| (ms) of the estimated beats nearest each reference beat, within window."""
    if ref.size == 0 or est.size == 0:
        return float("nan")
    idx = np.clip(np.searchsorted(est, ref), 1, est.size - 1)
    near = np.where(np.abs(est[idx] - ref) < np.abs(est[idx - 1] - ref), est[idx], est[idx - 1])
    err = np.abs(near - ref)
    err = err[err <= window]
    return float(np.median(err) * 1000) if err.size else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", help="folder with truth.json and beats/")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N songs")
    ap.add_argument("--csv", help="write per-song results here")
    ap.add_argument("--json", help="write the summary here")
    args = ap.parse_args(argv)

    import librosa
    import mir_eval

    import tempo
    from tempo.audio import load
    from tempo.mix.beatgrid import track_grid
    from tempo.models import ANALYSIS_SR

    with open(os.path.join(args.corpus, "truth.json")) as fh:
        truth = json.load(fh)
    names = sorted(n for n in truth
                   if os.path.exists(os.path.join(args.corpus, n))
                   and os.path.exists(os.path.join(args.corpus, truth[n]["beats_file"])))
    if args.limit:
        names = names[: args.limit]
    rows = []
    times = {"grid": 0.0, "librosa": 0.0}
    # warm up (imports, numba) outside the timings
    librosa.beat.beat_track(y=np.zeros(22050 * 4, np.float32), sr=22050)
    for n, name in enumerate(names, 1):
        path = os.path.join(args.corpus, name)
        ref = mir_eval.beat.trim_beats(read_beats(os.path.join(args.corpus, truth[name]["beats_file"])))
        row = {"file": name, "genre": truth[name]["genre"], "bpm": truth[name]["bpm"]}
        t0 = time.perf_counter()
        try:
            bpm = tempo.analyze_file(path).bpm
            grid = track_grid(load(path, sr=ANALYSIS_SR), ANALYSIS_SR, bpm=bpm)
            est = {"grid": np.asarray(grid.beats_s), "seeded": np.asarray(grid.raw_beats_s)}
        except tempo.TempoError as err:
            print(f"grid failed: {name}: {err}", file=sys.stderr)
            est = {"grid": np.zeros(0), "seeded": np.zeros(0)}
        times["grid"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        try:
            y, sr = librosa.load(path, sr=22050, mono=True)
            est["librosa"] = librosa.beat.beat_track(y=y, sr=sr, units="time")[1]
        except Exception as err:  # noqa: BLE001 - a baseline failure counts as no beats
            print(f"librosa failed: {name}: {err}", file=sys.stderr)
            est["librosa"] = np.zeros(0)
        times["librosa"] += time.perf_counter() - t0
        for key, beats in est.items():
            beats = mir_eval.beat.trim_beats(np.asarray(beats, dtype=float))
            row[f"f_{key}"] = round(float(mir_eval.beat.f_measure(ref, beats)), 4)
            row[f"ms_{key}"] = round(timing_ms(ref, beats), 2)
        rows.append(row)
        print(f"{n}/{len(names)} {name} {row['genre']:<10} F grid {row['f_grid']:.3f} "
              f"seeded {row['f_seeded']:.3f} librosa {row['f_librosa']:.3f}", file=sys.stderr)
    keys = ("grid", "seeded", "librosa")
    print(f"\nbeat F-measure (mir_eval, 70 ms) on {len(rows)} songs of {args.corpus}\n")
    print("| genre | n | grid F | seeded librosa F | plain librosa F | grid ms | librosa ms |")
    print("|---|---|---|---|---|---|---|")
    genres = sorted({r["genre"] for r in rows})
    summary = {}
    for g in genres + ["ALL"]:
        rs = [r for r in rows if g == "ALL" or r["genre"] == g]
        f = {k: statistics.mean(r[f"f_{k}"] for r in rs) for k in keys}
        ms = {k: statistics.median([r[f"ms_{k}"] for r in rs if r[f"ms_{k}"] == r[f"ms_{k}"]]
                                   or [float("nan")]) for k in ("grid", "librosa")}
        summary[g] = {"n": len(rs), **{f"f_{k}": round(v, 4) for k, v in f.items()},
                      **{f"ms_{k}": round(v, 2) for k, v in ms.items()}}
        print(f"| {g} | {len(rs)} | {f['grid']:.3f} | {f['seeded']:.3f} | {f['librosa']:.3f} "
              f"| {ms['grid']:.1f} | {ms['librosa']:.1f} |")
    print(f"\nseconds per song: grid {times['grid'] / max(1, len(rows)):.2f} (tempo analysis + "
          f"grid), plain librosa {times['librosa'] / max(1, len(rows)):.2f}")
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
