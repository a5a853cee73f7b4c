#!/usr/bin/env python3
"""Does the tempo depend on the playback level? Every song analysed as it is and made quieter.

Usage (from the project root)::

    python benchmarks/gain.py ~/tempo-corpus/real3 ~/tempo-corpus/dev4 --db 20 40

Each file of each corpus (with truth.json) is decoded once as the package decodes it (mono, at
the analysis rate: ``tempo.audio.load``), then analysed as it is and scaled down by each
``--db``. Prints, per level, how many songs change their tempo reading (by more than 4 %) and
how acc1 against the truth moves. Used for README's known limits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from tempo.audio import load  # noqa: E402
from tempo.estimate import estimate_tempo  # noqa: E402
from tempo.features import extract_features  # noqa: E402
from tempo.models import ANALYSIS_SR  # noqa: E402

TOL = 0.04


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", nargs="+", help="folders with truth.json")
    ap.add_argument("--db", type=float, nargs="+", default=[20.0, 40.0],
                    help="how many dB quieter (default: 20 40)")
    args = ap.parse_args(argv)
    changed = {d: 0 for d in args.db}
    acc = {d: 0 for d in args.db}
    n = hits = 0
    for corpus in args.corpora:
        corpus = os.path.expanduser(corpus)
        with open(os.path.join(corpus, "truth.json")) as fh:
            truth = json.load(fh)
        for name in sorted(truth):
            if "bpm" not in truth[name]:
                continue
            y = load(os.path.join(corpus, name))
            true = truth[name]["bpm"]
            base = estimate_tempo(extract_features(y, sr=ANALYSIS_SR)).bpm
            n += 1
            hits += base is not None and abs(base / true - 1) <= TOL
            for d in args.db:
                bpm = estimate_tempo(extract_features(y * np.float32(10 ** (-d / 20)),
                                                      sr=ANALYSIS_SR)).bpm
                changed[d] += (base is None) != (bpm is None) or (
                    base is not None and bpm is not None and abs(bpm / base - 1) > TOL)
                acc[d] += bpm is not None and abs(bpm / true - 1) <= TOL
            print(f"\r{n} songs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"{n} songs, acc1 as they are: {100 * hits / max(n, 1):.1f} %")
    for d in args.db:
        print(f"{d:g} dB quieter: {changed[d]} change their reading, "
              f"acc1 {100 * acc[d] / max(n, 1):.1f} %")


if __name__ == "__main__":
    main()
