#!/usr/bin/env python3
"""Checks a corpus written by make_styles.py without running the tempo estimator on it.

For every file of ``<corpus>/truth.json``: it decodes in full (ffmpeg) and lasts what the truth
says; the song's MIDI, written again from its seed, has the truth's tempo; the instrument that
carries the tapped beat (table ``BEAT``) hits the beats it should (``hits``: share of those beats
it plays; ``on``: share of its notes on them); and the onset-strength autocorrelation of the audio
(a listen by proxy) at 1/2, 1, 2 and 4 tapped periods, with the lag of its highest peak in periods.

Usage (from the project root)::

    python benchmarks/styles/check_truth.py ~/tempo-corpus/styles3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import zlib

import numpy as np


def _load_ms():
    spec = importlib.util.spec_from_file_location("make_styles", os.path.join(os.path.dirname(__file__), "make_styles.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ms = _load_ms()
mc = ms.mc
#: style -> (MIDI channel, drum notes or None for any, the beats of the bar it should play)
BEAT = {
    "salsa": (mc.DRUM_CH, {ms.COWBELL}, [0, 1, 2, 3]),      # the bongo bell (choruses)
    "cumbia": (ms.CH_BASS, None, [0, 1]),                   # bass on 1 and 2 (and pickups)
    "boombap": (mc.DRUM_CH, {ms.SNARE}, [1, 3]),            # snare on 2 and 4 (and ghosts)
    "dubstep": (mc.DRUM_CH, {ms.SNARE, ms.CLAP}, [2]),      # snare or clap on 3
    "march": (mc.DRUM_CH, {ms.KICK}, [0, 1]),               # bass drum on every step
    "ragtime": (ms.CH_BASS, None, [0, 1]),                  # left hand: bass on the beats, chords between
    "amapiano": (mc.DRUM_CH, {ms.KICK}, [0, 1, 2, 3]),      # the soft kick on every beat
    "hardstyle": (mc.DRUM_CH, {ms.KICK}, [0, 1, 2, 3]),     # the kick on every beat
}


def regenerate(style, idx, seed, min_dur, max_dur):
    """The song's notes and tempo map, drawn as make_styles.make_song draws them."""
    r = random.Random((seed * 7919 + idx) * 1000003 + zlib.crc32(style.encode()))
    st = ms.STYLES[style]
    meter = st["meter"]
    bpm = r.uniform(*st["bpm"])
    if not st["live"] and r.random() < 0.6:
        bpm = float(round(bpm))
    dur = r.uniform(min_dur, max_dur)
    mode = "drift" if st["live"] and r.random() < 0.35 else "constant"
    r.choice([3.0, 5.0, 8.0]) if st["live"] else r.choice([0.0, 0.0, 2.0])  # humanizing (unused here)
    r.choices(ms.RENDERERS, weights=[w for *_, w in ms.RENDERERS])
    key = r.randrange(12)
    minor = r.random() < 0.45
    song = mc.Song(r, style, bpm, meter, key, minor)
    bars = max(8, int(round(dur / (60.0 / bpm * meter))))
    ms.compose(song, style, bars)
    return song, mc.make_tempo_map(r, bpm, bars * meter, mode), bars, meter


def onset_acf(path, bpm):
    import librosa
    y, sr = librosa.load(path, sr=22050, mono=True)
    hop = 256
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    env = env - env.mean()
    ac = np.correlate(env, env, "full")[len(env) - 1:]
    ac /= ac[0]
    fps = sr / hop
    per = 60.0 / bpm * fps
    lo, hi = int(0.2 * fps), int(3.0 * fps)
    peak = lo + int(np.argmax(ac[lo:hi]))

    def at(mult):
        i = int(round(per * mult))
        return float(ac[max(0, i - 2): i + 3].max()) if i + 3 < len(ac) else float("nan")
    return peak / per, {m: at(m) for m in (0.5, 1, 2, 4)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--min-dur", type=float, default=30.0)
    ap.add_argument("--max-dur", type=float, default=55.0)
    args = ap.parse_args(argv)
    with open(os.path.join(args.corpus, "truth.json")) as fh:
        truth = json.load(fh)
    bad = 0
    for fn, t in sorted(truth.items()):
        path = os.path.join(args.corpus, fn)
        dec = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                               capture_output=True, text=True)
        dur = float(probe.stdout.strip() or "nan")
        style, idx = fn.rsplit(".", 1)[0].rsplit("_", 1)
        song, us, bars, meter = regenerate(style, int(idx), t["seed"], args.min_dur, args.max_dur)
        midi_bpm = float(np.median([60e6 / u for u in us[:bars * meter]]))
        ok = dec.returncode == 0 and not dec.stderr.strip() and abs(dur - t["duration"]) < 0.2 \
            and abs(midi_bpm - t["bpm"]) < 1e-3
        line = f"{fn:20s} {'ok ' if ok else 'BAD'} {dur:5.1f}s bpm {t['bpm']:7.2f} also {t['also_ok']!s:18s}"
        if style in BEAT:
            ch, which, beats = BEAT[style]
            on = sorted({round(b, 3) for b, c, n, v, d in song.notes
                         if c == ch and (which is None or n in which) and b < bars * meter})
            want = [b * meter + k for b in range(bars) for k in beats]
            hits = np.mean([any(abs(o - w) < 0.02 for o in on) for w in want])
            share = np.mean([min(abs(o - w) for w in want) < 0.02 for o in on]) if on else 0.0
            line += f" hits {hits:.2f} on {share:.2f}"
        peak, acf = onset_acf(path, t["bpm"])
        line += f" | acf peak at {peak:.2f} periods; " + " ".join(f"x{m:g}:{v:.2f}" for m, v in acf.items())
        bad += not ok
        print(line, flush=True)
    print(f"{len(truth)} files, {bad} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
