#!/usr/bin/env python3
"""Consensus tempo labels for the real-recordings corpus, from established reference estimators.

Runs in its OWN venv (not the project's): the reference estimators need old numpy and
tensorflow. See ``benchmarks/real/README.md`` for the exact install and the one-line madmom
patch. Usage::

    nice -n 10 /work/refvenv/bin/python benchmarks/real/label_real.py ~/tempo-corpus/real

The reference estimators (nothing is downloaded: both learned models ship inside their packages,
and tempocnn's fallback download is switched off below)

- ``madmom``: madmom 0.16.1, ``RNNBeatProcessor`` (the beat-activation RNN ensemble) then
  ``TempoEstimationProcessor(method='comb', min_bpm=40, max_bpm=250, fps=100)`` (the defaults of
  madmom's ``tempodetector`` program); its strongest tempo, and the top two with strengths.
  ``--madmom-nets 1`` uses the first of the ensemble's 8 BLSTMs only (about 4x faster; the
  cache records which, as version ``0.16.1:1net``).
- ``tempocnn``: tempocnn 0.0.8, Schreiber & Mueller's CNN, model ``cnn`` (shipped as
  ``tempocnn/models/cnn.h5``); the window predictions averaged, the arg-max refined by quadratic
  interpolation; the top two peaks of the averaged distribution with their heights.
- ``librosa``: ``librosa.feature.tempo`` with its defaults on ``librosa.load(sr=22050, mono)``:
  the same call as the librosa column of ``benchmarks/accuracy.py``.

Label rule (``--vote``, default ``learned``): the consensus is the tempo that madmom and tempocnn
agree on within 4 % (``bpm`` is their mean). librosa is recorded but does not vote, because it is
the baseline that ``accuracy.py`` compares us with: labels it made would favour it. With
``--vote any2`` any two of the three within 4 % make a consensus (the mean of the agreeing ones;
if all three agree, all three), and every label that needed librosa is counted.

Writes into the corpus folder

- ``refs_cache.json``: each file's answers (re-runs only compute what is missing or changed);
- ``truth.json``: file -> {bpm, also_ok: [], genre: the Debian package, duration, refs:
  {estimator: bpm}, agree: [estimators], octave_ok: [half or double of bpm that some reference
  estimator read], candidates: {estimator: [[bpm, strength], ...]}, source} in the format
  ``benchmarks/accuracy.py`` reads (``also_ok`` stays empty: strict);
- ``no_consensus.json``: the files without a consensus and every estimator's answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

from make_real import write_json  # same folder: the one atomic JSON writer of the corpus scripts

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_NUM_THREADS", "1")

TOL = 0.04
LEARNED = ("madmom", "tempocnn")
ESTIMATORS = ("madmom", "tempocnn", "librosa")
TEMPOCNN_MODEL = "cnn"
MADMOM_NETS = 8  # madmom's standard beat RNN is an ensemble of 8 BLSTMs; --madmom-nets 1 is 4x faster


def agree(a, b, tol=TOL):
    return abs(a - b) <= tol * (a + b) / 2


# ---------------------------------------------------------------- estimators (lazy, cached)

_STATE = {}


def est_madmom(path):
    if "madmom" not in _STATE:
        from madmom.features.beats import RNNBeatProcessor
        from madmom.features.tempo import TempoEstimationProcessor

        from madmom.models import BEATS_BLSTM

        _STATE["madmom"] = (RNNBeatProcessor(nn_files=BEATS_BLSTM[:_STATE.get("nets", MADMOM_NETS)]),
                            TempoEstimationProcessor(method="comb", min_bpm=40, max_bpm=250, fps=100))
    rnn, tempo = _STATE["madmom"]
    cands = tempo(rnn(path))
    top = [[round(float(b), 2), round(float(s), 4)] for b, s in cands[:2]]
    return top[0][0], top


def _peaks(dist):
    import numpy as np

    idx = [i for i in range(1, len(dist) - 1) if dist[i] >= dist[i - 1] and dist[i] > dist[i + 1]]
    return sorted(idx, key=lambda i: -dist[i]) or [int(np.argmax(dist))]


def est_tempocnn(path):
    if "tempocnn" not in _STATE:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import tempocnn.classifier as tc

        def no_download(resource):
            raise RuntimeError(f"tempocnn model {resource} is not in the package; no downloads")

        tc._load_model_from_github = no_download
        _STATE["tempocnn"] = tc.TempoClassifier(TEMPOCNN_MODEL)
    import numpy as np
    from tempocnn.feature import read_features

    clf = _STATE["tempocnn"]
    dist = np.average(clf.estimate(read_features(path)), axis=0)
    top = []
    for i in _peaks(dist)[:2]:
        x, h = clf.quad_interpol_argmax(dist, i)
        top.append([round(float(clf.to_bpm(x)), 2), round(float(h), 4)])
    return top[0][0], top


def est_librosa(path):
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    bpm = round(float(librosa.feature.tempo(y=y, sr=sr)[0]), 2)
    return bpm, [[bpm, None]]


FUNCS = {"madmom": est_madmom, "tempocnn": est_tempocnn, "librosa": est_librosa}


def versions():
    from importlib.metadata import version

    n = _STATE.get("nets", MADMOM_NETS)
    nets = "" if n == 8 else f":{n}net"
    return {"madmom": version("madmom") + nets, "tempocnn": f"{version('tempocnn')}:{TEMPOCNN_MODEL}",
            "librosa": version("librosa")}


# ---------------------------------------------------------------- labels (pure)

def consensus(refs, voters):
    """(bpm, [agreeing estimators]) of the largest group of ``voters`` within TOL of each other."""
    names = [n for n in voters if refs.get(n)]
    best = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if agree(refs[a], refs[b]):
                group = [n for n in names if all(agree(refs[n], refs[m]) for m in (a, b))]
                if len(group) > len(best):
                    best = group
    if len(best) < 2:
        return None, []
    return sum(refs[n] for n in best) / len(best), best


def label(name, track, res, vote):
    refs = {n: res[n]["bpm"] for n in ESTIMATORS if n in res}
    voters = LEARNED if vote == "learned" else ESTIMATORS
    bpm, who = consensus(refs, voters)
    cands = {n: res[n]["top"] for n in ESTIMATORS if n in res}
    if bpm is None:
        return None, dict(genre=track["package"], refs=refs, candidates=cands,
                          duration=track["duration"], source=track["source"])
    octave = sorted({round(k * bpm, 2) for k in (0.5, 2.0)
                     if any(agree(v, k * bpm) for v in refs.values())})
    return dict(bpm=round(bpm, 2), also_ok=[], genre=track["package"], duration=track["duration"],
                refs=refs, agree=who, octave_ok=octave, candidates=cands,
                source=track["source"]), None


# ---------------------------------------------------------------- I/O

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", help="folder made by make_real.py (with tracks.json)")
    ap.add_argument("--vote", choices=("learned", "any2"), default="learned",
                    help="who makes a consensus: madmom and tempocnn (default), or any two of "
                         "madmom, tempocnn and librosa")
    ap.add_argument("--estimators", nargs="+", choices=ESTIMATORS, default=list(ESTIMATORS))
    ap.add_argument("--madmom-nets", type=int, choices=range(1, 9), default=MADMOM_NETS,
                    metavar="N", help="how many of madmom's 8 beat BLSTMs to average (default "
                                      "%(default)s, madmom's standard; 1 = the first only, ~4x faster)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N files (sorted)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    _STATE["nets"] = args.madmom_nets

    with open(os.path.join(args.corpus, "tracks.json")) as fh:
        tracks = json.load(fh)
    cache_path = os.path.join(args.corpus, "refs_cache.json")
    try:
        with open(cache_path) as fh:
            cache = json.load(fh)
    except FileNotFoundError:
        cache = {}
    vers = versions()
    files = sorted(tracks)[: args.limit]
    t_start = time.time()
    for i, name in enumerate(files):
        path = os.path.join(args.corpus, name)
        st = os.stat(path)
        key = [st.st_size, st.st_mtime_ns]
        entry = cache.get(name)
        if not entry or entry.get("key") != key:
            entry = cache[name] = {"key": key, "res": {}}
        todo = [n for n in args.estimators
                if entry["res"].get(n, {}).get("version") != vers[n]]
        for n in todo:
            t0 = time.perf_counter()
            try:
                bpm, top = FUNCS[n](path)
            except Exception as e:  # noqa: BLE001 - a failing reference estimator gives no vote
                print(f"{name}: {n} failed: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            entry["res"][n] = dict(bpm=bpm, top=top, version=vers[n],
                                   s=round(time.perf_counter() - t0, 2))
        if todo:
            write_json(cache_path, cache)
        r = entry["res"]
        print(f"{i + 1}/{len(files)} {name} " + " ".join(
            f"{n}={r[n]['bpm']:.1f}" for n in ESTIMATORS if n in r)
            + f"  [{time.time() - t_start:.0f} s]", flush=True)

    truth, none = {}, {}
    for name in files:
        res = cache.get(name, {}).get("res", {})
        t, n = label(name, tracks[name], res, args.vote)
        if t:
            truth[name] = t
        else:
            none[name] = n
    write_json(os.path.join(args.corpus, "truth.json"), truth)
    write_json(os.path.join(args.corpus, "no_consensus.json"), none)
    pairs = {}
    for t in truth.values():
        k = "+".join(t["agree"])
        pairs[k] = pairs.get(k, 0) + 1
    with_lib = sum("librosa" in t["agree"] and len(
        [a for a in t["agree"] if a in LEARNED]) < 2 for t in truth.values())
    print(f"\n{len(truth)} of {len(files)} tracks labelled (vote: {args.vote}); "
          f"{len(none)} without consensus")
    for k in sorted(pairs):
        print(f"  {k}: {pairs[k]}")
    if args.vote == "any2":
        print(f"  labels that need librosa (learned ones disagree): {with_lib}")
    # how often librosa would have made a label, though it does not vote by default
    if args.vote == "learned":
        extra = sum(1 for n in none.values() if consensus(n["refs"], ESTIMATORS)[0] is not None)
        lib_ok = sum("librosa" in t["refs"] and agree(t["refs"]["librosa"], t["bpm"])
                     for t in truth.values())
        print(f"  librosa agrees with {lib_ok} of these labels; with librosa voting, "
              f"{extra} more tracks would get a label")


if __name__ == "__main__":
    main()
