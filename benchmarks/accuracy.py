#!/usr/bin/env python3
"""Tempo accuracy and speed: tempo's estimator beside plain librosa, same files, same run.

Usage (from the project root; the corpus comes from ../shared/bench/make_corpus.py)::

    python benchmarks/accuracy.py ~/tempo-corpus/dev            # ours and librosa, markdown
    python benchmarks/accuracy.py DIR --limit 26 --no-librosa   # quick look at ours only
    python benchmarks/accuracy.py --rss-minutes 60              # peak memory on a long file
    # leave-one-style-out: each style scored by a level model trained without it
    python benchmarks/accuracy.py --leave-one-out ~/tempo-corpus/dev ~/tempo-corpus/styles

What it prints
--------------
- per genre and overall: acc1 (within 4 % of the truth), acc2 (also x1/3, 1/2, 2, 3), workout
  (within 4 % of the truth or of an ``also_ok`` tempo), for ours and for librosa;
- precision: median |error| / truth among acc1 hits (ours: 0.1 BPM resolution);
- a reliability table: confidence bin -> number of tracks and workout accuracy;
- speed: median seconds per track (decode included, one process, warm: one untimed call of
  each first), and the ratio ours / librosa. Files alternate which estimator runs first, so
  neither gets the page cache for free.

"Ours" is ``tempo.analyze_file`` (the product path: decode, loudness, tags, features,
estimate), and ``--tempo-only`` times just decode + features + estimate. "librosa" is
``librosa.load(path, sr=22050, mono=True)`` then ``librosa.feature.tempo`` (what
../shared/bench/score.py calls librosa-default).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict

TOL = 0.04
FACTORS = (1 / 3, 1 / 2, 1, 2, 3)
CONF_BINS = ((0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.01))
HIGH_CONFIDENCE = 0.8


def within(est, ref, tol=TOL):
    return est is not None and not math.isnan(est) and ref > 0 and abs(est - ref) <= tol * ref


def score(est, truth):
    """(acc1, acc2, workout) booleans for one estimate against one truth entry."""
    bpm = truth["bpm"]
    a1 = within(est, bpm)
    a2 = any(within(est, bpm * k) for k in FACTORS)
    wk = a1 or any(within(est, b) for b in truth.get("also_ok", []))
    return a1, a2, wk


def ours_full(path):
    import tempo

    ta = tempo.analyze_file(path)
    return ta.bpm, ta.confidence


def ours_tempo_only(path):
    from tempo.audio import AudioStream, Resampler
    from tempo.estimate import estimate_tempo
    from tempo.features import FeatureExtractor
    from tempo.models import ANALYSIS_SR

    with AudioStream(path) as stream:
        resampler = Resampler(stream.info.sample_rate, ANALYSIS_SR)
        fx = FeatureExtractor(sr=ANALYSIS_SR)
        for block in stream.blocks():
            mono = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            y = resampler.process(mono)
            if len(y):
                fx.update(y)
        tail = resampler.flush()
        if len(tail):
            fx.update(tail)
    est = estimate_tempo(fx.finish())
    return est.bpm, est.confidence


def librosa_default(path):
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    return float(librosa.feature.tempo(y=y, sr=sr)[0]), None


def timed(fn, path):
    t0 = time.perf_counter()
    try:
        bpm, conf = fn(path)
        err = None
    except Exception as e:  # noqa: BLE001 - a benchmark counts any failure as a wrong answer
        bpm, conf, err = float("nan"), 0.0, f"{type(e).__name__}: {e}"[:200]
    return bpm, conf, time.perf_counter() - t0, err


def summarize(rows, truth, key):
    """Per-genre and overall accuracy rows for estimator ``key``."""
    groups = defaultdict(list)
    for r in rows:
        groups[truth[r["file"]]["genre"]].append(r)
        groups["ALL"].append(r)
    out = {}
    for g, rs in groups.items():
        sc = [score(r[key]["bpm"], truth[r["file"]]) for r in rs]
        errs = [abs(r[key]["bpm"] - truth[r["file"]]["bpm"]) / truth[r["file"]]["bpm"]
                for r, s in zip(rs, sc) if s[0]]
        out[g] = dict(
            n=len(rs),
            acc1=100.0 * sum(s[0] for s in sc) / len(rs),
            acc2=100.0 * sum(s[1] for s in sc) / len(rs),
            workout=100.0 * sum(s[2] for s in sc) / len(rs),
            med_err_pct=100.0 * statistics.median(errs) if errs else float("nan"),
            med_s=statistics.median(r[key]["s"] for r in rs),
            errors=sum(1 for r in rs if r[key]["err"]),
        )
    return out


def print_report(rows, truth, with_librosa, label):
    ours = summarize(rows, truth, "ours")
    lib = summarize(rows, truth, "librosa") if with_librosa else {}
    genres = sorted(g for g in ours if g != "ALL") + ["ALL"]
    print(f"\n### Accuracy: {label} vs plain librosa ({len(rows)} files)\n")
    if with_librosa:
        print("| genre | n | acc1 ours | acc1 librosa | acc2 ours | acc2 librosa | workout ours | "
              "workout librosa | median err% ours (acc1 hits) | librosa |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for g in genres:
            o, b = ours[g], lib[g]
            print(f"| {g} | {o['n']} | {o['acc1']:.1f}% | {b['acc1']:.1f}% | {o['acc2']:.1f}% | "
                  f"{b['acc2']:.1f}% | {o['workout']:.1f}% | {b['workout']:.1f}% | "
                  f"{o['med_err_pct']:.2f} | {b['med_err_pct']:.2f} |")
    else:
        print("| genre | n | acc1 | acc2 | workout | median err% (acc1 hits) |")
        print("|---|---|---|---|---|---|")
        for g in genres:
            o = ours[g]
            print(f"| {g} | {o['n']} | {o['acc1']:.1f}% | {o['acc2']:.1f}% | {o['workout']:.1f}% | "
                  f"{o['med_err_pct']:.2f} |")

    print("\n### Confidence reliability (ours)\n")
    print("| confidence | n | share | workout | acc1 |")
    print("|---|---|---|---|---|")
    for lo, hi in CONF_BINS:
        rs = [r for r in rows if lo <= (r["ours"]["conf"] or 0.0) < hi]
        if not rs:
            print(f"| {lo:.1f}-{min(hi, 1.0):.1f} | 0 | 0% | - | - |")
            continue
        sc = [score(r["ours"]["bpm"], truth[r["file"]]) for r in rs]
        print(f"| {lo:.1f}-{min(hi, 1.0):.1f} | {len(rs)} | {100 * len(rs) / len(rows):.0f}% | "
              f"{100 * sum(s[2] for s in sc) / len(rs):.1f}% | {100 * sum(s[0] for s in sc) / len(rs):.1f}% |")
    hi_rows = [r for r in rows if (r["ours"]["conf"] or 0.0) >= HIGH_CONFIDENCE]
    if hi_rows:
        wk = sum(score(r["ours"]["bpm"], truth[r["file"]])[2] for r in hi_rows)
        print(f"\nconfidence >= {HIGH_CONFIDENCE}: {len(hi_rows)}/{len(rows)} tracks "
              f"({100 * len(hi_rows) / len(rows):.0f}%), workout {100 * wk / len(hi_rows):.1f}%")

    print("\n### Speed (decode included, one process, warm)\n")
    o_all = ours["ALL"]
    line = f"ours ({label}): median {o_all['med_s']:.3f} s/track"
    if with_librosa:
        b_all = lib["ALL"]
        line += (f"; librosa: median {b_all['med_s']:.3f} s/track; "
                 f"ratio ours/librosa = {o_all['med_s'] / b_all['med_s']:.2f}")
    print(line)
    total_audio = sum(truth[r["file"]]["duration"] for r in rows)
    print(f"total wall: ours {sum(r['ours']['s'] for r in rows):.1f} s"
          + (f", librosa {sum(r['librosa']['s'] for r in rows):.1f} s" if with_librosa else "")
          + f" for {total_audio / 3600:.2f} h of audio")
    errs = [r for r in rows if r["ours"]["err"]]
    if errs:
        print(f"\nours failed on {len(errs)} files, e.g. {errs[0]['file']}: {errs[0]['ours']['err']}")


def print_loso(res, truth, librosa=None):
    """Leave-one-style-out report: ``res`` maps file -> (group, bpm, confidence) where each
    group was scored by a level model trained without it; ``librosa`` maps file -> bpm."""
    groups = defaultdict(list)
    for path, r in res.items():
        groups[r[0]].append(path)

    def acc(paths, est_of):
        sc = [score(est_of(p), truth[p]) for p in paths]
        n = max(len(sc), 1)
        return tuple(100.0 * sum(s[i] for s in sc) / n for i in range(3))

    def ours(p):
        b = res[p][1]
        return float("nan") if b is None else b

    def lib(p):
        return librosa.get(p, float("nan")) if librosa else float("nan")

    def rules(p):
        b = res[p][3]
        return float("nan") if b is None else b

    print(f"\n### Leave-one-style-out: each style scored by a level model trained without it "
          f"({len(res)} files)\n")
    head = ("| style left out | n | acc1 | acc2 | workout | conf>=0.8 share | conf>=0.8 workout "
            "| rules v4 acc1 | rules v4 workout |")
    sep = "|---|---|---|---|---|---|---|---|---|"
    if librosa:
        head += " librosa acc1 | librosa workout |"
        sep += "---|---|"
    print(head)
    print(sep)
    worst = None
    for g in sorted(groups):
        ps = groups[g]
        a1, a2, wk = acc(ps, ours)
        hi = [p for p in ps if (res[p][2] or 0) >= HIGH_CONFIDENCE]
        hw = acc(hi, ours)[2] if hi else float("nan")
        ra1, _, rwk = acc(ps, rules)
        line = (f"| {g} | {len(ps)} | {a1:.1f}% | {a2:.1f}% | {wk:.1f}% | {100 * len(hi) / len(ps):.0f}% | "
                + (f"{hw:.1f}% |" if hi else "- |") + f" {ra1:.1f}% | {rwk:.1f}% |")
        if librosa:
            la1, _, lwk = acc(ps, lib)
            line += f" {la1:.1f}% | {lwk:.1f}% |"
        print(line)
        if worst is None or wk < worst[1]:
            worst = (g, wk, a1)
    for tag in sorted({g.split(":")[0] for g in groups}) + ["ALL"]:
        ps = [p for p in res if tag == "ALL" or res[p][0].split(":")[0] == tag]
        a1, a2, wk = acc(ps, ours)
        line = f"| **{tag}** | {len(ps)} | **{a1:.1f}%** | {a2:.1f}% | **{wk:.1f}%** |"
        hi = [p for p in ps if (res[p][2] or 0) >= HIGH_CONFIDENCE]
        line += f" {100 * len(hi) / max(len(ps), 1):.0f}% | " + (f"{acc(hi, ours)[2]:.1f}% |" if hi else "- |")
        ra1, _, rwk = acc(ps, rules)
        line += f" {ra1:.1f}% | {rwk:.1f}% |"
        if librosa:
            la1, _, lwk = acc(ps, lib)
            line += f" {la1:.1f}% | {lwk:.1f}% |"
        print(line)
    print(f"\nworst style when left out: {worst[0]}: workout {worst[1]:.1f}%, acc1 {worst[2]:.1f}%")
    print("\n### Confidence reliability on left-out styles\n")
    print("| confidence | n | share | workout | acc1 |")
    print("|---|---|---|---|---|")
    for lo, hi_ in CONF_BINS:
        ps = [p for p in res if lo <= (res[p][2] or 0.0) < hi_]
        if not ps:
            print(f"| {lo:.1f}-{min(hi_, 1.0):.1f} | 0 | 0% | - | - |")
            continue
        a1, _, wk = acc(ps, ours)
        print(f"| {lo:.1f}-{min(hi_, 1.0):.1f} | {len(ps)} | {100 * len(ps) / len(res):.0f}% | {wk:.1f}% | {a1:.1f}% |")
    misses = [(p, res[p]) for p in res if not score(ours(p), truth[p])[2]]
    if misses:
        print("\nworkout misses (left out): " + "; ".join(
            f"{os.path.basename(p)} {truth[p]['bpm']:.1f}->{ours(p):.1f} c{r[2]:.2f}" for p, r in sorted(misses)))


def run_loso(args):
    """Leave-one-style-out over one or more corpora (benchmarks/level_model.py does the work)."""
    import level_model as lm

    items = lm.load_corpora(args.leave_one_out, progress=args.progress)
    rows = lm.level_rows(items)
    res, temps = lm.loso(items, rows)
    print("softmax temperature, fitted inside each training fold (never on the style left out): "
          f"{min(temps.values()):.3f}-{max(temps.values()):.3f}")
    truth = {p: t for _, p, t, _ in items}
    librosa = None
    if not args.no_librosa:
        librosa = {}
        for _, p, _, _ in items:
            librosa[p] = timed(librosa_default, p)[0]
    print_loso(res, truth, librosa)


def run_corpus(args):
    warnings.filterwarnings("ignore")
    truth_path = os.path.join(args.corpus, "truth.json")
    try:
        with open(truth_path) as fh:
            truth = json.load(fh)
    except OSError as err:
        sys.exit(f"{truth_path}: {err.strerror}: make the corpus with ../shared/bench/make_corpus.py")
    files = sorted(truth)
    if args.limit:
        files = files[: args.limit]
    ours = ours_tempo_only if args.tempo_only else ours_full
    label = "tempo-only (decode+features+estimate)" if args.tempo_only else "tempo.analyze_file"
    # warm-up: imports, caches, numba JIT in librosa
    first = os.path.join(args.corpus, files[0])
    timed(ours, first)
    if not args.no_librosa:
        timed(librosa_default, first)
    rows = []
    for i, fn in enumerate(files):
        path = os.path.join(args.corpus, fn)
        order = [("ours", ours)] + ([] if args.no_librosa else [("librosa", librosa_default)])
        if i % 2:
            order.reverse()
        row = {"file": fn}
        for key, fn_est in order:
            bpm, conf, secs, err = timed(fn_est, path)
            row[key] = dict(bpm=float("nan") if bpm is None else float(bpm), conf=conf, s=secs, err=err)
        rows.append(row)
        if args.progress:
            print(f"\r{i + 1}/{len(files)}", end="", file=sys.stderr, flush=True)
    if args.progress:
        print(file=sys.stderr)
    print_report(rows, truth, not args.no_librosa, label)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if args.verbose:
        print("\n### Misses (ours, acc1)\n")
        for r in rows:
            t = truth[r["file"]]
            a1, _, wk = score(r["ours"]["bpm"], t)
            if not a1:
                print(f"{r['file']} {t['genre']:10s} truth {t['bpm']:7.2f} ours {r['ours']['bpm']:7.2f} "
                      f"ratio {r['ours']['bpm'] / t['bpm']:.3f} conf {r['ours']['conf']:.2f} workout={wk}")


def _write_long_file(path, minutes, sr=44100):
    """A long stereo FLAC of drums (backbeat and eighth hats at 128 BPM, with noise), in blocks."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    bpm, block_s = 128.0, 60.0
    beat = 2 * int(round(30.0 / bpm * sr))
    t = np.arange(int(0.2 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.1)
    snare = rng.standard_normal(t.size) * np.exp(-t / 0.05) * 0.5
    hat = np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t / 0.01) * 0.15
    with sf.SoundFile(path, "w", samplerate=sr, channels=2, format="FLAC", subtype="PCM_16") as fh:
        n_blocks = int(minutes * 60 / block_s)
        pos = 0
        for _ in range(n_blocks):
            n = int(block_s * sr)
            y = 0.01 * rng.standard_normal(n)
            half = beat // 2  # kick on 1 and 3, snare on 2 and 4, hats on every eighth
            for k in range(-(pos % half), n, half):
                b = (pos + k) // half
                hits = [hat] + ([kick] if b % 4 == 0 else [snare] if b % 4 == 2 else [])
                for hit in hits:
                    lo = max(k, 0)
                    hi = min(k + hit.size, n)
                    if hi > lo:
                        y[lo:hi] += 0.5 * hit[lo - k:hi - k]
            pos += n
            fh.write(np.stack([y, y], axis=1).astype(np.float32))


def run_rss(args):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"long_{args.rss_minutes}min.flac")
        t0 = time.perf_counter()
        _write_long_file(path, args.rss_minutes)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB, {args.rss_minutes} min) "
              f"in {time.perf_counter() - t0:.0f} s")
        code = (
            "import resource, sys, time, tempo\n"
            "t0 = time.perf_counter()\n"
            "ta = tempo.analyze_file(sys.argv[1])\n"
            "dt = time.perf_counter() - t0\n"
            "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "print(f'bpm {ta.bpm} conf {ta.confidence} stable {ta.tempo.stable} "
            "curve points {len(ta.tempo.curve)}; {dt:.1f} s; peak RSS {rss:.0f} MB')\n"
        )
        subprocess.run([sys.executable, "-c", code, path], check=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", help="folder with truth.json (from make_corpus.py)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N files (sorted)")
    ap.add_argument("--no-librosa", action="store_true", help="skip the librosa baseline")
    ap.add_argument("--tempo-only", action="store_true",
                    help="time decode + features + estimate only (no loudness, no tags)")
    ap.add_argument("--json", default=None, help="write per-file results here")
    ap.add_argument("--verbose", "-v", action="store_true", help="list our acc1 misses")
    ap.add_argument("--progress", action="store_true", help="count files on stderr")
    ap.add_argument("--leave-one-out", nargs="+", metavar="CORPUS", default=None,
                    help="instead: leave-one-style-out over these corpora (genre = style)")
    ap.add_argument("--rss-minutes", type=float, default=None,
                    help="instead: peak RSS of tempo.analyze_file on a synthetic file this long")
    args = ap.parse_args(argv)
    if args.rss_minutes:
        run_rss(args)
    elif args.leave_one_out:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        run_loso(args)
    elif args.corpus:
        run_corpus(args)
    else:
        ap.error("give a corpus folder or --rss-minutes")


if __name__ == "__main__":
    main()
