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

Downbeats and meter: the grid's downbeats (``BeatGrid.downbeats_s``, bars of its detected
``beats_per_bar``; 4 for a grid made before meter detection, so running this script on an
older commit gives the "before") are scored with the same F-measure against the truth's
downbeats (beats numbered 1 in ``beats/<stem>.beats``). Meter accuracy: the detected
beats per bar against ``meter`` of ``truth.json``; a 2-beat bar (6/8 read at the dotted
quarter, 2/4) counts as right when read as 4 (bars of 4 from a true downbeat keep every
downbeat a downbeat). A corpus without beat files (the style corpus) is scored for meter only.
Results are printed per genre and per true meter.

    python benchmarks/beatgrid.py ~/tempo-corpus/dev
    python benchmarks/beatgrid.py ~/tempo-corpus/dev --limit 40 --csv beats.csv
    python benchmarks/beatgrid.py ~/tempo-corpus/styles --no-librosa   # meter only

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


def read_beats(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(beat times, downbeat times): a beat numbered 1 in the second column is a downbeat."""
    times, downs = [], []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            times.append(float(parts[0]))
            if len(parts) > 1 and parts[1].split(".")[0] == "1":
                downs.append(float(parts[0]))
    return np.array(times), np.array(downs)


def meter_right(true_meter, detected: int) -> bool | None:
    """Whether ``detected`` beats per bar (3 or 4) reads the true meter right; 2 counts as 4."""
    if true_meter is None:
        return None
    m = int(true_meter)
    return detected == (4 if m in (2, 4) else m)


def _mean(values) -> float:
    v = [x for x in values if x == x]
    return statistics.mean(v) if v else float("nan")


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
    ap.add_argument("--no-librosa", action="store_true",
                    help="skip plain librosa (grid, downbeats and meter only)")
    args = ap.parse_args(argv)

    import librosa
    import mir_eval

    import tempo
    from tempo.audio import load
    from tempo.mix.beatgrid import track_grid
    from tempo.models import ANALYSIS_SR

    with open(os.path.join(args.corpus, "truth.json")) as fh:
        truth = json.load(fh)
    names = sorted(n for n in truth if os.path.exists(os.path.join(args.corpus, n)))
    if args.limit:
        names = names[: args.limit]
    rows = []
    times = {"grid": 0.0, "librosa": 0.0}
    # warm up (imports, numba) outside the timings
    if not args.no_librosa:
        librosa.beat.beat_track(y=np.zeros(22050 * 4, np.float32), sr=22050)
    keys = ("grid", "seeded") + (() if args.no_librosa else ("librosa",))
    nan = float("nan")
    for n, name in enumerate(names, 1):
        path = os.path.join(args.corpus, name)
        info = truth[name]
        beats_file = info.get("beats_file")
        has_ref = bool(beats_file) and os.path.exists(os.path.join(args.corpus, beats_file))
        if has_ref:
            ref, ref_down = read_beats(os.path.join(args.corpus, beats_file))
            ref, ref_down = mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(ref_down)
        row = {"file": name, "genre": info["genre"], "bpm": info["bpm"],
               "meter": info.get("meter")}
        t0 = time.perf_counter()
        try:
            bpm = tempo.analyze_file(path).bpm
            grid = track_grid(load(path, sr=ANALYSIS_SR), ANALYSIS_SR, bpm=bpm)
            est = {"grid": np.asarray(grid.beats_s), "seeded": np.asarray(grid.raw_beats_s)}
            downs = np.asarray(grid.downbeats_s)
            row["beats_per_bar"] = int(getattr(grid, "beats_per_bar", 4))
            row["est_bpm"] = round(float(bpm), 2)
        except tempo.TempoError as err:
            print(f"grid failed: {name}: {err}", file=sys.stderr)
            est = {"grid": np.zeros(0), "seeded": np.zeros(0)}
            downs = np.zeros(0)
            row["beats_per_bar"] = 4
            row["est_bpm"] = nan
        times["grid"] += time.perf_counter() - t0
        if not args.no_librosa:
            t0 = time.perf_counter()
            try:
                y, sr = librosa.load(path, sr=22050, mono=True)
                est["librosa"] = librosa.beat.beat_track(y=y, sr=sr, units="time")[1]
            except Exception as err:  # noqa: BLE001 - a baseline failure counts as no beats
                print(f"librosa failed: {name}: {err}", file=sys.stderr)
                est["librosa"] = np.zeros(0)
            times["librosa"] += time.perf_counter() - t0
        for key in keys:
            beats = mir_eval.beat.trim_beats(np.asarray(est[key], dtype=float))
            f_beat = float(mir_eval.beat.f_measure(ref, beats)) if has_ref else nan
            row[f"f_{key}"] = round(f_beat, 4)
            row[f"ms_{key}"] = round(timing_ms(ref, beats), 2) if has_ref else nan
        row["f_down"] = (round(float(mir_eval.beat.f_measure(
            ref_down, mir_eval.beat.trim_beats(downs))), 4) if has_ref and ref_down.size else nan)
        row["meter_ok"] = meter_right(row["meter"], row["beats_per_bar"])
        rows.append(row)
        print(f"{n}/{len(names)} {name} {row['genre']:<10} meter {row['meter']} -> "
              f"{row['beats_per_bar']}  F grid {row['f_grid']:.3f} seeded {row['f_seeded']:.3f}"
              + ("" if args.no_librosa else f" librosa {row['f_librosa']:.3f}")
              + f" downbeats {row['f_down']:.3f}", file=sys.stderr)
    print(f"\nbeat F-measure (mir_eval, 70 ms) on {len(rows)} songs of {args.corpus}; "
          "downbeat F-measure of the grid's bars; meter: detected beats per bar right\n")
    cols = ["grid F", "seeded librosa F"] + ([] if args.no_librosa else ["plain librosa F"])
    cols += ["downbeat F", "meter right", "read 3", "grid ms"] + (
        [] if args.no_librosa else ["librosa ms"])
    print("| group | n | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    genres = sorted({r["genre"] for r in rows})
    meters = sorted({r["meter"] for r in rows if r["meter"] is not None})
    groups = [(g, lambda r, g=g: r["genre"] == g) for g in genres]
    groups += [(f"meter {m}", lambda r, m=m: r["meter"] == m) for m in meters]
    groups += [("ALL", lambda r: True)]
    summary = {}
    for label, pick in groups:
        rs = [r for r in rows if pick(r)]
        f = {k: _mean(r[f"f_{k}"] for r in rs) for k in keys}
        ms = {k: statistics.median([r[f"ms_{k}"] for r in rs if r[f"ms_{k}"] == r[f"ms_{k}"]]
                                   or [nan]) for k in keys if k != "seeded"}
        down = _mean(r["f_down"] for r in rs)
        oks = [r["meter_ok"] for r in rs if r["meter_ok"] is not None]
        meter_acc = sum(oks) / len(oks) if oks else nan
        read3 = sum(r["beats_per_bar"] == 3 for r in rs)
        summary[label] = {"n": len(rs), **{f"f_{k}": round(v, 4) for k, v in f.items()},
                          **{f"ms_{k}": round(v, 2) for k, v in ms.items()},
                          "f_down": round(down, 4), "meter_right": round(meter_acc, 4),
                          "read_3": read3}
        def num(x, fmt=".3f"):
            return "-" if x != x else format(x, fmt)

        vals = [num(f["grid"]), num(f["seeded"])]
        vals += [] if args.no_librosa else [num(f["librosa"])]
        vals += [num(down), f"{meter_acc:.1%}" if oks else "-", str(read3),
                 num(ms["grid"], ".1f")] + ([] if args.no_librosa else [num(ms["librosa"], ".1f")])
        print(f"| {label} | {len(rs)} | " + " | ".join(vals) + " |")
    # the confusion that matters for mixing: a 4/4 (or 2) track read as 3 is a wrong bar
    # everywhere; a waltz read as 4 only loses its downbeats
    four_as_3 = sum(1 for r in rows if r["meter"] in (2, 4) and r["beats_per_bar"] == 3)
    three_as_4 = sum(1 for r in rows if r["meter"] == 3 and r["beats_per_bar"] != 3)
    print(f"\nmeter confusions: {four_as_3} tracks in 4 (or 2) read as 3; "
          f"{three_as_4} waltzes read as 4")
    print(f"\nseconds per song: grid {times['grid'] / max(1, len(rows)):.2f} (tempo analysis + "
          f"grid)" + ("" if args.no_librosa else
                      f", plain librosa {times['librosa'] / max(1, len(rows)):.2f}"))
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
