#!/usr/bin/env python3
"""Broader tempo material: styles the dev corpus of ../shared/bench lacks, other sound sets,
another synthesizer. For judging beat-level rules on music they were not tuned on.

Usage (from the project root; needs fluidsynth, timidity, ffmpeg and the Debian GM soundfonts)::

    python benchmarks/styles/make_styles.py --out ~/tempo-corpus/styles --per-style 10 --jobs 2

Writes ``<out>/<style>_<nn>.<ext>`` and ``<out>/truth.json`` in the format of
../shared/bench/make_corpus.py (``bpm``, ``also_ok``, ``genre`` = the style, ``duration``, ...),
so ``benchmarks/accuracy.py`` scores it as it scores the dev corpus, and its
``--leave-one-out`` groups by style. The output depends only on ``--seed`` and the options.

Each style writes its own grooves (drums, bass, harmony, melody) as MIDI through the ``Song``
helper of ../shared/bench/make_corpus.py (imported by path, unchanged: harmony, humanizing and
MIDI writing), renders it with one of several General-MIDI sound sets through FluidSynth or
TiMidity++, and encodes it with ffmpeg. Where each style's tapped tempo lies, and why, is the
table in benchmarks/README.md (and :data:`STYLES` below).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import soundfile as sf

BENCH = os.environ.get("TEMPO_SHARED_BENCH",
                       os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "bench"))
if not os.path.exists(os.path.join(BENCH, "make_corpus.py")):
    BENCH = "/work/shared/bench"


def _load_mc():
    spec = importlib.util.spec_from_file_location("make_corpus", os.path.join(BENCH, "make_corpus.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mc = _load_mc()
DRUM = mc.DRUM_CH
KICK, RIM, SNARE, CLAP = 36, 37, 38, 39
CHH, PHH, OHH, CRASH, RIDE, BELL = 42, 44, 46, 49, 51, 53
TOM_LF, TOM_L, TOM_HM = 41, 45, 48
TAMB, COWBELL, SHAKER, CABASA, CLAVE, HI_BONGO, LO_BONGO = 54, 56, 70, 69, 75, 60, 61
CONGA_HM, CONGA_O, CONGA_L, WOODBLOCK = 62, 63, 64, 76
CH_BASS, CH_CHORD, CH_LEAD, CH_PAD, CH_ARP, CH_STAB, CH_STR, CH_X = 0, 1, 2, 3, 4, 5, 6, 7

SF2 = "/usr/share/sounds/sf2"
SF3 = "/usr/share/sounds/sf3"
#: (renderer, sound set, weight): four sound sets through FluidSynth, two through TiMidity++.
RENDERERS = [
    ("fluidsynth", f"{SF2}/FluidR3_GM.sf2", 0.30),
    ("fluidsynth", f"{SF2}/TimGM6mb.sf2", 0.15),
    ("fluidsynth", f"{SF3}/MuseScore_General.sf3", 0.20),
    ("timidity", "/etc/timidity/fluidr3_gm.cfg", 0.20),
    ("timidity", "/etc/timidity/timgm6mb.cfg", 0.15),
]


def vel(c):
    return {"X": 118, "x": 94, "o": 66, "g": 36, "m": 80}[c]


def hits(song, bar, note, pat, spb, jit=6, scale=1.0):
    """Drum pattern string over one bar, ``spb`` steps per beat ('X','x','o','g','m' = hits)."""
    r = song.rng
    for i, c in enumerate(pat):
        if c != ".":
            song.add(bar * song.meter + i / spb, DRUM, note, vel(c) * scale + r.uniform(-jit, jit), 0.2)


def notes(song, bar, ch, pitches, pat, spb, dur=None, v=80):
    """Pitched pattern: every non-'.' step plays ``pitches`` (a list, or a function of step)."""
    r = song.rng
    on = [i for i, c in enumerate(pat) if c != "."]
    for k, i in enumerate(on):
        nxt = on[k + 1] if k + 1 < len(on) else len(pat)
        d = dur if dur is not None else (nxt - i) / spb * 0.9
        ps = pitches(i) if callable(pitches) else pitches
        for p in ps:
            song.add(bar * song.meter + i / spb, ch, p, vel(pat[i]) * v / 94 + r.uniform(-6, 6), d)


def root_in(song, deg, lo):
    r = song.degree_root(deg)
    return lo + (r - lo) % 12


def walking_bass(song, bar, deg, ndeg, beats, lo=36, per_beat=1, v=92):
    """Walking line: chord tones, passing tones, an approach to the next root."""
    r = song.rng
    root = root_in(song, deg, lo)
    pcs = song.chord_pcs(deg, seventh=True)
    tones = [root + ((p - pcs[0]) % 12) for p in pcs]
    target = root_in(song, ndeg, lo)
    line = [root]
    for b in range(1, beats * per_beat):
        if b == beats * per_beat - 1:
            line.append(target + r.choice([-1, 1, -2]))
        else:
            line.append(r.choice(tones + [root + 12, tones[1] + r.choice([-1, 1])]))
    for i, p in enumerate(line):
        song.add(bar * song.meter + i / per_beat, CH_BASS, p, v + r.uniform(-8, 8), 0.9 / per_beat)


# ------------------------------------------------------------------------------- styles
# Every style: bpm range of the tapped beat (what MIDI tempo writes), meter (beats per bar),
# steps per beat of its grid, the tempi also accepted for a workout, and a writer.

def swing_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_JAZZ, mc.KIT_BRUSH, mc.KIT_STD, mc.KIT_ROOM]), vol=110, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([32, 32, 33]), vol=112, rev=15)
    s.prog(CH_CHORD, r.choice([0, 4, 1, 26]), vol=84, rev=45)
    s.prog(CH_LEAD, r.choice([65, 66, 56, 57, 11, 73]), vol=88, rev=45)
    return dict(feather=r.random() < 0.5, lead=r.random() < 0.7, comp=r.choice(["charleston", "random", "twofour"]),
                snare_comp=r.random() < 0.6, two_four_snare=r.random() < 0.25)


def swing_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng
    m = s.meter  # 4 beats, triplet grid (3 steps per beat)
    ride = "X..x.mX..x.m" if r.random() < 0.85 else "X..X..X..X.."
    hits(s, bar, RIDE, ride, 3)
    hits(s, bar, PHH, "...x.....x..", 3)
    if c["feather"]:
        hits(s, bar, KICK, "g..g..g..g..", 3, jit=4)
    if c["two_four_snare"]:
        hits(s, bar, RIM, "...o.....o..", 3)
    if c["snare_comp"]:
        pat = ["."] * 12
        for _ in range(r.randint(0, 3)):
            pat[r.randrange(12)] = r.choice("og")
        hits(s, bar, SNARE, "".join(pat), 3)
    walking_bass(s, bar, deg, ndeg, m, lo=33)
    v = s.voicing(deg, center=60, seventh=True)
    if c["comp"] == "charleston":
        notes(s, bar, CH_CHORD, v, "X....x......" if r.random() < 0.6 else "..x.....x...", 3, dur=0.4, v=70)
    elif c["comp"] == "twofour":
        notes(s, bar, CH_CHORD, v, "...x.....x..", 3, dur=0.5, v=70)
    else:
        pat = ["."] * 12
        for _ in range(r.randint(1, 3)):
            pat[r.choice([2, 3, 5, 8, 9, 11])] = "x"
        notes(s, bar, CH_CHORD, v, "".join(pat), 3, dur=0.4, v=70)


def shuffle_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER]), vol=115, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 32]), vol=108, rev=10)
    s.prog(CH_CHORD, r.choice([29, 27, 0, 17, 30]), vol=82, rev=30)
    s.prog(CH_LEAD, r.choice([65, 66, 29, 22, 56]), vol=84, rev=40)
    return dict(lead=r.random() < 0.5, hat=r.choice([CHH, RIDE]))


def shuffle_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng
    hits(s, bar, c["hat"], "X.xX.xX.xX.x", 3)
    hits(s, bar, KICK, "X.....X....." if r.random() < 0.7 else "X....xX.....", 3)
    hits(s, bar, SNARE, "...X.....X..", 3)
    root = root_in(s, deg, 36)
    seq = [root, root, root + 7, root + 7, root + 9, root + 9, root + 10, root + 9]
    for i in range(8):
        s.add(bar * 4 + i // 2 + (i % 2) * 2 / 3, CH_BASS, seq[i], 96 + r.uniform(-8, 8), 0.3)
    g = root_in(s, deg, 40)
    for i in range(8):
        sixth = 9 if i % 4 in (2, 3) else 7
        s.add(bar * 4 + i // 2 + (i % 2) * 2 / 3, CH_CHORD, g, 80, 0.3)
        s.add(bar * 4 + i // 2 + (i % 2) * 2 / 3, CH_CHORD, g + sixth, 76, 0.3)


def gospel_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ]), vol=108, rev=35, bank=128)
    s.prog(CH_BASS, r.choice([33, 32]), vol=104, rev=15)
    s.prog(CH_CHORD, r.choice([0, 1, 4]), vol=86, rev=50)
    s.prog(CH_PAD, r.choice([16, 17, 19]), vol=66, rev=50)
    s.prog(CH_LEAD, r.choice([52, 53, 65, 56]), vol=86, rev=55)
    return dict(lead=r.random() < 0.7, drums=r.random() < 0.8)


def gospel_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 12/8: four dotted-quarter beats of three eighths
    if c["drums"] and sec != "intro":
        hits(s, bar, r.choice([CHH, RIDE]), "xoo" * 4, 3)
        hits(s, bar, KICK, "X.....X.x..." if r.random() < 0.5 else "X.....X.....", 3)
        hits(s, bar, SNARE, "...X.....X..", 3)
    v = s.voicing(deg, center=62, seventh=r.random() < 0.5)
    notes(s, bar, CH_CHORD, v, "xoo" * 4 if r.random() < 0.7 else "x.ox.ox.ox.o", 3, dur=0.3, v=74)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, [root], "X.....x...x." if r.random() < 0.5 else "X.....X.....", 3, v=90)
    notes(s, bar, CH_PAD, s.voicing(deg, center=58), "x" + "." * 11, 3, dur=3.9, v=60)


def jazzwaltz_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_JAZZ, mc.KIT_BRUSH, mc.KIT_STD]), vol=110, rev=30, bank=128)
    s.prog(CH_BASS, 32, vol=112, rev=15)
    s.prog(CH_CHORD, r.choice([0, 4, 26, 11]), vol=82, rev=45)
    s.prog(CH_LEAD, r.choice([65, 66, 73, 11, 56]), vol=88, rev=45)
    return dict(lead=r.random() < 0.7, bass=r.choice(["walk", "dotted", "onetwo"]))


def jazzwaltz_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 3/4, triplet grid
    hits(s, bar, RIDE, "X..x.mx.." if r.random() < 0.8 else "X..x..x..", 3)
    hits(s, bar, PHH, "...x..x.." if r.random() < 0.5 else "...x.....", 3)
    if r.random() < 0.5:
        hits(s, bar, KICK, "o........", 3)
    if c["bass"] == "walk":
        walking_bass(s, bar, deg, ndeg, 3, lo=33)
    elif c["bass"] == "dotted":
        notes(s, bar, CH_BASS, [root_in(s, deg, 33)], "X........", 3, dur=2.7, v=96)
    else:
        root = root_in(s, deg, 33)
        notes(s, bar, CH_BASS, lambda i: [root if i == 0 else root + 7], "X.....x..", 3, v=94)
    v = s.voicing(deg, center=60, seventh=True)
    notes(s, bar, CH_CHORD, v, r.choice(["...x..x..", "...x.....", ".....x...", "...x.x..."]), 3, dur=0.5, v=70)


def sixeight_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_BRUSH]), vol=108, rev=35, bank=128)
    s.prog(CH_BASS, r.choice([33, 32, 34]), vol=104, rev=15)
    s.prog(CH_CHORD, r.choice([24, 25, 0, 46, 4]), vol=86, rev=45)
    s.prog(CH_LEAD, r.choice([73, 71, 40, 52, 65]), vol=86, rev=50)
    return dict(lead=r.random() < 0.6, drums=r.random() < 0.75, hat=r.choice(["xxxxxx", "x.xx.x", "xoo" * 2]))


def sixeight_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 6/8: two dotted-quarter beats of three eighths (meter 2, 3 steps per beat)
    if c["drums"] and sec != "intro":
        hits(s, bar, CHH, c["hat"], 3)
        hits(s, bar, KICK, "X....." if r.random() < 0.6 else "X.x...", 3)
        hits(s, bar, SNARE, "...X..", 3)
    v = s.voicing(deg, center=62)
    seq = v + [v[1] + 12]
    notes(s, bar, CH_CHORD, lambda i: [seq[[0, 1, 2, 3, 2, 1][i] % len(seq)]], "xooxoo", 3, dur=0.5, v=78)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i == 0 else root + 7], "X..x.." if r.random() < 0.6 else "X.....", 3, v=90)


def hiphop16_setup(s):
    r = s.rng
    s.swing = r.choice([0.5, 0.5, 0.54, 0.58])
    s.swing_level = 0.25
    s.swing_chs = {CH_BASS, CH_CHORD, CH_STAB}
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_STD, mc.KIT_ELEC, mc.KIT_ROOM]), vol=118, rev=20, bank=128)
    s.prog(CH_BASS, r.choice([38, 33, 39, 87]), vol=108, rev=5)
    s.prog(CH_CHORD, r.choice([4, 5, 0, 11, 89, 48]), vol=78, rev=50)
    s.prog(CH_LEAD, r.choice([80, 81, 11, 73]), vol=70, rev=40)
    kick = r.choice(["X......X..X.....", "X.........X..x..", "X..x......X.....", "X.X.......X....."])
    return dict(kick=kick, lead=r.random() < 0.4, rolls=r.random() < 0.7)


def hats16(s, bar, rolls, spb=4):
    """16th hats with an occasional 32nd or 16th-triplet roll on one beat."""
    r = s.rng
    roll_beat = r.randrange(4) if rolls and r.random() < 0.5 else -1
    for b in range(4):
        if b == roll_beat:
            div = r.choice([6, 8])
            for i in range(div):
                s.add(bar * 4 + b + i / div, DRUM, CHH, 70 + 30 * i / div + r.uniform(-6, 6), 0.1)
        else:
            for i in range(4):
                s.add(bar * 4 + b + i / 4, DRUM, CHH, (96 if i % 2 == 0 else 70) + r.uniform(-8, 8), 0.1)


def hiphop16_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng
    hats16(s, bar, c["rolls"])
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, r.choice([SNARE, CLAP, SNARE]), "....X.......X...", 4)
        root = root_in(s, deg, 31)
        notes(s, bar, CH_BASS, [root], c["kick"].replace("X", "x"), 4, v=98)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=60, seventh=True), "X.........x.....", 4, dur=1.2, v=70)


def trap_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_808, mc.KIT_ELEC]), vol=118, rev=20, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87]), vol=110, rev=5)
    s.prog(CH_CHORD, r.choice([88, 89, 48, 0, 11]), vol=72, rev=60)
    s.prog(CH_LEAD, r.choice([80, 81, 10, 73]), vol=72, rev=50)
    kick = r.choice(["X.........X.....", "X......X..X.....", "X.....X...X....X"])
    return dict(kick=kick, lead=r.random() < 0.5, rolls=True)


def trap_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # half-time: the snare on beat 3 of each bar at the tapped tempo
    if r.random() < 0.5:
        hats16(s, bar, True)
    else:
        hits(s, bar, CHH, "x.x.x.x.x.x.x.x.", 4)
        if r.random() < 0.6:
            b = r.randrange(4)
            for i in range(6):
                s.add(bar * 4 + b + i / 6, DRUM, CHH, 80, 0.1)
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, CLAP, "........X.......", 4)
        notes(s, bar, CH_BASS, [root_in(s, deg, 31)], c["kick"].replace("X", "x"), 4, v=100)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=64), "x...............", 4, dur=3.8, v=62)


def bossa_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_BRUSH, mc.KIT_JAZZ, mc.KIT_STD]), vol=104, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([32, 33]), vol=108, rev=15)
    s.prog(CH_CHORD, r.choice([24, 24, 0, 4]), vol=88, rev=40)
    s.prog(CH_LEAD, r.choice([73, 65, 66, 52, 11]), vol=84, rev=50)
    return dict(lead=r.random() < 0.7)


def bossa_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 4/4 at the quarter; the clave spans the bar
    hits(s, bar, r.choice([SHAKER, CHH, CABASA]), "x.o.x.o.x.o.x.o." if r.random() < 0.5 else "xoooxoooxoooxooo", 4)
    hits(s, bar, RIM, "X..X..X...X..X.." if bar % 2 == 0 else "..X..X..X..X....", 4)
    hits(s, bar, KICK, "X..xX..xX..xX..x", 4, scale=0.7)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i % 8 == 0 else root + 7], "X..xX..xX..xX..x".replace("x", "m"), 4, v=92)
    v = s.voicing(deg, center=62, seventh=True)
    notes(s, bar, CH_CHORD, v, r.choice(["x..x..x...x..x..", "x.x..x.x..x..x..", "..x..x.x..x..x.."]), 4, dur=0.4, v=76)


def samba_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM]), vol=110, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([32, 33]), vol=106, rev=15)
    s.prog(CH_CHORD, r.choice([24, 25, 0]), vol=84, rev=35)
    s.prog(CH_LEAD, r.choice([73, 56, 65, 66]), vol=86, rev=45)
    return dict(lead=r.random() < 0.7)


def samba_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 2/4: two beats, the surdo answers on beat 2
    hits(s, bar, SHAKER, "XooxXoox", 4)
    hits(s, bar, TOM_LF, "..o.X...", 4)
    hits(s, bar, KICK, "x...X...", 4, scale=0.8)
    hits(s, bar, r.choice([HI_BONGO, TAMB, WOODBLOCK]), r.choice(["x.xx.x.x", "x.x.x.xx", ".xx.x.x."]), 4)
    hits(s, bar, SNARE, "goggxogg" if r.random() < 0.6 else "g.ggo.gg", 4, jit=4)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i < 4 else root + 7], "X..xX...", 4, v=92)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=62, seventh=True), r.choice(["x.xx.x.x", "x..x..x.", ".x.x.xx."]), 4, dur=0.2, v=72)


def afrobeat_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER]), vol=112, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 35]), vol=108, rev=10)
    s.prog(CH_CHORD, r.choice([27, 28, 26]), vol=80, rev=25)
    s.prog(CH_STAB, r.choice([61, 56, 65, 62]), vol=80, rev=40)
    s.prog(CH_ARP, r.choice([27, 28, 4]), vol=72, rev=25)
    return dict(lead=False, kick=r.choice(["X.....x...X.....", "X......xX.....x.", "X.....X...x....."]),
                bass=r.choice(["x..x.x....x..x..", "x.....x.x..x....", "x..x..x...x.x..."]))


def afrobeat_bar(s, c, bar, deg, ndeg, sec):
    hits(s, bar, CHH, "xoxxoxoxxoxoxxox", 4)
    hits(s, bar, OHH, "..x...x...x...x.", 4, scale=0.7)
    hits(s, bar, SHAKER, "xooo" * 4, 4)
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, "g...X.g..g..X..g", 4, jit=4)
        hits(s, bar, CONGA_HM, "..x..x.x..x..x.x", 4, scale=0.8)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root + (0 if i < 8 else 7)], c["bass"], 4, v=94)
    g = s.voicing(deg, center=64)
    notes(s, bar, CH_CHORD, lambda i: [g[i % len(g)]], "xmxmxmxmxmxmxmxm", 4, dur=0.15, v=70)
    notes(s, bar, CH_ARP, lambda i: [g[0] + 12 if i % 3 else g[1] + 12], ".x.x.xx.x.x.xx.x", 4, dur=0.12, v=62)
    if sec == "chorus" and bar % 2 == 1:
        notes(s, bar, CH_STAB, s.voicing(deg, center=70), "x..x..x.........", 4, dur=0.3, v=84)


def reggae_setup(s):
    r = s.rng
    s.swing = r.choice([0.5, 0.5, 0.6])
    s.swing_level = 0.5 if s.swing > 0.55 else 0.25
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ]), vol=110, rev=35, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 38]), vol=116, rev=10)
    s.prog(CH_CHORD, r.choice([27, 28, 26]), vol=78, rev=35)
    s.prog(CH_STAB, r.choice([16, 17, 18]), vol=68, rev=35)
    s.prog(CH_LEAD, r.choice([65, 56, 52, 80]), vol=82, rev=50)
    return dict(lead=r.random() < 0.5)


def reggae_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # one drop: kick and rim together on beat 3, the guitar skank on 2 and 4
    hits(s, bar, CHH, "x.o.x.o.x.o.x.o." if r.random() < 0.7 else "x.oox.oox.oox.oo", 4)
    hits(s, bar, KICK, "........X.......", 4)
    hits(s, bar, RIM, "........X.......", 4)
    v = s.voicing(deg, center=64)
    notes(s, bar, CH_CHORD, v, "....x.......x...", 4, dur=0.2, v=82)
    notes(s, bar, CH_STAB, v, "..x...x...x...x.", 4, dur=0.2, v=60)
    root = root_in(s, deg, 33)
    notes(s, bar, CH_BASS, lambda i: [root + [0, 7, 12, 10, 7, 5, 3, 0][i % 8]],
          r.choice(["..x.x..x..x...x.", "x...x.x...x.x...", "..x...xx..x.x..."]), 4, v=100)


def acoustic_setup(s):
    r = s.rng
    s.prog(CH_CHORD, r.choice([25, 24, 25, 0, 1]), vol=96, rev=40)
    s.prog(CH_BASS, r.choice([32, 0, 25]), vol=84, rev=30)
    s.prog(CH_LEAD, r.choice([52, 53, 73, 71, 65]), vol=84, rev=50)
    return dict(lead=r.random() < 0.7, drums=False,
                strum=r.choice(["X.x.x.xxX.x.x.xx", "X..xx.x.X..xx.x.", "X.x.X.x.X.x.X.x.", "X.xxX.xx.xxxX.x."]),
                piano=s.programs[CH_CHORD][1] in (0, 1))


def acoustic_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # no drums: strummed guitar or piano, with a bass note on 1 and 3
    v = s.voicing(deg, center=60)
    if c["piano"]:
        seq = v + [v[0] + 12, v[1] + 12]
        notes(s, bar, CH_CHORD, lambda i: [seq[[0, 2, 1, 3, 2, 4, 3, 1][(i // 2) % 8]]], "x.x.x.x.x.x.x.x.", 4, dur=0.6, v=74)
    else:
        strum = v + [v[0] + 12]
        for i, ch in enumerate(c["strum"]):
            if ch == ".":
                continue
            up = (i % 4) in (2, 3) and ch != "X"
            for k, p in enumerate(strum if not up else strum[::-1]):
                s.add(bar * 4 + i / 4 + 0.012 * k, CH_CHORD, p, vel(ch) * 0.85 + r.uniform(-6, 6), 0.35)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i == 0 else root + 7], "x.......o.......", 4, v=80)


def orchestral_setup(s):
    r = s.rng
    s.prog(CH_STR, r.choice([48, 49, 44]), vol=96, rev=60)
    s.prog(CH_BASS, r.choice([45, 43, 42]), vol=100, rev=60)
    s.prog(CH_X, 47, vol=100, rev=60)
    s.prog(CH_PAD, r.choice([61, 60, 57, 48]), vol=84, rev=65)
    s.prog(CH_LEAD, r.choice([60, 56, 68, 73, 40]), vol=88, rev=60)
    s.prog(DRUM, mc.KIT_ORCH, vol=100, rev=60, bank=128)
    return dict(lead=r.random() < 0.7, ost=r.choice(["8", "16", "8"]), snare=r.random() < 0.5)


def orchestral_bar(s, c, bar, deg, ndeg, sec):
    # string ostinato, pizzicato basses on the beats, timpani on 1 and 3
    v = s.voicing(deg, center=60)
    pat = "x.o.x.o.x.o.x.o." if c["ost"] == "8" else "xooo" * 4
    notes(s, bar, CH_STR, lambda i: [v[(i // 2) % len(v)]], pat, 4, dur=0.2, v=84)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, [root], "x...o...x...o...", 4, dur=0.5, v=84)
    if sec != "intro":
        notes(s, bar, CH_X, [root_in(s, deg, 41)], "X.......x.......", 4, dur=0.8, v=86)
        if c["snare"]:
            hits(s, bar, SNARE, "x..ox...x..ox.o.", 4, scale=0.7)
        notes(s, bar, CH_PAD, s.voicing(deg, center=64), "x...............", 4, dur=3.8, v=66)


def busy8_setup(s):
    r = s.rng
    kind = r.choice(["chip", "soundtrack", "band"])
    s.prog(DRUM, r.choice([mc.KIT_ELEC, mc.KIT_STD, mc.KIT_808, mc.KIT_ROOM, mc.KIT_POWER]), vol=112, rev=25, bank=128)
    if kind == "chip":
        s.prog(CH_BASS, 80, vol=84, rev=5)
        s.prog(CH_ARP, 80, vol=76, rev=10)
        s.prog(CH_CHORD, 81, vol=70, rev=10)
        s.prog(CH_LEAD, r.choice([80, 81]), vol=84, rev=15)
    elif kind == "soundtrack":
        s.prog(CH_BASS, r.choice([38, 39, 87]), vol=100, rev=10)
        s.prog(CH_ARP, r.choice([81, 84, 98, 99, 46]), vol=78, rev=40)
        s.prog(CH_CHORD, r.choice([88, 89, 50, 95]), vol=66, rev=60)
        s.prog(CH_LEAD, r.choice([81, 82, 87, 73]), vol=80, rev=40)
    else:
        s.prog(CH_BASS, r.choice([33, 34]), vol=104, rev=10)
        s.prog(CH_ARP, r.choice([25, 27, 29, 30]), vol=84, rev=30)
        s.prog(CH_CHORD, r.choice([29, 30, 25, 17]), vol=74, rev=30)
        s.prog(CH_LEAD, r.choice([29, 65, 56, 81]), vol=84, rev=40)
    return dict(kind=kind, lead=r.random() < 0.7,
                hat=r.choice(["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "x.xxx.xxx.xxx.xx"]),
                arp=r.choice(["8", "16", "8"]), bass=r.choice(["xxxxxxxx", "x.xxx.xx", "x.x.x.x."]),
                kick=r.choice(["X.......X.......", "X.......X.X.....", "X......xX......."]))


def busy8_bar(s, c, bar, deg, ndeg, sec):
    # busy eighth notes over a backbeat at 90-115
    if sec != "intro":
        hits(s, bar, CHH, c["hat"], 4)
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, "....X.......X...", 4)
    v = s.voicing(deg, center=64)
    seq = v + [v[0] + 12, v[1] + 12]
    order = [0, 1, 2, 3, 4, 3, 2, 1]
    div = 2 if c["arp"] == "8" else 4
    notes(s, bar, CH_ARP, lambda i: [seq[order[(i * div // 4) % 8] % len(seq)]],
          ("x." * 8) if div == 2 else "x" * 16, 4, dur=0.45 / div * 2, v=80)
    root = root_in(s, deg, 36)
    bpat = "".join(ch + "." for ch in c["bass"])
    notes(s, bar, CH_BASS, lambda i: [root + (12 if (i // 2) % 4 == 3 else 0)], bpat, 4, v=94)
    if c["kind"] == "band":
        notes(s, bar, CH_CHORD, [root_in(s, deg, 40), root_in(s, deg, 40) + 7], "x.x.x.x.x.x.x.x.", 4, dur=0.3, v=72)


# ----- styles added to stress the beat level the other way: a kick on every beat at 85-130,
# fast grooves whose half reading is wrong or only a convention, breakbeats.

def dembow_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD, mc.KIT_ROOM]), vol=118, rev=20, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 33, 87]), vol=104, rev=5)
    s.prog(CH_CHORD, r.choice([24, 25, 81, 4, 0, 90, 11]), vol=76, rev=50)
    s.prog(CH_LEAD, r.choice([80, 24, 81, 73, 56, 65]), vol=76, rev=55)
    return dict(lead=r.random() < 0.6,
                snare=r.choice(["...x..x....x..x.", "...x..x.x..x..x.", "...x..x....x.x..", "...x..x...x...x."]),
                snare_note=r.choice([SNARE, RIM, CLAP, SNARE]),
                hat=r.choice(["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "", "..x...x...x...x."]),
                perc=r.choice([TAMB, SHAKER, CLAVE, HI_BONGO, None]),
                bass=r.choice(["x..x..x.x..x..x.", "x...x...x...x...", "x..x...xx..x...x", "x.......x.......", "x..x..x.x..x..x."]))


def dembow_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # the kick on every beat, the 3-3-2 snare of the dembow between
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, "X...X...X...X...", 4, jit=4)
        hits(s, bar, c["snare_note"], c["snare"], 4, jit=4)
    if c["hat"]:
        hits(s, bar, CHH, c["hat"], 4, scale=0.8)
    if c["perc"] is not None and r.random() < 0.7:
        hits(s, bar, c["perc"], r.choice(["..x...x...x...x.", "x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo"]), 4, scale=0.7)
    root = root_in(s, deg, 33)
    notes(s, bar, CH_BASS, [root], c["bass"], 4, v=98)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=64), r.choice(["x..x..x.x..x..x.", "...x..x....x..x.", "x.......x......."]),
          4, dur=0.3, v=72)


def disco_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_ELEC, mc.KIT_POWER]), vol=114, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 38, 36]), vol=106, rev=10)
    s.prog(CH_CHORD, r.choice([28, 27, 4, 5]), vol=78, rev=30)
    s.prog(CH_STR, r.choice([48, 49, 50]), vol=74, rev=55)
    s.prog(CH_LEAD, r.choice([56, 61, 65, 81, 73]), vol=82, rev=45)
    return dict(lead=r.random() < 0.6, snare=r.choice([SNARE, CLAP, SNARE]),
                hats=r.choice(["x.X.x.X.x.X.x.X.", "xxXxxxXxxxXxxxXx", "..X...X...X...X."]),
                bass=r.choice(["octave", "octave", "walk16"]), guitar=r.random() < 0.7)


def disco_bar(s, c, bar, deg, ndeg, sec):
    # four on the floor, open hat on the off-beats, snare on 2 and 4
    hits(s, bar, KICK, "X...X...X...X...", 4, jit=5)
    if sec != "intro":
        hits(s, bar, c["snare"], "....X.......X...", 4)
        hits(s, bar, OHH if c["hats"].startswith("..") else CHH, c["hats"], 4, scale=0.8)
    root = root_in(s, deg, 36)
    if c["bass"] == "octave":
        notes(s, bar, CH_BASS, lambda i: [root + (12 if (i // 2) % 2 else 0)], "x.x.x.x.x.x.x.x.", 4, dur=0.2, v=96)
    else:
        notes(s, bar, CH_BASS, lambda i: [root + [0, 12, 7, 12][i % 4]], "x.xxx.xxx.xxx.xx", 4, dur=0.15, v=92)
    v = s.voicing(deg, center=64)
    if c["guitar"]:
        notes(s, bar, CH_CHORD, lambda i: [v[i % len(v)] + 12], "xoxoxoxoxoxoxoxo", 4, dur=0.08, v=64)
    if sec == "chorus":
        notes(s, bar, CH_STR, s.voicing(deg, center=72), "x...............", 4, dur=3.8, v=66)


def stomp_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_ROOM, mc.KIT_STD, mc.KIT_POWER]), vol=116, rev=45, bank=128)
    s.prog(CH_BASS, r.choice([32, 33, 0]), vol=96, rev=25)
    s.prog(CH_CHORD, r.choice([25, 24, 0, 21, 105]), vol=92, rev=40)
    s.prog(CH_LEAD, r.choice([52, 53, 73, 22, 65]), vol=84, rev=50)
    return dict(lead=r.random() < 0.7, clap=r.choice([CLAP, SNARE, CLAP]), tamb=r.random() < 0.6,
                strum=r.choice(["X.x.X.x.X.x.X.x.", "X.xxX.xxX.xxX.xx", "X...X...X...X...", "X..xX..xX..xX..x"]))


def stomp_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # folk-pop stomp and clap: a kick on every beat, claps on 2 and 4, strummed 8ths
    if sec != "intro":
        hits(s, bar, KICK, "X...X...X...X...", 4, jit=6)
        hits(s, bar, c["clap"], "....X.......X...", 4)
        if c["tamb"]:
            hits(s, bar, TAMB, "x.x.x.x.x.x.x.x." if r.random() < 0.6 else "xoxoxoxoxoxoxoxo", 4, scale=0.7)
    v = s.voicing(deg, center=60)
    strum = v + [v[0] + 12]
    for i, ch in enumerate(c["strum"]):
        if ch == ".":
            continue
        up = i % 4 == 2 and ch != "X"
        for k, p in enumerate(strum if not up else strum[::-1]):
            s.add(bar * 4 + i / 4 + 0.012 * k, CH_CHORD, p, vel(ch) * 0.85 + r.uniform(-6, 6), 0.3)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i % 8 == 0 else root + 7], "x...x...x...x...", 4, v=86)


def ska_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER]), vol=112, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 32]), vol=108, rev=10)
    s.prog(CH_CHORD, r.choice([27, 28, 29, 17]), vol=84, rev=30)
    s.prog(CH_STAB, r.choice([61, 56, 57, 65]), vol=78, rev=40)
    s.prog(CH_LEAD, r.choice([56, 65, 66, 57]), vol=84, rev=45)
    return dict(lead=r.random() < 0.6, kick=r.choice(["X.......X.......", "X...X...X...X..."]),
                hat=r.choice(["x.x.x.x.x.x.x.x.", "..x...x...x...x."]))


def ska_bar(s, c, bar, deg, ndeg, sec):
    # fast 4/4: walking bass on the beats, guitar skank on every off-beat eighth
    hits(s, bar, CHH, c["hat"], 4, scale=0.8)
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, "....X.......X...", 4)
    walking_bass(s, bar, deg, ndeg, 4, lo=33, v=94)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=64), "..x...x...x...x.", 4, dur=0.15, v=82)
    if sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_STAB, s.voicing(deg, center=70), "x.....x.........", 4, dur=0.4, v=80)


def polka_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER]), vol=112, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([58, 33, 34, 67]), vol=108, rev=20)
    s.prog(CH_CHORD, r.choice([21, 23, 29, 0]), vol=86, rev=30)
    s.prog(CH_LEAD, r.choice([21, 56, 71, 40, 29]), vol=88, rev=40)
    return dict(lead=r.random() < 0.75, drums=r.random() < 0.8)


def polka_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # oom-pah at 160-200: bass on every beat (root, fifth), chord on every off-beat
    if c["drums"] and sec != "intro":
        hits(s, bar, KICK, "X...X...X...X...", 4)
        hits(s, bar, SNARE, "..x...x...x...x.", 4)
        hits(s, bar, r.choice([CHH, RIDE]), "x.x.x.x.x.x.x.x.", 4, scale=0.7)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i % 8 == 0 else root + 7], "X...x...X...x...", 4, v=96)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=64), "..x...x...x...x.", 4, dur=0.2, v=80)


def techno_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD]), vol=120, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87, 81]), vol=100, rev=10)
    s.prog(CH_ARP, r.choice([81, 87, 84, 90, 98]), vol=72, rev=40)
    s.prog(CH_PAD, r.choice([89, 90, 95, 50]), vol=62, rev=70)
    return dict(lead=False, clap=r.random() < 0.6, arp=r.choice(["16", "off", "3"]),
                hat=r.choice(["..x...x...x...x.", "x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx"]))


def techno_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # a kick on every beat; off-beat bass, 16th or dotted-eighth sequences
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, "X...X...X...X...", 4, jit=3)
    hits(s, bar, OHH if c["hat"].startswith("..") else CHH, c["hat"], 4, scale=0.8)
    if c["clap"] and sec != "intro":
        hits(s, bar, CLAP, "....X.......X...", 4)
    root = root_in(s, deg, 33)
    notes(s, bar, CH_BASS, [root], "..x...x...x...x." if r.random() < 0.7 else ".xxx.xxx.xxx.xxx", 4, dur=0.2, v=94)
    v = s.voicing(deg, center=66)
    pat = {"16": "x" * 16, "off": "..x...x...x...x.", "3": "x..x..x..x..x..x"}[c["arp"]]
    notes(s, bar, CH_ARP, lambda i: [v[i % len(v)] + 12 * (i % 2)], pat, 4, dur=0.15, v=70)
    if sec == "chorus":
        notes(s, bar, CH_PAD, s.voicing(deg, center=60), "x...............", 4, dur=3.8, v=58)


def breakbeat_setup(s):
    r = s.rng
    s.swing = r.choice([0.5, 0.5, 0.55])
    s.swing_level = 0.25
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER, mc.KIT_ELEC]), vol=118, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 33, 87]), vol=104, rev=10)
    s.prog(CH_CHORD, r.choice([81, 4, 88, 50]), vol=70, rev=50)
    s.prog(CH_LEAD, r.choice([81, 80, 56, 73]), vol=78, rev=45)
    return dict(lead=r.random() < 0.5,
                kick=r.choice(["X.........X.....", "X.X.......X.....", "X......X..X.....", "X.........XX...."]),
                snare=r.choice(["....X..o.o..X...", "....X.......X..o", "....X..o....X.o."]),
                hat=r.choice(["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo", "..x...x...x...x."]))


def breakbeat_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # a syncopated break: the snare on 2 and 4 with ghost notes
    hits(s, bar, CHH if not c["hat"].startswith("..") else OHH, c["hat"], 4, scale=0.8)
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, c["snare"], 4)
    root = root_in(s, deg, 33)
    notes(s, bar, CH_BASS, [root], c["kick"].replace("X", "x"), 4, v=98)
    notes(s, bar, CH_CHORD, s.voicing(deg, center=64), r.choice(["x.....x.........", "x...............", "..x...x...x....."]),
          4, dur=0.4, v=66)


def jungle_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_ELEC, mc.KIT_JAZZ]), vol=118, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87]), vol=108, rev=5)
    s.prog(CH_PAD, r.choice([89, 91, 50, 95]), vol=66, rev=75)
    s.prog(CH_LEAD, r.choice([81, 73, 80, 11]), vol=74, rev=60)
    return dict(lead=r.random() < 0.4,
                kick=r.choice(["X.X.......X.....", "X.........X.....", "X.X.......XX....", "X......X..X....."]),
                snare=r.choice(["....X..o.o..X..o", "....X.......X...", "....X..x.x..X...", "....X.o.....X.o."]),
                ride=r.choice(["x.x.x.x.x.x.x.x.", "xxxxxxxxxxxxxxxx", "..x...x...x...x."]))


def jungle_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # breakbeat drum and bass at 160-178: the snare on 2 and 4 of the fast beat
    hits(s, bar, r.choice([RIDE, CHH]) if bar % 4 == 0 else CHH, c["ride"], 4, scale=0.8)
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, c["snare"], 4)
    root = root_in(s, deg, 29)
    notes(s, bar, CH_BASS, [root], r.choice(["x...............", "x.......x.......", "x.....x...x....."]), 4, v=100)
    if bar % 2 == 0:
        notes(s, bar, CH_PAD, s.voicing(deg, center=62), "x...............", 4, dur=7.6, v=56)


def country_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_BRUSH, mc.KIT_STD, mc.KIT_ROOM]), vol=110, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([32, 33, 34]), vol=104, rev=15)
    s.prog(CH_CHORD, r.choice([25, 24, 27, 105]), vol=88, rev=35)
    s.prog(CH_LEAD, r.choice([110, 40, 22, 25, 65]), vol=86, rev=45)
    return dict(lead=r.random() < 0.7, train=r.random() < 0.6)


def country_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # train beat (16th snare with accents on 2 and 4) or two-beat; bass root-fifth on 1 and 3
    if sec != "intro":
        if c["train"]:
            hits(s, bar, SNARE, "goggXoggGoggXogg".replace("G", "g"), 4, jit=4)
        else:
            hits(s, bar, SNARE, "....X.......X...", 4)
            hits(s, bar, CHH, "x.x.x.x.x.x.x.x.", 4, scale=0.7)
        hits(s, bar, KICK, "X.......X.......", 4)
    root = root_in(s, deg, 36)
    notes(s, bar, CH_BASS, lambda i: [root if i < 8 else root + 7], "X.......x.......", 4, v=94)
    v = s.voicing(deg, center=62)
    notes(s, bar, CH_CHORD, v, "....x.......x..." if r.random() < 0.6 else "x.x.x.x.x.x.x.x.", 4, dur=0.25, v=76)


# ----- styles added for more real-world variety: Motown, synth-pop, UK garage, bluegrass,
# Viennese waltz, slow 12/8 blues, Irish jig, slow rock / power ballad.
TRIANGLE = 81


def voice(s, deg, center=62, seventh=False):
    """``Song.voicing`` moved by octaves to sit around ``center``: the shared generator's voicing
    searches only three octaves above the pitch class, so it tops out near MIDI 50 whatever the
    centre asked for (the older styles keep it so that their songs stay as they were)."""
    v = s.voicing(deg, center=center, seventh=seventh)
    k = round((center - sum(v) / len(v)) / 12)
    return [p + 12 * k for p in v]


def motown_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ, mc.KIT_STD]), vol=112, rev=40, bank=128)
    s.prog(CH_BASS, r.choice([33, 33, 32, 34]), vol=110, rev=15)
    s.prog(CH_CHORD, r.choice([0, 1, 27, 26, 4]), vol=84, rev=40)
    s.prog(CH_STAB, r.choice([61, 56, 66, 67, 16]), vol=78, rev=45)
    s.prog(CH_STR, r.choice([48, 49, 50]), vol=72, rev=60)
    s.prog(CH_LEAD, r.choice([65, 66, 56, 73, 11, 52]), vol=86, rev=50)
    return dict(lead=r.random() < 0.7,
                # the snare on every beat (flat, or with 2 and 4 louder), or on 2 and 4 with the
                # tambourine carrying every beat (the Northern-soul stomp)
                snare=r.choice(["x...x...x...x...", "o...X...o...X...", "....X.......X...", "X...X...X...X..."]),
                tamb=r.choice(["x...x...x...x...", "x.o.x.o.x.o.x.o.", "xoooxoooxoooxooo", "X...X...X...X..."]),
                kick=r.choice(["X.......X.......", "X.....x.X.......", "X.......X.....x.", "X.....x.X.....x."]),
                hat=r.choice(["", "x.x.x.x.x.x.x.x.", "", "..x...x...x...x."]),
                clap=r.random() < 0.35,
                bass=r.choice(["walk", "eighth", "jamerson"]),
                comp=r.choice(["off", "twofour", "quarter", "off"]),
                strings=r.random() < 0.5)


def motown_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # snare or tambourine on every beat, kick on 1 and 3 (or 1, 2-and, 3)
    if sec != "intro" or bar % 2:
        hits(s, bar, SNARE, c["snare"], 4)
        hits(s, bar, KICK, c["kick"], 4)
        if c["clap"]:
            hits(s, bar, CLAP, "....x.......x...", 4, scale=0.8)
    hits(s, bar, TAMB, c["tamb"], 4, scale=0.85)
    if c["hat"]:
        hits(s, bar, CHH, c["hat"], 4, scale=0.7)
    root = root_in(s, deg, 33)
    if c["bass"] == "walk":
        walking_bass(s, bar, deg, ndeg, 4, lo=33, v=94)
    elif c["bass"] == "eighth":
        notes(s, bar, CH_BASS, lambda i: [root + (7 if i in (8, 10) else 0)], "x.x.x.x.x.x.x.x.", 4, dur=0.4, v=92)
    else:  # a busy Jamerson-like line: root, pickups, fifth and octave
        notes(s, bar, CH_BASS, lambda i: [root + {0: 0, 3: 12, 4: 7, 6: 10, 8: 0, 11: 7, 12: 9, 14: 11}.get(i, 0)],
              r.choice(["x..xx.x.x..xx.x.", "x...x.x.x..x..x.", "x..x..x.x...x.x."]), 4, v=94)
    v = voice(s, deg, center=64)
    pat = {"off": "..x...x...x...x.", "twofour": "....x.......x...", "quarter": "x...x...x...x..."}[c["comp"]]
    notes(s, bar, CH_CHORD, v, pat, 4, dur=0.25, v=76)
    if sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_STAB, voice(s, deg, center=67), r.choice(["x.....x.........", "....x.....x.....", "x..............."]),
              4, dur=0.5, v=80)
    if c["strings"] and sec == "chorus":
        notes(s, bar, CH_STR, voice(s, deg, center=74), "x.......x.......", 4, dur=1.9, v=62)


def synthpop_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_ELEC, mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD, mc.KIT_POWER]), vol=116, rev=35, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87, 81]), vol=102, rev=10)
    s.prog(CH_ARP, r.choice([81, 80, 84, 98, 90, 99]), vol=72, rev=40)
    s.prog(CH_PAD, r.choice([88, 89, 90, 91, 95, 50]), vol=64, rev=70)
    s.prog(CH_STAB, r.choice([62, 63, 5, 4]), vol=74, rev=45)
    s.prog(CH_LEAD, r.choice([81, 82, 80, 62, 86]), vol=80, rev=45)
    return dict(lead=r.random() < 0.6,
                kick=r.choice(["X.......X.......", "X...X...X...X...", "X.......X.x.....", "X...X...X...X...", "X.....x.X......."]),
                snare=r.choice([SNARE, CLAP, CLAP]),
                hat=r.choice(["x.x.x.x.x.x.x.x.", "..x...x...x...x.", "xxxxxxxxxxxxxxxx", "xoxoxoxoxoxoxoxo", ""]),
                seq=r.choice(["arp16", "bass8", "arp16", "both"]),
                arp_order=r.choice([[0, 1, 2, 3], [0, 2, 1, 3], [3, 2, 1, 0], [0, 1, 2, 1]]),
                stabs=r.random() < 0.4)


def synthpop_bar(s, c, bar, deg, ndeg, sec):
    # drum machine: kick on 1 and 3 or every beat, clap/snare on 2 and 4; sequenced 16ths/8ths, pads
    if sec != "intro":
        hits(s, bar, KICK, c["kick"], 4, jit=3)
        hits(s, bar, c["snare"], "....X.......X...", 4, jit=3)
    if c["hat"]:
        hits(s, bar, OHH if c["hat"].startswith("..") else CHH, c["hat"], 4, scale=0.75, jit=3)
    root = root_in(s, deg, 33)
    v = voice(s, deg, center=67)
    seq = v + [v[0] + 12]
    if c["seq"] in ("arp16", "both"):
        o = c["arp_order"]
        notes(s, bar, CH_ARP, lambda i: [seq[o[i % 4] % len(seq)] + (12 if (i // 4) % 2 and len(o) else 0)],
              "x" * 16, 4, dur=0.2, v=70)
    if c["seq"] in ("bass8", "both"):
        notes(s, bar, CH_BASS, lambda i: [root + (12 if (i // 2) % 2 else 0)], "x.x.x.x.x.x.x.x.", 4, dur=0.35, v=92)
    else:
        notes(s, bar, CH_BASS, [root], "x.....x.x.......", 4, v=92)
    notes(s, bar, CH_PAD, voice(s, deg, center=60), "x...............", 4, dur=3.9, v=60)
    if c["stabs"] and sec == "chorus":
        notes(s, bar, CH_STAB, voice(s, deg, center=70), "x.....x.....x...", 4, dur=0.3, v=72)


def garage_setup(s):
    r = s.rng
    s.swing = r.uniform(0.55, 0.6)
    s.swing_level = 0.25
    s.swing_chs = {CH_BASS, CH_CHORD, CH_STAB}
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD, mc.KIT_ROOM]), vol=118, rev=20, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87, 80]), vol=110, rev=5)
    s.prog(CH_CHORD, r.choice([4, 5, 16, 17, 81, 89]), vol=76, rev=45)
    s.prog(CH_PAD, r.choice([88, 89, 91, 50]), vol=58, rev=70)
    s.prog(CH_LEAD, r.choice([81, 73, 11, 85, 54]), vol=74, rev=55)
    return dict(lead=r.random() < 0.5,
                # the 2-step kick: 1 and a syncopation (the "a" of 2, the "and" of 3), never all four
                kick=r.choice(["X......x..X.....", "X.........X.....", "X......X........", "X.........X..x..",
                               "X..x......X....."]),
                snare=r.choice([SNARE, RIM, CLAP, SNARE]),
                ghost=r.choice(["", "..o.......o....o", ".......o.......o", "..o..o........o."]),
                hat=r.choice(["xoxoxoxoxoxoxoxo", "xxxxxxxxxxxxxxxx", "..x.oxx...x.oxx.", "xoxxxoxxxoxxxoxx"]),
                ohat=r.random() < 0.5, shaker=r.random() < 0.4,
                chords=r.choice(["..x..x....x..x..", ".x...x.x...x..x.", "x..x..x...x..x..", "...x..x....x.x.."]),
                bass=r.choice(["kick", "kick", "roll"]), pad=r.random() < 0.5)


def garage_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # UK 2-step: skipping kick, snare on 2 and 4, shuffled 16th hats, choppy chords, sub bass
    hits(s, bar, CHH, c["hat"], 4, scale=0.75, jit=4)
    if c["ohat"]:
        hits(s, bar, OHH, "..x.......x.....", 4, scale=0.6)
    if c["shaker"]:
        hits(s, bar, SHAKER, "oxoxoxoxoxoxoxox", 4, scale=0.6)
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, c["kick"], 4, jit=3)
        hits(s, bar, c["snare"], "....X.......X...", 4, jit=3)
        if c["ghost"]:
            hits(s, bar, RIM, c["ghost"], 4, scale=0.8)
    root = root_in(s, deg, 29)
    if c["bass"] == "kick":
        notes(s, bar, CH_BASS, lambda i: [root + (12 if i in (7, 13) else 0)], c["kick"].replace("X", "x"), 4, v=100)
    else:
        notes(s, bar, CH_BASS, lambda i: [root + [0, 0, 12, 10, 7, 0][i % 6]], "x..x..x..x.x..x.", 4, dur=0.2, v=98)
    notes(s, bar, CH_CHORD, voice(s, deg, center=65, seventh=r.random() < 0.6), c["chords"], 4, dur=0.12, v=74)
    if c["pad"] and sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_PAD, voice(s, deg, center=60), "x...............", 4, dur=7.6, v=54)


def bluegrass_setup(s):
    r = s.rng
    s.prog(CH_BASS, 32, vol=112, rev=25)
    s.prog(CH_CHORD, r.choice([25, 24, 25]), vol=90, rev=30)          # guitar boom-chuck
    s.prog(CH_STAB, r.choice([25, 106, 24, 105]), vol=84, rev=25)      # mandolin-like chop
    s.prog(CH_ARP, 105, vol=r.choice([78, 86]), rev=25)                # banjo
    s.prog(CH_LEAD, r.choice([40, 110, 40, 25, 22]), vol=86, rev=40)   # fiddle, dobro, harmonica
    drums = r.random() < 0.3
    if drums:
        s.prog(DRUM, r.choice([mc.KIT_BRUSH, mc.KIT_JAZZ]), vol=96, rev=30, bank=128)
    return dict(lead=r.random() < 0.7, drums=drums, banjo=r.random() < 0.75,
                # forward, forward with the drone, alternating thumb, forward-reverse
                roll=r.choice([[0, 1, 2, 0, 1, 2, 0, 2], [3, 1, 2, 3, 1, 2, 3, 1], [0, 2, 3, 2, 1, 2, 3, 2],
                               [0, 1, 2, 3, 2, 1, 0, 2]]),
                accent=r.choice(["xoxoxoxo", "xooxooxo"]),  # on the beats, or 3-3-2 across the bar
                chop=r.random() < 0.8, guitar=r.choice(["boomchuck", "strum", "boomchuck"]),
                walkup=r.random() < 0.5)


def bluegrass_bar(s, c, bar, deg, ndeg, sec):
    # fast 2-beat: bass root-fifth on 1 and 3, chop on 2 and 4, banjo eighth rolls
    root = root_in(s, deg, 36)
    fifth = root + 7 if bar % 2 == 0 else root - 5
    if c["walkup"] and deg != ndeg and bar % 2 == 1:
        tgt = root_in(s, ndeg, 36)
        notes(s, bar, CH_BASS, lambda i: [{0: root, 4: fifth}.get(i, tgt - 1)], "x...x.x.", 2, v=96)
    else:
        notes(s, bar, CH_BASS, lambda i: [root if i == 0 else fifth], "X...x...", 2, v=96)
    v = voice(s, deg, center=62)
    if c["guitar"] == "boomchuck":
        notes(s, bar, CH_CHORD, lambda i: [root + 12 if i == 0 else fifth + 12], "x...x...", 2, dur=0.4, v=80)
        notes(s, bar, CH_CHORD, v, "..x...x.", 2, dur=0.3, v=74)
    else:
        notes(s, bar, CH_CHORD, v, "x.xxx.xx", 2, dur=0.3, v=70)
    if c["chop"] and sec != "intro":
        notes(s, bar, CH_STAB, voice(s, deg, center=70), "..X...X.", 2, dur=0.08, v=84)
    if c["banjo"] and (sec != "intro" or not c["lead"]):
        strings = voice(s, deg, center=63) + [67 + (s.key + 7 - 67) % 12]  # three chord tones + the high drone
        notes(s, bar, CH_ARP, lambda i: [strings[c["roll"][i]]], c["accent"], 2, dur=0.3, v=72 if c["lead"] else 82)
    if c["drums"] and sec != "intro":
        hits(s, bar, SNARE, "..x...x.", 2, scale=0.7)
        hits(s, bar, KICK, "o...o...", 2, scale=0.8)


def viennese_setup(s):
    r = s.rng
    kind = r.choice(["orchestra", "orchestra", "accordion"])
    if kind == "orchestra":
        s.prog(CH_BASS, r.choice([43, 45, 32, 42]), vol=104, rev=65)
        s.prog(CH_CHORD, r.choice([48, 49, 60, 61, 45]), vol=86, rev=65)
        s.prog(CH_STR, r.choice([48, 49, 44]), vol=82, rev=70)
        s.prog(CH_LEAD, r.choice([40, 48, 73, 68, 71, 60]), vol=90, rev=65)
        s.prog(CH_X, 47, vol=96, rev=65)  # timpani
        s.prog(DRUM, mc.KIT_ORCH, vol=96, rev=65, bank=128)
    else:
        s.prog(CH_BASS, r.choice([21, 23, 32]), vol=100, rev=35)
        s.prog(CH_CHORD, r.choice([21, 23, 21]), vol=84, rev=35)
        s.prog(CH_STR, r.choice([21, 48]), vol=70, rev=40)
        s.prog(CH_LEAD, r.choice([21, 22, 40, 71]), vol=88, rev=40)
        s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_BRUSH]), vol=92, rev=35, bank=128)
    return dict(kind=kind, lead=r.random() < 0.85, timp=kind == "orchestra" and r.random() < 0.5,
                bd=r.random() < 0.35, triangle=r.random() < 0.3,
                early2=r.choice([0.0, 0.0, r.uniform(0.03, 0.08)]),  # the Viennese anticipated second beat
                bass=r.choice(["root", "rootfifth"]), swell=r.random() < 0.5)


def viennese_bar(s, c, bar, deg, ndeg, sec):
    # oom-pah-pah at 150-190: bass on 1, short chords on 2 and 3 (2 often a little early)
    root = root_in(s, deg, 36)
    p = root if c["bass"] == "root" or bar % 2 == 0 else root + 7
    notes(s, bar, CH_BASS, [p], "X..", 1, dur=0.8, v=96)
    v = voice(s, deg, center=64)
    for b, vv in ((1, 74), (2, 70)):
        t = bar * 3 + b - (c["early2"] if b == 1 else 0.0)
        for q in v:
            s.add(t, CH_CHORD, q, vv + s.rng.uniform(-6, 6), 0.35)
    if c["timp"] and sec != "intro":
        notes(s, bar, CH_X, [root_in(s, deg, 41)], "X..", 1, dur=0.6, v=80)
    if c["bd"] and sec != "intro":
        hits(s, bar, KICK, "x..", 1, scale=0.8)
    if c["triangle"] and sec != "intro":
        hits(s, bar, TRIANGLE, ".xx", 1, scale=0.6)
    if c["swell"] and sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_STR, voice(s, deg, center=72), "x.....", 2, dur=5.6, v=60)


def blues12_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ, mc.KIT_BRUSH]), vol=108, rev=40, bank=128)
    s.prog(CH_BASS, r.choice([33, 32, 34]), vol=106, rev=15)
    s.prog(CH_CHORD, r.choice([0, 1, 4, 3]), vol=82, rev=45)      # piano triplets
    s.prog(CH_PAD, r.choice([16, 17, 18, 19]), vol=62, rev=45)    # organ
    s.prog(CH_LEAD, r.choice([29, 30, 27, 26, 65, 22]), vol=88, rev=50)
    return dict(lead=r.random() < 0.8, hat=r.choice([CHH, RIDE, CHH]),
                hatpat=r.choice(["xoo" * 4, "x.ox.ox.ox.o", "xxx" * 4]),
                kick=r.choice(["X.....X.....", "X....xX.....", "X.....X....x", "X..x..X..x.."]),
                bass=r.choice(["dotted", "boogie", "walk"]), organ=r.random() < 0.5,
                comp=r.choice(["triplets", "x.ox.ox.ox.o", "...x.....x..", "triplets"]))


def blues12_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 12/8 slow blues: four dotted-quarter beats of three triplet eighths
    hits(s, bar, c["hat"], c["hatpat"], 3, scale=0.8)
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, c["kick"], 3)
        hits(s, bar, SNARE, "...X.....X.." if r.random() < 0.8 else "...X.....X.g", 3)
    root = root_in(s, deg, 36)
    third = 3 if s.minor and deg in (1, 4) else 4
    chord = [root + 12, root + 12 + third, root + 19, root + 22]
    if c["bass"] == "dotted":
        notes(s, bar, CH_BASS, lambda i: [root + (7 if i == 6 else 0)], "X.....X.....", 3, v=92)
    elif c["bass"] == "boogie":  # root-third-fifth-sixth-seventh-sixth-fifth-third in shuffle triplets
        line = [0, third, 7, 9, 10, 9, 7, third]
        notes(s, bar, CH_BASS, lambda i: [root + line[(i // 3) * 2 + (1 if i % 3 else 0)]], "x.xx.xx.xx.x", 3, dur=0.3, v=90)
    else:
        walking_bass(s, bar, deg, ndeg, 4, lo=33, v=90)
    if c["comp"] == "triplets":
        notes(s, bar, CH_CHORD, chord[1:], "xoo" * 4, 3, dur=0.25, v=68)
    else:
        notes(s, bar, CH_CHORD, chord[1:], c["comp"], 3, dur=0.3, v=72)
    if c["organ"]:
        notes(s, bar, CH_PAD, chord, "x...........", 3, dur=3.9, v=58)


def jig_setup(s):
    r = s.rng
    s.prog(CH_LEAD, r.choice([40, 110, 72, 73, 75, 21, 109, 78]), vol=94, rev=40)  # fiddle, whistle, flute, accordion, pipes
    s.prog(CH_STAB, r.choice([40, 73, 21, 105, 25]), vol=72, rev=40)  # a second melody instrument (unison)
    s.prog(CH_CHORD, r.choice([25, 24, 0, 105, 46]), vol=86, rev=35)  # guitar, piano, banjo, harp
    s.prog(CH_BASS, r.choice([32, 25, 0, 43]), vol=92, rev=30)
    drum = r.random() < 0.7
    if drum:
        s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_ORCH, mc.KIT_BRUSH]), vol=100, rev=35, bank=128)
    ladder = s.scale_ladder(62, 86)
    tune = []  # two 2-bar motifs (12 triplet eighths each) as scale-index walks
    for _ in range(2):
        idx, steps = r.randint(len(ladder) // 4, len(ladder) // 2), []
        for i in range(12):
            idx = max(0, min(len(ladder) - 1, idx + r.choice([-2, -1, -1, 1, 1, 2, 0, 3, -3])))
            steps.append(idx)
        rhythm = "".join(r.choice(["xxx", "xxx", "xxx", "x.x"]) for _ in range(4))
        tune.append((steps, rhythm))
    return dict(lead=False, drum=drum, tune=tune, ladder=ladder, unison=r.random() < 0.5,
                drum_note=r.choice([TOM_LF, KICK, TOM_L]),
                drum_pat=r.choice(["X..x..", "X.xX.x", "X..X..", "X.oXoo"]),
                guitar=r.choice(["boomchuck", "strum", "boomchuck", "vamp"]))


def jig_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 6/8 jig: two dotted-quarter beats of three running eighths
    root = root_in(s, deg, 40)
    v = voice(s, deg, center=60)
    if c["guitar"] == "boomchuck":   # bass on 1 and 4, chord on the 3rd and 6th eighths
        notes(s, bar, CH_CHORD, lambda i: [root] if i in (0, 3) else v, "X.xX.x", 3, dur=0.3, v=80)
    elif c["guitar"] == "strum":     # down-down-up, accented on the beats
        notes(s, bar, CH_CHORD, v, "XoxXox", 3, dur=0.3, v=74)
    else:                            # piano vamp: bass note, then a chord on the 2nd and 3rd eighths
        notes(s, bar, CH_CHORD, lambda i: [root] if i in (0, 3) else v, "Xxx" * 2, 3, dur=0.25, v=70)
    notes(s, bar, CH_BASS, [root_in(s, deg, 36)], "X..x..", 3, v=84)
    if c["drum"] and sec != "intro":
        hits(s, bar, c["drum_note"], c["drum_pat"], 3)
        if r.random() < 0.4:
            hits(s, bar, RIM, "..x..x", 3, scale=0.6)
    if sec == "intro" and bar == 0:
        return
    steps, rhythm = c["tune"][1 if (bar // 4) % 2 else 0]
    half = bar % 2
    lad = c["ladder"]
    pcs = [p % 12 for p in s.chord_pcs(deg)]
    pat = rhythm[half * 6:(half + 1) * 6]

    def pitch(i):
        n = lad[steps[half * 6 + i]]
        if i % 3 == 0:  # the beat lands on a chord tone
            n = min((x for x in lad if x % 12 in pcs), key=lambda x: abs(x - n))
        return [n]
    notes(s, bar, CH_LEAD, pitch, pat.replace("x", "X", 1), 3, v=86)
    if c["unison"] and sec == "chorus":
        notes(s, bar, CH_STAB, pitch, pat, 3, v=70)


def slowrock_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_POWER]), vol=114, rev=55, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 32]), vol=104, rev=20)
    s.prog(CH_ARP, r.choice([27, 28, 25, 24, 0, 4]), vol=84, rev=50)   # clean arpeggios / piano
    s.prog(CH_CHORD, r.choice([29, 30, 30, 0, 48]), vol=74, rev=45)     # distorted guitars in the chorus
    s.prog(CH_PAD, r.choice([48, 49, 89, 16]), vol=60, rev=65)
    s.prog(CH_LEAD, r.choice([29, 30, 65, 66, 52, 81]), vol=86, rev=55)
    return dict(lead=r.random() < 0.6,
                snare=r.choice(["....X.......X...", "....X.......X...", "........X......."]),   # 2 and 4, or half-time 3
                kick=r.choice(["X.........X.....", "X.......X.x.....", "X.....x.X.......", "X.........x....."]),
                hat=r.choice([(CHH, "x.x.x.x.x.x.x.x."), (RIDE, "x.x.x.x.x.x.x.x."), (CHH, "xoxoxoxoxoxoxoxo"),
                              (CHH, "x.x.x.x.x.x.x.x.")]),
                arp=r.choice(["8", "16", "8"]), arp_order=r.choice([[0, 1, 2, 3], [0, 2, 1, 3], [0, 2, 3, 2]]),
                chorus=r.choice(["power", "chug", "piano"]), pad=r.random() < 0.4)


def slowrock_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # power ballad: the slow quarter; guitar arpeggios in eighths or sixteenths
    v = voice(s, deg, center=62)
    seq = [root_in(s, deg, 45)] + v
    o = c["arp_order"]
    div = 2 if c["arp"] == "8" else 4
    notes(s, bar, CH_ARP, lambda i: [seq[o[(i * div // 4) % 4] % len(seq)] + (12 if (i * div // 4) % 8 >= 4 and div == 4 else 0)],
          ("x." * 8) if div == 2 else "x" * 16, 4, dur=0.9 / div, v=76)
    root = root_in(s, deg, 33)
    if sec != "intro":
        if bar % 8 == 4 and sec == "chorus" or (sec != "intro" and bar % 8 == 0):
            hits(s, bar, CRASH, "x...............", 4, scale=0.8)
        else:
            hits(s, bar, c["hat"][0], c["hat"][1], 4, scale=0.75)
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, c["snare"], 4)
        if sec == "chorus":
            notes(s, bar, CH_BASS, [root], "x.x.x.x.x.x.x.x.", 4, dur=0.4, v=90)
            lo = root_in(s, deg, 40)
            if c["chorus"] == "power":
                notes(s, bar, CH_CHORD, [lo, lo + 7, lo + 12], "x.......x.......", 4, dur=1.9, v=78)
            elif c["chorus"] == "chug":
                notes(s, bar, CH_CHORD, [lo, lo + 7], "x.x.x.x.x.x.x.x.", 4, dur=0.4, v=70)
            else:
                notes(s, bar, CH_CHORD, voice(s, deg, center=60), "x...x...x...x...", 4, dur=0.9, v=70)
        else:
            notes(s, bar, CH_BASS, [root], r.choice(["x.......x.......", "x.........x.....", "x..............."]), 4, v=90)
    if c["pad"] and sec == "chorus":
        notes(s, bar, CH_PAD, voice(s, deg, center=66), "x...............", 4, dur=3.9, v=56)


# ----- styles3: eight more styles users have, written as held-out material nobody tuned on:
# salsa, cumbia, boom-bap, dubstep, march, ragtime, amapiano, hardstyle.
GUIRO_S, GUIRO_L, TIMB_H, TIMB_L, BD2 = 73, 74, 65, 66, 35


def salsa_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ]), vol=112, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([32, 32, 33, 34]), vol=114, rev=15)       # baby bass / electric
    s.prog(CH_CHORD, r.choice([0, 0, 1, 2]), vol=90, rev=35)           # piano montuno
    s.prog(CH_STAB, r.choice([61, 56, 57, 61]), vol=84, rev=40)        # mambo horns
    s.prog(CH_LEAD, r.choice([56, 57, 65, 73, 40, 11]), vol=88, rev=45)
    return dict(lead=r.random() < 0.6,
                three_first=r.random() < 0.5,        # 3-2 or 2-3 son clave
                rumba=r.random() < 0.25,             # rumba clave: the third stroke on the "and" of 4
                bell=r.choice(["campana", "campana", "both"]),
                maracas=r.random() < 0.5, guiro=r.random() < 0.3,
                montuno=r.choice([("x.xx.xx.", ".xx.x.xx"), ("xx.x.xx.", "x.x.xx.x"), ("x.x.xx.x", ".x.xx.x.")]),
                horns=r.choice(["..x..x..x.......", "x..x..x...x.....", "...x..x...x..x.."]))


def salsa_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 4/4 in a two-bar clave: cowbell quarters, conga tumbao, anticipated bass, 8th montuno
    three = (bar % 2 == 0) == c["three_first"]
    clave = ("x.....x.......x." if c["rumba"] else "x.....x.....x...") if three else "....x...x......."
    hits(s, bar, CLAVE, clave, 4, scale=0.9)
    montuno_sec = sec == "chorus" or c["bell"] == "both"
    if sec != "intro":
        # conga tumbao: heel-toe, slap on 2, open tones on 4 and its "and" (the low drum every other bar)
        hits(s, bar, CONGA_HM, "g.g.X.g.g.g.....", 4, jit=5)
        hits(s, bar, CONGA_O if bar % 2 == 0 else CONGA_L, "............x.x.", 4)
        if montuno_sec:
            hits(s, bar, COWBELL, "X...x...X...x...", 4, jit=5)     # the bongo bell on every beat
        else:
            # the timbalero's cascara on the shell, the bongo martillo (open tone on 4)
            hits(s, bar, RIM, "x.x.xx.x" if three else "x.xx.x.x", 2, scale=0.7)
            hits(s, bar, HI_BONGO, "x.o.x.o.x.o.....", 4, scale=0.75)
            hits(s, bar, LO_BONGO, "............x.o.", 4, scale=0.8)
        if c["maracas"]:
            hits(s, bar, SHAKER, "xoxoxoxo", 2, scale=0.6)
        if c["guiro"]:
            hits(s, bar, GUIRO_L, "x...x...", 2, scale=0.6)
    # tumbao bass: the "and" of 2 and beat 4, tied over the bar line, beat 4 anticipates the next chord
    root = root_in(s, deg, 33)
    nroot = root_in(s, ndeg, 33)
    if sec == "intro" and bar == 0:
        s.add(bar * 4, CH_BASS, root, 96, 1.4)
    s.add(bar * 4 + 1.5, CH_BASS, root + 7 if r.random() < 0.7 else root + 12, 100 + r.uniform(-6, 6), 1.35)
    s.add(bar * 4 + 3, CH_BASS, nroot, 104 + r.uniform(-6, 6), 2.4)
    # piano montuno: octave melody on chord tones with the chord on the off-beats, 8ths across the clave
    v = voice(s, deg, center=67)
    pat = c["montuno"][0 if three else 1]
    tones = sorted(v + [v[0] + 12])

    def mont(i):
        top = tones[(i // 2 + bar) % len(tones)]
        return [top - 12, top] if i % 2 == 0 else v
    notes(s, bar, CH_CHORD, mont, pat, 2, dur=0.35, v=78)
    if sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_STAB, voice(s, deg, center=70), c["horns"], 4, dur=0.3, v=84)


def cumbia_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_STD]), vol=110, rev=30, bank=128)
    s.prog(CH_BASS, r.choice([33, 34, 32, 33]), vol=110, rev=15)
    s.prog(CH_CHORD, r.choice([21, 21, 23, 16, 17]), vol=84, rev=35)   # accordion or the organ of the sonideros
    s.prog(CH_ARP, r.choice([24, 25, 105]), vol=76, rev=35)            # requinto guitar
    s.prog(CH_LEAD, r.choice([21, 73, 75, 22, 56, 80]), vol=88, rev=45)  # accordion, gaita flute, harmonica
    return dict(lead=r.random() < 0.7,
                scrape=r.choice([(GUIRO_S, "x.oox.oo"), (CABASA, "x.oox.oo"), (SHAKER, "xoxoxoxo"), (GUIRO_S, "xoxoxoxo")]),
                bass=r.choice(["X...x...", "X...x.x.", "X.....x.", "X...x.x."]),
                kick=r.choice(["X...x...", "X.......", "X...x..."]),
                offbeat=r.choice([RIM, TIMB_H, CONGA_O, SNARE]),
                conga=r.random() < 0.6, arp=r.random() < 0.5)


def cumbia_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 2/4: the scraper's long-short-short on every beat, bass on 1 and 2 (its pickup on the "and" of 2)
    note, pat = c["scrape"]
    hits(s, bar, note, pat, 4, scale=0.8)
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, c["kick"], 4, scale=0.9)
        hits(s, bar, c["offbeat"], "..x...x.", 4, scale=0.8)         # the llamador's contratiempo
        if c["conga"]:
            hits(s, bar, CONGA_HM, r.choice(["x..x..x.", ".x.x.xx.", "x.x..x.x"]), 4, scale=0.6)
    root = root_in(s, deg, 36)
    nroot = root_in(s, ndeg, 36)
    notes(s, bar, CH_BASS, lambda i: [{0: root, 4: root + 7}.get(i, nroot - 1 if nroot != root else root + 12)], c["bass"], 4, v=96)
    notes(s, bar, CH_CHORD, voice(s, deg, center=64), "..x...x.", 4, dur=0.18, v=78)
    if c["arp"] and sec == "chorus":
        v = voice(s, deg, center=69)
        notes(s, bar, CH_ARP, lambda i: [v[(i // 2) % len(v)]], "x.x.x.x.", 4, dur=0.2, v=66)


def boombap_setup(s):
    r = s.rng
    s.swing = r.uniform(0.56, 0.64)
    s.swing_level = r.choice([0.25, 0.25, 0.5])      # swung 16ths (or swung eighths)
    s.swing_chs = {CH_BASS, CH_CHORD, CH_STAB}
    s.prog(DRUM, r.choice([mc.KIT_STD, mc.KIT_ROOM, mc.KIT_JAZZ, mc.KIT_808]), vol=118, rev=20, bank=128)
    s.prog(CH_BASS, r.choice([32, 33, 34, 38]), vol=108, rev=10)
    s.prog(CH_CHORD, r.choice([4, 4, 5, 0, 11]), vol=80, rev=45)      # Rhodes
    s.prog(CH_PAD, r.choice([122, 121]), vol=r.randint(24, 40), rev=20)  # the vinyl's hiss
    s.prog(CH_STAB, r.choice([59, 61, 65, 48]), vol=72, rev=40)        # a sampled horn or string stab
    s.prog(CH_LEAD, r.choice([73, 11, 66, 59, 4]), vol=72, rev=45)
    return dict(lead=r.random() < 0.35,
                kick=r.choice(["X.........X.X...", "X..X......X.....", "X.....X...X..X..", "X......XX.X.....", "X.x.......X....."]),
                snare=r.choice(["....X.......X...", "....X..g....X.g.", "....X.......X..g"]),
                hat=r.choice([(CHH, "xoxoxoxoxoxoxoxo"), (CHH, "x.x.x.x.x.x.x.x."), (CHH, "x.xox.xox.xox.xo"), (RIDE, "x.x.x.x.x.x.x.x.")]),
                comp=r.choice(["x.........x.....", "x.....x.........", "x.......x..x....", "..x.......x....."]),
                crackle=r.random() < 0.6, stab=r.random() < 0.4)


def boombap_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # lo-fi boom bap: kick and snare on 2 and 4, swung hats, jazzy Rhodes over a vinyl hiss
    if bar % 2 == 0:
        s.add(bar * 4, CH_PAD, 60, 60, 7.9)
    if c["crackle"]:
        for _ in range(r.randint(2, 6)):  # off-grid dust
            s.add(bar * 4 + r.uniform(0, 4), DRUM, r.choice([CABASA, SHAKER]), r.uniform(6, 16), 0.05)
    hits(s, bar, c["hat"][0], c["hat"][1], 4, scale=0.7)
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, c["kick"], 4)
        hits(s, bar, SNARE, c["snare"], 4)
    root = root_in(s, deg, 31)
    notes(s, bar, CH_BASS, lambda i: [root + (7 if i in (6, 13) else 0)], c["kick"].replace("X", "x"), 4, v=96)
    notes(s, bar, CH_CHORD, voice(s, deg, center=63, seventh=True), c["comp"], 4, dur=1.3, v=70)
    if c["stab"] and sec == "chorus" and bar % 2 == 1:
        notes(s, bar, CH_STAB, voice(s, deg, center=70), "..........x.....", 4, dur=0.4, v=70)


def wobble(s, t0, beats, pitch, rate, v=100, ch=CH_BASS):
    """A wobble at ``rate`` notes per beat: retriggered notes whose loudness swings like an LFO."""
    n = int(round(beats * rate))
    for i in range(n):
        s.add(t0 + i / rate, ch, pitch, v * (1.0 if i % 2 == 0 else 0.72) + s.rng.uniform(-5, 5), 0.8 / rate)


def dubstep_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD, mc.KIT_POWER]), vol=120, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([38, 39, 87, 81]), vol=112, rev=5)       # the wobble
    s.prog(CH_X, r.choice([30, 29, 84]), vol=70, rev=10)               # its growl, an octave up
    s.prog(CH_STR, 38, vol=100, rev=5)                                 # sub
    s.prog(CH_PAD, r.choice([89, 91, 95, 50]), vol=64, rev=75)
    s.prog(CH_LEAD, r.choice([81, 80, 10, 98]), vol=74, rev=55)
    return dict(lead=r.random() < 0.4, growl=r.random() < 0.5,
                kick=r.choice(["X...............", "X.........x.....", "X......x........", "X.........X..x.."]),
                hat=r.choice(["x.x.x.x.x.x.x.x.", "xoxoxoxoxoxoxoxo", "..x...x...x...x.", "triplet"]),
                rates=r.choice([[(2, 4), (4, 2), (3, 3)], [(3, 3), (6, 1), (2, 2)], [(4, 4), (2, 2), (8, 1)],
                                [(2, 2), (3, 3), (4, 4)]]))


def dubstep_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # half-time at 140: the snare on 3 of each bar, wobble bass at 8th/16th/triplet rates
    if c["hat"] == "triplet":
        hits(s, bar, CHH, "xoo" * 4, 3, scale=0.7)
    else:
        hits(s, bar, CHH, c["hat"], 4, scale=0.75)
    root = root_in(s, deg, 29)
    if sec == "intro":
        if bar == 0:
            notes(s, bar, CH_PAD, voice(s, deg, center=62), "x...............", 4, dur=7.8, v=60)
        hits(s, bar, SNARE, "........X.......", 4, scale=0.7)
        return
    hits(s, bar, KICK, c["kick"], 4, jit=3)
    hits(s, bar, r.choice([SNARE, CLAP, SNARE]), "........X.......", 4, jit=3)
    if sec == "verse":   # the build: sub and pad, no wobble yet
        notes(s, bar, CH_STR, [root], "x.......x.......", 4, dur=1.9, v=96)
        if bar % 2 == 0:
            notes(s, bar, CH_PAD, voice(s, deg, center=62), "x...............", 4, dur=7.8, v=58)
        return
    # the drop: each half bar wobbles at its own rate (notes per beat), the sub under it
    t = bar * 4
    for rate, beats in r.choice([c["rates"][:2], c["rates"][1:], [(rate, 4) for rate, _ in c["rates"][:1]]]):
        if t >= bar * 4 + 4:
            break
        beats = min(beats, bar * 4 + 4 - t)
        p = root + r.choice([0, 0, 0, 12, 7, -2])
        wobble(s, t, beats, p, rate, v=102)
        if c["growl"]:
            wobble(s, t, beats, p + 12, rate, v=70, ch=CH_X)
        t += beats
    notes(s, bar, CH_STR, [root], "x...............", 4, dur=3.8, v=90)


def march_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_ORCH, mc.KIT_STD, mc.KIT_ROOM]), vol=112, rev=45, bank=128)
    s.prog(CH_BASS, r.choice([58, 58, 57]), vol=110, rev=40)           # tuba (or trombone)
    s.prog(CH_CHORD, r.choice([60, 61, 57, 69]), vol=86, rev=45)       # horns' after-beats
    s.prog(CH_LEAD, r.choice([56, 56, 72, 71, 61, 68]), vol=92, rev=45)  # cornet, piccolo, clarinet
    s.prog(CH_STAB, r.choice([9, 72, 56]), vol=70, rev=45)             # glockenspiel or piccolo doubling
    return dict(lead=r.random() < 0.9, double=r.random() < 0.4,
                cymbal=r.choice([CRASH, CRASH, None]),
                snare=r.choice([("X.xxX.x.", "x.xxX.xx"), ("X.x.xxx.", "X.x.X.xx"), ("Xoxox.x.", "xoxoX.x.")]),
                bass=r.choice(["rootfifth", "root"]))


def march_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 2/4: bass drum (and cymbal) on every step, tuba on the beats, horns on the after-beats
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, "X...X...", 4, jit=4)
        if c["cymbal"] is not None:
            hits(s, bar, c["cymbal"], "x...x...", 4, scale=0.55)
    if bar % 4 == 3 and r.random() < 0.6:   # a roll into the next phrase: buzzed 32nds, accent at the end
        for i in range(8):
            s.add(bar * 2 + 1 + i / 8, DRUM, SNARE, 48 + 6 * i + r.uniform(-4, 4), 0.1)
        hits(s, bar, SNARE, c["snare"][0][:4] + "....", 4)
    else:
        hits(s, bar, SNARE, c["snare"][bar % 2], 4, jit=6)
    root = root_in(s, deg, 33)
    p2 = root + 7 if c["bass"] == "rootfifth" else root
    notes(s, bar, CH_BASS, lambda i: [root if i == 0 else p2 - (12 if p2 > 43 else 0)], "X...x...", 4, dur=0.45, v=98)
    notes(s, bar, CH_CHORD, voice(s, deg, center=62), "..x...x.", 4, dur=0.2, v=76)


def ragtime_setup(s):
    r = s.rng
    prog = r.choice([0, 3, 3, 1, 2])          # piano, honky-tonk, bright, electric grand
    for ch in (CH_BASS, CH_CHORD, CH_LEAD):
        s.prog(ch, prog, vol=104, rev=r.choice([20, 30, 40]))
    ladder = s.scale_ladder(64, 86)
    rhythms = ["xx.xx.x.", "x.xx.xx.", "xxx.x.x.", "x.xx.x.x", ".xx.xx.x", "xx.x.xx."]
    tune = []   # four one-bar motifs (2/4 in 16ths) of syncopated right-hand rhythm, as scale-index walks
    for _ in range(4):
        idx, steps = r.randint(len(ladder) // 3, 2 * len(ladder) // 3), []
        for _i in range(8):
            idx = max(0, min(len(ladder) - 1, idx + r.choice([-2, -1, 1, 2, 3, -3, 4, -4])))
            steps.append(idx)
        tune.append((steps, r.choice(rhythms)))
    return dict(lead=False, tune=tune, ladder=ladder, thirds=r.random() < 0.6,
                form=r.choice([[0, 1, 0, 2], [0, 1, 2, 3], [0, 0, 1, 2]]),
                bass=r.choice(["rootfifth", "octaves", "walk"]))


def ragtime_bar(s, c, bar, deg, ndeg, sec):
    r = s.rng  # 2/4 ragtime: left hand bass on each beat, chord on each "and"; right hand syncopated 16ths
    root = root_in(s, deg, 36)
    second = {"rootfifth": root + 7 if root + 7 < 46 else root - 5, "octaves": root,
              "walk": root_in(s, ndeg, 36) + r.choice([-1, 1, 2])}[c["bass"]]
    v = voice(s, deg, center=58)
    for b, p in ((0, root), (1, second)):
        for q in (p, p + 12) if c["bass"] != "walk" or b == 0 else (p,):
            s.add(bar * 2 + b, CH_BASS, q, 92 + r.uniform(-6, 6), 0.4)
        for q in v:
            s.add(bar * 2 + b + 0.5, CH_BASS, q, 68 + r.uniform(-6, 6), 0.3)
    if sec == "intro" and bar == 0:
        return
    steps, rhythm = c["tune"][c["form"][(bar // 2) % 4] if bar % 2 == 0 else (c["form"][(bar // 2) % 4] + 1) % 4]
    lad = c["ladder"]
    pcs = [p % 12 for p in s.chord_pcs(deg)]

    def pitch(i):
        n = min((x for x in lad if x % 12 in pcs), key=lambda x: abs(x - lad[steps[i]]))
        if c["thirds"] and i % 2 == 0:
            lower = [x for x in lad if x < n and x % 12 in pcs]
            return [n, lower[-1]] if lower else [n]
        return [n]
    notes(s, bar, CH_LEAD, pitch, rhythm.replace("x", "X", 1), 4, v=84)


def amapiano_setup(s):
    r = s.rng
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_STD, mc.KIT_808]), vol=116, rev=25, bank=128)
    s.prog(CH_BASS, r.choice([117, 118, 117, 38]), vol=118, rev=15)   # the log drum (melodic tom, synth drum)
    s.prog(CH_CHORD, r.choice([0, 4, 5, 0]), vol=82, rev=50)           # jazzy piano / Rhodes
    s.prog(CH_PAD, r.choice([89, 91, 88, 52]), vol=60, rev=70)
    s.prog(CH_LEAD, r.choice([73, 66, 53, 11, 79]), vol=76, rev=55)
    return dict(lead=r.random() < 0.4,
                log=r.choice(["x..x..x...x.x...", "x.....x.x..x..x.", "...x..x...x..x.x", "x..x....x.x..x..", "x.x...x..x..x..."]),
                log_shape=r.choice([[0, 0, 12, 7, 0, 10], [0, 12, 0, 7, 5, 3], [0, 0, 0, 12, 0, 7]]),
                kick_vel=r.choice([0.6, 0.75, 0.9]),
                perc=r.choice([(RIM, "..x..x....x..x.."), (WOODBLOCK, "...x..x....x..x."), (CLAP, "....x.......x..."),
                               (RIM, "...x..x...x...x.")]),
                shaker=r.choice(["xoxoxoxoxoxoxoxo", "xooxxooxxooxxoox", "oxoxoxoxoxoxoxox"]),
                comp=r.choice(["x..x..x.........", "..x...x...x...x.", "x.....x...x....."]),
                ohat=r.random() < 0.5)


def amapiano_bar(s, c, bar, deg, ndeg, sec):
    # amapiano: a soft kick on every beat, 16th shakers, syncopated log drum, jazzy chords
    hits(s, bar, SHAKER, c["shaker"], 4, scale=0.65, jit=4)
    if c["ohat"]:
        hits(s, bar, OHH, "..x...x...x...x.", 4, scale=0.5)
    if sec != "intro" or bar % 2:
        hits(s, bar, KICK, "x...x...x...x...", 4, scale=c["kick_vel"], jit=4)
        hits(s, bar, c["perc"][0], c["perc"][1], 4, scale=0.8)
        root = root_in(s, deg, 34)
        sh = c["log_shape"]
        notes(s, bar, CH_BASS, lambda i: [root + sh[i % len(sh)]], c["log"], 4, dur=0.4, v=104)
    notes(s, bar, CH_CHORD, voice(s, deg, center=64, seventh=True), c["comp"], 4, dur=0.45, v=70)
    if sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_PAD, voice(s, deg, center=60), "x...............", 4, dur=7.6, v=54)


def hardstyle_setup(s):
    r = s.rng
    gabber = s.bpm >= 165     # above it the gabber/uptempo variant: the kick alone, no reverse bass
    s.prog(DRUM, r.choice([mc.KIT_808, mc.KIT_ELEC, mc.KIT_POWER, mc.KIT_STD]), vol=124, rev=20, bank=128)
    s.prog(CH_X, r.choice([30, 30, 29, 84]), vol=118, rev=5)           # the kick's overdriven tail
    s.prog(CH_BASS, r.choice([38, 39, 87]), vol=108, rev=5)            # reverse bass
    s.prog(CH_PAD, r.choice([50, 90, 91, 62]), vol=66, rev=75)         # supersaw-ish pad
    s.prog(CH_LEAD, r.choice([81, 84, 87, 80]), vol=82, rev=55)        # screech / euphoric lead
    return dict(lead=r.random() < 0.6, gabber=gabber,
                rev=r.choice(["X.x.X.x.X.x.X.x.", "X.xxX.xxX.xxX.xx", "X.x.X.xxX.x.X.xx"]),
                clap=r.random() < 0.7,
                hat=r.choice(["..x...x...x...x.", "x.x.x.x.x.x.x.x.", "..x.x.x...x.x.x."]),
                tail=r.choice([0.25, 0.35, 0.5]))


def hardstyle_bar(s, c, bar, deg, ndeg, sec):
    # the distorted kick on every beat (drum kick and an overdriven low note), reverse bass on the off-beats
    root = root_in(s, deg, 28)
    hits(s, bar, OHH if c["hat"].startswith("..") else CHH, c["hat"], 4, scale=0.7)
    if sec == "intro" and bar % 2 == 0:   # the breakdown: pad and lead, no kick
        notes(s, bar, CH_PAD, voice(s, deg, center=62), "x...............", 4, dur=7.6, v=62)
        return
    for note in (KICK, BD2):
        hits(s, bar, note, "X...X...X...X...", 4, jit=2)
    notes(s, bar, CH_X, [root + 12], "X...X...X...X...", 4, dur=c["tail"], v=110)
    if c["clap"]:
        hits(s, bar, CLAP, "....X.......X...", 4, jit=3)
    if not c["gabber"]:
        notes(s, bar, CH_BASS, [root + 12], c["rev"].replace("X", "."), 4, dur=0.22, v=100)
    if sec == "chorus" and bar % 2 == 0:
        notes(s, bar, CH_PAD, voice(s, deg, center=64), "x...............", 4, dur=7.6, v=56)


STYLES = {
    # name: tapped range, meter (beats per bar), why the tapped tempo lies there, also_ok (none
    # when absent); a style's grooves are the functions <name>_setup and <name>_bar
    "swing": dict(bpm=(125, 200), meter=4, live=True,
                  also=lambda b: [b / 2] if b >= 170 else [],
                  why="the ride's quarter notes and the walking bass (one note per beat); hi-hat on 2 and 4"),
    "shuffle": dict(bpm=(95, 150), meter=4, live=True,
                    also=lambda b: [b / 2] if b >= 140 else [],
                    why="kick on 1 and 3, snare on 2 and 4; the shuffled eighths are the subdivision"),
    "gospel": dict(bpm=(54, 80), meter=4, live=True,
                   why="12/8: the dotted quarter (snare on 2 and 4 of four per bar); eighths are triplets"),
    "jazzwaltz": dict(bpm=(120, 210), meter=3, live=True,
                      also=lambda b: [b / 3] if b >= 150 else [],
                      why="3/4: the ride's quarter notes; the bar (1/3) at fast tempi"),
    "sixeight": dict(bpm=(50, 100), meter=2, live=True,
                     why="6/8: the dotted quarter (kick on 1, snare on 4 of six eighths)"),
    "hiphop16": dict(bpm=(80, 100), meter=4, live=False,
                     why="snare on 2 and 4; the 16th hats (with 32nd and triplet rolls) subdivide"),
    "trap": dict(bpm=(130, 160), meter=4, live=False,
                 also=lambda b: [b / 2],
                 why="half-time: the clap on 3 is the half-time backbeat; hats at 8ths/16ths of the beat"),
    "bossa": dict(bpm=(115, 150), meter=4, live=True,
                  also=lambda b: [b / 2],
                  why="quarter notes of the shaker accents and the bass (1 and the 'a' of 2); cut time (1/2) too"),
    "samba": dict(bpm=(90, 120), meter=2, live=True,
                  also=lambda b: [2 * b],
                  why="2/4: the surdo's two beats per bar; 16th shaker subdivides"),
    "afrobeat": dict(bpm=(100, 126), meter=4, live=True,
                     why="snare on 2 and 4; 16th hats, shaker and guitars subdivide"),
    "reggae": dict(bpm=(64, 86), meter=4, live=True,
                   also=lambda b: [2 * b],
                   why="one drop: kick and rim on 3, the skank on 2 and 4; doubled by many tappers"),
    "acoustic": dict(bpm=(70, 135), meter=4, live=True,
                     also=lambda b: ([2 * b] if b < 90 else []) + ([b / 2] if b >= 125 else []),
                     why="no drums: strum accents and bass on the beats; 16th strums subdivide"),
    "orchestral": dict(bpm=(80, 140), meter=4, live=True,
                       also=lambda b: [b / 2] if b >= 130 else [],
                       why="pizzicato basses on the beats, timpani on 1 and 3; string eighths subdivide"),
    "busy8": dict(bpm=(88, 115), meter=4, live=False,
                  why="snare on 2 and 4 at 90-115; the busy eighth/16th arpeggios and bass subdivide"),
    "dembow": dict(bpm=(88, 105), meter=4, live=False,
                   why="the kick on every beat; the 3-3-2 snare and the bass figure fall between"),
    "disco": dict(bpm=(100, 128), meter=4, live=True,
                  why="four on the floor, snare on 2 and 4; open hats on the off-beats and octave bass eighths subdivide"),
    "stomp": dict(bpm=(82, 112), meter=4, live=True,
                  why="stomp (kick) on every beat, claps on 2 and 4; strummed eighths subdivide"),
    "ska": dict(bpm=(150, 195), meter=4, live=True,
                also=lambda b: [b / 2],
                why="walking bass on every beat, snare on 2 and 4, the skank on every off-beat eighth; half-time too"),
    "polka": dict(bpm=(150, 200), meter=4, live=True,
                  why="oom-pah: bass (and kick) on every beat, chord (and snare) on every off-beat eighth"),
    "techno": dict(bpm=(120, 135), meter=4, live=False,
                   why="the kick on every beat; off-beat bass and hats, 16th or dotted-eighth sequences"),
    "breakbeat": dict(bpm=(122, 140), meter=4, live=False,
                      why="snare on 2 and 4 with ghost notes over a syncopated kick; hats subdivide"),
    "jungle": dict(bpm=(160, 178), meter=4, live=False,
                   also=lambda b: [b / 2],
                   why="snare on 2 and 4 of the fast beat over a broken kick; half-time too (drum and bass convention)"),
    "country": dict(bpm=(95, 135), meter=4, live=True,
                    also=lambda b: [b / 2] if b >= 125 else [],
                    why="bass root-fifth on 1 and 3, snare accent on 2 and 4 (16th train beat or eighth hats)"),
    "motown": dict(bpm=(95, 128), meter=4, live=True,
                   why="the snare or tambourine on every beat, kick on 1 and 3 (or 1, 2-and, 3); off-beat chords and eighth bass subdivide"),
    "synthpop": dict(bpm=(96, 122), meter=4, live=False,
                     why="drum machine: clap/snare on 2 and 4 over a kick on 1 and 3 or every beat; 16th arpeggios and 8th sequenced bass subdivide"),
    "garage": dict(bpm=(128, 138), meter=4, live=False,
                   why="UK 2-step: snare/rim on 2 and 4 over a skipping kick (1 and a syncopation, never all four); shuffled 16th hats subdivide"),
    "bluegrass": dict(bpm=(150, 200), meter=4, live=True,
                      also=lambda b: [b / 2] if b >= 170 else [],
                      why="fast two-beat: bass root-fifth on 1 and 3, mandolin chop on 2 and 4; banjo eighth rolls subdivide; the half (cut time) if >= 170"),
    "viennese": dict(bpm=(150, 190), meter=3, live=True,
                     also=lambda b: [b / 3] if b >= 150 else [],
                     why="3/4 oom-pah-pah: bass on 1, chords on 2 and 3 (the quarter); the bar (1/3) at these tempi, as dancers count it"),
    "blues12": dict(bpm=(48, 76), meter=4, live=True,
                    why="12/8 slow blues: the dotted quarter (snare on 2 and 4 of four per bar); the triplet eighths of hats and piano subdivide"),
    "jig": dict(bpm=(100, 130), meter=2, live=True,
                why="6/8 jig: the dotted quarter (bodhran and guitar bass on the two beats of the bar); the running melody eighths subdivide by three"),
    "slowrock": dict(bpm=(60, 84), meter=4, live=True,
                     also=lambda b: [2 * b],
                     why="power ballad: the slow quarter (snare on 2 and 4, or on 3 half-time); guitar eighth/16th arpeggios subdivide; double too, as for the ballad"),
    # styles3: held-out styles nobody tuned on
    "salsa": dict(bpm=(170, 200), meter=4, live=True,
                  also=lambda b: [b / 2],
                  why="4/4 in a two-bar son clave: the bongo bell on every beat (the timbales' cascara in the verses), "
                      "conga slap on 2 and open tones on 4; the tumbao bass anticipates (the 'and' of 2 and 4, never 1) "
                      "and the piano montuno runs in 8ths; the half (cut time, the clave's pulse) too"),
    "cumbia": dict(bpm=(85, 105), meter=2, live=True,
                   why="2/4: the scraper's long-short-short on every beat, bass and tambora on 1 and 2 (a pickup on "
                       "the 'and' of 2); the accordion and the llamador on every off-beat eighth are the subdivision"),
    "boombap": dict(bpm=(80, 95), meter=4, live=False, lofi=0.5,
                    why="lo-fi boom bap: the snare on 2 and 4 over a lazy kick; swung 16th (or 8th) hats, Rhodes "
                        "chords and a vinyl hiss"),
    "dubstep": dict(bpm=(138, 150), meter=4, live=False,
                    also=lambda b: [b / 2],
                    why="half-time at 140: the snare on 3 of each bar is the half-time backbeat; the wobble bass "
                        "retriggers at 8th, 16th and triplet rates; the half (70) too"),
    "march": dict(bpm=(110, 125), meter=2, live=True,
                  why="2/4 march: the step; bass drum and cymbal on every beat, tuba on the beats, horns on the "
                      "after-beats, snare 16ths and rolls subdivide"),
    "ragtime": dict(bpm=(80, 110), meter=2, live=True,
                    also=lambda b: [2 * b],
                    why="2/4 ragtime, no drums: the left hand's bass note on each beat (its chord on each 'and'); "
                        "the right hand's syncopated 16ths subdivide; double too (the bass-chord alternation, as "
                        "4/4 stride counts it)"),
    "amapiano": dict(bpm=(108, 116), meter=4, live=False,
                     why="a soft kick on every beat; the log-drum bass syncopates between, 16th shakers and "
                         "off-beat percussion subdivide"),
    "hardstyle": dict(bpm=(150, 185), meter=4, live=False,
                      why="the distorted kick on every beat (clap on 2 and 4), reverse bass on the off-beats; from "
                          "165 the gabber variant: the kick alone"),
}
for _name, _st in STYLES.items():
    _st.setdefault("also", lambda b: [])
    _st["setup"], _st["bar"] = globals()[f"{_name}_setup"], globals()[f"{_name}_bar"]


#: Grid steps per beat of each style's lead line (triplet styles: 3).
LEAD_SPB = {"swing": 3, "shuffle": 3, "gospel": 3, "jazzwaltz": 3, "sixeight": 3, "blues12": 3,
            "bluegrass": 2, "viennese": 2}


def compose(song, style, total_bars):
    r = song.rng
    st = STYLES[style]
    ctx = st["setup"](song)
    prog = mc.choose(r, mc.PROGS_MINOR if song.minor else mc.PROGS_MAJOR)
    if style in ("swing", "jazzwaltz", "bossa"):
        prog = mc.choose(r, [[2, 5, 1, 1], [1, 6, 2, 5], [2, 5, 1, 6], [4, 3, 2, 5]])
    if style == "blues12":  # the twelve-bar blues
        prog = [1, 4, 1, 1, 4, 4, 1, 1, 5, 4, 1, 5]
    per = 2 if song.bpm > 150 or style in ("sixeight", "jig") else 1
    per = {"cumbia": 4, "march": 2, "ragtime": 2}.get(style, per)  # chords last 4-8 beats in 2/4
    if style == "salsa":  # montuno vamps
        prog = mc.choose(r, [[1, 4, 5, 1], [1, 4, 1, 5], [4, 5, 1, 1]] if song.minor
                         else [[1, 4, 5, 4], [1, 5, 5, 1], [2, 5, 1, 1], [1, 4, 1, 5]])
    intro = 2 if total_bars < 16 else 4
    lead = mc.Lead(song, density=0.35, spb=LEAD_SPB.get(style, 4)) if ctx.get("lead") else None
    for bar in range(total_bars):
        sec = "intro" if bar < intro else ("chorus" if (bar // 8) % 2 else "verse")
        deg = prog[(bar // per) % len(prog)]
        ndeg = prog[((bar + 1) // per) % len(prog)]
        n0 = len(song.notes)
        st["bar"](song, ctx, bar, deg, ndeg, sec)
        dyn = 0.85 if sec == "intro" else (1.0 if sec == "chorus" else 0.92)
        for nt in song.notes[n0:]:
            nt[3] = int(max(1, min(127, nt[3] * dyn)))
    if lead is not None:
        degs = [prog[(b // per) % len(prog)] for b in range(total_bars)]
        lead.play(intro, total_bars - intro, degs[intro:], ch=CH_LEAD, vel=84)
    return total_bars


def render(renderer, sound, mid, wav, sr, gain=0.5):
    """Render a MIDI file to a WAV file with FluidSynth (at ``gain``) or TiMidity++."""
    if renderer == "fluidsynth":
        cmd = ["fluidsynth", "-ni", "-q", "-g", str(gain), "-r", str(sr), "-F", wav,
               "-o", "synth.cpu-cores=1", "-o", "synth.polyphony=512", sound, mid]
    else:
        cmd = ["timidity", "-c", sound, "-Ow", "-o", wav, "-s", str(sr), "--quiet=2", mid]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 or not os.path.exists(wav):
        raise RuntimeError(f"{renderer} failed: {res.stderr[-600:]}")


def make_song(style, idx, seed, out_dir, min_dur, max_dur):
    t0 = time.time()
    r = random.Random((seed * 7919 + idx) * 1000003 + zlib.crc32(style.encode()))
    st = STYLES[style]
    meter = st["meter"]
    bpm = r.uniform(*st["bpm"])
    if not st["live"] and r.random() < 0.6:
        bpm = float(round(bpm))
    dur = r.uniform(min_dur, max_dur)
    tempo_mode = "constant"
    if st["live"] and r.random() < 0.35:
        tempo_mode = "drift"
    sigma = r.choice([3.0, 5.0, 8.0]) if st["live"] else r.choice([0.0, 0.0, 2.0])
    renderer, sound, _ = r.choices(RENDERERS, weights=[w for *_, w in RENDERERS])[0]
    key = r.randrange(12)
    minor = r.random() < 0.45
    stem = f"{style}_{idx:02d}"
    tmp = tempfile.mkdtemp(prefix=f"st_{stem}_")
    try:
        song = mc.Song(r, style, bpm, meter, key, minor)
        bars = max(8, int(round(dur / (60.0 / bpm * meter))))
        compose(song, style, bars)
        end_beat = bars * meter
        us = mc.make_tempo_map(r, bpm, end_beat, tempo_mode)
        mid = os.path.join(tmp, stem + ".mid")
        mc.humanize_and_write(song, mid, us, meter, sigma, end_beat)
        sr = 44100
        wav = os.path.join(tmp, "render.wav")
        render(renderer, sound, mid, wav, sr)
        x, sr = sf.read(wav, dtype="float32", always_2d=True)
        bts, _ = mc.beat_times(us, end_beat)
        x = x[: int((bts[-1] + 60 / bpm * meter + 2.5) * sr)]
        level = r.choices(["normal", "quiet", "loud"], weights=[0.7, 0.1, 0.2])[0]
        opts = dict(level=level, peak_db=r.uniform(-3.0, -0.3), quiet_peak_db=r.uniform(-28, -18),
                    drive_db=r.uniform(6, 12), lofi=r.random() < st.get("lofi", 0.1), lofi_lp=r.uniform(3000, 6000),
                    lofi_hp=r.uniform(80, 200), noise_db=r.uniform(-40, -28),
                    fade_out=r.uniform(3, 8) if r.random() < 0.3 else 0.0,
                    lead_silence=r.choice([0.0, 0.0, r.uniform(0.05, 1.0)]),
                    comp_ratio=r.choice([1.0, 2.0, 3.0]), comp_thr=r.uniform(-8, 0))
        x = mc.post_process(r, x, sr, opts)
        fmt = r.choice([dict(codec="mp3", kbps=192, ext="mp3"), dict(codec="mp3", vbr=2, ext="mp3"),
                        dict(codec="ogg", q=4, ext="ogg"), dict(codec="flac", sfmt="s16", ext="flac"),
                        dict(codec="wav", pcm="pcm_s16le", ext="wav")])
        sr_out = r.choice([44100, 44100, 48000, 22050])
        out = f"{stem}.{fmt['ext']}"
        mc.encode(x, sr, os.path.join(out_dir, out), fmt, sr_out, 2 if r.random() < 0.85 else 1, tmp)
        duration = len(x) / sr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    true_bpm = float(np.median([60e6 / u for u in us[:end_beat]]))
    truth = dict(bpm=round(true_bpm, 4), also_ok=[round(a, 4) for a in st["also"](true_bpm)], genre=style,
                 duration=round(duration, 3), meter=meter, tempo_curve=tempo_mode,
                 renderer=f"{renderer}:{os.path.basename(sound)}", format=mc.fmt_label(fmt, sr_out, 1),
                 variations=[v for v in (tempo_mode if tempo_mode != "constant" else "", level if level != "normal" else "",
                                         f"humanize_{sigma:g}ms" if sigma else "") if v],
                 seed=seed, why=st["why"])
    return out, truth, time.time() - t0


def _worker(a):
    try:
        return make_song(*a)
    except Exception as e:  # noqa: BLE001 - report and go on
        import traceback
        traceback.print_exc()
        return None, {"error": repr(e), "args": list(map(str, a[:2]))}, 0.0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-style", type=int, default=10)
    ap.add_argument("--start", type=int, default=0,
                    help="first song index: add songs to a corpus without re-rendering the first ones")
    ap.add_argument("--styles", default=",".join(STYLES), help="comma-separated subset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-dur", type=float, default=30.0)
    ap.add_argument("--max-dur", type=float, default=55.0)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    styles = [s for s in args.styles.split(",") if s]
    for s in styles:
        if s not in STYLES:
            sys.exit(f"unknown style {s!r}; known: {', '.join(STYLES)}")
    jobs = [(s, i, args.seed, args.out, args.min_dur, args.max_dur) for i in range(args.start, args.per_style)
            for s in styles]
    truth_path = os.path.join(args.out, "truth.json")
    truth = {}
    if os.path.exists(truth_path):
        with open(truth_path) as fh:
            truth = json.load(fh)
    done = 0
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        for out, t, secs in ex.map(_worker, jobs):
            done += 1
            if out is None:
                print(f"[{done}/{len(jobs)}] FAILED {t}", flush=True)
                continue
            truth[out] = t
            if done % 10 == 0 or done == len(jobs):  # a partial corpus is usable while it grows
                _write_truth(truth_path, truth)
            print(f"[{done}/{len(jobs)}] {out:18s} {t['bpm']:7.2f} bpm {t['duration']:5.1f}s {t['renderer']:28s} {secs:4.1f}s",
                  flush=True)
    _write_truth(truth_path, truth)


def _write_truth(truth_path, truth):
    tmp = truth_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(dict(sorted(truth.items())), fh, indent=1)
    os.replace(tmp, truth_path)


if __name__ == "__main__":
    main()
