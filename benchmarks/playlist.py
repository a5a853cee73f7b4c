#!/usr/bin/env python3
"""Does a runner get what the playlist promises? Checks playlists against a corpus's true tempi.

Run by hand (not in CI), on a corpus with a truth.json (../shared/bench, or fixtures/library):

    python benchmarks/playlist.py /work/corpus/dev --db /tmp/corpus.sqlite

For each built-in profile it builds the playlist from the *analysed* tempi (through the cache,
analysing what is missing), then judges every chosen track by its *true* tempo:

- in range: the true tempo x the ratio used lies in the segment's accepted range;
- order breaks (monotonic profiles): neighbours whose true tempo falls while the arc rises
  (or rises while it falls) by more than 2%;
- max step: the largest analysed tempo step between neighbours inside one segment;
- the duration asked and obtained, and the time to sequence.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tempo.library import scan  # noqa: E402
from tempo.profiles import get_profile  # noqa: E402
from tempo.ranking import build_sequence  # noqa: E402

PROFILES = [("montage", {}), ("montage", {"cooldown": True}), ("cadence", {"spm": 170}),
            ("cycling", {"rpm": 90}), ("hiit", {"rounds": 4, "work": 4, "rest": 3}),
            ("steady", {"bpm": 128}), ("pyramid", {})]


def true_bpm(truth: dict, path: str) -> float | None:
    row = truth.get(os.path.basename(path)) or truth.get(path)
    return None if row is None else float(row["bpm"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", help="folder with audio files and truth.json")
    ap.add_argument("--db", help="cache database (default: the user cache)")
    ap.add_argument("--minutes", type=float, default=45.0)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args(argv)

    with open(os.path.join(args.corpus, "truth.json"), encoding="utf-8") as f:
        truth = json.load(f)
    if isinstance(truth, list):  # fixtures/library: a list of rows with relative paths
        truth = {os.path.basename(r["path"]): r for r in truth}
    result = scan([args.corpus], db_path=args.db, jobs=args.jobs)
    tracks = result.tracks
    print(f"{len(tracks)} tracks analysed ({result.failed} failed), "
          f"{sum(t.duration_s for t in tracks) / 3600:.2f} h; playlists of {args.minutes:g} min")
    print(f"{'profile':<18} {'tracks':>6} {'minutes':>8} {'in range':>9} {'order breaks':>12} "
          f"{'max step':>8} {'short':>6} {'time_s':>7}")
    for name, options in PROFILES:
        profile = get_profile(name, **options)
        t0 = time.perf_counter()
        seq = build_sequence(tracks, profile, minutes=args.minutes)
        elapsed = time.perf_counter() - t0
        segs = {s.name: s for s in profile.segments}
        ok = 0
        true_eff = []
        for m in seq.matches:
            bpm = true_bpm(truth, m.path)
            eff = None if bpm is None else bpm * m.ratio
            true_eff.append(eff)
            seg = segs[m.segment]
            ok += eff is not None and seg.min_bpm <= eff <= seg.max_bpm
        breaks = 0
        if profile.monotonic:
            rising = {s.name for s in profile.segments[: max(
                [i for i, s in enumerate(profile.segments) if s.direction > 0], default=-1) + 1]}
            c = seq.climax_index if seq.climax_index is not None else max(
                (k for k, m in enumerate(seq.matches) if m.segment in rising), default=-1)
            for i in range(1, len(true_eff)):
                a, b = true_eff[i - 1], true_eff[i]
                if a is None or b is None or i == c + 1:
                    continue
                breaks += (b < a * 0.98) if i <= c else (b > a * 1.02)
        # largest analysed tempo step between neighbours of one segment
        steps = [abs(b.effective_bpm / a.effective_bpm - 1)
                 for a, b in zip(seq.matches, seq.matches[1:]) if a.segment == b.segment]
        label = name + ("+cooldown" if options.get("cooldown") else "")
        print(f"{label:<18} {len(seq.matches):6d} {seq.duration_s / 60:8.1f} "
              f"{ok:4d}/{len(seq.matches):<4d} {breaks:12d} {max(steps, default=0):8.1%} "
              f"{len(seq.shortfalls):6d} "
              f"{elapsed:7.2f}")
        for s in seq.shortfalls:
            print(f"    {s.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
