#!/usr/bin/env python3
"""Energy by genre/style: does tempo's energy follow perceived intensity?

Usage (from the project root)::

    python benchmarks/energy.py ~/tempo-corpus/dev ~/tempo-corpus/styles
    python benchmarks/energy.py ~/tempo-corpus/dev --fit     # suggest ENERGY_WEIGHTS

Prints, per genre (dev corpus) or style (benchmarks/styles), the median energy and the median
of each ingredient (tempo.features.energy_ingredients), and checks the order issue 9 asks
for: metal, punk and drum and bass above 0.7; ballad, cinematic and waltz below 0.35.

``--fit`` fits the weights of the logistic mapping by least squares on the logit of a coarse
intensity label per genre of the *dev corpus only* (:data:`GENRE_INTENSITY`, a listener's
ranking of the genres, not per-song ratings); the styles corpus then shows whether the
weights hold on music they were not fitted on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

import level_model as lm  # noqa: E402

from tempo.features import (ENERGY_WEIGHTS, energy_ingredients, energy_measure,  # noqa: E402
                            energy_score)

#: Coarse perceived intensity per dev-corpus genre (0..1), for --fit only.
GENRE_INTENSITY = dict(metal=0.9, punk=0.88, dnb=0.85, trance=0.75, rock=0.72, house=0.7,
                       trap=0.62, reggaeton=0.6, funk=0.6, hiphop=0.55, cinematic=0.28,
                       waltz=0.22, ballad=0.15)
HIGH = ("metal", "punk", "dnb")
LOW = ("ballad", "cinematic", "waltz")
KEYS = ("onsets", "flux", "flatness", "fill", "bright_db", "spread_db", "bpm")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpora", nargs="+")
    ap.add_argument("--fit", action="store_true")
    args = ap.parse_args(argv)
    items = lm.load_corpora(args.corpora)
    rows = []
    from tempo.estimate import estimate_tempo

    for group, path, t, feats in items:
        bpm = estimate_tempo(feats).bpm
        ing = energy_ingredients(feats, bpm)
        if ing is None:
            continue
        rows.append((group, ing, energy_measure(feats, bpm)[0]))
    if args.fit:
        fit_weights([r for r in rows if r[0].split(":")[1] in GENRE_INTENSITY and r[0].startswith("dev")])
    by = defaultdict(list)
    for g, ing, e in rows:
        by[g].append((ing, e))
    print("| group | n | median energy | " + " | ".join(KEYS) + " |")
    print("|---|---|---|" + "---|" * len(KEYS))
    for g in sorted(by, key=lambda g: -statistics.median(e for _, e in by[g])):
        v = by[g]
        med = [statistics.median(i[k] for i, _ in v) for k in KEYS]
        print(f"| {g} | {len(v)} | {statistics.median(e for _, e in v):.2f} | "
              + " | ".join(f"{m:.3g}" for m in med) + " |")
    for name, keys, test in (("above 0.7", HIGH, lambda m: m > 0.7), ("below 0.35", LOW, lambda m: m < 0.35)):
        for k in keys:
            gs = [g for g in by if g.split(":")[1] == k]
            for g in gs:
                m = statistics.median(e for _, e in by[g])
                print(f"{g}: median {m:.2f} ({'ok' if test(m) else 'FAILS'}: should be {name})")


def fit_weights(rows):
    from scipy.optimize import least_squares

    names = [k for k in ENERGY_WEIGHTS]
    target = np.array([GENRE_INTENSITY[g.split(":")[1]] for g, _, _ in rows])

    def resid(w):
        ws = dict(zip(names, w))
        pred = np.array([1 / (1 + np.exp(-energy_score(ing, ws))) for _, ing, _ in rows])
        return np.concatenate([pred - target, 0.05 * (w - np.array([ENERGY_WEIGHTS[k] for k in names]))])

    # every ingredient may only push the way it was designed to (fuller, brighter, denser,
    # steadier, faster = more intense): a sign the data cannot flip
    sign = np.array([-1.0 if k == "spread" else 1.0 for k in names])
    lo = np.where(np.array(names) == "bias", -np.inf, np.where(sign > 0, 0.0, -np.inf))
    hi = np.where(np.array(names) == "bias", np.inf, np.where(sign > 0, np.inf, 0.0))
    x0 = np.clip(np.array([ENERGY_WEIGHTS[k] for k in names]), lo + 1e-6, hi - 1e-6)
    res = least_squares(resid, x0, bounds=(lo, hi))
    print("fitted ENERGY_WEIGHTS = dict(" + ", ".join(f"{k}={v:.2f}" for k, v in zip(names, res.x)) + ")")


if __name__ == "__main__":
    main()
